using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>
/// A lookup table: integer indices in, rows of <see cref="Weight"/> out, as <c>torch.nn.Embedding</c> and Equinox's
/// <c>eqx.nn.Embedding</c>. The indices may have any shape <c>[...]</c>; the result is <c>[..., EmbeddingSize]</c>.
/// </summary>
[Module]
public sealed partial class Embedding : ILayer
{
    /// <summary>The table, <c>[NumEmbeddings, EmbeddingSize]</c>: row i is the vector for index i.</summary>
    public readonly Tensor Weight;

    /// <summary>The number of rows: indices run from 0 to <c>NumEmbeddings - 1</c>.</summary>
    [Static] public readonly int NumEmbeddings;

    /// <summary>The length of each vector.</summary>
    [Static] public readonly int EmbeddingSize;

    /// <summary>A table drawn from the standard normal distribution, as PyTorch initialises it.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public Embedding(int numEmbeddings, int embeddingSize, Key key, DType dtype = DType.Float32)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numEmbeddings);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(embeddingSize);
        if (!dtype.IsFloatingPoint())
            throw new ArgumentException($"An embedding's table must be floating point; got {dtype.ShortName()}.", nameof(dtype));
        Weight = Tensor.Normal(key, [numEmbeddings, embeddingSize], dtype);
        NumEmbeddings = numEmbeddings;
        EmbeddingSize = embeddingSize;
    }

    /// <summary>A layer with the given table <c>[numEmbeddings, embeddingSize]</c> (e.g. pretrained vectors).</summary>
    /// <exception cref="ArgumentException">The table is not a floating-point matrix.</exception>
    public Embedding(Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 2 || !weight.DType.IsFloatingPoint())
            throw new ArgumentException($"An embedding's weight must be a floating-point [numEmbeddings, embeddingSize] table; got {weight.Describe()}.", nameof(weight));
        Weight = weight;
        NumEmbeddings = (int)weight.Size(0);
        EmbeddingSize = (int)weight.Size(1);
    }

    /// <summary>The rows of <see cref="Weight"/> at the integer indices <paramref name="x"/> (any shape).</summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> is not an integer tensor, or holds an index outside
    /// <c>[0, NumEmbeddings)</c>. LibTorch checks the indices on the CPU, at no extra cost, and the message names the
    /// first bad one; on CUDA a bad index is a device-side assertion, as in PyTorch.</exception>
    /// <exception cref="TreeHoleException">The weight is null (a filtered tree).</exception>
    public Tensor Forward(Tensor x, Key? key = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if ((object?)Weight is null) throw new TreeHoleException($"{nameof(Embedding)}.{nameof(Weight)}");
        if (x.DType is not (DType.Int64 or DType.Int32 or DType.Int16 or DType.Int8 or DType.UInt8))
            throw new ArgumentException($"{Describe()} expects integer indices; got {x.Describe()}.", nameof(x));
        // LibTorch's embedding takes i32 and i64 indices only.
        using var indices = x.DType is DType.Int64 or DType.Int32 ? x.Alias() : x.To(DType.Int64);
        try
        {
            return Functional.Embedding(Weight, indices);
        }
        catch (TorchException) when (FirstOutOfRange(indices) is { } bad)
        {
            throw new ArgumentException($"{Describe()} expects indices in [0, {NumEmbeddings}); got {bad} in {x.Describe()}.", nameof(x));
        }
    }

    // Runs only once LibTorch has refused the indices; null when it cannot tell (e.g. inside FilterVmap), so the
    // original error stands.
    private long? FirstOutOfRange(Tensor indices)
    {
        try
        {
            using var scope = Torch.Scope();
            using var noGrad = Torch.NoGrad();
            foreach (var i in indices.Flatten().To(DType.Int64).To(Device.Cpu).ToArray<long>())
                if (i < 0 || i >= NumEmbeddings) return i;
            return null;
        }
        catch (TorchException)
        {
            return null;
        }
    }

    private string Describe() => $"Embedding({NumEmbeddings}, {EmbeddingSize})";
}
