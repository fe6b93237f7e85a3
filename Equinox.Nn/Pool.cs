using System.Collections.Immutable;
using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>
/// Max pooling over 1, 2 or 3 spatial dims, as <c>torch.nn.MaxPool*d</c>: the maximum of each window, padded with
/// -∞. Takes one example <c>[C, *spatial]</c> or a batch <c>[N, C, *spatial]</c>; it has no leaves and needs no key.
/// Build one of <see cref="MaxPool1d"/>, <see cref="MaxPool2d"/> or <see cref="MaxPool3d"/>.
/// </summary>
[Module]
public abstract partial class MaxPool : ILayer
{
    /// <summary>The number of spatial dims: 1, 2 or 3.</summary>
    [Static] public readonly int NumSpatialDims;

    /// <summary>The window size in each spatial dim.</summary>
    [Static] public readonly ImmutableArray<int> KernelSize;

    /// <summary>The step between windows in each spatial dim (the kernel size unless given).</summary>
    [Static] public readonly ImmutableArray<int> Stride;

    /// <summary>The padding on both sides of each spatial dim (at most half the kernel).</summary>
    [Static] public readonly ImmutableArray<int> Padding;

    /// <summary>The spacing between window elements in each spatial dim.</summary>
    [Static] public readonly ImmutableArray<int> Dilation;

    /// <summary>Whether a last, partial window that starts inside the input makes an output (rounding the output size up).</summary>
    [Static] public readonly bool CeilMode;

    /// <summary>Creates the layer; the subclasses name the options.</summary>
    private protected MaxPool(int numSpatialDims, SpatialSize kernelSize, SpatialSize? stride, SpatialSize? padding, SpatialSize? dilation, bool ceilMode)
    {
        string layer = GetType().Name;
        NumSpatialDims = numSpatialDims;
        KernelSize = kernelSize.For(numSpatialDims, layer, nameof(kernelSize), 1);
        Stride = stride is { } s ? s.For(numSpatialDims, layer, nameof(stride), 1) : KernelSize;
        Padding = (padding ?? 0).For(numSpatialDims, layer, nameof(padding), 0);
        Dilation = (dilation ?? 1).For(numSpatialDims, layer, nameof(dilation), 1);
        CeilMode = ceilMode;
    }

    /// <summary>Applies the layer to <c>[C, *spatial]</c> or <c>[N, C, *spatial]</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> has another rank.</exception>
    public Tensor Forward(Tensor x, Key? key = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ConvOptions.CheckInput(x, NumSpatialDims, null, () => $"{GetType().Name}(kernelSize=[{string.Join(", ", KernelSize)}])");
        return Functional.MaxPool(x, ConvOptions.Longs(KernelSize), ConvOptions.Longs(Stride), ConvOptions.Longs(Padding), ConvOptions.Longs(Dilation), CeilMode);
    }
}

/// <summary>
/// Average pooling over 1, 2 or 3 spatial dims, as <c>torch.nn.AvgPool*d</c>: the mean of each window. Takes one
/// example <c>[C, *spatial]</c> or a batch <c>[N, C, *spatial]</c>; it has no leaves and needs no key. Build one of
/// <see cref="AvgPool1d"/>, <see cref="AvgPool2d"/> or <see cref="AvgPool3d"/>.
/// </summary>
[Module]
public abstract partial class AvgPool : ILayer
{
    /// <summary>The number of spatial dims: 1, 2 or 3.</summary>
    [Static] public readonly int NumSpatialDims;

    /// <summary>The window size in each spatial dim.</summary>
    [Static] public readonly ImmutableArray<int> KernelSize;

    /// <summary>The step between windows in each spatial dim (the kernel size unless given).</summary>
    [Static] public readonly ImmutableArray<int> Stride;

    /// <summary>The zero padding on both sides of each spatial dim (at most half the kernel).</summary>
    [Static] public readonly ImmutableArray<int> Padding;

    /// <summary>Whether a last, partial window that starts inside the input makes an output (rounding the output size up).</summary>
    [Static] public readonly bool CeilMode;

    /// <summary>Whether padded zeros count in a window's mean (PyTorch's default) or only the input's elements do.</summary>
    [Static] public readonly bool CountIncludePad;

