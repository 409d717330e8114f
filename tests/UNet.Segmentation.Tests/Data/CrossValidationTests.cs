using System.Diagnostics;
using UNet.Segmentation.Data;
using UNet.Segmentation.Tests.Shared;

namespace UNet.Segmentation.Tests.Data;

public class CrossValidationTests
{
    private static readonly int[] ReferenceShuffle =
        [2, 28, 13, 10, 26, 24, 27, 11, 17, 22, 5, 16, 8, 14, 23, 20, 1, 29, 6, 4, 18, 19, 9, 7, 25, 3, 0, 21, 15, 12];

    /// <summary>Fold 0 is not rotated, so its training list followed by its validation list is the shuffle itself.</summary>
    private static int[] Shuffle(int slices, int seed)
    {
        var split = CrossValidation.Split(0, 2, slices, FoldScheme.Reference, seed);
        return [.. split.Training, .. split.Validation];
    }

    [Fact]
    public void ReferenceShuffle_WithSeed0_IsNumpysLegacyShuffle() =>
        Assert.Equal(ReferenceShuffle, Shuffle(30, 0));

    [Theory]
    [InlineData(0, new[] { 25, 3, 0, 21, 15, 12 })]
    [InlineData(1, new[] { 4, 18, 19, 9, 7, 25 })]
    [InlineData(2, new[] { 23, 20, 1, 29, 6, 4 })]
    [InlineData(3, new[] { 22, 5, 16, 8, 14, 23 })]
    [InlineData(4, new[] { 26, 24, 27, 11, 17, 22 })]
    public void ReferenceFolds_ValidateOnTheReferencesSixSlices_AndTrainOnTheOther24(int fold, int[] validation)
    {
        var split = CrossValidation.Split(fold);
        Assert.Equal(fold, split.Fold);
        Assert.Equal(validation, split.Validation);
        Assert.Equal(24, split.Training.Count);
        Assert.Equal(Enumerable.Range(0, 30), split.Training.Concat(split.Validation).Order());
        // The training list is the rest of the shuffle rotated right by 5·fold.
        var rotated = Enumerable.Range(0, 30).Select(i => ReferenceShuffle[((i - 5 * fold) % 30 + 30) % 30]).ToArray();
        Assert.Equal(rotated[..24], split.Training);
    }

    [Fact]
    public void ReferenceFolds_Overlap_AndNeverValidateSlices2_10_13_28()
    {
        var validated = Enumerable.Range(0, 5).SelectMany(k => CrossValidation.Split(k).Validation).ToList();
        Assert.Equal(30, validated.Count);
        Assert.Equal(26, validated.Distinct().Count()); // 25, 4, 23 and 22 are validated twice
        Assert.Equal(new[] { 2, 10, 13, 28 }, Enumerable.Range(0, 30).Except(validated).Order());
    }

    [Fact]
    public void NumpyShuffle_MatchesNumpyForSeveralSeedsAndLengths()
    {
        int[] seeds = [0, 1, 42, 123456, int.MaxValue];
        int[] lengths = [30, 7, 100, 1000];
        string script =
            "import numpy as np\n" +
            $"for s in [{string.Join(',', seeds)}]:\n" +
            $"    for n in [{string.Join(',', lengths)}]:\n" +
            "        np.random.seed(s); a = np.arange(n); np.random.shuffle(a)\n" +
            "        print(s, n, ' '.join(map(str, a)))\n";
        string stdout = RunNumpy(script);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(seeds.Length * lengths.Length, lines.Length);
        foreach (var line in lines)
        {
            var fields = line.Split(' ');
            int seed = int.Parse(fields[0]), n = int.Parse(fields[1]);
            var expected = fields[2..].Select(int.Parse).ToArray();
            Assert.True(expected.SequenceEqual(Shuffle(n, seed)), $"shuffle of {n} with seed {seed} differs from numpy");
        }
    }

