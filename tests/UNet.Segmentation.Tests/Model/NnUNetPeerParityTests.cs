using TorchSharp;
using UNet.Segmentation.Model.NnUNet;
using UNet.Segmentation.Serialization;
using UNet.Segmentation.Tests.Peer;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UNet.Segmentation.Tests.Model;

/// <summary>
/// <see cref="NnUNetModel"/> against tests/peer/nnunet_peer.py, a PyTorch 1.13 nnU-Net of the
/// same architecture that loads the C# model's safetensors file strictly (so the keys are
/// PyTorch's): the forward logits and the deep-supervision stack within 1e-4, and every
/// parameter's gradient of the reference's deep-supervision loss within 1e-4 of the largest
/// element (relative), the tolerances of <see cref="UNetPeerParityTests"/>'s small variant.
/// The small 2-D and 3-D plans (<see cref="NnUNetModelTests.Small2D"/>, <see cref="NnUNetModelTests.Small3D"/>)
/// include kernels of 1 along a coarse axis, strides of 1 along one axis and the filter cap.
/// </summary>
public class NnUNetPeerParityTests(ITestOutputHelper output)
{
    public static TheoryData<string> Variants() => new() { "2d", "3d", "3d-no-deep-supervision" };

    private static NnUNetOptions Options(string variant) => variant switch
    {
        "2d" => NnUNetModelTests.Small2D,
        "3d" => NnUNetModelTests.Small3D,
        "3d-no-deep-supervision" => NnUNetModelTests.Small3D with { DeepSupervision = false, InputChannels = 1 },
        _ => throw new ArgumentOutOfRangeException(nameof(variant)),
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void LogitsAndGradients_MatchThePyTorchPeer(string variant)
    {
        PythonPeer.Require();
        var options = Options(variant);
        string dir = Directory.CreateTempSubdirectory("nnunet-peer-").FullName;
        try
        {
            manual_seed(7);
            using var model = new NnUNetModel(options);
            string weights = Path.Combine(dir, "weights.safetensors"), inputs = Path.Combine(dir, "inputs.safetensors"), result = Path.Combine(dir, "peer.safetensors");
            model.Save(weights);

            using var scope = NewDisposeScope();
            long[] spatial = options.PatchSize!.Select(s => (long)s).ToArray();
            var x = randn(new long[] { 2, options.InputChannels }.Concat(spatial).ToArray());
            var target = randint(0, options.Classes, new long[] { 2 }.Concat(spatial).ToArray());
            Safetensors.Save(inputs, [KeyValuePair.Create("input", x), KeyValuePair.Create("target", target)]);
            PythonPeer.Run(TimeSpan.FromMinutes(5), "nnunet_peer.py", "run", weights, inputs, result);

            Tensor logits;
            using (no_grad()) logits = model.forward(x);
            var deep = model.ForwardWithDeepSupervision(x);
            // The reference's deep-supervision loss: output i weighted 0.5^i, over the sum of the weights.
            Tensor loss = zeros(1);
            double weightSum = 0;
            for (int i = 0; i < deep.shape[1]; i++)
            {
                loss = loss + Math.Pow(0.5, i) * F.cross_entropy(deep.select(1, i), target);
                weightSum += Math.Pow(0.5, i);
            }
            loss = loss / weightSum;
            loss.backward();

            using var peer = Safetensors.Load(result);
            Assert.Equal(model.ParameterCount.ToString(System.Globalization.CultureInfo.InvariantCulture), peer.Metadata["parameters"]);
            double logitDiff = logits.sub(peer.Tensors["logits"]).abs().max().ToDouble();
            double deepDiff = deep.sub(peer.Tensors["deep"]).abs().max().ToDouble();
            output.WriteLine($"{variant}: max |logit diff| {logitDiff:E2}, max |deep-supervision diff| {deepDiff:E2}, loss {loss.ToDouble():F6} vs {peer.Tensors["loss"].ToDouble():F6}");
            Assert.Equal(peer.Tensors["deep"].shape, deep.shape);
            Assert.True(logitDiff <= 1e-4, $"logits differ by {logitDiff:E3}");
            Assert.True(deepDiff <= 1e-4, $"deep-supervision outputs differ by {deepDiff:E3}");
            Assert.Equal(model.named_parameters().Count(), peer.Tensors.Keys.Count(k => k.StartsWith("grad.", StringComparison.Ordinal)));
            double worst = 0;
            foreach (var (name, p) in model.named_parameters())
            {
                using var g = p.grad!;
                var expected = peer.Tensors["grad." + name];
                double diff = g.sub(expected).abs().max().ToDouble();
                double scale = Math.Max(expected.abs().max().ToDouble(), 1e-12);
                worst = Math.Max(worst, diff / scale);
                Assert.True(diff / scale <= 1e-4, $"gradient of {name} differs by {diff:E3} (relative {diff / scale:E3})");
            }
            output.WriteLine($"{variant}: largest relative gradient difference {worst:E2} over {model.named_parameters().Count()} parameters");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
