using UNet.Segmentation.Data;

namespace UNet.Segmentation.Tests.Data;

/// <summary>The no-fold split (the reference's --fold None): every item trains, none validates.</summary>
public sealed class NoFoldTests
{
    [Fact]
    public void All_TrainsOnEveryItemInOrder_AndValidatesOnNone()
    {
        var split = FoldSplit.All(30);
        Assert.Null(split.Fold);
        Assert.True(split.IsAll);
        Assert.Equal("none", split.Name);
        Assert.Equal(Enumerable.Range(0, 30), split.Training);
        Assert.Empty(split.Validation);
    }

    [Fact]
    public void AllItems_OfTheThirtySyntheticSlices_Is30TrainAnd0Validation_WhereEveryFoldIs24And6()
    {
        var data = IsbiDataset.Synthetic(new SyntheticEmOptions { Slices = 30, Size = 32, MeanCellDiameter = 8, MembraneWidthMin = 1, MembraneWidthMax = 2 });
        var all = data.AllItems();
        Assert.Equal((30, 0), (all.Training.Count, all.Validation.Count));
        Assert.Equal(Enumerable.Range(0, 30), all.Training.Order());
        for (int k = 0; k < 5; k++)
        {
            var fold = data.Fold(k);
            Assert.False(fold.IsAll);
            Assert.Equal(k.ToString(System.Globalization.CultureInfo.InvariantCulture), fold.Name);
            Assert.Equal((24, 6), (fold.Training.Count, fold.Validation.Count));
        }
    }

    [Fact]
    public void All_RefusesNoItems()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => FoldSplit.All(0));
        Assert.Equal("items", e.ParamName);
    }
}
