using System.Globalization;
using TorchSharp;
using UNet.Segmentation.Model;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Model.Precision;
using UNet.Segmentation.Tests.Peer;
using UNet.Segmentation.Tests.Shared;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Model;

/// <summary><see cref="NnUNetModel"/>: the BraTS configuration's size, keys, shapes, input checks, leaks, saving.</summary>
[Collection("LiveTensors")]
public class NnUNetModelTests(ITestOutputHelper output)
{
    /// <summary>3-D, anisotropic (kernel 1 and stride 1 along z at level 0/1), 4 levels, filters 4 → 16 (capped), 2 heads.</summary>
    internal static NnUNetOptions Small3D { get; } =
        NnUNetPlan.For([8, 16, 16], [3.0, 0.8, 0.8], inputChannels: 2, classes: 3, minFeatureMap: 2) with { BaseFilters = 4, MaxFilters = 16 };

    /// <summary>2-D, the last step halving one axis only, 4 levels, filters 4 → 8, 1 head.</summary>
    internal static NnUNetOptions Small2D { get; } =
        NnUNetPlan.For([32, 24], [1.0, 1.0], inputChannels: 1, classes: 2) with { BaseFilters = 4, MaxFilters = 8, DeepSupervisionHeads = 1 };

    [Fact]
    public void SmallPlans_AreWhatTheTestsMeanThemToBe()
    {
        // 8×16×16 at 3.0×0.8×0.8 with min_fmap 2 (halve while ≥ 4): ratios 3.75 → stride 1,2,2, kernel 1,3,3
        // (8×8×8, spacing 3×1.6×1.6); ratio 1.875 → 2,2,2 (4×4×4); again (4 ≥ 4) → 2×2×2; then stop.
        Assert.Equal([[1, 1, 1], [1, 2, 2], [2, 2, 2], [2, 2, 2]], Small3D.Strides.Select(s => s.ToArray()).ToArray());
        Assert.Equal([1, 3, 3], Small3D.Kernels[0]);
        Assert.Equal([4, 8, 16, 16], Small3D.Filters);
        // 32×24: 2,2 (16×12); 2,2 (8×6); 2,1 (4×6); then stop.
        Assert.Equal([[1, 1], [2, 2], [2, 2], [2, 1]], Small2D.Strides.Select(s => s.ToArray()).ToArray());
    }

    [Fact]
    public void BraTS3D_ParameterCount_EqualsThePyTorchPeers()
    {
        // The reference publishes no parameter count. Its number here is the PyTorch peer's
        // (tests/peer/nnunet_peer.py, the reference's DynUNet architecture) built from the same
        // options, and by hand from the layers: 31,192,868 for the network (convs 4·32·27 …,
        // affine norms 2 per channel, transposed convs k = 2³ with bias, the 1×1 output conv) plus
        // 776 for the two heads (64·4 + 4, 128·4 + 4) = 31,193,644.
        PythonPeer.Require();
        using var model = new NnUNetModel(NnUNetOptions.BraTS3D);
        string[] peer = PythonPeer.Run("nnunet_peer.py", "count", NnUNetOptions.BraTS3D.ToJson()).Trim().Split(' ');
        output.WriteLine($"BraTS 3D: ours {model.ParameterCount:N0}, peer {long.Parse(peer[1], CultureInfo.InvariantCulture):N0}");
        Assert.Equal(long.Parse(peer[1], CultureInfo.InvariantCulture), model.ParameterCount);
        Assert.Equal(31_193_644, model.ParameterCount);
        Assert.Equal(int.Parse(peer[3], CultureInfo.InvariantCulture), model.state_dict().Count);
        using var plain = new NnUNetModel(NnUNetOptions.BraTS3D with { DeepSupervision = false });
        Assert.Equal(31_192_868, plain.ParameterCount);
    }

