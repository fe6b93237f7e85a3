using System.Text.RegularExpressions;
using NUnit.Framework;

namespace Equinox.Tests;

/// <summary>
/// Comments and docs point readers at files (<c>see Transforms/Donation.cs</c>, <c>docs/trees.md</c>); a file that
/// was renamed, generated instead, or lives outside the repository leaves the pointer dangling. Every <c>.cs</c> or
/// <c>.md</c> name cited in a C# comment or a Markdown page must be a file of the repository.
/// </summary>
public partial class CitationTests
{
    // Names used as examples of a user's file, not citations of one.
    private static readonly HashSet<string> Illustrations = new(StringComparer.Ordinal) { "Model.cs" };

    [GeneratedRegex(@"(?<![A-Za-z0-9_./<>*-])[A-Za-z0-9_][A-Za-z0-9_./-]*\.(?:cs|md)\b")]
    private static partial Regex Citation();

    [Test]
    public void EveryFileCitedInACommentOrDocExists()
    {
        var root = RepositoryRoot();
        var files = SourceFiles(root).Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')).ToList();
        Assert.That(files, Does.Contain("ARCHITECTURE.md").And.Contain("Equinox.Core/Torch/Tensor.cs"), "the scan sees the repository");

        var dangling = new SortedSet<string>(StringComparer.Ordinal);
        int cited = 0;
        foreach (var file in files.Where(f => f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".md", StringComparison.Ordinal)))
        {
            var lines = File.ReadAllLines(Path.Combine(root, file));
            for (int i = 0; i < lines.Length; i++)
            {
                if (lines[i].Contains("://", StringComparison.Ordinal)) continue; // a web address, not a file here
                var text = CitingText(file, lines[i]);
                if (text is null) continue;
                foreach (Match m in Citation().Matches(text))
                {
                    var name = m.Value.TrimStart('.', '/');
                    if (name.EndsWith(".g.cs", StringComparison.Ordinal) || Illustrations.Contains(name)) continue;
                    cited++;
                    if (!files.Any(f => f == name || f.EndsWith("/" + name, StringComparison.Ordinal)))
                        dangling.Add($"{file}:{i + 1} cites {name}");
                }
            }
        }
        Assert.That(cited, Is.GreaterThan(50), "citations are found");
        Assert.That(dangling, Is.Empty, "cited files that are not in the repository:\n" + string.Join("\n", dangling));
    }

    // The part of a line that can cite a file: a Markdown line whole, a C# line's comment (after `//`).
    private static string? CitingText(string file, string line)
    {
        if (file.EndsWith(".md", StringComparison.Ordinal)) return line;
        int comment = line.IndexOf("//", StringComparison.Ordinal);
        return comment < 0 ? null : line[(comment + 2)..];
    }

    private static IEnumerable<string> SourceFiles(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(root, f).Split('/', '\\').Any(part => part is "bin" or "obj" or ".git" or "build"));

    // The folder holding Equinox.sln, found by walking up from the test assembly.
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Equinox.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"No folder above {AppContext.BaseDirectory} contains Equinox.sln.");
    }
}
