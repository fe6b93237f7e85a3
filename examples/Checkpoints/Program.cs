// Train, save the model and the Adam state, resume in a fresh process, and check that the resumed run's losses equal
// those of a run that was never interrupted.
//
//   dotnet run --project examples/Checkpoints                        the demonstration
//   dotnet run --project examples/Checkpoints -- --resume PATH N     (the child) load PATH, train N steps, print losses
//   dotnet run --project examples/Checkpoints -- --write-large PATH MB   save a MB-megabyte checkpoint over and over
//                                                                     (for the test that kills a write half-way)
using System.Diagnostics;
using System.Globalization;
using Equinox;
using Equinox.Nn;
using Equinox.Optim;
using Equinox.Tensors;

const int StepsBefore = 20, StepsAfter = 20;
var adam = new Adam(0.01);
var x = Tensor.Normal(Key.Create(1), [64, 2]);
var y = (x[.., 0..1] * x[.., 1..2]).Sin();
var lossAndGrads = Eqx.FilterValueAndGrad((Mlp m) => Functional.MseLoss(m.Forward(x), y));
Mlp NewModel() => new(2, 1, 32, 2, Key.Create(0), activation: Activations.Tanh);

(Mlp, OptimizerState<Mlp>, float) Step(Mlp model, OptimizerState<Mlp> state)
{
    using var scope = Torch.Scope();
    var (loss, grads) = lossAndGrads(model);
    var (next, nextState) = adam.Step(model, grads, state);
    scope.MoveOut(Eqx.Leaves(next));
    scope.MoveOut(Eqx.Leaves(nextState));
    return (next, nextState, loss.Item<float>());
}

if (args.Length == 3 && args[0] == "--resume")
{
    var like = NewModel();
    var model = Eqx.LoadLeaves(args[1], like, prefix: "model.");
    var state = Eqx.LoadLeaves(args[1], adam.Init(like), prefix: "opt.");
    int step = int.Parse(Eqx.ReadCheckpointMetadata(args[1])["step"], CultureInfo.InvariantCulture);
    for (int i = 0; i < int.Parse(args[2], CultureInfo.InvariantCulture); i++)
    {
        (model, state, var loss) = Step(model, state);
        Console.WriteLine($"step {++step} loss {loss.ToString("R", CultureInfo.InvariantCulture)}");
    }
    return 0;
}

if (args.Length == 3 && args[0] == "--write-large")
{
    long megabytes = long.Parse(args[2], CultureInfo.InvariantCulture);
    var big = new Linear(Tensor.Normal(Key.Create(2), [megabytes * 1024, 256]), null);   // 1 MiB per 1024 rows of f32[256]
    for (int i = 0; ; i++)
    {
        Console.WriteLine($"writing {i}");
        Eqx.SaveLeaves(args[1], big, new Dictionary<string, string> { ["write"] = i.ToString(CultureInfo.InvariantCulture) });
    }
}

// The uninterrupted run.
var uninterrupted = new List<float>();
{
    var model = NewModel();
    var state = adam.Init(model);
    for (int i = 0; i < StepsBefore + StepsAfter; i++)
    {
        (model, state, var loss) = Step(model, state);
        uninterrupted.Add(loss);
    }
}

// The same run, saved after StepsBefore steps and resumed in a fresh process.
var path = Path.Combine(Path.GetTempPath(), $"equinox-checkpoint-{Environment.ProcessId}.safetensors");
{
    var model = NewModel();
    var state = adam.Init(model);
    for (int i = 0; i < StepsBefore; i++) (model, state, _) = Step(model, state);
    Eqx.SaveLeaves(path, [("model.", model), ("opt.", state)], new Dictionary<string, string> { ["step"] = StepsBefore.ToString(CultureInfo.InvariantCulture) });
    Console.WriteLine($"saved after {StepsBefore} steps: {path} ({new FileInfo(path).Length} bytes, {Eqx.LeafCount(model)} model and {Eqx.LeafCount(state)} Adam tensors)");
}

// Run this program again as a child: `dotnet Checkpoints.dll` or the native apphost.
var self = Environment.ProcessPath!;
var childArguments = new List<string>();
if (Path.GetFileNameWithoutExtension(self) == "dotnet") childArguments.Add(Environment.GetCommandLineArgs()[0]);   // the .dll
childArguments.AddRange(["--resume", path, StepsAfter.ToString(CultureInfo.InvariantCulture)]);
var child = Process.Start(new ProcessStartInfo(self, childArguments) { RedirectStandardOutput = true })!;
var resumed = new List<float>();
while (child.StandardOutput.ReadLine() is { } line)
{
    Console.WriteLine($"  resumed: {line}");
    resumed.Add(float.Parse(line.Split(' ')[^1], CultureInfo.InvariantCulture));
}
child.WaitForExit();
File.Delete(path);

bool equal = resumed.SequenceEqual(uninterrupted.Skip(StepsBefore));
Console.WriteLine($"uninterrupted steps {StepsBefore + 1}-{StepsBefore + StepsAfter}: {uninterrupted[StepsBefore]:G6} ... {uninterrupted[^1]:G6}");
Console.WriteLine($"resumed losses equal the uninterrupted run's: {equal}");
return child.ExitCode == 0 && equal ? 0 : 1;
