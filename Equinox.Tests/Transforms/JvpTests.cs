using System.Collections.Immutable;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Transforms;

[Module]
public partial class TensorList
{
    public readonly ImmutableArray<Tensor> Items;

    public TensorList(ImmutableArray<Tensor> items) => Items = items;
}

// FilterJvp: against central finite differences in float64, against PyTorch's forward_ad and functorch.jvp on the
// same weights, and the errors for tangents that do not fit.
public class JvpTests
{
    private static Tensor Normal(int seed, params long[] shape) => Tensor.Normal(Key.Create(seed), shape, DType.Float64);

    // A tangent tree for TinyMlp: random directions on the float slots, null on Steps.
    internal static TinyMlp Direction(TinyMlp model, int seed)
    {
        var slots = Eqx.Flatten(model);
        var tangents = new Tensor?[slots.Length];
        for (int i = 0; i < slots.Length; i++)
            if (slots[i] is { } s && s.DType.IsInexact()) tangents[i] = Normal(seed + i, s.Shape.ToArray());
        return Eqx.Unflatten(model, tangents);
    }

    // (f(p + h v) - f(p - h v)) / 2h, slot by slot.
    internal static double[] DirectionalDifference<T>(T primals, T tangents, Func<T, Tensor> f, double h = 1e-6) where T : ITreeNode
    {
        using var scope = Torch.Scope();
        using var _ = Torch.NoGrad();
        T Shift(double by) => Eqx.TreeMap(primals, tangents, (p, t) => p is null || t is null ? p : p + t * by);
        return ((f(Shift(h)) - f(Shift(-h))) / (2 * h)).ToArray<double>();
    }

    private static (string, Tensor)[] Named(TinyMlp m, string prefix = "") =>
        [(prefix + "w1", m.W1), (prefix + "b1", m.B1), (prefix + "w2", m.W2), (prefix + "b2", m.B2)];

    [Test]
    public void TheTangentOfAnMlpMatchesCentralFiniteDifferences()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(3, 4, Key.Create(1));
        var v = Direction(model, 10);
        var x = Normal(2, 5, 3);

        var (y, dy) = Eqx.FilterJvp((TinyMlp m) => m.Forward(x), model, v);

