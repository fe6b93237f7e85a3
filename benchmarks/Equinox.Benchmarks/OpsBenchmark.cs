using Equinox.Tensors;
using System.Diagnostics;
using System.Globalization;

namespace Equinox.Benchmarks;

/// <summary>Iteration counts and selections shared by the three implementations (passed to the children as flags).</summary>
internal sealed record OpsOptions(int Iterations, int Repeats, int Warmup, int WarmupMilliseconds, int Rounds, string? Case,
    IReadOnlySet<string> Implementations)
{
    public string[] ChildArguments =>
    [
        "--iters", Iterations.ToString(CultureInfo.InvariantCulture),
        "--repeats", Repeats.ToString(CultureInfo.InvariantCulture),
        "--warmup", Warmup.ToString(CultureInfo.InvariantCulture),
        "--warmup-ms", WarmupMilliseconds.ToString(CultureInfo.InvariantCulture),
        .. Case is null ? Array.Empty<string>() : ["--case", Case],
    ];
}

/// <summary>
/// The side-by-side op-loop benchmark: builds benchmarks/native/ops_loop.cpp against the shim's LibTorch, runs it and
/// benchmarks/python/ops_loop.py as child processes, runs the C# loop in this process, and prints one table.
/// The three run in turn, <c>--rounds</c> times, so that a burst of load from elsewhere on the machine hits all of
/// them alike; every repeat of every round is a sample, and the tables show the median sample: of wall-clock time (what
/// a user waits) and of the thread's CPU time (which leaves out time other processes held the CPU: on a busy machine
/// it is the fairer comparison).
/// </summary>
internal static class OpsBenchmark
{
    private static readonly string[] Order = ["cs", "cpp", "py"];

