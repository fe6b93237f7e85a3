using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Transforms;

// FilterCustomVjp: hand-written backward rules run by LibTorch's autograd engine through a callback into C#. Checked
// against central finite differences, against PyTorch's autograd.Function with the same rule, inside FilterGrad and
// FilterJit, with a throwing rule, and for leaks.
[NonParallelizable] // the leak tests read process-wide counts
public class CustomVjpTests
{
    private static Tensor Normal(int seed, params long[] shape) => Tensor.Normal(Key.Create(seed), shape, DType.Float64);

    private static readonly TinyMlp Like = new(1, 1, Key.Create(0));

    // A cotangent tree for TinyMlp (null slots are zero).
    private static TinyMlp G(Tensor? w1 = null, Tensor? b1 = null, Tensor? w2 = null, Tensor? b2 = null, Tensor? steps = null) =>
        Eqx.Unflatten(Like, [w1, b1, w2, b2, steps, null]);

    // Gradient clipping as a custom op: the identity forward, a clamped backward (a rule autograd would never derive).
    private static readonly Func<Tensor, Tensor> ClipGradient = Eqx.FilterCustomVjp(
        (Tensor a) => a.Clone(), (Tensor a, Tensor y, Tensor ct) => ct.Clamp(-0.05, 0.05));

    private const string ClipPython = """
        class Clip(torch.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a.clone()
            @staticmethod
            def backward(ctx, g):
                return g.clamp(-0.05, 0.05)
        """;

    // The first layer of TinyMlp with a hand-written rule, keeping the activation as the residual.
    private static Func<TinyMlp, Tensor> HiddenLayer(Tensor x) => Eqx.FilterCustomVjp(
        (TinyMlp m) =>
        {
            var h = (x.Matmul(m.W1) + m.B1).Tanh();
            return (h, h);
        },
        (Tensor h, Tensor ct) =>
        {
            var dz = ct * (1 - h.Square());
            return G(x.T.Matmul(dz), dz.Sum(0));
        });

    [Test]
    public void ARuleWithResidualsMatchesCentralFiniteDifferencesAndPlainAutograd()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(3, 4, Key.Create(1));
        var x = Normal(2, 5, 3);
        var hidden = HiddenLayer(x);
        Tensor Loss(TinyMlp m) => (hidden(m).Matmul(m.W2) + m.B2).Square().Mean();
        Tensor Plain(TinyMlp m) => m.Forward(x).Square().Mean();

        var (loss, grads) = Eqx.FilterValueAndGrad((Func<TinyMlp, Tensor>)Loss)(model);
        var expected = Eqx.FilterGrad((Func<TinyMlp, Tensor>)Plain)(model);

