using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests;


// Elementwise arithmetic, type promotion, comparisons, activations, softmax and products, against PyTorch.
public class ElementwiseTests
{
    private static Tensor Normal(int seed, ReadOnlySpan<long> shape, DType dtype = DType.Float64) => Tensor.Normal(Key.Create(seed), shape, dtype);

    private static Tensor Positive(int seed, long[] shape, DType dtype = DType.Float64) =>
        Tensor.Uniform(Key.Create(seed), shape, 0.2, 3.0, dtype);

    // ---- binary ops: values and both gradients, with broadcasting -----------------------------------------------

    private static readonly Dictionary<string, (Func<Tensor, Tensor, Tensor> Ours, string Python)> BinaryOps = new()
    {
        ["add"] = ((a, b) => a + b, "a + b"),
        ["sub"] = ((a, b) => a - b, "a - b"),
        ["mul"] = ((a, b) => a * b, "a * b"),
        ["div"] = ((a, b) => a / b, "a / b"),
        ["pow"] = ((a, b) => a.Abs().Pow(b), "a.abs() ** b"),
        ["maximum"] = ((a, b) => a.Maximum(b), "torch.maximum(a, b)"),
        ["minimum"] = ((a, b) => a.Minimum(b), "torch.minimum(a, b)"),
        ["remainder"] = ((a, b) => a % b, "a % b"),
    };

    [TestCase("add", DType.Float64)]
    [TestCase("sub", DType.Float64)]
    [TestCase("mul", DType.Float64)]
    [TestCase("div", DType.Float64)]
    [TestCase("pow", DType.Float64)]
    [TestCase("maximum", DType.Float64)]
    [TestCase("minimum", DType.Float64)]
    [TestCase("remainder", DType.Float64)]
    [TestCase("add", DType.Float32)]
    [TestCase("mul", DType.Float32)]
    [TestCase("div", DType.Float32)]
    public void BinaryOpBroadcastsWithGradientsLikePyTorch(string name, DType dtype)
    {
        using var scope = Torch.Scope();
        var (ours, python) = BinaryOps[name];
        var a = Normal(1, [2, 3, 4], dtype).WithRequiresGrad();
        var b = Positive(2, [3, 1], dtype).WithRequiresGrad();
        var result = ours(a, b);
        var grads = Autograd.Grad(result.Sum(), a, b);
        var expected = PyTorchOracle.RunWithGrad(python, ("a", a), ("b", b));
        OracleAssert.Close(result, expected.Out);
        OracleAssert.Grads(expected, grads, "a", "b");
    }

    [Test]
    public void UnaryMinusNegatesWithGradient()
    {
        using var scope = Torch.Scope();
        var a = Normal(3, [4, 5]).WithRequiresGrad();
        var seed = Normal(4, [4, 5]);
        var result = -a;
        var grads = Autograd.Grad([result], [a], [seed]);
        var expected = PyTorchOracle.RunWithGrad("-a", seed, ("a", a));
        OracleAssert.Exact(result, expected.Out);
        OracleAssert.Grads(expected, grads, "a");
    }

    // ---- scalars and type promotion --------------------------------------------------------------------------

    private static readonly Dictionary<string, (Func<Tensor, Tensor> Ours, string Python)> ScalarOps = new()
    {
        ["t + 2"] = (t => t + 2, "a + 2"),
        ["2 + t"] = (t => 2 + t, "2 + a"),
        ["t + 1.5"] = (t => t + 1.5, "a + 1.5"),
        ["t - 3"] = (t => t - 3, "a - 3"),
        ["t - 0.25"] = (t => t - 0.25, "a - 0.25"),
        ["10 - t"] = (t => 10 - t, "10 - a"),
        ["2.5 - t"] = (t => 2.5 - t, "2.5 - a"),
        ["t * 3"] = (t => t * 3, "a * 3"),
        ["t * -0.5"] = (t => t * -0.5, "a * -0.5"),
        ["4 * t"] = (t => 4 * t, "4 * a"),
        ["t / 4"] = (t => t / 4, "a / 4"),
        ["t / 0.5"] = (t => t / 0.5, "a / 0.5"),
        ["3.0 / t"] = (t => 3.0 / t, "3.0 / a"),
        ["t ** 2"] = (t => t.Pow(2L), "a ** 2"),
        ["t ** 0.5"] = (t => t.Abs().Pow(0.5), "a.abs() ** 0.5"),
        ["t.Remainder(3)"] = (t => t.Remainder(3L), "a % 3"),
        ["t % 3"] = (t => t % 3, "a % 3"),
        ["t % 2.5"] = (t => t % 2.5, "a % 2.5"),
        ["-t"] = (t => -t, "-a"),
    };

