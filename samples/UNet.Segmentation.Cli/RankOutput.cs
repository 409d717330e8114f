using System.Text;

namespace UNet.Segmentation.Cli;

/// <summary>
/// Prefixes every line a rank of a data-parallel job writes with "[rank k] ", so that the ranks'
/// interleaved output (mpirun forwards all of it) can be told apart. Installed on stdout and
/// stderr before anything is written, when the job has more than one rank.
/// </summary>
internal sealed class RankOutput(TextWriter inner, string prefix) : TextWriter
{
    private readonly Lock _gate = new();
    private readonly StringBuilder _line = new();

    public static void Install(int rank)
    {
        string prefix = $"[rank {rank}] ";
        Console.SetOut(new RankOutput(Console.Out, prefix));
        Console.SetError(new RankOutput(Console.Error, prefix));
    }

    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value)
    {
        lock (_gate) Append(value);
    }

    public override void Write(string? value)
    {
        if (value is null) return;
        lock (_gate)
        {
            foreach (char c in value) Append(c);
        }
    }

    public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

    /// <summary>Writes what is pending of the current line (prefixed), then flushes.</summary>
    public override void Flush()
    {
        lock (_gate)
        {
            if (_line.Length > 0) inner.Write(prefix + _line);
            _line.Clear();
            inner.Flush();
        }
    }

    /// <summary>
    /// Collects a line and hands it on whole, prefix included, in one write: the other ranks
    /// write to the same pipe, and a line written piecemeal can be cut by theirs.
    /// </summary>
    private void Append(char c)
    {
        if (c == '\r' && _line.Length == 0) { inner.Write(c); return; }
        _line.Append(c);
        if (c != '\n') return;
        inner.Write(prefix + _line);
        _line.Clear();
    }
}
