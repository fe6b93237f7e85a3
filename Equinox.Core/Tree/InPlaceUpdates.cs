using Equinox.Tensors;

namespace Equinox;

/// <summary>
/// Where <see cref="Eqx.ApplyUpdates{T}"/> may write updates into the model's own memory instead of adding them out
/// of place. The tree layer only defines this seam; a transformation that owns some tensors for the length of a call
/// (FilterJit's donation) installs a sink on its thread with <see cref="InPlaceUpdates.Install"/>, so the tree code never depends on
/// the transformations built above it.
/// </summary>
internal interface IInPlaceUpdateSink
{
    /// <summary>
    /// Whether <c>leaf + delta</c> may be written into <paramref name="leaf"/>'s memory (the shape is already checked
    /// by ApplyUpdates); <paramref name="gradEnabled"/> is whether grad mode is on.
    /// </summary>
    bool CanAddInPlace(Tensor leaf, Tensor delta, bool gradEnabled);

    /// <summary>Adds <c>deltas[i]</c> into <c>leaves[i]</c> (each passed by <see cref="CanAddInPlace"/>) and returns the updated tensors.</summary>
    Tensor[] AddInPlace(Tensor[] leaves, Tensor[] deltas);

    /// <summary>
    /// Whether <paramref name="tensor"/> was given to this call to consume and needs no gradient, so its memory may be
    /// overwritten (an optimiser's state, updated in place). Follow every overwrite with <see cref="Rehandle"/>.
    /// </summary>
    bool CanOverwrite(Tensor tensor);

    /// <summary>
    /// <paramref name="tensor"/>, which was overwritten in place, under a new handle for the returned tree; the old
    /// handle ends disposed, so a stale tree fails loudly instead of reading new values.
    /// </summary>
    Tensor Rehandle(Tensor tensor);
}

/// <summary>The <see cref="IInPlaceUpdateSink"/> in force on each thread.</summary>
internal static class InPlaceUpdates
{
    [ThreadStatic] private static IInPlaceUpdateSink? current;

    /// <summary>The sink in force on this thread, or null: updates are then added out of place.</summary>
    internal static IInPlaceUpdateSink? Current => current;

    /// <summary>
    /// Makes <paramref name="sink"/> (null: none) the sink on this thread until the result is disposed, which restores
    /// the one it replaced. A nested call installs its own, so an inner step never writes into tensors its caller did
    /// not give it.
    /// </summary>
    internal static Scope Install(IInPlaceUpdateSink? sink)
    {
        var previous = current;
        current = sink;
        return new Scope(previous);
    }

    /// <summary>
    /// Whether in-place updates are safe for a model with these leaves: not when one tensor object fills two slots,
    /// since the second update would then start from the first one's result.
    /// </summary>
    internal static bool AllDistinct(Tensor?[] leaves)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var leaf in leaves) if (leaf is not null && !seen.Add(leaf)) return false;
        return true;
    }

    /// <summary>Restores the sink that <see cref="Install"/> replaced.</summary>
    internal readonly struct Scope(IInPlaceUpdateSink? previous) : IDisposable
    {
        public void Dispose() => current = previous;
    }
}
