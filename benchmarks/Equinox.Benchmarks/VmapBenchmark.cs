using System.Diagnostics;
using System.Globalization;
using Equinox.Tensors;

namespace Equinox.Benchmarks;

/// <summary>A two-layer perceptron written for one example: x is [In], the result [Out].</summary>
[Module]
public sealed partial class VmapMlp
{
    public readonly Tensor W1;
    public readonly Tensor B1;
    public readonly Tensor W2;
    public readonly Tensor B2;

    public VmapMlp(int inFeatures, int hidden, int outFeatures, Key key)
    {
        var (k1, k2) = key.Split();
        W1 = Tensor.Normal(k1, [hidden, inFeatures]) * (1.0 / Math.Sqrt(inFeatures));
        B1 = Tensor.Zeros(hidden);
        W2 = Tensor.Normal(k2, [outFeatures, hidden]) * (1.0 / Math.Sqrt(hidden));
        B2 = Tensor.Zeros(outFeatures);
    }

    public Tensor Forward(Tensor x) => W2.Matmul((W1.Matmul(x) + B1).Tanh()) + B2;

    public static Tensor Loss(VmapMlp m, Tensor x, Tensor y) => (m.Forward(x) - y).Square().Sum();
}

/// <summary>
/// FilterVmap against a loop over examples + Tensor.Stack, for a forward pass and for per-example gradients of a
/// small MLP over a batch; the hand-batched forward (one matmul per layer) is the floor.
/// </summary>
public static class VmapBenchmark
{
    public static int Run(string[] args)
    {
        int batch = 256;
        double targetSeconds = 1.0;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--batch" && i + 1 < args.Length) batch = int.Parse(args[++i], CultureInfo.InvariantCulture);
            else if (args[i] == "--seconds" && i + 1 < args.Length) targetSeconds = double.Parse(args[++i], CultureInfo.InvariantCulture);
        }

        var (kModel, kData) = Key.Create(0).Split();
        var (kx, ky) = kData.Split();
        var model = new VmapMlp(32, 64, 4, kModel);
        var xs = Tensor.Normal(kx, [batch, 32]);
        var ys = Tensor.Normal(ky, [batch, 4]);

        Console.WriteLine($"vmap: MLP 32-64-4, batch {batch}, {Torch.NumThreads} LibTorch threads, LibTorch {Torch.Version}");
        Console.WriteLine($"{"case",-28} | {"loop + stack ms",15} | {"FilterVmap ms",13} | {"speed-up",8} | {"hand-batched ms",15}");
        Console.WriteLine(new string('-', 92));

        var loopForward = Measure(() =>
        {
            var outs = new Tensor[batch];
            for (int b = 0; b < batch; b++) outs[b] = model.Forward(xs.Select(0, b));
            return Tensor.Stack(outs);
        }, targetSeconds);
        var vmapped = Eqx.FilterVmap((Tensor x) => model.Forward(x));
        var vmapForward = Measure(() => vmapped(xs), targetSeconds);
        var handForward = Measure(() => (xs.Matmul(model.W1.Transpose(0, 1)) + model.B1).Tanh().Matmul(model.W2.Transpose(0, 1)) + model.B2, targetSeconds);
        Row("forward", loopForward, vmapForward, handForward);

        var tracked = Eqx.TreeMap(model, t => t.WithRequiresGrad());
        var loopGrads = Measure(() =>
        {
            var w1 = new Tensor[batch];
            var b1 = new Tensor[batch];
            var w2 = new Tensor[batch];
            var b2 = new Tensor[batch];
            for (int b = 0; b < batch; b++)
            {
                var g = Autograd.Grad(VmapMlp.Loss(tracked, xs.Select(0, b), ys.Select(0, b)), tracked.W1, tracked.B1, tracked.W2, tracked.B2);
                (w1[b], b1[b], w2[b], b2[b]) = (g[0]!, g[1]!, g[2]!, g[3]!);
            }
            return Tensor.Stack(w1).Sum() + Tensor.Stack(b1).Sum() + Tensor.Stack(w2).Sum() + Tensor.Stack(b2).Sum();
        }, targetSeconds);
        var vmapGrads = Measure(() =>
        {
            var g = Eqx.PerExampleGrads(VmapMlp.Loss, model, xs, ys);
            return g.W1.Sum() + g.B1.Sum() + g.W2.Sum() + g.B2.Sum();
        }, targetSeconds);
        Row("per-example gradients", loopGrads, vmapGrads, null);
        return 0;
    }

    private static void Row(string name, double loop, double vmap, double? hand) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-28} | {loop,15:F3} | {vmap,13:F3} | {loop / vmap,7:F1}x | {(hand is { } h ? h.ToString("F3", CultureInfo.InvariantCulture) : "-"),15}"));

    // Best-of-rounds milliseconds per call; every call runs in its own scope so memory stays flat.
    private static double Measure(Func<Tensor> call, double targetSeconds)
    {
        void Once()
        {
            using var scope = Torch.Scope();
            call();
        }
        for (int i = 0; i < 3; i++) Once();
        var watch = Stopwatch.StartNew();
        int calls = 0;
        while (watch.Elapsed.TotalSeconds < targetSeconds / 5) { Once(); calls++; }
        int batch = Math.Max(1, calls);
        double best = double.MaxValue;
        for (int round = 0; round < 5; round++)
        {
            var start = Stopwatch.GetTimestamp();
            for (int i = 0; i < batch; i++) Once();
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalMilliseconds / batch);
        }
        return best;
    }
}
