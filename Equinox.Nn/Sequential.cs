using System.Collections.Immutable;
using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>
/// Layers applied one after the other, as Equinox's <c>Sequential</c>: any <see cref="ILayer"/> or
/// <see cref="IStatefulLayer"/>. A key given to <c>Forward</c> is split into one per layer, so random layers (Dropout)
/// draw independently. With stateful layers, call the overload that takes and returns a <see cref="State"/>.
/// </summary>
[Module]
public sealed partial class Sequential : ILayer, IStatefulLayer
{
    /// <summary>The layers, first applied first: each an <see cref="ILayer"/> or an <see cref="IStatefulLayer"/>.</summary>
    public readonly ImmutableArray<ITreeNode> Layers;

    /// <summary>Creates the chain of <paramref name="layers"/>, each an <see cref="ILayer"/> or an <see cref="IStatefulLayer"/>.</summary>
    /// <exception cref="ArgumentException">A layer is null or neither kind.</exception>
    public Sequential(params ITreeNode[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        for (int i = 0; i < layers.Length; i++)
        {
            if (layers[i] is null) throw new ArgumentException($"layers[{i}] is null; every entry must be a layer.", nameof(layers));
            if (layers[i] is not (ILayer or IStatefulLayer))
                throw new ArgumentException($"layers[{i}] is a {layers[i].GetType().Name}, which is not a layer: implement ILayer (or IStatefulLayer).", nameof(layers));
        }
        Layers = [.. layers];
    }

    /// <summary>The layer at <paramref name="index"/>.</summary>
    public ITreeNode this[int index] => Layers[index];

    /// <summary>The number of layers.</summary>
    public int Count => Layers.IsDefault ? 0 : Layers.Length;

    /// <inheritdoc/>
    /// <exception cref="TreeHoleException">A layer is null (a filtered tree).</exception>
    /// <exception cref="InvalidOperationException">A layer is stateful: call the overload that takes a State.</exception>
    public Tensor Forward(Tensor x, Key? key = null) => Run(x, null, key).Output;

    /// <inheritdoc/>
    /// <exception cref="TreeHoleException">A layer is null (a filtered tree).</exception>
    public (Tensor Output, State State) Forward(Tensor x, State state, Key? key = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        var (output, next) = Run(x, state, key);
        return (output, next!);
    }

    private (Tensor Output, State? State) Run(Tensor x, State? state, Key? key)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (Layers.IsDefault) throw new TreeHoleException($"{nameof(Sequential)}.{nameof(Layers)}");
        for (int i = 0; i < Layers.Length; i++)
        {
            if (Layers[i] is null) throw new TreeHoleException($"{nameof(Sequential)}.{nameof(Layers)}[{i}]");
            if (state is null && Layers[i] is IStatefulLayer and not ILayer)
                throw new InvalidOperationException(
                    $"Sequential.Layers[{i}] ({Layers[i].GetType().Name}) is stateful: call Forward(x, state), with the state from Eqx.MakeWithState(model).");
        }
        var keys = key is { } k ? k.Split(Math.Max(Layers.Length, 1)) : null;
        var h = x;
        for (int i = 0; i < Layers.Length; i++)
        {
            Tensor next;
            if (state is not null && Layers[i] is IStatefulLayer stateful) (next, state) = stateful.Forward(h, state, keys?[i]);
            else next = ((ILayer)Layers[i]).Forward(h, keys?[i]);
            // Intermediates go at once (autograd keeps what it needs); a layer may return its input.
            if (!ReferenceEquals(h, x) && !ReferenceEquals(next, h)) h.Dispose();
            h = next;
        }
        return (ReferenceEquals(h, x) ? x.Alias() : h, state);
    }
}
