using System.Collections.Immutable;
using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>
/// A size for each spatial dim of a convolution or pooling layer, or one size for all of them: <c>3</c>, or
/// <c>new[] { 3, 5 }</c> for a 2-D layer (Equinox's <c>int | Sequence[int]</c>).
/// </summary>
public readonly struct SpatialSize
{
    private readonly int[]? sizes;

    private SpatialSize(int[] sizes) => this.sizes = sizes;

    /// <summary>The same size for every spatial dim.</summary>
    public static implicit operator SpatialSize(int size) => new([size]);

    /// <summary>One size per spatial dim (or a single one for all).</summary>
    public static implicit operator SpatialSize(int[] sizes) => new([.. sizes ?? throw new ArgumentNullException(nameof(sizes))]);

    /// <summary>The sizes as given: <c>3</c> or <c>[3, 5]</c>.</summary>
    public override string ToString() => sizes is null ? "default" : sizes.Length == 1 ? $"{sizes[0]}" : $"[{string.Join(", ", sizes)}]";

    // One size per dim, each at least `minimum`; `layer` and `name` say whose option it is in a message.
    internal ImmutableArray<int> For(int dims, string layer, string name, int minimum)
    {
        if (sizes is null) throw new ArgumentException($"{layer}'s {name} is a default SpatialSize; give a number or one per spatial dim.", name);
        if (sizes.Length != 1 && sizes.Length != dims)
            throw new ArgumentException($"{layer}'s {name} has {sizes.Length} sizes, {this}; give one for all dims or one per spatial dim ({dims}).", name);
        foreach (int size in sizes)
            if (size < minimum)
                throw new ArgumentOutOfRangeException(name, $"{layer}'s {name} must be at least {minimum} in every dim; got {this}.");
        return sizes.Length == dims ? [.. sizes] : [.. Enumerable.Repeat(sizes[0], dims)];
    }
}

/// <summary>
/// How much a convolution pads each spatial dim: one number for all dims (<c>1</c>), one per dim
/// (<c>new[] { 1, 2 }</c>), a (low, high) pair per dim (<see cref="PerSide"/>), <see cref="Same"/> or
/// <see cref="Valid"/> (PyTorch's <c>"same"</c> and <c>"valid"</c>).
/// </summary>
public sealed class Padding
{
    private readonly (int Low, int High)[]? pairs; // null for Same

    private Padding((int Low, int High)[]? pairs) => this.pairs = pairs;

    /// <summary>
    /// Pads so that the output has the input's size: <c>dilation * (kernel - 1)</c> in all, half of it (rounded down)
    /// before and the rest after, as PyTorch's <c>padding="same"</c>. Needs stride 1.
    /// </summary>
    public static Padding Same { get; } = new(null);

    /// <summary>No padding, as PyTorch's <c>padding="valid"</c>.</summary>
    public static Padding Valid { get; } = new([(0, 0)]);

    /// <summary>The same padding before and after, in every spatial dim.</summary>
    public static implicit operator Padding(int size) => new([(size, size)]);

    /// <summary>The same padding before and after, one size per spatial dim.</summary>
    public static implicit operator Padding(int[] sizes) =>
        new((sizes ?? throw new ArgumentNullException(nameof(sizes))).Select(s => (s, s)).ToArray());

    /// <summary>A (low, high) pair per spatial dim: the padding before and after the input in that dim.</summary>
    public static Padding PerSide(params (int Low, int High)[] pairs) => new([.. pairs ?? throw new ArgumentNullException(nameof(pairs))]);

    /// <summary><c>same</c>, or the sizes as given: <c>1</c>, <c>[1, 2]</c> or <c>[(0, 1), (1, 1)]</c>.</summary>
    public override string ToString()
    {
        if (pairs is null) return "same";
        if (pairs.All(p => p.Low == p.High))
            return pairs.Length == 1 ? $"{pairs[0].Low}" : $"[{string.Join(", ", pairs.Select(p => p.Low))}]";
        return $"[{string.Join(", ", pairs)}]";
    }

