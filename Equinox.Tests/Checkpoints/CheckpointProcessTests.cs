using System.Diagnostics;
using Equinox.Nn;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Checkpoints;

// Checkpoints across processes, with examples/Checkpoints as the child: a resumed run equals an uninterrupted one, and
// a write killed half-way leaves the previous checkpoint whole.
[NonParallelizable]
public class CheckpointProcessTests
{
    private static string Example()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Equinox.sln"))) directory = directory.Parent;
        Assert.That(directory, Is.Not.Null, "the repository root (Equinox.sln) above the test binaries");
        var dll = Path.Combine(directory!.FullName, "examples", "Checkpoints", "bin", "Debug", "net10.0", "Checkpoints.dll");
        Assert.That(File.Exists(dll), Is.True, $"{dll} is built with the tests (Equinox.Tests references the example)");
        return dll;
    }

    private static Process Start(params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet", [Example(), .. arguments]) { RedirectStandardOutput = true, RedirectStandardError = true };
        return Process.Start(info)!;
    }

    [Test]
    public void TheExampleResumesInAFreshProcessWithTheUninterruptedRunsLosses()
    {
        using var child = Start();
        var output = child.StandardOutput.ReadToEndAsync();
        Assert.That(child.WaitForExit(TimeSpan.FromMinutes(2)), Is.True, "the example finishes");
        Assert.That(output.Result, Does.Contain("resumed losses equal the uninterrupted run's: True"), output.Result + child.StandardError.ReadToEnd());
        Assert.That(child.ExitCode, Is.Zero);
    }

    [Test]
    public void AWriteKilledHalfWayLeavesThePreviousCheckpointWholeAndLoadable()
    {
        var directory = Directory.CreateTempSubdirectory("eqx-kill-").FullName;
        try
        {
            var target = Path.Combine(directory, "big.safetensors");
            using var child = Start("--write-large", target, "64");
            bool killedMidWrite = false;
            // Wait for one complete write, then kill the child while a later one is under way (its temporary file
            // exists). Bounded by a number of polls (each waits up to 1 ms for the child), not by a clock.
            for (int poll = 0; poll < 120_000 && !child.WaitForExit(1); poll++)
            {
                if (File.Exists(target) && Directory.GetFiles(directory, ".big.safetensors.*.tmp").Length > 0)
                {
                    child.Kill();   // SIGKILL: no finally block, no flush
                    killedMidWrite = true;
                    break;
                }
            }
            child.WaitForExit();
            Assert.That(killedMidWrite, Is.True, "the child was killed while writing: " + child.StandardError.ReadToEnd());

            using var scope = Torch.Scope();
            var expected = Tensor.Normal(Key.Create(2), [64 * 1024, 256]);
            var like = new Linear(Tensor.Zeros([64 * 1024, 256]), null);
            var loaded = Eqx.LoadLeaves(target, like);
            Assert.That((loaded.Weight - expected).Abs().Max().Item<float>(), Is.Zero, "the checkpoint under the target name is a whole, earlier write");
            Assert.That(Eqx.ReadCheckpointMetadata(target)["write"], Is.Not.Empty);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
