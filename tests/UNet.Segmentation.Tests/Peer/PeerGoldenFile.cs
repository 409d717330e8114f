using UNet.Segmentation.Serialization;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Peer;

/// <summary>
/// Golden values computed by a peer script once per test class (an xunit class fixture): the
/// script writes a safetensors file into a temporary folder, which is loaded and then removed on
/// disposal. <see cref="File"/> is null when the peer is unavailable; tests call
/// <see cref="PythonPeer.Require"/> first.
/// </summary>
public abstract class PeerGoldenFile : IDisposable
{
    private readonly string _directory;

    protected PeerGoldenFile(string script)
    {
        _directory = Directory.CreateTempSubdirectory(Path.GetFileNameWithoutExtension(script) + "-").FullName;
        if (!PythonPeer.IsAvailable) return;
        string path = Path.Combine(_directory, "golden.safetensors");
        PythonPeer.Run(script, path);
        File = Safetensors.Load(path);
    }

    public SafetensorsFile? File { get; }

    public Tensor this[string key] => File!.Tensors.TryGetValue(key, out var t) ? t : throw new KeyNotFoundException($"the peer wrote no '{key}'");

    public void Dispose()
    {
        File?.Dispose();
        Directory.Delete(_directory, recursive: true);
        GC.SuppressFinalize(this);
    }
}
