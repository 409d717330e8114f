using TorchSharp;
using UNet.Segmentation.Model;
using UNet.Segmentation.Serialization;
using UNet.Segmentation.Tests.Peer;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UNet.Segmentation.Tests.Model;

/// <summary>
/// The C# model against tests/peer/unet_peer.py, a plain PyTorch U-Net that loads the C#
/// model's safetensors file: logits within 1e-4, every parameter's gradient of a fixed loss
/// within 1e-4 relative for the small variant; for the reference at 572×572, where float32 itself
/// is not that exact (PyTorch's own float32 gradients are up to 1.7e-3 from float64 in norm),
/// each gradient within 5e-3 of the float64 gradient in norm (‖g − g64‖ / ‖g64‖) and at most
/// 1.25× as far from it as PyTorch's own float32 gradient, plus 1e-4. In the batch-norm variant, run in training mode, the buffers the
/// forward pass updates (running statistics, batch count) must match PyTorch's too.
/// </summary>
public class UNetPeerParityTests(ITestOutputHelper output)
{
    public static TheoryData<string> Variants() => new() { "reference", "same-batchnorm-small" };

    [Theory]
    [MemberData(nameof(Variants))]
    public void LogitsAndGradients_MatchThePyTorchPeer(string variant)
    {
        PythonPeer.Require();
        bool reference = variant == "reference";
        var options = reference
            ? UNetOptions.Reference
            : UNetOptions.Reference with { Padding = ConvPadding.Same, BatchNorm = true, BaseFilters = 8, Depth = 3, InputSize = 64, DropoutRate = 0 };
        string dir = Directory.CreateTempSubdirectory("unet-peer-").FullName;
        try
        {
            manual_seed(11);
            using var model = new UNetModel(options);
            // The reference is compared in eval mode (dropout off); the batch-norm variant in
            // training mode, so batch statistics and the running-stat update are exercised too.
            model.train(!reference);
            string weights = Path.Combine(dir, "weights.safetensors"), inputs = Path.Combine(dir, "inputs.safetensors"), result = Path.Combine(dir, "peer.safetensors");
            model.Save(weights);

            using var scope = NewDisposeScope();
            int size = options.InputSize, outSize = model.OutputSize(size);
            var x = randn(reference ? 1 : 2, 1, size, size);
            var target = randint(0, 2, new long[] { x.shape[0], outSize, outSize });
            Safetensors.Save(inputs, [KeyValuePair.Create("input", x), KeyValuePair.Create("target", target)]);
            PythonPeer.Run(TimeSpan.FromMinutes(12), "unet_peer.py", reference ? [weights, inputs, result, "--float64"] : [weights, inputs, result, "--train"]);

            var logits = model.forward(x);
            var loss = F.cross_entropy(logits, target);
            loss.backward();
            using var peer = Safetensors.Load(result);
            Assert.Equal(model.ParameterCount.ToString(System.Globalization.CultureInfo.InvariantCulture), peer.Metadata["parameters"]);
            double logitDiff = logits.sub(peer.Tensors["logits"]).abs().max().ToDouble();
            output.WriteLine($"{variant}: max |logit diff| {logitDiff:E2}, loss {loss.ToDouble():F6} vs {peer.Tensors["loss"].ToDouble():F6}");
            Assert.True(logitDiff <= 1e-4, $"logits differ by {logitDiff:E3}");
            foreach (var (name, buffer) in model.named_buffers())
            {
                // Only the batch-norm variant has buffers; the peer ran its forward in the same mode.
                var expected = peer.Tensors["buffer." + name];
                Assert.Equal(expected.dtype, buffer.dtype);
                double diff = buffer.sub(expected).abs().max().ToDouble();
                double scale = Math.Max(expected.abs().max().ToDouble(), 1e-12);
                Assert.True(diff / scale <= 1e-5, $"buffer {name} differs by {diff:E3} (relative {diff / scale:E3})");
            }
            Assert.Equal(model.named_buffers().Count(), peer.Tensors.Keys.Count(k => k.StartsWith("buffer.", StringComparison.Ordinal)));
            foreach (var (name, p) in model.named_parameters())
            {
                using var g = p.grad!;
                var expected = peer.Tensors["grad." + name];
                double diff = g.sub(expected).abs().max().ToDouble();
                double scale = Math.Max(expected.abs().max().ToDouble(), 1e-12);
                if (!reference)
                {
                    Assert.True(diff / scale <= 1e-4, $"gradient of {name} differs by {diff:E3} (relative {diff / scale:E3})");
                    continue;
                }
                // At 572×572 the gradients of the deep layers come out of sums over ~10⁵ terms
                // with heavy cancellation: single elements of any float32 gradient (PyTorch 1.13's
                // as much as ours on libtorch 2.10) can be 1e-2 of the largest element away from
                // the float64 gradient, and two float32 summation orders cannot agree elementwise.
                // Even as a whole float32 is not within 1e-4: measured, PyTorch's own float32
                // gradients are up to 1.7e-3 from float64 in norm (bottleneck.conv2.weight; ours
                // 1.8e-3). So each gradient is measured as a whole against the float64 truth the
                // peer computes: ‖g − g64‖ / ‖g64‖ at most 5e-3 (a wrong gradient is off by ~1),
                // and at most 1.25× PyTorch's own float32 error + 1e-4 (never markedly less exact;
                // the 1e-4 covers the last layers, where both errors are below 1e-4).
                var truth = peer.Tensors["grad64." + name];
                double truthNorm = Math.Max(truth.norm().ToDouble(), 1e-30);
                double ours = g.to(ScalarType.Float64).sub(truth).norm().ToDouble() / truthNorm;
                double theirs = expected.to(ScalarType.Float64).sub(truth).norm().ToDouble() / truthNorm;
                output.WriteLine($"{name}: float32 error vs float64 (norm-relative), ours {ours:E2}, PyTorch {theirs:E2}; largest element difference ours vs PyTorch {diff / scale:E2}");
                Assert.True(ours <= 5e-3, $"gradient of {name}: ours is {ours:E3} (norm-relative) from float64");
                Assert.True(ours <= 1.25 * theirs + 1e-4, $"gradient of {name}: ours is {ours:E3} from float64, PyTorch's float32 {theirs:E3}");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
