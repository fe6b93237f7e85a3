using System.Diagnostics;
using System.Globalization;

namespace Equinox.Benchmarks;

/// <summary>
/// Flatten + unflatten of generated modules with 10, 1,000 and 10,000 leaves, against <see cref="ReflectionWalker"/>
/// over the same classes, in one run. Reports nanoseconds per leaf, the speed-up, and the bytes allocated per
/// round trip beside the minimum (the leaf array plus the new nodes).
/// </summary>
public static class TreesBenchmark
{
    public static int Run(string[] args)
    {
        double targetSeconds = 0.5;
        for (int i = 0; i < args.Length; i++)
            if (args[i] == "--seconds" && i + 1 < args.Length) targetSeconds = double.Parse(args[++i], CultureInfo.InvariantCulture);

        Console.WriteLine($"trees: flatten + unflatten, generated code vs reflection walker ({Environment.ProcessorCount} cores, .NET {Environment.Version})");
        Console.WriteLine($"{"leaves",8} | {"generated ns/leaf",17} | {"reflection ns/leaf",18} | {"speed-up",8} | {"generated B/op",14} | {"minimum B/op",12} | {"reflection B/op",15}");
        Console.WriteLine(new string('-', 112));
        foreach (int leaves in new[] { 10, 1_000, 10_000 })
        {
            var model = BenchModel.WithLeaves(leaves);
            CheckAgree(model);

            var generated = Measure(() => { var l = Eqx.Flatten(model); return Eqx.Unflatten(model, l); }, targetSeconds);
            var reflection = Measure(() => { var l = ReflectionWalker.Flatten(model); return ReflectionWalker.Unflatten(model, l); }, targetSeconds);
            long minimum = MinimumBytes(model);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{leaves,8:N0} | {generated.Nanoseconds / leaves,17:F2} | {reflection.Nanoseconds / leaves,18:F2} | {reflection.Nanoseconds / generated.Nanoseconds,7:F1}x | {generated.Bytes,14:N0} | {minimum,12:N0} | {reflection.Bytes,15:N0}"));
        }
        return 0;
    }

    private static void CheckAgree(BenchModel model)
    {
        var a = Eqx.Flatten(model);
        var b = ReflectionWalker.Flatten(model);
        if (a.Length != b.Length || a.Where((t, i) => !ReferenceEquals(t, b[i])).Any())
            throw new InvalidOperationException("the two walkers disagree on the leaves");
        var rebuilt = (BenchModel)ReflectionWalker.Unflatten(model, b);
        if (!rebuilt.TreeStaticEquals(model)) throw new InvalidOperationException("the reflection walker rebuilt a different tree");
    }

    // Bytes of the leaf array and of every new node for a round trip; node sizes are measured, not guessed.
    private static long MinimumBytes(BenchModel model)
    {
        static long SizeOf(Type type)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            GC.KeepAlive(System.Runtime.CompilerServices.RuntimeHelpers.GetUninitializedObject(type));
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        static long ArrayBytes(int length) => 16 + 8 + 8L * length;
        long perBlock = SizeOf(typeof(BenchBlock)) + 2 * SizeOf(typeof(BenchDense));
        return ArrayBytes(model.TreeLeafCount) + SizeOf(typeof(BenchModel)) + ArrayBytes(model.Blocks.Length) + model.Blocks.Length * perBlock;
    }

    private readonly record struct Result(double Nanoseconds, long Bytes);

    private static Result Measure(Func<object> roundTrip, double targetSeconds)
    {
        for (int i = 0; i < 20; i++) roundTrip();
        // Size a batch to about a tenth of the target, then keep the best of several batches.
        var watch = Stopwatch.StartNew();
        int calls = 0;
        while (watch.Elapsed.TotalSeconds < targetSeconds / 10) { roundTrip(); calls++; }
        int batch = Math.Max(1, calls);
        double best = double.MaxValue;
        long bytes = long.MaxValue;
        for (int round = 0; round < 10; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var start = Stopwatch.GetTimestamp();
            for (int i = 0; i < batch; i++) roundTrip();
            var elapsed = Stopwatch.GetElapsedTime(start);
            bytes = Math.Min(bytes, (GC.GetAllocatedBytesForCurrentThread() - before) / batch);
            best = Math.Min(best, elapsed.TotalNanoseconds / batch);
        }
        return new Result(best, bytes);
    }
}