    /// <summary>Creates the layer; the subclasses name the options.</summary>
    private protected AvgPool(int numSpatialDims, SpatialSize kernelSize, SpatialSize? stride, SpatialSize? padding, bool ceilMode, bool countIncludePad)
    {
        string layer = GetType().Name;
        NumSpatialDims = numSpatialDims;
        KernelSize = kernelSize.For(numSpatialDims, layer, nameof(kernelSize), 1);
        Stride = stride is { } s ? s.For(numSpatialDims, layer, nameof(stride), 1) : KernelSize;
        Padding = (padding ?? 0).For(numSpatialDims, layer, nameof(padding), 0);
        CeilMode = ceilMode;
        CountIncludePad = countIncludePad;
    }

    /// <summary>Applies the layer to <c>[C, *spatial]</c> or <c>[N, C, *spatial]</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> has another rank.</exception>
    public Tensor Forward(Tensor x, Key? key = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ConvOptions.CheckInput(x, NumSpatialDims, null, () => $"{GetType().Name}(kernelSize=[{string.Join(", ", KernelSize)}])");
        return Functional.AvgPool(x, ConvOptions.Longs(KernelSize), ConvOptions.Longs(Stride), ConvOptions.Longs(Padding), CeilMode, CountIncludePad);
    }
}

/// <summary>
/// Average pooling to a fixed output size over 1, 2 or 3 spatial dims, as <c>torch.nn.AdaptiveAvgPool*d</c>: the
/// windows are sized to fit the input. Takes <c>[C, *spatial]</c> or <c>[N, C, *spatial]</c>; no leaves, no key.
/// Build one of <see cref="AdaptiveAvgPool1d"/>, <see cref="AdaptiveAvgPool2d"/> or <see cref="AdaptiveAvgPool3d"/>.
/// </summary>
[Module]
public abstract partial class AdaptiveAvgPool : ILayer
{
    /// <summary>The number of spatial dims: 1, 2 or 3.</summary>
    [Static] public readonly int NumSpatialDims;

    /// <summary>The output's size in each spatial dim.</summary>
    [Static] public readonly ImmutableArray<int> TargetSize;

    /// <summary>Creates the layer; the subclasses name the options.</summary>
    private protected AdaptiveAvgPool(int numSpatialDims, SpatialSize targetSize)
    {
        NumSpatialDims = numSpatialDims;
        TargetSize = targetSize.For(numSpatialDims, GetType().Name, nameof(targetSize), 1);
    }

    /// <summary>Applies the layer to <c>[C, *spatial]</c> or <c>[N, C, *spatial]</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> has another rank.</exception>
    public Tensor Forward(Tensor x, Key? key = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ConvOptions.CheckInput(x, NumSpatialDims, null, () => $"{GetType().Name}(targetSize=[{string.Join(", ", TargetSize)}])");
        return Functional.AdaptiveAvgPool(x, ConvOptions.Longs(TargetSize));
    }
}

/// <summary>
/// Max pooling to a fixed output size over 1, 2 or 3 spatial dims, as <c>torch.nn.AdaptiveMaxPool*d</c>: the
/// windows are sized to fit the input. Takes <c>[C, *spatial]</c> or <c>[N, C, *spatial]</c>; no leaves, no key.
/// Build one of <see cref="AdaptiveMaxPool1d"/>, <see cref="AdaptiveMaxPool2d"/> or <see cref="AdaptiveMaxPool3d"/>.
/// </summary>
[Module]
public abstract partial class AdaptiveMaxPool : ILayer
{
    /// <summary>The number of spatial dims: 1, 2 or 3.</summary>
    [Static] public readonly int NumSpatialDims;

    /// <summary>The output's size in each spatial dim.</summary>
    [Static] public readonly ImmutableArray<int> TargetSize;

    /// <summary>Creates the layer; the subclasses name the options.</summary>
    private protected AdaptiveMaxPool(int numSpatialDims, SpatialSize targetSize)
    {
        NumSpatialDims = numSpatialDims;
        TargetSize = targetSize.For(numSpatialDims, GetType().Name, nameof(targetSize), 1);
    }

    /// <summary>Applies the layer to <c>[C, *spatial]</c> or <c>[N, C, *spatial]</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> has another rank.</exception>
    public Tensor Forward(Tensor x, Key? key = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ConvOptions.CheckInput(x, NumSpatialDims, null, () => $"{GetType().Name}(targetSize=[{string.Join(", ", TargetSize)}])");
        return Functional.AdaptiveMaxPool(x, ConvOptions.Longs(TargetSize));
    }
}

