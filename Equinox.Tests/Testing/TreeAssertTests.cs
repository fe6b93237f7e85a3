using Equinox.Nn;
using Equinox.Tensors;
using Equinox.Testing;
using NUnit.Framework;

namespace Equinox.Tests.Testing;

public class TreeAssertTests
{
    private static Mlp Model(int width = 4, int depth = 2, int seed = 0) => new(3, 2, width, depth, Key.Create(seed));

    [Test]
    public void AllClosePassesForACopyAndWithinTolerance()
    {
        var model = Model();
        TreeAssert.AllClose(model, Eqx.TreeMap(model, t => t.Clone()));
        TreeAssert.AllClose(model, Eqx.TreeMap(model, t => t + 1e-6), rtol: 0, atol: 1e-5);
    }

    [Test]
    public void AllCloseNamesTheLeafTheCountAndTheLargestErrors()
    {
        var model = Model();
        var w = model.Layers[2].Weight;
        var bumped = Eqx.TreeAt(model, m => m.Layers[2].Weight, w + Tensor.FromArray(new float[] { 0, 0, 0, 0, 0, 0, 0.5f, 0 }, 2, 4));
        var error = Assert.Throws<TreeAssertionException>(() => TreeAssert.AllClose(model, bumped))!;
        Assert.That(error.Message, Does.StartWith("The trees differ at leaf Layers[2].Weight: 1 of 8 elements of f32[2,4] exceed atol + rtol·|expected| (rtol=1E-05, atol=1E-08); the largest absolute error is 0.5 at [1, 2]"));
        float expected = w.ToArray<float>()[6];
        Assert.That(error.Message, Does.Contain($"(expected {((double)expected).ToString("G6", System.Globalization.CultureInfo.InvariantCulture)}, actual "));
    }

    [Test]
    public void AllCloseReportsNaNAndShapeAndNullDifferences()
    {
        var model = Model();
        var nan = Eqx.TreeAt(model, m => m.Layers[0].Bias!, model.Layers[0].Bias! * double.NaN);
        Assert.That(Assert.Throws<TreeAssertionException>(() => TreeAssert.AllClose(model, nan))!.Message,
            Does.StartWith("The trees differ at leaf Layers[0].Bias: 4 of 4 elements of f32[4] exceed"));

        var reshaped = Eqx.TreeAt(model, m => m.Layers[0].Bias!, Tensor.Zeros([5]));
        Assert.That(Assert.Throws<TreeAssertionException>(() => TreeAssert.AllClose(model, reshaped))!.Message,
            Is.EqualTo("The trees differ at leaf Layers[0].Bias: expected f32[4], actual f32[5]."));

        var doubled = Eqx.TreeAt(model, m => m.Layers[0].Bias!, model.Layers[0].Bias!.To(DType.Float64));
        Assert.That(Assert.Throws<TreeAssertionException>(() => TreeAssert.AllClose(model, doubled))!.Message,
            Is.EqualTo("The trees differ at leaf Layers[0].Bias: expected f32[4], actual f64[4]."));

        var holed = Eqx.Filter(model, t => t.Rank == 2);
        Assert.That(Assert.Throws<TreeAssertionException>(() => TreeAssert.AllClose(model, holed))!.Message,
            Is.EqualTo("The trees differ at leaf Layers[0].Bias: expected f32[4], actual null."));
    }

    [Test]
    public void StructureNamesTheDifference()
    {
        Assert.DoesNotThrow(() => TreeAssert.Structure(Model(seed: 0), Model(seed: 1)));
        var error = Assert.Throws<TreeAssertionException>(() => TreeAssert.Structure(Model(width: 4), Model(width: 5)))!;
        Assert.That(error.Message, Is.EqualTo("The trees differ in structure (expected vs actual): Layers[0].OutFeatures (int): 4 vs 5."));
        var deeper = Assert.Throws<TreeAssertionException>(() => TreeAssert.AllClose(Model(depth: 2), Model(depth: 3)))!;
        Assert.That(deeper.Message, Does.Contain("Layers: 3 elements vs 4 elements"));
    }

    [Test]
    public void GradCheckPassesForACorrectGradient()
    {
        var x = Tensor.Normal(Key.Create(3), [5, 3]).To(DType.Float64);
        GradCheck.Check((Mlp m) => m.Forward(x).Square().Mean(), Model());
    }

    [Test]
    public void GradCheckNamesTheLeafAndIndexOfAWrongGradient()
    {
        var x = Tensor.Normal(Key.Create(3), [5, 3]).To(DType.Float64);
        // The detached term is hidden from autograd but not from finite differences: they disagree by 2·bias.
        var error = Assert.Throws<TreeAssertionException>(() => GradCheck.Check(
            (Mlp m) => m.Forward(x).Square().Mean() + m.Layers[2].Bias!.Detach().Square().Sum(), Model()))!;
        Assert.That(error.Message, Does.StartWith("The gradient of Layers[2].Bias (f64[2]) at [0] is "));
        Assert.That(error.Message, Does.Contain(" by FilterGrad but "));
        Assert.That(error.Message, Does.Contain("by central differences (eps=1E-06)"));
    }

    [Test]
    public void GradCheckRejectsANonScalarLoss()
    {
        var x = Tensor.Normal(Key.Create(3), [5, 3]).To(DType.Float64);
        Assert.That(() => GradCheck.Check((Mlp m) => m.Forward(x), Model()), Throws.Exception);
    }
}
