// QuickStart: fit a two-layer network to y = sin(2 x0) * x1 on synthetic data, with a live progress display.
// Run from the repository root: dotnet run --project examples/QuickStart
using Equinox.Torch;
using Spectre.Console;

const int samples = 512, hidden = 64, steps = 600;
const double learningRate = 0.1;

var (dataKey, initKey) = Key.Create(0).Split();
var (xKey, noiseKey) = dataKey.Split();
var initKeys = initKey.Split(2);

// Synthetic data: x uniform in [-1, 1]^2, y = sin(2 x0) * x1 plus a little noise.
var x = Tensor.Uniform(xKey, [samples, 2], -1, 1);
var target = ((x[.., 0] * 2).Sin() * x[.., 1]).Unsqueeze(1) + Tensor.Normal(noiseKey, [samples, 1]) * 0.01;

// Parameters: leaves that record gradients, initialised like PyTorch's Linear (uniform in ±1/sqrt(fan_in)).
Tensor Init(Key key, long[] shape, long fanIn) =>
    Tensor.Uniform(key, shape, -1 / Math.Sqrt(fanIn), 1 / Math.Sqrt(fanIn)).WithRequiresGrad();
var parameters = new[]
{
    Init(initKeys[0].FoldIn(0), [2, hidden], 2), Init(initKeys[0].FoldIn(1), [hidden], 2),
    Init(initKeys[1].FoldIn(0), [hidden, 1], hidden), Init(initKeys[1].FoldIn(1), [1], hidden),
};

Tensor Predict(Tensor input) =>
    (input.Matmul(parameters[0]) + parameters[1]).Tanh().Matmul(parameters[2]) + parameters[3];

double Step()
{
    // Every tensor made in this step is freed when the scope closes: memory stays flat however long we train.
    using var scope = Torch.Scope();
    var loss = Functional.MseLoss(Predict(x), target);
    var grads = Autograd.Grad(loss, parameters);
    using (Torch.NoGrad())
        for (int i = 0; i < parameters.Length; i++) parameters[i].AddInPlace(grads[i]!, -learningRate);
    return loss.Item<double>();
}

AnsiConsole.MarkupLine($"[bold]Equinox QuickStart[/] — LibTorch {Torch.Version}, {samples} samples, {steps} steps of full-batch SGD");
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