        Assert.That(y.ToArray<double>(), Is.EqualTo(model.Forward(x).ToArray<double>()), "the primal output is f(primals)");
        Assert.That(dy.Shape, Is.EqualTo(y.Shape));
        Assert.That(dy.RequiresGrad, Is.False);
        var numeric = DirectionalDifference(model, v, m => m.Forward(x));
        OracleAssert.Values(dy.ToArray<double>(), numeric, 1e-6, 1e-8, "tangent output");
        Assert.That(dy.ToArray<double>(), Has.Some.Not.EqualTo(0.0));
    }

    [Test]
    public void TheTangentOfAnMlpMatchesPyTorchsForwardAD()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(3, 4, Key.Create(4));
        var v = Direction(model, 20);
        var x = Normal(5, 6, 3);
        var (y, dy) = Eqx.FilterJvp((TinyMlp m) => m.Forward(x).Square().Sum(1), model, v);

        var expected = PyTorchOracle.Run("""
            import torch.autograd.forward_ad as fwAD
            with fwAD.dual_level():
                w1, b1, w2, b2 = (fwAD.make_dual(p, t) for p, t in ((w1, tw1), (b1, tb1), (w2, tw2), (b2, tb2)))
                o = ((x @ w1 + b1).tanh() @ w2 + b2).square().sum(1)
                p, t = fwAD.unpack_dual(o)
                out = (p.clone(), t.clone())
            """, [("x", x), .. Named(model), .. Named(v, "t")]);
        OracleAssert.Close(y, expected.Outputs[0], what: "primal output");
        OracleAssert.Close(dy, expected.Outputs[1], what: "tangent output");
    }

    [Test]
    public void ATensorFunctionMatchesFunctorchJvp()
    {
        using var scope = Torch.Scope();
        var a = Normal(1, 4, 3);
        var v = Normal(2, 4, 3);
        var (y, dy) = Eqx.FilterJvp((Tensor t) => (t.Sin() * t).Matmul(t.T), a, v);

        var expected = PyTorchOracle.Run("""
            import functorch
            out = functorch.jvp(lambda t: (t.sin() * t) @ t.T, (a,), (v,))
            """, ("a", a), ("v", v));
        OracleAssert.Close(y, expected.Outputs[0], what: "primal");
        OracleAssert.Close(dy, expected.Outputs[1], what: "tangent");
    }

    [Test]
    public void TheTangentOfSinIsCosTimesTheDirection()
    {
        using var scope = Torch.Scope();
        var x = Tensor.FromArray([0.0, 0.5, 1.0, 2.0]);
        var v = Tensor.FromArray([1.0, 2.0, -1.0, 0.5]);
        var (y, dy) = Eqx.FilterJvp((Tensor t) => t.Sin(), x, v);
        Assert.That(y.ToArray<double>(), Is.EqualTo(x.Sin().ToArray<double>()));
        Assert.That(dy.ToArray<double>(), Is.EqualTo((x.Cos() * v).ToArray<double>()).Within(1e-15));
    }

    [Test]
    public void NullTangentSlotsAreZeroTangents()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(3, 4, Key.Create(7));
        var x = Normal(8, 5, 3);
        var full = Direction(model, 30);
        // Only W2 moves.
        var onlyW2 = Eqx.Unflatten(model, [null, null, full.W2, null, null, null]);
        var (_, dy) = Eqx.FilterJvp((TinyMlp m) => m.Forward(x), model, onlyW2);
        var expected = (x.Matmul(model.W1) + model.B1).Tanh().Matmul(full.W2);
        Assert.That(dy.ToArray<double>(), Is.EqualTo(expected.ToArray<double>()).Within(1e-14));

        var (_, none) = Eqx.FilterJvp((TinyMlp m) => m.Forward(x), model, Eqx.Filter(model, _ => false));
        Assert.That(none.ToArray<double>(), Is.All.EqualTo(0.0), "no tangents: a zero tangent output, not null");
    }

    [Test]
    public void TupleOutputsGetTangentsSlotBySlotAndIntegerOutputsNone()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(3, 4, Key.Create(9));
        var v = Direction(model, 40);
        var x = Normal(10, 2, 3);
        var constant = Tensor.Ones([2], DType.Float64);
        var (y, dy) = Eqx.FilterJvp((TinyMlp m) => (m.Forward(x), constant, m.Steps + 1), model, v);
        Assert.That(dy.Item1.ToArray<double>(), Is.EqualTo(Eqx.FilterJvp((TinyMlp m) => m.Forward(x), model, v).TangentOutput.ToArray<double>()));
        Assert.That(dy.Item2.ToArray<double>(), Is.EqualTo(new[] { 0.0, 0.0 }), "an output that does not depend on the tangents");
        Assert.That(dy.Item3, Is.Null, "an integer output has no tangent");
        Assert.That(y.Item3.Item<long>(), Is.EqualTo(4));
    }

    [Test]
    public void ModuleOutputsGetATangentTreeOfTheirType()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(2, 3, Key.Create(11));
        var v = Direction(model, 50);
        var (scaled, dScaled) = Eqx.FilterJvp((TinyMlp m) => Eqx.TreeMap(m, t => t.DType.IsInexact() ? t * t : t), model, v);
        Assert.That(dScaled, Is.InstanceOf<TinyMlp>());
        Assert.That(dScaled.W1.ToArray<double>(), Is.EqualTo((2 * model.W1 * v.W1).ToArray<double>()).Within(1e-14));
        Assert.That(dScaled.Steps, Is.Null);
        Assert.That(scaled.W1.ToArray<double>(), Is.EqualTo((model.W1 * model.W1).ToArray<double>()));
    }

    [Test]
    public void TangentsThatDoNotFitNameTheLeafPath()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(3, 4, Key.Create(12));
        var v = Direction(model, 60);
        Tensor F(TinyMlp m) => m.W1.Sum();

        var wrongShape = Eqx.TreeAt(v, t => t.W2, Tensor.Zeros([3, 1], DType.Float64));
        var e = Assert.Throws<ArgumentException>(() => Eqx.FilterJvp(F, model, wrongShape))!;
        Assert.That(e.Message, Does.StartWith(
            "Eqx.FilterJvp: the tangent at tangents.W2 is f64[3,1] but the primal there is f64[4,1]; a tangent must have " +
            "the shape, dtype and device of its primal (null for zero)."));

        var wrongDType = Eqx.TreeAt(v, t => t.B1, Tensor.Zeros([4], DType.Float32));
        e = Assert.Throws<ArgumentException>(() => Eqx.FilterJvp(F, model, wrongDType))!;
        Assert.That(e.Message, Does.StartWith("Eqx.FilterJvp: the tangent at tangents.B1 is f32[4] but the primal there is f64[4]"));

        var integer = Eqx.TreeAt(v, t => t.Steps, Tensor.Scalar(1L));
        e = Assert.Throws<ArgumentException>(() => Eqx.FilterJvp(F, model, integer))!;
        Assert.That(e.Message, Does.StartWith(
            "Eqx.FilterJvp: the tangent at tangents.Steps is i64[] but the primal there is i64[], which is not differentiated"));

        var two = new TensorList([Tensor.Ones([2], DType.Float64), Tensor.Ones([2], DType.Float64)]);
        var three = new TensorList([Tensor.Ones([2], DType.Float64), Tensor.Ones([2], DType.Float64), Tensor.Ones([2], DType.Float64)]);
        e = Assert.Throws<ArgumentException>(() => Eqx.FilterJvp((TensorList l) => l.Items[0], two, three))!;
        Assert.That(e.Message, Does.StartWith("Eqx.FilterJvp: the tangents do not have the structure of the primals: Items"));

        var tangentForNull = Direction(new TinyMlp(3, 4, Key.Create(12), withSpare: true), 60);
        var holed = Eqx.TreeAt(new TinyMlp(3, 4, Key.Create(12), withSpare: true), m => m.Spare, (Tensor?)null);
        e = Assert.Throws<ArgumentException>(() => Eqx.FilterJvp(F, holed, tangentForNull))!;
        Assert.That(e.Message, Does.StartWith("Eqx.FilterJvp: the tangent at tangents.Spare is f64[2] but the primal there is null"));
    }

    [Test]
    public void NestedJvpAndJvpInsideVmapAreNotSupported()
    {
        using var scope = Torch.Scope();
        var x = Tensor.FromArray([1.0, 2.0]);
        var e = Assert.Throws<NotSupportedException>(() =>
            Eqx.FilterJvp((Tensor a) => Eqx.FilterJvp((Tensor b) => b * a, a, a).TangentOutput, x, x))!;
        Assert.That(e.Message, Does.StartWith("Eqx.FilterJvp inside another Eqx.FilterJvp is not supported"));

        var xs = Tensor.Ones([3, 2], DType.Float64);
        e = Assert.Throws<NotSupportedException>(() => Eqx.FilterVmap((Tensor row) => Eqx.FilterJvp((Tensor b) => b.Sin(), row, row).TangentOutput)(xs))!;
        Assert.That(e.Message, Does.StartWith("Eqx.FilterJvp inside Eqx.FilterVmap is not supported"));

        // A failed call leaves no level behind: the next one works.
        var (_, dy) = Eqx.FilterJvp((Tensor a) => a * a, x, x);
        Assert.That(dy.ToArray<double>(), Is.EqualTo(new[] { 2.0, 8.0 }));
    }

    [Test]
    public void AThrowingFunctionLeavesNoLevelEntered()
    {
        using var scope = Torch.Scope();
        var x = Tensor.FromArray([1.0, 2.0]);
        Assert.Throws<InvalidOperationException>(() => Eqx.FilterJvp<Tensor>(_ => throw new InvalidOperationException("boom"), x, x));
        var (_, dy) = Eqx.FilterJvp((Tensor a) => a.Exp(), x, x);
        Assert.That(dy.ToArray<double>(), Is.EqualTo((x.Exp() * x).ToArray<double>()).Within(1e-15));
    }

    [Test]
    public void WorksInsideFilterJitAndOfAGradient()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(3, 4, Key.Create(13));
        var v = Direction(model, 70);
        var x = Normal(14, 5, 3);
        var step = Eqx.FilterJit((TinyMlp m, TinyMlp t) => Eqx.FilterJvp((TinyMlp p) => p.Forward(x).Sum(), m, t));
        var (y, dy) = step.Invoke(model, v);
        var (y2, dy2) = Eqx.FilterJvp((TinyMlp p) => p.Forward(x).Sum(), model, v);
        Assert.That(y.Item<double>(), Is.EqualTo(y2.Item<double>()));
        Assert.That(dy.Item<double>(), Is.EqualTo(dy2.Item<double>()).Within(1e-14));

        // Forward over reverse: the JVP of the gradient is a Hessian-vector product.
        Tensor Loss(TinyMlp m) => m.Forward(x).Square().Mean();
        var (_, hv) = Eqx.FilterJvp((TinyMlp m) => Eqx.FilterGrad((Func<TinyMlp, Tensor>)Loss)(m).W1, model, v);
        var numeric = DirectionalDifference(model, v, m => Eqx.FilterGrad((Func<TinyMlp, Tensor>)Loss)(m).W1, 1e-5);
        OracleAssert.Values(hv.ToArray<double>(), numeric, 1e-5, 1e-8, "Hessian-vector product");
    }

    [Test]
    public void HundredCallsLeaveNoLiveTensors()
    {
        var model = new TinyMlp(3, 4, Key.Create(15));
        var v = Direction(model, 80);
        var x = Normal(16, 5, 3);
        void Call()
        {
            using var scope = Torch.Scope();
            var (y, dy) = Eqx.FilterJvp((TinyMlp m) => m.Forward(x), model, v);
            Assert.That(dy.Shape, Is.EqualTo(y.Shape));
        }
        Call();
        Finalizers.RunPending();
        long before = Torch.LiveTensors;
        for (int i = 0; i < 100; i++) Call();
        Assert.That(Torch.LiveTensors, Is.EqualTo(before));
    }
}
