using Equinox.Nn;
using Equinox.Optim;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Nn;

// State, StateIndex, MakeWithState and BatchNorm: running statistics as PyTorch keeps them, and the mistakes a State
// makes impossible to miss.
public class StateTests
{
    private static Tensor[] Batches(int count, params long[] shape) =>
        Key.Create(40).Split(count).Select((k, i) => Tensor.Normal(k, shape, DType.Float64) * (1 + i) + i).ToArray();

    [Test]
    public void BatchModeKeepsPyTorchsRunningStatisticsOverSeveralStepsAndUsesThemInInference()
    {
        using var scope = Torch.Scope();
        var layer = new BatchNorm(3, momentum: 0.9, dtype: DType.Float64);
        layer = Eqx.TreeAt(layer, l => l.Weight!, Tensor.FromArray(new[] { 1.5, -0.5, 2.0 }));
        layer = Eqx.TreeAt(layer, l => l.Bias!, Tensor.FromArray(new[] { 0.1, 0.2, -0.3 }));
        var (model, state) = Eqx.MakeWithState(layer);
        var xs = Batches(3, 4, 3, 5, 5);
        var outputs = new List<Tensor>();
        foreach (var x in xs)
        {
            (var y, state) = model.Forward(x, state);
            outputs.Add(y);
        }
        var (evalOut, evalState) = Eqx.InferenceMode(model).Forward(xs[0], state);
        Assert.That(evalState, Is.SameAs(state), "inference leaves the state as it is");

        const string python = """
            bn = torch.nn.BatchNorm2d(3, momentum=0.1).double()
            with torch.no_grad():
                bn.weight.copy_(w); bn.bias.copy_(b)
            ys = [bn(x) for x in (x0, x1, x2)]
            bn.eval()
            out = (*ys, bn(x0), bn.running_mean, bn.running_var)
            """;
        var expected = PyTorchOracle.Run(python, ("w", model.Weight!), ("b", model.Bias!), ("x0", xs[0]), ("x1", xs[1]), ("x2", xs[2]));
        for (int i = 0; i < 3; i++) OracleAssert.Close(outputs[i], expected.Outputs[i], what: $"training output {i}");
        OracleAssert.Close(evalOut, expected.Outputs[3], what: "inference output");
        var statistics = state.Get(model.Statistics);
        OracleAssert.Close(statistics[0], expected.Outputs[4], what: "running mean");
        OracleAssert.Close(statistics[1], expected.Outputs[5], what: "running variance (unbiased)");
    }

    [Test]
    public void BatchNormGradientsMatchPyTorch()
    {
        using var scope = Torch.Scope();
        var (model, state) = Eqx.MakeWithState(new BatchNorm(2, dtype: DType.Float64));
        var w = Tensor.FromArray(new[] { 0.7, 1.3 }).WithRequiresGrad();
        var b = Tensor.FromArray(new[] { -0.2, 0.4 }).WithRequiresGrad();
        model = Eqx.TreeAt(Eqx.TreeAt(model, l => l.Weight!, w), l => l.Bias!, b);
        var x = Batches(1, 6, 2)[0].WithRequiresGrad();
        var (y, _) = model.Forward(x, state);
        var loss = (y * y.Tanh()).Sum();
        var grads = Autograd.Grad(loss, x, w, b);
        var expected = PyTorchOracle.RunWithGrad(
            "y = F.batch_norm(x, torch.zeros(2, dtype=x.dtype), torch.ones(2, dtype=x.dtype), w, b, training=True)\nout = (y * y.tanh()).sum()",
            ("x", x), ("w", w), ("b", b));
        OracleAssert.Close(loss, expected.Out);
        OracleAssert.Grads(expected, grads, "x", "w", "b");
    }

