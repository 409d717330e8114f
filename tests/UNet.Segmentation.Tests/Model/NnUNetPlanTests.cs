using UNet.Segmentation.Model.NnUNet;

namespace UNet.Segmentation.Tests.Model;

/// <summary>
/// <see cref="NnUNetPlan.For"/> against the rule of NVIDIA's nnUNet (<c>get_unet_params</c>):
/// every expected plan below was worked out by hand from that rule (halve a dimension while its
/// spacing ratio is at most 2 and its size at least 8; kernel 3, or 1 where the ratio exceeds 2;
/// at most 5 steps; the bottleneck's kernel 3), the steps written beside each case.
/// </summary>
public class NnUNetPlanTests
{
    private static int[][] Lists(IReadOnlyList<IReadOnlyList<int>> lists) => lists.Select(l => l.ToArray()).ToArray();

    [Fact]
    public void BraTS3D_128Cubed_At1mm_HalvesFiveTimes_AndIsTheDefaultOptions()
    {
        // 128 → 64 → 32 → 16 → 8 → 4: every size is ≥ 8 for five steps; the depth limit (5) stops it.
        var plan = NnUNetPlan.For([128, 128, 128], [1.0, 1.0, 1.0], inputChannels: 4, classes: 4);
        Assert.Equal([[1, 1, 1], [2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2]], Lists(plan.Strides));
        Assert.Equal(Enumerable.Repeat(new[] { 3, 3, 3 }, 6).ToArray(), Lists(plan.Kernels));
        Assert.Equal([32, 64, 128, 256, 320, 320], plan.Filters);
        Assert.Equal([32, 32, 32], plan.TotalStride);
        Assert.Equal((true, 2), (plan.DeepSupervision, plan.DeepSupervisionHeads));
        Assert.Equal(NnUNetOptions.BraTS3D.ToJson(), plan.ToJson());
    }

    [Fact]
    public void BraTS2D_192x160_HalvesFiveTimes_WithThe2DCap()
    {
        // 192 → 96 → 48 → 24 → 12 → 6 and 160 → 80 → 40 → 20 → 10 → 5; 2-D filters cap at 512.
        var plan = NnUNetPlan.For([192, 160], [1.0, 1.0], inputChannels: 4, classes: 4);
        Assert.Equal(2, plan.SpatialDims);
        Assert.Equal([[1, 1], [2, 2], [2, 2], [2, 2], [2, 2], [2, 2]], Lists(plan.Strides));
        Assert.Equal(Enumerable.Repeat(new[] { 3, 3 }, 6).ToArray(), Lists(plan.Kernels));
        Assert.Equal([32, 64, 128, 256, 512, 512], plan.Filters);
    }

    [Fact]
    public void Anisotropic_0p8_0p8_3mm_KeepsTheCoarseAxisUntilItCatchesUp()
    {
        // patch 192×160×40 at 0.8×0.8×3.0:
        // step 1: ratios 1, 1, 3.75  → stride 2,2,1, kernel 3,3,1; sizes 96×80×40, spacing 1.6×1.6×3.0
        // step 2: ratios 1, 1, 1.875 → stride 2,2,2, kernel 3,3,3; sizes 48×40×20, spacing 3.2×3.2×6
        // step 3: the same           → 24×20×10
        // step 4: the same (10 ≥ 8)  → 12×10×5
        // step 5: z is 5 < 8         → stride 2,2,1, kernel 3,3,3; 6×5×5; five steps: stop.
        // level 0 takes step 1's kernel (3,3,1); the bottleneck kernel 3.
        var plan = NnUNetPlan.For([192, 160, 40], [0.8, 0.8, 3.0], inputChannels: 1, classes: 2);
        Assert.Equal([[1, 1, 1], [2, 2, 1], [2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 1]], Lists(plan.Strides));
        Assert.Equal([[3, 3, 1], [3, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]], Lists(plan.Kernels));
        Assert.Equal([32, 32, 8], plan.TotalStride);
    }

