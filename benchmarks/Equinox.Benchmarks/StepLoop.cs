using System.Diagnostics;
using Equinox.Nn;
using Equinox.Tensors;

namespace Equinox.Benchmarks;

/// <summary>What one implementation measured on one model: per repeat, µs per step and minor page faults per step.</summary>
internal sealed record StepTimings(double[] Wall, double[] Cpu, double[] Faults, double Loss100);

/// <summary>
/// Timestamps at the edges of a C# step's phases, summed over steps: <b>grad setup</b> (from the step body's start to
/// the loss function's: FilterValueAndGrad partitioning the model and marking its leaves as requiring grad),
/// <b>forward</b> (the loss function: the MLP and the loss), <b>backward</b> (from the loss to FilterValueAndGrad's
/// return: autograd and the gradient tree), <b>update</b> (<c>g * -lr</c> over the tree and ApplyUpdates) and
/// <b>bookkeeping</b> (the rest of the call: FilterJit's cache key, scope and donation, or the plain step's scope and
/// disposing the old model).
/// </summary>
internal sealed class PhaseClock
{
    public long BodyStart, ForwardStart, ForwardEnd, GradientEnd, UpdateEnd;
    private long _setup, _forward, _backward, _update, _bookkeeping;
    private int _steps;

    public void Record(long start, long end)
    {
        _setup += ForwardStart - BodyStart;
        _forward += ForwardEnd - ForwardStart;
        _backward += GradientEnd - ForwardEnd;
        _update += UpdateEnd - GradientEnd;
        _bookkeeping += BodyStart - start + (end - UpdateEnd);
        _steps++;
    }

    public void Reset() => (_setup, _forward, _backward, _update, _bookkeeping, _steps) = (0, 0, 0, 0, 0, 0);

    /// <summary>Mean µs per step of each phase, in order.</summary>
    public (string Phase, double Microseconds)[] Means =>
    [
        .. new[] { ("grad setup", _setup), ("forward", _forward), ("backward", _backward), ("update", _update), ("bookkeeping", _bookkeeping) }
            .Select(p => (p.Item1, p.Item2 * 1e6 / Stopwatch.Frequency / Math.Max(_steps, 1))),
    ];
}

/// <summary>
/// The two C# training steps of the step benchmark, written as a user would write them: the FilterJit'd step that
/// donates its model, and the same step run directly inside a scope per step. Same models, data, step counts and
/// measurements as benchmarks/native/step_loop.cpp and benchmarks/python/step_loop.py.
/// </summary>
internal static class StepLoop
{
    /// <summary>The BLAS library this process mapped (read from /proc/self/maps after the first step).</summary>
    public static string? Blas { get; private set; }

    /// <summary>
    /// Builds the step of implementation <paramref name="impl"/> (<c>cs-jit</c> or <c>cs</c>) for one model. With a
    /// <paramref name="clock"/>, the step also stamps the time at the edges of its phases (a few Stopwatch reads).
    /// </summary>
    public static Func<Mlp, Mlp> MakeStep(string impl, StepData data, PhaseClock? clock = null)
    {
        var spec = data.Model;
        var (x, y) = (data.X, data.Y);
        var valueAndGrad = clock is null
            ? Eqx.FilterValueAndGrad((Mlp m, Tensor xs, Tensor ys) => spec.Loss(m, xs, ys))
            : Eqx.FilterValueAndGrad((Mlp m, Tensor xs, Tensor ys) =>
            {
                clock.ForwardStart = Stopwatch.GetTimestamp();
                var loss = spec.Loss(m, xs, ys);
                clock.ForwardEnd = Stopwatch.GetTimestamp();
                return loss;
            });
        if (impl == "cs-jit")
        {
            var jitted = Eqx.FilterJit((Mlp m, Tensor xs, Tensor ys) =>
            {
                if (clock is not null) clock.BodyStart = Stopwatch.GetTimestamp();
                var (_, grads) = valueAndGrad(m, xs, ys);
                if (clock is not null) clock.GradientEnd = Stopwatch.GetTimestamp();
                var next = Eqx.ApplyUpdates(m, Eqx.TreeMap(grads, g => g * -StepModel.LearningRate));
                if (clock is not null) clock.UpdateEnd = Stopwatch.GetTimestamp();
                return next;
            }, donate: Donate.Arg1);
            if (clock is null) return model => jitted.Invoke(model, x, y);
            return model =>
            {
                long start = Stopwatch.GetTimestamp();
                var next = jitted.Invoke(model, x, y);
                clock.Record(start, Stopwatch.GetTimestamp());
                return next;
            };
        }
        return model =>
        {
            long start = clock is null ? 0 : Stopwatch.GetTimestamp();
            Mlp next;
            using (var scope = Torch.Scope())
            {
                if (clock is not null) clock.BodyStart = Stopwatch.GetTimestamp();
                var (_, grads) = valueAndGrad(model, x, y);
                if (clock is not null) clock.GradientEnd = Stopwatch.GetTimestamp();
                next = Eqx.ApplyUpdates(model, Eqx.TreeMap(grads, g => g * -StepModel.LearningRate));
                if (clock is not null) clock.UpdateEnd = Stopwatch.GetTimestamp();
                scope.MoveOut(Eqx.Leaves(next));
            }
            // The old model is done with; free it now rather than leave it to the GC (what donation does for cs-jit).
            foreach (var t in Eqx.Leaves(model)) t.Dispose();
            clock?.Record(start, Stopwatch.GetTimestamp());
            return next;
        };
    }

    /// <summary>
    /// The phase breakdown of a C# step: <paramref name="steps"/> steps with a <see cref="PhaseClock"/>, after 100
    /// steps and <paramref name="warmupMilliseconds"/> of warm-up; mean wall µs per step of each phase.
    /// </summary>
    public static PhaseClock Phases(string impl, StepData data, int steps, int warmupMilliseconds)
    {
        var clock = new PhaseClock();
        var step = MakeStep(impl, data, clock);
        var model = data.CopyOfInitial();
        long warmStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < 100 || Stopwatch.GetElapsedTime(warmStart).TotalMilliseconds < warmupMilliseconds; i++) model = step(model);
        clock.Reset();
        for (int i = 0; i < steps; i++) model = step(model);
        foreach (var t in Eqx.Leaves(model)) t.Dispose();
        return clock;
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
        using (Torch.NoGrad())
        using (var scope = Torch.Scope())
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

    /// <summary>The libblas.so.3 (and libopenblas) files in /proc/self/maps, resolved, joined by ';'; or "none".</summary>
    public static string MappedBlas()
    {
        var found = new List<string>();
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            int slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0) continue;
            var path = line[slash..].Trim();
            if (!path.Contains("libblas.so", StringComparison.Ordinal) && !path.Contains("libopenblas", StringComparison.Ordinal)) continue;
            var real = new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
            if (!found.Contains(real)) found.Add(real);
        }
        return found.Count == 0 ? "none" : string.Join(";", found);
    }
}
