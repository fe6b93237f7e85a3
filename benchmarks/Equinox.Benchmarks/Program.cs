using Equinox.Benchmarks;

// dotnet run -c Release --project benchmarks/Equinox.Benchmarks -- <mode> [options]   (see benchmarks/README.md)
if (args.Length > 0 && args[0] == "ops") return OpsBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "step") return StepBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "step-calls") return StepCalls.RunChild(args[1..]);
if (args.Length > 0 && args[0] == "overhead") return Overhead.Run(args[1..]);
if (args.Length > 0 && args[0] == "trees") return TreesBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "vmap") return VmapBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "jit") return JitBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "memory") return MemoryBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "checkpoint") return CheckpointBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "distributed") return DistributedBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "distributed-worker") return DistributedBenchmark.Worker(args[1..]);
if (args.Length > 0 && args[0] == "checkpoint-load") return CheckpointBenchmark.Load(args[1..]);

Console.Error.WriteLine("""
    usage: Equinox.Benchmarks <mode> [options]
      ops [--iters N] [--repeats R] [--warmup W] [--warmup-ms MS] [--rounds K] [--case NAME] [--impl cs,cpp,py]
                 relu(matmul(x, w) + b) with and without autograd, timed in C#, raw LibTorch C++ and PyTorch side by side.
      step [--optimizer sgd|adam] [--steps N] [--repeats R] [--rounds K] [--warmup-ms MS] [--threads T] [--model small,wide,deep]
           [--impl cs-jit,cs,cpp,py,py-foreach] [--count-calls] [--no-phases] [--json PATH]
                 SGD or Adam training steps of a small, a wide and a 50-layer MLP: C# with FilterJit and donation, C# without,
                 LibTorch C++ (torch::nn + torch::optim) and PyTorch eager (Adam also with foreach=True), side by side;
                 results also as JSON in benchmarks/results.
      overhead [iterations]
                 the binding's own cost per op (a near-free native op, Alias, in and out of scopes).
      trees [--iters N]
                 flatten + unflatten of generated modules (10, 1,000, 10,000 leaves) against a reflection walker.
      vmap [--batch N] [--seconds S]
                 FilterVmap against a loop + stack: an MLP forward and per-example gradients over a batch.
      jit [--rounds N] [--calls N]
                 FilterJit's added cost per cached call on a 256-leaf MLP, against calling the function directly.
      memory [--width N] [--layers N] [--batch N]
                 peak CPU memory of a training step with and without donating the model.
      distributed [--rounds K] [--iters N] [--repeats R] [--sizes 1,16,64] [--epochs E] [--impl cs,py]
                 all-reduce of 1/16/64 MiB float32 between 2 local processes, C# against Python torch.distributed (Gloo),
                 and a 2-process data-parallel epoch of the wide MLP against 1 process.
      checkpoint [--mb N]
                 saves an N-megabyte safetensors checkpoint (1024) and loads it in a fresh process: peak resident memory.
    """);
return 2;
