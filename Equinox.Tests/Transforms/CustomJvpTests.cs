using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Transforms;

// FilterCustomJvp: the rule replaces the derivative inside FilterJvp, and its transpose is the gradient under
// FilterGrad. Checked against central finite differences and PyTorch on the same values.
[NonParallelizable] // the leak test reads process-wide counts
public class CustomJvpTests
{
    private static Tensor Normal(int seed, params long[] shape) => Tensor.Normal(Key.Create(seed), shape, DType.Float64);

    // log(1 + exp(x)) with the stable derivative sigmoid(x): the naive exp overflows for large x, the rule does not.
    private static readonly Func<Tensor, Tensor> Softplus = Eqx.FilterCustomJvp(
        (Tensor x) => x.Softplus(),
        (Tensor x, Tensor t) => (x.Softplus(), t * x.Sigmoid()));

    // The first layer of TinyMlp, tanh(x W1 + B1), with its JVP by hand; null tangents are zero.
    private static Func<TinyMlp, Tensor> HiddenLayer(Tensor x) => Eqx.FilterCustomJvp(
        (TinyMlp m) => (x.Matmul(m.W1) + m.B1).Tanh(),
        (TinyMlp p, TinyMlp t) =>
        {
            var h = (x.Matmul(p.W1) + p.B1).Tanh();
            var dz = (t.W1 is null ? h.ZerosLike() : x.Matmul(t.W1)) + (t.B1 ?? p.B1.ZerosLike());
            return (h, (1 - h.Square()) * dz);
        });

    [Test]
    public void InsideFilterJvpTheRuleGivesTheTangent()
    {
        using var scope = Torch.Scope();
        var doubled = Eqx.FilterCustomJvp((Tensor x) => x.Sin(), (Tensor x, Tensor t) => (x.Sin(), 2 * t)); // not sin's derivative, on purpose
        var x = Tensor.FromArray([0.1, 0.7, 2.0]);
        var v = Tensor.FromArray([1.0, -2.0, 0.5]);
        var (y, dy) = Eqx.FilterJvp(doubled, x, v);
        Assert.That(y.ToArray<double>(), Is.EqualTo(x.Sin().ToArray<double>()));
        Assert.That(dy.ToArray<double>(), Is.EqualTo(new[] { 2.0, -4.0, 1.0 }));
    }

    [Test]
    public void TheSoftplusRuleMatchesPyTorchsForwardADAndIsFiniteWhereTheNaiveDerivativeIsNot()
    {
        using var scope = Torch.Scope();
        var x = Tensor.FromArray([-3.0, -0.5, 0.0, 1.5, 4.0]);
        var v = Tensor.FromArray([0.3, 1.0, -1.0, 2.0, 0.5]);
        var (y, dy) = Eqx.FilterJvp((Tensor a) => Softplus(a * 2).Sum(), x, v);
        var expected = PyTorchOracle.Run("""
            import torch.autograd.forward_ad as fwAD
            with fwAD.dual_level():
                p, t = fwAD.unpack_dual(F.softplus(fwAD.make_dual(x, v) * 2).sum())
                out = (p.clone(), t.clone())
            """, ("x", x), ("v", v));
        OracleAssert.Close(y, expected.Outputs[0], what: "primal");
        OracleAssert.Close(dy, expected.Outputs[1], what: "tangent");

        var naive = Eqx.FilterCustomJvp((Tensor a) => a.Exp().Log1p(), (Tensor a, Tensor t) => (a.Exp().Log1p(), t * a.Exp() / (1 + a.Exp())));
        var big = Tensor.FromArray([800.0]);
        Assert.That(double.IsNaN(Eqx.FilterJvp(naive, big, big.OnesLike()).TangentOutput.Item<double>()), Is.True, "exp(800) overflows: inf / inf");
        Assert.That(Eqx.FilterJvp(Softplus, big, big.OnesLike()).TangentOutput.Item<double>(), Is.EqualTo(1.0));
    }