    public static int Run(string[] args)
    {
        OpsOptions options;
        try
        {
            options = Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        var root = FindRepositoryRoot();
        var python = Environment.GetEnvironmentVariable("EQUINOX_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";
        string? native = null;
        if (options.Implementations.Contains("cpp"))
        {
            native = BuildNative(root, "ops_loop");
            if (native is null) return 1;
        }

        Console.WriteLine($"LibTorch {Torch.Version}, intra-op threads 1, float32 CPU; {options.Iterations} iterations x " +
                          $"{options.Repeats} repeats x {options.Rounds} rounds per case, after warm-up blocks of {options.Warmup} iterations for " +
                          $"at least {options.WarmupMilliseconds} ms");

        var wall = new Dictionary<(string Impl, string Case), List<double>>();
        var cpu = new Dictionary<(string Impl, string Case), List<double>>();
        for (int round = 1; round <= options.Rounds; round++)
        {
            foreach (var impl in Order)
            {
                if (!options.Implementations.Contains(impl)) continue;
                Console.Error.WriteLine($"round {round}/{options.Rounds}: {impl}");
                var results = impl switch
                {
                    "cs" => OpsLoop.Run(options),
                    "cpp" => RunChild(native!, options.ChildArguments),
                    _ => RunChild(python, [Path.Combine(root, "benchmarks", "python", "ops_loop.py"), .. options.ChildArguments]),
                };
                foreach (var (name, times) in results)
                {
                    if (!wall.TryGetValue((impl, name), out var list)) wall[(impl, name)] = list = [];
                    list.AddRange(times.Wall);
                    if (!cpu.TryGetValue((impl, name), out list)) cpu[(impl, name)] = list = [];
                    list.AddRange(times.Cpu);
                }
            }
        }

        Console.WriteLine("Wall-clock time, median µs/iter:");
        PrintTable(wall, options);
        Console.WriteLine();
        Console.WriteLine("Thread CPU time (not counting time other processes held the CPU), median µs/iter:");
        PrintTable(cpu, options);
        return 0;
    }

    private static OpsOptions Parse(string[] args)
    {
        int iterations = 20000, repeats = 5, warmup = 2000, warmupMilliseconds = 500, rounds = 2;
        string? only = null;
        var implementations = new HashSet<string>(Order);
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Count() => int.TryParse(Value(), CultureInfo.InvariantCulture, out var n) && n > 0
                ? n : throw new ArgumentException($"{args[i - 1]} needs a positive integer, not '{args[i]}'.");
            switch (args[i])
            {
                case "--iters": iterations = Count(); break;
                case "--repeats": repeats = Count(); break;
                case "--warmup": warmup = Count(); break;
                case "--warmup-ms": warmupMilliseconds = Count(); break;
                case "--rounds": rounds = Count(); break;
                case "--case":
                    only = Value();
                    if (!OpsCase.All.Any(c => c.Name == only))
                        throw new ArgumentException($"Unknown case '{only}'; the cases are {string.Join(", ", OpsCase.All.Select(c => c.Name))}.");
                    break;
                case "--impl":
                    implementations = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries)];
                    if (implementations.Count == 0 || implementations.Except(Order).Any())
                        throw new ArgumentException($"--impl takes a comma-separated subset of {string.Join(",", Order)}, not '{args[i]}'.");
                    break;
                default:
                    throw new ArgumentException($"Unknown option '{args[i]}'. Options: --iters --repeats --warmup --warmup-ms --rounds --case --impl.");
            }
        }
        return new OpsOptions(iterations, repeats, warmup, warmupMilliseconds, rounds, only, implementations);
    }

    // The folder holding Equinox.sln, looked for above the working directory and then above the program.
    internal static string FindRepositoryRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Equinox.sln"))) return dir.FullName;
        throw new InvalidOperationException("Could not find Equinox.sln above the working directory or the benchmark program; run it from the repository.");
    }

    // Configures and builds benchmarks/native into benchmarks/native/build with the LibTorch the shim was built with
    // (its Torch_DIR from the shim's CMake cache), so the C++ and C# numbers come from the same libtorch_cpu; returns
    // the path of `program` there.
    internal static string? BuildNative(string root, string program)
    {
        var source = Path.Combine(root, "benchmarks", "native");
        var build = Path.Combine(source, "build");
        var configure = new List<string> { "-S", source, "-B", build, "-DCMAKE_BUILD_TYPE=Release" };
        var shimCache = Path.Combine(root, "Equinox.Core", "obj", "native", "CMakeCache.txt");
        if (File.Exists(shimCache))
        {
            var torchDir = File.ReadLines(shimCache).FirstOrDefault(l => l.StartsWith("Torch_DIR:", StringComparison.Ordinal));
            if (torchDir is not null) configure.Add("-DTorch_DIR=" + torchDir[(torchDir.IndexOf('=') + 1)..]);
        }
        foreach (var step in new[] { configure.ToArray(), ["--build", build, "-j", "2"] })
        {
            var (exit, output) = Execute("cmake", step);
            if (exit != 0)
            {
                Console.Error.WriteLine(output);
                Console.Error.WriteLine($"Building the C++ benchmark failed (cmake {string.Join(' ', step)}); its output is above. " +
                                        "It needs cmake, g++ and LibTorch (sudo apt-get install cmake g++ libtorch-dev libopenblas0-openmp); or leave it out with --impl (naming the others).");
                return null;
            }
        }
        return Path.Combine(build, program);
    }

    private static Dictionary<string, Timings> RunChild(string program, string[] arguments)
    {
        var (exit, output) = Execute(program, arguments);
        if (exit != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {exit}:\n{output}");
        var results = new Dictionary<string, Timings>();
        static double[] Numbers(string list) => [.. list.Split(',').Select(t => double.Parse(t, CultureInfo.InvariantCulture))];
        foreach (var line in output.Split('\n'))
        {
            // EQX_RESULT <case> <wall µs/iter, one per repeat> <thread-CPU µs/iter, one per repeat>
            var parts = line.Trim().Split(' ');
            if (parts.Length == 4 && parts[0] == "EQX_RESULT") results[parts[1]] = new Timings(Numbers(parts[2]), Numbers(parts[3]));
        }
        if (results.Count == 0) throw new InvalidOperationException($"{program} printed no EQX_RESULT line:\n{output}");
        return results;
    }

    // Runs a program to completion; returns its exit code and its stdout followed by its stderr.
    internal static (int Exit, string Output) Execute(string program, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + error.Result);
    }

    private static void PrintTable(Dictionary<(string Impl, string Case), List<double>> samples, OpsOptions options)
    {
        string[] header = ["case", "C# µs/iter", "C++ µs/iter", "Python µs/iter", "C#/C++", "C#/Python"];
        var rows = new List<string[]>();
        foreach (var c in OpsCase.All)
        {
            if (options.Case is not null && options.Case != c.Name) continue;
            double? Stat(string impl) => samples.TryGetValue((impl, c.Name), out var list) && list.Count > 0 ? Median(list) : null;
            var (cs, cpp, py) = (Stat("cs"), Stat("cpp"), Stat("py"));
            static string Time(double? t) => t is { } v ? v.ToString("F2", CultureInfo.InvariantCulture) : "-";
            static string Ratio(double? a, double? b) => a is { } x && b is { } y ? (x / y).ToString("F3", CultureInfo.InvariantCulture) : "-";
            rows.Add([c.Name, Time(cs), Time(cpp), Time(py), Ratio(cs, cpp), Ratio(cs, py)]);
        }
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        string Line(string[] cells) => "| " + string.Join(" | ", cells.Select((cell, i) => i == 0 ? cell.PadRight(widths[i]) : cell.PadLeft(widths[i]))) + " |";
        Console.WriteLine(Line(header));
        Console.WriteLine("|" + string.Join("|", widths.Select((w, i) => i == 0 ? new string('-', w + 2) : new string('-', w + 1) + ":")) + "|");
        foreach (var row in rows) Console.WriteLine(Line(row));
    }

    internal static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
