namespace UNet.Segmentation.Torch.Tests;

/// <summary>Helpers for tests that compare the native live-tensor count with a baseline (shared by every test project).</summary>
public static class LiveTensors
{
    /// <summary>Finalizes garbage left by earlier tests and frees its handles, so a baseline taken now stays put.</summary>
    public static void Settle()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        LibTorch.FreeDeferred();
    }

    /// <summary>The live count after <see cref="Settle"/>; read the count at the end of a test without settling, so a finalizer cannot hide a leak.</summary>
    public static long SettledCount()
    {
        Settle();
        return LibTorch.LiveTensorCount;
    }
}
