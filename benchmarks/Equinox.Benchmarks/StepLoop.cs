using System.Diagnostics;
using Equinox.Nn;
using Equinox.Torch;
using TorchSwitches = Equinox.Torch.Torch;

namespace Equinox.Benchmarks;

/// <summary>What one implementation measured on one model: per repeat, µs per step and minor page faults per step.</summary>
internal sealed record StepTimings(double[] Wall, double[] Cpu, double[] Faults, double Loss100);

/// <summary>
/// The two C# training steps of the step benchmark, written as a user would write them: the FilterJit'd step that
/// donates its model, and the same step run directly inside a scope per step. Same models, data, step counts and
/// measurements as benchmarks/native/step_loop.cpp and benchmarks/python/step_loop.py.
/// </summary>
internal static class StepLoop
{
    /// <summary>The BLAS library this process mapped (read from /proc/self/maps after the first step).</summary>
    public static string? Blas { get; private set; }

    /// <summary>Builds the step of implementation <paramref name="impl"/> (<c>cs-jit</c> or <c>cs</c>) for one model.</summary>
    public static Func<Mlp, Mlp> MakeStep(string impl, StepData data)
    {
        var spec = data.Model;
        var (x, y) = (data.X, data.Y);
        var valueAndGrad = Eqx.FilterValueAndGrad((Mlp m, Tensor xs, Tensor ys) => spec.Loss(m, xs, ys));
        if (impl == "cs-jit")
        {
            var jitted = Eqx.FilterJit((Mlp m, Tensor xs, Tensor ys) =>
            {
                var (_, grads) = valueAndGrad(m, xs, ys);
                return Eqx.ApplyUpdates(m, Eqx.TreeMap(grads, g => g * -StepModel.LearningRate));
            }, donate: Donate.Arg1);
            return model => jitted.Invoke(model, x, y);
        }
        return model =>
        {
            Mlp next;
            using (var scope = TorchSwitches.Scope())
            {
                var (_, grads) = valueAndGrad(model, x, y);
                next = Eqx.ApplyUpdates(model, Eqx.TreeMap(grads, g => g * -StepModel.LearningRate));
                scope.MoveOut(Eqx.Leaves(next));
            }
            // The old model is done with; free it now rather than leave it to the GC (what donation does for cs-jit).
            foreach (var t in Eqx.Leaves(model)) t.Dispose();
            return next;
        };
    }

    /// <summary>
    /// 100 steps from the initial weights, the loss they leave, warm-up steps for at least
    /// <paramref name="warmupMilliseconds"/>, then <paramref name="repeats"/> timed blocks of <paramref name="steps"/>.
    /// </summary>
    public static StepTimings Run(string impl, StepData data, int steps, int repeats, int warmupMilliseconds)
    {
        var step = MakeStep(impl, data);
        var model = data.CopyOfInitial();
        model = step(model);
        Blas ??= MappedBlas();
        for (int i = 1; i < 100; i++) model = step(model);
        double loss100;
        using (TorchSwitches.NoGrad())
        using (var scope = TorchSwitches.Scope())
            loss100 = data.Model.Loss(model, data.X, data.Y).Item<float>();

        // Long enough for tiered compilation to finish optimising the step and the binding (it waits for 100 ms
        // without new methods, then compiles in the background).
        long warmStart = Stopwatch.GetTimestamp();
        do model = step(model);
        while (Stopwatch.GetElapsedTime(warmStart).TotalMilliseconds < warmupMilliseconds);

        var times = new StepTimings(new double[repeats], new double[repeats], new double[repeats], loss100);
        for (int r = 0; r < repeats; r++)
        {
            long faults = ThreadFaults.Minor;
            long cpu = ThreadClock.Nanoseconds;
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < steps; i++) model = step(model);
            times.Wall[r] = Stopwatch.GetElapsedTime(start).TotalMicroseconds / steps;
            times.Cpu[r] = (ThreadClock.Nanoseconds - cpu) / 1e3 / steps;
            times.Faults[r] = (double)(ThreadFaults.Minor - faults) / steps;
        }
        foreach (var t in Eqx.Leaves(model)) t.Dispose();
        return times;
    }

    /// <summary>The resolved path of the libblas (or libopenblas) file in /proc/self/maps, or "none".</summary>
    public static string MappedBlas()
    {
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            int slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0) continue;
            var path = line[slash..].Trim();
            if (!path.Contains("libblas.so", StringComparison.Ordinal) && !path.Contains("libopenblas", StringComparison.Ordinal)) continue;
            var target = new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true);
            return target?.FullName ?? path;
        }
        return "none";
    }
}