    private static IEnumerable<TestCaseData> ScalarCases()
    {
        foreach (var op in ScalarOps.Keys)
            foreach (var dtype in new[] { DType.Float32, DType.Float64, DType.Int64, DType.Int32 })
                yield return new TestCaseData(op, dtype).SetArgDisplayNames(op, dtype.ShortName());
    }

    // The result dtype follows PyTorch: an integer scalar keeps an integer tensor integral (i64 stays i64, i32 stays
    // i32), a float scalar promotes it to f32, and a scalar never widens a float tensor.
    [TestCaseSource(nameof(ScalarCases))]
    public void ScalarOperandPromotesLikePyTorch(string name, DType dtype)
    {
        using var scope = Torch.Scope();
        var (ours, python) = ScalarOps[name];
        var t = Tensor.FromArray(new long[] { -7, -3, -1, 1, 2, 5, 8, 13 }, 2, 4).To(dtype);
        var result = ours(t);
        var expected = PyTorchOracle.Run(python, ("a", t));
        OracleAssert.Close(result, expected.Out);
    }

    [Test]
    public void IntegerTensorPlusIntegerScalarStaysInt64()
    {
        using var scope = Torch.Scope();
        var t = Tensor.FromArray(new long[] { 1, 2, 3 });
        Assert.That((t + 1).DType, Is.EqualTo(DType.Int64));
        Assert.That((t + 1).ToArray<long>(), Is.EqualTo(new long[] { 2, 3, 4 }));
        Assert.That((t + 1.5).DType, Is.EqualTo(DType.Float32));
        Assert.That((t + 1.5).ToArray<float>(), Is.EqualTo(new[] { 2.5f, 3.5f, 4.5f }));
        Assert.That((t / 2).DType, Is.EqualTo(DType.Float32), "division is true division, as in PyTorch");
    }

    private static IEnumerable<TestCaseData> PromotionCases()
    {
        yield return new TestCaseData(DType.Int64, DType.Float32, false).SetArgDisplayNames("i64 + f32");
        yield return new TestCaseData(DType.Int32, DType.Int64, false).SetArgDisplayNames("i32 + i64");
        yield return new TestCaseData(DType.Float32, DType.Float64, false).SetArgDisplayNames("f32 + f64");
        yield return new TestCaseData(DType.Bool, DType.Int64, false).SetArgDisplayNames("bool + i64");
        yield return new TestCaseData(DType.Float32, DType.Float64, true).SetArgDisplayNames("f32 + f64 0-dim");
        yield return new TestCaseData(DType.Int64, DType.Float64, true).SetArgDisplayNames("i64 + f64 0-dim");
        yield return new TestCaseData(DType.Int32, DType.Int64, true).SetArgDisplayNames("i32 + i64 0-dim");
    }

    [TestCaseSource(nameof(PromotionCases))]
    public void TensorTensorPromotionMatchesPyTorch(DType left, DType right, bool rightIsZeroDim)
    {
        using var scope = Torch.Scope();
        var a = Tensor.FromArray(new long[] { 0, 1, 2, 3 }, 2, 2).To(left);
        var b = (rightIsZeroDim ? Tensor.Scalar(3L) : Tensor.FromArray(new long[] { 1, 0 })).To(right);
        var expected = PyTorchOracle.Run("(a + b, a * b, None if a.dtype == torch.bool else b - a)", ("a", a), ("b", b));
        OracleAssert.Close(a + b, expected.Outputs[0], what: "a + b");
        OracleAssert.Close(a * b, expected.Outputs[1], what: "a * b");
        if (left != DType.Bool) OracleAssert.Close(b - a, expected.Outputs[2], what: "b - a");
    }

    // ---- comparisons and logic -------------------------------------------------------------------------------

