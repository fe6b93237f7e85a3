using System.Collections.Immutable;
using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>
/// Layer normalisation, as <c>torch.nn.LayerNorm</c> and Equinox's <c>eqx.nn.LayerNorm</c>: the trailing
/// <see cref="Shape"/> dimensions of the input are normalised to mean 0 and variance 1 (the biased variance, plus
/// <see cref="Eps"/>), then scaled by <see cref="Weight"/> and shifted by <see cref="Bias"/> elementwise. One example
/// is <c>[Shape...]</c>; leading batch dimensions <c>[..., Shape...]</c> are normalised independently.
/// </summary>
[Module]
public sealed partial class LayerNorm : ILayer
{
    /// <summary>The elementwise scale, shaped like <see cref="Shape"/> (ones at first), or null without <see cref="UseWeight"/>.</summary>
    public readonly Tensor? Weight;

    /// <summary>The elementwise shift, shaped like <see cref="Shape"/> (zeros at first), or null without <see cref="UseBias"/>.</summary>
    public readonly Tensor? Bias;

    /// <summary>The trailing dimensions normalised together.</summary>
    [Static] public readonly ImmutableArray<long> Shape;

    /// <summary>Added to the variance before its square root.</summary>
    [Static] public readonly double Eps;

    /// <summary>Whether the layer scales by <see cref="Weight"/>; a null weight is then a hole, not a missing option.</summary>
    [Static] public readonly bool UseWeight;

    /// <summary>Whether the layer shifts by <see cref="Bias"/>; a null bias is then a hole, not a missing option.</summary>
    [Static] public readonly bool UseBias;

    /// <summary>Normalises the last dimension, of size <paramref name="size"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The size is not positive, or eps is negative.</exception>
    public LayerNorm(int size, double eps = 1e-5, bool useWeight = true, bool useBias = true, DType dtype = DType.Float32)
        : this([size], eps, useWeight, useBias, dtype)
    {
    }

    /// <summary>Normalises the trailing dimensions <paramref name="shape"/> together.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The shape is empty or has a size that is not positive, or eps is negative.</exception>
    public LayerNorm(long[] shape, double eps = 1e-5, bool useWeight = true, bool useBias = true, DType dtype = DType.Float32)
    {
        Shape = NormShapes.Check(shape, nameof(shape));
        Eps = NormShapes.CheckEps(eps);
        Weight = useWeight ? Tensor.Ones(shape, dtype) : null;
        Bias = useBias ? Tensor.Zeros(shape, dtype) : null;
        UseWeight = useWeight;
        UseBias = useBias;
    }

    /// <summary>Normalises <c>[Shape...]</c> or <c>[..., Shape...]</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> does not end in <see cref="Shape"/>.</exception>
    /// <exception cref="TreeHoleException">The weight or bias the layer uses is null (a filtered tree).</exception>
    public Tensor Forward(Tensor x, Key? key = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (UseWeight && Weight is null) throw new TreeHoleException($"{nameof(LayerNorm)}.{nameof(Weight)}");
        if (UseBias && Bias is null) throw new TreeHoleException($"{nameof(LayerNorm)}.{nameof(Bias)}");
        if (!NormShapes.EndsWith(x, Shape))
            throw new ArgumentException($"LayerNorm({NormShapes.Format(Shape)}) expects inputs ending in {NormShapes.Format(Shape)}; got {x.Describe()}.", nameof(x));
        return Functional.LayerNorm(x, [.. Shape], UseWeight ? Weight : null, UseBias ? Bias : null, Eps);
    }
}

/// <summary>
/// Root-mean-square normalisation (Zhang and Sennrich, 2019), as Equinox's <c>eqx.nn.RMSNorm</c>:
/// <c>x / sqrt(mean(x²) + eps)</c> over the trailing <see cref="Shape"/> dimensions, then scaled by
/// <see cref="Weight"/> and, if <see cref="UseBias"/>, shifted by <see cref="Bias"/>. Unlike layer normalisation it
/// does not subtract the mean. One example is <c>[Shape...]</c>; leading batch dimensions are normalised independently.
/// </summary>
/// <remarks>The bias is off by default, as in <c>torch.nn.RMSNorm</c> (PyTorch 2.4) and most models that use it;
/// Equinox's default is on.</remarks>
[Module]
public sealed partial class RMSNorm : ILayer
{
    /// <summary>The elementwise scale, shaped like <see cref="Shape"/> (ones at first), or null without <see cref="UseWeight"/>.</summary>
    public readonly Tensor? Weight;

