using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TorchSharp;
using UNet.Segmentation.Serialization;
using UNet.Segmentation.Tests.Peer;
using UNet.Segmentation.Tests.Shared;
using static TorchSharp.torch;

namespace UNet.Segmentation.Tests.Serialization;

public sealed partial class SafetensorsTests
{
    [Fact]
    public void PythonWrittenFile_LoadsInCSharp_WithPythonsValues()
    {
        PythonPeer.Require();
        using var dir = new TempDir();
        string path = dir.PathOf("python.safetensors");
        using var summary = JsonDocument.Parse(PythonPeer.Run(Cli, "write-sample", path));

        using var file = Safetensors.Load(path);
        AssertMatchesSummary(summary.RootElement, file.Tensors, file.Metadata);
        Assert.Equal(SupportedDtypes.Order(), file.Tensors.Values.Select(t => t.dtype).Distinct().Order());
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal("ünï \"quoted\" \\ back\nslash", file.Metadata["note"]);
    }

    [Fact]
    public void CSharpWrittenFile_LoadsInPython_WithTheSameValues()
    {
        PythonPeer.Require();
        using var dir = new TempDir();
        string path = dir.PathOf("csharp.safetensors");
        var metadata = new Dictionary<string, string> { ["source"] = "csharp", ["note"] = "ünï \"q\" \\\n\t€😀" };
        using var scope = NewDisposeScope();
        var tensors = SampleTensors();
        Safetensors.Save(path, tensors, metadata);

        using var summary = JsonDocument.Parse(PythonPeer.Run(Cli, "dump", path));
        var expected = new Dictionary<string, Tensor>(tensors);
        var ordered = CodePointOrder(expected.Keys).ToDictionary(k => k, k => expected[k]);
        AssertMatchesSummary(summary.RootElement, ordered, new Dictionary<string, string>(metadata) { ["format"] = "pt" });
    }

    [Fact]
    public void TheTwoWriters_ProduceIdenticalBytes_ForTheSameTensors()
    {
        PythonPeer.Require();
        using var dir = new TempDir();

        // Python writes, C# rewrites what it read.
        string python = dir.PathOf("python.safetensors"), csharpCopy = dir.PathOf("csharp-copy.safetensors");
        PythonPeer.Run(Cli, "write-sample", python);
        using (var file = Safetensors.Load(python))
            Safetensors.Save(csharpCopy, file.Tensors, file.Metadata);
        Assert.Equal(File.ReadAllBytes(python), File.ReadAllBytes(csharpCopy));

        // C# writes, Python rewrites what it read.
        string csharp = dir.PathOf("csharp.safetensors"), pythonCopy = dir.PathOf("python-copy.safetensors");
        using (var scope = NewDisposeScope())
            Safetensors.Save(csharp, SampleTensors(), new Dictionary<string, string> { ["k"] = "v\u0007" });
        PythonPeer.Run(Cli, "resave", csharp, pythonCopy);
        Assert.Equal(File.ReadAllBytes(csharp), File.ReadAllBytes(pythonCopy));
    }

    [Fact]
    public void MalformedFiles_AreRejectedByThePythonPeerToo()
    {
        PythonPeer.Require();
        using var dir = new TempDir();
        var paths = new List<string>();
        string valid = dir.PathOf("valid.safetensors");
        File.WriteAllBytes(valid, Build(ValidHeader, ValidData));
        foreach (var (name, c) in MalformedCases)
        {
            paths.Add(dir.PathOf(name + ".safetensors"));
            File.WriteAllBytes(paths[^1], c.Bytes);
        }
        using var verdicts = JsonDocument.Parse(PythonPeer.Run(Cli, ["validate", valid, .. paths]));
        Assert.Equal(JsonValueKind.Null, verdicts.RootElement.GetProperty(valid).ValueKind);
        foreach (var path in paths)
        {
            var verdict = verdicts.RootElement.GetProperty(path);
            Assert.True(verdict.ValueKind == JsonValueKind.String, $"the Python peer accepted {Path.GetFileName(path)}");
            output.WriteLine(verdict.GetString()!);
        }
    }

    // ---- helpers -----------------------------------------------------------------------------
}
