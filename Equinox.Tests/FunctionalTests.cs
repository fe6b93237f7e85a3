using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests;


// Convolution, pooling, normalisation, embedding and losses: values and gradients (input and weight) against PyTorch.
public class FunctionalTests
{
    private static Tensor Normal(int seed, ReadOnlySpan<long> shape, DType dtype = DType.Float64) => Tensor.Normal(Key.Create(seed), shape, dtype);

    private static string Tuple(long[] values) => values.Length == 1 ? $"({values[0]},)" : $"({string.Join(", ", values)})";

    // Value of `result`, and gradients of (result * seed).sum() w.r.t. every input that requires grad.
    private static void Check(Tensor result, string python, (string Name, Tensor Value)[] inputs, double? rtol = null, double? atol = null)
    {
        var seed = Tensor.Normal(Key.Create(99), result.Shape, result.DType);
        var differentiable = inputs.Where(i => i.Value.RequiresGrad).ToArray();
        var grads = Autograd.Grad([result], differentiable.Select(i => i.Value).ToArray(), [seed]);
        var expected = PyTorchOracle.RunWithGrad(python, seed, inputs);
        OracleAssert.Close(result, expected.Out, rtol, atol);
        OracleAssert.Grads(expected, grads, rtol, atol, differentiable.Select(i => i.Name).ToArray());
    }

    // ---- convolution -----------------------------------------------------------------------------------------

    public sealed record ConvCase(string Name, long[] Input, long[] Weight, long[] Stride, long[] Padding, long[] Dilation, long Groups,
        bool Transposed = false, long[]? OutputPadding = null, bool Bias = true)
    {
        public override string ToString() => Name;
    }

    private static IEnumerable<ConvCase> ConvCases()
    {
        // Conv: weight [Cout, Cin/groups, k...]; transposed: weight [Cin, Cout/groups, k...].
        yield return new("conv1d plain", [2, 3, 10], [4, 3, 3], [1], [0], [1], 1);
        yield return new("conv1d stride 2 pad 1 dilation 2", [2, 4, 11], [6, 2, 3], [2], [1], [2], 2);
        yield return new("conv1d no bias", [1, 2, 7], [3, 2, 2], [1], [1], [1], 1, Bias: false);
        yield return new("conv2d plain", [2, 3, 7, 6], [5, 3, 3, 3], [1, 1], [0, 0], [1, 1], 1);
        yield return new("conv2d stride padding dilation groups", [2, 4, 9, 8], [6, 2, 3, 2], [2, 1], [1, 2], [2, 1], 2);
        yield return new("conv2d depthwise", [1, 3, 6, 6], [3, 1, 3, 3], [1, 1], [1, 1], [1, 1], 3);
        yield return new("conv3d", [1, 2, 5, 6, 4], [4, 2, 3, 2, 2], [1, 2, 1], [1, 0, 1], [1, 1, 2], 1);
        yield return new("conv3d groups", [2, 4, 4, 4, 4], [2, 2, 2, 2, 2], [2, 2, 2], [0, 0, 0], [1, 1, 1], 2);
        yield return new("conv_transpose1d", [2, 3, 6], [3, 4, 3], [2], [1], [1], 1, true, [1]);
        yield return new("conv_transpose1d groups dilation", [1, 4, 5], [4, 3, 2], [3], [0], [2], 2, true, [2]);
        yield return new("conv_transpose2d", [2, 4, 5, 4], [4, 3, 3, 2], [2, 1], [1, 0], [1, 1], 1, true, [1, 0]);
        yield return new("conv_transpose2d groups", [1, 4, 4, 4], [4, 2, 3, 3], [2, 2], [1, 1], [1, 2], 2, true, [0, 1]);
        yield return new("conv_transpose3d", [1, 2, 3, 4, 3], [2, 3, 2, 3, 2], [2, 1, 2], [0, 1, 0], [1, 1, 1], 1, true, [1, 0, 0]);
    }