    [Test]
    public void ComparisonsGiveBoolTensorsLikePyTorch()
    {
        using var scope = Torch.Scope();
        var a = Tensor.FromArray(new[] { 1f, 2f, 3f, 4f, 5f, 6f }, 2, 3);
        var b = Tensor.FromArray(new[] { 2f, 2f, 2f });
        var expected = PyTorchOracle.Run(
            "(a < b, a <= b, a > b, a >= b, a == b, a != b, a < 3, a <= 3, a > 3.5, a >= 3, a == 2, a != 2)", ("a", a), ("b", b));
        var ours = new[] { a < b, a <= b, a > b, a >= b, a.Eq(b), a.Ne(b), a < 3, a <= 3, a > 3.5, a >= 3, a.Eq(2L), a.Ne(2.0) };
        for (int i = 0; i < ours.Length; i++) OracleAssert.Exact(ours[i], expected.Outputs[i]!, $"comparison {i}");
        Assert.That((a < b).ToArray<bool>(), Is.EqualTo(new[] { true, false, false, false, false, false }));
    }

    [Test]
    public void LogicalOpsOnBoolTensorsMatchPyTorch()
    {
        using var scope = Torch.Scope();
        var p = Tensor.FromArray(new[] { true, true, false, false });
        var q = Tensor.FromArray(new[] { true, false, true, false });
        var expected = PyTorchOracle.Run("(p & q, p | q, p ^ q, ~p)", ("p", p), ("q", q));
        OracleAssert.Exact(p & q, expected.Outputs[0]!);
        OracleAssert.Exact(p | q, expected.Outputs[1]!);
        OracleAssert.Exact(p ^ q, expected.Outputs[2]!);
        OracleAssert.Exact(!p, expected.Outputs[3]!);
    }

    [Test]
    public void WhereSelectsAndRoutesGradientsLikePyTorch()
    {
        using var scope = Torch.Scope();
        var a = Normal(5, [3, 4]).WithRequiresGrad();
        var b = Normal(6, [4]).WithRequiresGrad();
        var condition = Normal(7, [3, 4]) > 0;
        var result = Tensor.Where(condition, a, b);
        var grads = Autograd.Grad(result.Sum(), a, b);
        var expected = PyTorchOracle.RunWithGrad("torch.where(c, a, b)", ("c", condition), ("a", a), ("b", b));
        OracleAssert.Exact(result, expected.Out);
        OracleAssert.Grads(expected, grads, "a", "b");
    }

    [TestCase(-0.5, 0.5)]
    [TestCase(0.0, null)]
    [TestCase(null, 0.25)]
    public void ClampLimitsValuesAndGradients(double? min, double? max)
    {
        using var scope = Torch.Scope();
        var a = Normal(8, [5, 4]).WithRequiresGrad();
        var result = a.Clamp(min, max);
        var grads = Autograd.Grad(result.Sum(), a);
        string Bound(double? v) => v.HasValue ? v.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : "None";
        var expected = PyTorchOracle.RunWithGrad($"torch.clamp(a, min={Bound(min)}, max={Bound(max)})", ("a", a));
        OracleAssert.Exact(result, expected.Out);
        OracleAssert.Grads(expected, grads, "a");
    }

    [Test]
    public void ClampWithIntegerBoundsKeepsAnIntegerTensorIntegral()
    {
        using var scope = Torch.Scope();
        var a = Tensor.Arange(-3, 4);
        var result = a.Clamp(-1, 2);
        var expected = PyTorchOracle.Run("torch.clamp(a, min=-1, max=2)", ("a", a));
        Assert.That(result.DType, Is.EqualTo(DType.Int64));
        OracleAssert.Exact(result, expected.Out);
    }

    // ---- unary functions and activations: values and gradients in f64 (tight) and f32 -----------------------

