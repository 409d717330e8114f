using UNet.Segmentation.Runtime;

namespace UNet.Segmentation.Tests.Runtime;

/// <summary>The cuDNN autotuner switch reaches libtorch's global context (on any backend; it acts on CUDA only).</summary>
public sealed class CudnnBenchmarkTests
{
    [Fact]
    public void TheSwitch_IsExportedByTorchSharpsLibtorch_AndRoundTrips()
    {
        Assert.True(CudnnBenchmark.IsAvailable, "libtorch 2.10 exports at::Context::setBenchmarkCuDNN");
        bool before = CudnnBenchmark.Get()!.Value;
        try
        {
            Assert.True(CudnnBenchmark.TrySet(!before));
            Assert.Equal(!before, CudnnBenchmark.Get());
            Assert.True(CudnnBenchmark.TrySet(before));
            Assert.Equal(before, CudnnBenchmark.Get());
        }
        finally
        {
            CudnnBenchmark.TrySet(before);
        }
    }
}
