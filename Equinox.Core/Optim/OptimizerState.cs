using System.Collections.Immutable;
using Equinox.Tensors;

namespace Equinox.Optim;

/// <summary>
/// What a gradient transformation carries from one step to the next, as a tree: the step count, one tree of per-leaf
/// slots per moment (Adam's <c>mu</c> and <c>nu</c>, each shaped like the parameters, with holes where a leaf is not
/// optimised) and the states of the parts of a <see cref="Chain"/>. Being a [Module], it is flattened, jitted,
/// donated (<c>Donate.Arg2</c>), moved between devices and saved like any model.
/// </summary>
/// <typeparam name="T">The type of the parameter tree it was built for.</typeparam>
[Module]
public sealed partial class OptimizerState<T> where T : class, ITreeNode
{
    /// <summary>The number of updates made, as a 0-dim int64 tensor (so a captured step reads it on the device).</summary>
    public readonly Tensor Count;

    /// <summary>Per-leaf slots by name, each a tree shaped like the parameters (a hole where a leaf has no slot).</summary>
    public readonly ImmutableDictionary<string, T> Slots;

    /// <summary>The states of a chain's parts, in order; empty for a single transformation.</summary>
    public readonly ImmutableArray<OptimizerState<T>> Parts;

    /// <summary>The transformation that built this state (its <c>ToString</c>), to catch a state given to another.</summary>
    [Static] public readonly string Owner;

    /// <summary>Creates a state; transformations build theirs in <see cref="IGradientTransformation.Init{T}"/>.</summary>
    public OptimizerState(string owner, Tensor count, ImmutableDictionary<string, T> slots, ImmutableArray<OptimizerState<T>> parts)
    {
        Owner = owner;
        Count = count;
        Slots = slots;
        Parts = parts;
    }

    /// <summary>The slot tree named <paramref name="name"/> (<c>"mu"</c>, <c>"nu"</c>, ...).</summary>
    /// <exception cref="KeyNotFoundException">This state has no such slot.</exception>
    public T Slot(string name) => Slots.TryGetValue(name, out var slot) ? slot
        : throw new KeyNotFoundException($"{Owner}'s state has no slot '{name}'; it has: {(Slots.IsEmpty ? "none" : string.Join(", ", Slots.Keys.Order()))}.");
}
