using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using Equinox.Tensors;

namespace Equinox;

/// <summary>
/// Marks where a stateful layer keeps values that change as it runs (BatchNorm's running statistics, SpectralNorm's
/// power-iteration vectors), as Equinox's <c>nn.StateIndex</c>. The layer stores the index; the values live in a
/// <see cref="State"/> built by <see cref="Eqx.MakeWithState{T}"/>, which also takes the initial values out of the
/// model (so they are neither trained nor saved twice) and names the index after its path in the model.
/// </summary>
[Module]
public sealed partial class StateIndex
{
    /// <summary>The initial values; empty once <see cref="Eqx.MakeWithState{T}"/> has moved them into a State.</summary>
    public readonly ImmutableArray<Tensor> Initial;

    /// <summary>The index's name in its State (its path in the model), or null before <see cref="Eqx.MakeWithState{T}"/>.</summary>
    [Static] public readonly string? Name;

    /// <summary>An index whose state starts at <paramref name="initial"/>.</summary>
    /// <exception cref="ArgumentException">No value, or a null one.</exception>
    public StateIndex(params Tensor[] initial)
    {
        ArgumentNullException.ThrowIfNull(initial);
        if (initial.Length == 0) throw new ArgumentException("A StateIndex needs at least one initial tensor.", nameof(initial));
        for (int i = 0; i < initial.Length; i++)
            if (initial[i] is null) throw new ArgumentException($"initial[{i}] is null; every initial value must be a tensor.", nameof(initial));
        Initial = [.. initial];
    }

    private StateIndex(string name)
    {
        Initial = [];
        Name = name;
    }

    internal StateIndex Named(string name) => new(name);
}

/// <summary>One index's values in a <see cref="State"/>.</summary>
[Module]
public sealed partial class StateEntry
{
    /// <summary>The values, in the order the layer gave them.</summary>
    public readonly ImmutableArray<Tensor> Values;

    /// <summary>Wraps <paramref name="values"/>.</summary>
    public StateEntry(ImmutableArray<Tensor> values) => Values = values;
}

/// <summary>
/// The values of a model's stateful layers, by <see cref="StateIndex"/>, as Equinox's <c>nn.State</c>. It is a tree:
/// it jits, is donated, moves between devices and is saved like a model. <see cref="Set"/> returns a new State and
/// retires this one: using a superseded State is an error, since it would silently run on stale statistics.
/// </summary>
[Module]
public sealed partial class State
{
    // States that Set has replaced. A side table, not a field: the tree's static part must not change when a state is
    // retired, or FilterJit would see a new structure on every step.
    private static readonly ConditionalWeakTable<State, object> Superseded = new();

    /// <summary>The entries, by index name (the index's path in the model).</summary>
    public readonly ImmutableDictionary<string, StateEntry> Entries;

    /// <summary>A state with these entries; <see cref="Eqx.MakeWithState{T}"/> builds the first one.</summary>
    public State(ImmutableDictionary<string, StateEntry> entries) =>
        Entries = entries ?? throw new ArgumentNullException(nameof(entries));

    /// <summary>The values stored for <paramref name="index"/>.</summary>
    /// <exception cref="InvalidOperationException">This state was superseded, or the index was never registered.</exception>
    public ImmutableArray<Tensor> Get(StateIndex index) => Entry(index, nameof(Get)).Values;

    /// <summary>
    /// A new State with <paramref name="values"/> stored for <paramref name="index"/>; this one is retired. Each value
    /// must have the shape and dtype of the one it replaces.
    /// </summary>
    /// <exception cref="InvalidOperationException">This state was superseded, or the index was never registered.</exception>
    /// <exception cref="ArgumentException">The values do not match the stored ones in number, shape or dtype.</exception>
    public State Set(StateIndex index, params Tensor[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var old = Entry(index, nameof(Set)).Values;
        if (values.Length != old.Length)
            throw new ArgumentException($"State.Set: {index.Name} holds {old.Length} values; got {values.Length}.", nameof(values));
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] is null) throw new ArgumentException($"State.Set: values[{i}] is null.", nameof(values));
            if (values[i].DType != old[i].DType || values[i].Shape != old[i].Shape)
                throw new ArgumentException(
                    $"State.Set: value {i} of {index.Name} is {old[i].Describe()}, but the new one is {values[i].Describe()}; a state keeps its shapes and dtypes.",
                    nameof(values));
        }
        var next = new State(Entries.SetItem(index.Name!, new StateEntry([.. values])));
        Superseded.AddOrUpdate(this, next);
        return next;
    }

    private StateEntry Entry(StateIndex index, string operation)
    {
        ArgumentNullException.ThrowIfNull(index);
        if (Superseded.TryGetValue(this, out _))
            throw new InvalidOperationException(
                $"State.{operation}: this State was superseded: a stateful layer already returned a newer one from it. " +
                "Use the State each layer returns (`(y, state) = layer.Forward(x, state)`), not an earlier one.");
        if (index.Name is null)
            throw new InvalidOperationException(
                $"State.{operation}: this StateIndex has no State yet. Build the model's state first: `var (model, state) = Eqx.MakeWithState(model);`.");
        if (!Entries.TryGetValue(index.Name, out var entry))
            throw new InvalidOperationException(
                $"State.{operation}: this State has no entry '{index.Name}'; it was made for another model. " +
                $"It has: {(Entries.IsEmpty ? "none" : string.Join(", ", Entries.Keys.Order()))}.");
        return entry;
    }
}

public static partial class Eqx
{
    /// <summary>
    /// Splits <paramref name="model"/> into the model its stateful layers run with and their initial
    /// <see cref="State"/>, as Equinox's <c>nn.make_with_state</c>: every <see cref="StateIndex"/> in the model is
    /// named after its path and emptied, and its initial values start the State.
    /// </summary>
    /// <exception cref="InvalidOperationException">An index was already emptied by an earlier call.</exception>
    public static (T Model, State State) MakeWithState<T>(T model) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(model);
        var found = new List<(TreePath Path, StateIndex Index)>();
        TreeWalk.Walk(model, TreePath.Root, (place, node) =>
        {
            if (node is StateIndex index) found.Add((place.Path, index));
        });
        var entries = ImmutableDictionary.CreateBuilder<string, StateEntry>();
        object result = model;
        foreach (var (path, index) in found)
        {
            var name = path.ToString();
            if (index.Name is not null)
                throw new InvalidOperationException(
                    $"MakeWithState: the StateIndex at {name} already gave its initial values to a State (as '{index.Name}'); " +
                    "call MakeWithState once, on the freshly built model.");
            entries[name] = new StateEntry(index.Initial);
            result = TreeSelector.Replace(result, path, _ => index.Named(name))!;
        }
        return ((T)result, new State(entries.ToImmutable()));
    }
}
