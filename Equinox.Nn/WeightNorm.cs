using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>
/// Weight normalisation (Salimans and Kingma, 2016) of one weight of a layer, as Equinox's <c>eqx.nn.WeightNorm</c>
/// and <c>torch.nn.utils.weight_norm</c>: the weight is trained as a direction <c>v</c> (kept in the wrapped
/// <see cref="Layer"/>, where the weight was) and a magnitude <see cref="G"/>, and each call runs the layer with
/// <c>G · v / ‖v‖</c>, the norm taken over every axis but <see cref="Axis"/>. <c>new WeightNorm&lt;Linear&gt;(linear)</c>
/// gives each output neuron its own magnitude.
/// </summary>
/// <typeparam name="T">The wrapped layer's type (Linear, a convolution, or any layer with a tensor weight).</typeparam>
[Module]
public sealed partial class WeightNorm<T> : ILayer where T : ILayer
{
    /// <summary>The wrapped layer; its weight slot holds the direction <c>v</c>.</summary>
    public readonly T Layer;

    /// <summary>The magnitude: <c>‖v‖</c> at first, shaped like the weight with size 1 in every normalised axis.</summary>
    public readonly Tensor G;

    /// <summary>The name of the layer's weight field (<c>"Weight"</c> by default).</summary>
    [Static] public readonly string WeightName;

    /// <summary>The axis the norm is not taken over (0: one magnitude per output), or null for one norm of the whole weight.</summary>
    [Static] public readonly int? Axis;

    /// <summary>Wraps <paramref name="layer"/>: its weight becomes the direction and <see cref="G"/> starts at its norm, so the
    /// wrapped layer computes what <paramref name="layer"/> did.</summary>
    /// <exception cref="ArgumentException">The layer has no tensor named <paramref name="weightName"/>, or <paramref name="axis"/> is not one of its axes.</exception>
    public WeightNorm(T layer, string weightName = "Weight", int? axis = 0)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(weightName);
        var path = new TreePath(TreeStep.Member(weightName));
        object? found;
        try
        {
            found = Eqx.TreeGet(layer, path);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"WeightNorm cannot find a weight named '{weightName}' in {typeof(T).Name}: {e.Message}", nameof(weightName), e);
        }
        if (found is not Tensor v)
            throw new ArgumentException($"WeightNorm needs {typeof(T).Name}.{weightName} to be a tensor; it is {(found is null ? "null" : found.GetType().Name)}.", nameof(weightName));
        if (axis is int a && (a < -v.Rank || a >= v.Rank))
            throw new ArgumentException($"WeightNorm's axis {a} is not an axis of {typeof(T).Name}.{weightName}, {v.Describe()}.", nameof(axis));
        int? normalised = axis is int b && b < 0 ? b + v.Rank : axis;
        using (Torch.NoGrad()) G = Norm(v, normalised);
        Layer = layer;
        WeightName = weightName;
        Axis = normalised;
    }

    /// <summary>The weight the layer runs with: <c>G · v / ‖v‖</c>.</summary>
    /// <exception cref="TreeHoleException">The layer, its weight or <see cref="G"/> is null (a filtered tree).</exception>
    public Tensor Weight()
    {
        if (Layer is null) throw new TreeHoleException($"WeightNorm.{nameof(Layer)}");
        if ((object?)G is null) throw new TreeHoleException($"WeightNorm.{nameof(G)}");
        if (Eqx.TreeGet(Layer, new TreePath(TreeStep.Member(WeightName))) is not Tensor v)
            throw new TreeHoleException($"WeightNorm.{nameof(Layer)}.{WeightName}");
        using var norm = Norm(v, Axis);
        using var direction = v / norm;
        return direction * G;
    }

    /// <summary>Runs the layer with the normalised weight.</summary>
    /// <exception cref="TreeHoleException">The layer, its weight or <see cref="G"/> is null (a filtered tree).</exception>
    public Tensor Forward(Tensor x, Key? key = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        var layer = Eqx.TreeAt(Layer, new TreePath(TreeStep.Member(WeightName)), Weight());
        return layer.Forward(x, key);
    }

    // The 2-norm over every axis but `axis` (all of them when null), keeping the dimensions.
    private static Tensor Norm(Tensor v, int? axis)
    {
        var dims = Enumerable.Range(0, v.Rank).Where(d => d != axis).Select(d => (long)d).ToArray();
        using var squares = v.Square();
        using var sum = dims.Length == 0 ? squares.Alias() : squares.Sum(dims, keepdim: true);
        return sum.Sqrt();
    }
}
