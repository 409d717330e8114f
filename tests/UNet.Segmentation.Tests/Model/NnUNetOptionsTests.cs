using UNet.Segmentation.Model.NnUNet;

namespace UNet.Segmentation.Tests.Model;

/// <summary><see cref="NnUNetOptions"/>: defaults, validation naming the option, JSON.</summary>
public class NnUNetOptionsTests
{
    private static readonly NnUNetOptions Small2D = NnUNetPlan.For([32, 24], [1.0, 1.0], 1, 2) with { BaseFilters = 4, MaxFilters = 8 };

    [Fact]
    public void Defaults_AreTheBraTS3DConfiguration()
    {
        var o = NnUNetOptions.BraTS3D;
        Assert.Equal((3, 4, 4, 32, 0.01, true, 2), (o.SpatialDims, o.InputChannels, o.Classes, o.BaseFilters, o.NegativeSlope, o.DeepSupervision, o.DeepSupervisionHeads));
        Assert.Equal([128, 128, 128], o.PatchSize!);
        Assert.Empty(o.Validate());
        Assert.Equal(6, o.Levels);
    }

    [Fact]
    public void Filters_DoubleToTheCap_WhichDependsOnTheDimensions()
    {
        Assert.Equal([4, 8, 8, 8], Small2D.Filters);
        Assert.Equal([32, 64, 128, 256, 512, 512], (NnUNetOptions.BraTS3D with { SpatialDims = 2, Kernels = [.. Enumerable.Repeat(new[] { 3, 3 }, 6)], Strides = [[1, 1], .. Enumerable.Repeat(new[] { 2, 2 }, 5)], PatchSize = null, Spacing = null }).Filters);
    }

    public static TheoryData<string, string> BadOptions() => new()
    {
        { "dims 4", "SpatialDims" },
        { "dims 1", "SpatialDims" },
        { "one kernel short", "Kernels" },
        { "kernel of 2 sizes in 3-D", "Kernels" },
        { "even kernel", "Kernels" },
        { "two levels", "Strides" },
        { "strided input block", "Strides" },
        { "patch not divisible", "PatchSize" },
        { "too many heads", "DeepSupervisionHeads" },
        { "no classes", "Classes" },
    };

    private static NnUNetOptions Bad(string what)
    {
        var o = NnUNetOptions.BraTS3D;
        return what switch
        {
            "dims 4" => o with { SpatialDims = 4 },
            "dims 1" => o with { SpatialDims = 1 },
            "one kernel short" => o with { Kernels = o.Kernels.Skip(1).ToArray() },
            "kernel of 2 sizes in 3-D" => o with { Kernels = [[3, 3], .. o.Kernels.Skip(1)] },
            "even kernel" => o with { Kernels = [.. o.Kernels.SkipLast(1), [3, 4, 3]] },
            "two levels" => o with { Kernels = o.Kernels.Take(2).ToArray(), Strides = o.Strides.Take(2).ToArray(), DeepSupervision = false },
            "strided input block" => o with { Strides = [[2, 2, 2], .. o.Strides.Skip(1)], PatchSize = null },
            "patch not divisible" => o with { PatchSize = [128, 128, 100] },
            "too many heads" => o with { DeepSupervisionHeads = 5 },
            "no classes" => o with { Classes = 0 },
            _ => throw new ArgumentOutOfRangeException(nameof(what)),
        };
    }

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void BadOptions_AreRefused_NamingTheOption_BeforeAnyTensorIsMade(string what, string option)
    {
        var options = Bad(what);
        var problems = options.Validate();
        Assert.NotEmpty(problems);
        var e = Assert.Throws<NnUNetOptionsException>(() => new NnUNetModel(options));
        Assert.Equal(option, e.ParamName);
        Assert.IsAssignableFrom<ArgumentException>(e);
    }

    [Fact]
    public void EveryProblem_IsListedAtOnce()
    {
        var e = Assert.Throws<NnUNetOptionsException>(() => (NnUNetOptions.BraTS3D with { Classes = 0, InputChannels = 0, DeepSupervisionHeads = 0 }).EnsureValid());
        Assert.Equal(3, e.Problems.Count);
    }

    [Fact]
    public void Json_RoundTrips()
    {
        var o = NnUNetPlan.For([20, 320, 256], [3.6, 0.62, 0.62], 1, 3) with { MaxFilters = 256 };
        string json = o.ToJson();
        var back = NnUNetOptions.FromJson(json);
        Assert.Equal(json, back.ToJson());
        Assert.Equal(o.Filters, back.Filters);
        Assert.Throws<System.Text.Json.JsonException>(() => NnUNetOptions.FromJson("[1]"));
    }
}
