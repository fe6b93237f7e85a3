using System.Globalization;
using System.Reflection;
using Equinox.Torch;
using TorchSwitches = Equinox.Torch.Torch;

namespace Equinox.Benchmarks;

/// <summary>
/// Counts the shim's native calls per C# training step without touching the library: runs the step in a child process
/// under <c>ltrace -c</c> (every exported <c>eqx_*</c> function of libequinox_native.so traced), once with few steps and
/// once with more, and divides the difference in calls by the difference in steps, so that setup, the first compile
/// and the process's exit cancel out.
/// </summary>
internal static class StepCalls
{
    private const int FewSteps = 10, ManySteps = 40;

    /// <summary>The native calls per step of <paramref name="impl"/> on <paramref name="model"/>, or null (and why, on stderr).</summary>
    public static double? Count(string impl, StepModel model)
    {
        Console.Error.WriteLine($"counting native calls: {impl} {model.Name} under ltrace");
        var few = Calls(impl, model, FewSteps);
        var many = few is null ? null : Calls(impl, model, ManySteps);
        return few is { } a && many is { } b ? (double)(b - a) / (ManySteps - FewSteps) : null;
    }

    private static long? Calls(string impl, StepModel model, int steps)
    {
        var summary = Path.GetTempFileName();
        try
        {
            // Under `dotnet run` this process is the apphost; under `dotnet Equinox.Benchmarks.dll` it is dotnet.
            var self = Environment.ProcessPath!;
            string[] program = Path.GetFileNameWithoutExtension(self) == "dotnet" ? [self, Assembly.GetEntryAssembly()!.Location] : [self];
            string[] arguments = ["-f", "-c", "-o", summary, "-x", "eqx_*@libequinox_native.so", .. program,
                "step-calls", impl, model.Name, steps.ToString(CultureInfo.InvariantCulture)];
            var (exit, output) = OpsBenchmark.Execute("ltrace", arguments);
            if (exit != 0)
            {
                Console.Error.WriteLine($"ltrace {string.Join(' ', arguments)} exited with {exit}; native calls not counted.\n{output}");
                return null;
            }
            // The summary ends with "100.00    0.123456                  1234 total".
            var total = File.ReadLines(summary).Select(l => l.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .LastOrDefault(p => p.Length >= 3 && p[^1] == "total");
            return total is null ? null : long.Parse(total[^2], CultureInfo.InvariantCulture);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine("ltrace is not installed (apt-get install ltrace); native calls not counted.");
            return null;
        }
        finally
        {
            File.Delete(summary);
        }
    }

    /// <summary>The child: <c>step-calls &lt;impl&gt; &lt;model&gt; &lt;steps&gt;</c> runs that many steps and exits.</summary>
    public static int RunChild(string[] args)
    {
        TorchSwitches.NumThreads = 1;
        var data = StepData.Create(StepModel.All.Single(m => m.Name == args[1]));
        var step = StepLoop.MakeStep(args[0], data);
        var model = data.CopyOfInitial();
        for (int i = 0, n = int.Parse(args[2], CultureInfo.InvariantCulture); i < n; i++) model = step(model);
        foreach (var t in Eqx.Leaves(model)) t.Dispose();
        return 0;
    }
}