    // The (low, high) pair of each spatial dim for a layer with these kernel sizes, dilations and strides.
    internal ImmutableArray<(int Low, int High)> For(int dims, string layer, ImmutableArray<int> kernel, ImmutableArray<int> dilation, ImmutableArray<int> stride)
    {
        if (pairs is null)
        {
            if (stride.Any(s => s != 1))
                throw new ArgumentException($"{layer}'s padding Padding.Same needs stride 1 (as PyTorch's padding=\"same\"); got stride [{string.Join(", ", stride)}].", "padding");
            return [.. Enumerable.Range(0, dims).Select(d =>
            {
                int total = dilation[d] * (kernel[d] - 1);
                return (total / 2, total - total / 2);
            })];
        }
        if (pairs.Length != 1 && pairs.Length != dims)
            throw new ArgumentException($"{layer}'s padding has {pairs.Length} sizes, {this}; give one for all dims or one per spatial dim ({dims}).", "padding");
        if (pairs.Any(p => p.Low < 0 || p.High < 0))
            throw new ArgumentOutOfRangeException("padding", $"{layer}'s padding must be at least 0; got {this}.");
        return pairs.Length == dims ? [.. pairs] : [.. Enumerable.Repeat(pairs[0], dims)];
    }
}

/// <summary>What a convolution pads its input with (PyTorch's <c>padding_mode</c>).</summary>
public enum PaddingMode
{
    /// <summary>Zeros.</summary>
    Zeros,
    /// <summary>The input mirrored at its edge, without repeating the edge element (<see cref="PadMode.Reflect"/>).</summary>
    Reflect,
    /// <summary>The edge element repeated (<see cref="PadMode.Replicate"/>).</summary>
    Replicate,
    /// <summary>The input wrapped around (<see cref="PadMode.Circular"/>).</summary>
    Circular,
}

/// <summary>
/// A convolution over 1, 2 or 3 spatial dims, with PyTorch's weight layout (<see cref="Weight"/> is
/// <c>[out, in / groups, *kernel]</c>), options and initialisation (uniform in ±1/√fan_in for weight and bias, with
/// fan_in = <c>in / groups * prod(kernel)</c>). Takes one example <c>[C, *spatial]</c>, as Equinox's, or a batch
/// <c>[N, C, *spatial]</c>. Build one of <see cref="Conv1d"/>, <see cref="Conv2d"/> or <see cref="Conv3d"/>.
/// </summary>
[Module]
public abstract partial class Conv : ILayer
{
    /// <summary>The kernel, <c>[OutChannels, InChannels / Groups, *KernelSize]</c>.</summary>
    public readonly Tensor Weight;

    /// <summary>The bias, <c>[OutChannels]</c>, or null without one (<see cref="UseBias"/> false).</summary>
    public readonly Tensor? Bias;

    /// <summary>The number of spatial dims: 1, 2 or 3.</summary>
    [Static] public readonly int NumSpatialDims;

    /// <summary>The number of input channels.</summary>
    [Static] public readonly int InChannels;

    /// <summary>The number of output channels.</summary>
    [Static] public readonly int OutChannels;

    /// <summary>The kernel size in each spatial dim.</summary>
    [Static] public readonly ImmutableArray<int> KernelSize;

    /// <summary>The stride in each spatial dim.</summary>
    [Static] public readonly ImmutableArray<int> Stride;

    /// <summary>The padding (before, after) in each spatial dim, with <see cref="Nn.Padding.Same"/> worked out.</summary>
    [Static] public readonly ImmutableArray<(int Low, int High)> Padding;

    /// <summary>The spacing between kernel elements in each spatial dim.</summary>
    [Static] public readonly ImmutableArray<int> Dilation;

    /// <summary>The number of groups the channels are split into, each convolved on its own.</summary>
    [Static] public readonly int Groups;

