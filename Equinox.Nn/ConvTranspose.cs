using System.Collections.Immutable;
using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>
/// A transposed convolution over 1, 2 or 3 spatial dims (the gradient of a convolution with respect to its input),
/// with PyTorch's weight layout (<see cref="Weight"/> is <c>[in, out / groups, *kernel]</c>), options and
/// initialisation (uniform in ±1/√fan_in, fan_in = <c>out / groups * prod(kernel)</c>). Padding crops the output:
/// each spatial size is <c>(in - 1) * stride - low - high + dilation * (kernel - 1) + outputPadding + 1</c>. Takes
/// one example <c>[C, *spatial]</c> or a batch <c>[N, C, *spatial]</c>. Build one of <see cref="ConvTranspose1d"/>,
/// <see cref="ConvTranspose2d"/> or <see cref="ConvTranspose3d"/>.
/// </summary>
[Module]
public abstract partial class ConvTranspose : ILayer
{
    /// <summary>The kernel, <c>[InChannels, OutChannels / Groups, *KernelSize]</c>.</summary>
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

    /// <summary>What is cropped from the output (before, after) in each spatial dim, with <see cref="Nn.Padding.Same"/> worked out.</summary>
    [Static] public readonly ImmutableArray<(int Low, int High)> Padding;

    /// <summary>What is added at the end of each spatial dim of the output (to pick one of the sizes a strided convolution maps to the same size).</summary>
    [Static] public readonly ImmutableArray<int> OutputPadding;

    /// <summary>The spacing between kernel elements in each spatial dim.</summary>
    [Static] public readonly ImmutableArray<int> Dilation;

    /// <summary>The number of groups the channels are split into.</summary>
    [Static] public readonly int Groups;

    /// <summary>Whether the layer adds <see cref="Bias"/>.</summary>
    [Static] public readonly bool UseBias;

    /// <summary>A layer with fresh weights drawn from <paramref name="key"/>; the subclasses name the options.</summary>
    private protected ConvTranspose(int numSpatialDims, int inChannels, int outChannels, SpatialSize kernelSize, Key key, SpatialSize? stride,
        Padding? padding, SpatialSize? outputPadding, SpatialSize? dilation, int groups, bool useBias, PaddingMode paddingMode, DType dtype)
    {
        string layer = GetType().Name;
        if (paddingMode != PaddingMode.Zeros)
            throw new NotSupportedException($"{layer} supports only PaddingMode.Zeros (as PyTorch's ConvTranspose); padding mode {paddingMode} is not implemented.");
        (InChannels, OutChannels, Groups) = ConvOptions.Channels(layer, inChannels, outChannels, groups);
        NumSpatialDims = numSpatialDims;
        KernelSize = kernelSize.For(numSpatialDims, layer, nameof(kernelSize), 1);
        Stride = (stride ?? 1).For(numSpatialDims, layer, nameof(stride), 1);
        Dilation = (dilation ?? 1).For(numSpatialDims, layer, nameof(dilation), 1);
        Padding = (padding ?? Nn.Padding.Valid).For(numSpatialDims, layer, KernelSize, Dilation, Stride);
        OutputPadding = (outputPadding ?? 0).For(numSpatialDims, layer, nameof(outputPadding), 0);
        for (int d = 0; d < numSpatialDims; d++)
            if (OutputPadding[d] >= Math.Max(Stride[d], Dilation[d]))
                throw new ArgumentException($"{layer}'s outputPadding must be smaller than the stride or the dilation in each dim; got outputPadding " +
                                            $"[{string.Join(", ", OutputPadding)}] with stride [{string.Join(", ", Stride)}] and dilation [{string.Join(", ", Dilation)}].", nameof(outputPadding));
        UseBias = useBias;
        long[] shape = [inChannels, outChannels / groups, .. KernelSize.Select(k => (long)k)];
        (Weight, Bias) = ConvOptions.Parameters(key, shape, fanIn: outChannels / groups * KernelSize.Aggregate(1, (a, k) => a * k), outChannels, useBias, dtype);
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
        bool symmetric = Padding.All(p => p.Low == p.High);
        // Uneven padding: convolve without it, then crop each side (LibTorch's padding crops both sides alike).
        long[] padding = symmetric ? [.. Padding.Select(p => (long)p.Low)] : new long[NumSpatialDims];
        var y = Functional.Convolution(input, Weight, UseBias ? Bias : null, ConvOptions.Longs(Stride), padding, ConvOptions.Longs(Dilation),
            true, ConvOptions.Longs(OutputPadding), Groups, OperationName);
        if (!symmetric)
        {
            for (int d = 0; d < NumSpatialDims; d++)
            {
                using var uncropped = y;
                int dim = d + 2;
                y = uncropped.Slice(dim, Padding[d].Low, uncropped.Size(dim) - Padding[d].High);
            }
        }
        if (batched) return y;
        using (y) return y.Squeeze(0);
    }

    private string OperationName => NumSpatialDims switch { 1 => "conv_transpose1d", 2 => "conv_transpose2d", _ => "conv_transpose3d" };

    private string Describe() => $"{GetType().Name}({InChannels} -> {OutChannels}, kernelSize=[{string.Join(", ", KernelSize)}])";
}

