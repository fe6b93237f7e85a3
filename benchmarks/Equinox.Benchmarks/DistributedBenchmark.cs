using System.Diagnostics;
using System.Globalization;
using Equinox.Distributed;
using Equinox.Nn;
using Equinox.Optim;
using Equinox.Tensors;

namespace Equinox.Benchmarks;

/// <summary>
/// Many processes on one machine, C# against Python, taking turns <c>--rounds</c> times:
/// <list type="bullet">
/// <item>all-reduce (sum) of 1, 16 and 64 MiB float32 between 2 processes: C#'s <c>AllReduce</c> (copies its input, as
/// every tree collective does), C#'s <c>AllReduceInPlace</c>, and Python's <c>dist.all_reduce</c> (in place);</item>
/// <item>one epoch of data-parallel training of the wide MLP (784-256-256-10, cross-entropy, SGD, global batch 128,
/// 8192 examples) in 2 processes against 1 process, one intra-op thread per process.</item>
/// </list>
/// Workers are child processes of this program (<c>distributed-worker</c>) and of <c>python/allreduce.py</c>, with the
/// environment torchrun would give them; rank 0 prints <c>EQX_RESULT name ms,ms,...</c> (one per timed block).
/// </summary>
internal static class DistributedBenchmark
{
    private const string Usage = "distributed [--rounds K] [--iters N] [--repeats R] [--sizes 1,16,64] [--epochs E] [--impl cs,py]";

