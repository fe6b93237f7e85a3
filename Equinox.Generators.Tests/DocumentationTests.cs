using System.Collections.Immutable;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Equinox.Generators.Tests;

/// <summary>
/// Every C# block of the README compiles against the library, with the generator and analyzer, so the README cannot
/// drift from the API. A block is a program of its own (top-level statements and types); what it needs from earlier
/// blocks comes from a <c>&lt;!-- prelude: ... --&gt;</c> comment just above it, compiled before it. A block that shows
/// a mistake says so with <c>&lt;!-- expect: EQX0008 CS0200 --&gt;</c>: it must fail with exactly those diagnostics.
/// </summary>
public partial class DocumentationTests
{
    // Warnings a documentation fragment may have: a variable shown but not used again, and missing XML docs.
    private static readonly string[] Allowed = ["CS0168", "CS0219", "CS8321", "CS1591", "CS0169", "CS0414"];

    private const string Usings =
        "global using System; global using System.Linq; global using System.Collections.Generic; " +
        "global using System.Collections.Immutable; global using Equinox; global using Equinox.Tensors; " +
        "global using Equinox.Nn; global using Equinox.Optim;\n";

    internal sealed record Block(string File, int Line, string Code, string Prelude, string[] Expected)
    {
        public override string ToString() => $"{File}:{Line}";
    }

    public static IEnumerable<TestCaseData> ReadmeBlocks() =>
        Blocks("README.md").Select(b => new TestCaseData(b).SetName($"README.md line {b.Line}"));

    [TestCaseSource(nameof(ReadmeBlocks))]
    public void ReadmeBlockCompiles(object block) => Check((Block)block);

    [Test]
    public void TheReadmeHasCSharpBlocks() => Assert.That(Blocks("README.md").Count(), Is.GreaterThan(3));

    private static void Check(Block block)
    {
        // Top-level statements live in one file, so the prelude goes before the block, which keeps its own line numbers.
        var sources = new List<string> { Usings, block.Prelude + $"\n#line 1 \"{block}\"\n" + block.Code };
        var trees = sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, Harness.ParseOptions, path: i == sources.Count - 1 ? block.ToString() : $"Prelude{i}.cs")).ToList();
        bool program = trees.Any(t => t.GetRoot().ChildNodes().OfType<GlobalStatementSyntax>().Any());
        var compilation = CSharpCompilation.Create(
            "ReadmeBlock", trees, References.Value,
            new CSharpCompilationOptions(
                program ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary,
                nullableContextOptions: NullableContextOptions.Enable,
                generalDiagnosticOption: ReportDiagnostic.Error,
                specificDiagnosticOptions: Allowed.Select(id => KeyValuePair.Create(id, ReportDiagnostic.Suppress))));
        var (_, output) = Harness.Generate(compilation);
        var analyzer = output.WithAnalyzers([new ModuleAnalyzer()]).GetAnalyzerDiagnosticsAsync().Result;
        var problems = Harness.Problems(output).Concat(analyzer).ToList();
        var found = problems.Select(d => d.Id).Distinct().OrderBy(id => id, StringComparer.Ordinal).ToArray();
        Assert.That(found, Is.EqualTo(block.Expected.OrderBy(id => id, StringComparer.Ordinal).ToArray()),
            $"{block}:\n{Harness.Describe(problems)}");
    }

    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
    {
        var trusted = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        return trusted
            .Where(path => Path.GetFileName(path) is var name && (name.StartsWith("System.") || name is "mscorlib.dll" or "netstandard.dll"))
            .Append(typeof(ITreeNode).Assembly.Location)
            .Append(typeof(Equinox.Nn.Linear).Assembly.Location)
            .Append(typeof(Equinox.Testing.TreeAssert).Assembly.Location)
            .Append(typeof(Assert).Assembly.Location)
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToImmutableArray();
    });

    [GeneratedRegex(@"(?:<!--\s*(?<kind>prelude|expect):(?<arg>.*?)-->\s*\n)?```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    internal static IEnumerable<Block> Blocks(string relativePath)
    {
        var path = Path.Combine(RepositoryRoot(), relativePath);
        var text = File.ReadAllText(path).Replace("\r\n", "\n");
        foreach (Match match in CSharpBlock().Matches(text))
        {
            int line = text.AsSpan(0, match.Groups["code"].Index).Count('\n');
            var kind = match.Groups["kind"].Value;
            var arg = match.Groups["arg"].Value.Trim();
            yield return new Block(relativePath, line, match.Groups["code"].Value,
                kind == "prelude" ? arg : "",
                kind == "expect" ? arg.Split(' ', StringSplitOptions.RemoveEmptyEntries) : []);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Equinox.sln"))) return dir.FullName;
        throw new InvalidOperationException("Equinox.sln not found above " + AppContext.BaseDirectory);
    }
}
