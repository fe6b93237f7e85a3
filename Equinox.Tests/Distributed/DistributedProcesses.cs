using System.Diagnostics;
using System.Text;
using NUnit.Framework;

namespace Equinox.Tests.Distributed;

/// <summary>Child processes for the distributed tests: the DataParallel example and Python peers, each bounded in time.</summary>
internal static class DistributedProcesses
{
    public static string Python => Environment.GetEnvironmentVariable("EQUINOX_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";

    public static string Script(string name) => Path.Combine(AppContext.BaseDirectory, "Python", name);

    public static string DataParallelDll()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Equinox.sln"))) directory = directory.Parent;
        Assert.That(directory, Is.Not.Null, "the repository root (Equinox.sln) above the test binaries");
        var dll = Path.Combine(directory!.FullName, "examples", "DataParallel", "bin", "Debug", "net10.0", "DataParallel.dll");
        Assert.That(File.Exists(dll), Is.True, $"{dll} is built with the tests (Equinox.Tests references the example)");
        return dll;
    }

    /// <summary>A started process whose output is collected as it arrives.</summary>
    public sealed class Child : IDisposable
    {
        private readonly StringBuilder output = new();

        public Child(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
        {
            var info = new ProcessStartInfo(fileName)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in arguments) info.ArgumentList.Add(a);
            info.Environment["OMP_NUM_THREADS"] = "1";
            if (environment is not null) foreach (var (k, v) in environment) info.Environment[k] = v;
            Process = new Process { StartInfo = info };
            Process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            Process.Start();
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
        }

        public Process Process { get; }

        /// <summary>Everything printed so far, stdout and stderr interleaved.</summary>
        public string Output
        {
            get { lock (output) return output.ToString(); }
        }

        /// <summary>Waits for the exit (killing the process past <paramref name="limit"/>) and returns the exit code.</summary>
        public int Finish(TimeSpan limit)
        {
            if (!Process.WaitForExit(limit))
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit();
                Assert.Fail($"{Process.StartInfo.FileName} did not finish within {limit.TotalSeconds} s; output:\n{Output}");
            }
            Process.WaitForExit(); // drains the output handlers
            return Process.ExitCode;
        }

        /// <summary>Polls (up to <paramref name="polls"/> waits of 10 ms) until the output contains <paramref name="text"/>.</summary>
        public bool WaitForOutput(string text, int polls = 3000)
        {
            for (int i = 0; i < polls; i++)
            {
                if (Output.Contains(text, StringComparison.Ordinal)) return true;
                if (Process.WaitForExit(10)) return Output.Contains(text, StringComparison.Ordinal);
            }
            return false;
        }

        public void Dispose()
        {
            try
            {
                if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }
            Process.Dispose();
        }
    }

    /// <summary>The environment torchrun gives one worker of a local group.</summary>
    public static Dictionary<string, string> WorkerEnvironment(int rank, int worldSize, int port) => new()
    {
        ["MASTER_ADDR"] = "127.0.0.1",
        ["MASTER_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["RANK"] = rank.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["WORLD_SIZE"] = worldSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["LOCAL_RANK"] = rank.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