    [Fact]
    public void StateDictKeys_AreDynUNets()
    {
        using var model = new NnUNetModel(Small3D);
        var keys = model.state_dict().Keys.ToHashSet();
        foreach (var key in new[]
        {
            "input_block.conv1.conv.weight", "input_block.norm1.weight", "input_block.norm2.bias",
            "downsamples.1.conv2.conv.weight", "bottleneck.conv1.conv.weight",
            "upsamples.0.transp_conv.conv.weight", "upsamples.0.transp_conv.conv.bias",
            "upsamples.2.conv_block.conv1.conv.weight", "upsamples.2.conv_block.norm2.weight",
            "output_block.conv.conv.weight", "output_block.conv.conv.bias",
            "deep_supervision_heads.0.conv.conv.weight", "deep_supervision_heads.1.conv.conv.bias",
        })
            Assert.Contains(key, keys);
        Assert.DoesNotContain("input_block.conv1.conv.bias", keys); // no bias before instance norm
        Assert.Equal([4, 2, 1, 3, 3], model.state_dict()["input_block.conv1.conv.weight"].shape);
        Assert.Equal([16, 16, 2, 2, 2], model.state_dict()["upsamples.0.transp_conv.conv.weight"].shape);
        Assert.Equal([8, 4, 1, 2, 2], model.state_dict()["upsamples.2.transp_conv.conv.weight"].shape);
    }

    [Fact]
    public void Forward_GivesFullResolutionLogits_AndDeepSupervisionStacksTheHeads()
    {
        using var model = new NnUNetModel(Small2D);
        using var scope = NewDisposeScope();
        var x = randn(2, 1, 32, 48); // any multiple of the total stride 8×4
        var logits = model.forward(x);
        Assert.Equal([2, 2, 32, 48], logits.shape);
        var deep = model.ForwardWithDeepSupervision(x);
        Assert.Equal([2, 2, 2, 32, 48], deep.shape);
        Assert.True(deep.select(1, 0).allclose(logits, rtol: 0, atol: 1e-6));
        // Head 1 comes from level 1 (stride 2×2): each of its values fills a 2×2 block.
        var head = deep.select(1, 1);
        Assert.True(head.slice(2, 0, 32, 2).equal(head.slice(2, 1, 32, 2)).all().item<bool>());
        Assert.True(head.slice(3, 0, 48, 2).equal(head.slice(3, 1, 48, 2)).all().item<bool>());
        using var plain = new NnUNetModel(Small2D with { DeepSupervision = false });
        Assert.Equal([2, 1, 2, 32, 48], plain.ForwardWithDeepSupervision(x).shape);
        Assert.Null(plain.DeepSupervisionHeads);
    }

    [Fact]
    public void BadInput_IsRefused_NamingTheInput()
    {
        using var model = new NnUNetModel(Small3D);
        using var scope = NewDisposeScope();
        Assert.Equal("input", Assert.Throws<ArgumentException>(() => model.forward(randn(1, 2, 16, 16))).ParamName);
        Assert.Equal("input", Assert.Throws<ArgumentException>(() => model.forward(randn(new long[] { 1, 3, 8, 16, 16 }))).ParamName);
        var e = Assert.Throws<ArgumentException>(() => model.forward(randn(new long[] { 1, 2, 8, 16, 12 })));
        Assert.Equal("input", e.ParamName);
        Assert.Contains("4×8×8", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Forward_AndBackward_LeaveNoTensorsBehind()
    {
        using var model = new NnUNetModel(Small3D);
        using var x = randn(new long[] { 1, 2, 8, 16, 16 });
        void Step()
        {
            using var scope = NewDisposeScope();
            using (no_grad()) model.forward(x);
            model.ForwardWithDeepSupervision(x).mean().backward();
            model.zero_grad();
        }
        Step();
        long before = LiveTensors.SettledCount();
        for (int i = 0; i < 3; i++) Step();
        Assert.Equal(before, LiveTensors.SettledCount());
    }

    [Fact]
    public void SaveAndLoad_KeepOptionsAndWeights()
    {
        string path = Path.Combine(Path.GetTempPath(), $"nnunet-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var model = new NnUNetModel(Small3D);
            model.Save(path);
            using var loaded = NnUNetModel.Load(path);
            Assert.Equal(Small3D.ToJson(), loaded.Options.ToJson());
            using var scope = NewDisposeScope();
            var x = randn(new long[] { 1, 2, 8, 16, 16 });
            Assert.True(model.forward(x).equal(loaded.forward(x)).all().item<bool>());
            var e = Assert.Throws<InvalidDataException>(() => { using var m = NnUNetModel.Load(WriteUNet(path)); });
            Assert.Contains(NnUNetModel.OptionsMetadataKey, e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
            File.Delete(path + ".unet");
        }
    }

    private static string WriteUNet(string path)
    {
        using var unet = new UNetModel(UNetOptions.Reference with { BaseFilters = 2, Depth = 1, InputSize = 18 });
        unet.Save(path + ".unet");
        return path + ".unet";
    }
}
