using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace UNet.Segmentation.Docs.Tests;

/// <summary>
/// Compiles a <see cref="Snippet"/> the way a newcomer's console app would build it: top-level
/// statements, the SDK's implicit usings for console apps, nullable on, the C# version of the
/// build, and references to .NET, UNet.Segmentation, TorchSharp (the engine the library is
/// written in, so samples can use its types) and Microsoft.Extensions.* only (never the test frameworks). Using directives anywhere in the
/// snippet (a continued block's own) are moved to the top; <c>#line</c> directives map every
/// diagnostic back to its Markdown file and line.
/// </summary>
public static partial class SnippetCompiler
{
    /// <summary>The implicit usings of a console app with ImplicitUsings enabled.</summary>
    public static readonly IReadOnlyList<string> ImplicitUsings =
        ["System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading", "System.Threading.Tasks"];

    private static readonly Lazy<IReadOnlyList<MetadataReference>> References = new(LoadReferences);

    /// <summary>The C# source the snippet compiles as (with #line directives).</summary>
    public static string Source(Snippet snippet)
    {
        var usings = new StringBuilder();
        var body = new StringBuilder();
        foreach (var block in snippet.Blocks)
        {
            string path = block.File.Replace('\\', '/');
            body.AppendLine($"#line {block.FirstLine} \"{path}\"");
            for (int i = 0; i < block.Lines.Count; i++)
            {
                string line = block.Lines[i];
                if (UsingDirective().IsMatch(line))
                {
                    usings.AppendLine($"#line {block.FirstLine + i} \"{path}\"").AppendLine(line);
                    body.AppendLine();
                }
                else
                {
                    body.AppendLine(line);
                }
            }
        }
        return usings.Append(body).ToString();
    }

    /// <summary>
    /// Errors and warnings of compiling <paramref name="snippet"/>, each as
    /// "docs/x.md(line,column): error CSnnnn: message"; empty when it compiles cleanly.
    /// </summary>
    public static IReadOnlyList<string> Diagnose(Snippet snippet)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest, kind: SourceCodeKind.Regular);
        var globals = CSharpSyntaxTree.ParseText(string.Concat(ImplicitUsings.Select(u => $"global using global::{u};\n")), parse, "ImplicitUsings.g.cs");
        var tree = CSharpSyntaxTree.ParseText(Source(snippet), parse, snippet.Blocks[0].File + ".cs", Encoding.UTF8);
        var compilation = CSharpCompilation.Create(
            "Snippet_" + Regex.Replace(snippet.Name, @"\W", "_"),
            [globals, tree],
            References.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable, warningLevel: 4));
        using var stream = new MemoryStream();
        var emitted = compilation.Emit(stream);
        return emitted.Diagnostics
            .Where(d => d.Severity is DiagnosticSeverity.Error or DiagnosticSeverity.Warning)
            .OrderBy(d => d.Location.GetMappedLineSpan().StartLinePosition.Line)
            .Select(Format)
            .ToList();
    }

    private static string Format(Diagnostic d)
    {
        var span = d.Location.GetMappedLineSpan();
        string where = span.IsValid ? $"{span.Path}({span.StartLinePosition.Line + 1},{span.StartLinePosition.Character + 1})" : "(no location)";
        return $"{where}: {d.Severity.ToString().ToLowerInvariant()} {d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
    }

    /// <summary>.NET's own assemblies, UNet.Segmentation (with .Core and .Onnx), TorchSharp, ONNX Runtime's managed API and Microsoft.Extensions.*, from the test's trusted platform assemblies.</summary>
    private static IReadOnlyList<MetadataReference> LoadReferences()
    {
        string runtime = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var chosen = paths.Where(p =>
        {
            string name = Path.GetFileName(p);
            return string.Equals(Path.GetDirectoryName(p), runtime, StringComparison.Ordinal)
                   || name is "UNet.Segmentation.dll" or "UNet.Segmentation.Core.dll" or "UNet.Segmentation.Onnx.dll" or "TorchSharp.dll" or "Microsoft.ML.OnnxRuntime.dll"
                   || name.StartsWith("Microsoft.Extensions.", StringComparison.Ordinal);
        }).ToList();
        foreach (string required in new[] { "UNet.Segmentation.dll", "UNet.Segmentation.Core.dll", "UNet.Segmentation.Onnx.dll", "TorchSharp.dll", "System.Runtime.dll" })
            if (!chosen.Any(p => Path.GetFileName(p) == required))
                throw new InvalidOperationException($"{required} is not among the test's assemblies ({Assembly.GetExecutingAssembly().Location})");
        return chosen.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();
    }

    // `using X.Y;`, `using static X.Y;`, `using A = X.Y;` — not `using var x = ...;` or `using (...)`.
    [GeneratedRegex(@"^\s*using\s+(static\s+)?[A-Za-z_][\w.]*(\s*=\s*[\w.<>, ]+)?\s*;\s*(//.*)?$")]
    private static partial Regex UsingDirective();
}
