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
    private bool _atLineStart = true;

    public static void Install(int rank)
    {
        string prefix = $"[rank {rank}] ";
        Console.SetOut(new RankOutput(Console.Out, prefix));
        Console.SetError(new RankOutput(Console.Error, prefix));
    }

    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value)
    {
        lock (_gate)
        {
            if (_atLineStart && value != '\r') inner.Write(prefix);
            inner.Write(value);
            _atLineStart = value == '\n';
        }
    }

    public override void Write(string? value)
    {
        if (value is null) return;
        lock (_gate)
        {
            foreach (char c in value)
            {
                if (_atLineStart && c != '\r') inner.Write(prefix);
                inner.Write(c);
                _atLineStart = c == '\n';
            }
        }
    }

    public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

    public override void Flush() => inner.Flush();
}
