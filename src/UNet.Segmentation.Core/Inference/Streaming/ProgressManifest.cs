using System.Text;

namespace UNet.Segmentation.Inference.Streaming;

/// <summary>
/// The small text file beside a resumable output that says which prediction it belongs to and which
/// pages are complete: a header line, the prediction's signature, then one line per page written,
/// <c>page N HASH</c> (SHA-256 of the page's bytes), appended and flushed after the page's bytes.
/// A line cut short by a kill is ignored.
/// </summary>
internal sealed class ProgressManifest : IDisposable
{
    private const string Header = "unet-predict-progress 1";
    private readonly StreamWriter _writer;

    private ProgressManifest(StreamWriter writer) => _writer = writer;

    /// <summary>The signature and page hashes an existing manifest holds, or null when there is none.</summary>
    public static (string Signature, List<string> Hashes)? Read(string path)
    {
        if (!File.Exists(path)) return null;
        var lines = File.ReadAllLines(path, Encoding.UTF8);
        if (lines.Length < 2 || lines[0] != Header || !lines[1].StartsWith("signature ", StringComparison.Ordinal)) return null;
        var hashes = new List<string>();
        foreach (string line in lines.Skip(2))
        {
            var parts = line.Split(' ');
            if (parts.Length != 3 || parts[0] != "page" || parts[1] != hashes.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) || parts[2].Length != 64) break;
            hashes.Add(parts[2]);
        }
        return (lines[1]["signature ".Length..], hashes);
    }

    /// <summary>Writes a fresh manifest (atomically) with the first pages' hashes, and keeps it open for appending.</summary>
    public static ProgressManifest Create(string path, string signature, IReadOnlyList<string> hashes)
    {
        string temporary = path + ".tmp";
        using (var writer = new StreamWriter(temporary, false, new UTF8Encoding(false)))
        {
            writer.Write($"{Header}\nsignature {signature}\n");
            for (int i = 0; i < hashes.Count; i++) writer.Write($"page {i} {hashes[i]}\n");
        }
        File.Move(temporary, path, overwrite: true);
        return new ProgressManifest(new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false)));
    }

    /// <summary>Records page <paramref name="index"/> as complete.</summary>
    public void Add(int index, string hash)
    {
        _writer.Write($"page {index} {hash}\n");
        _writer.Flush();
    }

    public void Dispose() => _writer.Dispose();

    /// <summary>The signature as one line (line breaks replaced).</summary>
    public static string OneLine(string signature) => signature.Replace('\n', ' ').Replace('\r', ' ');
}
