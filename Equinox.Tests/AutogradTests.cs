using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests;


// Autograd.Grad against PyTorch and against finite differences; grad mode; higher order; stopping gradients.
public class AutogradTests
{
    private static Tensor Normal(int seed, ReadOnlySpan<long> shape) => Tensor.Normal(Key.Create(seed), shape, DType.Float64);

    // A small network-like function that exercises matmul, broadcasting, activations, reductions and indexing.
    private static Tensor Composite(Tensor x, Tensor w, Tensor b) =>
        ((x.Matmul(w) + b).Tanh() * x[.., ..3].Sigmoid()).LogSumExp(1).Mean() + w.Square().Sum() * 0.01;

    private const string CompositePython =
        "((x @ w + b).tanh() * x[:, :3].sigmoid()).logsumexp(1).mean() + w.square().sum() * 0.01";

    [Test]
    public void GradientsOfACompositeFunctionMatchPyTorch()
    {
        using var scope = Torch.Scope();
        var x = Normal(1, [5, 4]).WithRequiresGrad();
        var w = Normal(2, [4, 3]).WithRequiresGrad();
        var b = Normal(3, [3]).WithRequiresGrad();
        var loss = Composite(x, w, b);
        var grads = Autograd.Grad(loss, x, w, b);
        var expected = PyTorchOracle.RunWithGrad(CompositePython, ("x", x), ("w", w), ("b", b));
        OracleAssert.Close(loss, expected.Out);
        OracleAssert.Grads(expected, grads, "x", "w", "b");
    }

    [Test]
    public void GradientsMatchCentralFiniteDifferences()
    {
        using var scope = Torch.Scope();
        var x = Normal(4, [3, 4]);
        var w = Normal(5, [4, 3]).WithRequiresGrad();
        var b = Normal(6, [3]);
        var analytic = Autograd.Grad(Composite(x, w, b), w)[0]!.ToArray<double>();

        var values = w.ToArray<double>();
        const double h = 1e-6;
        var numeric = new double[values.Length];
        using (Torch.NoGrad())
        {
            for (int i = 0; i < values.Length; i++)
            {
                double F(double delta)
                {
                    var shifted = (double[])values.Clone();
                    shifted[i] += delta;
                    return Composite(x, Tensor.FromArray(shifted, 4, 3), b).Item<double>();
                }
                numeric[i] = (F(h) - F(-h)) / (2 * h);
            }
        }
        // Central differences are accurate to O(h^2) plus rounding of O(eps / h): about 1e-9 here.
        OracleAssert.Values(analytic, numeric, 1e-6, 1e-8, "gradient vs finite differences");
        Assert.That(analytic, Has.Some.Not.EqualTo(0.0));
    }

    [Test]
    public void AnUnusedInputGetsNullLikePyTorch()
    {
        using var scope = Torch.Scope();
        var x = Normal(7, [3]).WithRequiresGrad();
        var unused = Normal(8, [2]).WithRequiresGrad();
        var y = (x * x).Sum();
        var grads = Autograd.Grad(y, x, unused);
        Assert.That(grads[0], Is.Not.Null);
        Assert.That(grads[1], Is.Null);
        var expected = PyTorchOracle.RunWithGrad("(x * x).sum()", ("x", x), ("u", unused));
        OracleAssert.Grads(expected, grads, "x", "u");
    }

    [Test]
    public void GradOfANonScalarNeedsASeedAndUsesItAsTheVectorJacobianProduct()
    {
        using var scope = Torch.Scope();
        var x = Normal(9, [2, 3]).WithRequiresGrad();
        var y = x.Sin() * x;
        Assert.Throws<TorchException>(() => Autograd.Grad([y], [x], retainGraph: true));
        var seed = Normal(10, [2, 3]);
        var grads = Autograd.Grad([y], [x], [seed]);
        OracleAssert.Grads(PyTorchOracle.RunWithGrad("x.sin() * x", seed, ("x", x)), grads, "x");
    }

    [Test]
    public void GradOfAnInputWithoutRequiresGradThrowsAClearError()
    {
        using var scope = Torch.Scope();
        var x = Normal(11, [2]);
        var error = Assert.Throws<ArgumentException>(() => Autograd.Grad((x * 2).Sum(), x));
        Assert.That(error!.Message, Does.Contain("WithRequiresGrad"));
    }

    [Test]
    public void NoGradStopsRecordingAndRestoresTheModeAfterwards()
    {
        using var scope = Torch.Scope();
        var x = Normal(12, [3]).WithRequiresGrad();
        Assert.That(Torch.IsGradEnabled, Is.True);
        Tensor inside;
        using (Torch.NoGrad())
        {
            Assert.That(Torch.IsGradEnabled, Is.False);
            inside = (x * 2).Exp();
            using (Torch.EnableGrad())
            {
                Assert.That(Torch.IsGradEnabled, Is.True);
                Assert.That((x * 2).RequiresGrad, Is.True);
            }
            Assert.That(Torch.IsGradEnabled, Is.False, "the inner EnableGrad restores NoGrad");
        }
        Assert.That(inside.RequiresGrad, Is.False);
        Assert.That(inside.IsLeaf, Is.True);
        Assert.That(Torch.IsGradEnabled, Is.True);
        var outside = (x * 2).Exp();
        Assert.That(outside.RequiresGrad, Is.True);
        Assert.That(outside.IsLeaf, Is.False);
        OracleAssert.Exact(inside, PyTorchOracle.Run("with torch.no_grad():\n    out = (x * 2).exp()", ("x", x)).Out);
        Assert.That(PyTorchOracle.Run("with torch.no_grad():\n    y = x * 2\nout = y.requires_grad", ("x", x)).Out.Values, Is.EqualTo(new[] { 0.0 }));
    }

