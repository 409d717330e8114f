using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Inference.Streaming;
using UNet.Segmentation.Onnx;
using UNet.Segmentation.Tests.Imaging;
using static UNet.Segmentation.Tests.Inference.Streaming.StreamingTestSupport;

namespace UNet.Segmentation.Tests.Inference.Streaming;

/// <summary>
/// Ranks sharing one prediction (PredictStack, PredictPages), here as threads of one process with
/// their own predictors (the MPI ranks are tested through the CLI): the same bytes as one process,
/// contiguous batch-aligned shares, failures agreed, and resuming with another number of ranks.
/// </summary>
public sealed class SharedPredictionTests : IDisposable
{
    private const int Pages = 9, Batch = 2;
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(9, 2, 2)]
    [InlineData(9, 2, 3)]
    [InlineData(10, 4, 3)]
    [InlineData(3, 2, 4)]   // more ranks than batches: the last ranks get nothing
    [InlineData(0, 1, 2)]
    [InlineData(1000, 4, 7)]
    public void TheSharesAreContiguousBatchAlignedAndCoverEveryPageOnce(int pages, int batch, int ranks)
    {
        int next = 0;
        var counts = new List<int>();
        for (int r = 0; r < ranks; r++)
        {
            var share = PageShare.For(r, ranks, pages, batch);
            Assert.Equal(next, share.First);
            Assert.True(share.First % batch == 0 || share.Count == 0, $"rank {r} starts at {share.First}");
            next += share.Count;
            counts.Add((share.Count + batch - 1) / batch);
        }
        Assert.Equal(pages, next);
        Assert.True(counts.Max() - counts.Min() <= 1, $"batches per rank: {string.Join(", ", counts)}");
    }

    [Fact]
    public void ASharedRankOrCountOutOfRangeIsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PageShare.For(2, 2, 10, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => PageShare.For(-1, 2, 10, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => PageShare.For(0, 0, 10, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => PageShare.For(0, 2, 10, 0));
    }

    [Theory]
    [InlineData("torch", 2)]
    [InlineData("onnx", 3)]
    public void RanksSharingAStackWriteTheBytesOfOneProcessAndTidyUp(string engine, int ranks)
    {
        string volume = WriteVolume(_dir.File("volume.tif"), Pages, 40, 48);
        var (p, m, overlays) = Alone(engine, volume);
        var errors = RunRanks(ranks, engine, (predictor, group) =>
            Stack(predictor, volume, _dir.File("shared/p.tif"), _dir.File("shared/m.tif"), _dir.File("shared/overlays"), group));
        Assert.All(errors, Assert.Null);
        Assert.Equal(p, File.ReadAllBytes(_dir.File("shared/p.tif")));
        Assert.Equal(m, File.ReadAllBytes(_dir.File("shared/m.tif")));
        Assert.Equal(overlays, Overlays("shared/overlays"));
        // the staging folder and every progress file are gone
        Assert.Equal(["m.tif", "overlays", "p.tif"], Directory.GetFileSystemEntries(_dir.File("shared")).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void RanksSharingAPageFolderWriteTheFilesOfOneProcess()
    {
        string volume = WriteVolume(_dir.File("volume.tif"), Pages, 40, 48);
        using (var predictor = NewPredictor("torch", InputMode.OverlapTile, _dir.Path, Batch))
        using (var source = VolumeSource.Open(volume))
        using (var sink = new PageFolderSink(_dir.File("alone")))
            Stream(predictor, source, sink, token: TestContext.Current.CancellationToken);
        var errors = RunRanks(2, "torch", (predictor, group) =>
        {
            using var source = VolumeSource.Open(volume);
            return predictor switch
            {
                Predictor t => t.PredictPages(source, _dir.File("shared"), group),
                _ => throw new ArgumentException("torch only"),
            };
        });
        Assert.All(errors, Assert.Null);
        var alone = Directory.GetFiles(_dir.File("alone")).Select(f => Path.GetFileName(f)).Order().ToArray();
        Assert.Equal(2 * Pages + 1, alone.Length); // a pair per page and the record
        Assert.Equal(alone, Directory.GetFiles(_dir.File("shared")).Select(Path.GetFileName).Order());
        foreach (string name in alone.OfType<string>())
            Assert.Equal(File.ReadAllBytes(_dir.File("alone/" + name)), File.ReadAllBytes(_dir.File("shared/" + name)));
    }

    [Fact]
    public void ABadPageInOneRanksShareFailsEveryRankKeepsTheOthersPagesAndTheFixedRunResumes()
    {
        string volume = WriteVolume(_dir.File("volume.tif"), Pages, 40, 48);
        var (p, m, _) = Alone("torch", volume);
        // page 9 (rank 1's share of 2: pages 7..9, as 6..8 zero-based) another size
        var good = Tiff.Read(volume);
        var pages = Enumerable.Range(0, Pages).Select(i => good.PageUInt8(i).ToArray()).ToList();
        string folder = _dir.File("slices");
        Directory.CreateDirectory(folder);
        for (int i = 0; i < Pages; i++)
            Tiff.Write(Path.Combine(folder, $"s{i:D2}.tif"), i == 8 ? new TiffVolume(1, 30, 48, new byte[30 * 48]) : new TiffVolume(1, 40, 48, pages[i]));
        var errors = RunRanks(2, "torch", (predictor, group) => Stack(predictor, folder, _dir.File("out/p.tif"), _dir.File("out/m.tif"), null, group));
        Assert.IsType<PageRanksException>(errors[0]);
        Assert.Contains("rank 0: another rank failed while predicting", errors[0]!.Message);
        var bad = Assert.IsType<VolumePageException>(errors[1]);
        Assert.Equal(9, bad.Page);  // numbered in the whole volume, not in the rank's share
        Assert.Contains("s08.tif", bad.Message);
        Assert.False(File.Exists(_dir.File("out/p.tif")));
        string staged = _dir.File("out/p.tif.pages");
        Assert.True(File.Exists(Path.Combine(staged, "s04-probabilities.tif")), "rank 0's pages are kept");
        Assert.True(File.Exists(Path.Combine(staged, "s07-probabilities.tif")), "rank 1's batch before the bad page is kept");
        Assert.False(File.Exists(Path.Combine(staged, "s08-probabilities.tif")));

        // fixed, and run again by one process: rank 0's pages are not predicted again, the stacks are one process's bytes
        Tiff.Write(Path.Combine(folder, "s08.tif"), new TiffVolume(1, 40, 48, pages[8]));
        int resumed = -1;
        var again = RunRanks(1, "torch", (predictor, group) =>
        {
            var r = Stack(predictor, folder, _dir.File("out/p.tif"), _dir.File("out/m.tif"), null, group);
            resumed = r.PagesResumed;
            return r;
        });
        Assert.Null(again[0]);
        Assert.Equal(8, resumed);
        Assert.Equal(p, File.ReadAllBytes(_dir.File("out/p.tif")));
        Assert.Equal(m, File.ReadAllBytes(_dir.File("out/m.tif")));
        Assert.False(Directory.Exists(staged));
    }

    [Fact]
    public void ACancelledRankLeavesAResumableStateThatTwoOtherRanksFinish()
    {
        string volume = WriteVolume(_dir.File("volume.tif"), Pages, 40, 48);
        var (p, m, _) = Alone("onnx", volume);
        using var cancel = new CancellationTokenSource();
        var errors = RunRanks(2, "onnx", (predictor, group) =>
        {
            var token = group.Rank == 1 ? cancel.Token : CancellationToken.None;
            var progress = new SynchronousProgress<VolumeProgress>(v => { if (group.Rank == 1 && v.PagesDone >= 1) cancel.Cancel(); });
            using var source = VolumeSource.Open(volume);
            return ((OnnxPredictor)predictor).PredictStack(source, _dir.File("out/p.tif"), _dir.File("out/m.tif"), null, group, progress, token);
        });
        Assert.IsType<PageRanksException>(errors[0]);
        Assert.IsAssignableFrom<OperationCanceledException>(errors[1]);
        Assert.False(File.Exists(_dir.File("out/p.tif")));
        var resumed = new int[2];
        var again = RunRanks(2, "onnx", (predictor, group) =>
        {
            var r = Stack(predictor, volume, _dir.File("out/p.tif"), _dir.File("out/m.tif"), null, group);
            resumed[group.Rank] = r.PagesResumed;
            return r;
        });
        Assert.All(again, Assert.Null);
        Assert.Equal(PageShare.For(0, 2, Pages, Batch).Count, resumed[0]);  // rank 0 had finished its share
        Assert.InRange(resumed[1], 1, PageShare.For(1, 2, Pages, Batch).Count);
        Assert.Equal(p, File.ReadAllBytes(_dir.File("out/p.tif")));
        Assert.Equal(m, File.ReadAllBytes(_dir.File("out/m.tif")));
    }

    [Fact]
    public void AStagingFolderOfAnotherPredictionIsRefusedOnEveryRank()
    {
        string volume = WriteVolume(_dir.File("volume.tif"), Pages, 40, 48);
        string other = WriteVolume(_dir.File("other.tif"), Pages, 40, 48, seed: 9);
        using (var predictor = NewPredictor("torch", InputMode.OverlapTile, _dir.Path, Batch))
        using (var source = VolumeSource.Open(other))
        using (var sink = new PageFolderSink(_dir.File("out/p.tif.pages")))
            Stream(predictor, source, sink, token: TestContext.Current.CancellationToken);
        var errors = RunRanks(2, "torch", (predictor, group) => Stack(predictor, volume, _dir.File("out/p.tif"), _dir.File("out/m.tif"), null, group));
        Assert.Contains("holds the pages of another prediction", Assert.IsType<VolumeOutputException>(errors[0]).Message);
        Assert.Contains("while preparing the outputs", Assert.IsType<PageRanksException>(errors[1]).Message);
    }

    /// <summary>One process's stack, masks and overlays (PredictStream through an OverlaySink).</summary>
    private (byte[] P, byte[] M, Dictionary<string, byte[]> Overlays) Alone(string engine, string volume)
    {
        using var predictor = NewPredictor(engine, InputMode.OverlapTile, _dir.Path, Batch);
        using var source = VolumeSource.Open(volume);
        using (var sink = new OverlaySink(new TiffStackSink(_dir.File("alone/p.tif"), _dir.File("alone/m.tif")), _dir.File("alone/overlays"), "volume"))
            Stream(predictor, source, sink, token: TestContext.Current.CancellationToken);
        return (File.ReadAllBytes(_dir.File("alone/p.tif")), File.ReadAllBytes(_dir.File("alone/m.tif")), Overlays("alone/overlays"));
    }

    private Dictionary<string, byte[]> Overlays(string folder) =>
        Directory.GetFiles(_dir.File(folder)).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

    private static StreamPredictionResult Stack(IDisposable predictor, string input, string p, string m, string? overlays, IPageRanks group)
    {
        using var source = VolumeSource.Open(input);
        return predictor switch
        {
            Predictor t => t.PredictStack(source, p, m, overlays, group),
            OnnxPredictor o => o.PredictStack(source, p, m, overlays, group),
            _ => throw new ArgumentException("unknown predictor", nameof(predictor)),
        };
    }

    /// <summary>Runs <paramref name="ranks"/> threads, each with its own predictor of the same model (made first, in turn: the seed is global); returns each rank's exception or null.</summary>
    private Exception?[] RunRanks(int ranks, string engine, Func<IDisposable, IPageRanks, StreamPredictionResult> work)
    {
        var predictors = Enumerable.Range(0, ranks).Select(_ => NewPredictor(engine, InputMode.OverlapTile, _dir.Path, Batch)).ToArray();
        var group = new ThreadRanks(ranks);
        var errors = new Exception?[ranks];
        var threads = Enumerable.Range(0, ranks).Select(r => new Thread(() =>
        {
            try
            {
                work(predictors[r], group.For(r));
            }
            catch (Exception e)
            {
                errors[r] = e;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.True(t.Join(TimeSpan.FromMinutes(5)), "a rank did not finish"));
        foreach (var p in predictors) p.Dispose();
        return errors;
    }

    /// <summary>Ranks as threads: AllSucceeded is a barrier whose phase ANDs the flags.</summary>
    private sealed class ThreadRanks(int size)
    {
        private readonly Lock _gate = new();
        private bool _all = true, _result;
        private Barrier? _barrier;

        public IPageRanks For(int rank) => new Member(this, rank);

        private Barrier Barrier
        {
            get
            {
                lock (_gate) return _barrier ??= new Barrier(size, _ => { _result = _all; _all = true; });
            }
        }

        private sealed class Member(ThreadRanks group, int rank) : IPageRanks
        {
            public int Rank => rank;

            public int Size => group.Count;

            public bool AllSucceeded(bool succeeded, string what)
            {
                lock (group._gate) group._all &= succeeded;
                group.Barrier.SignalAndWait(TimeSpan.FromMinutes(5));
                return group._result;
            }
        }

        private int Count => size;
    }
}
