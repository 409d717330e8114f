using System.Text.RegularExpressions;

namespace UNet.Segmentation.Docs.Tests;

/// <summary>One fenced C# block of a Markdown file.</summary>
/// <param name="File">The Markdown file's path as reported (relative to the repository root).</param>
/// <param name="FirstLine">1-based line number of the block's first code line.</param>
/// <param name="Lines">The code lines.</param>
/// <param name="Continued">True for <c>```csharp continued</c>: the block goes on from the previous C# block of the file.</param>
public sealed record CodeBlock(string File, int FirstLine, IReadOnlyList<string> Lines, bool Continued);

/// <summary>
/// A C# program made of one block and the <c>continued</c> blocks after it, compiled as one
/// program of top-level statements.
/// </summary>
/// <param name="Blocks">The blocks in order, the first not continued.</param>
public sealed record Snippet(IReadOnlyList<CodeBlock> Blocks)
{
    /// <summary>"docs/x.md:12": where the program starts.</summary>
    public string Name => $"{Blocks[0].File}:{Blocks[0].FirstLine}";

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>Finds the C# code blocks of Markdown text (fences of ``` or ~~~ whose info string starts with csharp, cs or c#).</summary>
public static partial class MarkdownSnippets
{
    private static readonly HashSet<string> CSharpNames = new(StringComparer.OrdinalIgnoreCase) { "csharp", "cs", "c#" };

    /// <summary>The C# programs of <paramref name="markdown"/>; a <c>continued</c> block with no C# block before it is a <see cref="FormatException"/>, as is an unclosed fence.</summary>
    public static IReadOnlyList<Snippet> Parse(string file, string markdown)
    {
        var blocks = Blocks(file, markdown);
        var snippets = new List<List<CodeBlock>>();
        foreach (var block in blocks)
        {
            if (block.Continued)
            {
                if (snippets.Count == 0)
                    throw new FormatException($"{file}:{block.FirstLine - 1}: a 'csharp continued' block needs a C# block before it in the same file");
                snippets[^1].Add(block);
            }
            else
            {
                snippets.Add([block]);
            }
        }
        return snippets.Select(s => new Snippet(s)).ToList();
    }

    private static List<CodeBlock> Blocks(string file, string markdown)
    {
        var lines = markdown.Replace("\r\n", "\n").Split('\n');
        var result = new List<CodeBlock>();
        for (int i = 0; i < lines.Length; i++)
        {
            var open = Fence().Match(lines[i]);
            if (!open.Success) continue;
            string fence = open.Groups["fence"].Value;
            string[] info = open.Groups["info"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int start = i + 1;
            int end = start;
            while (end < lines.Length && !IsClosing(lines[end], fence)) end++;
            if (end == lines.Length) throw new FormatException($"{file}:{i + 1}: the code fence {fence} is never closed");
            if (info.Length > 0 && CSharpNames.Contains(info[0]))
            {
                bool continued = info.Skip(1).Contains("continued", StringComparer.Ordinal);
                var unknown = info.Skip(1).Where(w => w != "continued").ToList();
                if (unknown.Count > 0)
                    throw new FormatException($"{file}:{i + 1}: unknown C# block attribute '{string.Join(' ', unknown)}' (only 'continued' is known)");
                result.Add(new CodeBlock(file, start + 1, lines[start..end], continued));
            }
            i = end;
        }
        return result;
    }

    private static bool IsClosing(string line, string fence)
    {
        string t = line.TrimStart(' ');
        if (line.Length - t.Length > 3) return false;
        t = t.TrimEnd();
        return t.Length >= fence.Length && t.All(c => c == fence[0]);
    }

    [GeneratedRegex(@"^ {0,3}(?<fence>`{3,}|~{3,})\s*(?<info>[^`]*?)\s*$")]
    private static partial Regex Fence();
}
