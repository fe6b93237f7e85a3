using Equinox.Tensors.Interop;

namespace Equinox.Tensors;

/// <summary>How a loss reduces over the batch (LibTorch's <c>at::Reduction</c> codes).</summary>
public enum Reduction
{
    /// <summary>One loss per element.</summary>
    None = 0,
    /// <summary>The mean over elements (over non-ignored targets for cross-entropy).</summary>
    Mean = 1,
    /// <summary>The sum over elements.</summary>
    Sum = 2,
}

/// <summary>
/// The functional neural-network ops layers are built from: convolution, pooling, normalisation, dropout, embedding
/// and losses. Inputs are batched as in PyTorch (<c>N, C, spatial...</c>); sizes per spatial dim are given once per
/// dim or as a single value for all of them.
/// </summary>
public static unsafe partial class Functional
{
    /// <summary>
    /// <c>input @ weight^T + bias</c> in one op, as PyTorch's <c>F.linear</c>: input <c>[..., in]</c>, weight
    /// <c>[out, in]</c>, bias <c>[out]</c> or null.
    /// </summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null) =>
        Tensor.Wrap(NativeMethods.eqx_linear(Tensor.Required(input), Tensor.Required(weight), bias), "linear", input, weight, bias);

    /// <summary>1-D convolution: input <c>[N, Cin, L]</c>, weight <c>[Cout, Cin/groups, K]</c>.</summary>
    public static Tensor Conv1d(Tensor input, Tensor weight, Tensor? bias = null, long stride = 1, long padding = 0, long dilation = 1, long groups = 1) =>
        Convolution(input, weight, bias, [stride], [padding], [dilation], false, [0], groups, "conv1d");

    /// <summary>2-D convolution: input <c>[N, Cin, H, W]</c>, weight <c>[Cout, Cin/groups, KH, KW]</c>.</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, long[]? stride = null, long[]? padding = null, long[]? dilation = null, long groups = 1) =>
        Convolution(input, weight, bias, stride ?? [1, 1], padding ?? [0, 0], dilation ?? [1, 1], false, [0, 0], groups, "conv2d");

    /// <summary>3-D convolution: input <c>[N, Cin, D, H, W]</c>, weight <c>[Cout, Cin/groups, KD, KH, KW]</c>.</summary>
    public static Tensor Conv3d(Tensor input, Tensor weight, Tensor? bias = null, long[]? stride = null, long[]? padding = null, long[]? dilation = null, long groups = 1) =>
        Convolution(input, weight, bias, stride ?? [1, 1, 1], padding ?? [0, 0, 0], dilation ?? [1, 1, 1], false, [0, 0, 0], groups, "conv3d");

    /// <summary>1-D transposed convolution: weight <c>[Cin, Cout/groups, K]</c>.</summary>
    public static Tensor ConvTranspose1d(Tensor input, Tensor weight, Tensor? bias = null, long stride = 1, long padding = 0, long outputPadding = 0, long dilation = 1, long groups = 1) =>
        Convolution(input, weight, bias, [stride], [padding], [dilation], true, [outputPadding], groups, "conv_transpose1d");

