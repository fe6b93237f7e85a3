using System.Globalization;
using System.Text.RegularExpressions;

namespace Equinox.Generators.Tests;

/// <summary>
/// examples/TiedEmbeddings quotes, in its header comment, the EQX0008 error that its untied model gets; the untied
/// class sits in the example under <c>#if EQX0008_DEMO</c>. This compiles that class with the generator and the
/// analyzer and checks the quoted text is exactly the compiler's, so the example cannot drift from the diagnostic.
/// </summary>
public partial class ExampleDiagnosticTests
{
    [Test]
    public void TheTiedEmbeddingsExampleQuotesTheExactEqx0008ErrorOfItsUntiedModel()
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot(), "examples", "TiedEmbeddings", "Program.cs")).Replace("\r\n", "\n");
        var untied = DemoBlock().Match(text);
        Assert.That(untied.Success, Is.True, "Program.cs has an #if EQX0008_DEMO ... #endif block");

        var diagnostics = Harness.Analyze("using Equinox;\nusing Equinox.Tensors;\n" + untied.Groups["code"].Value);
        Assert.That(diagnostics.Select(d => d.Id), Is.EqualTo(new[] { "EQX0008" }), Harness.Describe(diagnostics));

        // The header comment with its lines joined: the quote is wrapped over several comment lines.
        var header = string.Join(" ", text.Split('\n').TakeWhile(line => line.StartsWith("//", StringComparison.Ordinal))
            .Select(line => line.TrimStart('/').Trim()));
        var quoted = "error EQX0008: " + diagnostics[0].GetMessage(CultureInfo.InvariantCulture);
        Assert.That(header, Does.Contain(quoted));
    }

    [GeneratedRegex(@"#if EQX0008_DEMO\n(?<code>.*?)#endif", RegexOptions.Singleline)]
    private static partial Regex DemoBlock();

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Equinox.sln"))) return dir.FullName;
        throw new InvalidOperationException("Equinox.sln not found above " + AppContext.BaseDirectory);
    }
}