    /// <summary>Whether the layer adds <see cref="Bias"/> (static, so that a hole in its place is an error, not a layer without bias).</summary>
    [Static] public readonly bool UseBias;

    /// <summary>What the input is padded with.</summary>
    [Static] public readonly PaddingMode PaddingMode;

    /// <summary>A layer with fresh weights drawn from <paramref name="key"/>; the subclasses name the options.</summary>
    private protected Conv(int numSpatialDims, int inChannels, int outChannels, SpatialSize kernelSize, Key key, SpatialSize? stride,
        Padding? padding, SpatialSize? dilation, int groups, bool useBias, PaddingMode paddingMode, DType dtype)
    {
        string layer = GetType().Name;
        (InChannels, OutChannels, Groups) = ConvOptions.Channels(layer, inChannels, outChannels, groups);
        NumSpatialDims = numSpatialDims;
        KernelSize = kernelSize.For(numSpatialDims, layer, nameof(kernelSize), 1);
        Stride = (stride ?? 1).For(numSpatialDims, layer, nameof(stride), 1);
        Dilation = (dilation ?? 1).For(numSpatialDims, layer, nameof(dilation), 1);
        Padding = (padding ?? Nn.Padding.Valid).For(numSpatialDims, layer, KernelSize, Dilation, Stride);
        if (!Enum.IsDefined(paddingMode)) throw new ArgumentOutOfRangeException(nameof(paddingMode), $"{layer}'s paddingMode {paddingMode} is not a PaddingMode.");
        PaddingMode = paddingMode;
        UseBias = useBias;
        long[] shape = [outChannels, inChannels / groups, .. KernelSize.Select(k => (long)k)];
        (Weight, Bias) = ConvOptions.Parameters(key, shape, fanIn: inChannels / groups * KernelSize.Aggregate(1, (a, k) => a * k), outChannels, useBias, dtype);
    }

    /// <summary>Applies the layer to <c>[InChannels, *spatial]</c> or <c>[N, InChannels, *spatial]</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> has another rank or channel count.</exception>
    /// <exception cref="TreeHoleException">The weight, or the bias of a layer that uses one, is null (a filtered tree).</exception>
    public Tensor Forward(Tensor x, Key? key = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ConvOptions.CheckLeaves(GetType().Name, Weight, Bias, UseBias);
        bool batched = ConvOptions.CheckInput(x, NumSpatialDims, InChannels, Describe);
        using var input = batched ? x.Alias() : x.Unsqueeze(0);
        long[] stride = ConvOptions.Longs(Stride), dilation = ConvOptions.Longs(Dilation);
        bool symmetric = Padding.All(p => p.Low == p.High);
        Tensor y;
        if (PaddingMode == PaddingMode.Zeros && symmetric)
        {
            y = Functional.Convolution(input, Weight, UseBias ? Bias : null, stride, [.. Padding.Select(p => (long)p.Low)], dilation,
                false, new long[NumSpatialDims], Groups, OperationName);
        }
        else
        {
            // Padded explicitly (F.pad's order: the last dim first), then convolved without padding, as torch.nn.Conv does.
            long[] pad = [.. Padding.Reverse().SelectMany(p => new long[] { p.Low, p.High })];
            using var padded = Functional.Pad(input, pad, PaddingMode switch
            {
                PaddingMode.Reflect => PadMode.Reflect,
                PaddingMode.Replicate => PadMode.Replicate,
                PaddingMode.Circular => PadMode.Circular,
                _ => PadMode.Constant,
            });
            y = Functional.Convolution(padded, Weight, UseBias ? Bias : null, stride, new long[NumSpatialDims], dilation,
                false, new long[NumSpatialDims], Groups, OperationName);
        }
        if (batched) return y;
        using (y) return y.Squeeze(0);
    }

    private string OperationName => NumSpatialDims switch { 1 => "conv1d", 2 => "conv2d", _ => "conv3d" };

