using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Transforms;


// Transformations called inside a FilterVmap's function: FilterGrad gives per-example gradients, and ErrorIf checks
// every example, raising when the FilterVmap ends with the index of the first one that failed.
public class VmapCompositionTests
{
    private static Tensor Normal(int seed, params long[] shape) => Tensor.Normal(Key.Create(seed), shape, DType.Float64);

    private static Tensor Loss(VmapAffine m, Tensor x, Tensor y) => (m.Forward(x) - y).Square().Sum();

    private static void AssertClose(Tensor actual, Tensor expected, string what)
    {
        Assert.That(actual.Shape, Is.EqualTo(expected.Shape), $"{what}: shape");
        OracleAssert.Values(actual.ToArray<double>(), expected.ToArray<double>(), 1e-10, 1e-12, what);
    }

    [TearDown]
    public void NoLayerIsLeft() => Assert.That(Functorch.Depth, Is.Zero, "a functorch layer leaked");

    [Test]
    public void FilterGradInsideFilterVmapGivesPerExampleGradients()
    {
        using var scope = Torch.Scope();
        var model = new VmapAffine(4, 3, 5);
        var xs = Normal(6, 8, 4);
        var ys = Normal(7, 8, 3);

        var grads = Eqx.FilterVmap((Tensor x, Tensor y) => Eqx.FilterGrad((VmapAffine m) => Loss(m, x, y))(model))(xs, ys);

        var expected = Eqx.PerExampleGrads(Loss, model, xs, ys);
        Assert.That(grads.Weight, Is.Not.Null, "a gradient, not the null that plain autograd finds inside functorch's batching");
        AssertClose(grads.Weight, expected.Weight, "weight gradients");
        AssertClose(grads.Bias, expected.Bias, "bias gradients");
        var tracked = Eqx.TreeMap(model, t => t.WithRequiresGrad());
        var first = Autograd.Grad(Loss(tracked, xs.Select(0, 1), ys.Select(0, 1)), tracked.Weight)[0]!;
        AssertClose(grads.Weight.Select(0, 1), first, "example 1 against plain autograd");
    }

    [Test]
    public void FilterValueAndGradInsideFilterVmapGivesEachExamplesLoss()
    {
        using var scope = Torch.Scope();
        var model = new VmapAffine(4, 3, 5);
        var xs = Normal(6, 5, 4);
        var ys = Normal(7, 5, 3);

        var (losses, grads) = Eqx.FilterVmap((Tensor x, Tensor y) =>
        {
            var (loss, g) = Eqx.FilterValueAndGrad((VmapAffine m) => Loss(m, x, y))(model);
            return (loss, g);
        })(xs, ys);

        var (expectedLosses, expectedGrads) = Eqx.PerExampleValueAndGrad(Loss, model, xs, ys);
        AssertClose(losses, expectedLosses, "losses");
        AssertClose(grads.Bias, expectedGrads.Bias, "bias gradients");
    }