    [Test]
    public void EmaModeFillsItsStatisticsFromTheFirstBatchThenAveragesBeforeUse()
    {
        using var scope = Torch.Scope();
        var (model, state) = Eqx.MakeWithState(new BatchNorm(2, BatchNormMode.Ema, eps: 1e-3, momentum: 0.75, dtype: DType.Float64));
        var xs = Batches(2, 8, 2);
        (var y0, state) = model.Forward(xs[0], state);
        (var y1, state) = model.Forward(xs[1], state);

        // The formula written out: batch mean and biased variance, the first ones taken as they are.
        static (double[] Mean, double[] Var) Stats(Tensor x) =>
            (x.Mean(0).ToArray<double>(), (x - x.Mean(0)).Square().Mean(0).ToArray<double>());
        var (m0, v0) = Stats(xs[0]);
        var (m1, v1) = Stats(xs[1]);
        var mean = m0.Zip(m1, (a, c) => 0.75 * a + 0.25 * c).ToArray();
        var variance = v0.Zip(v1, (a, c) => 0.75 * a + 0.25 * c).ToArray();
        var x1 = xs[1].ToArray<double>();
        var want1 = x1.Select((v, i) => (v - mean[i % 2]) / Math.Sqrt(variance[i % 2] + 1e-3)).ToArray();
        var x0 = xs[0].ToArray<double>();
        var want0 = x0.Select((v, i) => (v - m0[i % 2]) / Math.Sqrt(v0[i % 2] + 1e-3)).ToArray();
        Assert.That(y0.ToArray<double>(), Is.EqualTo(want0).Within(1e-12));
        Assert.That(y1.ToArray<double>(), Is.EqualTo(want1).Within(1e-12));
        var stored = state.Get(model.Statistics);
        Assert.That(stored[0].Item<bool>(), Is.False, "the first-time flag is cleared");
        Assert.That(stored[1].ToArray<double>(), Is.EqualTo(mean).Within(1e-12));
        Assert.That(stored[2].ToArray<double>(), Is.EqualTo(variance).Within(1e-12));
    }

    [Test]
    public void MakeWithStateNamesEachIndexByItsPathAndTakesTheInitialValuesOutOfTheModel()
    {
        using var scope = Torch.Scope();
        var keys = Key.Create(41).Split(2);
        var built = new Sequential(new Linear(3, 4, keys[0]), new BatchNorm(4), new Lambda(Activations.Relu), new BatchNorm(4, BatchNormMode.Ema));
        var leavesBefore = Eqx.LeafCount(built);
        var (model, state) = Eqx.MakeWithState(built);
        Assert.That(state.Entries.Keys.Order(), Is.EqualTo(new[] { "Layers[1].Statistics", "Layers[3].Statistics" }));
        Assert.That(state.Entries["Layers[3].Statistics"].Values.Length, Is.EqualTo(3));
        Assert.That(Eqx.LeafCount(model), Is.EqualTo(leavesBefore - 5), "the 2 + 3 initial statistics moved into the State");
        Assert.That(Eqx.LeafPaths(state).Select(p => p.ToString()), Does.Contain("Entries[\"Layers[1].Statistics\"].Values[0]"));

        var e = Assert.Throws<InvalidOperationException>(() => Eqx.MakeWithState(model))!;
        Assert.That(e.Message, Does.StartWith("MakeWithState: the StateIndex at Layers[1].Statistics already gave its initial values to a State"));
        var fresh = new BatchNorm(4);
        var e2 = Assert.Throws<InvalidOperationException>(() => fresh.Forward(Tensor.Ones(2, 4), state))!;
        Assert.That(e2.Message, Does.StartWith("State.Get: this StateIndex has no State yet. Build the model's state first: `var (model, state) = Eqx.MakeWithState(model);`."));
    }

    [Test]
    public void AStateUsedAfterItWasSupersededIsAnErrorThatSaysSo()
    {
        using var scope = Torch.Scope();
        var (model, state) = Eqx.MakeWithState(new BatchNorm(2));
        var x = Tensor.Normal(Key.Create(42), [5, 2]);
        var (_, next) = model.Forward(x, state);
        var e = Assert.Throws<InvalidOperationException>(() => model.Forward(x, state))!;
        Assert.That(e.Message, Does.StartWith("State.Get: this State was superseded: a stateful layer already returned a newer one from it."));
        Assert.DoesNotThrow(() => model.Forward(x, next));

        var (other, otherState) = Eqx.MakeWithState(new Sequential(new BatchNorm(2)));
        var e2 = Assert.Throws<InvalidOperationException>(() => model.Forward(x, otherState))!;
        Assert.That(e2.Message, Is.EqualTo("State.Get: this State has no entry 'Statistics'; it was made for another model. It has: Layers[0].Statistics."));
    }

    [Test]
    public void StateSetKeepsShapesAndDTypes()
    {
        using var scope = Torch.Scope();
        var (model, state) = Eqx.MakeWithState(new BatchNorm(2));
        var e = Assert.Throws<ArgumentException>(() => state.Set(model.Statistics, Tensor.Zeros(3), Tensor.Ones(2)))!;
        Assert.That(e.Message, Does.StartWith("State.Set: value 0 of Statistics is f32[2], but the new one is f32[3]; a state keeps its shapes and dtypes."));
        var e2 = Assert.Throws<ArgumentException>(() => state.Set(model.Statistics, Tensor.Zeros(2)))!;
        Assert.That(e2.Message, Does.StartWith("State.Set: Statistics holds 2 values; got 1."));
    }

