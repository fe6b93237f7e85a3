using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>
/// A ReLU with a learnt slope for negative inputs, <c>x if x &gt; 0 else a·x</c>, as <c>torch.nn.PReLU</c> and
/// Equinox's <c>eqx.nn.PReLU</c>. By default one slope (<see cref="Weight"/> of shape <c>[1]</c>) serves every element
/// of any input. With <c>numParameters</c> = C &gt; 1 each channel has its own slope: one example is <c>[C, ...]</c>
/// and a batch <c>[N, C, ...]</c>, as <see cref="GroupNorm"/> reads them.
/// </summary>
[Module]
public sealed partial class PReLU : ILayer
{
    /// <summary>The slopes for negative inputs, <c>[NumParameters]</c>.</summary>
    public readonly Tensor Weight;

    /// <summary>The number of slopes: 1 (shared), or the number of channels.</summary>
    [Static] public readonly int NumParameters;

    /// <summary>A layer whose slopes all start at <paramref name="initAlpha"/> (PyTorch's and Equinox's 0.25).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numParameters"/> is not positive.</exception>
    public PReLU(double initAlpha = 0.25, int numParameters = 1, DType dtype = DType.Float32)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numParameters);
        Weight = Tensor.Full([numParameters], initAlpha, dtype);
        NumParameters = numParameters;
    }

    /// <summary>A layer with the given slopes <c>[numParameters]</c>.</summary>
    /// <exception cref="ArgumentException">The slopes are not a non-empty vector.</exception>
    public PReLU(Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 1 || weight.Size(0) == 0)
            throw new ArgumentException($"PReLU's weight must be a vector of one slope or one per channel; got {weight.Describe()}.", nameof(weight));
        Weight = weight;
        NumParameters = (int)weight.Size(0);
    }

    /// <summary>
    /// Applies the layer to any input (one shared slope), or to one example <c>[C, ...]</c> (a slope per channel). A
    /// batch <c>[N, C, ...]</c> with a slope per channel goes through <see cref="ForwardBatch"/> (or FilterVmap): the
    /// two cannot be told apart by shape when N = C, so the layer does not guess.
    /// </summary>
    /// <exception cref="ArgumentException">The layer has a slope per channel and <paramref name="x"/> is not <c>[C, ...]</c>.</exception>
    /// <exception cref="TreeHoleException">The weight is null (a filtered tree).</exception>
    public Tensor Forward(Tensor x, Key? key = null) => Apply(x, batched: false);

    /// <summary>Applies the layer to a batch <c>[N, C, ...]</c> (a slope per channel) or to any input (one shared slope).</summary>
    /// <exception cref="ArgumentException">The layer has a slope per channel and <paramref name="x"/> is not <c>[N, C, ...]</c>.</exception>
    /// <exception cref="TreeHoleException">The weight is null (a filtered tree).</exception>
    public Tensor ForwardBatch(Tensor x) => Apply(x, batched: true);

    private Tensor Apply(Tensor x, bool batched)
    {
        ArgumentNullException.ThrowIfNull(x);
        if ((object?)Weight is null) throw new TreeHoleException($"{nameof(PReLU)}.{nameof(Weight)}");
        using var positive = x > 0.0;
        if (NumParameters == 1)
        {
            using var slope = Weight.Reshape();
            using var scaled = x * slope;
            return Tensor.Where(positive, x, scaled);
        }
        int channelDim = batched ? 1 : 0;
        if (x.Rank <= channelDim || x.Size(channelDim) != NumParameters)
            throw new ArgumentException(batched
                ? $"PReLU({NumParameters} channels).ForwardBatch expects a batch [N, {NumParameters}, ...]; got {x.Describe()}."
                : $"PReLU({NumParameters} channels) expects one example [{NumParameters}, ...]; got {x.Describe()}. For a batch [N, {NumParameters}, ...] call ForwardBatch.",
                nameof(x));
        var shape = new long[x.Rank - channelDim];
        Array.Fill(shape, 1L);
        shape[0] = NumParameters;
        using var slopes = Weight.Reshape(shape);
        using var negative = x * slopes;
        return Tensor.Where(positive, x, negative);
    }
}