    [TestCaseSource(nameof(ConvCases))]
    public void ConvolutionMatchesPyTorch(ConvCase c)
    {
        using var scope = Torch.Scope();
        var x = Normal(1, c.Input).WithRequiresGrad();
        var w = Normal(2, c.Weight).WithRequiresGrad();
        long outChannels = c.Transposed ? c.Weight[1] * c.Groups : c.Weight[0];
        var b = c.Bias ? Normal(3, [outChannels]).WithRequiresGrad() : null;
        int spatial = c.Input.Length - 2;
        var outputPadding = c.OutputPadding ?? new long[spatial];
        Tensor result = (spatial, c.Transposed) switch
        {
            (1, false) => Functional.Conv1d(x, w, b, c.Stride[0], c.Padding[0], c.Dilation[0], c.Groups),
            (2, false) => Functional.Conv2d(x, w, b, c.Stride, c.Padding, c.Dilation, c.Groups),
            (3, false) => Functional.Conv3d(x, w, b, c.Stride, c.Padding, c.Dilation, c.Groups),
            (1, true) => Functional.ConvTranspose1d(x, w, b, c.Stride[0], c.Padding[0], outputPadding[0], c.Dilation[0], c.Groups),
            (2, true) => Functional.ConvTranspose2d(x, w, b, c.Stride, c.Padding, outputPadding, c.Dilation, c.Groups),
            _ => Functional.ConvTranspose3d(x, w, b, c.Stride, c.Padding, outputPadding, c.Dilation, c.Groups),
        };
        var python = c.Transposed
            ? $"F.conv_transpose{spatial}d(x, w, {(c.Bias ? "b" : "None")}, stride={Tuple(c.Stride)}, padding={Tuple(c.Padding)}, " +
              $"output_padding={Tuple(outputPadding)}, groups={c.Groups}, dilation={Tuple(c.Dilation)})"
            : $"F.conv{spatial}d(x, w, {(c.Bias ? "b" : "None")}, stride={Tuple(c.Stride)}, padding={Tuple(c.Padding)}, " +
              $"dilation={Tuple(c.Dilation)}, groups={c.Groups})";
        (string, Tensor)[] inputs = b is null ? [("x", x), ("w", w)] : [("x", x), ("w", w), ("b", b)];
        Check(result, python, inputs);
    }

    [Test]
    public void Conv2dInFloat32MatchesPyTorch()
    {
        using var scope = Torch.Scope();
        var x = Normal(4, [2, 3, 12, 12], DType.Float32).WithRequiresGrad();
        var w = Normal(5, [8, 3, 3, 3], DType.Float32).WithRequiresGrad();
        var b = Normal(6, [8], DType.Float32).WithRequiresGrad();
        var result = Functional.Conv2d(x, w, b, padding: [1, 1]);
        Check(result, "F.conv2d(x, w, b, padding=1)", [("x", x), ("w", w), ("b", b)]);
    }

    // ---- pooling ---------------------------------------------------------------------------------------------

    private static readonly Dictionary<string, (long[] Input, Func<Tensor, Tensor> Ours, string Python)> Pools = new()
    {
        ["max_pool1d"] = ([2, 3, 9], x => Functional.MaxPool(x, [3]), "F.max_pool1d(x, 3)"),
        ["max_pool1d stride padding dilation ceil"] = ([2, 3, 10], x => Functional.MaxPool(x, [3], [2], [1], [2], ceilMode: true),
            "F.max_pool1d(x, 3, 2, 1, 2, ceil_mode=True)"),
        ["max_pool2d"] = ([2, 3, 8, 6], x => Functional.MaxPool(x, [2, 2]), "F.max_pool2d(x, 2)"),
        ["max_pool2d stride padding"] = ([1, 2, 7, 9], x => Functional.MaxPool(x, [3, 2], [2, 1], [1, 1]), "F.max_pool2d(x, (3, 2), (2, 1), (1, 1))"),
        ["max_pool2d dilation ceil"] = ([1, 2, 9, 9], x => Functional.MaxPool(x, [2, 2], [2, 2], null, [2, 1], ceilMode: true),
            "F.max_pool2d(x, 2, 2, 0, (2, 1), ceil_mode=True)"),
        ["avg_pool1d"] = ([2, 3, 9], x => Functional.AvgPool(x, [3]), "F.avg_pool1d(x, 3)"),
        ["avg_pool1d padding exclude pad"] = ([2, 3, 9], x => Functional.AvgPool(x, [4], [2], [2], countIncludePad: false),
            "F.avg_pool1d(x, 4, 2, 2, count_include_pad=False)"),
        ["avg_pool2d"] = ([2, 3, 8, 6], x => Functional.AvgPool(x, [2, 3]), "F.avg_pool2d(x, (2, 3))"),
        ["avg_pool2d stride padding ceil"] = ([1, 2, 7, 7], x => Functional.AvgPool(x, [3, 3], [2, 2], [1, 1], ceilMode: true),
            "F.avg_pool2d(x, 3, 2, 1, ceil_mode=True)"),
        ["adaptive_avg_pool1d"] = ([2, 3, 10], x => Functional.AdaptiveAvgPool(x, 4), "F.adaptive_avg_pool1d(x, 4)"),
        ["adaptive_avg_pool2d"] = ([2, 3, 7, 9], x => Functional.AdaptiveAvgPool(x, 3, 4), "F.adaptive_avg_pool2d(x, (3, 4))"),
        ["adaptive_avg_pool2d to 1"] = ([2, 3, 5, 5], x => Functional.AdaptiveAvgPool(x, 1, 1), "F.adaptive_avg_pool2d(x, 1)"),
        ["adaptive_max_pool1d"] = ([2, 3, 10], x => Functional.AdaptiveMaxPool(x, 3), "F.adaptive_max_pool1d(x, 3)"),
        ["adaptive_max_pool2d"] = ([2, 3, 7, 9], x => Functional.AdaptiveMaxPool(x, 2, 5), "F.adaptive_max_pool2d(x, (2, 5))"),
    };

