// QuickStart: fit an MLP to y = sin(2 x0) * x1 on synthetic data, with a live progress display.
// Run from the repository root: dotnet run --project examples/QuickStart
using Equinox;
using Equinox.Nn;
using Equinox.Optim;
using Equinox.Tensors;
using Spectre.Console;

const int samples = 512, steps = 600;

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
double initialLoss = 0, finalLoss = 0;
AnsiConsole.Progress()
    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
    .Start(context =>
    {
        var task = context.AddTask("training", maxValue: steps);
        for (int step = 0; step < steps; step++)
        {
            finalLoss = Step();
            if (step == 0) initialLoss = finalLoss;
            task.Description = $"step {step + 1,4}  loss {finalLoss:F5}";
            task.Increment(1);
        }
    });

AnsiConsole.MarkupLine($"initial loss [yellow]{initialLoss:F5}[/] → final loss [green]{finalLoss:F5}[/]");
return finalLoss < initialLoss / 4 ? 0 : 1;
