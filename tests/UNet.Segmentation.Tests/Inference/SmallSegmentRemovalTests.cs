using UNet.Segmentation.Inference;

namespace UNet.Segmentation.Tests.Inference;

/// <summary>The optional post-processing: interior segments below a size become membrane, 4-connected, nothing else touched.</summary>
public sealed class SmallSegmentRemovalTests
{
    // 5 x 6: a 4-pixel segment (top left), a 2-pixel one joined only diagonally to a 1-pixel one (right), membrane elsewhere
    private static float[] Page() =>
    [
        0.9f, 0.8f, 0.1f, 0.1f, 0.7f, 0.1f,
        0.6f, 0.5f, 0.1f, 0.1f, 0.6f, 0.1f,
        0.1f, 0.1f, 0.2f, 0.1f, 0.1f, 0.55f,
        0.1f, 0.1f, 0.1f, 0.3f, 0.1f, 0.1f,
        0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f,
    ];

    [Fact]
    public void SegmentsSmallerThanTheMinimumBecomeMembraneAndDiagonalNeighboursAreApart()
    {
        var page = Page();
        var removed = new SmallSegmentRemoval(MinPixels: 3).Apply(page, 5, 6);
        // the 2-pixel segment (4 and 10) and the lone pixel (17) go; the 4-pixel one (0, 1, 6, 7: 0.5 counts as interior) stays
        Assert.Equal([4, 10, 17], removed);
        var expected = Page();
        foreach (int j in removed) expected[j] = 0f;
        Assert.Equal(expected, page);
    }

    [Fact]
    public void AMinimumOfOneRemovesNothingAndAHigherThresholdSeesSmallerSegments()
    {
        var page = Page();
        Assert.Empty(new SmallSegmentRemoval(1).Apply(page, 5, 6));
        Assert.Equal(Page(), page);
        // at 0.65 the top-left segment is 0.9 and 0.8 only (2 pixels), the right one 0.7 alone
        Assert.Equal([0, 1, 4], new SmallSegmentRemoval(3, Threshold: 0.65).Apply(page, 5, 6));
    }

    [Fact]
    public void OnTwoClassMapsTheMembraneChannelBecomesOne()
    {
        var interior = Page();
        var data = interior.Select(p => 1 - p).Concat(interior).ToArray();
        var maps = new FloatImages(data, 1, 2, 5, 6);
        Assert.Equal(3, new SmallSegmentRemoval(3).Apply(maps, 0));
        Assert.Equal(0f, maps.Plane(0, 1)[17]);
        Assert.Equal(1f, maps.Plane(0, 0)[17]);
        Assert.Equal(1 - 0.9f, maps.Plane(0, 0)[0]);
        Assert.Throws<ArgumentException>(() => new SmallSegmentRemoval(3).Apply(new FloatImages(new float[30], 1, 1, 5, 6), 0));
    }

    [Fact]
    public void APredictorWithPostProcessingAppliesItToEveryMapItReturns()
    {
        var images = FloatImages.FromGrayBytes(Enumerable.Range(0, 2 * 40 * 48).Select(i => (byte)(i * 37 % 251)).ToArray(), 2, 40, 48);
        using var plain = new Predictor(InferenceTestSupport.NewModel(), PredictorOptions.Tiled);
        var maps = plain.PredictProbabilities(images);
        Assert.Contains(maps.Plane(1, 1).ToArray(), p => p >= 0.5f);
        // every segment is smaller than a whole page: all become membrane
        using var cleaned = new Predictor(InferenceTestSupport.NewModel(), PredictorOptions.Tiled with { PostProcessing = new SmallSegmentRemoval(40 * 48 + 1) });
        var post = cleaned.PredictProbabilities(images);
        for (int i = 0; i < 2; i++)
        {
            Assert.All(post.Plane(i, 1).ToArray(), p => Assert.True(p < 0.5f));
            var (before, after) = (maps.Plane(i, 1).ToArray(), post.Plane(i, 1).ToArray());
            for (int j = 0; j < before.Length; j++) Assert.Equal(before[j] >= 0.5f ? 0f : before[j], after[j]);
        }
    }

    [Theory]
    [InlineData(0, 0.5, "PostProcessing.MinPixels must be at least 1 (got 0)")]
    [InlineData(5, 0.0, "PostProcessing.Threshold must lie in (0, 1] (got 0)")]
    [InlineData(5, double.NaN, "PostProcessing.Threshold must lie in (0, 1] (got NaN)")]
    public void BadValuesAreNamed(int min, double threshold, string problem)
    {
        Assert.Equal([problem], new SmallSegmentRemoval(min, threshold).Validate());
        var options = new PredictorOptions { PostProcessing = new SmallSegmentRemoval(min, threshold) };
        Assert.Contains(problem, options.Validate());
    }
}
