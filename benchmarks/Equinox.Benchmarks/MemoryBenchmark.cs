using System.Globalization;
using Equinox.Tensors;

namespace Equinox.Benchmarks;

/// <summary>
/// Peak memory of one FilterJit training step (gradients, then Eqx.ApplyUpdates) with and without donating the model,
/// side by side: the most CPU bytes held during the step beyond what was live before it, from the shim's counting
/// allocator (Torch.MaxMemoryAllocated).
/// </summary>
public static class MemoryBenchmark
{
    public static int Run(string[] args)
    {
        int width = 1024, layers = 8, batch = 8;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--width" && i + 1 < args.Length) width = int.Parse(args[++i], CultureInfo.InvariantCulture);
            if (args[i] == "--layers" && i + 1 < args.Length) layers = int.Parse(args[++i], CultureInfo.InvariantCulture);
            if (args[i] == "--batch" && i + 1 < args.Length) batch = int.Parse(args[++i], CultureInfo.InvariantCulture);
        }
        long parameters = Eqx.Leaves(new JitBenchMlp(layers, width, Key.Create(0))).Sum(t => t.NumberOfElements * 4);
        Console.WriteLine($"memory: peak of one training step above the live model, {layers} layers of {width}x{width} f32, batch {batch}");
        Console.WriteLine($"parameters: {MiB(parameters)}");
        Console.WriteLine($"{"donate",-8} | {"peak above live",16} | {"in parameter copies",20}");
        Console.WriteLine(new string('-', 52));
        long donated = Peak(Donate.Arg1, width, layers, batch), ordinary = Peak(Donate.None, width, layers, batch);
        foreach (var (name, peak) in new[] { ("Arg1", donated), ("None", ordinary) })
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-8} | {MiB(peak),16} | {(double)peak / parameters,20:F2}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"donation saves {MiB(ordinary - donated)} ({(double)(ordinary - donated) / parameters:F2} parameter copies); donated/undonated peak {(double)donated / ordinary:F2}"));
        return 0;
    }

    private static string MiB(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024.0):F2} MiB");

    private static JitBenchMlp Step(JitBenchMlp model, Tensor x, Tensor y)
    {
        var (_, grads) = Eqx.FilterValueAndGrad((JitBenchMlp m, Tensor xs, Tensor ys) => (m.Forward(xs) - ys).Square().Mean())(model, x, y);
        return Eqx.ApplyUpdates(model, Eqx.TreeMap(grads, g => g * -0.01));
    }

    private static long Peak(Donate donate, int width, int layers, int batch)
    {
        var model = new JitBenchMlp(layers, width, Key.Create(0));
        var x = Tensor.Normal(Key.Create(1), [batch, width]);
        var y = Tensor.Normal(Key.Create(2), [batch, width]);
        var step = Eqx.FilterJit<JitBenchMlp, Tensor, Tensor, JitBenchMlp>(Step, donate: donate);
        var next = step.Invoke(model, x, y); // compile
        if (donate == Donate.None) foreach (var t in Eqx.Leaves(model)) t.Dispose();
        model = next;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = Torch.MemoryAllocated(Device.Cpu);
        Torch.ResetPeakMemoryStats(Device.Cpu);
        next = step.Invoke(model, x, y);
        long peak = Torch.MaxMemoryAllocated(Device.Cpu) - before;
        foreach (var t in Eqx.Leaves(next).Concat(Eqx.Leaves(model)).Append(x).Append(y)) t.Dispose();
        return peak;
    }
}
