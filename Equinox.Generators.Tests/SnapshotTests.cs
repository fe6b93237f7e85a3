using System.Runtime.CompilerServices;
using System.Text;

namespace Equinox.Generators.Tests;

/// <summary>
/// The generated code of representative modules, compared with expected files in Snapshots/. To rewrite the expected
/// files on purpose after changing the emitter, run the tests with EQX_UPDATE_SNAPSHOTS=1 and review the diff.
/// </summary>
public class SnapshotTests
{
    public static IEnumerable<string> Cases() =>
        Directory.GetFiles(SnapshotDirectory(), "*.input.cs.txt").Select(path => Path.GetFileName(path)[..^".input.cs.txt".Length]).Order();

    private static string SnapshotDirectory([CallerFilePath] string here = "") => Path.Combine(Path.GetDirectoryName(here)!, "Snapshots");

    [TestCaseSource(nameof(Cases))]
    public void GeneratedCodeMatchesTheExpectedFile(string name)
    {
        var input = File.ReadAllText(Path.Combine(SnapshotDirectory(), name + ".input.cs.txt"));
        var (result, output) = Harness.Generate(Harness.Compile(input));

        var text = new StringBuilder();
        foreach (var file in result.GeneratedTrees.OrderBy(t => t.FilePath, StringComparer.Ordinal))
        {
            text.Append("// ==== ").Append(Path.GetFileName(file.FilePath)).Append(" ====\n");
            text.Append(file.GetText().ToString().Replace("\r\n", "\n"));
        }
        var actual = text.ToString();
        var expectedPath = Path.Combine(SnapshotDirectory(), name + ".expected.txt");
        if (Environment.GetEnvironmentVariable("EQX_UPDATE_SNAPSHOTS") == "1" || !File.Exists(expectedPath))
        {
            File.WriteAllText(expectedPath, actual);
            if (Environment.GetEnvironmentVariable("EQX_UPDATE_SNAPSHOTS") != "1")
                Assert.Fail($"{expectedPath} did not exist and has been written; review it and run again.");
        }
        Assert.That(actual, Is.EqualTo(File.ReadAllText(expectedPath).Replace("\r\n", "\n")),
            "generated code changed; if on purpose, rerun with EQX_UPDATE_SNAPSHOTS=1 and review the diff");

        Assert.That(Harness.Problems(output), Is.Empty,
            "the input and generated code compile without warnings under TreatWarningsAsErrors:\n" + Harness.Describe(Harness.Problems(output)));
    }
}