    [Test]
    public void SecondOrderGradientMatchesPyTorchCreateGraph()
    {
        using var scope = Torch.Scope();
        var x = Normal(13, [4]).WithRequiresGrad();
        var w = Normal(14, [4]).WithRequiresGrad();
        var y = ((x * w).Tanh() * x.Exp()).Sum();
        var first = Autograd.Grad([y], [x, w], createGraph: true);
        Assert.That(first[0]!.RequiresGrad, Is.True, "with createGraph the gradient is itself differentiable");
        // d/d(x, w) of sum(dy/dx * dy/dx) + sum(dy/dw): mixes second derivatives of both inputs.
        var z = first[0]!.Square().Sum() + first[1]!.Sum();
        var second = Autograd.Grad(z, x, w);
        var expected = PyTorchOracle.RunWithGrad(
            "y = ((x * w).tanh() * x.exp()).sum()\n" +
            "gx, gw = torch.autograd.grad(y, (x, w), create_graph=True)\n" +
            "out = (gx.square().sum() + gw.sum(), gx, gw)",
            ("x", x), ("w", w));
        OracleAssert.Close(first[0], expected.Outputs[1], what: "first-order gradient of x");
        OracleAssert.Close(first[1], expected.Outputs[2], what: "first-order gradient of w");
        OracleAssert.Close(z, expected.Outputs[0], what: "z");
        OracleAssert.Grads(expected, second, "x", "w");
    }

    [Test]
    public void ThirdDerivativeOfAPolynomialIsExact()
    {
        using var scope = Torch.Scope();
        var x = Tensor.FromArray(new[] { -1.5, 0.5, 2.0 }).WithRequiresGrad();
        var y = x.Pow(4.0).Sum();
        var d1 = Autograd.Grad([y], [x], createGraph: true)[0]!;
        var d2 = Autograd.Grad([d1.Sum()], [x], createGraph: true)[0]!;
        var d3 = Autograd.Grad(d2.Sum(), x)[0]!;
        Assert.That(d1.ToArray<double>(), Is.EqualTo(new[] { -13.5, 0.5, 32.0 }).Within(1e-12));
        Assert.That(d2.ToArray<double>(), Is.EqualTo(new[] { 27.0, 3.0, 48.0 }).Within(1e-12));
        Assert.That(d3.ToArray<double>(), Is.EqualTo(new[] { -36.0, 12.0, 48.0 }).Within(1e-12));
    }

    [Test]
    public void StopGradientAndDetachBlockTheGradientLikePyTorch()
    {
        using var scope = Torch.Scope();
        var x = Normal(15, [3]).WithRequiresGrad();
        var w = Normal(16, [3]).WithRequiresGrad();
        var y = (x * w.StopGradient() + x.Detach().Exp() * w).Sum();
        var grads = Autograd.Grad(y, x, w);
        var expected = PyTorchOracle.RunWithGrad("(x * w.detach() + x.detach().exp() * w).sum()", ("x", x), ("w", w));
        OracleAssert.Close(y, expected.Out);
        OracleAssert.Grads(expected, grads, "x", "w");
        Assert.That(grads[0]!.ToArray<double>(), Is.EqualTo(w.ToArray<double>()), "d/dx sees w as a constant");

        var onlyDetached = (x.StopGradient() * 3).Sum();
        Assert.That(onlyDetached.RequiresGrad, Is.False);
        Assert.That(x.Detach().SharesStorageWith(x), Is.True);
    }

    [Test]
    public void WithRequiresGradMakesANewLeafAndLeavesTheOriginalAlone()
    {
        using var scope = Torch.Scope();
        var x = Normal(17, [2]);
        var leaf = x.WithRequiresGrad();
        Assert.That(x.RequiresGrad, Is.False);
        Assert.That(leaf.RequiresGrad, Is.True);
        Assert.That(leaf.IsLeaf, Is.True);
        Assert.That(leaf.SharesStorageWith(x), Is.True);
        var intermediate = leaf * 2;
        var again = intermediate.WithRequiresGrad();
        Assert.That(again.IsLeaf, Is.True);
        // Gradients stop at the new leaf: they do not reach `leaf`.
        var grads = Autograd.Grad((again * again).Sum(), leaf, again);
        Assert.That(grads[0], Is.Null);
        Assert.That(grads[1]!.ToArray<double>(), Is.EqualTo((intermediate * 2).ToArray<double>()));
    }
}
