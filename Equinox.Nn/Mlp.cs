using System.Collections.Immutable;
using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>
/// A multi-layer perceptron: <see cref="Depth"/> hidden layers of width <see cref="WidthSize"/>, the activation
/// after each hidden layer and the final activation after the last (identity by default), as Equinox's <c>MLP</c>.
/// </summary>
[Module]
public partial class Mlp : ILayer
{
    /// <summary>The layers, input first: <c>Depth + 1</c> of them.</summary>
    public readonly ImmutableArray<Linear> Layers;

    /// <summary>Applied after every hidden layer.</summary>
    [Static] public readonly Func<Tensor, Tensor> Activation;

    /// <summary>Applied after the output layer.</summary>
    [Static] public readonly Func<Tensor, Tensor> FinalActivation;

    /// <summary>The size of each input.</summary>
    public readonly int InSize;

    /// <summary>The size of each output.</summary>
    public readonly int OutSize;

    /// <summary>The size of each hidden layer.</summary>
    public readonly int WidthSize;

    /// <summary>The number of hidden layers.</summary>
    public readonly int Depth;

    /// <summary>Whether the hidden layers have biases (Equinox's <c>use_bias</c>).</summary>
    public readonly bool UseBias;

    /// <summary>Whether the output layer has a bias (Equinox's <c>use_final_bias</c>).</summary>
    public readonly bool UseFinalBias;

    /// <summary>
    /// An MLP with fresh weights drawn from <paramref name="key"/>. Pass activations from <see cref="Activations"/>
    /// (shared instances) so equal models have equal static parts.
    /// </summary>
    public Mlp(int inSize, int outSize, int widthSize, int depth, Key key, Func<Tensor, Tensor>? activation = null,
        Func<Tensor, Tensor>? finalActivation = null, DType dtype = DType.Float32, bool useBias = true, bool useFinalBias = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(depth);
        var keys = key.Split(depth + 1);
        var layers = ImmutableArray.CreateBuilder<Linear>(depth + 1);
        for (int i = 0; i <= depth; i++)
        {
            int input = i == 0 ? inSize : widthSize;
            int output = i == depth ? outSize : widthSize;
            layers.Add(new Linear(input, output, keys[i], useBias: i == depth ? useFinalBias : useBias, dtype: dtype));
        }
        Layers = layers.MoveToImmutable();
        Activation = activation ?? Activations.Relu;
        FinalActivation = finalActivation ?? Activations.Identity;
        InSize = inSize;
        OutSize = outSize;
        WidthSize = widthSize;
        Depth = depth;
        UseBias = useBias;
        UseFinalBias = useFinalBias;
    }

    /// <summary>Applies the network to <c>[InSize]</c> or <c>[..., InSize]</c>.</summary>
    /// <exception cref="TreeHoleException">A layer, or a tensor a layer needs, is null (a filtered tree).</exception>
    public Tensor Forward(Tensor x, Key? key = null)
    {
        // Check every layer before running any, so that the error names the slot from this model's root.
        if (Layers.IsDefault) throw new TreeHoleException($"{nameof(Mlp)}.{nameof(Layers)}");
        for (int i = 0; i < Layers.Length; i++)
        {
            if (Layers[i] is not { IsRunnable: true })
            {
                var where = $"{nameof(Mlp)}.{nameof(Layers)}[{i}]";
                if (Layers[i] is null) throw new TreeHoleException(where);
                Layers[i].CheckRunnable(where);
            }
        }
        var h = x;
        for (int i = 0; i < Layers.Length; i++)
        {
            var next = Layers[i].Forward(h);
            var activated = i < Layers.Length - 1 ? Activation(next) : FinalActivation(next);
            // Intermediates go at once (autograd keeps what it needs); an activation may return its input.
            if (!ReferenceEquals(activated, next)) next.Dispose();
            if (!ReferenceEquals(h, x)) h.Dispose();
            h = activated;
        }
        return h;
    }
}
