using System.Collections.Immutable;

namespace Equinox;

/// <summary>A list child (array, <c>ImmutableArray</c>, <c>IReadOnlyList</c>) as seen by an <see cref="ITreeVisitor"/>.</summary>
public sealed class TreeList
{
    private TreeList(IReadOnlyList<object?> items, bool holdsTensors)
    {
        Items = items;
        HoldsTensors = holdsTensors;
    }

    /// <summary>Whether the elements are tensor slots (so a null element is a filtered-out leaf).</summary>
    public bool HoldsTensors { get; }

    /// <summary>The elements: tensors, modules or nulls.</summary>
    public IReadOnlyList<object?> Items { get; }

    /// <summary>A view of an array, or null for a null array.</summary>
    public static TreeList? Of<T>(T[]? items) where T : class? => items is null ? null : new TreeList(items, typeof(T) == typeof(Torch.Tensor));

    /// <summary>A view of an immutable array, or null for a default one.</summary>
    public static TreeList? Of<T>(ImmutableArray<T> items) where T : class? =>
        items.IsDefault ? null : new TreeList(ImmutableArray<object?>.CastUp(items), typeof(T) == typeof(Torch.Tensor));

    /// <summary>A view of a read-only list, or null for a null list.</summary>
    public static TreeList? Of<T>(IReadOnlyList<T>? items) where T : class? => items is null ? null : new TreeList(items, typeof(T) == typeof(Torch.Tensor));
}

/// <summary>A dictionary child as seen by an <see cref="ITreeVisitor"/>: its entries in ordinal key order.</summary>
public sealed class TreeDictionary
{
    private TreeDictionary(KeyValuePair<string, object?>[] entries, bool holdsTensors)
    {
        Entries = entries;
        HoldsTensors = holdsTensors;
    }

    /// <summary>Whether the values are tensor slots (so a null value is a filtered-out leaf).</summary>
    public bool HoldsTensors { get; }

    /// <summary>The entries, sorted by key (ordinal), the order their leaves are flattened in.</summary>
    public IReadOnlyList<KeyValuePair<string, object?>> Entries { get; }

    /// <summary>A view of a dictionary, or null for a null dictionary.</summary>
    public static TreeDictionary? Of<T>(ImmutableDictionary<string, T>? items) where T : class?
    {
        if (items is null) return null;
        var keys = TreeSupport.SortedKeys(items);
        var entries = new KeyValuePair<string, object?>[keys.Length];
        for (int i = 0; i < keys.Length; i++) entries[i] = new(keys[i], items[keys[i]]);
        return new TreeDictionary(entries, typeof(T) == typeof(Torch.Tensor));
    }
}
