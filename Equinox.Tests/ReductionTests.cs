using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests;


// Reductions over everything, one dim, several dims, with and without keepdim, against PyTorch.
public class ReductionTests
{
    private static Tensor Normal(int seed, ReadOnlySpan<long> shape, DType dtype = DType.Float64) => Tensor.Normal(Key.Create(seed), shape, dtype);

    // Each case: how we reduce, how PyTorch does, and whether the reduction is differentiable.
    private static readonly Dictionary<string, (Func<Tensor, Tensor> Ours, string Python, bool Differentiable)> Reductions = new()
    {
        ["sum"] = (t => t.Sum(), "a.sum()", true),
        ["sum dim 1"] = (t => t.Sum(1), "a.sum(1)", true),
        ["sum dim -1 keepdim"] = (t => t.Sum(-1, keepdim: true), "a.sum(-1, keepdim=True)", true),
        ["sum dims 0,2"] = (t => t.Sum([0, 2]), "a.sum((0, 2))", true),
        ["sum dims 0,2 keepdim"] = (t => t.Sum([0, 2], keepdim: true), "a.sum((0, 2), keepdim=True)", true),
        ["mean"] = (t => t.Mean(), "a.mean()", true),
        ["mean dim 0"] = (t => t.Mean(0), "a.mean(0)", true),
        ["mean dim 2 keepdim"] = (t => t.Mean(2, keepdim: true), "a.mean(2, keepdim=True)", true),
        ["mean dims 1,2"] = (t => t.Mean([1, 2]), "a.mean((1, 2))", true),
        ["var"] = (t => t.Var(), "a.var()", true),
        ["var biased"] = (t => t.Var(unbiased: false), "a.var(unbiased=False)", true),
        ["var dim 1"] = (t => t.Var(1), "a.var(1)", true),
        ["var dim 1 biased keepdim"] = (t => t.Var(1, unbiased: false, keepdim: true), "a.var(1, unbiased=False, keepdim=True)", true),
        ["var dims 0,2"] = (t => t.Var([0, 2]), "a.var((0, 2))", true),
        ["max"] = (t => t.Max(), "a.max()", true),
        ["max dim 1"] = (t => t.Max(1), "a.amax(1)", true),
        ["max dim 0 keepdim"] = (t => t.Max(0, keepdim: true), "a.amax(0, keepdim=True)", true),
        ["max dims 1,2"] = (t => t.Max([1, 2]), "a.amax((1, 2))", true),
        ["min"] = (t => t.Min(), "a.min()", true),
        ["min dim 2"] = (t => t.Min(2), "a.amin(2)", true),
        ["min dims 0,1 keepdim"] = (t => t.Min([0, 1], keepdim: true), "a.amin((0, 1), keepdim=True)", true),
        ["argmax"] = (t => t.ArgMax(), "a.argmax()", false),
        ["argmax dim 1"] = (t => t.ArgMax(1), "a.argmax(1)", false),
        ["argmax dim -1 keepdim"] = (t => t.ArgMax(-1, keepdim: true), "a.argmax(-1, keepdim=True)", false),
        ["argmin dim 0"] = (t => t.ArgMin(0), "a.argmin(0)", false),
        ["any"] = (t => (t > 2).Any(), "(a > 2).any()", false),
        ["any dim 1"] = (t => (t > 1).Any(1), "(a > 1).any(1)", false),
        ["any dim 2 keepdim"] = (t => (t > 1).Any(2, keepdim: true), "(a > 1).any(2, keepdim=True)", false),
        ["all"] = (t => (t > -5).All(), "(a > -5).all()", false),
        ["all dim 0"] = (t => (t > -1).All(0), "(a > -1).all(0)", false),
        ["all dim 1 keepdim"] = (t => (t > -1).All(1, keepdim: true), "(a > -1).all(1, keepdim=True)", false),
    };

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (var name in Reductions.Keys)
            foreach (var dtype in new[] { DType.Float64, DType.Float32 })
                yield return new TestCaseData(name, dtype).SetArgDisplayNames(name, dtype.ShortName());
    }

    [TestCaseSource(nameof(Cases))]
    public void ReductionMatchesPyTorch(string name, DType dtype)
    {
        using var scope = Torch.Scope();
        var (ours, python, differentiable) = Reductions[name];
        var a = Normal(1, [3, 4, 5], dtype).WithRequiresGrad();
        var result = ours(a);
        if (!differentiable)
        {
            OracleAssert.Exact(result, PyTorchOracle.Run(python, ("a", a)).Out);
            return;
        }
        var seed = Normal(2, result.Shape, dtype);
        var grads = Autograd.Grad([result], [a], [seed]);
        var expected = PyTorchOracle.RunWithGrad(python, seed, ("a", a));
        OracleAssert.Close(result, expected.Out);
        OracleAssert.Grads(expected, grads, "a");
    }

    // With ties, max and min share the gradient equally among the tied elements (amax's rule).
    [TestCase("max")]
    [TestCase("min")]
    public void TiedExtremaShareTheGradientLikeAmax(string which)
    {
        using var scope = Torch.Scope();
        var a = Tensor.FromArray(new[] { 1.0, 3.0, 3.0, 0.0, -2.0, 5.0, -2.0, -2.0 }, 2, 4).WithRequiresGrad();
        bool max = which == "max";
        var all = max ? a.Max() : a.Min();
        var rows = max ? a.Max(1) : a.Min(1);
        var allGrad = Autograd.Grad(all, a);
        var rowGrad = Autograd.Grad(rows.Sum(), a);
        var expectedAll = PyTorchOracle.RunWithGrad($"a.{which}()", ("a", a));
        var expectedRows = PyTorchOracle.RunWithGrad($"a.a{which}(1)", ("a", a));
        OracleAssert.Exact(all, expectedAll.Out);
        OracleAssert.Exact(rows, expectedRows.Out);
        OracleAssert.Grads(expectedAll, allGrad, "a");
        OracleAssert.Grads(expectedRows, rowGrad, "a");
        if (max) Assert.That(rowGrad[0]!.ToArray<double>(), Is.EqualTo(new[] { 0, 0.5, 0.5, 0, 0, 1, 0, 0 }));
    }

    [Test]
    public void IntegerAndBoolSumsGiveInt64LikePyTorch()
    {
        using var scope = Torch.Scope();
        var i32 = Tensor.FromArray(new[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        var flags = Tensor.FromArray(new[] { true, false, true, true, false, true }, 2, 3);
        var expected = PyTorchOracle.Run("(i.sum(), i.sum(0), f.sum(), f.sum(1), i.max(), i.argmax(), f.any(), f.all(1))", ("i", i32), ("f", flags));
        var ours = new[] { i32.Sum(), i32.Sum(0), flags.Sum(), flags.Sum(1), i32.Max(), i32.ArgMax(), flags.Any(), flags.All(1) };
        for (int k = 0; k < ours.Length; k++) OracleAssert.Exact(ours[k], expected.Outputs[k]!, $"reduction {k}");
        Assert.That(flags.Sum().Item<long>(), Is.EqualTo(4));
    }

    [Test]
    public void ArgMaxPicksTheFirstOfTiedMaxima()
    {
        using var scope = Torch.Scope();
        var a = Tensor.FromArray(new[] { 2f, 7f, 7f, 1f, 9f, 9f }, 2, 3);
        var expected = PyTorchOracle.Run("(a.argmax(), a.argmax(1), a.argmin(0))", ("a", a));
        OracleAssert.Exact(a.ArgMax(), expected.Outputs[0]!);
        OracleAssert.Exact(a.ArgMax(1), expected.Outputs[1]!);
        OracleAssert.Exact(a.ArgMin(0), expected.Outputs[2]!);
        Assert.That(a.ArgMax(1).ToArray<long>(), Is.EqualTo(new long[] { 1, 1 }));
    }
}
