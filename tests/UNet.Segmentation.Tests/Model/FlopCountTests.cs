using System.Globalization;
using UNet.Segmentation.Model;
using UNet.Segmentation.Tests.Peer;

namespace UNet.Segmentation.Tests.Model;

/// <summary>
/// <see cref="FlopCount"/> against tests/peer/flops_peer.py, which runs the PyTorch peer model and
/// adds up the convolutions it really executes (forward hooks), for the reference and for variants
/// that change every term of the count.
/// </summary>
public class FlopCountTests(ITestOutputHelper output)
{
    public static TheoryData<string, int> Variants() => new()
    {
        { "reference", 572 },
        { "paper", 572 },
        { "same-3classes-depth3", 96 },
        { "rgb-depth2-width6", 60 },
    };

    private static UNetOptions Options(string variant) => variant switch
    {
        "reference" => UNetOptions.Reference,
        "paper" => UNetOptions.Paper,
        "same-3classes-depth3" => UNetOptions.Reference with { Padding = ConvPadding.Same, Classes = 3, Depth = 3, BaseFilters = 8, InputSize = 96 },
        "rgb-depth2-width6" => UNetOptions.Reference with { InputChannels = 3, Depth = 2, BaseFilters = 6, InputSize = 60 },
        _ => throw new ArgumentOutOfRangeException(nameof(variant)),
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void ForwardAndTrainingStep_MatchTheConvolutionsThePeerRuns(string variant, int size)
    {
        PythonPeer.Require();
        var options = Options(variant);
        string[] peer = PythonPeer.Run(TimeSpan.FromMinutes(3), "flops_peer.py", options.ToJson(), size.ToString(CultureInfo.InvariantCulture)).Trim().Split(' ');
        double forward = double.Parse(peer[1], CultureInfo.InvariantCulture), first = double.Parse(peer[3], CultureInfo.InvariantCulture);
        output.WriteLine($"{variant} @ {size}: peer {forward:E4} FLOPs forward, ours {FlopCount.Forward(options, size):E4}");

        Assert.Equal(forward, FlopCount.Forward(options, size));
        Assert.Equal(3 * forward - first, FlopCount.TrainingStep(options, size));
    }

    [Fact]
    public void InvalidSize_IsRejectedWithTheValidNeighbours()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => FlopCount.Forward(UNetOptions.Reference, 570));
        Assert.Equal("inputSize", e.ParamName);
        Assert.Contains("572", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Forward_GrowsWithTheSquareOfTheWidth()
    {
        // Every layer except the first (1 input channel) and the last (2 classes) has both its
        // channel counts doubled, so doubling the width nearly quadruples the count.
        double narrow = FlopCount.Forward(UNetOptions.Reference with { BaseFilters = 32 }, 572);
        double wide = FlopCount.Forward(UNetOptions.Reference, 572);
        Assert.InRange(wide / narrow, 3.9, 4.0);
    }
}