    [Test]
    public void UnderFilterGradTheGradientIsTheRulesTranspose()
    {
        using var scope = Torch.Scope();
        var doubled = Eqx.FilterCustomJvp((Tensor x) => x.Sin(), (Tensor x, Tensor t) => (x.Sin(), 2 * t));
        var x = Tensor.FromArray([0.1, 0.7, 2.0]).WithRequiresGrad();
        var g = Autograd.Grad(doubled(x).Sum(), x)[0]!;
        Assert.That(g.ToArray<double>(), Is.EqualTo(new[] { 2.0, 2.0, 2.0 }), "the rule's transpose, not sin's derivative");

        var a = Normal(1, 6);
        var seed = Normal(2, 6);
        var grads = Eqx.FilterGrad((TensorList l) => (Softplus(l.Items[0]) * seed).Sum())(new TensorList([a]));
        var expected = PyTorchOracle.RunWithGrad("F.softplus(a)", seed, ("a", a.WithRequiresGrad()));
        OracleAssert.Close(grads.Items[0], expected.Grad("a"), what: "softplus gradient");
    }

    [Test]
    public void ATreeRuleMatchesFiniteDifferencesInBothModes()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(3, 4, Key.Create(3));
        var x = Normal(4, 5, 3);
        var hidden = HiddenLayer(x);
        Tensor Net(TinyMlp m) => hidden(m).Matmul(m.W2) + m.B2;

        var v = JvpTests.Direction(model, 10);
        var (y, dy) = Eqx.FilterJvp((Func<TinyMlp, Tensor>)Net, model, v);
        Assert.That(y.ToArray<double>(), Is.EqualTo(model.Forward(x).ToArray<double>()).Within(1e-15));
        OracleAssert.Values(dy.ToArray<double>(), JvpTests.DirectionalDifference(model, v, Net), 1e-6, 1e-8, "all tangents");

        var onlyW1 = Eqx.Unflatten(model, [v.W1, null, null, null, null, null]);
        var (_, dyW1) = Eqx.FilterJvp((Func<TinyMlp, Tensor>)Net, model, onlyW1);
        OracleAssert.Values(dyW1.ToArray<double>(), JvpTests.DirectionalDifference(model, onlyW1, Net), 1e-6, 1e-8, "W1 only (B1's tangent null)");