/// <summary>1-D max pooling (<c>torch.nn.MaxPool1d</c>): input <c>[C, L]</c> or <c>[N, C, L]</c>. See <see cref="MaxPool"/>.</summary>
[Module]
public sealed partial class MaxPool1d : MaxPool
{
    /// <summary>Creates the layer.</summary>
    /// <param name="kernelSize">The window size: one for all dims.</param>
    /// <param name="stride">The step between windows; the kernel size if not given.</param>
    /// <param name="padding">The -∞ padding on both sides; 0 if not given.</param>
    /// <param name="dilation">The spacing between window elements; 1 if not given.</param>
    /// <param name="ceilMode">Whether to round the output size up.</param>
    public MaxPool1d(SpatialSize kernelSize, SpatialSize? stride = null, SpatialSize? padding = null, SpatialSize? dilation = null, bool ceilMode = false)
        : base(1, kernelSize, stride, padding, dilation, ceilMode) { }
}

/// <summary>2-D max pooling (<c>torch.nn.MaxPool2d</c>): input <c>[C, H, W]</c> or <c>[N, C, H, W]</c>. See <see cref="MaxPool"/>.</summary>
[Module]
public sealed partial class MaxPool2d : MaxPool
{
    /// <summary>Creates the layer.</summary>
    /// <param name="kernelSize">The window size: one for all dims or one per dim.</param>
    /// <param name="stride">The step between windows; the kernel size if not given.</param>
    /// <param name="padding">The -∞ padding on both sides; 0 if not given.</param>
    /// <param name="dilation">The spacing between window elements; 1 if not given.</param>
    /// <param name="ceilMode">Whether to round the output size up.</param>
    public MaxPool2d(SpatialSize kernelSize, SpatialSize? stride = null, SpatialSize? padding = null, SpatialSize? dilation = null, bool ceilMode = false)
        : base(2, kernelSize, stride, padding, dilation, ceilMode) { }
}

/// <summary>3-D max pooling (<c>torch.nn.MaxPool3d</c>): input <c>[C, D, H, W]</c> or <c>[N, C, D, H, W]</c>. See <see cref="MaxPool"/>.</summary>
[Module]
public sealed partial class MaxPool3d : MaxPool
{
    /// <summary>Creates the layer.</summary>
    /// <param name="kernelSize">The window size: one for all dims or one per dim.</param>
    /// <param name="stride">The step between windows; the kernel size if not given.</param>
    /// <param name="padding">The -∞ padding on both sides; 0 if not given.</param>
    /// <param name="dilation">The spacing between window elements; 1 if not given.</param>
    /// <param name="ceilMode">Whether to round the output size up.</param>
    public MaxPool3d(SpatialSize kernelSize, SpatialSize? stride = null, SpatialSize? padding = null, SpatialSize? dilation = null, bool ceilMode = false)
        : base(3, kernelSize, stride, padding, dilation, ceilMode) { }
}

/// <summary>1-D average pooling (<c>torch.nn.AvgPool1d</c>): input <c>[C, L]</c> or <c>[N, C, L]</c>. See <see cref="AvgPool"/>.</summary>
[Module]
public sealed partial class AvgPool1d : AvgPool
{
    /// <summary>Creates the layer.</summary>
    /// <param name="kernelSize">The window size: one for all dims.</param>
    /// <param name="stride">The step between windows; the kernel size if not given.</param>
    /// <param name="padding">The zero padding on both sides; 0 if not given.</param>
    /// <param name="ceilMode">Whether to round the output size up.</param>
    /// <param name="countIncludePad">Whether padded zeros count in the mean.</param>
    public AvgPool1d(SpatialSize kernelSize, SpatialSize? stride = null, SpatialSize? padding = null, bool ceilMode = false, bool countIncludePad = true)
        : base(1, kernelSize, stride, padding, ceilMode, countIncludePad) { }
}

/// <summary>2-D average pooling (<c>torch.nn.AvgPool2d</c>): input <c>[C, H, W]</c> or <c>[N, C, H, W]</c>. See <see cref="AvgPool"/>.</summary>
[Module]
public sealed partial class AvgPool2d : AvgPool
{
    /// <summary>Creates the layer.</summary>
    /// <param name="kernelSize">The window size: one for all dims or one per dim.</param>
    /// <param name="stride">The step between windows; the kernel size if not given.</param>
    /// <param name="padding">The zero padding on both sides; 0 if not given.</param>
    /// <param name="ceilMode">Whether to round the output size up.</param>
    /// <param name="countIncludePad">Whether padded zeros count in the mean.</param>
    public AvgPool2d(SpatialSize kernelSize, SpatialSize? stride = null, SpatialSize? padding = null, bool ceilMode = false, bool countIncludePad = true)
        : base(2, kernelSize, stride, padding, ceilMode, countIncludePad) { }
}

