using TorchSharp;

namespace UNet.Segmentation.Tests.Shared;

/// <summary>
/// Live-tensor counting for leak tests, shared by every test project: TorchSharp's process-wide
/// count of tensor handles (<c>torch.Tensor.TotalCount</c>, all threads, including the batch
/// loader's) after the garbage left by earlier tests has been finalized.
/// </summary>
public static class LiveTensors
{
    /// <summary>Finalizes garbage left by earlier tests, so a baseline taken now stays put.</summary>
    public static void Settle()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    /// <summary>The live count after <see cref="Settle"/>; read it at the end of a test after the code under test disposed what it owns.</summary>
    public static long SettledCount()
    {
        Settle();
        return torch.Tensor.TotalCount;
    }
}