    [Test]
    public void InsideFilterVmapALeafTheLossDoesNotUseGetsZeros()
    {
        using var scope = Torch.Scope();
        var model = new VmapAffine(4, 3, 5);
        var grads = Eqx.FilterVmap((Tensor x) => Eqx.FilterGrad((VmapAffine m) => m.Weight.Matmul(x).Sum())(model))(Normal(6, 2, 4));
        Assert.That(grads.Bias.Shape, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(grads.Bias.ToArray<double>(), Is.All.EqualTo(0.0));
    }

    [Test]
    public void AnAuxHoldingTensorsInsideFilterVmapIsNotSupported()
    {
        using var scope = Torch.Scope();
        var model = new VmapAffine(4, 3, 5);
        var e = Assert.Throws<NotSupportedException>(() => Eqx.FilterVmap((Tensor x) =>
            Eqx.FilterValueAndGradWithAux((VmapAffine m) => (m.Forward(x).Sum(), m.Forward(x)))(model).Value)(Normal(6, 2, 4)));
        Assert.That(e!.Message, Is.EqualTo(
            "FilterValueAndGradWithAux inside a FilterVmap cannot return tensors in its aux: per-example gradients run " +
            "through functorch's Grad layer, and Equinox does not yet take an aux's tensors out of it. Compute those " +
            "tensors outside the gradient (in the FilterVmap's function) and return them from there, or use " +
            "Eqx.PerExampleValueAndGrad."));

        var (grads, count) = Eqx.FilterVmap((Tensor x) =>
        {
            var (g, n) = Eqx.FilterGradWithAux((VmapAffine m) => (m.Forward(x).Sum(), 7))(model);
            Assert.That(n, Is.EqualTo(7), "an aux without tensors comes back as it was");
            return (g.Bias, x.Sum());
        })(Normal(6, 2, 4));
        Assert.That(grads.Shape, Is.EqualTo(new long[] { 2, 3 }));
    }

    [Test]
    public void ErrorIfInsideFilterVmapPassesWhenNoExampleFails()
    {
        using var scope = Torch.Scope();
        var xs = Normal(1, 4, 3);
        var ys = Eqx.FilterVmap((Tensor x) => Eqx.ErrorIf(x, x.IsNan().Any(), "NaN in x") * 2.0)(xs);
        AssertClose(ys, xs * 2.0, "the checked values");
    }

    [Test]
    public void ErrorIfInsideFilterVmapNamesTheFirstExampleThatFailed()
    {
        using var scope = Torch.Scope();
        var xs = Tensor.FromArray(new double[] { 1, 2, 3, double.NaN, 5, double.NaN, 7, 8, 9, 10 }).Reshape(5, 2);

        int line = CallSite.Line() + 2;
        var e = Assert.Throws<EquinoxRuntimeException>(() =>
            Eqx.FilterVmap((Tensor x) => Eqx.ErrorIf(x, x.IsNan().Any(), "NaN in x") * 2.0)(xs));

        Assert.That(e!.Message, Is.EqualTo(
            $"NaN in x (FilterVmap: at batch index 1; 2 of 5 examples failed this check) (ErrorIf at VmapCompositionTests.cs:{line})"));
        Assert.That(e.Line, Is.EqualTo(line));
        Assert.That(TensorScope.Current, Is.SameAs(scope));
    }

    [Test]
    public void BranchedErrorIfInsideFilterVmapPicksTheFailedExamplesMessage()
    {
        using var scope = Torch.Scope();
        var xs = Tensor.FromArray(new double[] { 1, 20, -3 });
        string[] messages = ["negative input", "input too large"];

        int line = CallSite.Line() + 2;
        var e = Assert.Throws<EquinoxRuntimeException>(() => Eqx.FilterVmap((Tensor x) =>
            Eqx.BranchedErrorIf(x, x.Lt(0.0).LogicalOr(x.Gt(10.0)), x.Gt(10.0).To(DType.Int64), messages))(xs));

        Assert.That(e!.Message, Is.EqualTo(
            $"input too large (FilterVmap: at batch index 1; 2 of 3 examples failed this check) (BranchedErrorIf at VmapCompositionTests.cs:{line})"));
    }

    [Test]
    public void ErrorIfInsideNestedFilterVmapsNamesBothIndices()
    {
        using var scope = Torch.Scope();
        var xs = Tensor.FromArray(new double[] { 0, 0, 0, 0, 0, double.NaN }).Reshape(2, 3);
        int line = CallSite.Line() + 1;
        var inner = Eqx.FilterVmap((Tensor x) => Eqx.ErrorIf(x, x.IsNan(), "NaN in x"));

        var e = Assert.Throws<EquinoxRuntimeException>(() => Eqx.FilterVmap((Tensor row) => inner(row))(xs));

        Assert.That(e!.Message, Is.EqualTo(
            $"NaN in x (FilterVmap: at batch index [1, 2]; 1 of 6 examples failed this check) (ErrorIf at VmapCompositionTests.cs:{line})"));
        Assert.That(Eqx.FilterVmap((Tensor row) => inner(row))(Tensor.Zeros([2, 3], DType.Float64)).Shape, Is.EqualTo(new long[] { 2, 3 }));
    }

    [Test]
    public void ErrorIfInsidePerExampleGradientsChecksEveryExample()
    {
        using var scope = Torch.Scope();
        var model = new VmapAffine(2, 2, 5);
        var xs = Tensor.FromArray(new double[] { 1, 2, 3, 4, 5, 6 }).Reshape(3, 2);
        var ys = Tensor.FromArray(new double[] { 0, 0, 0, 0, 100, 0 }).Reshape(3, 2);
        int line = CallSite.Line() + 4;
        Tensor Checked(VmapAffine m, Tensor x, Tensor y)
        {
            var loss = Loss(m, x, y);
            return Eqx.ErrorIf(loss, loss.Gt(1000.0), "the loss exploded");
        }

        var e = Assert.Throws<EquinoxRuntimeException>(() => Eqx.PerExampleGrads(Checked, model, xs, ys));
        Assert.That(e!.Message, Is.EqualTo(
            $"the loss exploded (FilterVmap: at batch index 2; 1 of 3 examples failed this check) (ErrorIf at VmapCompositionTests.cs:{line})"));
        var grads = Eqx.PerExampleGrads(Checked, model, xs, ys.ZerosLike());
        Assert.That(grads.Weight.Shape, Is.EqualTo(new long[] { 3, 2, 2 }));
    }
}
