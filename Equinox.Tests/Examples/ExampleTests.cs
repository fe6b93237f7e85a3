using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;
using NUnit.Framework;

namespace Equinox.Tests.Examples;

// Every example under examples/ runs as a real process (`dotnet <built dll>`, with standard output redirected, so the
// examples print plain lines) with a short run, and the facts it prints are checked. The examples are built with the
// tests: Equinox.Tests references each project without referencing its assembly.
[NonParallelizable]
public partial class ExampleTests
{
    private sealed record Run(int ExitCode, string Output, string Error, string OutputDirectory);

    private readonly List<string> outputDirectories = [];

    [TearDown]
    public void DeleteOutputs()
    {
        foreach (var directory in outputDirectories) Directory.Delete(directory, recursive: true);
        outputDirectories.Clear();
    }

    // A training example: a short run with --steps, writing its loss curve into a fresh folder with --out.
    private Run Train(string name, int steps)
    {
        var output = Directory.CreateTempSubdirectory($"eqx-{name}-").FullName;
        outputDirectories.Add(output);
        return RunExample(name, "--steps", steps.ToString(CultureInfo.InvariantCulture), "--out", output) with { OutputDirectory = output };
    }

    private static Run RunExample(string name, params string[] arguments) => RunExample(name, null, arguments);

    private static Run RunExample(string name, (string Name, string Value)? environment, params string[] arguments)
    {
        var root = RepositoryRoot();
        var dll = Path.Combine(root, "examples", name, "bin", "Debug", "net10.0", name + ".dll");
        Assert.That(File.Exists(dll), Is.True, $"{dll} is built with the tests (Equinox.Tests references the example)");
        var info = new ProcessStartInfo("dotnet", [dll, .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = root,
        };
        if (environment is var (variable, value)) info.Environment[variable] = value;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{name} did not finish: {stdout.Result}{stderr.Result}");
        }
        process.WaitForExit();
        return new Run(process.ExitCode, stdout.Result, stderr.Result, "");
    }

    private static void AssertSucceeded(Run run)
    {
        Assert.That(run.ExitCode, Is.Zero, run.Output + run.Error);
        Assert.That(run.Output.Contains('\u001b', StringComparison.Ordinal), Is.False, "redirected output is plain text, without terminal escapes");
    }

    private static double Percent(Run run, string label)
    {
        var match = Regex.Match(run.Output, Regex.Escape(label) + @": (?<value>[0-9.]+) ?%");
        Assert.That(match.Success, Is.True, $"a '{label}: N %' line in:\n{run.Output}");
        return double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
    }

    // The training examples print progress lines, a summary table, and the path of the loss curve they wrote.
    private static void AssertTrainingOutput(Run run, string name, int steps)
    {
        Assert.That(run.Output, Does.Contain($"step {steps}/{steps}  loss "), "the last plain progress line");
        Assert.That(run.Output, Does.Match(@"steps/s +│ +[0-9.]+ │"), "the summary table's steps/s row");
        var path = Path.Combine(run.OutputDirectory, $"{name}-loss.png");
        Assert.That(run.Output, Does.Contain($"loss curve: {path}"));
        PngAssert.IsAPicture(path);
    }

    [Test]
    public void QuickStartTrainsWithAdamAndPrintsItsFinalLoss()
    {
        var run = Train("QuickStart", 150);
        AssertSucceeded(run);
        var losses = Regex.Match(run.Output, @"initial loss (?<initial>[0-9.]+) → final loss (?<final>[0-9.]+)");
        Assert.That(losses.Success, Is.True, run.Output);
        double initial = double.Parse(losses.Groups["initial"].Value, CultureInfo.InvariantCulture);
        double final = double.Parse(losses.Groups["final"].Value, CultureInfo.InvariantCulture);
        Assert.That(final, Is.LessThan(initial / 4));
        Assert.That(run.Output, Does.Contain("150 steps of full-batch Adam"));
        Assert.That(run.Output, Does.Contain("Adam, cosine decay from 0.01"));
        AssertTrainingOutput(run, "QuickStart", 150);
    }

    [Test]
    public void TrainRnnLearnsTheSpiralsDirectionWithOneCompile()
    {
        var run = Train("TrainRnn", 300);
        AssertSucceeded(run);
        Assert.That(Percent(run, "final accuracy"), Is.GreaterThanOrEqualTo(95));
        Assert.That(run.Output, Does.Contain("compiled the step: first call"));
        Assert.That(run.Output, Does.Contain("compiles: 1\n"), "fresh batches of one shape never recompile the step");
        AssertTrainingOutput(run, "TrainRnn", 300);
    }

