using UNet.Segmentation.Model;

namespace UNet.Segmentation.Tests.Model;

public class UNetOptionsTests
{
    [Fact]
    public void Reference_HasTheReferenceRecipe()
    {
        var o = UNetOptions.Reference;
        Assert.Equal((1, 2, 64, 4, ConvPadding.Valid, 0.5, Upsampling.TransposedConv3x3, false, WeightInit.GlorotUniform, 572),
            (o.InputChannels, o.Classes, o.BaseFilters, o.Depth, o.Padding, o.DropoutRate, o.Upsampling, o.BatchNorm, o.Initialization, o.InputSize));
        Assert.Empty(o.Validate());
        Assert.Equal(Upsampling.TransposedConv2x2, UNetOptions.Paper.Upsampling);
    }

    [Theory]
    [InlineData(572, 388)]
    [InlineData(188, 4)]
    [InlineData(668, 484)]
    public void OutputSize_FollowsTheValidConvArithmetic(int input, int output) =>
        Assert.Equal(output, UNetOptions.Reference.OutputSize(input));

    [Fact]
    public void ValidInputSizes_AreSpacedBy16AtDepth4_AndSamePaddingKeepsTheSize()
    {
        var sizes = UNetOptions.Reference.ValidInputSizes(500, 600).ToArray();
        Assert.Equal(new[] { 508, 524, 540, 556, 572, 588 }, sizes);
        var same = UNetOptions.Reference with { Padding = ConvPadding.Same, InputSize = 512 };
        Assert.Equal(512, same.OutputSize(512));
        Assert.False(same.IsValidInputSize(520));
        Assert.Contains("nearest valid sizes: 556, 572", Assert.Throws<ArgumentOutOfRangeException>(() => UNetOptions.Reference.OutputSize(570)).Message);
    }

    [Fact]
    public void Validate_ListsEveryProblem_EachNamingItsOption()
    {
        var bad = UNetOptions.Reference with { Classes = 0, InputChannels = 0, BaseFilters = 0, DropoutRate = 1.0, InputSize = 570 };
        var problems = bad.Validate();
        Assert.Equal(5, problems.Count);
        foreach (var option in new[] { "Classes", "InputChannels", "BaseFilters", "DropoutRate", "InputSize" })
            Assert.Contains(problems, p => p.StartsWith(option, StringComparison.Ordinal));
        var ex = Assert.Throws<UNetOptionsException>(() => bad.EnsureValid());
        Assert.Equal(problems, ex.Problems);
        Assert.Single((UNetOptions.Reference with { Depth = 0 }).Validate(), p => p.StartsWith("Depth", StringComparison.Ordinal));
    }
}
