using Equinox.Nn;
using Equinox.Optim;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Nn;

/// <summary>A GRU read over a time-major sequence <c>[T, B, 2]</c> with Eqx.Scan, then a linear head on the last state.</summary>
[Module]
public sealed partial class SequenceClassifier
{
    public readonly GRUCell Cell;
    public readonly Linear Head;

    public SequenceClassifier(int hidden, Key key)
    {
        var (cellKey, headKey) = key.Split();
        Cell = new GRUCell(2, hidden, cellKey);
        Head = new Linear(hidden, 1, headKey);
    }

    /// <summary>One logit per sequence, <c>[B]</c>.</summary>
    public Tensor Logits(Tensor xs)
    {
        var h0 = Tensor.Zeros([xs.Size(1), Cell.HiddenSize]);
        var (last, _) = Eqx.Scan((Tensor h, Tensor x) =>
        {
            var next = Cell.Forward(x, h);
            return (next, next);
        }, h0, xs);
        return Head.Forward(last).Squeeze(-1);
    }
}

// GRUCell and LSTMCell against torch.nn.GRUCell / LSTMCell (1.13) with copied weights, and a GRU that learns.
public class RnnTests
{
    private static Tensor Parameter(int seed, params long[] shape) => LayerOracle.Parameter(seed, shape);

    [Test]
    public void GRUCellMatchesTorchGRUCellOnOneExampleAndABatchWithGradients()
    {
        using var scope = Torch.Scope();
        var fresh = new GRUCell(2, 3, Key.Create(1), dtype: DType.Float64);
        var (wih, whh) = (fresh.WeightIh.WithRequiresGrad(), fresh.WeightHh.WithRequiresGrad());
        var (bih, bhh) = (fresh.BiasIh!.WithRequiresGrad(), fresh.BiasHh!.WithRequiresGrad());
        var cell = new GRUCell(wih, whh, bih, bhh);
        const string python = LayerOracle.Call +
            "out = call(torch.nn.GRUCell(2, 3).double(), {'weight_ih': wih, 'weight_hh': whh, 'bias_ih': bih, 'bias_hh': bhh}, (x, h))";
        foreach (var batch in new long[][] { [], [4] })
        {
            var x = Parameter(2, [.. batch, 2]);
            var h = Parameter(3, [.. batch, 3]);
            LayerOracle.AssertMatches(cell.Forward(x, h), python, ("x", x), ("h", h), ("wih", wih), ("whh", whh), ("bih", bih), ("bhh", bhh));
        }

        var unbiased = new GRUCell(wih, whh);
        Assert.That(unbiased.UseBias, Is.False);
        var xs = Parameter(4, 5, 2);
        var hs = Parameter(5, 5, 3);
        LayerOracle.AssertMatches(unbiased.Forward(xs, hs),
            LayerOracle.Call + "out = call(torch.nn.GRUCell(2, 3, bias=False).double(), {'weight_ih': wih, 'weight_hh': whh}, (x, h))",
            ("x", xs), ("h", hs), ("wih", wih), ("whh", whh));
    }

    [Test]
    public void LSTMCellMatchesTorchLSTMCellWithGradients()
    {
        using var scope = Torch.Scope();
        var fresh = new LSTMCell(3, 2, Key.Create(6), dtype: DType.Float64);
        var (wih, whh) = (fresh.WeightIh.WithRequiresGrad(), fresh.WeightHh.WithRequiresGrad());
        var (bih, bhh) = (fresh.BiasIh!.WithRequiresGrad(), fresh.BiasHh!.WithRequiresGrad());
        var cell = new LSTMCell(wih, whh, bih, bhh);
        Assert.That((cell.InputSize, cell.HiddenSize), Is.EqualTo((3, 2)));
        foreach (var batch in new long[][] { [], [4] })
        {
            var x = Parameter(7, [.. batch, 3]);
            var h = Parameter(8, [.. batch, 2]);
            var c = Parameter(9, [.. batch, 2]);
            var next = cell.Forward(x, (h, c));
            LayerOracle.AssertMatches(Tensor.Cat([next.H, next.C], -1),
                LayerOracle.Call + "m = torch.nn.LSTMCell(3, 2).double()\n" +
                "out = torch.cat(call(m, {'weight_ih': wih, 'weight_hh': whh, 'bias_ih': bih, 'bias_hh': bhh}, (x, (h, c))), -1)",
                ("x", x), ("h", h), ("c", c), ("wih", wih), ("whh", whh), ("bih", bih), ("bhh", bhh));
        }
    }

    [Test]
    public void CellsInitialiseLikePyTorchWithinOneOverRootHidden()
    {
        using var scope = Torch.Scope();
        var gru = new GRUCell(5, 16, Key.Create(1));
        var lstm = new LSTMCell(5, 16, Key.Create(1), useBias: false);
        Assert.That(gru.WeightIh.Shape, Is.EqualTo(new long[] { 48, 5 }));
        Assert.That(gru.WeightHh.Shape, Is.EqualTo(new long[] { 48, 16 }));
        Assert.That(gru.BiasHh!.Shape, Is.EqualTo(new long[] { 48 }));
        Assert.That(lstm.WeightHh.Shape, Is.EqualTo(new long[] { 64, 16 }));
        Assert.That(lstm.BiasIh, Is.Null);
        Assert.That(lstm.BiasHh, Is.Null);
        foreach (var w in new[] { gru.WeightIh, gru.WeightHh, gru.BiasIh!, lstm.WeightHh })
        {
            Assert.That(w.Abs().Max().Item<float>(), Is.LessThanOrEqualTo(0.25f));
            Assert.That(w.Abs().Max().Item<float>(), Is.GreaterThan(0.2f), "weights should fill the ±1/√16 range");
        }
        Assert.That(gru.WeightIh.ToArray<float>(), Is.Not.EqualTo(gru.WeightHh.Narrow(1, 0, 5).ToArray<float>()), "each tensor has its own key");
    }