    private static IEnumerable<string> PoolNames() => Pools.Keys;

    [TestCaseSource(nameof(PoolNames))]
    public void PoolingMatchesPyTorch(string name)
    {
        using var scope = Torch.Scope();
        var (shape, ours, python) = Pools[name];
        var x = Normal(7, shape).WithRequiresGrad();
        Check(ours(x), python, [("x", x)]);
    }

    [Test]
    public void LinearMatchesPyTorch()
    {
        using var scope = Torch.Scope();
        var x = Normal(20, [2, 3, 4]).WithRequiresGrad();
        var w = Normal(21, [5, 4]).WithRequiresGrad();
        var b = Normal(22, [5]).WithRequiresGrad();
        Check(Functional.Linear(x, w, b), "F.linear(x, w, b)", [("x", x), ("w", w), ("b", b)]);
        Check(Functional.Linear(x[0], w), "F.linear(x[0], w)", [("x", x), ("w", w)]);
    }

    // ---- normalisation ---------------------------------------------------------------------------------------

    [Test]
    public void LayerNormMatchesPyTorch()
    {
        using var scope = Torch.Scope();
        var x = (Normal(8, [2, 3, 4, 5]) * 3 + 1).WithRequiresGrad();
        var w = Normal(9, [4, 5]).WithRequiresGrad();
        var b = Normal(10, [4, 5]).WithRequiresGrad();
        Check(Functional.LayerNorm(x, [4, 5], w, b), "F.layer_norm(x, (4, 5), w, b)", [("x", x), ("w", w), ("b", b)]);
        Check(Functional.LayerNorm(x, [5], eps: 1e-3), "F.layer_norm(x, (5,), eps=1e-3)", [("x", x)]);
    }

    [Test]
    public void GroupNormMatchesPyTorch()
    {
        using var scope = Torch.Scope();
        var x = (Normal(11, [2, 6, 4, 3]) * 2 - 1).WithRequiresGrad();
        var w = Normal(12, [6]).WithRequiresGrad();
        var b = Normal(13, [6]).WithRequiresGrad();
        Check(Functional.GroupNorm(x, 3, w, b), "F.group_norm(x, 3, w, b)", [("x", x), ("w", w), ("b", b)]);
        Check(Functional.GroupNorm(x, 6, eps: 1e-2), "F.group_norm(x, 6, eps=1e-2)", [("x", x)]);
    }

    [Test]
    public void BatchNormTrainingMatchesPyTorchIncludingRunningStatistics()
    {
        using var scope = Torch.Scope();
        var x = (Normal(14, [4, 3, 5, 2]) * 2 + 0.5).WithRequiresGrad();
        var w = Normal(15, [3]).WithRequiresGrad();
        var b = Normal(16, [3]).WithRequiresGrad();
        var runningMean = Normal(17, [3]);
        var runningVar = Tensor.Uniform(Key.Create(18), [3], 0.5, 2, DType.Float64);
        var meanBefore = runningMean.ToArray<double>();

        var (output, newMean, newVar) = Functional.BatchNorm(x, runningMean, runningVar, w, b, training: true, momentum: 0.2, eps: 1e-4);
        var seed = Normal(19, output.Shape);
        var grads = Autograd.Grad([output], [x, w, b], [seed]);
        var expected = PyTorchOracle.RunWithGrad(
            "rm = m.clone(); rv = v.clone()\n" +
            "y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.2, eps=1e-4)\n" +
            "out = (y, rm, rv)",
            seed, ("x", x), ("w", w), ("b", b), ("m", runningMean), ("v", runningVar));

        OracleAssert.Close(output, expected.Outputs[0]);
        OracleAssert.Close(newMean, expected.Outputs[1], what: "updated running mean");
        OracleAssert.Close(newVar, expected.Outputs[2], what: "updated running variance");
        OracleAssert.Grads(expected, grads, "x", "w", "b");
        Assert.That(runningMean.ToArray<double>(), Is.EqualTo(meanBefore), "the caller's running mean is not modified");
    }

