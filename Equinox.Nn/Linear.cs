using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>
/// An affine map <c>y = x Wᵀ + b</c>, with PyTorch's layout (<see cref="Weight"/> is <c>[out, in]</c>) and
/// initialisation (uniform in ±1/√in for weight and bias). Works on one example <c>[in]</c> or a batch <c>[..., in]</c>.
/// <see cref="Scalar"/> as the input or output size takes or gives a 0-dim tensor (Equinox's <c>"scalar"</c>).
/// </summary>
[Module]
public partial class Linear : ILayer
{
    /// <summary>
    /// Pass as <c>inFeatures</c> or <c>outFeatures</c> for a scalar input or output (Equinox's <c>"scalar"</c>): the
    /// layer then takes <c>[]</c> (or <c>[...]</c> batched) and stores a size-1 dimension in the weight.
    /// </summary>
    public const int Scalar = -1;

    /// <summary>The weight, <c>[OutFeatures, InFeatures]</c>.</summary>
    public readonly Tensor Weight;

    /// <summary>The bias, <c>[OutFeatures]</c>, or null without one (<see cref="UseBias"/> false).</summary>
    public readonly Tensor? Bias;

    /// <summary>The size of each input, or <see cref="Scalar"/>.</summary>
    public readonly int InFeatures;

    /// <summary>The size of each output, or <see cref="Scalar"/>.</summary>
    public readonly int OutFeatures;

    /// <summary>
    /// Whether the layer adds <see cref="Bias"/>. Part of the static structure, like Equinox's <c>use_bias</c>, so that a
    /// null bias left by <c>Eqx.Partition</c> is an error when the layer runs rather than a layer without a bias.
    /// </summary>
    public readonly bool UseBias;

    /// <summary>A layer with fresh weights drawn from <paramref name="key"/> (required: two layers never share weights by accident).</summary>
    public Linear(int inFeatures, int outFeatures, Key key, bool useBias = true, DType dtype = DType.Float32)
    {
        if (inFeatures <= 0 && inFeatures != Scalar)
            throw new ArgumentOutOfRangeException(nameof(inFeatures), $"inFeatures must be positive or Linear.Scalar, got {inFeatures}.");
        if (outFeatures <= 0 && outFeatures != Scalar)
            throw new ArgumentOutOfRangeException(nameof(outFeatures), $"outFeatures must be positive or Linear.Scalar, got {outFeatures}.");
        int inSize = Math.Max(inFeatures, 1), outSize = Math.Max(outFeatures, 1);
        var (weightKey, biasKey) = key.Split();
        double bound = 1 / Math.Sqrt(inSize);
        Weight = Tensor.Uniform(weightKey, [outSize, inSize], -bound, bound, dtype);
        Bias = useBias ? Tensor.Uniform(biasKey, [outSize], -bound, bound, dtype) : null;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        UseBias = useBias;
    }

    /// <summary>
    /// A layer with the given weight <c>[out, in]</c> and optional bias <c>[out]</c> (e.g. loaded ones); it uses a
    /// bias exactly when one is given.
    /// </summary>
    public Linear(Tensor weight, Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 2)
            throw new ArgumentException($"Linear's weight must be [out, in]; got {weight.Describe()}.", nameof(weight));
        if (bias is not null && (bias.Rank != 1 || bias.Size(0) != weight.Size(0)))
            throw new ArgumentException($"Linear's bias must be [{weight.Size(0)}] to match weight {weight.Describe()}; got {bias.Describe()}.", nameof(bias));
        Weight = weight;
        Bias = bias;
        OutFeatures = (int)weight.Size(0);
        InFeatures = (int)weight.Size(1);
        UseBias = bias is not null;
    }

    /// <summary>Applies the layer to <c>[in]</c> or <c>[..., in]</c> (<c>[]</c> or <c>[...]</c> for a scalar input).</summary>
    /// <exception cref="TreeHoleException">The weight, or the bias of a layer that uses one, is null (a filtered tree).</exception>
    public Tensor Forward(Tensor x, Key? key = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (!IsRunnable) CheckRunnable(nameof(Linear));
        if (InFeatures == Scalar)
        {
            using var column = x.Unsqueeze(-1);
            return Finish(Functional.Linear(column, Weight, UseBias ? Bias : null));
        }
        if (x.Rank == 0 || x.Size(-1) != InFeatures)
            throw new ArgumentException($"{Describe()} expects inputs ending in {InFeatures}; got {x.Describe()}.", nameof(x));
        return Finish(Functional.Linear(x, Weight, UseBias ? Bias : null));
    }

    private Tensor Finish(Tensor y)
    {
        if (OutFeatures != Scalar) return y;
        using (y) return y.Squeeze(-1);
    }

    private string Describe() =>
        $"Linear({(InFeatures == Scalar ? "scalar" : InFeatures)} -> {(OutFeatures == Scalar ? "scalar" : OutFeatures)})";

    // The cheap test; CheckRunnable builds the message only when it fails.
    internal bool IsRunnable => (object?)Weight is not null && UseBias == Bias is not null;

    /// <summary>
    /// Throws if the layer cannot run as it is: a hole where it needs a tensor, or a bias it would ignore.
    /// <paramref name="where"/> names the layer in the message (<c>Linear</c>, or <c>Mlp.Layers[0]</c> from a model).
    /// </summary>
    internal void CheckRunnable(string where)
    {
        // Weight is declared non-null, but Filter, Partition, TreeAt and Unflatten can leave a hole in any slot.
        if ((object?)Weight is null) throw new TreeHoleException($"{where}.{nameof(Weight)}");
        if (UseBias && Bias is null) throw new TreeHoleException($"{where}.{nameof(Bias)}");
        if (!UseBias && Bias is not null)
            throw new InvalidOperationException(
                $"{where}.{nameof(Bias)} holds {Bias.Describe()}, but the layer was built without a bias (UseBias is false), " +
                "so the bias would be ignored. Build the layer with it instead: new Linear(weight, bias).");
    }
}
