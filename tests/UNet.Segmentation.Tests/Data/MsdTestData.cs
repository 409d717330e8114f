using UNet.Segmentation.Data.Msd;

namespace UNet.Segmentation.Tests.Data;

/// <summary>A temporary folder with a synthetic MSD task, deleted with the test class.</summary>
public sealed class MsdTempTask : IDisposable
{
    public MsdTempTask(SyntheticMsdOptions options)
    {
        Root = Directory.CreateTempSubdirectory("msd-").FullName;
        Folder = Path.Combine(Root, "Task01_Synthetic");
        Task = SyntheticMsd.Generate(Folder, options);
    }

    /// <summary>The temporary root (the task folder and anything a test adds beside it).</summary>
    public string Root { get; }

    /// <summary>The task folder.</summary>
    public string Folder { get; }

    /// <summary>The task as generated.</summary>
    public MsdTask Task { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}
