using System.Collections.Immutable;
using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>
/// Layers applied one after the other, as Equinox's <c>Sequential</c>. A key given to <see cref="Forward"/> is split
/// into one per layer, so random layers (Dropout) draw independently.
/// </summary>
[Module]
public sealed partial class Sequential : ILayer
{
    /// <summary>The layers, first applied first.</summary>
    public readonly ImmutableArray<ILayer> Layers;

    /// <summary>Creates the chain of <paramref name="layers"/>.</summary>
    /// <exception cref="ArgumentException">A layer is null.</exception>
    public Sequential(params ILayer[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        for (int i = 0; i < layers.Length; i++)
            if (layers[i] is null) throw new ArgumentException($"layers[{i}] is null; every entry must be a layer.", nameof(layers));
        Layers = [.. layers];
    }

    /// <summary>The layer at <paramref name="index"/>.</summary>
    public ILayer this[int index] => Layers[index];

    /// <summary>The number of layers.</summary>
    public int Count => Layers.IsDefault ? 0 : Layers.Length;

    /// <inheritdoc/>
    /// <exception cref="TreeHoleException">A layer is null (a filtered tree).</exception>
    public Tensor Forward(Tensor x, Key? key = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (Layers.IsDefault) throw new TreeHoleException($"{nameof(Sequential)}.{nameof(Layers)}");
        for (int i = 0; i < Layers.Length; i++)
            if (Layers[i] is null) throw new TreeHoleException($"{nameof(Sequential)}.{nameof(Layers)}[{i}]");
        var keys = key is { } k ? k.Split(Math.Max(Layers.Length, 1)) : null;
        var h = x;
        for (int i = 0; i < Layers.Length; i++)
        {
            var next = Layers[i].Forward(h, keys?[i]);
            // Intermediates go at once (autograd keeps what it needs); a layer may return its input.
            if (!ReferenceEquals(h, x) && !ReferenceEquals(next, h)) h.Dispose();
            h = next;
        }
        return ReferenceEquals(h, x) ? x.Alias() : h;
    }
}