    /// <summary>2-D transposed convolution: weight <c>[Cin, Cout/groups, KH, KW]</c>.</summary>
    public static Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias = null, long[]? stride = null, long[]? padding = null, long[]? outputPadding = null, long[]? dilation = null, long groups = 1) =>
        Convolution(input, weight, bias, stride ?? [1, 1], padding ?? [0, 0], dilation ?? [1, 1], true, outputPadding ?? [0, 0], groups, "conv_transpose2d");

    /// <summary>3-D transposed convolution: weight <c>[Cin, Cout/groups, KD, KH, KW]</c>.</summary>
    public static Tensor ConvTranspose3d(Tensor input, Tensor weight, Tensor? bias = null, long[]? stride = null, long[]? padding = null, long[]? outputPadding = null, long[]? dilation = null, long groups = 1) =>
        Convolution(input, weight, bias, stride ?? [1, 1, 1], padding ?? [0, 0, 0], dilation ?? [1, 1, 1], true, outputPadding ?? [0, 0, 0], groups, "conv_transpose3d");

    /// <summary>The general convolution every Conv* above calls; sizes have one entry per spatial dim.</summary>
    public static Tensor Convolution(Tensor input, Tensor weight, Tensor? bias, long[] stride, long[] padding, long[] dilation,
        bool transposed, long[] outputPadding, long groups, string operation = "convolution")
    {
        ArgumentNullException.ThrowIfNull(stride);
        ArgumentNullException.ThrowIfNull(padding);
        ArgumentNullException.ThrowIfNull(dilation);
        ArgumentNullException.ThrowIfNull(outputPadding);
        fixed (long* s = stride) fixed (long* p = padding) fixed (long* d = dilation) fixed (long* o = outputPadding)
            return Tensor.Wrap(NativeMethods.eqx_convolution(Tensor.Required(input), Tensor.Required(weight), bias, s, stride.Length,
                p, padding.Length, d, dilation.Length, transposed ? 1 : 0, o, outputPadding.Length, groups), operation, input, weight, bias);
    }

    /// <summary>Max pooling over 1, 2 or 3 spatial dims (the kernel's length says which); stride defaults to the kernel.</summary>
    public static Tensor MaxPool(Tensor input, long[] kernel, long[]? stride = null, long[]? padding = null, long[]? dilation = null, bool ceilMode = false)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        var s = stride ?? kernel;
        var p = padding ?? new long[kernel.Length];
        var d = dilation ?? Ones(kernel.Length);
        fixed (long* k = kernel) fixed (long* sp = s) fixed (long* pp = p) fixed (long* dp = d)
            return Tensor.Wrap(NativeMethods.eqx_max_pool(Tensor.Required(input), k, kernel.Length, sp, s.Length, pp, p.Length, dp, d.Length, ceilMode ? 1 : 0),
                PoolName("max_pool", kernel.Length), input);
    }

    /// <summary>Average pooling over 1, 2 or 3 spatial dims; stride defaults to the kernel.</summary>
    public static Tensor AvgPool(Tensor input, long[] kernel, long[]? stride = null, long[]? padding = null, bool ceilMode = false, bool countIncludePad = true)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        var s = stride ?? kernel;
        var p = padding ?? new long[kernel.Length];
        fixed (long* k = kernel) fixed (long* sp = s) fixed (long* pp = p)
            return Tensor.Wrap(NativeMethods.eqx_avg_pool(Tensor.Required(input), k, kernel.Length, sp, s.Length, pp, p.Length, ceilMode ? 1 : 0, countIncludePad ? 1 : 0),
                PoolName("avg_pool", kernel.Length), input);
    }

    /// <summary>Average pooling to a fixed output size over 1, 2 or 3 spatial dims.</summary>
    public static Tensor AdaptiveAvgPool(Tensor input, params long[] outputSize)
    {
        ArgumentNullException.ThrowIfNull(outputSize);
        fixed (long* o = outputSize)
            return Tensor.Wrap(NativeMethods.eqx_adaptive_pool(Tensor.Required(input), o, outputSize.Length, 0), PoolName("adaptive_avg_pool", outputSize.Length), input);
    }

    /// <summary>Max pooling to a fixed output size over 1, 2 or 3 spatial dims.</summary>
    public static Tensor AdaptiveMaxPool(Tensor input, params long[] outputSize)
    {
        ArgumentNullException.ThrowIfNull(outputSize);
        fixed (long* o = outputSize)
            return Tensor.Wrap(NativeMethods.eqx_adaptive_pool(Tensor.Required(input), o, outputSize.Length, 1), PoolName("adaptive_max_pool", outputSize.Length), input);
    }

    /// <summary>Normalises over the trailing <paramref name="normalizedShape"/> dims, then scales and shifts.</summary>
    public static Tensor LayerNorm(Tensor input, long[] normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        fixed (long* s = normalizedShape)
            return Tensor.Wrap(NativeMethods.eqx_layer_norm(Tensor.Required(input), s, normalizedShape.Length, weight, bias, eps),
                "layer_norm", input, weight, bias);
    }

    /// <summary>Normalises channels in <paramref name="groups"/> groups (input <c>[N, C, ...]</c>).</summary>
    public static Tensor GroupNorm(Tensor input, long groups, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5) =>
        Tensor.Wrap(NativeMethods.eqx_group_norm(Tensor.Required(input), groups, weight, bias, eps),
            "group_norm", input, weight, bias);

    /// <summary>
    /// Batch norm over <c>[N, C, ...]</c>. In training it normalises by batch statistics and, when running
    /// statistics are given, returns them updated as new tensors (the inputs are not modified); in inference it uses
    /// the running statistics.
    /// </summary>
    public static (Tensor Output, Tensor? RunningMean, Tensor? RunningVar) BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar,
        Tensor? weight = null, Tensor? bias = null, bool training = false, double momentum = 0.1, double eps = 1e-5)
    {
        if (!training && (runningMean is null || runningVar is null))
            throw new ArgumentException("BatchNorm in inference needs running mean and variance; pass training: true to use batch statistics.");
        // LibTorch updates running statistics in place: give it copies so the caller's tensors stay immutable.
        Tensor? mean = null, variance = null;
        using (Torch.NoGrad())
        {
            mean = training ? runningMean?.Clone() : runningMean?.Alias();
            variance = training ? runningVar?.Clone() : runningVar?.Alias();
        }
        var output = Tensor.Wrap(NativeMethods.eqx_batch_norm(Tensor.Required(input), weight, bias,
            mean, variance, training ? 1 : 0, momentum, eps), "batch_norm", input, weight, bias, runningMean, runningVar);
        return (output, mean, variance);
    }

    /// <summary>
    /// Inverted dropout: zeroes each element with probability <paramref name="p"/> (mask drawn from
    /// <paramref name="key"/>) and scales the rest by 1/(1-p). With <paramref name="training"/> false it returns the input.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is NaN or outside [0, 1].</exception>
    public static Tensor Dropout(Tensor input, double p, Key key, bool training = true)
    {
        if (!(p >= 0 && p <= 1)) // NaN fails both comparisons
            throw new ArgumentOutOfRangeException(nameof(p), p, $"Dropout's p is the probability of zeroing an element, so it must be in [0, 1]; got {p}.");
        if (!training) return Tensor.Required(input).Alias();
        return Tensor.Wrap(NativeMethods.eqx_dropout(Tensor.Required(input), p, key.Seed), "dropout", input);
    }

    /// <summary>Rows of <paramref name="weight"/> picked by integer <paramref name="indices"/>.</summary>
    public static Tensor Embedding(Tensor weight, Tensor indices, long? paddingIndex = null)
    {
        // LibTorch reads a negative padding index as "none": count it from the end as torch.nn.functional does.
        long padding = -1;
        if (paddingIndex is long p)
        {
            long rows = Tensor.Required(weight).Size(0);
            if (p < -rows || p >= rows)
                throw new ArgumentOutOfRangeException(nameof(paddingIndex), $"paddingIndex {p} is outside the {rows} rows of the embedding weight {weight.Describe()}.");
            padding = p < 0 ? p + rows : p;
        }
        var result = NativeMethods.eqx_embedding(Tensor.Required(weight), Tensor.Required(indices), padding);
        if (result == IntPtr.Zero)
            throw Tensor.Failure("embedding", [weight, indices], null, Tensor.FindIndexOutOfRange(indices, weight, 0));
        return Tensor.Wrap(result, "embedding", weight, indices);
    }

    /// <summary>Cross-entropy of logits <c>[N, C, ...]</c> against class indices (i64) or class probabilities.</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean,
        long ignoreIndex = -100, double labelSmoothing = 0) =>
        Tensor.Wrap(NativeMethods.eqx_cross_entropy(Tensor.Required(logits), Tensor.Required(target), weight, (long)reduction, ignoreIndex, labelSmoothing),
            "cross_entropy", logits, target, weight);

    /// <summary>Mean squared error.</summary>
    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
        Tensor.Wrap(NativeMethods.eqx_mse_loss(Tensor.Required(input), Tensor.Required(target), (long)reduction), "mse_loss", input, target);

    /// <summary>Binary cross-entropy on logits, computed stably.</summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor logits, Tensor target, Reduction reduction = Reduction.Mean) =>
        Tensor.Wrap(NativeMethods.eqx_binary_cross_entropy_with_logits(Tensor.Required(logits), Tensor.Required(target), (long)reduction), "binary_cross_entropy_with_logits", logits, target);

    // The op name for messages, e.g. max_pool2d (constants: no allocation per call).
    private static string PoolName(string kind, int spatialDims) => (kind, spatialDims) switch
    {
        ("max_pool", 1) => "max_pool1d",
        ("max_pool", 2) => "max_pool2d",
        ("max_pool", 3) => "max_pool3d",
        ("avg_pool", 1) => "avg_pool1d",
        ("avg_pool", 2) => "avg_pool2d",
        ("avg_pool", 3) => "avg_pool3d",
        ("adaptive_avg_pool", 1) => "adaptive_avg_pool1d",
        ("adaptive_avg_pool", 2) => "adaptive_avg_pool2d",
        ("adaptive_avg_pool", 3) => "adaptive_avg_pool3d",
        ("adaptive_max_pool", 1) => "adaptive_max_pool1d",
        ("adaptive_max_pool", 2) => "adaptive_max_pool2d",
        ("adaptive_max_pool", 3) => "adaptive_max_pool3d",
        _ => kind,
    };

    private static long[] Ones(int n)
    {
        var result = new long[n];
        Array.Fill(result, 1L);
        return result;
    }
}
