// DataParallel: train an MLP on several processes at once, each on its share of every batch, on PyTorch's c10d (Gloo).
//
//   dotnet run --project examples/DataParallel -- --nproc 2      starts 2 workers of itself on this machine
//   MASTER_ADDR=... MASTER_PORT=... RANK=... WORLD_SIZE=... dotnet examples/DataParallel/bin/.../DataParallel.dll
//                                                               one worker, as torchrun starts it (also on other machines)
//   dotnet run --project examples/DataParallel                  one process, no group
//
// Options: --steps N (200), --batch B (global batch, 256), --width W (64), --log K (print every K steps, 20),
// --timeout S (collective timeout in seconds, 60), --dump FILE (write the final parameters, float32, little-endian;
// with {rank} replaced by the rank), --sgd (plain SGD, lr 0.1, instead of Adam), --wide (a 1024-wide MLP and 4096
// examples per epoch, for timing).
using System.Globalization;
using Equinox;
using Equinox.Distributed;
using Equinox.Nn;
using Equinox.Optim;
using Equinox.Tensors;

var options = Options.Parse(args);
if (options.Processes > 0 && !ProcessGroup.IsWorkerEnvironment)
    return DistributedLauncher.Run(options.Processes, options.WorkerArguments);

using var group = ProcessGroup.IsWorkerEnvironment
    ? ProcessGroup.InitFromEnvironment(TimeSpan.FromSeconds(options.TimeoutSeconds))
    : ProcessGroup.Init(0, 1, "127.0.0.1", DistributedLauncher.FreePort(), TimeSpan.FromSeconds(options.TimeoutSeconds));
if (group.WorldSize > 1) Torch.NumThreads = 1;   // one thread per process: the processes are the parallelism

// Every rank makes the same data and the same model from the same keys; the broadcast makes sure of the weights
// (as a run whose ranks load a checkpoint on rank 0 only would need).
var (dataKey, modelKey) = Key.Create(0).Split();
var (xKey, noiseKey) = dataKey.Split();
int inputs = 8, samples = options.Wide ? 4096 : options.Batch;
var x = Tensor.Uniform(xKey, [samples, inputs], -1, 1);
var y = (x.Sum(1) * 1.5).Sin().Unsqueeze(1) + Tensor.Normal(noiseKey, [samples, 1]) * 0.01;
var model = new Mlp(inputs, 1, options.Wide ? 1024 : options.Width, depth: 2, activation: Activations.Tanh, key: modelKey);
model = group.Broadcast(model, root: 0);

Optimizer optimizer = options.Sgd ? new Sgd(learningRate: 0.1) : new Adam(learningRate: 1e-3);
var state = optimizer.Init(model);
var lossAndGrads = Eqx.FilterValueAndGrad((Mlp m, Tensor input, Tensor target) => Functional.MseLoss(m.Forward(input), target));

if (group.Rank == 0)
    Console.WriteLine($"{Torch.Config}\n{group.WorldSize} process(es), global batch {options.Batch}, {options.Steps} steps");

// Each rank takes its contiguous share of every global batch: the mean of the ranks' mean-loss gradients is the
// gradient of the whole batch's mean loss.
int share = options.Batch / group.WorldSize;
if (share * group.WorldSize != options.Batch)
{
    Console.Error.WriteLine($"--batch {options.Batch} does not split evenly over {group.WorldSize} processes.");
    return 2;
}
int batchesPerEpoch = samples / options.Batch;
for (int step = 0; step < options.Steps; step++)
{
    using var scope = Torch.Scope();
    long start = (long)(step % batchesPerEpoch) * options.Batch + (long)group.Rank * share;
    var input = x[TensorIndex.Slice(start, start + share)];
    var target = y[TensorIndex.Slice(start, start + share)];
    var (loss, grads) = lossAndGrads(model, input, target);
    grads = group.AllReduceMean(grads);                 // a few flat buffers per dtype, not one call per leaf
    (model, state) = optimizer.Step(model, grads, state);
    foreach (var leaf in Eqx.Leaves(model)) scope.MoveOut(leaf);   // the new model and state outlive the step
    foreach (var leaf in Eqx.Leaves(state)) scope.MoveOut(leaf);
    if ((step + 1) % options.Log == 0 || step + 1 == options.Steps)
        Console.WriteLine($"step {step + 1} loss {loss.Item<float>().ToString("F6", CultureInfo.InvariantCulture)}");
}

if (options.Dump is { } dump)
{
    var path = dump.Replace("{rank}", group.Rank.ToString(CultureInfo.InvariantCulture));
    using var file = File.Create(path);
    foreach (var leaf in Eqx.Leaves(model)) file.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(leaf.ToArray<float>().AsSpan()));
}
group.Barrier();
return 0;

internal sealed record Options(int Processes, int Steps, int Batch, int Width, int Log, double TimeoutSeconds, string? Dump,
    bool Wide, bool Sgd, string[] WorkerArguments)
{
    public static Options Parse(string[] args)
    {
        int processes = 0, steps = 200, batch = 256, width = 64, log = 20;
        double timeout = 60;
        string? dump = null;
        bool wide = false, sgd = false;
        var worker = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            int first = i;
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int NextInt() => int.Parse(Next(), CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--nproc": processes = NextInt(); continue;
                case "--steps": steps = NextInt(); break;
                case "--batch": batch = NextInt(); break;
                case "--width": width = NextInt(); break;
                case "--log": log = NextInt(); break;
                case "--timeout": timeout = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--dump": dump = Next(); break;
                case "--wide": wide = true; break;
                case "--sgd": sgd = true; break;
                default: throw new ArgumentException($"unknown option {args[i]}; see the comment at the top of Program.cs.");
            }
            worker.AddRange(args[first..(i + 1)]);   // the workers get every option but --nproc
        }
        return new Options(processes, steps, batch, width, log, timeout, dump, wide, sgd, worker.ToArray());
    }
}
