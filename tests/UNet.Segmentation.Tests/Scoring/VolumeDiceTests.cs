using UNet.Segmentation.Scoring;

namespace UNet.Segmentation.Tests.Scoring;

/// <summary><see cref="VolumeDice"/> on hand-made label maps, values worked out by hand.</summary>
public class VolumeDiceTests
{
    // 12 voxels. truth: 1 1 1 2 2 3 3 0 0 0 0 0 ; prediction: 1 1 2 2 2 3 0 0 0 3 0 0
    private static readonly byte[] Truth = [1, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0, 0];
    private static readonly byte[] Prediction = [1, 1, 2, 2, 2, 3, 0, 0, 0, 3, 0, 0];

    [Fact]
    public void PerClass_IsTwiceTheOverlapOverTheSizes()
    {
        var dice = VolumeDice.PerClass(Prediction, Truth, 4);
        // class 1: T 3, P 2, both 2 → 4/5; class 2: T 2, P 3, both 2 → 4/5; class 3: T 2, P 2, both 1 → 2/4.
        Assert.Equal([0.8, 0.8, 0.5], dice);
    }

    [Fact]
    public void BraTSRegions_OfTask01()
    {
        var dice = VolumeDice.PerRegion(Prediction, Truth, DiceRegion.MsdBrainTumour);
        // WT {1,2,3}: T voxels 0–6 (7), P voxels 0–5 and 9 (7), both 0–5 (6) → 12/14.
        // TC {2,3}: T 3,4,5,6 (4), P 2,3,4,5,9 (5), both 3,4,5 (3) → 6/9.
        // ET {3}: T 5,6, P 5,9, both 5 → 2/4.
        Assert.Equal(12.0 / 14, dice[0], 12);
        Assert.Equal(6.0 / 9, dice[1], 12);
        Assert.Equal(0.5, dice[2], 12);
    }

    [Fact]
    public void EmptyTruth_ScoresOneIfThePredictionIsEmptyToo_ElseZero()
    {
        byte[] truth = [0, 1, 1, 0];
        Assert.Equal([1.0, 1.0], VolumeDice.PerClass([0, 1, 1, 0], truth, 3)); // class 1 exact, class 2 absent from both
        Assert.Equal(0.0, VolumeDice.PerClass([2, 1, 1, 0], truth, 3)[1]);
        Assert.Equal(1.0, VolumeDice.PerRegion([0, 0, 0, 0], [0, 0, 0, 0], [new DiceRegion("ET", [3])])[0]);
    }

    [Fact]
    public void BadInput_IsRefused()
    {
        Assert.Equal("prediction", Assert.Throws<ArgumentException>(() => VolumeDice.PerClass([0, 1], [0, 1, 1], 2)).ParamName);
        Assert.Equal("regions", Assert.Throws<ArgumentException>(() => VolumeDice.PerRegion([0], [0], [new DiceRegion("none", [])])).ParamName);
    }
}