    /// <summary>The elementwise shift, shaped like <see cref="Shape"/> (zeros at first), or null without <see cref="UseBias"/>.</summary>
    public readonly Tensor? Bias;

    /// <summary>The trailing dimensions normalised together.</summary>
    [Static] public readonly ImmutableArray<long> Shape;

    /// <summary>Added to the mean square before its square root.</summary>
    [Static] public readonly double Eps;

    /// <summary>Whether the layer scales by <see cref="Weight"/>; a null weight is then a hole, not a missing option.</summary>
    [Static] public readonly bool UseWeight;

    /// <summary>Whether the layer shifts by <see cref="Bias"/>; a null bias is then a hole, not a missing option.</summary>
    [Static] public readonly bool UseBias;

    /// <summary>Normalises the last dimension, of size <paramref name="size"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The size is not positive, or eps is negative.</exception>
    public RMSNorm(int size, double eps = 1e-5, bool useWeight = true, bool useBias = false, DType dtype = DType.Float32)
        : this([size], eps, useWeight, useBias, dtype)
    {
    }

    /// <summary>Normalises the trailing dimensions <paramref name="shape"/> together.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The shape is empty or has a size that is not positive, or eps is negative.</exception>
    public RMSNorm(long[] shape, double eps = 1e-5, bool useWeight = true, bool useBias = false, DType dtype = DType.Float32)
    {
        Shape = NormShapes.Check(shape, nameof(shape));
        Eps = NormShapes.CheckEps(eps);
        Weight = useWeight ? Tensor.Ones(shape, dtype) : null;
        Bias = useBias ? Tensor.Zeros(shape, dtype) : null;
        UseWeight = useWeight;
        UseBias = useBias;
    }

    /// <summary>Normalises <c>[Shape...]</c> or <c>[..., Shape...]</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> does not end in <see cref="Shape"/>.</exception>
    /// <exception cref="TreeHoleException">The weight or bias the layer uses is null (a filtered tree).</exception>
    public Tensor Forward(Tensor x, Key? key = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (UseWeight && Weight is null) throw new TreeHoleException($"{nameof(RMSNorm)}.{nameof(Weight)}");
        if (UseBias && Bias is null) throw new TreeHoleException($"{nameof(RMSNorm)}.{nameof(Bias)}");
        if (!NormShapes.EndsWith(x, Shape))
            throw new ArgumentException($"RMSNorm({NormShapes.Format(Shape)}) expects inputs ending in {NormShapes.Format(Shape)}; got {x.Describe()}.", nameof(x));
        var dims = new long[Shape.Length];
        for (int i = 0; i < dims.Length; i++) dims[i] = i - dims.Length;
        using var meanSquare = x.Square().Mean(dims, keepdim: true);
        using var shifted = meanSquare + Eps;
        using var inverse = shifted.Rsqrt();
        var y = x * inverse;
        if (UseWeight) using (var unscaled = y) y = unscaled * Weight!;
        if (UseBias) using (var unshifted = y) y = unshifted + Bias!;
        return y;
    }
}

/// <summary>
/// Group normalisation (Wu and He, 2018), as <c>torch.nn.GroupNorm</c> and Equinox's <c>eqx.nn.GroupNorm</c>: the
/// channels are split into <see cref="Groups"/> groups, each group (with all spatial positions) is normalised to mean 0
/// and variance 1, then each channel is scaled and shifted by <see cref="Weight"/> and <see cref="Bias"/>. One example
/// is <c>[C, ...]</c> (as Equinox); a batch <c>[N, C, ...]</c> (as PyTorch) normalises each example on its own.
/// </summary>
/// <remarks>
/// An input whose first dimension is <see cref="Channels"/> is read as one example. A batch whose size equals the
/// number of channels therefore reads as one example; map over such a batch with <c>Eqx.FilterVmap</c> instead.
/// </remarks>
[Module]
public sealed partial class GroupNorm : ILayer
{
    /// <summary>The per-channel scale <c>[C]</c> (ones at first), or null without <see cref="ChannelwiseAffine"/>.</summary>
    public readonly Tensor? Weight;

    /// <summary>The per-channel shift <c>[C]</c> (zeros at first), or null without <see cref="ChannelwiseAffine"/>.</summary>
    public readonly Tensor? Bias;