/// <summary>A 1-D transposed convolution (<c>torch.nn.ConvTranspose1d</c>): input <c>[C, L]</c> or <c>[N, C, L]</c>. See <see cref="ConvTranspose"/>.</summary>
[Module]
public sealed partial class ConvTranspose1d : ConvTranspose
{
    /// <summary>A layer with fresh weights drawn from <paramref name="key"/> (required: two layers never share weights by accident).</summary>
    /// <param name="inChannels">The number of input channels.</param>
    /// <param name="outChannels">The number of output channels.</param>
    /// <param name="kernelSize">The kernel size.</param>
    /// <param name="key">Where the weights come from.</param>
    /// <param name="stride">The stride; 1 if not given.</param>
    /// <param name="padding">What to crop from the output: a size (0 if not given), <see cref="Padding.Same"/> or <see cref="Padding.PerSide"/>.</param>
    /// <param name="outputPadding">What to add at the end of the output; 0 if not given.</param>
    /// <param name="dilation">The spacing between kernel elements; 1 if not given.</param>
    /// <param name="groups">The number of groups; it must divide both channel counts.</param>
    /// <param name="useBias">Whether to add a bias.</param>
    /// <param name="paddingMode">Only <see cref="PaddingMode.Zeros"/>; the others throw <see cref="NotSupportedException"/>.</param>
    /// <param name="dtype">The weights' dtype.</param>
    public ConvTranspose1d(int inChannels, int outChannels, SpatialSize kernelSize, Key key, SpatialSize? stride = null, Padding? padding = null,
        SpatialSize? outputPadding = null, SpatialSize? dilation = null, int groups = 1, bool useBias = true,
        PaddingMode paddingMode = PaddingMode.Zeros, DType dtype = DType.Float32)
        : base(1, inChannels, outChannels, kernelSize, key, stride, padding, outputPadding, dilation, groups, useBias, paddingMode, dtype) { }
}

/// <summary>A 2-D transposed convolution (<c>torch.nn.ConvTranspose2d</c>): input <c>[C, H, W]</c> or <c>[N, C, H, W]</c>. See <see cref="ConvTranspose"/>.</summary>
[Module]
public sealed partial class ConvTranspose2d : ConvTranspose
{
    /// <summary>A layer with fresh weights drawn from <paramref name="key"/> (required: two layers never share weights by accident).</summary>
    /// <param name="inChannels">The number of input channels.</param>
    /// <param name="outChannels">The number of output channels.</param>
    /// <param name="kernelSize">The kernel size: one for both dims or <c>new[] { h, w }</c>.</param>
    /// <param name="key">Where the weights come from.</param>
    /// <param name="stride">The stride; 1 if not given.</param>
    /// <param name="padding">What to crop from the output: a size or one per dim (0 if not given), <see cref="Padding.Same"/> or <see cref="Padding.PerSide"/>.</param>
    /// <param name="outputPadding">What to add at the end of the output; 0 if not given.</param>
    /// <param name="dilation">The spacing between kernel elements; 1 if not given.</param>
    /// <param name="groups">The number of groups; it must divide both channel counts.</param>
    /// <param name="useBias">Whether to add a bias.</param>
    /// <param name="paddingMode">Only <see cref="PaddingMode.Zeros"/>; the others throw <see cref="NotSupportedException"/>.</param>
    /// <param name="dtype">The weights' dtype.</param>
    public ConvTranspose2d(int inChannels, int outChannels, SpatialSize kernelSize, Key key, SpatialSize? stride = null, Padding? padding = null,
        SpatialSize? outputPadding = null, SpatialSize? dilation = null, int groups = 1, bool useBias = true,
        PaddingMode paddingMode = PaddingMode.Zeros, DType dtype = DType.Float32)
        : base(2, inChannels, outChannels, kernelSize, key, stride, padding, outputPadding, dilation, groups, useBias, paddingMode, dtype) { }
}

/// <summary>A 3-D transposed convolution (<c>torch.nn.ConvTranspose3d</c>): input <c>[C, D, H, W]</c> or <c>[N, C, D, H, W]</c>. See <see cref="ConvTranspose"/>.</summary>
[Module]
public sealed partial class ConvTranspose3d : ConvTranspose
{
    /// <summary>A layer with fresh weights drawn from <paramref name="key"/> (required: two layers never share weights by accident).</summary>
    /// <param name="inChannels">The number of input channels.</param>
    /// <param name="outChannels">The number of output channels.</param>
    /// <param name="kernelSize">The kernel size: one for all dims or <c>new[] { d, h, w }</c>.</param>
    /// <param name="key">Where the weights come from.</param>
    /// <param name="stride">The stride; 1 if not given.</param>
    /// <param name="padding">What to crop from the output: a size or one per dim (0 if not given), <see cref="Padding.Same"/> or <see cref="Padding.PerSide"/>.</param>
    /// <param name="outputPadding">What to add at the end of the output; 0 if not given.</param>
    /// <param name="dilation">The spacing between kernel elements; 1 if not given.</param>
    /// <param name="groups">The number of groups; it must divide both channel counts.</param>
    /// <param name="useBias">Whether to add a bias.</param>
    /// <param name="paddingMode">Only <see cref="PaddingMode.Zeros"/>; the others throw <see cref="NotSupportedException"/>.</param>
    /// <param name="dtype">The weights' dtype.</param>
    public ConvTranspose3d(int inChannels, int outChannels, SpatialSize kernelSize, Key key, SpatialSize? stride = null, Padding? padding = null,
        SpatialSize? outputPadding = null, SpatialSize? dilation = null, int groups = 1, bool useBias = true,
        PaddingMode paddingMode = PaddingMode.Zeros, DType dtype = DType.Float32)
        : base(3, inChannels, outChannels, kernelSize, key, stride, padding, outputPadding, dilation, groups, useBias, paddingMode, dtype) { }
}