    [Test]
    public void BatchNormInferenceUsesRunningStatisticsLikePyTorch()
    {
        using var scope = Torch.Scope();
        var x = Normal(20, [4, 3, 6]).WithRequiresGrad();
        var w = Normal(21, [3]).WithRequiresGrad();
        var b = Normal(22, [3]).WithRequiresGrad();
        var runningMean = Normal(23, [3]);
        var runningVar = Tensor.Uniform(Key.Create(24), [3], 0.5, 2, DType.Float64);
        var (output, newMean, newVar) = Functional.BatchNorm(x, runningMean, runningVar, w, b, training: false);
        Check(output, "F.batch_norm(x, m, v, w, b, training=False)", [("x", x), ("w", w), ("b", b), ("m", runningMean), ("v", runningVar)]);
        Assert.That(newMean!.ToArray<double>(), Is.EqualTo(runningMean.ToArray<double>()));
        Assert.That(newVar!.ToArray<double>(), Is.EqualTo(runningVar.ToArray<double>()));
    }

    [Test]
    public void BatchNormTrainingWithoutRunningStatisticsMatchesPyTorch()
    {
        using var scope = Torch.Scope();
        var x = Normal(25, [5, 2]).WithRequiresGrad();
        var (output, newMean, newVar) = Functional.BatchNorm(x, null, null, training: true);
        Check(output, "F.batch_norm(x, None, None, training=True)", [("x", x)]);
        Assert.That(newMean, Is.Null);
        Assert.That(newVar, Is.Null);
    }

    // ---- embedding -------------------------------------------------------------------------------------------