    private static readonly Dictionary<string, (Func<Tensor, Tensor> Ours, string Python, bool PositiveInput)> UnaryOps = new()
    {
        ["abs"] = (t => t.Abs(), "a.abs()", false),
        ["exp"] = (t => t.Exp(), "a.exp()", false),
        ["log"] = (t => t.Log(), "a.log()", true),
        ["log1p"] = (t => t.Log1p(), "a.log1p()", true),
        ["sqrt"] = (t => t.Sqrt(), "a.sqrt()", true),
        ["rsqrt"] = (t => t.Rsqrt(), "a.rsqrt()", true),
        ["pow3"] = (t => t.Pow(3.0), "a ** 3.0", false),
        ["pow-1.5"] = (t => t.Pow(-1.5), "a ** -1.5", true),
        ["sin"] = (t => t.Sin(), "a.sin()", false),
        ["cos"] = (t => t.Cos(), "a.cos()", false),
        ["tanh"] = (t => t.Tanh(), "a.tanh()", false),
        ["sigmoid"] = (t => t.Sigmoid(), "a.sigmoid()", false),
        ["relu"] = (t => t.Relu(), "F.relu(a)", false),
        ["gelu"] = (t => t.Gelu(), "F.gelu(a)", false),
        ["gelu-tanh"] = (t => t.Gelu(tanhApproximation: true), "F.gelu(a, approximate='tanh')", false),
        ["silu"] = (t => t.Silu(), "F.silu(a)", false),
        ["softplus"] = (t => t.Softplus(), "F.softplus(a)", false),
        ["softplus-beta2-threshold1"] = (t => t.Softplus(beta: 2, threshold: 1), "F.softplus(a, beta=2, threshold=1)", false),
        ["leaky-relu"] = (t => t.LeakyRelu(0.2), "F.leaky_relu(a, 0.2)", false),
        ["square"] = (t => t.Square(), "a.square()", false),
        ["reciprocal"] = (t => t.Reciprocal(), "a.reciprocal()", true),
        ["softmax0"] = (t => t.Softmax(0), "torch.softmax(a, 0)", false),
        ["softmax-1"] = (t => t.Softmax(-1), "torch.softmax(a, -1)", false),
        ["log-softmax1"] = (t => t.LogSoftmax(1), "torch.log_softmax(a, 1)", false),
        ["logsumexp1"] = (t => t.LogSumExp(1), "torch.logsumexp(a, 1)", false),
        ["logsumexp01-keepdim"] = (t => t.LogSumExp([0, 2], keepdim: true), "torch.logsumexp(a, (0, 2), keepdim=True)", false),
    };

    private static IEnumerable<TestCaseData> UnaryCases()
    {
        foreach (var op in UnaryOps.Keys)
            foreach (var dtype in new[] { DType.Float64, DType.Float32 })
                yield return new TestCaseData(op, dtype).SetArgDisplayNames(op, dtype.ShortName());
    }

    [TestCaseSource(nameof(UnaryCases))]
    public void UnaryOpMatchesPyTorchWithGradient(string name, DType dtype)
    {
        using var scope = Torch.Scope();
        var (ours, python, positive) = UnaryOps[name];
        // Wide enough to reach both sides of softplus's threshold and relu's kink, never exactly on them.
        var a = (positive ? Positive(9, [3, 4, 5], dtype) : Normal(9, [3, 4, 5], dtype) * 2.5).WithRequiresGrad();
        var seed = Normal(10, ours(a).Shape, dtype);
        var result = ours(a);
        var grads = Autograd.Grad([result], [a], [seed]);
        var expected = PyTorchOracle.RunWithGrad(python, seed, ("a", a));
        OracleAssert.Close(result, expected.Out);
        OracleAssert.Grads(expected, grads, "a");
    }

    [Test]
    public void SoftmaxRowsSumToOneAndLogSoftmaxIsItsLog()
    {
        using var scope = Torch.Scope();
        var a = Normal(11, [4, 6]);
        var sums = a.Softmax(1).Sum(1).ToArray<double>();
        Assert.That(sums, Is.All.EqualTo(1.0).Within(1e-12));
        var difference = (a.LogSoftmax(1) - a.Softmax(1).Log()).Abs().Max().Item<double>();
        Assert.That(difference, Is.LessThan(1e-12));
    }

    [Test]
    public void ExtremeInputsGiveTheSameInfinitiesAndNaNs()
    {
        using var scope = Torch.Scope();
        var a = Tensor.FromArray(new[] { -1.0, 0.0, -0.0, 1e-320, 710.0, double.PositiveInfinity, double.NegativeInfinity, double.NaN });
        var expected = PyTorchOracle.Run("(a.log(), a.sqrt(), a.exp(), a.rsqrt(), a.sigmoid(), F.softplus(a), a.reciprocal())", ("a", a));
        var ours = new[] { a.Log(), a.Sqrt(), a.Exp(), a.Rsqrt(), a.Sigmoid(), a.Softplus(), a.Reciprocal() };
        for (int i = 0; i < ours.Length; i++) OracleAssert.Close(ours[i], expected.Outputs[i], what: $"function {i}");
    }