    [Test]
    public void BatchNormRejectsAnInputWithoutABatchOrWithTheWrongChannels()
    {
        using var scope = Torch.Scope();
        var (model, state) = Eqx.MakeWithState(new BatchNorm(3));
        var e = Assert.Throws<ArgumentException>(() => model.Forward(Tensor.Zeros(4, 5), state))!;
        Assert.That(e.Message, Does.StartWith("BatchNorm(3) expects a batch [N, 3, ...]; got f32[4,5]."));
        Assert.Throws<ArgumentException>(() => model.Forward(Tensor.Zeros(3), state));
        var holed = Eqx.Filter(model, _ => false);
        var e2 = Assert.Throws<TreeHoleException>(() => holed.Forward(Tensor.Zeros(2, 3), state))!;
        Assert.That(e2.Message, Does.Contain("BatchNorm.Weight"));
    }

    [Test]
    public void ASequentialWithBatchNormNeedsTheStateAndThreadsIt()
    {
        using var scope = Torch.Scope();
        var (model, state) = Eqx.MakeWithState(new Sequential(new Linear(2, 3, Key.Create(43)), new BatchNorm(3)));
        var x = Tensor.Normal(Key.Create(44), [8, 2]);
        var e = Assert.Throws<InvalidOperationException>(() => model.Forward(x))!;
        Assert.That(e.Message, Is.EqualTo("Sequential.Layers[1] (BatchNorm) is stateful: call Forward(x, state), with the state from Eqx.MakeWithState(model)."));
        var (y, next) = model.Forward(x, state);
        Assert.That(y.Mean(0).Abs().Max().Item<float>(), Is.LessThan(1e-5f), "each channel is centred over the batch");
        Assert.That(next, Is.Not.SameAs(state));
        Assert.That(next.Get(((BatchNorm)model[1]).Statistics)[0].Abs().Sum().Item<float>(), Is.GreaterThan(0f), "the running mean moved");
    }

    [Test]
    public void AJittedTrainingStepTakesAndDonatesTheStateAndEqualsTheEagerSteps()
    {
        var built = new Sequential(new Linear(2, 4, Key.Create(45)), new BatchNorm(4), new Lambda(Activations.Tanh), new Linear(4, 1, Key.Create(46)));
        var x = Tensor.Normal(Key.Create(47), [16, 2]);
        var target = x.Sum(1, keepdim: true).Sin();
        var adam = new Adam(0.05);
        (Sequential, State, OptimizerState<Sequential>, Tensor) Step(Sequential m, State s, OptimizerState<Sequential> o, Tensor xs)
        {
            var (loss, next, grads) = Eqx.FilterValueAndGradWithAux((Sequential mm) =>
            {
                var (y, n) = mm.Forward(xs, s);
                return ((y - target).Square().Mean(), n);
            })(m);
            var (m2, o2) = adam.Step(m, grads, o);
            return (m2, next, o2, loss);
        }

        var (eagerModel, eagerState) = Eqx.MakeWithState(built);
        var eagerOpt = adam.Init(eagerModel);
        var eagerLosses = new List<float>();
        for (int i = 0; i < 4; i++)
        {
            (eagerModel, eagerState, eagerOpt, var loss) = Step(eagerModel, eagerState, eagerOpt, x);
            eagerLosses.Add(loss.Item<float>());
        }

        var step = Eqx.FilterJit<Sequential, State, OptimizerState<Sequential>, Tensor, (Sequential, State, OptimizerState<Sequential>, Tensor)>(
            Step, donate: Donate.Arg1 | Donate.Arg2 | Donate.Arg3);
        var (model, state) = Eqx.MakeWithState(built);
        var opt = adam.Init(model);
        var losses = new List<float>();
        for (int i = 0; i < 4; i++)
        {
            (model, state, opt, var loss) = step.Invoke(model, state, opt, x);
            losses.Add(loss.Item<float>());
        }
        Assert.That(losses, Is.EqualTo(eagerLosses).Within(1e-6));
        Assert.That(losses[^1], Is.LessThan(losses[0]));
        var statistics = Eqx.Leaves(state).Select(t => t.ToArray<float>()).ToArray();
        var eagerStatistics = Eqx.Leaves(eagerState).Select(t => t.ToArray<float>()).ToArray();
        Assert.That(statistics, Is.EqualTo(eagerStatistics).Within(1e-6));
    }
}
