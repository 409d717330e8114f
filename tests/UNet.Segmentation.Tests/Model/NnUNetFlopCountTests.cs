using System.Globalization;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Tests.Peer;

namespace UNet.Segmentation.Tests.Model;

/// <summary>
/// <see cref="FlopCount"/>'s nnU-Net count against tests/peer/nnunet_peer.py's, which runs the
/// PyTorch peer and adds up the convolutions it really executes (forward hooks), with and
/// without the deep-supervision heads.
/// </summary>
public class NnUNetFlopCountTests(ITestOutputHelper output)
{
    public static TheoryData<string, string> Variants() => new()
    {
        { "brats-3d", "64x64x64" },
        { "small-3d", "8x16x16" },
        { "small-2d", "32x48" },
        { "prostate-3d", "8x64x64" },
    };

    private static NnUNetOptions Options(string variant) => variant switch
    {
        "brats-3d" => NnUNetOptions.BraTS3D,
        "small-3d" => NnUNetModelTests.Small3D,
        "small-2d" => NnUNetModelTests.Small2D,
        "prostate-3d" => NnUNetPlan.For([20, 320, 256], [3.6, 0.62, 0.62], 1, 3),
        _ => throw new ArgumentOutOfRangeException(nameof(variant)),
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void ForwardAndTrainingStep_MatchTheConvolutionsThePeerRuns(string variant, string size)
    {
        PythonPeer.Require();
        var options = Options(variant);
        int[] sizes = size.Split('x').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        string[] peer = PythonPeer.Run(TimeSpan.FromMinutes(5), "nnunet_peer.py", "flops", options.ToJson(), size).Trim().Split(' ');
        double forward = double.Parse(peer[1], CultureInfo.InvariantCulture);
        double training = double.Parse(peer[3], CultureInfo.InvariantCulture);
        double first = double.Parse(peer[5], CultureInfo.InvariantCulture);
        output.WriteLine($"{variant} @ {size}: peer {forward:E4} FLOPs forward, ours {FlopCount.Forward(options, sizes):E4}");

        Assert.Equal(forward, FlopCount.Forward(options, sizes));
        Assert.Equal(3 * training - first, FlopCount.TrainingStep(options, sizes));
        Assert.True(training > forward == options.DeepSupervision);
    }

    [Fact]
    public void DefaultSize_IsThePatch_AndBadSizesAreRefused()
    {
        Assert.Equal(FlopCount.Forward(NnUNetOptions.BraTS3D, [128, 128, 128]), FlopCount.Forward(NnUNetOptions.BraTS3D));
        Assert.Equal("inputSize", Assert.Throws<ArgumentException>(() => FlopCount.Forward(NnUNetOptions.BraTS3D, [128, 128, 100])).ParamName);
        Assert.Equal("inputSize", Assert.Throws<ArgumentException>(() => FlopCount.Forward(NnUNetOptions.BraTS3D with { PatchSize = null })).ParamName);
    }
}
