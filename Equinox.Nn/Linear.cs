using Equinox.Torch;

namespace Equinox.Nn;

/// <summary>
/// An affine map <c>y = x Wᵀ + b</c>, with PyTorch's layout (<see cref="Weight"/> is <c>[out, in]</c>) and
/// initialisation (uniform in ±1/√in for weight and bias). Works on one example <c>[in]</c> or a batch <c>[..., in]</c>.
/// </summary>
[Module]
public partial class Linear
{
    /// <summary>The weight, <c>[OutFeatures, InFeatures]</c>.</summary>
    public readonly Tensor Weight;

    /// <summary>The bias, <c>[OutFeatures]</c>, or null without one.</summary>
    public readonly Tensor? Bias;

    /// <summary>The size of each input.</summary>
    public readonly int InFeatures;

    /// <summary>The size of each output.</summary>
    public readonly int OutFeatures;

    /// <summary>A layer with fresh weights drawn from <paramref name="key"/>.</summary>
    public Linear(int inFeatures, int outFeatures, bool useBias = true, DType dtype = DType.Float32, Key key = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inFeatures);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outFeatures);
        var (weightKey, biasKey) = key.Split();
        double bound = 1 / Math.Sqrt(inFeatures);
        Weight = Tensor.Uniform(weightKey, [outFeatures, inFeatures], -bound, bound, dtype);
        Bias = useBias ? Tensor.Uniform(biasKey, [outFeatures], -bound, bound, dtype) : null;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
    }

    /// <summary>A layer with the given weight <c>[out, in]</c> and optional bias <c>[out]</c> (e.g. loaded ones).</summary>
    public Linear(Tensor weight, Tensor? bias = null)
    {
        if (weight.Rank != 2)
            throw new ArgumentException($"Linear's weight must be [out, in]; got {weight.Describe()}.", nameof(weight));
        if (bias is not null && (bias.Rank != 1 || bias.Size(0) != weight.Size(0)))
            throw new ArgumentException($"Linear's bias must be [{weight.Size(0)}] to match weight {weight.Describe()}; got {bias.Describe()}.", nameof(bias));
        Weight = weight;
        Bias = bias;
        OutFeatures = (int)weight.Size(0);
        InFeatures = (int)weight.Size(1);
    }

    /// <summary>Applies the layer to <c>[in]</c> or <c>[..., in]</c>.</summary>
    public Tensor Forward(Tensor x)
    {
        if (x.Rank == 0 || x.Size(-1) != InFeatures)
            throw new ArgumentException($"Linear({InFeatures} -> {OutFeatures}) expects inputs ending in {InFeatures}; got {x.Describe()}.", nameof(x));
        using var product = x.Matmul(Weight.T);
        return Bias is null ? product.Alias() : product + Bias;
    }
}