        Tensor Loss(TinyMlp m) => Net(m).Square().Mean();
        var grads = Eqx.FilterGrad((Func<TinyMlp, Tensor>)Loss)(model);
        var slots = Eqx.Flatten(grads);
        var paths = Eqx.LeafPaths(model);
        for (int slot = 0; slot < 4; slot++)
            OracleAssert.Values(slots[slot]!.ToArray<double>(), GradTests.FiniteDifferences(model, Loss, slot), 1e-6, 1e-9, $"d loss / d {paths[slot]}");
    }

    [Test]
    public void APlainCallRunsTheFunctionAndZeroTangentsSkipTheRule()
    {
        using var scope = Torch.Scope();
        int functionCalls = 0, ruleCalls = 0;
        var counted = Eqx.FilterCustomJvp(
            (TinyMlp m) => { functionCalls++; return m.W1.Sum(); },
            (TinyMlp p, TinyMlp t) => { ruleCalls++; return (p.W1.Sum(), t.W1!.Sum()); });
        var model = new TinyMlp(2, 3, Key.Create(5));
        Assert.That(counted(model).Item<double>(), Is.EqualTo(model.W1.Sum().Item<double>()));
        Assert.That((functionCalls, ruleCalls), Is.EqualTo((1, 0)));

        var (_, dy) = Eqx.FilterJvp(counted, model, Eqx.Filter(model, _ => false));
        Assert.That(dy.Item<double>(), Is.EqualTo(0.0));
        Assert.That((functionCalls, ruleCalls), Is.EqualTo((2, 0)), "no tangent: the function runs, not the rule");

        Eqx.FilterJvp(counted, model, JvpTests.Direction(model, 1));
        Assert.That((functionCalls, ruleCalls), Is.EqualTo((2, 1)));
    }

    [Test]
    public void ATangentOutputThatDoesNotFitNamesItsPath()
    {
        using var scope = Torch.Scope();
        var x = Tensor.FromArray([1.0, 2.0]);
        var wrongShape = Eqx.FilterCustomJvp((Tensor a) => (a, a.Sum()), (Tensor a, Tensor t) => ((a, a.Sum()), (t, t)));
        var e = Assert.Throws<ArgumentException>(() => Eqx.FilterJvp(wrongShape, x, x))!;
        Assert.That(e.Message, Is.EqualTo(
            "Eqx.FilterCustomJvp: the tangent at tangent output.Item2 is f64[2] but the output there is f64[]; a tangent " +
            "must have the shape, dtype and device of its output (null for zero)."));

        // (A tuple of the wrong length does not compile: TOut fixes it. A module's collections can still differ.)
        var wrongStructure = Eqx.FilterCustomJvp((Tensor a) => new TensorList([a, a]), (Tensor a, Tensor t) => (new TensorList([a, a]), new TensorList([t, t, t])));
        e = Assert.Throws<ArgumentException>(() => Eqx.FilterJvp(wrongStructure, x, x))!;
        Assert.That(e.Message, Is.EqualTo(
            "Eqx.FilterCustomJvp: the rule's tangent output (a TensorList, 3 tensor slots) does not have the structure of " +
            "its output (a TensorList, 2 slots)."));

        var integer = Eqx.FilterCustomJvp((Tensor a) => a.Sum(), (Tensor a, Tensor t) => (a.Sum(), Tensor.Scalar(1L)));
        e = Assert.Throws<ArgumentException>(() => Eqx.FilterJvp(integer, x, x))!;
        Assert.That(e.Message, Does.StartWith("Eqx.FilterCustomJvp: the tangent at tangent output is i64[] but the output there is f64[]"));
    }

    [Test]
    public void VmapAndSecondOrderUsesAreNotSupported()
    {
        using var scope = Torch.Scope();
        var e = Assert.Throws<NotSupportedException>(() => Eqx.FilterVmap((Tensor row) => Softplus(row))(Tensor.Ones([2, 3])))!;
        Assert.That(e.Message, Does.StartWith("Eqx.FilterCustomJvp inside Eqx.FilterVmap is not supported"));

        var model = new TinyMlp(2, 3, Key.Create(6));
        e = Assert.Throws<NotSupportedException>(() =>
            Eqx.FilterGrad((TinyMlp m) => Eqx.FilterGrad((TinyMlp p) => Softplus(p.W1).Sum())(m).W1.Sum())(model))!;
        Assert.That(e.Message, Does.StartWith("Eqx.FilterCustomJvp: differentiating a custom rule again"));
    }

    [Test]
    public void WorksInsideFilterJit()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(3, 4, Key.Create(7));
        var x = Normal(8, 5, 3);
        var hidden = HiddenLayer(x);
        var v = JvpTests.Direction(model, 20);
        var step = Eqx.FilterJit((TinyMlp m, TinyMlp t) =>
            (Eqx.FilterJvp(p => hidden(p).Sum(), m, t).TangentOutput, Eqx.FilterGrad((TinyMlp p) => hidden(p).Sum())(m)));
        var (dy, grads) = step.Invoke(model, v);
        var (_, plainDy) = Eqx.FilterJvp((TinyMlp p) => (x.Matmul(p.W1) + p.B1).Tanh().Sum(), model, v);
        var plainGrads = Eqx.FilterGrad((TinyMlp p) => (x.Matmul(p.W1) + p.B1).Tanh().Sum())(model);
        Assert.That(dy.Item<double>(), Is.EqualTo(plainDy.Item<double>()).Within(1e-13));
        Assert.That(grads.W1.ToArray<double>(), Is.EqualTo(plainGrads.W1.ToArray<double>()).Within(1e-13));
        Assert.That(grads.W2, Is.Null, "unused by the function");
    }

    [Test]
    public void HundredCallsInBothModesLeaveNoLiveTensorsAndNoRules()
    {
        var model = new TinyMlp(3, 4, Key.Create(9));
        var x = Normal(10, 5, 3);
        var hidden = HiddenLayer(x);
        var v = JvpTests.Direction(model, 30);
        void Call()
        {
            using var scope = Torch.Scope();
            var (_, dy) = Eqx.FilterJvp((TinyMlp m) => Softplus(hidden(m)).Sum(), model, v);
            var grads = Eqx.FilterGrad((TinyMlp m) => Softplus(hidden(m)).Sum())(model);
            Assert.That(dy.Rank, Is.EqualTo(0));
            Assert.That(grads.W1.Shape, Is.EqualTo(model.W1.Shape));
        }
        Call();
        Finalizers.RunPending();
        long tensors = Torch.LiveTensors, rules = CustomBackward.LiveRules;
        for (int i = 0; i < 100; i++) Call();
        Finalizers.RunPending();
        Assert.That(Torch.LiveTensors, Is.EqualTo(tensors), "live tensors");
        Assert.That(CustomBackward.LiveRules, Is.EqualTo(rules), "rules held by autograd nodes");
    }
}
