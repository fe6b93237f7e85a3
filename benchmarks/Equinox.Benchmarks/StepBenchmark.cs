using System.Globalization;
using System.Text.Json;
using Equinox.Tensors;

namespace Equinox.Benchmarks;

/// <summary>Options of the step benchmark (passed on to the C++ and Python programs as flags).</summary>
internal sealed record StepOptions(int? Steps, int Repeats, int Rounds, int WarmupMilliseconds, int Threads,
    IReadOnlyList<StepModel> Models, IReadOnlySet<string> Implementations, string Optimizer, string? Json, bool CountCalls, bool Phases)
{
    public int StepsFor(StepModel model) => Steps ?? model.DefaultSteps;

    public string[] ChildArguments(string dataDirectory) =>
    [
        "--data", dataDirectory,
        "--model", string.Join(",", Models.Select(m => m.Name)),
        "--steps", string.Join(",", Models.Select(m => StepsFor(m).ToString(CultureInfo.InvariantCulture))),
        "--optimizer", Optimizer,
        "--repeats", Repeats.ToString(CultureInfo.InvariantCulture),
        "--warmup-ms", WarmupMilliseconds.ToString(CultureInfo.InvariantCulture),
        "--threads", Threads.ToString(CultureInfo.InvariantCulture),
    ];
}

/// <summary>
/// The training-step benchmark: SGD or Adam steps of a small, a wide and a deep MLP, a small CNN and a GRU four ways (C# with FilterJit and
/// donation, C# without FilterJit, LibTorch C++ with torch::nn and torch::optim, PyTorch eager with torch.optim, and
/// for Adam also torch.optim's foreach=True variant), from the same initial weights and data, taking turns <c>--rounds</c> times. Checks that the four agree on the loss after 100
/// steps, and prints per model the median µs per step (wall and thread CPU), minor page faults per step, the BLAS each
/// process mapped and the native calls per C# step; writes the same as JSON under benchmarks/results/.
/// </summary>
internal static class StepBenchmark
{
    private static readonly string[] Order = ["cs-jit", "cs", "cpp", "py", "py-foreach"];

    private static readonly Dictionary<string, string> Titles = new()
    {
        ["cs-jit"] = "C# FilterJit+donate", ["cs"] = "C# no FilterJit", ["cpp"] = "C++ torch::nn+optim", ["py"] = "PyTorch eager", ["py-foreach"] = "PyTorch foreach=True",
    };

    /// <summary>Relative difference allowed between the implementations' losses after 100 steps.</summary>
    internal const double LossTolerance = 1e-5;

