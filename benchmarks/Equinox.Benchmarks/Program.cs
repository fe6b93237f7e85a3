using Equinox.Benchmarks;

// dotnet run -c Release --project benchmarks/Equinox.Benchmarks -- <mode> [options]
if (args.Length > 0 && args[0] == "trees") return TreesBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "vmap") return VmapBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "jit") return JitBenchmark.Run(args[1..]);

Console.Error.WriteLine("""
    usage: Equinox.Benchmarks trees [--iters N] | vmap [--batch N] [--seconds S] | jit [--rounds N] [--calls N]
      trees   flatten + unflatten of generated modules (10, 1,000, 10,000 leaves) against a reflection walker.
      vmap    FilterVmap against a loop + stack: an MLP forward and per-example gradients over a batch.
      jit     FilterJit's added cost per cached call on a 256-leaf MLP, against calling the function directly.
    """);
return 2;
