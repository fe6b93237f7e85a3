namespace Equinox;

/// <summary>A list child (array, <c>ImmutableArray</c>, <c>IReadOnlyList</c>) as seen by an <see cref="ITreeVisitor"/>.</summary>
public sealed class TreeList
{
    internal TreeList(IReadOnlyList<object?> items, bool holdsTensors)
    {
        Items = items;
        HoldsTensors = holdsTensors;
    }

    /// <summary>Whether the elements are tensor slots (so a null element is a filtered-out leaf).</summary>
    public bool HoldsTensors { get; }

    /// <summary>The elements: tensors, modules or nulls.</summary>
    public IReadOnlyList<object?> Items { get; }
}

/// <summary>A dictionary child as seen by an <see cref="ITreeVisitor"/>: its entries in ordinal key order.</summary>
public sealed class TreeDictionary
{
    internal TreeDictionary(KeyValuePair<string, object?>[] entries, bool holdsTensors)
    {
        Entries = entries;
        HoldsTensors = holdsTensors;
    }

    /// <summary>Whether the values are tensor slots (so a null value is a filtered-out leaf).</summary>
    public bool HoldsTensors { get; }

    /// <summary>The entries, sorted by key (ordinal), the order their leaves are flattened in.</summary>
    public IReadOnlyList<KeyValuePair<string, object?>> Entries { get; }
}
