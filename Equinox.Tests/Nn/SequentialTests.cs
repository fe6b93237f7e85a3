using Equinox.Nn;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Nn;

// The common layer interface: Sequential over any layers, Lambda, Identity, Dropout and inference mode.
public class SequentialTests
{
    [Test]
    public void SequentialAppliesItsLayersInOrderAsTorchDoes()
    {
        using var scope = Torch.Scope();
        var keys = Key.Create(1).Split(2);
        var model = new Sequential(new Linear(3, 5, keys[0]), new Lambda(Activations.Tanh), new Identity(), new Linear(5, 2, keys[1]));
        var x = Tensor.Normal(Key.Create(2), [4, 3]);
        var first = (Linear)model[0];
        var last = (Linear)model[3];
        var expected = PyTorchOracle.Run("torch.tanh(x @ w1.T + b1) @ w2.T + b2",
            ("x", x), ("w1", first.Weight), ("b1", first.Bias!), ("w2", last.Weight), ("b2", last.Bias!));
        OracleAssert.Close(model.Forward(x), expected.Out);
        Assert.That(Eqx.LeafCount(model), Is.EqualTo(4));
        Assert.That(Eqx.LeafPaths(model).Select(p => p.ToString()), Is.EqualTo(new[] { "Layers[0].Weight", "Layers[0].Bias", "Layers[3].Weight", "Layers[3].Bias" }));
    }

    [Test]
    public void ASequentialOverOneExampleEqualsTheBatchedCallUnderVmap()
    {
        using var scope = Torch.Scope();
        var keys = Key.Create(3).Split(2);
        var model = new Sequential(new Linear(3, 5, keys[0]), new Lambda(Activations.Relu), new Linear(5, 2, keys[1]));
        var xs = Tensor.Normal(Key.Create(4), [6, 3]);
        var mapped = Eqx.FilterVmap((Tensor x) => model.Forward(x))(xs);
        Assert.That(mapped.ToArray<float>(), Is.EqualTo(model.Forward(xs).ToArray<float>()).Within(1e-6));
    }

    [Test]
    public void AScalarLinearTakesAndGivesZeroDimTensors()
    {
        using var scope = Torch.Scope();
        var layer = new Linear(Linear.Scalar, Linear.Scalar, Key.Create(5));
        Assert.That(layer.Weight.Shape.ToArray(), Is.EqualTo(new long[] { 1, 1 }));
        var y = layer.Forward(Tensor.Scalar(2f));
        Assert.That(y.Rank, Is.Zero);
        Assert.That(y.Item<float>(), Is.EqualTo(2 * layer.Weight.Reshape(-1).Item<float>() + layer.Bias!.Item<float>()).Within(1e-6));
        var batch = new Linear(Linear.Scalar, 3, Key.Create(6)).Forward(Tensor.FromArray(new float[] { 1, 2 }));
        Assert.That(batch.Shape.ToArray(), Is.EqualTo(new long[] { 2, 3 }));
    }

    [Test]
    public void DropoutNeedsAKeyOutsideInferenceModeAndIsTheIdentityInIt()
    {
        using var scope = Torch.Scope();
        var model = new Sequential(new Dropout(0.5), new Lambda(Activations.Relu));
        var x = Tensor.Ones(1000);
        var e = Assert.Throws<ArgumentException>(() => model.Forward(x));
        Assert.That(e!.Message, Does.StartWith("Dropout(p=0.5) needs a key outside inference mode"));
        var dropped = model.Forward(x, Key.Create(7)).ToArray<float>();
        Assert.That(dropped.Distinct().Order(), Is.EqualTo(new[] { 0f, 2f }), "kept elements are scaled by 1/(1-p)");
        Assert.That(dropped.Count(v => v == 0), Is.InRange(400, 600));
        Assert.That(model.Forward(x, Key.Create(7)).ToArray<float>(), Is.EqualTo(dropped), "the same key drops the same elements");

        var inference = Eqx.InferenceMode(model);
        Assert.That(((Dropout)inference[0]).Inference, Is.True);
        Assert.That(inference.Forward(x).ToArray<float>(), Is.All.EqualTo(1f));
        Assert.That(((Dropout)Eqx.InferenceMode(inference, false)[0]).Inference, Is.False);
        Assert.That(((Dropout)model[0]).Inference, Is.False, "the original is left as it was");
    }

    [Test]
    public void ASequentialWithAHoleNamesIt()
    {
        using var scope = Torch.Scope();
        var model = new Sequential(new Linear(2, 2, Key.Create(1)));
        var holed = Eqx.Filter(model, _ => false);
        var e = Assert.Throws<TreeHoleException>(() => holed.Forward(Tensor.Ones(2)));
        Assert.That(e!.Message, Does.Contain("Linear.Weight"));
    }
}