    [Test]
    public void GRUCellUnderFilterVmapEqualsTheBatchedCall()
    {
        using var scope = Torch.Scope();
        var cell = new GRUCell(2, 3, Key.Create(1), dtype: DType.Float64);
        var xs = LayerOracle.Normal(2, 6, 2);
        var hs = LayerOracle.Normal(3, 6, 3);
        var mapped = Eqx.FilterVmap((Tensor x, Tensor h) => cell.Forward(x, h))(xs, hs);
        Assert.That(mapped.Shape, Is.EqualTo(new long[] { 6, 3 }));
        OracleAssert.Values(mapped.ToArray<double>(), cell.Forward(xs, hs).ToArray<double>(), 1e-12, 1e-12, "vmapped GRUCell");
    }

    [Test]
    public void CellsRejectInputsAndStatesOfTheWrongShapeAndNameHoles()
    {
        using var scope = Torch.Scope();
        var gru = new GRUCell(2, 3, Key.Create(1));
        var input = Assert.Throws<ArgumentException>(() => gru.Forward(Tensor.Zeros(4, 5), Tensor.Zeros(4, 3)))!;
        Assert.That(input.Message, Does.StartWith("GRUCell(2 -> 3) expects inputs ending in 2; got f32[4,5]."));
        var hidden = Assert.Throws<ArgumentException>(() => gru.Forward(Tensor.Zeros(4, 2), Tensor.Zeros(3)))!;
        Assert.That(hidden.Message, Does.StartWith("GRUCell(2 -> 3) expects a hidden state [4,3] for input f32[4,2]; got f32[3]."));
        var lstm = new LSTMCell(2, 3, Key.Create(1));
        var cellState = Assert.Throws<ArgumentException>(() => lstm.Forward(Tensor.Zeros(2), (Tensor.Zeros(3), Tensor.Zeros(4))))!;
        Assert.That(cellState.Message, Does.StartWith("LSTMCell(2 -> 3) expects a cell state [3] for input f32[2]; got f32[4]."));

        var matrices = Eqx.Filter(gru, t => t.Rank == 2);
        Assert.That(Assert.Throws<TreeHoleException>(() => matrices.Forward(Tensor.Zeros(2), Tensor.Zeros(3)))!.Path, Is.EqualTo("GRUCell.BiasIh"));
        Assert.That(Assert.Throws<TreeHoleException>(() => Eqx.Filter(lstm, _ => false).Forward(Tensor.Zeros(2), (Tensor.Zeros(3), Tensor.Zeros(3))))!.Path,
            Is.EqualTo("LSTMCell.WeightIh"));
        var weights = Assert.Throws<ArgumentException>(() => new GRUCell(Tensor.Zeros(6, 2), Tensor.Zeros(6, 3)))!;
        Assert.That(weights.Message, Does.StartWith("GRUCell's weightHh must be [3 * hidden, hidden]; got f32[6,3]."));
    }

    // Sequences of 12 points going round the origin, clockwise (label 0) or anticlockwise (label 1), at random radii,
    // starting angles and speeds, with a little noise. Time-major: [12, count, 2].
    private static (Tensor Xs, Tensor Labels) Turns(int seed, int count)
    {
        var keys = Key.Create(seed).Split(5);
        var radius = Tensor.Uniform(keys[0], [count, 1], 0.5, 1.5);
        var start = Tensor.Uniform(keys[1], [count, 1], 0, 2 * Math.PI);
        var speed = Tensor.Uniform(keys[2], [count, 1], 0.15, 0.5);
        var anticlockwise = Tensor.Bernoulli(keys[3], [count, 1]).To(DType.Float32);
        var steps = Tensor.Arange(12).To(DType.Float32).Reshape(1, 12);
        var angle = start + (anticlockwise * 2 - 1) * speed * steps;
        var points = Tensor.Stack([radius * angle.Cos(), radius * angle.Sin()], -1) + Tensor.Normal(keys[4], [count, 12, 2]) * 0.05;
        return (points.Transpose(0, 1).Contiguous(), anticlockwise.Reshape(count));
    }

    [Test]
    public void AGRUScannedOverASequenceLearnsWhichWayItTurns()
    {
        using var scope = Torch.Scope();
        var (xs, labels) = Turns(1, 128);
        var model = new SequenceClassifier(16, Key.Create(2));
        var lossAndGrads = Eqx.FilterValueAndGrad((SequenceClassifier m, Tensor x, Tensor y) =>
            Functional.BinaryCrossEntropyWithLogits(m.Logits(x), y));
        var optimizer = new Adam(0.02);
        var state = optimizer.Init(model);

        var losses = new List<double>();
        for (int step = 0; step < 150; step++)
        {
            var (loss, grads) = lossAndGrads(model, xs, labels);
            losses.Add(loss.Item<double>());
            (model, state) = optimizer.Step(model, grads, state);
        }
        TestContext.Out.WriteLine($"loss {losses[0]:F4} -> {losses[^1]:F4}");
        Assert.That(losses[0], Is.GreaterThan(0.6), "an untrained model guesses");
        Assert.That(losses[^1], Is.LessThan(0.05), "150 steps of Adam learn the task (about 0.001 here)");

        var (testXs, testLabels) = Turns(3, 256);
        var predicted = model.Logits(testXs) > 0.0;
        var accuracy = predicted.To(DType.Float32).Eq(testLabels).To(DType.Float32).Mean().Item<float>();
        Assert.That(accuracy, Is.GreaterThan(0.95f), "it generalises to new sequences");
    }
}