        Assert.That(loss.Item<double>(), Is.EqualTo(Plain(model).Item<double>()).Within(1e-15));
        var slots = Eqx.Flatten(grads);
        var plainSlots = Eqx.Flatten(expected);
        var paths = Eqx.LeafPaths(model);
        for (int slot = 0; slot < 4; slot++)
        {
            var numeric = GradTests.FiniteDifferences(model, Plain, slot);
            OracleAssert.Values(slots[slot]!.ToArray<double>(), numeric, 1e-6, 1e-9, $"d loss / d {paths[slot]}");
            OracleAssert.Values(slots[slot]!.ToArray<double>(), plainSlots[slot]!.ToArray<double>(), 1e-12, 1e-14, $"{paths[slot]} vs plain autograd");
        }
        Assert.That(grads.Steps, Is.Null);
    }

    [Test]
    public void AClippingRuleMatchesPyTorchsAutogradFunction()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(3, 4, Key.Create(3));
        var x = Normal(4, 6, 3);
        var y = Normal(5, 6, 1) * 3;
        Tensor Loss(TinyMlp m) => (ClipGradient(m.Forward(x)) - y).Square().Mean();
        var grads = Eqx.FilterGrad((Func<TinyMlp, Tensor>)Loss)(model);

        var expected = PyTorchOracle.Run(ClipPython + "\n" + """
            for p in (w1, b1, w2, b2):
                p.requires_grad_(True)
            loss = (Clip.apply((x @ w1 + b1).tanh() @ w2 + b2) - y).square().mean()
            out = torch.autograd.grad(loss, [w1, b1, w2, b2])
            """, ("x", x), ("y", y), ("w1", model.W1), ("b1", model.B1), ("w2", model.W2), ("b2", model.B2));
        string[] names = ["W1", "B1", "W2", "B2"];
        var slots = Eqx.Flatten(grads);
        for (int i = 0; i < 4; i++) OracleAssert.Close(slots[i], expected.Outputs[i], what: $"gradient of {names[i]}");

        // The rule really ran: without it the gradient of B2 is larger than the clamp allows.
        var unclipped = Eqx.FilterGrad((TinyMlp m) => (m.Forward(x) - y).Square().Mean())(model);
        Assert.That(Math.Abs(unclipped.B2.Item<double>()), Is.GreaterThan(Math.Abs(grads.B2.Item<double>()) + 1e-3));
    }

    [Test]
    public void ATensorRuleWorksWithAutogradGradDirectly()
    {
        using var scope = Torch.Scope();
        var exp = Eqx.FilterCustomVjp((Tensor a) => a.Exp(), (Tensor a, Tensor y, Tensor ct) => ct * y * 2); // twice the truth, on purpose
        var x = Tensor.FromArray([0.0, 1.0, -1.0]).WithRequiresGrad();
        var y = exp(x);
        Assert.That(y.RequiresGrad, Is.True);
        Assert.That(y.ToArray<double>(), Is.EqualTo(x.Detach().Exp().ToArray<double>()));
        var g = Autograd.Grad(y.Sum(), x)[0]!;
        Assert.That(g.ToArray<double>(), Is.EqualTo((x.Detach().Exp() * 2).ToArray<double>()).Within(1e-15));
    }

    [Test]
    public void TheRuleIsHeldByTheGraphAndReleasedWithIt()
    {
        var exp = Eqx.FilterCustomVjp((Tensor a) => a.Exp(), (Tensor a, Tensor y, Tensor ct) => ct * y);
        long before = CustomBackward.LiveRules;
        using (Torch.Scope())
        {
            var x = Tensor.FromArray([0.5, 1.5]).WithRequiresGrad();
            var y = exp(x);
            var z = exp(y);
            Assert.That(CustomBackward.LiveRules, Is.EqualTo(before + 2), "one node per call that needs one");
            var g = Autograd.Grad(z.Sum(), x)[0]!;
            var expected = x.Detach().Exp() * x.Detach().Exp().Exp();
            Assert.That(g.ToArray<double>(), Is.EqualTo(expected.ToArray<double>()).Within(1e-12));
            Assert.That(CustomBackward.LiveRules, Is.EqualTo(before + 2), "the outputs still hold their nodes");
        }
        Assert.That(CustomBackward.LiveRules, Is.EqualTo(before), "disposing the outputs released the rules");
    }

    [Test]
    public void UnusedOutputsArriveAsZeroCotangentsAndIntegerOnesAsNull()
    {
        using var scope = Torch.Scope();
        double[]? unused = null;
        bool integerIsNull = false;
        var split = Eqx.FilterCustomVjp(
            (TinyMlp m) => (m.W1 * 2, m.B1 * 3, m.Steps * 2),
            (TinyMlp m, (Tensor, Tensor, Tensor) y, (Tensor, Tensor, Tensor) ct) =>
            {
                unused = ct.Item2.ToArray<double>(); // the rule's tensors are freed when it returns
                integerIsNull = ct.Item3 is null;
                return G(ct.Item1 * 2, ct.Item2 * 3);
            });
        var model = new TinyMlp(2, 3, Key.Create(6));
        var grads = Eqx.FilterGrad((TinyMlp m) => split(m).Item1.Sum())(model);
        Assert.That(grads.W1.ToArray<double>(), Is.All.EqualTo(2.0));
        Assert.That(grads.B1.ToArray<double>(), Is.All.EqualTo(0.0));
        Assert.That(unused, Is.EqualTo(new[] { 0.0, 0.0, 0.0 }), "the unused output's cotangent");
        Assert.That(integerIsNull, Is.True, "an integer output has no cotangent");
    }

    [Test]
    public void WorksInsideFilterJit()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(3, 4, Key.Create(7));
        var x = Normal(8, 5, 3);
        var hidden = HiddenLayer(x);
        var step = Eqx.FilterJit((TinyMlp m) => Eqx.FilterValueAndGrad((TinyMlp p) => (hidden(p).Matmul(p.W2) + p.B2).Sum())(m));
        var (loss, grads) = step.Invoke(model);
        var (loss2, grads2) = step.Invoke(model);
        var plain = Eqx.FilterGrad((TinyMlp m) => m.Forward(x).Sum())(model);
        Assert.That(loss.Item<double>(), Is.EqualTo(loss2.Item<double>()));
        Assert.That(grads.W1.ToArray<double>(), Is.EqualTo(plain.W1.ToArray<double>()).Within(1e-13));
        Assert.That(grads2.B1.ToArray<double>(), Is.EqualTo(plain.B1.ToArray<double>()).Within(1e-13));
    }

    [Test]
    public void AThrowingRuleSurfacesItsExceptionAndTheProcessCarriesOn()
    {
        var outer = TensorScope.Current;
        var model = new TinyMlp(2, 3, Key.Create(9));
        var failing = Eqx.FilterCustomVjp((TinyMlp m) => m.W1.Sum(),
            (TinyMlp m, Tensor y, Tensor ct) => throw new InvalidOperationException("the rule failed on purpose"));
        for (int i = 0; i < 3; i++)
        {
            var e = Assert.Throws<InvalidOperationException>(() => Eqx.FilterGrad(failing)(model))!;
            Assert.That(e.Message, Is.EqualTo("the rule failed on purpose"));
            Assert.That(TensorScope.Current, Is.SameAs(outer), "every scope was closed");
        }
        using var scope = Torch.Scope();
        var working = Eqx.FilterCustomVjp((TinyMlp m) => m.W1.Sum(),
            (TinyMlp m, Tensor y, Tensor ct) => G(ct * m.W1.OnesLike()));
        Assert.That(Eqx.FilterGrad(working)(model).W1.ToArray<double>(), Is.All.EqualTo(1.0));
    }

    [Test]
    public void AForwardThatReturnsItsInputLeavesTheInputAlone()
    {
        using var scope = Torch.Scope();
        var tripled = Eqx.FilterCustomVjp((Tensor a) => a, (Tensor a, Tensor y, Tensor ct) => ct * 3);
        var x = Tensor.FromArray([1.0, -2.0]).WithRequiresGrad();
        var y = tripled(x);
        Assert.That(y.IsSameAs(x), Is.False, "the output is a new tensor (sharing memory) with the rule as its history");
        Assert.That(y.SharesStorageWith(x), Is.True);
        Assert.That(x.IsLeaf, Is.True, "the input is still a leaf");
        Assert.That(Autograd.Grad(y.Sum(), x)[0]!.ToArray<double>(), Is.EqualTo(new[] { 3.0, 3.0 }));
    }

    [Test]
    public void ASecondBackwardWithoutRetainingTheGraphSaysSo()
    {
        using var scope = Torch.Scope();
        var exp = Eqx.FilterCustomVjp((Tensor a) => a.Exp(), (Tensor a, Tensor y, Tensor ct) => ct * y);
        var x = Tensor.FromArray([0.5]).WithRequiresGrad();
        var total = exp(x).Sum();
        Assert.That(Autograd.Grad(total, x)[0]!.Item<double>(), Is.EqualTo(Math.Exp(0.5)).Within(1e-15));
        var e = Assert.Throws<TorchException>(() => Autograd.Grad(total, x))!;
        Assert.That(e.Message, Does.Contain("Trying to backward through Eqx.FilterCustomVjp a second time"));
    }

    [Test]
    public void ARuleThatThrowsInsideAFilterJitStepSurfacesFromTheStep()
    {
        using var scope = Torch.Scope();
        var failing = Eqx.FilterCustomVjp((Tensor a) => a.Square(), (Tensor a, Tensor y, Tensor ct) => throw new KeyNotFoundException("missing rule"));
        var step = Eqx.FilterJit((TensorList l) => Eqx.FilterGrad((TensorList p) => failing(p.Items[0]).Sum())(l));
        var model = new TensorList([Tensor.FromArray([1.0, 2.0])]);
        var e = Assert.Throws<KeyNotFoundException>(() => step.Invoke(model))!;
        Assert.That(e.Message, Is.EqualTo("missing rule"));
        Assert.That(step.CacheSize, Is.EqualTo(0), "a failed first call is not cached");
    }

    [Test]
    public void CotangentsThatDoNotFitNameTheLeafPath()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(3, 4, Key.Create(10));
        Func<TinyMlp, Tensor> With(Func<TinyMlp, TinyMlp> rule) =>
            Eqx.FilterCustomVjp((TinyMlp m) => m.W1.Sum(), (TinyMlp m, Tensor y, Tensor ct) => rule(m));

        var e = Assert.Throws<ArgumentException>(() => Eqx.FilterGrad(With(m => G(m.B1)))(model))!;
        Assert.That(e.Message, Is.EqualTo(
            "Eqx.FilterCustomVjp: the backward rule returned f64[4] as the cotangent at cotangent.W1, but the input there " +
            "is f64[3,4]; a cotangent must have its input's shape, dtype and device (null for zero)."));

        e = Assert.Throws<ArgumentException>(() => Eqx.FilterGrad(With(m => G(m.W1.To(DType.Float32))))(model))!;
        Assert.That(e.Message, Does.StartWith("Eqx.FilterCustomVjp: the backward rule returned f32[3,4] as the cotangent at cotangent.W1, but the input there is f64[3,4]"));

        e = Assert.Throws<ArgumentException>(() => Eqx.FilterGrad(With(m => G(steps: Tensor.Scalar(1L))))(model))!;
        Assert.That(e.Message, Does.StartWith("Eqx.FilterCustomVjp: the backward rule returned i64[] as the cotangent at cotangent.Steps, but the input there is null or not floating-point"));

        e = Assert.Throws<ArgumentException>(() => Eqx.FilterGrad(With(_ => null!))(model))!;
        Assert.That(e.Message, Does.StartWith("Eqx.FilterCustomVjp: the backward rule returned null."));
    }

    [Test]
    public void SecondOrderJvpAndVmapUsesAreNotSupported()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(2, 3, Key.Create(11));
        var square = Eqx.FilterCustomVjp((TinyMlp m) => m.W1.Square().Sum(),
            (TinyMlp m, Tensor y, Tensor ct) => G(2 * m.W1 * ct));

        var e = Assert.Throws<NotSupportedException>(() => Eqx.FilterGrad((TinyMlp m) => Eqx.FilterGrad(square)(m).W1.Sum())(model))!;
        Assert.That(e.Message, Does.StartWith("Eqx.FilterCustomVjp: differentiating a custom rule again"));

        e = Assert.Throws<NotSupportedException>(() => Eqx.FilterJvp(square, model, JvpTests.Direction(model, 1)))!;
        Assert.That(e.Message, Does.StartWith("Eqx.FilterCustomVjp inside Eqx.FilterJvp is not supported"));

        e = Assert.Throws<NotSupportedException>(() => Eqx.FilterVmap((Tensor row) => ClipGradient(row))(Tensor.Ones([2, 3])))!;
        Assert.That(e.Message, Does.StartWith("Eqx.FilterCustomVjp inside Eqx.FilterVmap is not supported"));

        // Called plainly, it is the forward: no node, no rule kept.
        long rules = CustomBackward.LiveRules;
        Assert.That(square(model).Item<double>(), Is.EqualTo(model.W1.Square().Sum().Item<double>()));
        Assert.That(CustomBackward.LiveRules, Is.EqualTo(rules));
    }

    [Test]
    public void HundredGradientsLeaveNoLiveTensorsAndNoRules()
    {
        var model = new TinyMlp(3, 4, Key.Create(12));
        var x = Normal(13, 5, 3);
        var hidden = HiddenLayer(x);
        var failing = Eqx.FilterCustomVjp((Tensor a) => a.Exp(), (Tensor a, Tensor y, Tensor ct) => throw new ArithmeticException("no"));
        void Call(int i)
        {
            using var scope = Torch.Scope();
            var grads = Eqx.FilterGrad((TinyMlp m) => (ClipGradient(hidden(m)).Matmul(m.W2) + m.B2).Sum())(model);
            Assert.That(grads.W1.Shape, Is.EqualTo(model.W1.Shape));
            if (i % 10 == 0) Assert.Throws<ArithmeticException>(() => Eqx.FilterGrad((TinyMlp m) => failing(m.W1).Sum())(model));
        }
        Call(0);
        Finalizers.RunPending();
        long tensors = Torch.LiveTensors, rules = CustomBackward.LiveRules;
        for (int i = 0; i < 100; i++) Call(i);
        Finalizers.RunPending();
        Assert.That(Torch.LiveTensors, Is.EqualTo(tensors), "live tensors");
        Assert.That(CustomBackward.LiveRules, Is.EqualTo(rules), "rules held by autograd nodes");
    }
}
