using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Equinox.Distributed;

/// <summary>
/// Starts worker processes of the current program on this machine, as torchrun does: each gets
/// <c>MASTER_ADDR</c>, <c>MASTER_PORT</c>, <c>RANK</c>, <c>WORLD_SIZE</c>, <c>LOCAL_RANK</c> and
/// <c>LOCAL_WORLD_SIZE</c> (and <c>OMP_NUM_THREADS=1</c> unless set), so <see cref="ProcessGroup.InitFromEnvironment"/>
/// joins them into one group. Their output is forwarded line by line with a <c>[rank N]</c> prefix; when one fails
/// the others are killed.
/// </summary>
public static class DistributedLauncher
{
    /// <summary>
    /// Runs <paramref name="processes"/> workers of this program with <paramref name="arguments"/> and waits for them.
    /// Returns 0 when all succeed, else the exit code of the first that failed (never 0).
    /// </summary>
    /// <param name="processes">The number of workers.</param>
    /// <param name="arguments">The workers' command-line arguments (leave out the launcher's own, such as --nproc).</param>
    /// <param name="address">The store's address; 127.0.0.1 keeps everything on this machine.</param>
    /// <param name="port">The store's port; 0 picks a free one.</param>
    /// <param name="output">Where the prefixed lines go; the console by default.</param>
    public static int Run(int processes, IReadOnlyList<string> arguments, string address = "127.0.0.1", int port = 0,
        TextWriter? output = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(processes, 1);
        ArgumentNullException.ThrowIfNull(arguments);
        output ??= Console.Out;
        if (port == 0) port = FreePort(address);
        var (fileName, prefix) = CurrentProgram();
        var workers = new Process[processes];
        var sink = new object();
        try
        {
            for (int rank = 0; rank < processes; rank++)
            {
                var start = new ProcessStartInfo(fileName)
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    UseShellExecute = false,
                };
                foreach (var a in prefix) start.ArgumentList.Add(a);
                foreach (var a in arguments) start.ArgumentList.Add(a);
                var env = start.Environment;
                env["MASTER_ADDR"] = address;
                env["MASTER_PORT"] = port.ToString(CultureInfo.InvariantCulture);
                env["RANK"] = rank.ToString(CultureInfo.InvariantCulture);
                env["WORLD_SIZE"] = processes.ToString(CultureInfo.InvariantCulture);
                env["LOCAL_RANK"] = rank.ToString(CultureInfo.InvariantCulture);
                env["LOCAL_WORLD_SIZE"] = processes.ToString(CultureInfo.InvariantCulture);
                if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_NUM_THREADS"))) env["OMP_NUM_THREADS"] = "1";
                var worker = new Process { StartInfo = start };
                string tag = $"[rank {rank}] ";
                worker.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (sink) output.WriteLine(tag + e.Data); };
                worker.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (sink) output.WriteLine(tag + e.Data); };
                worker.Start();
                worker.BeginOutputReadLine();
                worker.BeginErrorReadLine();
                workers[rank] = worker;
            }
            return Wait(workers, output, sink);
        }
        finally
        {
            foreach (var w in workers)
            {
                if (w is null) continue;
                try
                {
                    if (!w.HasExited) w.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                }
                w.Dispose();
            }
        }
    }

    // The first worker to fail takes the others down with it, as torchrun does: a group missing a rank can only hang
    // until its timeout.
    private static int Wait(Process[] workers, TextWriter output, object sink)
    {
        var exits = workers.Select(w => w.WaitForExitAsync()).ToList();
        var pending = Enumerable.Range(0, workers.Length).ToList();
        while (pending.Count > 0)
        {
            int done = Task.WaitAny(pending.Select(i => exits[i]).ToArray());
            int rank = pending[done];
            pending.RemoveAt(done);
            workers[rank].WaitForExit(); // drains the redirected output
            int code = workers[rank].ExitCode;
            if (code == 0) continue;
            lock (sink) output.WriteLine($"[launcher] rank {rank} exited with code {code}; stopping the other workers.");
            foreach (int other in pending)
            {
                try
                {
                    workers[other].Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                }
            }
            return code;
        }
        return 0;
    }

    // The command that started this process: the app host itself, or `dotnet app.dll`.
    private static (string FileName, string[] Prefix) CurrentProgram()
    {
        var path = Environment.ProcessPath ?? throw new InvalidOperationException("The current program's path is unknown; cannot start workers of it.");
        var name = Path.GetFileNameWithoutExtension(path);
        if (name == "dotnet")
        {
            var entry = Environment.GetCommandLineArgs()[0]; // the app's .dll under `dotnet app.dll`
            if (string.IsNullOrEmpty(entry))
                throw new InvalidOperationException("Running under `dotnet` with no entry assembly path; cannot start workers of this program.");
            return (path, [entry]);
        }
        return (path, []);
    }

    /// <summary>A port on <paramref name="address"/> that was free a moment ago (the OS's choice).</summary>
    public static int FreePort(string address = "127.0.0.1")
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Parse(address), 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
