using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using Equinox.Tensors;

namespace Equinox.Benchmarks;

/// <summary>
/// The cost FilterJit adds to a cached call: a 256-leaf MLP (128 layers of weight and bias) through FilterJit against
/// the same function called directly (inside a TensorScope, as FilterJit runs it), in one run and interleaved. Two
/// bodies: one layer of the model (so the overhead is not lost in the work) and the whole forward pass.
/// </summary>
public static class JitBenchmark
{
    public static int Run(string[] args)
    {
        int rounds = 15, calls = 400;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--rounds" && i + 1 < args.Length) rounds = int.Parse(args[++i], CultureInfo.InvariantCulture);
            if (args[i] == "--calls" && i + 1 < args.Length) calls = int.Parse(args[++i], CultureInfo.InvariantCulture);
        }
        Torch.NumThreads = 1;
        var model = new JitBenchMlp(layers: 128, width: 4, Key.Create(0));
        var x = Tensor.Normal(Key.Create(1), [2, 4]);
        Console.WriteLine($"jit: FilterJit cached call vs direct call, {Eqx.LeafCount(model)}-leaf MLP, median of {rounds} rounds x {calls} calls " +
                          $"({Environment.ProcessorCount} cores, .NET {Environment.Version}, LibTorch {Torch.Version})");
        Console.WriteLine("(median over rounds; the best round in brackets, as a shared machine's load only adds time)");
        Console.WriteLine($"{"body",-14} | {"direct us/call",18} | {"FilterJit us/call",18} | {"added us/call",16} | {"FilterJit B/call",16}");
        Console.WriteLine(new string('-', 100));
        Report("one layer", model, x, (m, input) => m.Layers[0].Forward(input).Sum(), rounds, calls);
        Report("full forward", model, x, (m, input) => m.Forward(input).Sum(), rounds, calls);
        return 0;
    }

    private static void Report(string body, JitBenchMlp model, Tensor x, Func<JitBenchMlp, Tensor, Tensor> f, int rounds, int calls)
    {
        var jitted = Eqx.FilterJit(f);
        void Direct()
        {
            using var scope = Torch.Scope();
            scope.MoveOut(f(model, x)).Dispose();
        }
        void Jit() => jitted.Invoke(model, x).Dispose();

        // Warm up for at least 500 ms: .NET re-optimises hot methods (tier 1) only after about 100 ms of calls, so a
        // short warm-up would time partly unoptimised code and vary from run to run.
        var warmUp = System.Diagnostics.Stopwatch.StartNew();
        while (warmUp.ElapsedMilliseconds < 500) { Direct(); Jit(); }
        if (jitted.CompileCount != 1) throw new InvalidOperationException($"expected one compile, saw {jitted.CompileCount}");

        var direct = new double[rounds];
        var jit = new double[rounds];
        var added = new double[rounds];
        for (int r = 0; r < rounds; r++)
        {
            direct[r] = Time(Direct, calls);
            jit[r] = Time(Jit, calls);
            added[r] = jit[r] - direct[r];
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < calls; i++) Jit();
        long jitBytes = (GC.GetAllocatedBytesForCurrentThread() - before) / calls;
        before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < calls; i++) Direct();
        long directBytes = (GC.GetAllocatedBytesForCurrentThread() - before) / calls;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{body,-14} | {Median(direct),8:F2} [{direct.Min(),7:F2}] | {Median(jit),8:F2} [{jit.Min(),7:F2}] | {Median(added),6:F2} [{jit.Min() - direct.Min(),7:F2}] | {jitBytes,7:N0} ({jitBytes - directBytes:+#;-#;0} vs direct)"));
    }

    private static double Time(Action call, int calls)
    {
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < calls; i++) call();
        return watch.Elapsed.TotalMicroseconds / calls;
    }

    private static double Median(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        return sorted[sorted.Length / 2];
    }
}

[Module]
public partial class JitBenchLinear
{
    public readonly Tensor Weight;
    public readonly Tensor Bias;
    public readonly int Features;

    public JitBenchLinear(int features, Key key)
    {
        Weight = Tensor.Normal(key, [features, features]) * 0.5;
        Bias = Tensor.Zeros(features);
        Features = features;
    }

    public Tensor Forward(Tensor x) => x.Matmul(Weight) + Bias;
}

[Module]
public partial class JitBenchMlp
{
    public readonly ImmutableArray<JitBenchLinear> Layers;
    [Static] public readonly Func<Tensor, Tensor> Activation;

    public JitBenchMlp(int layers, int width, Key key)
    {
        var keys = key.Split(layers);
        Layers = [.. keys.Select(k => new JitBenchLinear(width, k))];
        Activation = static t => t.Tanh();
    }

    public Tensor Forward(Tensor x)
    {
        foreach (var layer in Layers) x = Activation(layer.Forward(x));
        return x;
    }
}