    // ---- products -------------------------------------------------------------------------------------------

    private static IEnumerable<TestCaseData> MatmulCases()
    {
        yield return new TestCaseData(new long[] { 3, 4 }, new long[] { 4, 5 }).SetArgDisplayNames("matrix x matrix");
        yield return new TestCaseData(new long[] { 4 }, new long[] { 4 }).SetArgDisplayNames("vector . vector");
        yield return new TestCaseData(new long[] { 4 }, new long[] { 4, 5 }).SetArgDisplayNames("vector x matrix");
        yield return new TestCaseData(new long[] { 3, 4 }, new long[] { 4 }).SetArgDisplayNames("matrix x vector");
        yield return new TestCaseData(new long[] { 2, 3, 4 }, new long[] { 4, 5 }).SetArgDisplayNames("batched x matrix");
        yield return new TestCaseData(new long[] { 2, 3, 4 }, new long[] { 2, 4, 5 }).SetArgDisplayNames("batched x batched");
        yield return new TestCaseData(new long[] { 2, 1, 3, 4 }, new long[] { 5, 4, 2 }).SetArgDisplayNames("broadcast batches");
        yield return new TestCaseData(new long[] { 4 }, new long[] { 2, 4, 5 }).SetArgDisplayNames("vector x batched");
    }

    [TestCaseSource(nameof(MatmulCases))]
    public void MatmulMatchesPyTorchWithGradients(long[] left, long[] right)
    {
        using var scope = Torch.Scope();
        var a = Normal(12, left).WithRequiresGrad();
        var b = Normal(13, right).WithRequiresGrad();
        var result = a.Matmul(b);
        var grads = Autograd.Grad(result.Sum(), a, b);
        var expected = PyTorchOracle.RunWithGrad("torch.matmul(a, b)", ("a", a), ("b", b));
        OracleAssert.Close(result, expected.Out);
        OracleAssert.Grads(expected, grads, "a", "b");
    }

    [Test]
    public void MatmulInFloat32MatchesPyTorch()
    {
        using var scope = Torch.Scope();
        var a = Normal(14, [2, 8, 16], DType.Float32);
        var b = Normal(15, [16, 8], DType.Float32);
        var expected = PyTorchOracle.Run("a @ b", ("a", a), ("b", b));
        OracleAssert.Close(a.Matmul(b), expected.Out);
    }

    private static IEnumerable<TestCaseData> EinsumCases()
    {
        yield return new TestCaseData("ij,jk->ik", new[] { new long[] { 3, 4 }, new long[] { 4, 2 } });
        yield return new TestCaseData("bij,bjk->bik", new[] { new long[] { 2, 3, 4 }, new long[] { 2, 4, 5 } });
        yield return new TestCaseData("ii->i", new[] { new long[] { 4, 4 } });
        yield return new TestCaseData("ij->", new[] { new long[] { 3, 4 } });
        yield return new TestCaseData("i,j->ij", new[] { new long[] { 3 }, new long[] { 5 } });
        yield return new TestCaseData("...ij->...ji", new[] { new long[] { 2, 3, 4 } });
        yield return new TestCaseData("bn,anm,bm->ba", new[] { new long[] { 2, 3 }, new long[] { 4, 3, 5 }, new long[] { 2, 5 } });
    }

    [TestCaseSource(nameof(EinsumCases))]
    public void EinsumMatchesPyTorchWithGradients(string equation, long[][] shapes)
    {
        using var scope = Torch.Scope();
        var names = new[] { "a", "b", "c" };
        var operands = shapes.Select((s, i) => Normal(20 + i, s).WithRequiresGrad()).ToArray();
        var result = Tensor.Einsum(equation, operands);
        var grads = Autograd.Grad(result.Sum(), operands);
        var inputs = operands.Select((t, i) => (names[i], t)).ToArray();
        var expected = PyTorchOracle.RunWithGrad($"torch.einsum('{equation}', {string.Join(", ", names.Take(operands.Length))})", inputs);
        OracleAssert.Close(result, expected.Out);
        OracleAssert.Grads(expected, grads, names.Take(operands.Length).ToArray());
    }
}