    public static int Run(string[] args)
    {
        StepOptions options;
        try
        {
            options = Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        var root = OpsBenchmark.FindRepositoryRoot();
        var python = Environment.GetEnvironmentVariable("EQUINOX_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";
        string? native = null;
        if (options.Implementations.Contains("cpp"))
        {
            native = OpsBenchmark.BuildNative(root, "step_loop");
            if (native is null) return 1;
        }

        Torch.NumThreads = options.Threads;
        var dataDirectory = Path.Combine(root, "benchmarks", "native", "build", "step-data");
        var data = options.Models.ToDictionary(m => m.Name, StepData.Create);
        foreach (var d in data.Values) d.Write(dataDirectory);

        Console.WriteLine($"LibTorch {Torch.Version}, intra-op threads {options.Threads}, float32 CPU, {Environment.ProcessorCount} cores; " +
                          $"{options.Repeats} repeats x {options.Rounds} rounds, after 100 steps and at least {options.WarmupMilliseconds} ms of warm-up");
        foreach (var m in options.Models) Console.WriteLine($"  {m.Name}: {m.Describe(options.Optimizer)}; {options.StepsFor(m)} steps per repeat");

        var results = new Dictionary<(string Impl, string Model), List<StepTimings>>();
        var blas = new Dictionary<string, string>();
        for (int round = 1; round <= options.Rounds; round++)
        {
            foreach (var impl in Order)
            {
                if (!options.Implementations.Contains(impl)) continue;
                Console.Error.WriteLine($"round {round}/{options.Rounds}: {impl}");
                Dictionary<string, StepTimings> measured;
                if (impl is "cs-jit" or "cs")
                {
                    measured = options.Models.ToDictionary(m => m.Name,
                        m => StepLoop.Run(impl, data[m.Name], options.Optimizer, options.StepsFor(m), options.Repeats, options.WarmupMilliseconds));
                    blas[impl] = StepLoop.Blas ?? "none";
                }
                else
                {
                    (measured, var mapped) = impl == "cpp"
                        ? RunChild(native!, options.ChildArguments(dataDirectory))
                        : RunChild(python, [Path.Combine(root, "benchmarks", "python", "step_loop.py"), .. options.ChildArguments(dataDirectory),
                            .. (impl == "py-foreach" ? new[] { "--foreach" } : [])]);
                    blas[impl] = mapped;
                }
                foreach (var (model, timings) in measured)
                {
                    if (!results.TryGetValue((impl, model), out var list)) results[(impl, model)] = list = [];
                    list.Add(timings);
                }
            }
        }

        var csImpls = new[] { "cs-jit", "cs" }.Where(options.Implementations.Contains).ToArray();
        var calls = options.CountCalls && csImpls.Length > 0 ? StepCalls.Count(root, csImpls, options.Models, options.Optimizer) : [];

        var phases = new Dictionary<(string Impl, string Model), (string Phase, double Microseconds)[]>();
        if (options.Phases)
            foreach (var impl in csImpls)
                foreach (var m in options.Models)
                {
                    Console.Error.WriteLine($"phases: {impl} {m.Name}");
                    phases[(impl, m.Name)] = StepLoop.Phases(impl, data[m.Name], options.Optimizer, options.StepsFor(m), options.WarmupMilliseconds).Means;
                }

        bool agree = true;
        var report = new List<Dictionary<string, object?>>();
        foreach (var m in options.Models)
        {
            Console.WriteLine();
            Console.WriteLine($"{m.Name}: {m.Describe(options.Optimizer)}");
            var rows = new List<string[]>();
            var entries = new Dictionary<string, object?>();
            double? Stat(string impl, Func<StepTimings, double[]> pick) =>
                results.TryGetValue((impl, m.Name), out var list) ? OpsBenchmark.Median(list.SelectMany(pick)) : null;
            double? reference = null;
            foreach (var impl in Order)
            {
                if (!results.TryGetValue((impl, m.Name), out var list)) continue;
                double loss = list[0].Loss100;
                if (list.Any(t => t.Loss100 != loss)) agree = false; // one implementation must repeat itself exactly
                reference ??= loss;
                double relative = Math.Abs(loss - reference.Value) / Math.Abs(reference.Value);
                if (!(relative <= LossTolerance)) agree = false;
                double? nativeCalls = calls.TryGetValue((impl, m.Name), out var c) ? c : null;
                var (wall, cpu, faults) = (Stat(impl, t => t.Wall)!.Value, Stat(impl, t => t.Cpu)!.Value, Stat(impl, t => t.Faults)!.Value);
                rows.Add([Titles[impl], F(wall, 1), F(cpu, 1), F(faults, 2), loss.ToString("G9", CultureInfo.InvariantCulture),
                    relative.ToString("0.0e+0", CultureInfo.InvariantCulture), nativeCalls is { } n ? F(n, 0) : "-"]);
                entries[impl] = new Dictionary<string, object?>
                {
                    ["wall_us_per_step"] = wall, ["cpu_us_per_step"] = cpu, ["minor_faults_per_step"] = faults,
                    ["loss_after_100_steps"] = loss, ["native_calls_per_step"] = nativeCalls, ["blas"] = blas.GetValueOrDefault(impl),
                    ["wall_samples"] = list.SelectMany(t => t.Wall).ToArray(), ["cpu_samples"] = list.SelectMany(t => t.Cpu).ToArray(),
                };
            }
            PrintTable(["implementation", "wall µs/step", "CPU µs/step", "faults/step", "loss after 100", "rel. diff", "native calls/step"], rows);

            var ratios = new Dictionary<string, object?>();
            foreach (var (other, label) in new[] { ("cpp", "C#-jit/C++"), ("cs", "C#-jit/C#-nojit"), ("py", "C#-jit/Python"), ("py-foreach", "C#-jit/Py-foreach") })
            {
                double? Ratio(Func<StepTimings, double[]> pick) => Stat("cs-jit", pick) is { } a && Stat(other, pick) is { } b ? a / b : null;
                var (wallRatio, cpuRatio) = (Ratio(t => t.Wall), Ratio(t => t.Cpu));
                if (wallRatio is null) continue;
                Console.WriteLine($"  {label,-16} wall {F(wallRatio.Value, 3)}  CPU {F(cpuRatio!.Value, 3)}");
                ratios[label] = new Dictionary<string, object?> { ["wall"] = wallRatio, ["cpu"] = cpuRatio };
            }
            if (Stat("cs-jit", t => t.Faults) is { } jf && Stat("cpp", t => t.Faults) is { } cf)
            {
                Console.WriteLine($"  faults/step C#-jit/C++: {(cf > 0 ? F(jf / cf, 2) : jf == 0 ? "1 (both 0)" : "∞ (C++ 0)")}");
                ratios["faults C#-jit/C++"] = cf > 0 ? jf / cf : null;
            }
            var phaseReport = new Dictionary<string, object?>();
            if (csImpls.Any(i => phases.ContainsKey((i, m.Name))))
            {
                Console.WriteLine("  phases of the C# steps, mean wall µs/step (a separate, instrumented pass):");
                var present = csImpls.Where(i => phases.ContainsKey((i, m.Name))).ToArray();
                var phaseRows = new List<string[]>();
                foreach (var (phase, index) in phases[(present[0], m.Name)].Select((p, i) => (p.Phase, i)))
                    phaseRows.Add([phase, .. present.Select(i => F(phases[(i, m.Name)][index].Microseconds, 1))]);
                phaseRows.Add(["total", .. present.Select(i => F(phases[(i, m.Name)].Sum(p => p.Microseconds), 1))]);
                PrintTable(["phase", .. present.Select(i => Titles[i])], phaseRows);
                foreach (var i in present)
                    phaseReport[i] = phases[(i, m.Name)].ToDictionary(p => p.Phase, p => (object?)p.Microseconds);
            }
            report.Add(new Dictionary<string, object?>
            {
                ["phases_us_per_step"] = phaseReport,
                ["model"] = m.Name, ["description"] = m.Describe(options.Optimizer), ["steps_per_repeat"] = options.StepsFor(m),
                ["loss_tolerance"] = LossTolerance,
                ["implementations"] = entries, ["ratios"] = ratios,
            });
        }
        Console.WriteLine();
        foreach (var impl in Order.Where(blas.ContainsKey)) Console.WriteLine($"BLAS mapped by {Titles[impl]}: {blas[impl]}");
        // Debian's reference BLAS lives in .../blas/, OpenBLAS in .../openblas-pthread/ (or -openmp, -serial).
        if (blas.Values.Any(b => b.Contains("/blas/libblas.so", StringComparison.Ordinal)))
            Console.WriteLine("warning: the reference BLAS is in use (15-25x slower matmuls than OpenBLAS): the wide model's numbers are " +
                              "dominated by it. sudo apt-get install libopenblas0-pthread selects OpenBLAS for all four.");
        if (!options.CountCalls) Console.WriteLine("native calls per C# step: not counted (--count-calls counts them with uprobes and perf; needs root)");
        Console.WriteLine(agree
            ? $"losses after 100 steps agree within {LossTolerance:0e+0} relative"
            : $"ERROR: the losses after 100 steps differ by more than {LossTolerance:0e+0} relative (see the tables above)");

        var json = options.Json ?? Path.Combine(root, "benchmarks", "results",
            $"step-{options.Optimizer}-{DateTime.UtcNow.ToString("yyyyMMdd-HHmm", CultureInfo.InvariantCulture)}.json");
        WriteJson(json, new Dictionary<string, object?>
        {
            ["mode"] = "step", ["optimizer"] = options.Optimizer, ["command"] = "step " + string.Join(' ', args), ["date_utc"] = DateTime.UtcNow.ToString("u", CultureInfo.InvariantCulture),
            ["libtorch"] = Torch.Version, ["threads"] = options.Threads, ["cores"] = Environment.ProcessorCount,
            ["repeats"] = options.Repeats, ["rounds"] = options.Rounds, ["warmup_ms"] = options.WarmupMilliseconds,
            ["losses_agree"] = agree, ["loss_tolerance"] = LossTolerance, ["models"] = report,
        });
        Console.WriteLine($"wrote {Path.GetRelativePath(Directory.GetCurrentDirectory(), json)}");
        return agree ? 0 : 1;
    }

    private static string F(double value, int decimals) => value.ToString("F" + decimals, CultureInfo.InvariantCulture);

    private static StepOptions Parse(string[] args)
    {
        int? steps = null;
        int repeats = 5, rounds = 2, warmupMilliseconds = 1000, threads = 1;
        string? json = null, optimizer = "sgd";
        bool countCalls = false, phases = true;
        IReadOnlyList<StepModel> models = StepModel.Default;
        HashSet<string>? implementations = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Count() => int.TryParse(Value(), CultureInfo.InvariantCulture, out var n) && n > 0
                ? n : throw new ArgumentException($"{args[i - 1]} needs a positive integer, not '{args[i]}'.");
            switch (args[i])
            {
                case "--steps": steps = Count(); break;
                case "--repeats": repeats = Count(); break;
                case "--rounds": rounds = Count(); break;
                case "--warmup-ms": warmupMilliseconds = Count(); break;
                case "--threads": threads = Count(); break;
                case "--json": json = Path.GetFullPath(Value()); break;
                case "--count-calls": countCalls = true; break;
                case "--no-phases": phases = false; break;
                case "--optimizer":
                    optimizer = Value();
                    if (!StepModel.Optimizers.Contains(optimizer))
                        throw new ArgumentException($"--optimizer takes {string.Join(" or ", StepModel.Optimizers)}, not '{optimizer}'.");
                    break;
                case "--model":
                    var names = Value().Split(',', StringSplitOptions.RemoveEmptyEntries);
                    models = [.. StepModel.All.Where(m => names.Contains(m.Name))];
                    if (names.Length == 0 || models.Count != names.Distinct().Count())
                        throw new ArgumentException($"--model takes a comma-separated subset of {string.Join(",", StepModel.All.Select(m => m.Name))}, not '{args[i]}'.");
                    break;
                case "--impl":
                    implementations = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries)];
                    if (implementations.Count == 0 || implementations.Except(Order).Any())
                        throw new ArgumentException($"--impl takes a comma-separated subset of {string.Join(",", Order)}, not '{args[i]}'.");
                    break;
                default:
                    throw new ArgumentException($"Unknown option '{args[i]}'. Options: --steps --repeats --rounds --warmup-ms --threads --model --impl --optimizer --count-calls --no-phases --json.");
            }
        }
        // torch.optim.SGD without momentum has no foreach path to compare with: py-foreach runs with Adam only.
        implementations ??= [.. Order.Where(impl => impl != "py-foreach" || optimizer == "adam")];
        if (implementations.Contains("py-foreach") && optimizer != "adam")
            throw new ArgumentException("--impl py-foreach needs --optimizer adam (it is torch.optim.Adam(foreach=True)).");
        return new StepOptions(steps, repeats, rounds, warmupMilliseconds, threads, models, implementations, optimizer, json, countCalls, phases);
    }

    private static (Dictionary<string, StepTimings> Results, string Blas) RunChild(string program, string[] arguments)
    {
        var (exit, output) = OpsBenchmark.Execute(program, arguments);
        if (exit != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {exit}:\n{output}");
        var results = new Dictionary<string, StepTimings>();
        string blas = "unknown";
        static double[] Numbers(string list) => [.. list.Split(',').Select(t => double.Parse(t, CultureInfo.InvariantCulture))];
        foreach (var line in output.Split('\n'))
        {
            // EQX_RESULT <model> <wall µs/step per repeat> <CPU µs/step per repeat> <faults/step per repeat> <loss after 100 steps>
            var parts = line.Trim().Split(' ');
            if (parts.Length == 6 && parts[0] == "EQX_RESULT")
                results[parts[1]] = new StepTimings(Numbers(parts[2]), Numbers(parts[3]), Numbers(parts[4]), double.Parse(parts[5], CultureInfo.InvariantCulture));
            if (parts.Length == 2 && parts[0] == "EQX_BLAS") blas = parts[1];
        }
        if (results.Count == 0) throw new InvalidOperationException($"{program} printed no EQX_RESULT line:\n{output}");
        return (results, blas);
    }

    private static void PrintTable(string[] header, List<string[]> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        string Line(string[] cells) => "| " + string.Join(" | ", cells.Select((cell, i) => i == 0 ? cell.PadRight(widths[i]) : cell.PadLeft(widths[i]))) + " |";
        Console.WriteLine(Line(header));
        Console.WriteLine("|" + string.Join("|", widths.Select((w, i) => i == 0 ? new string('-', w + 2) : new string('-', w + 1) + ":")) + "|");
        foreach (var row in rows) Console.WriteLine(Line(row));
    }

    private static void WriteJson(string path, Dictionary<string, object?> document)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var stream = File.Create(path);
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        WriteValue(writer, document);
        writer.Flush();
        stream.WriteByte((byte)'\n');
    }

    private static void WriteValue(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null: writer.WriteNullValue(); break;
            case string s: writer.WriteStringValue(s); break;
            case bool b: writer.WriteBooleanValue(b); break;
            case int n: writer.WriteNumberValue(n); break;
            case double d: writer.WriteNumberValue(d); break;
            case double[] list:
                writer.WriteStartArray();
                foreach (var d in list) writer.WriteNumberValue(Math.Round(d, 3));
                writer.WriteEndArray();
                break;
            case Dictionary<string, object?> map:
                writer.WriteStartObject();
                foreach (var (k, v) in map)
                {
                    writer.WritePropertyName(k);
                    WriteValue(writer, v);
                }
                writer.WriteEndObject();
                break;
            case IEnumerable<Dictionary<string, object?>> items:
                writer.WriteStartArray();
                foreach (var item in items) WriteValue(writer, item);
                writer.WriteEndArray();
                break;
            default: throw new InvalidOperationException($"no JSON form for {value.GetType()}");
        }
    }
}
