using Equinox.Tensors;
using Equinox.Transforms;
using NUnit.Framework;

namespace Equinox.Tests.Transforms;


// FilterGrad / FilterValueAndGrad and StopGradient: against central finite differences in float64 and against PyTorch.
public class GradTests
{
    private static Tensor Normal(int seed, params long[] shape) => Tensor.Normal(Key.Create(seed), shape, DType.Float64);

    private static Tensor MseLoss(TinyMlp m, Tensor x, Tensor y) => (m.Forward(x) - y).Square().Mean();

    private const string MsePython = "((" + TinyMlp.ForwardPython + ") - y).square().mean()";

    /// <summary>Central differences of <paramref name="f"/> with respect to every element of slot <paramref name="slot"/>.</summary>
    internal static double[] FiniteDifferences<T>(T model, Func<T, Tensor> f, int slot, double h = 1e-6) where T : ITreeNode
    {
        using var scope = Torch.Scope();
        using var _ = Torch.NoGrad();
        var leaves = Eqx.Flatten(model);
        var shape = leaves[slot]!.Shape;
        var values = leaves[slot]!.ToArray<double>();
        var result = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            double At(double delta)
            {
                var shifted = (double[])values.Clone();
                shifted[i] += delta;
                var copy = (Tensor?[])leaves.Clone();
                copy[slot] = Tensor.FromSpan<double>(shifted, shape);
                return f(Eqx.Unflatten(model, copy)).Item<double>();
            }
            result[i] = (At(h) - At(-h)) / (2 * h);
        }
        return result;
    }

    [Test]
    public void GradientsOfAnMlpMatchCentralFiniteDifferences()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(3, 4, Key.Create(1));
        var x = Normal(2, 5, 3);
        var y = Normal(3, 5, 1);
        var (loss, grads) = Eqx.FilterValueAndGrad((TinyMlp m) => MseLoss(m, x, y))(model);

        Assert.That(loss.Rank, Is.EqualTo(0));
        Assert.That(loss.Item<double>(), Is.EqualTo(MseLoss(model, x, y).Item<double>()).Within(1e-15));
        var gradSlots = Eqx.Flatten(grads);
        var paths = Eqx.LeafPaths(model);
        for (int slot = 0; slot < 4; slot++)
        {
            var numeric = FiniteDifferences(model, m => MseLoss(m, x, y), slot);
            var analytic = gradSlots[slot]!.ToArray<double>();
            Assert.That(gradSlots[slot]!.Shape, Is.EqualTo(Eqx.Flatten(model)[slot]!.Shape), $"{paths[slot]}: shape");
            OracleAssert.Values(analytic, numeric, 1e-6, 1e-9, $"d loss / d {paths[slot]}");
            Assert.That(analytic, Has.Some.Not.EqualTo(0.0), $"{paths[slot]} should have a non-trivial gradient");
        }
    }

    [Test]
    public void GradientsMatchPyTorchOnTheSameWeights()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(3, 4, Key.Create(4));
        var x = Normal(5, 6, 3);
        var y = Normal(6, 6, 1);
        var (loss, grads) = Eqx.FilterValueAndGrad((TinyMlp m) => MseLoss(m, x, y))(model);

        var expected = PyTorchOracle.RunWithGrad(MsePython,
            ("w1", model.W1.WithRequiresGrad()), ("b1", model.B1.WithRequiresGrad()),
            ("w2", model.W2.WithRequiresGrad()), ("b2", model.B2.WithRequiresGrad()), ("x", x), ("y", y));
        OracleAssert.Close(loss, expected.Out, what: "loss");
        OracleAssert.Grads(expected, [grads.W1, grads.B1, grads.W2, grads.B2], "w1", "b1", "w2", "b2");
    }

    [Test]
    public void NonInexactUnusedAndNullSlotsGetNullGradientsAndTheStaticPartIsKept()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(2, 3, Key.Create(7), withSpare: true);
        var x = Normal(8, 4, 2);
        var grads = Eqx.FilterGrad((TinyMlp m) => m.Forward(x).Sum())(model);
        Assert.That(grads.Steps, Is.Null, "an int64 leaf is not differentiated");
        Assert.That(grads.Spare, Is.Null, "a floating leaf the loss does not use gets null");
        Assert.That(grads.W1, Is.Not.Null);
        Assert.That(grads.B2!.ToArray<double>(), Is.EqualTo(new[] { 4.0 }), "d sum(xW + b2) / d b2 = batch size");
        Assert.That(grads.Name, Is.EqualTo("tiny"));
        Assert.That(grads.W1.RequiresGrad, Is.False, "a top-level gradient is a plain tensor");

        var noSpare = new TinyMlp(2, 3, Key.Create(7));
        Assert.That(Eqx.FilterGrad((TinyMlp m) => m.Forward(x).Sum())(noSpare).Spare, Is.Null, "a null slot stays null");
        Assert.That(model.W1.RequiresGrad, Is.False, "the model passed in is left as it was");
    }

    [Test]
    public void ExtraArgumentsArePassedThroughAndNotDifferentiated()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(3, 2, Key.Create(9));
        var x = Normal(10, 4, 3);
        var y = Normal(11, 4, 1);
        var closure = Eqx.FilterGrad((TinyMlp m) => MseLoss(m, x, y))(model);
        var two = Eqx.FilterGrad((TinyMlp m, Tensor a, Tensor b) => MseLoss(m, a, b))(model, x, y);
        var one = Eqx.FilterValueAndGrad((TinyMlp m, Tensor a) => MseLoss(m, a, y))(model, x);
        var three = Eqx.FilterValueAndGrad((TinyMlp m, Tensor a, Tensor b, double scale) => MseLoss(m, a, b) * scale)(model, x, y, 2.0);
        Assert.That(two.W1.ToArray<double>(), Is.EqualTo(closure.W1.ToArray<double>()));
        Assert.That(one.Grads.W2.ToArray<double>(), Is.EqualTo(closure.W2.ToArray<double>()));
        Assert.That(three.Grads.B1.ToArray<double>(), Is.EqualTo((closure.B1 * 2.0).ToArray<double>()).Within(1e-14));
    }

    [Test]
    public void TheAuxComesBackUnchangedAndOnlyTheLossIsDifferentiated()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(3, 2, Key.Create(12));
        var x = Normal(13, 4, 3);
        var y = Normal(14, 4, 1);
        var label = new object();
        Tensor? predictions = null;
        var (loss, aux, grads) = Eqx.FilterValueAndGradWithAux((TinyMlp m) =>
        {
            predictions = m.Forward(x);
            return (MseLoss(m, x, y), (predictions, label));
        })(model);
        Assert.That(aux.Item2, Is.SameAs(label));
        Assert.That(aux.Item1, Is.SameAs(predictions));
        Assert.That(aux.Item1!.IsDisposed, Is.False, "tensors in the aux outlive the call");
        Assert.That(aux.Item1.ToArray<double>(), Is.EqualTo(model.Forward(x).ToArray<double>()).Within(1e-15));
        var plain = Eqx.FilterValueAndGrad((TinyMlp m) => MseLoss(m, x, y))(model);
        Assert.That(loss.Item<double>(), Is.EqualTo(plain.Value.Item<double>()));
        Assert.That(grads.W1.ToArray<double>(), Is.EqualTo(plain.Grads.W1.ToArray<double>()), "the aux does not change the gradient");

        var (gradsOnly, count) = Eqx.FilterGradWithAux((TinyMlp m, Tensor a) => (MseLoss(m, a, y), 42))(model, x);
        Assert.That(count, Is.EqualTo(42));
        Assert.That(gradsOnly.B2.ToArray<double>(), Is.EqualTo(plain.Grads.B2.ToArray<double>()));
    }

    [Test]
    public void GradOfGradIsTheSecondDerivative()
    {
        using var scope = Torch.Scope();
        var w = Tensor.FromArray(new[] { -1.5, 0.5, 2.0 });
        var model = new Scalarish(w);
        var inner = Eqx.FilterGrad((Scalarish m) => m.W.Pow(3.0).Sum());
        Assert.That(inner(model).W.ToArray<double>(), Is.EqualTo(new[] { 6.75, 0.75, 12.0 }).Within(1e-12), "3 w^2");
        var second = Eqx.FilterGrad((Scalarish m) => inner(m).W.Sum())(model);
        Assert.That(second.W.ToArray<double>(), Is.EqualTo(new[] { -9.0, 3.0, 12.0 }).Within(1e-12), "6 w");
        var third = Eqx.FilterGrad((Scalarish m) => Eqx.FilterGrad((Scalarish n) => inner(n).W.Sum())(m).W.Sum())(model);
        Assert.That(third.W.ToArray<double>(), Is.EqualTo(new[] { 6.0, 6.0, 6.0 }).Within(1e-12), "6");
        Assert.That(second.W.RequiresGrad, Is.False, "the outermost gradient is a plain tensor");
    }

    [Test]
    public void SecondOrderGradientsOfAnMlpMatchPyTorchCreateGraph()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(3, 4, Key.Create(15));
        var x = Normal(16, 5, 3);
        var y = Normal(17, 5, 1);
        var gradOf = Eqx.FilterGrad((TinyMlp m) => MseLoss(m, x, y));
        // The squared norm of the gradient, differentiated: a Hessian-vector product.
        var (norm, grads) = Eqx.FilterValueAndGrad((TinyMlp m) =>
        {
            var g = gradOf(m);
            return g.W1.Square().Sum() + g.W2.Square().Sum() + g.B1.Square().Sum();
        })(model);
        var expected = PyTorchOracle.RunWithGrad(
            $"loss = {MsePython}\n" +
            "g1, gb1, g2 = torch.autograd.grad(loss, (w1, b1, w2), create_graph=True)\n" +
            "out = g1.square().sum() + g2.square().sum() + gb1.square().sum()",
            ("w1", model.W1.WithRequiresGrad()), ("b1", model.B1.WithRequiresGrad()),
            ("w2", model.W2.WithRequiresGrad()), ("b2", model.B2.WithRequiresGrad()), ("x", x), ("y", y));
        OracleAssert.Close(norm, expected.Out, what: "gradient norm");
        OracleAssert.Grads(expected, [grads.W1, grads.B1, grads.W2, grads.B2], 1e-9, 1e-12, "w1", "b1", "w2", "b2");
    }

    [Test]
    public void AModelThatAlreadyRequiresGradStaysConnectedToTheCallersAutograd()
    {
        using var scope = Torch.Scope();
        var w = Tensor.FromArray(new[] { 1.0, -2.0, 0.5 }).WithRequiresGrad();
        var g = Eqx.FilterGrad((Scalarish m) => m.W.Pow(3.0).Sum())(new Scalarish(w));
        Assert.That(g.W.RequiresGrad, Is.True, "built with create_graph because the input was already recorded");
        var second = Autograd.Grad(g.W.Sum(), w)[0]!;
        Assert.That(second.ToArray<double>(), Is.EqualTo(new[] { 6.0, -12.0, 3.0 }).Within(1e-12));
    }

    [Test]
    public void OnlyTheArgumentIsDifferentiatedNotTheSameTensorCapturedByTheFunction()
    {
        using var scope = Torch.Scope();
        var w = Tensor.FromArray(new[] { 1.0, 2.0, 3.0 });
        var model = new Scalarish(w);
        // d/dm (m.W * w) where w is the same tensor as model.W but a constant for this derivative: the answer is w,
        // not 2w (perturbation confusion).
        var g = Eqx.FilterGrad((Scalarish m) => (m.W * w).Sum())(model);
        Assert.That(g.W.ToArray<double>(), Is.EqualTo(new[] { 1.0, 2.0, 3.0 }));
        // The same inside an enclosing gradient, where the captured model is itself being differentiated.
        var outer = Eqx.FilterGrad((Scalarish m) => Eqx.FilterGrad((Scalarish n) => (n.W * m.W).Sum())(m).W.Sum())(model);
        Assert.That(outer.W.ToArray<double>(), Is.EqualTo(new[] { 1.0, 1.0, 1.0 }), "d/dw of (d/dn n*w) = d/dw w = 1");
    }

    [Test]
    public void AGradientInsideAGradientStaysDifferentiableThroughWhatItCaptures()
    {
        using var scope = Torch.Scope();
        var model = new Scalarish(Tensor.FromArray(new[] { 1.0, 2.0, 3.0 }));
        var constant = new Scalarish(Tensor.FromArray(new[] { 5.0, 7.0, 9.0 }));
        // The inner model is a constant; its gradient is m.W, which the outer gradient differentiates again.
        var g = Eqx.FilterGrad((Scalarish m) =>
            Eqx.FilterGrad((Scalarish n) => (n.W * m.W * m.W).Sum())(constant).W.Sum())(model);
        Assert.That(g.W, Is.Not.Null, "the inner gradient must be built with create_graph");
        Assert.That(g.W.ToArray<double>(), Is.EqualTo(new[] { 2.0, 4.0, 6.0 }), "d/dw sum(w^2) = 2w");
    }

    [Test]
    public void WorksInsideNoGrad()
    {
        using var scope = Torch.Scope();
        using var _ = Torch.NoGrad();
        var g = Eqx.FilterGrad((Scalarish m) => m.W.Square().Sum())(new Scalarish(Tensor.FromArray(new[] { 1.0, 3.0 })));
        Assert.That(g.W.ToArray<double>(), Is.EqualTo(new[] { 2.0, 6.0 }));
        Assert.That(Torch.IsGradEnabled, Is.False, "grad mode is restored");
    }

    [Test]
    public void TheNestingDepthIsTransformStateThatAThrowingFunctionRestores()
    {
        using var scope = Torch.Scope();
        var model = new Scalarish(Tensor.FromArray(new[] { 1.0, 2.0 }));
        var depths = new List<int>();
        Eqx.FilterGrad((Scalarish m) =>
        {
            depths.Add(TransformContext.Current.GradDepth);
            var inner = Eqx.FilterGrad((Scalarish n) =>
            {
                depths.Add(TransformContext.Current.GradDepth);
                return n.W.Square().Sum();
            })(m);
            return inner.W.Sum();
        })(model);
        Assert.That(depths, Is.EqualTo(new[] { 1, 2 }));
        Assert.That(TransformContext.Current.GradDepth, Is.Zero);

        Assert.Throws<InvalidOperationException>(() => Eqx.FilterGrad((Scalarish m) => throw new InvalidOperationException("boom"))(model));
        Assert.That(TransformContext.Current.GradDepth, Is.Zero, "restored when the function throws");
        var g = Eqx.FilterGrad((Scalarish m) => m.W.Square().Sum())(model);
        Assert.That(g.W.RequiresGrad, Is.False, "so the next top-level gradient is a plain tensor, not built with create_graph");
    }

    [Test]
    public void StopGradientMakesABufferNonTrainable()
    {
        using var scope = Torch.Scope();
        var x = Normal(18, 3);
        var frozen = new Buffered(Normal(19, 3), Normal(20, 3));
        var grads = Eqx.FilterGrad((Buffered m) => m.Forward(x).Square().Sum())(frozen);
        Assert.That(grads.Buffer, Is.Null, "no gradient reaches a buffer read through StopGradient");
        var expectedParam = (2 * (frozen.Param * x + frozen.Buffer) * x).ToArray<double>();
        Assert.That(grads.Param.ToArray<double>(), Is.EqualTo(expectedParam).Within(1e-12));
        var stepped = Eqx.ApplyUpdates(frozen, Eqx.TreeMap(grads, g => g * -0.1));
        Assert.That(stepped.Buffer, Is.SameAs(frozen.Buffer), "an update leaves the buffer alone");

        var trainable = new Buffered(frozen.Param, frozen.Buffer, stopBuffer: false);
        var both = Eqx.FilterGrad((Buffered m) => m.Forward(x).Square().Sum())(trainable);
        Assert.That(both.Buffer, Is.Not.Null, "without StopGradient the buffer would train");
        var oracle = PyTorchOracle.RunWithGrad("(p * x + b.detach()).square()",
            ("p", frozen.Param.WithRequiresGrad()), ("b", frozen.Buffer.WithRequiresGrad()), ("x", x));
        OracleAssert.Grads(oracle, [grads.Param, grads.Buffer], "p", "b");
    }

    [Test]
    public void StopGradientOfATreeFreezesEveryLeaf()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(2, 3, Key.Create(21));
        var x = Normal(22, 4, 2);
        var frozen = Eqx.StopGradient(model);
        Assert.That(frozen.W1.SharesStorageWith(model.W1), Is.True);
        Assert.That(frozen.Name, Is.EqualTo(model.Name));
        // The target-network pattern: the loss reads the live model and a frozen copy.
        var grads = Eqx.FilterGrad((TinyMlp m) => (m.Forward(x) - Eqx.StopGradient(m).Forward(x).Square()).Sum())(model);
        var expected = Eqx.FilterGrad((TinyMlp m) => m.Forward(x).Sum())(model);
        Assert.That(grads.W1.ToArray<double>(), Is.EqualTo(expected.W1.ToArray<double>()).Within(1e-14));
    }

    [Test]
    public void ANonScalarLossIsAClearError()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(3, 2, Key.Create(23));
        var x = Normal(24, 4, 3);
        var error = Assert.Throws<ArgumentException>(() => Eqx.FilterValueAndGrad((TinyMlp m) => m.Forward(x))(model));
        Assert.That(error!.Message, Does.Contain("FilterValueAndGrad").And.Contain("shape [4, 1]").And.Contain(".Mean()"));
        var integer = Assert.Throws<ArgumentException>(() => Eqx.FilterGrad((TinyMlp m) => m.Steps * 2)(model));
        Assert.That(integer!.Message, Does.Contain("floating-point").And.Contain("i64[]"));
        var aux = Assert.Throws<ArgumentException>(() => Eqx.FilterValueAndGradWithAux((TinyMlp m) => (m.Forward(x), 0))(model));
        Assert.That(aux!.Message, Does.Contain("FilterValueAndGradWithAux"));
    }

    [Test]
    public void OnlyTheValueAndTheGradientsOutliveTheCall()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(3, 4, Key.Create(25));
        var x = Normal(26, 8, 3);
        var y = Normal(27, 8, 1);
        var valueAndGrad = Eqx.FilterValueAndGrad((TinyMlp m) => MseLoss(m, x, y));
        int before = scope.Count;
        var (loss, grads) = valueAndGrad(model);
        // The loss and four gradients; the forward's intermediates and the traced aliases are gone.
        Assert.That(scope.Count - before, Is.EqualTo(5));
        Assert.That(Eqx.Leaves(grads).All(g => !g.IsDisposed), Is.True);
        Assert.That(loss.IsDisposed, Is.False);
    }

    [Test]
    public void ATrainingStepWithApplyUpdatesLowersTheLoss()
    {
        using var scope = Torch.Scope();
        var model = new TinyMlp(3, 8, Key.Create(28));
        var x = Normal(29, 16, 3);
        var y = x.Sum(1, keepdim: true).Sin();
        var valueAndGrad = Eqx.FilterValueAndGrad((TinyMlp m) => MseLoss(m, x, y));
        double first = 0, last = 0;
        for (int step = 0; step < 20; step++)
        {
            using var stepScope = Torch.Scope();
            var (loss, grads) = valueAndGrad(model);
            model = Eqx.ApplyUpdates(model, Eqx.TreeMap(grads, g => g * -0.1));
            stepScope.MoveOut(Eqx.Leaves(model));
            if (step == 0) first = loss.Item<double>();
            last = loss.Item<double>();
        }
        Assert.That(last, Is.LessThan(first * 0.9));
        Assert.That(model.Steps.Item<long>(), Is.EqualTo(3), "the integer leaf is not updated");
    }
}
