namespace UNet.Segmentation.Docs.Tests;

/// <summary>Every C# block in docs/*.md and README.md compiles (docs/README.md describes the convention).</summary>
public sealed class DocSamplesTests
{
    /// <summary>The repository root: the nearest folder above the test assembly holding UNet.Segmentation.sln.</summary>
    public static string RepoRoot { get; } = FindRoot();

    /// <summary>README.md and every docs/*.md, as paths relative to the root.</summary>
    public static IReadOnlyList<string> MarkdownFiles() =>
        new[] { "README.md" }.Concat(Directory.EnumerateFiles(Path.Combine(RepoRoot, "docs"), "*.md")
                .Select(f => Path.GetRelativePath(RepoRoot, f).Replace('\\', '/')).Order(StringComparer.Ordinal))
            .ToList();

    public static TheoryData<string> Snippets()
    {
        var data = new TheoryData<string>();
        foreach (var file in MarkdownFiles())
            foreach (var snippet in MarkdownSnippets.Parse(file, File.ReadAllText(Path.Combine(RepoRoot, file))))
                data.Add(snippet.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Snippets))]
    public void DocSnippet_Compiles(string name)
    {
        string file = name[..name.LastIndexOf(':')];
        var snippet = MarkdownSnippets.Parse(file, File.ReadAllText(Path.Combine(RepoRoot, file))).Single(s => s.Name == name);
        var diagnostics = SnippetCompiler.Diagnose(snippet);
        Assert.True(diagnostics.Count == 0, $"{name} does not compile:\n{string.Join('\n', diagnostics)}");
    }

    [Fact]
    public void TheDocsHaveTheSamplesThisTestIsFor()
    {
        // Guards against an extractor that silently finds nothing: these pages have C# samples.
        var counts = MarkdownFiles().ToDictionary(f => f, f => MarkdownSnippets.Parse(f, File.ReadAllText(Path.Combine(RepoRoot, f))).Count);
        foreach (var page in new[] { "README.md", "docs/getting-started.md", "docs/training.md", "docs/prediction.md", "docs/model.md" })
            Assert.True(counts.GetValueOrDefault(page) > 0, $"{page}: no C# block found (files: {string.Join(", ", counts.Select(kv => $"{kv.Key}={kv.Value}"))})");
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "UNet.Segmentation.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no UNet.Segmentation.sln above {AppContext.BaseDirectory}");
    }
}
