using System.Globalization;
using Equinox.Tensors;

namespace Equinox.Benchmarks;

/// <summary>
/// The binding's own cost per op, with LibTorch doing next to nothing: <c>Alias()</c> only copies a reference-counted
/// pointer natively, so its time is the P/Invoke, the handle, the live counter, scope adoption and disposal. Timed in
/// thread CPU time, so that other processes on the machine disturb it less.
/// </summary>
internal static class Overhead
{
    public static int Run(string[] args)
    {
        int iterations = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        Torch.NumThreads = 1;
        using var x = Tensor.Zeros(2, 4);
        (string Name, Func<Tensor, int, double> Body)[] cases =
        [
            ("native call only (NumberOfElements)", NativeCall),
            ("op, scope per op (Alias)", ScopePerOp),
            ("op, 3 ops per scope (Alias)", ThreePerScope),
            ("op, 100 ops per scope (Alias)", HundredPerScope),
            ("op, no scope, Dispose (Alias)", NoScope),
        ];
        foreach (var (name, body) in cases)
        {
            body(x, iterations / 10);
            var times = new double[7];
            for (int r = 0; r < times.Length; r++) times[r] = body(x, iterations);
            Array.Sort(times);
            Console.WriteLine($"{name,-40} median {times[times.Length / 2],7:F1} ns/op   best {times[0],7:F1} ns/op (thread CPU time)");
        }
        return 0;
    }

    private static double NativeCall(Tensor x, int n)
    {
        long start = ThreadClock.Nanoseconds;
        long sum = 0;
        for (int i = 0; i < n; i++) sum += x.NumberOfElements;
        GC.KeepAlive(sum);
        return (ThreadClock.Nanoseconds - start) / (double)n;
    }

    private static double ScopePerOp(Tensor x, int n)
    {
        long start = ThreadClock.Nanoseconds;
        for (int i = 0; i < n; i++)
        {
            using var scope = Torch.Scope();
            x.Alias();
        }
        return (ThreadClock.Nanoseconds - start) / (double)n;
    }

    private static double ThreePerScope(Tensor x, int n)
    {
        long start = ThreadClock.Nanoseconds;
        for (int i = 0; i < n / 3; i++)
        {
            using var scope = Torch.Scope();
            x.Alias();
            x.Alias();
            x.Alias();
        }
        return (ThreadClock.Nanoseconds - start) / (double)(n / 3 * 3);
    }

    private static double HundredPerScope(Tensor x, int n)
    {
        long start = ThreadClock.Nanoseconds;
        for (int i = 0; i < n / 100; i++)
        {
            using var scope = Torch.Scope();
            for (int j = 0; j < 100; j++) x.Alias();
        }
        return (ThreadClock.Nanoseconds - start) / (double)(n / 100 * 100);
    }

    private static double NoScope(Tensor x, int n)
    {
        long start = ThreadClock.Nanoseconds;
        for (int i = 0; i < n; i++) x.Alias().Dispose();
        return (ThreadClock.Nanoseconds - start) / (double)n;
    }
}