    [Theory]
    [InlineData(5, 30, 0)]
    [InlineData(5, 32, 7)]
    [InlineData(3, 10, 42)]
    [InlineData(2, 2, 1)]
    [InlineData(10, 30, 123456)]
    public void DisjointFolds_PartitionAllSlices(int folds, int slices, int seed)
    {
        var splits = Enumerable.Range(0, folds).Select(k => CrossValidation.Split(k, folds, slices, FoldScheme.Disjoint, seed)).ToList();
        var validated = splits.SelectMany(s => s.Validation).ToList();
        Assert.Equal(Enumerable.Range(0, slices), validated.Order());
        Assert.Equal(Shuffle(slices, seed), validated); // contiguous chunks of the shuffle, in order
        foreach (var s in splits)
        {
            Assert.Equal(Enumerable.Range(0, slices), s.Training.Concat(s.Validation).Order());
            Assert.InRange(s.Validation.Count, slices / folds, (slices + folds - 1) / folds);
            Assert.NotEmpty(s.Training);
        }
        // array_split: the larger chunks first.
        Assert.True(splits.Select(s => s.Validation.Count).SequenceEqual(splits.Select(s => s.Validation.Count).OrderDescending()));
    }

    [Theory]
    [InlineData(FoldScheme.Reference)]
    [InlineData(FoldScheme.Disjoint)]
    public void NoFold_TrainsOnAllSlices_AndSameSeedGivesSameSplit(FoldScheme scheme)
    {
        for (int folds = 2; folds <= 6; folds++)
        for (int slices = folds; slices <= 31; slices++)
        for (int fold = 0; fold < folds; fold++)
        {
            var s = CrossValidation.Split(fold, folds, slices, scheme, seed: 3);
            Assert.NotEmpty(s.Training);
            Assert.NotEmpty(s.Validation);
            Assert.Empty(s.Training.Intersect(s.Validation));
            Assert.Equal(slices, s.Training.Count + s.Validation.Count);
            Assert.Equal(s.Training, CrossValidation.Split(fold, folds, slices, scheme, seed: 3).Training);
        }
    }

    [Theory]
    [InlineData(-1, 5, 30, 0, FoldScheme.Reference, "fold")]
    [InlineData(5, 5, 30, 0, FoldScheme.Reference, "fold")]
    [InlineData(0, 1, 30, 0, FoldScheme.Disjoint, "folds")]
    [InlineData(0, 0, 30, 0, FoldScheme.Reference, "folds")]
    [InlineData(0, 5, 4, 0, FoldScheme.Disjoint, "slices")]
    [InlineData(0, 5, 30, -1, FoldScheme.Reference, "seed")]
    [InlineData(0, 5, 30, 0, (FoldScheme)7, "scheme")]
    public void BadArguments_AreRejected_NamingTheParameter(int fold, int folds, int slices, int seed, FoldScheme scheme, string parameter)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => CrossValidation.Split(fold, folds, slices, scheme, seed));
        Assert.Equal(parameter, e.ParamName);
    }

    /// <summary>Runs a script with /usr/bin/python3 (or UNET_PEER_PYTHON) and numpy; skips the test with the reason when numpy is unavailable (fails it when UNET_REQUIRE_PEER=1).</summary>
    private static string RunNumpy(string script)
    {
        string python = Environment.GetEnvironmentVariable("UNET_PEER_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";
        string? reason = null;
        string stdout = "";
        if (Path.IsPathRooted(python) && !File.Exists(python))
            reason = $"{python} does not exist";
        else
        {
            try
            {
                var start = new ProcessStartInfo(python)
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    UseShellExecute = false,
                };
                start.ArgumentList.Add("-c");
                start.ArgumentList.Add(script);
                using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {python}");
                var outTask = process.StandardOutput.ReadToEndAsync();
                var errTask = process.StandardError.ReadToEndAsync();
                if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit();
                    reason = $"{python} ran past 2 minutes";
                }
                else
                {
                    process.WaitForExit();
                    stdout = outTask.Result;
                    string stderr = errTask.Result;
                    if (process.ExitCode != 0)
                    {
                        // numpy missing is a reason to skip; any other failure is a test failure.
                        if (stderr.Contains("No module named 'numpy'", StringComparison.Ordinal)) reason = $"{python} has no numpy";
                        else Assert.Fail($"{python} exited with {process.ExitCode}: {stderr}");
                    }
                }
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                reason = $"{python} could not run: {e.Message}";
            }
        }
        if (reason is not null) Requirement.Skip($"numpy peer unavailable: {reason}", Requirement.Peer);
        return stdout;
    }
}
