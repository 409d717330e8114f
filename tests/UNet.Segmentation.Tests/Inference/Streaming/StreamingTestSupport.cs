using UNet.Segmentation.Export;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Inference;
using UNet.Segmentation.Inference.Streaming;
using UNet.Segmentation.Model;
using UNet.Segmentation.Onnx;

namespace UNet.Segmentation.Tests.Inference.Streaming;

/// <summary>Predictors, volumes and the in-memory reference the streaming tests compare against.</summary>
internal static class StreamingTestSupport
{
    /// <summary>A TorchSharp or ONNX Runtime predictor over the same small model.</summary>
    public static IDisposable NewPredictor(string engine, InputMode input, string dir, int batch = 2, UNetOptions? shape = null, long seed = 7)
    {
        var model = InferenceTestSupport.NewModel(shape, seed);
        if (engine == "torch") return new Predictor(model, new PredictorOptions { Input = input, BatchSize = batch });
        using (model)
        {
            string onnx = Path.Combine(dir, $"model-{Guid.NewGuid():N}.onnx");
            OnnxExport.Save(model, onnx);
            return OnnxPredictor.Load(onnx, new OnnxPredictorOptions { Input = input, BatchSize = batch, Threads = 1 });
        }
    }

    public static StreamPredictionResult Stream(IDisposable predictor, VolumeSource source, VolumeSink sink,
        IProgress<VolumeProgress>? progress = null, CancellationToken token = default) => predictor switch
        {
            Predictor t => t.PredictStream(source, sink, progress, token),
            OnnxPredictor o => o.PredictStream(source, sink, progress, token),
            _ => throw new ArgumentException("unknown predictor", nameof(predictor)),
        };

    /// <summary>
    /// Yesterday's PredictVolume, written out from the public pieces: the whole volume read at once,
    /// predicted in batches of the options' size, every page's probabilities and masks held, the two
    /// TIFFs written at the end. Returns the two files' bytes.
    /// </summary>
    public static (byte[] Probabilities, byte[] Masks) InMemory<T>(SegmentationPredictor<T> predictor, string input, string dir) where T : PredictionOptions
    {
        var volume = Tiff.Read(input);
        int n = volume.PageCount, h = volume.Height, w = volume.Width, area = h * w, batch = predictor.Options.BatchSize;
        var probabilities = new float[n * area];
        var masks = new byte[n * area];
        var slices = volume.GetUInt8();
        for (int start = 0; start < n; start += batch)
        {
            int count = Math.Min(batch, n - start);
            var p = predictor.PredictProbabilities(FloatImages.FromGrayBytes(slices.AsSpan(start * area, count * area), count, h, w));
            for (int i = 0; i < count; i++)
            {
                var interior = p.Plane(i, 1);
                interior.CopyTo(probabilities.AsSpan((start + i) * area, area));
                for (int j = 0; j < area; j++) masks[(start + i) * area + j] = interior[j] >= 0.5f ? (byte)255 : (byte)0;
            }
        }
        string pPath = Path.Combine(dir, "reference-p.tif"), mPath = Path.Combine(dir, "reference-m.tif");
        Tiff.Write(pPath, new TiffVolume(n, h, w, probabilities));
        Tiff.Write(mPath, new TiffVolume(n, h, w, masks), TiffCompression.Deflate);
        return (File.ReadAllBytes(pPath), File.ReadAllBytes(mPath));
    }

    public static (byte[] Probabilities, byte[] Masks) InMemory(IDisposable predictor, string input, string dir) => predictor switch
    {
        Predictor t => InMemory(t, input, dir),
        OnnxPredictor o => InMemory(o, input, dir),
        _ => throw new ArgumentException("unknown predictor", nameof(predictor)),
    };

    /// <summary>Pages of smooth blobs and noise, so that the probabilities vary.</summary>
    public static string WriteVolume(string path, int pages, int height, int width, int seed = 5)
    {
        var random = new Random(seed);
        var data = new byte[pages * height * width];
        for (int p = 0; p < pages; p++)
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                    data[(p * height + y) * width + x] = (byte)Math.Clamp(128 + 90 * Math.Sin((x + 3 * p) / 5.0) * Math.Cos(y / 7.0) + random.Next(-30, 30), 0, 255);
        Tiff.Write(path, new TiffVolume(pages, height, width, data));
        return path;
    }
}

/// <summary>A source that counts the pages it has handed out.</summary>
internal sealed class CountingSource(VolumeSource inner) : VolumeSource
{
    private int _read;

    public int Read => Volatile.Read(ref _read);

    public Action<int>? OnRead { get; init; }

    public override string InputPath => inner.InputPath;

    public override int PageCount => inner.PageCount;

    public override IReadOnlyList<string> PageNames => inner.PageNames;

    public override (int Height, int Width) Describe(int index) => inner.Describe(index);

    public override VolumePage ReadPage(int index)
    {
        OnRead?.Invoke(index);
        var page = inner.ReadPage(index);
        Interlocked.Increment(ref _read);
        return page;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
    }
}

/// <summary>A sink that counts the pages written and records the most pages the source had handed out but not yet been written.</summary>
internal sealed class CountingSink(VolumeSink inner, CountingSource source, int delayMs) : VolumeSink
{
    public int Written { get; private set; }

    public int MaxAlive { get; private set; }

    public override IReadOnlyList<string> OutputPaths => inner.OutputPaths;

    public override int Begin(VolumeLayout layout, string signature) => inner.Begin(layout, signature);

    public override void WritePage(VolumePage page, ReadOnlySpan<float> interior, ReadOnlySpan<byte> mask)
    {
        Thread.Sleep(delayMs); // a slow disk: the reader runs as far ahead as the queues let it
        MaxAlive = Math.Max(MaxAlive, source.Read - Written);
        inner.WritePage(page, interior, mask);
        Written++;
    }

    public override void Complete() => inner.Complete();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
    }
}

/// <summary>
/// A sink that is stopped as a killed process would be, at a page boundary: after
/// <paramref name="pages"/> pages its next write throws <see cref="OperationCanceledException"/>,
/// so exactly that many pages are written whatever the pipeline had queued (a cancellation token
/// lets the pages already predicted be written first, which depends on timing).
/// </summary>
internal sealed class StopAfterSink(VolumeSink inner, int pages) : VolumeSink
{
    private int _written;

    public override IReadOnlyList<string> OutputPaths => inner.OutputPaths;

    public override int Begin(VolumeLayout layout, string signature) => inner.Begin(layout, signature);

    public override void WritePage(VolumePage page, ReadOnlySpan<float> interior, ReadOnlySpan<byte> mask)
    {
        if (_written == pages) throw new OperationCanceledException($"stopped after {pages} pages");
        inner.WritePage(page, interior, mask);
        _written++;
    }

    public override void Complete() => inner.Complete();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
    }
}
