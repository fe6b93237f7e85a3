using Equinox.Tensors;

namespace Equinox.Benchmarks;

// The modules the trees benchmark walks: a model of blocks, each two dense layers and a scale (5 leaves a block).

[Module]
public sealed partial class BenchDense
{
    public readonly Tensor Weight;
    public readonly Tensor? Bias;
    public readonly int InFeatures;
    public readonly int OutFeatures;

    public BenchDense(Tensor weight, Tensor? bias, int inFeatures, int outFeatures)
    {
        Weight = weight;
        Bias = bias;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
    }
}

[Module]
public sealed partial class BenchBlock
{
    public readonly BenchDense First;
    public readonly BenchDense Second;
    public readonly Tensor Scale;
    public readonly float Dropout;

    public BenchBlock(BenchDense first, BenchDense second, Tensor scale, float dropout)
    {
        First = first;
        Second = second;
        Scale = scale;
        Dropout = dropout;
    }
}

[Module]
public sealed partial class BenchModel
{
    public readonly BenchBlock[] Blocks;
    public readonly string Name;

    public BenchModel(BenchBlock[] blocks, string name)
    {
        Blocks = blocks;
        Name = name;
    }

    public const int LeavesPerBlock = 5;

    /// <summary>A model with <paramref name="leaves"/> tensor leaves (a multiple of 5), all sharing one small tensor's storage.</summary>
    public static BenchModel WithLeaves(int leaves)
    {
        var blocks = new BenchBlock[leaves / LeavesPerBlock];
        for (int i = 0; i < blocks.Length; i++)
        {
            blocks[i] = new BenchBlock(
                new BenchDense(Tensor.Zeros(1), Tensor.Zeros(1), 4, 4),
                new BenchDense(Tensor.Zeros(1), Tensor.Zeros(1), 4, 4),
                Tensor.Ones(1), 0.1f);
        }
        return new BenchModel(blocks, "bench");
    }
}
