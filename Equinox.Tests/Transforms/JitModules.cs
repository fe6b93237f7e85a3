using System.Collections.Immutable;
using Equinox.Tensors;

namespace Equinox.Tests.Transforms;

// Modules for the FilterJit and ErrorIf tests.

[Module]
public partial class JitLinear
{
    public readonly Tensor Weight;
    public readonly Tensor Bias;

    public JitLinear(Tensor weight, Tensor bias)
    {
        Weight = weight;
        Bias = bias;
    }

    public JitLinear(int inFeatures, int outFeatures, Key key)
    {
        Weight = Tensor.Normal(key, [outFeatures, inFeatures]) * (1.0 / Math.Sqrt(inFeatures));
        Bias = Tensor.Zeros(outFeatures);
    }

    public Tensor Forward(Tensor x) => x.Matmul(Weight.Transpose(0, 1)) + Bias;
}

[Module]
public partial class JitMlp
{
    public readonly ImmutableArray<JitLinear> Layers;
    [Static] public readonly Func<Tensor, Tensor> Activation;
    public readonly int Depth;

    public JitMlp(int inFeatures, int width, int outFeatures, int depth, Func<Tensor, Tensor> activation, Key key)
    {
        var keys = key.Split(depth + 1);
        var layers = ImmutableArray.CreateBuilder<JitLinear>();
        int fanIn = inFeatures;
        for (int i = 0; i < depth; i++)
        {
            layers.Add(new JitLinear(fanIn, width, keys[i]));
            fanIn = width;
        }
        layers.Add(new JitLinear(fanIn, outFeatures, keys[depth]));
        Layers = layers.ToImmutable();
        Activation = activation;
        Depth = depth;
    }

    public Tensor Forward(Tensor x)
    {
        for (int i = 0; i < Layers.Length - 1; i++) x = Activation(Layers[i].Forward(x));
        return Layers[^1].Forward(x);
    }
}
