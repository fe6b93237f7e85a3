using Equinox.Benchmarks;

// dotnet run -c Release --project benchmarks/Equinox.Benchmarks -- ops [options]   (see benchmarks/README.md)
if (args.Length > 0 && args[0] == "ops") return OpsBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "overhead") return Overhead.Run(args[1..]);

Console.Error.WriteLine("""
    usage: Equinox.Benchmarks ops [--iters N] [--repeats R] [--warmup W] [--warmup-ms MS] [--rounds K] [--case NAME] [--impl cs,cpp,py]
      ops   relu(matmul(x, w) + b) with and without autograd, timed in C#, raw LibTorch C++ and PyTorch side by side.
    usage: Equinox.Benchmarks overhead [iterations]
      overhead   the binding's own cost per op (a near-free native op, Alias, in and out of scopes).
    """);
return 2;
