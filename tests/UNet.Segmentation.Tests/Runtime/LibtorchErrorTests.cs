using System.Runtime.InteropServices;
using UNet.Segmentation.Tests.Shared;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace UNet.Segmentation.Tests.Runtime;

/// <summary>Errors raised inside libtorch reach .NET as exceptions with libtorch's explanation; the process and the tensors live on.</summary>
[Collection("LiveTensors")]
public sealed class LibtorchErrorTests
{
    [Fact]
    public void Conv2d_MismatchedChannels_ThrowsLibtorchsExplanation_AndTheProcessLivesOn()
    {
        using var scope = NewDisposeScope();
        var input = zeros(1, 2, 8, 8);
        var weight = zeros(4, 3, 3, 3);
        var e = Assert.Throws<ExternalException>(() => F.conv2d(input, weight));
        Assert.Contains("expected input[1, 2, 8, 8] to have 3 channels", e.Message);

        var ok = F.conv2d(ones(1, 3, 8, 8), ones(4, 3, 3, 3));
        Assert.Equal(new long[] { 1, 4, 6, 6 }, ok.shape);
        Assert.Equal(27f, ok.max().item<float>());
    }

    [Fact]
    public void AThousandFailingCalls_LeakNoTensors()
    {
        using var scope = NewDisposeScope();
        var input = zeros(1, 2, 4, 4);
        var weight = zeros(4, 3, 3, 3);
        var a = zeros(2, 3);
        var b = zeros(2, 4);
        long baseline = LiveTensors.SettledCount();
        int failures = 0;
        for (int i = 0; i < 1000; i++)
        {
            try
            {
                _ = i % 2 == 0 ? F.conv2d(input, weight) : cat([a, b]);
            }
            catch (ExternalException)
            {
                failures++;
            }
        }
        Assert.Equal(1000, failures);
        Assert.Equal(baseline, LiveTensors.SettledCount());
    }
}