    [Test]
    public void EmbeddingMatchesPyTorch()
    {
        using var scope = Torch.Scope();
        var weight = Normal(26, [6, 4]).WithRequiresGrad();
        var indices = Tensor.FromArray(new long[] { 1, 5, 1, 0, 2, 5 }, 2, 3);
        Check(Functional.Embedding(weight, indices), "F.embedding(i, w)", [("w", weight), ("i", indices)]);
        Assert.Throws<ArgumentOutOfRangeException>(() => Functional.Embedding(weight, indices, paddingIndex: 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => Functional.Embedding(weight, indices, paddingIndex: -7));
        Assert.Throws<OracleException>(() => PyTorchOracle.Run("F.embedding(i, w, padding_idx=6)", ("w", weight), ("i", indices)));
    }

    [TestCase(2)]
    [TestCase(-1)]
    public void EmbeddingPaddingRowGetsNoGradientLikePyTorch(long paddingIndex)
    {
        using var scope = Torch.Scope();
        var weight = Normal(27, [6, 4]).WithRequiresGrad();
        var indices = Tensor.FromArray(new long[] { 1, 5, 2, 0, 2, 5, 3 });
        var result = Functional.Embedding(weight, indices, paddingIndex);
        Check(result, $"F.embedding(i, w, padding_idx={paddingIndex})", [("w", weight), ("i", indices)]);
    }

    // ---- losses ----------------------------------------------------------------------------------------------

    private static readonly Dictionary<string, (Func<Tensor, Tensor, Tensor?, Tensor> Ours, string Python)> CrossEntropyCases = new()
    {
        ["mean"] = ((x, y, w) => Functional.CrossEntropy(x, y), "F.cross_entropy(x, y)"),
        ["sum"] = ((x, y, w) => Functional.CrossEntropy(x, y, reduction: Reduction.Sum), "F.cross_entropy(x, y, reduction='sum')"),
        ["none"] = ((x, y, w) => Functional.CrossEntropy(x, y, reduction: Reduction.None), "F.cross_entropy(x, y, reduction='none')"),
        ["label smoothing"] = ((x, y, w) => Functional.CrossEntropy(x, y, labelSmoothing: 0.1), "F.cross_entropy(x, y, label_smoothing=0.1)"),
        ["ignore index"] = ((x, y, w) => Functional.CrossEntropy(x, y, ignoreIndex: 2), "F.cross_entropy(x, y, ignore_index=2)"),
        ["ignore index none"] = ((x, y, w) => Functional.CrossEntropy(x, y, ignoreIndex: 2, reduction: Reduction.None),
            "F.cross_entropy(x, y, ignore_index=2, reduction='none')"),
        ["ignore index and smoothing"] = ((x, y, w) => Functional.CrossEntropy(x, y, ignoreIndex: 0, labelSmoothing: 0.2),
            "F.cross_entropy(x, y, ignore_index=0, label_smoothing=0.2)"),
        ["class weights"] = ((x, y, w) => Functional.CrossEntropy(x, y, w), "F.cross_entropy(x, y, cw)"),
        ["class weights and smoothing"] = ((x, y, w) => Functional.CrossEntropy(x, y, w, labelSmoothing: 0.3),
            "F.cross_entropy(x, y, cw, label_smoothing=0.3)"),
    };

    private static IEnumerable<string> CrossEntropyNames() => CrossEntropyCases.Keys;

    [TestCaseSource(nameof(CrossEntropyNames))]
    public void CrossEntropyWithClassIndicesMatchesPyTorch(string name)
    {
        using var scope = Torch.Scope();
        var (ours, python) = CrossEntropyCases[name];
        var logits = (Normal(28, [6, 4]) * 2).WithRequiresGrad();
        var targets = Tensor.FromArray(new long[] { 0, 3, 2, 1, 2, 0 });
        var classWeights = Tensor.FromArray(new[] { 0.5, 1.0, 2.0, 1.5 });
        Check(ours(logits, targets, classWeights), python, [("x", logits), ("y", targets), ("cw", classWeights)]);
    }

    [Test]
    public void CrossEntropyOverSpatialDimsMatchesPyTorch()
    {
        using var scope = Torch.Scope();
        var logits = Normal(29, [2, 3, 4, 5]).WithRequiresGrad();
        var targets = Tensor.RandInt(Key.Create(30), [2, 4, 5], 0, 3);
        Check(Functional.CrossEntropy(logits, targets, labelSmoothing: 0.05), "F.cross_entropy(x, y, label_smoothing=0.05)",
            [("x", logits), ("y", targets)]);
    }

    [Test]
    public void CrossEntropyWithClassProbabilitiesMatchesPyTorch()
    {
        using var scope = Torch.Scope();
        var logits = Normal(31, [5, 4]).WithRequiresGrad();
        var probabilities = Normal(32, [5, 4]).Softmax(1).WithRequiresGrad();
        Check(Functional.CrossEntropy(logits, probabilities), "F.cross_entropy(x, p)", [("x", logits), ("p", probabilities)]);
        Check(Functional.CrossEntropy(logits, probabilities, labelSmoothing: 0.2), "F.cross_entropy(x, p, label_smoothing=0.2)",
            [("x", logits), ("p", probabilities)]);
    }

    [TestCase(Reduction.Mean, "mean")]
    [TestCase(Reduction.Sum, "sum")]
    [TestCase(Reduction.None, "none")]
    public void MseLossMatchesPyTorch(Reduction reduction, string python)
    {
        using var scope = Torch.Scope();
        var x = Normal(33, [4, 3]).WithRequiresGrad();
        var y = Normal(34, [4, 3]).WithRequiresGrad();
        Check(Functional.MseLoss(x, y, reduction), $"F.mse_loss(x, y, reduction='{python}')", [("x", x), ("y", y)]);
    }

    [TestCase(Reduction.Mean, "mean")]
    [TestCase(Reduction.Sum, "sum")]
    [TestCase(Reduction.None, "none")]
    public void BinaryCrossEntropyWithLogitsMatchesPyTorch(Reduction reduction, string python)
    {
        using var scope = Torch.Scope();
        // Large logits check the stable formulation.
        var x = (Normal(35, [4, 3]) * 20).WithRequiresGrad();
        var y = Tensor.Uniform(Key.Create(36), [4, 3], 0, 1, DType.Float64).WithRequiresGrad();
        Check(Functional.BinaryCrossEntropyWithLogits(x, y, reduction), $"F.binary_cross_entropy_with_logits(x, y, reduction='{python}')",
            [("x", x), ("y", y)]);
    }

    [Test]
    public void LossesInFloat32MatchPyTorch()
    {
        using var scope = Torch.Scope();
        var logits = Normal(37, [8, 5], DType.Float32).WithRequiresGrad();
        var targets = Tensor.RandInt(Key.Create(38), [8], 0, 5);
        Check(Functional.CrossEntropy(logits, targets, labelSmoothing: 0.1), "F.cross_entropy(x, y, label_smoothing=0.1)",
            [("x", logits), ("y", targets)]);
        var other = Normal(39, [8, 5], DType.Float32);
        Check(Functional.MseLoss(logits, other), "F.mse_loss(x, t)", [("x", logits), ("t", other)]);
        Check(Functional.BinaryCrossEntropyWithLogits(logits, other.Sigmoid()), "F.binary_cross_entropy_with_logits(x, t.sigmoid())",
            [("x", logits), ("t", other)]);
    }
}