    [Fact]
    public void Prostate_3p6mmSlices_UsesInPlaneKernelsForTwoLevels()
    {
        // The reference's task 05: patch 20×320×256 at 3.6×0.62×0.62.
        // step 1: ratios 5.81, 1, 1 → stride 1,2,2, kernel 1,3,3; 20×160×128, spacing 3.6×1.24×1.24
        // step 2: ratios 2.90, 1, 1 → stride 1,2,2, kernel 1,3,3; 20×80×64,  spacing 3.6×2.48×2.48
        // step 3: ratios 1.45, 1, 1 → stride 2,2,2, kernel 3,3,3; 10×40×32
        // step 4: the same (10 ≥ 8) → 5×20×16
        // step 5: z is 5 < 8        → stride 1,2,2, kernel 3,3,3; 5×10×8; five steps: stop.
        var plan = NnUNetPlan.For([20, 320, 256], [3.6, 0.62, 0.62], inputChannels: 1, classes: 3);
        Assert.Equal([[1, 1, 1], [1, 2, 2], [1, 2, 2], [2, 2, 2], [2, 2, 2], [1, 2, 2]], Lists(plan.Strides));
        Assert.Equal([[1, 3, 3], [1, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]], Lists(plan.Kernels));
        Assert.Equal([4, 32, 32], plan.TotalStride);
    }

    [Fact]
    public void Hippocampus_StopsWhenNoDimensionCanBeHalved()
    {
        // Task 04: 40×56×40 at 1 mm: 20×28×20, 10×14×10, 5×7×5, then nothing is ≥ 8: three steps,
        // four levels, so two heads still fit (heads < levels − 1).
        var plan = NnUNetPlan.For([40, 56, 40], [1.0, 1.0, 1.0], inputChannels: 1, classes: 3);
        Assert.Equal([[1, 1, 1], [2, 2, 2], [2, 2, 2], [2, 2, 2]], Lists(plan.Strides));
        Assert.Equal(4, plan.Kernels.Count);
        Assert.Equal([32, 64, 128, 256], plan.Filters);
        Assert.Equal(2, plan.DeepSupervisionHeads);
    }

    [Fact]
    public void DepthAndMinimalFeatureMap_AreTheReferencesKnobs()
    {
        // --depth 3: three steps only. --min_fmap 2: sizes down to 4 may still be halved (2 × 2).
        Assert.Equal(4, NnUNetPlan.For([128, 128, 128], [1.0, 1.0, 1.0], 4, 4, maxDepth: 3).Levels);
        var deep = NnUNetPlan.For([64, 64], [1.0, 1.0], 1, 2, maxDepth: 6, minFeatureMap: 2);
        Assert.Equal(5, deep.Strides.Count - 1); // 64 → 32 → 16 → 8 → 4 → 2
    }

    [Fact]
    public void PatchNotDivisibleByTheTotalStride_IsRefused_NamingThePatch()
    {
        // 100 → 50 → 25 → 12.5 → 6.25: four steps, total stride 16, and 100 is not a multiple of it.
        var e = Assert.Throws<ArgumentException>(() => NnUNetPlan.For([100, 100, 100], [1.0, 1.0, 1.0], 4, 4));
        Assert.Equal("patchSize", e.ParamName);
        Assert.Contains("16×16×16", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadArguments_AreTypedAndNamed()
    {
        Assert.Equal("patchSize", Assert.Throws<ArgumentException>(() => NnUNetPlan.For([8, 8], [1.0, 1.0], 1, 2)).ParamName); // one step only
        Assert.Equal("patchSize", Assert.Throws<ArgumentException>(() => NnUNetPlan.For([64, 64, 64, 64], [1.0, 1.0, 1.0, 1.0], 1, 2)).ParamName);
        Assert.Equal("patchSize", Assert.Throws<ArgumentOutOfRangeException>(() => NnUNetPlan.For([64, 0], [1.0, 1.0], 1, 2)).ParamName);
        Assert.Equal("spacing", Assert.Throws<ArgumentException>(() => NnUNetPlan.For([64, 64], [1.0], 1, 2)).ParamName);
        Assert.Equal("spacing", Assert.Throws<ArgumentException>(() => NnUNetPlan.For([64, 64], [1.0, double.NaN], 1, 2)).ParamName);
        Assert.Equal("inputChannels", Assert.Throws<ArgumentOutOfRangeException>(() => NnUNetPlan.For([64, 64], [1.0, 1.0], 0, 2)).ParamName);
        Assert.Equal("maxDepth", Assert.Throws<ArgumentOutOfRangeException>(() => NnUNetPlan.For([64, 64], [1.0, 1.0], 1, 2, maxDepth: 1)).ParamName);
        Assert.Throws<ArgumentNullException>(() => NnUNetPlan.For(null!, [1.0, 1.0], 1, 2));
    }
}
