using System.Diagnostics;
using Equinox.Tensors;

namespace Equinox.Benchmarks;

/// <summary>One benchmark case: the shapes of x (rows x cols), w (cols x cols) and b (cols), and whether autograd runs.</summary>
internal sealed record OpsCase(string Name, int Rows, int Cols, bool Grad)
{
    public static readonly OpsCase[] All =
    [
        new("2x4", 2, 4, false), new("2x4+grad", 2, 4, true),
        new("16x64", 16, 64, false), new("16x64+grad", 16, 64, true),
    ];
}

/// <summary>µs per iteration of each repeat: wall-clock time, and CPU time of the running thread.</summary>
internal sealed record Timings(double[] Wall, double[] Cpu);

/// <summary>
/// The C# side of the op loop, written as a user would: each iteration opens a scope, so the intermediates (and the
/// gradients) are disposed deterministically when it closes. The same loop as benchmarks/native/ops_loop.cpp and
/// benchmarks/python/ops_loop.py.
/// </summary>
internal static class OpsLoop
{
    /// <summary>Runs every selected case and returns µs/iteration of each repeat, per case.</summary>
    public static Dictionary<string, Timings> Run(OpsOptions options)
    {
        Torch.NumThreads = 1;
        var results = new Dictionary<string, Timings>();
        foreach (var c in OpsCase.All)
        {
            if (options.Case is not null && options.Case != c.Name) continue;
            // The inputs live outside the timed scopes, for the whole case.
            var keys = Key.Create(0).Split(3);
            using var x = Tensor.Normal(keys[0], [c.Rows, c.Cols]);
            using var w0 = Tensor.Normal(keys[1], [c.Cols, c.Cols]);
            using var b0 = Tensor.Normal(keys[2], [c.Cols]);
            using var w = c.Grad ? w0.WithRequiresGrad() : w0.Alias();
            using var b = c.Grad ? b0.WithRequiresGrad() : b0.Alias();

            // Long enough for tiered compilation to replace the first, unoptimised code of the loop and of the
            // binding (it waits for 100 ms without new methods, then compiles in the background).
            long warmStart = Stopwatch.GetTimestamp();
            do RunBlock(x, w, b, c.Grad, options.Warmup);
            while (Stopwatch.GetElapsedTime(warmStart).TotalMilliseconds < options.WarmupMilliseconds);
            var times = new Timings(new double[options.Repeats], new double[options.Repeats]);
            for (int r = 0; r < options.Repeats; r++)
            {
                long cpuStart = ThreadClock.Nanoseconds;
                times.Wall[r] = RunBlock(x, w, b, c.Grad, options.Iterations);
                times.Cpu[r] = (ThreadClock.Nanoseconds - cpuStart) / 1e3 / options.Iterations;
            }
            results[c.Name] = times;
        }
        return results;
    }

    // One timed block; returns wall-clock µs per iteration.
    private static double RunBlock(Tensor x, Tensor w, Tensor b, bool grad, int iterations)
    {
        long start = Stopwatch.GetTimestamp();
        if (grad)
        {
            for (int i = 0; i < iterations; i++)
            {
                using var scope = Torch.Scope();
                var y = (x.Matmul(w) + b).Relu();
                Autograd.Grad(y.Sum(), w, b);
            }
        }
        else
        {
            for (int i = 0; i < iterations; i++)
            {
                using var scope = Torch.Scope();
                var y = (x.Matmul(w) + b).Relu();
            }
        }
        return Stopwatch.GetElapsedTime(start).TotalMicroseconds / iterations;
    }
}
