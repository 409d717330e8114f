using System.Text.Json;

namespace UNet.Segmentation.Training;

/// <summary>A JSON-lines file of training records (one object per line), flushed after each write so a plotting tool can follow it.</summary>
internal sealed class MetricsLog : IDisposable
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private readonly StreamWriter? _writer;

    public MetricsLog(string? path)
    {
        if (path is null) return;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _writer = new StreamWriter(path, append: true);
    }

    public void Write(string kind, object record)
    {
        if (_writer is null) return;
        var element = JsonSerializer.SerializeToElement(record, record.GetType(), Json);
        var line = new Dictionary<string, object?> { ["kind"] = kind, ["time"] = DateTimeOffset.UtcNow.ToString("O") };
        foreach (var p in element.EnumerateObject()) line[p.Name] = p.Value;
        _writer.WriteLine(JsonSerializer.Serialize(line, Json));
        _writer.Flush();
    }

    public void Dispose() => _writer?.Dispose();
}
