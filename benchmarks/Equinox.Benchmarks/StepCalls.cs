using Equinox.Tensors;
using System.Globalization;

namespace Equinox.Benchmarks;

/// <summary>
/// Counts the shim's native calls per C# training step without touching the library: benchmarks/count-step-calls.sh
/// puts a uprobe on every exported <c>eqx_*</c> function of libequinox_native.so and counts them with <c>perf stat</c>
/// around a child process running the step (<see cref="RunChild"/>), with few steps and with more, so that setup, the
/// first compile and exit cancel out. (ltrace, the obvious tool, aborts on a .NET process.)
/// </summary>
internal static class StepCalls
{
    /// <summary>Native calls per step by (implementation, model); empty, with the reason on stderr, when they cannot be counted.</summary>
    public static Dictionary<(string Impl, string Model), double> Count(string root, IEnumerable<string> impls, IEnumerable<StepModel> models, string optimizer)
    {
        var counts = new Dictionary<(string Impl, string Model), double>();
        var script = Path.Combine(root, "benchmarks", "count-step-calls.sh");
        Console.Error.WriteLine("counting native calls per C# step (uprobes + perf stat)");
        var (exit, output) = OpsBenchmark.Execute(script, [string.Join(",", impls), string.Join(",", models.Select(m => m.Name)), optimizer]);
        foreach (var line in output.Split('\n'))
        {
            // EQX_CALLS <impl> <model> <calls per step>
            var parts = line.Trim().Split(' ');
            if (parts.Length == 4 && parts[0] == "EQX_CALLS") counts[(parts[1], parts[2])] = double.Parse(parts[3], CultureInfo.InvariantCulture);
            // EQX_CALLS_BY <impl> <model> <function>=<calls per step> ...: shown as it is, for whoever wants to cut calls
            if (parts.Length > 3 && parts[0] == "EQX_CALLS_BY") Console.WriteLine($"native calls per step, {parts[1]} {parts[2]}: {string.Join(' ', parts[3..])}");
        }
        if (exit != 0 || counts.Count == 0) Console.Error.WriteLine($"{script} exited with {exit}; native calls not counted:\n{output}");
        return counts;
    }

    /// <summary>The child: <c>step-calls &lt;impl&gt; &lt;model&gt; &lt;steps&gt; [optimizer]</c> runs that many steps and exits.</summary>
    public static int RunChild(string[] args)
    {
        Torch.NumThreads = 1;
        var data = StepData.Create(StepModel.All.Single(m => m.Name == args[1]));
        StepLoop.RunSteps(args[0], data, args.Length > 3 ? args[3] : "sgd", int.Parse(args[2], CultureInfo.InvariantCulture));
        return 0;
    }
}