    /// <summary>The number of groups; it divides <see cref="Channels"/>.</summary>
    [Static] public readonly int Groups;

    /// <summary>The number of channels, C.</summary>
    [Static] public readonly int Channels;

    /// <summary>Added to the variance before its square root.</summary>
    [Static] public readonly double Eps;

    /// <summary>Whether the layer has <see cref="Weight"/> and <see cref="Bias"/>.</summary>
    [Static] public readonly bool ChannelwiseAffine;

    /// <summary>Creates the layer; it has no random initialisation, so it takes no key.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, the groups do not divide the channels, or eps is negative.</exception>
    public GroupNorm(int groups, int channels, double eps = 1e-5, bool channelwiseAffine = true, DType dtype = DType.Float32)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(groups);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        if (channels % groups != 0)
            throw new ArgumentOutOfRangeException(nameof(groups), $"GroupNorm's {groups} groups must divide its {channels} channels.");
        Eps = NormShapes.CheckEps(eps);
        Weight = channelwiseAffine ? Tensor.Ones([channels], dtype) : null;
        Bias = channelwiseAffine ? Tensor.Zeros([channels], dtype) : null;
        Groups = groups;
        Channels = channels;
        ChannelwiseAffine = channelwiseAffine;
    }

    /// <summary>
    /// Normalises one example <c>[C, ...]</c>, as Equinox's layer. A batch <c>[N, C, ...]</c> goes through
    /// <see cref="ForwardBatch"/> (or FilterVmap): the two cannot be told apart by shape when N = C, so the layer does
    /// not guess.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> is not <c>[C, ...]</c>.</exception>
    /// <exception cref="TreeHoleException">The weight or bias is null (a filtered tree).</exception>
    public Tensor Forward(Tensor x, Key? key = null)
    {
        Check(x, batched: false);
        // LibTorch's group_norm wants a batch dimension.
        using var batch = x.Unsqueeze(0);
        using var y = Functional.GroupNorm(batch, Groups, Weight, Bias, Eps);
        return y.Squeeze(0);
    }

    /// <summary>Normalises each example of a batch <c>[N, C, ...]</c> (one LibTorch call).</summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> is not <c>[N, C, ...]</c>.</exception>
    /// <exception cref="TreeHoleException">The weight or bias is null (a filtered tree).</exception>
    public Tensor ForwardBatch(Tensor x)
    {
        Check(x, batched: true);
        return Functional.GroupNorm(x, Groups, Weight, Bias, Eps);
    }

    private void Check(Tensor x, bool batched)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (ChannelwiseAffine && Weight is null) throw new TreeHoleException($"{nameof(GroupNorm)}.{nameof(Weight)}");
        if (ChannelwiseAffine && Bias is null) throw new TreeHoleException($"{nameof(GroupNorm)}.{nameof(Bias)}");
        int axis = batched ? 1 : 0;
        if (x.Rank <= axis || x.Size(axis) != Channels)
            throw new ArgumentException(batched
                ? $"GroupNorm({Groups} groups, {Channels} channels).ForwardBatch expects a batch [N, {Channels}, ...]; got {x.Describe()}."
                : $"GroupNorm({Groups} groups, {Channels} channels) expects one example [{Channels}, ...]; got {x.Describe()}. For a batch [N, {Channels}, ...] call ForwardBatch.",
                nameof(x));
    }
}

// Checks and formatting the normalisation layers share.
internal static class NormShapes
{
    internal static ImmutableArray<long> Check(long[] shape, string name)
    {
        ArgumentNullException.ThrowIfNull(shape, name);
        if (shape.Length == 0 || shape.Any(s => s <= 0))
            throw new ArgumentOutOfRangeException(name, $"The normalised shape must be one or more positive sizes; got {Format(shape)}.");
        return [.. shape];
    }

    internal static double CheckEps(double eps) =>
        eps >= 0 ? eps : throw new ArgumentOutOfRangeException(nameof(eps), $"eps must be >= 0, got {eps}.");

    internal static bool EndsWith(Tensor x, ImmutableArray<long> shape)
    {
        if (x.Rank < shape.Length) return false;
        int offset = x.Rank - shape.Length;
        for (int i = 0; i < shape.Length; i++)
            if (x.Size(offset + i) != shape[i]) return false;
        return true;
    }

    internal static string Format(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";
}