    private string Describe() => $"{GetType().Name}({InChannels} -> {OutChannels}, kernelSize=[{string.Join(", ", KernelSize)}])";
}

/// <summary>A 1-D convolution (<c>torch.nn.Conv1d</c>): input <c>[C, L]</c> or <c>[N, C, L]</c>. See <see cref="Conv"/>.</summary>
[Module]
public sealed partial class Conv1d : Conv
{
    /// <summary>A layer with fresh weights drawn from <paramref name="key"/> (required: two layers never share weights by accident).</summary>
    /// <param name="inChannels">The number of input channels.</param>
    /// <param name="outChannels">The number of output channels.</param>
    /// <param name="kernelSize">The kernel size.</param>
    /// <param name="key">Where the weights come from.</param>
    /// <param name="stride">The stride; 1 if not given.</param>
    /// <param name="padding">The padding: a size, <see cref="Padding.Same"/>, <see cref="Padding.Valid"/> (the default) or <see cref="Padding.PerSide"/>.</param>
    /// <param name="dilation">The spacing between kernel elements; 1 if not given.</param>
    /// <param name="groups">The number of groups; it must divide both channel counts.</param>
    /// <param name="useBias">Whether to add a bias.</param>
    /// <param name="paddingMode">What to pad with.</param>
    /// <param name="dtype">The weights' dtype.</param>
    public Conv1d(int inChannels, int outChannels, SpatialSize kernelSize, Key key, SpatialSize? stride = null, Padding? padding = null,
        SpatialSize? dilation = null, int groups = 1, bool useBias = true, PaddingMode paddingMode = PaddingMode.Zeros, DType dtype = DType.Float32)
        : base(1, inChannels, outChannels, kernelSize, key, stride, padding, dilation, groups, useBias, paddingMode, dtype) { }
}

/// <summary>A 2-D convolution (<c>torch.nn.Conv2d</c>): input <c>[C, H, W]</c> or <c>[N, C, H, W]</c>. See <see cref="Conv"/>.</summary>
[Module]
public sealed partial class Conv2d : Conv
{
    /// <summary>A layer with fresh weights drawn from <paramref name="key"/> (required: two layers never share weights by accident).</summary>
    /// <param name="inChannels">The number of input channels.</param>
    /// <param name="outChannels">The number of output channels.</param>
    /// <param name="kernelSize">The kernel size: one for both dims or <c>new[] { h, w }</c>.</param>
    /// <param name="key">Where the weights come from.</param>
    /// <param name="stride">The stride; 1 if not given.</param>
    /// <param name="padding">The padding: a size, one per dim, <see cref="Padding.Same"/>, <see cref="Padding.Valid"/> (the default) or <see cref="Padding.PerSide"/>.</param>
    /// <param name="dilation">The spacing between kernel elements; 1 if not given.</param>
    /// <param name="groups">The number of groups; it must divide both channel counts.</param>
    /// <param name="useBias">Whether to add a bias.</param>
    /// <param name="paddingMode">What to pad with.</param>
    /// <param name="dtype">The weights' dtype.</param>
    public Conv2d(int inChannels, int outChannels, SpatialSize kernelSize, Key key, SpatialSize? stride = null, Padding? padding = null,
        SpatialSize? dilation = null, int groups = 1, bool useBias = true, PaddingMode paddingMode = PaddingMode.Zeros, DType dtype = DType.Float32)
        : base(2, inChannels, outChannels, kernelSize, key, stride, padding, dilation, groups, useBias, paddingMode, dtype) { }
}

