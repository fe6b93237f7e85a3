// QuickStart: fit an MLP to y = sin(2 x0) * x1 on synthetic data, with a live progress display, a summary table and
// the loss curve written as a PNG (its path is printed).
// Run from the repository root: dotnet run --project examples/QuickStart [-- --steps N --out DIR]
using Equinox;
using Equinox.Examples;
using Equinox.Nn;
using Equinox.Optim;
using Equinox.Tensors;
using Spectre.Console;

const int samples = 512;
var options = ExampleOptions.Parse(args, defaultSteps: 600);
int steps = options.Steps;

var (dataKey, modelKey) = Key.Create(0).Split();
var (xKey, noiseKey) = dataKey.Split();

// Synthetic data: x uniform in [-1, 1]^2, y = sin(2 x0) * x1 plus a little noise.
var x = Tensor.Uniform(xKey, [samples, 2], -1, 1);
var y = ((x[.., 0] * 2).Sin() * x[.., 1]).Unsqueeze(1) + Tensor.Normal(noiseKey, [samples, 1]) * 0.01;

// The model is an immutable tree of tensors; training makes a new one each step.
var model = new Mlp(inSize: 2, outSize: 1, widthSize: 64, depth: 2, activation: Activations.Tanh, key: modelKey);
var optimizer = new Adam(learningRate: Schedule.CosineDecay(0.01, steps));   // or a number: new Adam(1e-3)
var state = optimizer.Init(model);   // Adam's moments: a tree shaped like the model, plus a step count
var lossAndGrads = Eqx.FilterValueAndGrad((Mlp m, Tensor input, Tensor target) =>
    Functional.MseLoss(m.Forward(input), target));

// One compiled step: forward, backward and the Adam update. The model and the optimiser state are donated, so the
// update is written into their memory and the step never holds two copies of either.
var step = Eqx.FilterJit((Mlp m, OptimizerState<Mlp> s, Tensor input, Tensor target) =>
{
    var (loss, grads) = lossAndGrads(m, input, target);
    var (next, nextState) = optimizer.Step(m, grads, s);
    return (next, nextState, loss);
}, donate: Donate.Arg1 | Donate.Arg2);

double Step()
{
    (model, state, var loss) = step.Invoke(model, state, x, y);
    using (loss) return loss.Item<double>();
}

Console.WriteLine(Torch.Config);   // one line: LibTorch version, the BLAS in use, intra-op threads, CUDA devices
AnsiConsole.MarkupLine($"[bold]Equinox QuickStart[/] — {samples} samples, {steps} steps of full-batch Adam");
AnsiConsole.WriteLine(model.ToString());
var log = Training.Run(steps, _ => Step());

AnsiConsole.MarkupLine($"initial loss [yellow]{log.InitialLoss:F5}[/] → final loss [green]{log.FinalLoss:F5}[/]");
Summary.Print("QuickStart", [.. Summary.TrainingRows(log), ("optimizer", "Adam, cosine decay from 0.01")]);
LossCurve.Write(log, options.OutputDirectory, "QuickStart");
return log.FinalLoss < log.InitialLoss / 4 ? 0 : 1;