    public static int Run(string[] args)
    {
        int rounds = 2, iters = 10, repeats = 3, epochs = 3;
        string sizes = "1,16,64";
        var impls = new HashSet<string> { "cs", "py" };
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value; usage: {Usage}");
            switch (args[i])
            {
                case "--rounds": rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--iters": iters = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--repeats": repeats = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--sizes": sizes = Next(); break;
                case "--epochs": epochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--impl": impls = [.. Next().Split(',')]; break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'; usage: {Usage}");
            }
        }
        Console.WriteLine($"{Torch.Config}");
        Console.WriteLine($"{Environment.ProcessorCount} cores; 2 processes, 1 intra-op thread each; Gloo over 127.0.0.1; " +
                          $"{rounds} rounds taking turns, {repeats} blocks of {iters} all-reduces per size per round");
        if (Torch.Config.Blas.IsReference)
            Console.WriteLine("warning: the reference BLAS is in use: the epoch numbers are not representative.");

        var results = new Dictionary<string, List<double>>();
        string python = Environment.GetEnvironmentVariable("EQUINOX_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";
        string script = Path.Combine(RepositoryRoot(), "benchmarks", "python", "allreduce.py");
        string[] common = ["--sizes", sizes, "--iters", iters.ToString(CultureInfo.InvariantCulture), "--repeats", repeats.ToString(CultureInfo.InvariantCulture)];
        for (int round = 0; round < rounds; round++)
        {
            if (impls.Contains("cs")) Collect(results, RunGroup(2, Environment.ProcessPath!, [.. Self(), "distributed-worker", "allreduce", .. common], "cs-"));
            if (impls.Contains("py")) Collect(results, RunGroup(2, python, [script, .. common], "py-"));
            if (impls.Contains("cs"))
            {
                string[] epoch = [.. Self(), "distributed-worker", "epoch", "--epochs", epochs.ToString(CultureInfo.InvariantCulture)];
                Collect(results, RunGroup(1, Environment.ProcessPath!, epoch, "1proc-"));
                Collect(results, RunGroup(2, Environment.ProcessPath!, epoch, "2proc-"));
            }
        }

        Console.WriteLine();
        Console.WriteLine("all-reduce (sum) of float32 between 2 processes, median ms per all-reduce (target: C# <= 1.05x Python)");
        var rows = new List<string[]>();
        foreach (var size in sizes.Split(','))
        {
            double? copy = Median(results, $"cs-allreduce-{size}MiB-copy");
            double? inPlace = Median(results, $"cs-allreduce-{size}MiB-inplace");
            double? py = Median(results, $"py-allreduce-{size}MiB");
            rows.Add([$"{size} MiB", Ms(copy), Ms(inPlace), Ms(py), Ratio(copy, py), Ratio(inPlace, py)]);
        }
        PrintTable(["size", "C# AllReduce", "C# AllReduceInPlace", "Python all_reduce", "copy/Py", "in-place/Py"], rows);

        if (impls.Contains("cs"))
        {
            Console.WriteLine();
            Console.WriteLine("one epoch of the wide MLP (784-256-256-10, SGD, global batch 128, 8192 examples), median ms per epoch");
            double? one = Median(results, "1proc-epoch");
            double? two = Median(results, "2proc-epoch");
            PrintTable(["processes", "ms/epoch", "speed-up"],
                [["1", Ms(one), "1.00x"], ["2 (data-parallel)", Ms(two), one is { } a && two is { } b ? $"{a / b:F2}x" : "-"]]);
        }
        return 0;
    }

    private static void PrintTable(string[] header, List<string[]> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Max(r => r[i].Length))).ToArray();
        string Line(string[] cells) => "| " + string.Join(" | ", cells.Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))) + " |";
        Console.WriteLine(Line(header));
        Console.WriteLine("|" + string.Join("|", widths.Select((w, i) => i == 0 ? new string('-', w + 2) : new string('-', w + 1) + ":")) + "|");
        foreach (var row in rows) Console.WriteLine(Line(row));
    }

    private static string Ms(double? v) => v is { } x ? x.ToString("F2", CultureInfo.InvariantCulture) : "-";

    private static string Ratio(double? a, double? b) => a is { } x && b is { } y ? $"{x / y:F2}x" : "-";

    private static double? Median(Dictionary<string, List<double>> results, string key) =>
        results.TryGetValue(key, out var list) && list.Count > 0 ? OpsBenchmark.Median(list) : null;

    private static void Collect(Dictionary<string, List<double>> results, IEnumerable<(string Name, double[] Values)> lines)
    {
        foreach (var (name, values) in lines)
        {
            if (!results.TryGetValue(name, out var list)) results[name] = list = [];
            list.AddRange(values);
        }
    }

    // Starts `size` ranks with torchrun's variables, waits for all, returns rank 0's EQX_RESULT lines with `prefix`.
    private static List<(string, double[])> RunGroup(int size, string fileName, string[] arguments, string prefix)
    {
        int port = DistributedLauncher.FreePort();
        var children = new List<Process>();
        var found = new List<(string, double[])>();
        for (int rank = 0; rank < size; rank++)
        {
            var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in arguments) info.ArgumentList.Add(a);
            info.Environment["MASTER_ADDR"] = "127.0.0.1";
            info.Environment["MASTER_PORT"] = port.ToString(CultureInfo.InvariantCulture);
            info.Environment["RANK"] = rank.ToString(CultureInfo.InvariantCulture);
            info.Environment["WORLD_SIZE"] = size.ToString(CultureInfo.InvariantCulture);
            info.Environment["LOCAL_RANK"] = rank.ToString(CultureInfo.InvariantCulture);
            info.Environment["OMP_NUM_THREADS"] = "1";
            info.Environment["GLOO_SOCKET_IFNAME"] = "lo";
            children.Add(Process.Start(info)!);
        }
        var outputs = children.Select(c => (Out: c.StandardOutput.ReadToEndAsync(), Err: c.StandardError.ReadToEndAsync())).ToList();
        for (int rank = 0; rank < size; rank++)
        {
            if (!children[rank].WaitForExit(TimeSpan.FromMinutes(5))) children[rank].Kill(entireProcessTree: true);
            children[rank].WaitForExit();
            if (children[rank].ExitCode != 0)
                Console.WriteLine($"miss: {Path.GetFileName(fileName)} rank {rank} exited with {children[rank].ExitCode}: {outputs[rank].Err.Result.Trim()}");
        }
        foreach (var line in outputs[0].Out.Result.Split('\n'))
        {
            var parts = line.Trim().Split(' ');
            if (parts.Length == 3 && parts[0] == "EQX_RESULT")
                found.Add((prefix + parts[1], parts[2].Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()));
            else if (line.StartsWith("EQX_NOTE", StringComparison.Ordinal)) Console.WriteLine($"  {prefix}{line.Trim()["EQX_NOTE ".Length..]}");
        }
        foreach (var c in children) c.Dispose();
        return found;
    }

    private static string[] Self() =>
        Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? [Environment.GetCommandLineArgs()[0]] : [];

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Equinox.sln"))) directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("Run the benchmark from inside the repository.");
    }

    /// <summary>A worker: <c>allreduce</c> times the collectives; <c>epoch</c> times data-parallel epochs.</summary>
    public static int Worker(string[] args)
    {
        Torch.NumThreads = 1;
        string mode = args[0];
        string sizes = "1,16,64";
        int iters = 10, repeats = 3, epochs = 3;
        for (int i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--sizes": sizes = args[++i]; break;
                case "--iters": iters = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--repeats": repeats = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--epochs": epochs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
            }
        }
        int worldSize = int.Parse(Environment.GetEnvironmentVariable("WORLD_SIZE")!, CultureInfo.InvariantCulture);
        using var group = worldSize > 1 ? ProcessGroup.InitFromEnvironment(TimeSpan.FromSeconds(120)) : null;
        return mode == "allreduce" ? AllReduceWorker(group!, sizes, iters, repeats) : EpochWorker(group, epochs);
    }

    private static int AllReduceWorker(ProcessGroup group, string sizes, int iters, int repeats)
    {
        foreach (var size in sizes.Split(','))
        {
            long elements = long.Parse(size, CultureInfo.InvariantCulture) * 262144;
            using var buffer = Tensor.Ones([elements]);
            foreach (var (name, inPlace) in new[] { ("copy", false), ("inplace", true) })
            {
                var blocks = new double[repeats];
                for (int warm = 0; warm < 2; warm++) Once(group, buffer, inPlace);
                for (int r = 0; r < repeats; r++)
                {
                    group.Barrier();
                    var watch = Stopwatch.StartNew();
                    for (int i = 0; i < iters; i++) Once(group, buffer, inPlace);
                    blocks[r] = watch.Elapsed.TotalMilliseconds / iters;
                }
                if (group.Rank == 0)
                    Console.WriteLine($"EQX_RESULT allreduce-{size}MiB-{name} {string.Join(",", blocks.Select(b => b.ToString("F3", CultureInfo.InvariantCulture)))}");
            }
        }
        group.Barrier();
        return 0;
    }

    private static void Once(ProcessGroup group, Tensor buffer, bool inPlace)
    {
        if (inPlace)
        {
            group.AllReduceInPlace(buffer);
            return;
        }
        using var result = group.AllReduce(buffer);
    }

    private static int EpochWorker(ProcessGroup? group, int epochs)
    {
        int rank = group?.Rank ?? 0, worldSize = group?.WorldSize ?? 1;
        const int samples = 8192, batch = 128;
        var (dataKey, modelKey) = Key.Create(2).Split();
        var (xKey, yKey) = dataKey.Split();
        using var x = Tensor.Normal(xKey, [samples, 784]);
        using var y = Tensor.RandInt(yKey, [samples], 0, 10);
        var model = new Mlp(784, 10, 256, 2, key: modelKey, activation: Activations.Relu);
        if (group is not null) model = group.Broadcast(model);
        var optimizer = new Sgd(learningRate: 0.01);
        var state = optimizer.Init(model);
        var lossAndGrads = Eqx.FilterValueAndGrad((Mlp m, Tensor input, Tensor target) => Functional.CrossEntropy(m.Forward(input), target));
        int share = batch / worldSize;
        // One compiled step with the gradient all-reduce inside it: on the CPU FilterJit runs it eagerly in its scope,
        // so the reduced buffers are freed with the step's other intermediates; model and state are donated.
        var step = Eqx.FilterJit((Mlp m, OptimizerState<Mlp> s, Tensor input, Tensor target) =>
        {
            var (loss, grads) = lossAndGrads(m, input, target);
            if (group is not null) grads = group.AllReduceMean(grads);
            var (next, nextState) = optimizer.Step(m, grads, s);
            return (next, nextState, loss);
        }, donate: Donate.Arg1 | Donate.Arg2);
        double lastLoss = 0;
        void Epoch()
        {
            for (int start = 0; start + batch <= samples; start += batch)
            {
                long from = start + (long)rank * share;
                using var input = x[TensorIndex.Slice(from, from + share)];
                using var target = y[TensorIndex.Slice(from, from + share)];
                (model, state, var loss) = step.Invoke(model, state, input, target);
                using (loss) lastLoss = loss.Item<float>();
            }
        }
        Epoch(); // warm-up
        var blocks = new double[epochs];
        for (int e = 0; e < epochs; e++)
        {
            group?.Barrier();
            var watch = Stopwatch.StartNew();
            Epoch();
            group?.Barrier();
            blocks[e] = watch.Elapsed.TotalMilliseconds;
        }
        if (rank == 0)
        {
            Console.WriteLine($"EQX_RESULT epoch {string.Join(",", blocks.Select(b => b.ToString("F1", CultureInfo.InvariantCulture)))}");
            Console.WriteLine($"EQX_NOTE epoch: loss of rank 0's last batch after {epochs + 1} epochs: {lastLoss:F4}");
        }
        return 0;
    }
}
