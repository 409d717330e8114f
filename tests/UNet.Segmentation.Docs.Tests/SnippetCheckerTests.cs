namespace UNet.Segmentation.Docs.Tests;

/// <summary>The checker itself: it finds blocks, reports broken ones with file and line, and follows the 'continued' convention.</summary>
public sealed class SnippetCheckerTests
{
    private static string Md(params string[] lines) => string.Join('\n', lines) + "\n";

    [Fact]
    public void ABrokenSnippet_IsReportedWithTheMarkdownFileLineAndCompilerError()
    {
        string markdown = Md(
            "# Broken",                                          // 1
            "",                                                  // 2
            "```csharp",                                         // 3
            "using UNet.Segmentation.Model;",                    // 4
            "using var model = new UNetModel(UNetOptions.Reference);", // 5
            "Console.WriteLine(model.ParameterCont);",           // 6: misspelt
            "```");
        var snippet = Assert.Single(MarkdownSnippets.Parse("docs/broken.md", markdown));
        var diagnostics = SnippetCompiler.Diagnose(snippet);
        var error = Assert.Single(diagnostics);
        Assert.StartsWith("docs/broken.md(6,", error);
        Assert.Contains("error CS1061", error);
        Assert.Contains("ParameterCont", error);
    }

    [Fact]
    public void ANullableWarning_FailsToo()
    {
        string markdown = Md("```csharp", "string? name = Environment.GetEnvironmentVariable(\"X\");", "Console.WriteLine(name.Length);", "```");
        var diagnostics = SnippetCompiler.Diagnose(Assert.Single(MarkdownSnippets.Parse("w.md", markdown)));
        Assert.Contains(diagnostics, d => d.StartsWith("w.md(3,", StringComparison.Ordinal) && d.Contains("warning CS8602", StringComparison.Ordinal));
    }

    [Fact]
    public void ACorrectSnippet_HasNoDiagnostics()
    {
        string markdown = Md("```csharp", "using UNet.Segmentation.Model;", "Console.WriteLine(UNetOptions.Reference.OutputSize(572));", "```");
        Assert.Empty(SnippetCompiler.Diagnose(Assert.Single(MarkdownSnippets.Parse("ok.md", markdown))));
    }

    [Fact]
    public void ContinuedBlocks_ShareTheProgram_AndTheirUsingsMoveToTheTop()
    {
        string markdown = Md(
            "```csharp",                                  // 1
            "int filters = 8;",                           // 2
            "```",                                        // 3
            "Some prose.",                                // 4
            "```csharp continued",                        // 5
            "using UNet.Segmentation.Model;",             // 6
            "var options = UNetOptions.Reference with { BaseFilters = filters };", // 7
            "Console.WriteLine(options.BaseFilters + undefinedName);",             // 8
            "```",
            "```csharp",                                  // 10: a new program: filters is unknown here
            "Console.WriteLine(filters);",                // 11
            "```");
        var snippets = MarkdownSnippets.Parse("c.md", markdown);
        Assert.Equal(2, snippets.Count);
        Assert.Equal(2, snippets[0].Blocks.Count);
        var first = SnippetCompiler.Diagnose(snippets[0]);
        Assert.Equal("c.md(8,", Assert.Single(first)[..7]);
        Assert.Contains("undefinedName", first[0]);
        var second = Assert.Single(SnippetCompiler.Diagnose(snippets[1]));
        Assert.StartsWith("c.md(11,", second);
        Assert.Contains("error CS0103", second);
    }

    [Fact]
    public void OtherLanguages_AreNotCompiled_AndTildeFencesAndCsAliasesAre()
    {
        string markdown = Md(
            "```bash", "dotnet build", "```",
            "````markdown", "```csharp", "not code: inside another fence", "```", "````",
            "~~~cs", "Console.WriteLine(1);", "~~~",
            "```C#", "Console.WriteLine(2);", "```");
        var snippets = MarkdownSnippets.Parse("l.md", markdown);
        Assert.Equal(["l.md:10", "l.md:13"], snippets.Select(s => s.Name));
        Assert.All(snippets, s => Assert.Empty(SnippetCompiler.Diagnose(s)));
    }

    [Fact]
    public void AContinuedBlockWithoutABlockBefore_AnUnknownAttributeAndAnUnclosedFence_AreErrors()
    {
        var a = Assert.Throws<FormatException>(() => MarkdownSnippets.Parse("a.md", Md("text", "```csharp continued", "int x = 1;", "```")));
        Assert.Contains("a.md:2", a.Message);
        var b = Assert.Throws<FormatException>(() => MarkdownSnippets.Parse("b.md", Md("```csharp ignore", "x", "```")));
        Assert.Contains("ignore", b.Message);
        var c = Assert.Throws<FormatException>(() => MarkdownSnippets.Parse("c.md", Md("```csharp", "int x = 1;")));
        Assert.Contains("c.md:1", c.Message);
    }

    [Fact]
    public void TestFrameworks_AreNotVisibleToSnippets()
    {
        var diagnostics = SnippetCompiler.Diagnose(Assert.Single(MarkdownSnippets.Parse("x.md", Md("```csharp", "Xunit.Assert.True(true);", "```"))));
        Assert.Contains(diagnostics, d => d.Contains("error CS0234", StringComparison.Ordinal) || d.Contains("error CS0103", StringComparison.Ordinal) || d.Contains("error CS0246", StringComparison.Ordinal));
    }
}
