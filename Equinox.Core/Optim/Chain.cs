using System.Collections.Immutable;

namespace Equinox.Optim;

/// <summary>
/// Several transformations applied one after the other, as Optax's <c>chain</c>: the updates of each are the
/// gradients of the next. <c>new Chain(new ClipByGlobalNorm(1), new AdamW(1e-3))</c> clips, then runs AdamW.
/// </summary>
public sealed class Chain : IGradientTransformation
{
    private readonly IGradientTransformation[] parts;

    /// <summary>Creates the chain.</summary>
    /// <exception cref="ArgumentException">No parts, or a null one.</exception>
    public Chain(params IGradientTransformation[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Length == 0) throw new ArgumentException("A chain needs at least one transformation.", nameof(parts));
        for (int i = 0; i < parts.Length; i++)
            if (parts[i] is null) throw new ArgumentException($"parts[{i}] is null.", nameof(parts));
        this.parts = [.. parts];
    }

    /// <summary>The transformations, in the order they apply.</summary>
    public IReadOnlyList<IGradientTransformation> Parts => parts;

    /// <inheritdoc/>
    public OptimizerState<T> Init<T>(T parameters) where T : class, ITreeNode
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var states = parts.Select(p => p.Init(parameters)).ToImmutableArray();
        return new OptimizerState<T>(nameof(Chain), Optimizer.NewCount(Eqx.Flatten(parameters)), ImmutableDictionary<string, T>.Empty, states);
    }

    /// <inheritdoc/>
    public (T Updates, OptimizerState<T> State) Update<T>(T gradients, OptimizerState<T> state, T? parameters = null)
        where T : class, ITreeNode
    {
        Optimizer.CheckOwner(nameof(Chain), state, []);
        if (state.Parts.Length != parts.Length)
            throw new ArgumentException($"Chain.Update: the state has {state.Parts.Length} parts but the chain has {parts.Length}; build the state with this chain's Init.", nameof(state));
        var updates = gradients;
        var states = ImmutableArray.CreateBuilder<OptimizerState<T>>(parts.Length);
        for (int i = 0; i < parts.Length; i++)
        {
            var (next, partState) = parts[i].Update(updates, state.Parts[i], parameters);
            updates = next;
            states.Add(partState);
        }
        return (updates, new OptimizerState<T>(state.Owner, state.Count + 1L, state.Slots, states.MoveToImmutable()));
    }

    /// <inheritdoc/>
    public override string ToString() => $"Chain({string.Join(", ", parts.Select(p => p.ToString()))})";
}
