using System.Diagnostics;
using System.Globalization;
using Equinox.Nn;
using Equinox.Tensors;

namespace Equinox.Benchmarks;

/// <summary>
/// Loading a large checkpoint: writes a <c>--mb</c>-megabyte safetensors file (one f32 Linear), then loads it in a
/// fresh child process (<c>checkpoint-load</c>) and reports the child's peak resident memory before and after the load
/// against the file's size, and the load's wall time. Each tensor is read (pread) straight into its LibTorch buffer,
/// so the peak should grow by the tensors alone.
/// </summary>
internal static class CheckpointBenchmark
{
    public static int Run(string[] args)
    {
        long megabytes = args.Length >= 2 && args[0] == "--mb" ? long.Parse(args[1], CultureInfo.InvariantCulture) : 1024;
        var path = Path.Combine(Path.GetTempPath(), $"equinox-bench-{Environment.ProcessId}.safetensors");
        try
        {
            var stopwatch = Stopwatch.StartNew();
            using (Torch.Scope())
                Eqx.SaveLeaves(path, new Linear(Tensor.Normal(Key.Create(1), [megabytes * 256, 1024]), null));
            long size = new FileInfo(path).Length;
            Console.WriteLine($"saved {size / 1048576.0:F1} MiB in {stopwatch.Elapsed.TotalSeconds:F2} s (written, fsynced, renamed)");
            var info = new ProcessStartInfo(Environment.ProcessPath!, [.. Self(), "checkpoint-load", path, megabytes.ToString(CultureInfo.InvariantCulture)])
            {
                RedirectStandardOutput = true,
            };
            using var child = Process.Start(info)!;
            var output = child.StandardOutput.ReadToEnd();
            child.WaitForExit();
            Console.Write(output);
            return child.ExitCode;
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string[] Self() =>
        Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? [Environment.GetCommandLineArgs()[0]] : [];

    /// <summary>The child: loads the checkpoint once and prints its peak resident memory around the load.</summary>
    public static int Load(string[] args)
    {
        var path = args[0];
        long megabytes = long.Parse(args[1], CultureInfo.InvariantCulture);
        using var scope = Torch.Scope();
        // `like` only gives names, shapes and dtypes: an expanded 1x1 tensor has the shape and holds 4 bytes.
        var like = new Linear(Tensor.Zeros([1, 1]).Expand(megabytes * 256, 1024), null);
        long before = PeakResidentKiB();
        long currentBefore = ResidentKiB();
        var stopwatch = Stopwatch.StartNew();
        var loaded = Eqx.LoadLeaves(path, like);
        double seconds = stopwatch.Elapsed.TotalSeconds;
        long after = PeakResidentKiB();
        long size = new FileInfo(path).Length;
        Console.WriteLine($"load: {seconds:F2} s; resident before {currentBefore / 1024.0:F0} MiB " +
                          $"peak before {before / 1024.0:F0} MiB, peak after {after / 1024.0:F0} MiB");
        Console.WriteLine($"peak growth during the load: {(after - Math.Max(before, currentBefore)) / 1024.0:F0} MiB for a {size / 1048576.0:F0} MiB file " +
                          $"({(after - Math.Max(before, currentBefore)) * 1024.0 / size:F2}x the file)");
        GC.KeepAlive(loaded);
        return 0;
    }

    private static long PeakResidentKiB() => Status("VmHWM:");
    private static long ResidentKiB() => Status("VmRSS:");

    private static long Status(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return 0;
    }
}