/// <summary>3-D average pooling (<c>torch.nn.AvgPool3d</c>): input <c>[C, D, H, W]</c> or <c>[N, C, D, H, W]</c>. See <see cref="AvgPool"/>.</summary>
[Module]
public sealed partial class AvgPool3d : AvgPool
{
    /// <summary>Creates the layer.</summary>
    /// <param name="kernelSize">The window size: one for all dims or one per dim.</param>
    /// <param name="stride">The step between windows; the kernel size if not given.</param>
    /// <param name="padding">The zero padding on both sides; 0 if not given.</param>
    /// <param name="ceilMode">Whether to round the output size up.</param>
    /// <param name="countIncludePad">Whether padded zeros count in the mean.</param>
    public AvgPool3d(SpatialSize kernelSize, SpatialSize? stride = null, SpatialSize? padding = null, bool ceilMode = false, bool countIncludePad = true)
        : base(3, kernelSize, stride, padding, ceilMode, countIncludePad) { }
}

/// <summary>1-D adaptive average pooling (<c>torch.nn.AdaptiveAvgPool1d</c>): input <c>[C, L]</c> or <c>[N, C, L]</c>. See <see cref="AdaptiveAvgPool"/>.</summary>
[Module]
public sealed partial class AdaptiveAvgPool1d : AdaptiveAvgPool
{
    /// <summary>Creates the layer.</summary>
    /// <param name="targetSize">The output's spatial size: one for all dims.</param>
    public AdaptiveAvgPool1d(SpatialSize targetSize) : base(1, targetSize) { }
}

/// <summary>2-D adaptive average pooling (<c>torch.nn.AdaptiveAvgPool2d</c>): input <c>[C, H, W]</c> or <c>[N, C, H, W]</c>. See <see cref="AdaptiveAvgPool"/>.</summary>
[Module]
public sealed partial class AdaptiveAvgPool2d : AdaptiveAvgPool
{
    /// <summary>Creates the layer.</summary>
    /// <param name="targetSize">The output's spatial size: one for all dims or one per dim.</param>
    public AdaptiveAvgPool2d(SpatialSize targetSize) : base(2, targetSize) { }
}

/// <summary>3-D adaptive average pooling (<c>torch.nn.AdaptiveAvgPool3d</c>): input <c>[C, D, H, W]</c> or <c>[N, C, D, H, W]</c>. See <see cref="AdaptiveAvgPool"/>.</summary>
[Module]
public sealed partial class AdaptiveAvgPool3d : AdaptiveAvgPool
{
    /// <summary>Creates the layer.</summary>
    /// <param name="targetSize">The output's spatial size: one for all dims or one per dim.</param>
    public AdaptiveAvgPool3d(SpatialSize targetSize) : base(3, targetSize) { }
}

/// <summary>1-D adaptive max pooling (<c>torch.nn.AdaptiveMaxPool1d</c>): input <c>[C, L]</c> or <c>[N, C, L]</c>. See <see cref="AdaptiveMaxPool"/>.</summary>
[Module]
public sealed partial class AdaptiveMaxPool1d : AdaptiveMaxPool
{
    /// <summary>Creates the layer.</summary>
    /// <param name="targetSize">The output's spatial size: one for all dims.</param>
    public AdaptiveMaxPool1d(SpatialSize targetSize) : base(1, targetSize) { }
}

/// <summary>2-D adaptive max pooling (<c>torch.nn.AdaptiveMaxPool2d</c>): input <c>[C, H, W]</c> or <c>[N, C, H, W]</c>. See <see cref="AdaptiveMaxPool"/>.</summary>
[Module]
public sealed partial class AdaptiveMaxPool2d : AdaptiveMaxPool
{
    /// <summary>Creates the layer.</summary>
    /// <param name="targetSize">The output's spatial size: one for all dims or one per dim.</param>
    public AdaptiveMaxPool2d(SpatialSize targetSize) : base(2, targetSize) { }
}

/// <summary>3-D adaptive max pooling (<c>torch.nn.AdaptiveMaxPool3d</c>): input <c>[C, D, H, W]</c> or <c>[N, C, D, H, W]</c>. See <see cref="AdaptiveMaxPool"/>.</summary>
[Module]
public sealed partial class AdaptiveMaxPool3d : AdaptiveMaxPool
{
    /// <summary>Creates the layer.</summary>
    /// <param name="targetSize">The output's spatial size: one for all dims or one per dim.</param>
    public AdaptiveMaxPool3d(SpatialSize targetSize) : base(3, targetSize) { }
}
