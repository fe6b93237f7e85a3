using System.Diagnostics;
using Equinox.Nn;
using Equinox.Optim;
using Equinox.Tensors;

namespace Equinox.Benchmarks;

/// <summary>What one implementation measured on one model: per repeat, µs per step and minor page faults per step.</summary>
internal sealed record StepTimings(double[] Wall, double[] Cpu, double[] Faults, double Loss100);

/// <summary>
/// Timestamps at the edges of a C# step's phases, summed over steps: <b>grad setup</b> (from the step body's start to
/// the loss function's: FilterValueAndGrad partitioning the model and marking its leaves as requiring grad),
/// <b>forward</b> (the loss function: the MLP and the loss), <b>backward</b> (from the loss to FilterValueAndGrad's
/// return: autograd and the gradient tree), <b>update</b> (the optimiser's Step: its update and ApplyUpdates) and
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
    /// Builds the step of implementation <paramref name="impl"/> (<c>cs-jit</c> or <c>cs</c>) for one model, with the
    /// library's optimiser <paramref name="optimizer"/> (its state is kept by the returned function, made on the first
    /// call). With a <paramref name="clock"/>, the step also stamps the time at the edges of its phases.
    /// </summary>
    public static Func<T, T> MakeStep<T>(string impl, StepData data, string optimizer, PhaseClock? clock = null) where T : class, ITreeNode
    {
        var spec = data.Model;
        var (x, y) = (data.X, data.Y);
        var opt = StepModel.Optimizer(optimizer);
        OptimizerState<T>? state = null;
        var valueAndGrad = clock is null
            ? Eqx.FilterValueAndGrad((T m, Tensor xs, Tensor ys) => spec.Loss(m, xs, ys))
            : Eqx.FilterValueAndGrad((T m, Tensor xs, Tensor ys) =>
            {
                clock.ForwardStart = Stopwatch.GetTimestamp();
                var loss = spec.Loss(m, xs, ys);
                clock.ForwardEnd = Stopwatch.GetTimestamp();
                return loss;
            });
        (T, OptimizerState<T>) Body(T m, OptimizerState<T> s, Tensor xs, Tensor ys)
        {
            if (clock is not null) clock.BodyStart = Stopwatch.GetTimestamp();
            var (_, grads) = valueAndGrad(m, xs, ys);
            if (clock is not null) clock.GradientEnd = Stopwatch.GetTimestamp();
            var result = opt.Step(m, grads, s);
            if (clock is not null) clock.UpdateEnd = Stopwatch.GetTimestamp();
            return result;
        }
        if (impl == "cs-jit")
        {
            var jitted = Eqx.FilterJit<T, OptimizerState<T>, Tensor, Tensor, (T, OptimizerState<T>)>(Body, donate: Donate.Arg1 | Donate.Arg2);
            return model =>
            {
                state ??= opt.Init(model);
                long start = clock is null ? 0 : Stopwatch.GetTimestamp();
                (var next, state) = jitted.Invoke(model, state, x, y);
                clock?.Record(start, Stopwatch.GetTimestamp());
                return next;
            };
        }
        return model =>
        {
            state ??= opt.Init(model);
            long start = clock is null ? 0 : Stopwatch.GetTimestamp();
            T next;
            OptimizerState<T> nextState;
            using (var scope = Torch.Scope())
            {
                (next, nextState) = Body(model, state, x, y);
                scope.MoveOut(Eqx.Leaves(next));
                scope.MoveOut(Eqx.Leaves(nextState));
            }
            // The old model and state are done with; free them now rather than leave them to the GC (what donation
            // does for cs-jit).
            var kept = new HashSet<Tensor>(Eqx.Leaves(next).Concat(Eqx.Leaves(nextState)), ReferenceEqualityComparer.Instance);
            foreach (var t in Eqx.Leaves(model).Concat(Eqx.Leaves(state))) if (!kept.Contains(t)) t.Dispose();
            state = nextState;
            clock?.Record(start, Stopwatch.GetTimestamp());
            return next;
        };
    }

    /// <summary>
    /// The phase breakdown of a C# step: <paramref name="steps"/> steps with a <see cref="PhaseClock"/>, after 100
    /// steps and <paramref name="warmupMilliseconds"/> of warm-up; mean wall µs per step of each phase.
    /// </summary>
    public static PhaseClock Phases(string impl, StepData data, string optimizer, int steps, int warmupMilliseconds) => data.Model.Kind switch
    {
        StepKind.Cnn => Phases<StepCnn>(impl, data, optimizer, steps, warmupMilliseconds),
        StepKind.Gru => Phases<StepGru>(impl, data, optimizer, steps, warmupMilliseconds),
        _ => Phases<Mlp>(impl, data, optimizer, steps, warmupMilliseconds),
    };

    private static PhaseClock Phases<T>(string impl, StepData data, string optimizer, int steps, int warmupMilliseconds) where T : class, ITreeNode
    {
        var clock = new PhaseClock();
        var step = MakeStep<T>(impl, data, optimizer, clock);
        var model = data.CopyOfInitial<T>();
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
    public static StepTimings Run(string impl, StepData data, string optimizer, int steps, int repeats, int warmupMilliseconds) => data.Model.Kind switch
    {
        StepKind.Cnn => Run<StepCnn>(impl, data, optimizer, steps, repeats, warmupMilliseconds),
        StepKind.Gru => Run<StepGru>(impl, data, optimizer, steps, repeats, warmupMilliseconds),
        _ => Run<Mlp>(impl, data, optimizer, steps, repeats, warmupMilliseconds),
    };

    private static StepTimings Run<T>(string impl, StepData data, string optimizer, int steps, int repeats, int warmupMilliseconds) where T : class, ITreeNode
    {
        var step = MakeStep<T>(impl, data, optimizer);
        var model = data.CopyOfInitial<T>();
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

    /// <summary><paramref name="steps"/> steps from the initial model, untimed (the child of the native-call count).</summary>
    public static void RunSteps(string impl, StepData data, string optimizer, int steps)
    {
        switch (data.Model.Kind)
        {
            case StepKind.Cnn: RunSteps<StepCnn>(impl, data, optimizer, steps); break;
            case StepKind.Gru: RunSteps<StepGru>(impl, data, optimizer, steps); break;
            default: RunSteps<Mlp>(impl, data, optimizer, steps); break;
        }
    }

    private static void RunSteps<T>(string impl, StepData data, string optimizer, int steps) where T : class, ITreeNode
    {
        var step = MakeStep<T>(impl, data, optimizer);
        var model = data.CopyOfInitial<T>();
        for (int i = 0; i < steps; i++) model = step(model);
        foreach (var t in Eqx.Leaves(model)) t.Dispose();
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