/// <summary>A 3-D convolution (<c>torch.nn.Conv3d</c>): input <c>[C, D, H, W]</c> or <c>[N, C, D, H, W]</c>. See <see cref="Conv"/>.</summary>
[Module]
public sealed partial class Conv3d : Conv
{
    /// <summary>A layer with fresh weights drawn from <paramref name="key"/> (required: two layers never share weights by accident).</summary>
    /// <param name="inChannels">The number of input channels.</param>
    /// <param name="outChannels">The number of output channels.</param>
    /// <param name="kernelSize">The kernel size: one for all dims or <c>new[] { d, h, w }</c>.</param>
    /// <param name="key">Where the weights come from.</param>
    /// <param name="stride">The stride; 1 if not given.</param>
    /// <param name="padding">The padding: a size, one per dim, <see cref="Padding.Same"/>, <see cref="Padding.Valid"/> (the default) or <see cref="Padding.PerSide"/>.</param>
    /// <param name="dilation">The spacing between kernel elements; 1 if not given.</param>
    /// <param name="groups">The number of groups; it must divide both channel counts.</param>
    /// <param name="useBias">Whether to add a bias.</param>
    /// <param name="paddingMode">What to pad with.</param>
    /// <param name="dtype">The weights' dtype.</param>
    public Conv3d(int inChannels, int outChannels, SpatialSize kernelSize, Key key, SpatialSize? stride = null, Padding? padding = null,
        SpatialSize? dilation = null, int groups = 1, bool useBias = true, PaddingMode paddingMode = PaddingMode.Zeros, DType dtype = DType.Float32)
        : base(3, inChannels, outChannels, kernelSize, key, stride, padding, dilation, groups, useBias, paddingMode, dtype) { }
}

// What the convolution and pooling layers share: option checks, initialisation and the input check.
internal static class ConvOptions
{
    public static (int In, int Out, int Groups) Channels(string layer, int inChannels, int outChannels, int groups)
    {
        if (inChannels <= 0) throw new ArgumentOutOfRangeException(nameof(inChannels), $"{layer}'s inChannels must be positive; got {inChannels}.");
        if (outChannels <= 0) throw new ArgumentOutOfRangeException(nameof(outChannels), $"{layer}'s outChannels must be positive; got {outChannels}.");
        if (groups <= 0) throw new ArgumentOutOfRangeException(nameof(groups), $"{layer}'s groups must be positive; got {groups}.");
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"{layer}'s groups ({groups}) must divide inChannels ({inChannels}) and outChannels ({outChannels}).", nameof(groups));
        return (inChannels, outChannels, groups);
    }

    // PyTorch's default: kaiming_uniform(a=√5) for the weight, which is U(±1/√fan_in), and the same bound for the bias.
    public static (Tensor Weight, Tensor? Bias) Parameters(Key key, long[] shape, int fanIn, int biasSize, bool useBias, DType dtype)
    {
        var (weightKey, biasKey) = key.Split();
        double bound = 1 / Math.Sqrt(fanIn);
        return (Tensor.Uniform(weightKey, shape, -bound, bound, dtype), useBias ? Tensor.Uniform(biasKey, [biasSize], -bound, bound, dtype) : null);
    }

    public static void CheckLeaves(string layer, Tensor? weight, Tensor? bias, bool useBias)
    {
        // Weight is declared non-null, but Filter, Partition, TreeAt and Unflatten can leave a hole in any slot.
        if (weight is null) throw new TreeHoleException($"{layer}.Weight");
        if (useBias && bias is null) throw new TreeHoleException($"{layer}.Bias");
    }

    // Whether x is batched; throws unless it is [C, *spatial] or [N, C, *spatial] (C = channels when given).
    public static bool CheckInput(Tensor x, int dims, int? channels, Func<string> describe)
    {
        bool batched = x.Rank == dims + 2;
        if ((x.Rank == dims + 1 || batched) && (channels is not int c || x.Size(batched ? 1 : 0) == c)) return batched;
        string spatial = dims switch { 1 => "L", 2 => "H, W", _ => "D, H, W" };
        string channel = channels?.ToString() ?? "C";
        throw new ArgumentException($"{describe()} expects [{channel}, {spatial}] or [N, {channel}, {spatial}]; got {x.Describe()}.", nameof(x));
    }

    public static long[] Longs(ImmutableArray<int> values) => [.. values.Select(v => (long)v)];
}
