using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>
/// Rotary positional embedding (RoPE, from RoFormer), as Equinox's <c>nn.RotaryPositionalEmbedding</c>: the element
/// pairs <c>(i, i + E/2)</c> of the embedding at position <c>p</c> are rotated by the angle <c>p θ^(−2i/E)</c>. This
/// is the "rotate halves" layout Equinox (and GPT-NeoX, LLaMA in Hugging Face) uses, not the interleaved pairs
/// <c>(2i, 2i + 1)</c> of the paper: <c>y = x cos + rotateHalf(x) sin</c> with <c>rotateHalf(x) = [−x₂, x₁]</c>.
/// The dot product of a rotated query and key then depends on their positions only through the offset between them.
/// It has no parameters; the angles are computed in double precision and their cosines and sines rounded to
/// <see cref="DType"/>, as Equinox rounds its tables to its <c>dtype</c>.
/// </summary>
/// <remarks>
/// Positions run along the second-to-last dimension: one sequence is <c>[S, E]</c>, and leading dimensions
/// (<c>[heads, S, E]</c>, <c>[N, heads, S, E]</c>) share the positions. On the heads of
/// <see cref="MultiheadAttention"/>'s <c>processHeads</c> (<c>[S, heads, size]</c>), transpose the heads to the front first.
/// </remarks>
[Module]
public sealed partial class RotaryPositionalEmbedding : ILayer
{
    /// <summary>The size of each embedding (even).</summary>
    [Static] public readonly int EmbeddingSize;

    /// <summary>The base of the frequencies: pair <c>i</c> turns by <c>θ^(−2i/E)</c> radians per position.</summary>
    [Static] public readonly double Theta;

    /// <summary>The dtype the cosine and sine tables are rounded to.</summary>
    [Static] public readonly DType DType;

    /// <summary>Creates the layer; it has no random initialisation, so it takes no key.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative or odd <paramref name="embeddingSize"/>, or a <paramref name="theta"/> that is not positive.</exception>
    public RotaryPositionalEmbedding(int embeddingSize, double theta = 10_000, DType dtype = DType.Float32)
    {
        if (embeddingSize < 0 || embeddingSize % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(embeddingSize),
                $"RotaryPositionalEmbedding rotates pairs of elements, so embeddingSize must be even (and not negative); got {embeddingSize}.");
        if (!(theta > 0)) throw new ArgumentOutOfRangeException(nameof(theta), $"theta must be positive, got {theta}.");
        EmbeddingSize = embeddingSize;
        Theta = theta;
        DType = dtype;
    }

    /// <summary>Rotates <paramref name="x"/>, <c>[S, EmbeddingSize]</c> or <c>[..., S, EmbeddingSize]</c>, by position along dimension −2.</summary>
    /// <param name="x">The embeddings.</param>
    /// <param name="key">Ignored: the layer is deterministic.</param>
    /// <exception cref="ArgumentException"><paramref name="x"/> is not <c>[..., S, EmbeddingSize]</c>.</exception>
    public Tensor Forward(Tensor x, Key? key = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 2 || x.Size(-1) != EmbeddingSize)
            throw new ArgumentException(
                $"RotaryPositionalEmbedding({EmbeddingSize}) expects [S, {EmbeddingSize}] (or [..., S, {EmbeddingSize}]); got {x.Describe()}.", nameof(x));
        long half = EmbeddingSize / 2, length = x.Size(-2);
        var (cos, sin) = Tables(length, x.Device);
        var rotated = Tensor.Cat([-x.Narrow(-1, half, half), x.Narrow(-1, 0, half)], -1);
        var y = x * cos + rotated * sin;
        return y.DType == x.DType ? y : y.To(x.DType);
    }

    // cos and sin of position * frequency, [S, E], each half of the last dimension the same [S, E/2] table.
    private (Tensor Cos, Tensor Sin) Tables(long length, Device device)
    {
        var exponents = Tensor.Arange(0.0, EmbeddingSize, 2.0, DType.Float64, device) / EmbeddingSize;
        var frequencies = 1.0 / Tensor.Full([], Theta, DType.Float64, device).Pow(exponents);
        var positions = Tensor.Arange(0, length, 1, DType.Float64, device);
        var angles = positions.Unsqueeze(1) * frequencies.Unsqueeze(0);
        var cos = angles.Cos().To(DType);
        var sin = angles.Sin().To(DType);
        return (Tensor.Cat([cos, cos], -1), Tensor.Cat([sin, sin], -1));
    }
}