    [Test]
    public void CnnDigitsReachesItsHeldOutAccuracy()
    {
        var run = Train("CnnDigits", 250);
        AssertSucceeded(run);
        Assert.That(Percent(run, "held-out accuracy"), Is.GreaterThanOrEqualTo(90));
        AssertTrainingOutput(run, "CnnDigits", 250);
    }

    [Test]
    public void TiedEmbeddingsKeepsTheTieThroughTrainingAndTreeCheckNamesTheAccidentalDuplicate()
    {
        var run = Train("TiedEmbeddings", 150);
        AssertSucceeded(run);
        Assert.That(run.Output, Does.Match(@"TreeCheck: .*Embedding\.Weight.*Head\.Weight"), "TreeCheck names both paths of the duplicate");
        Assert.That(run.Output, Does.Contain("TreeCheck(tied) passes"));
        Assert.That(run.Output, Does.Contain("tied gradient = embedding's + head's gradient: True"));
        Assert.That(run.Output, Does.Contain("still tied after training: True"));
        Assert.That(Percent(run, "final accuracy"), Is.EqualTo(100));
        AssertTrainingOutput(run, "TiedEmbeddings", 150);
    }

    [Test]
    public void BuffersGetAZeroGradientAndKeepTheirValue()
    {
        var run = RunExample("Buffers", "--steps", "20");
        AssertSucceeded(run);
        Assert.That(run.Output, Does.Contain("buffer gradient: zero (FilterGrad gives the buffer no gradient: its slot is null)"));
        Assert.That(run.Output, Does.Match(@"without StopGradient the buffer's gradient would be: \[-?[0-9]"));
        Assert.That(run.Output, Does.Contain("buffer [1.0000, 2.0000, 3.0000]"));
        Assert.That(run.Output, Does.Contain("buffer unchanged by training: True"));
    }

    [Test]
    public void RecompilesNamesTheArgumentThatTriggersEachCompile()
    {
        var run = RunExample("Recompiles", ("EQUINOX_LOG_COMPILES", "1"));
        AssertSucceeded(run);
        Assert.That(run.Output, Does.Contain("step 0\n  compile #1: first call\n"));
        Assert.That(run.Output, Does.Contain("step 1\n  compile #2: learningRate (double): 0.1 -> 0.05\n"));
        Assert.That(run.Output, Does.Contain("step 2\n  compile #3: x: f32[32,2] -> f32[17,2] (also y: f32[32,1] -> f32[17,1]; learningRate (double)"));
        Assert.That(run.Output, Does.Contain("RecompilationWarning: the argument that changed most is 'learningRate'"));
        Assert.That(run.Output, Does.Contain("8 compiles in 8 calls"));
        Assert.That(run.Output, Does.Contain("1 compile in 8 calls"));
        Assert.That(run.Error, Does.Contain("FilterJit step compiled on 8 of its last 8 calls"), "the churn warning goes to standard error");
        Assert.That(run.Error, Does.Contain("equinox: FilterJit step: compile #2: learningRate (double): 0.1 -> 0.05"), "EQUINOX_LOG_COMPILES=1 logs each compile");
        Assert.That(run.Error, Does.Not.Contain("FilterJit fixedStep: compile #2"), "the fixed loop compiles once");
    }

    [Test]
    public void VmapMapsAOneExampleModelAndGivesPerExampleGradients()
    {
        var run = RunExample("Vmap");
        AssertSucceeded(run);
        Assert.That(run.Output, Does.Contain("model.Forward(xs) without FilterVmap: TorchException: matmul(f32[3,4], f32[8,4]) failed"));
        Assert.That(run.Output, Does.Contain("FilterVmap(model.Forward)(xs): f32[8,3]; equals a loop over the examples: True"));
        Assert.That(run.Output, Does.Contain("same result: True"));
        Assert.That(run.Output, Does.Contain("per-example gradients: Weight f32[8,3,4], Bias f32[8,3]"));
        Assert.That(run.Output, Does.Contain("per-example gradients equal FilterGrad example by example: True"));
        Assert.That(run.Output, Does.Contain("mean of per-example gradients equals the batch gradient: True"));
    }

    [Test]
    public void AnUnknownArgumentFailsWithTheUsage()
    {
        var run = RunExample("QuickStart", "--stpes", "3");
        Assert.That(run.ExitCode, Is.Not.Zero);
        Assert.That(run.Error, Does.Contain("Unknown argument '--stpes'. Usage: [--steps N (default 600)] [--out DIR (default artifacts/examples)]"));
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Equinox.sln"))) directory = directory.Parent;
        Assert.That(directory, Is.Not.Null, "the repository root (Equinox.sln) above the test binaries");
        return directory!.FullName;
    }
}
