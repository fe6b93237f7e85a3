using System.Collections.Immutable;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using Equinox.Torch;

namespace Equinox;

/// <summary>
/// Helpers the generated tree code calls for collection children and the static part. They are public only because
/// generated code lives in user assemblies; call <see cref="Eqx"/> instead.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class TreeSupport
{
    // ---- the leaf count ----------------------------------------------------------------------------------------

    /// <summary>
    /// <paramref name="count"/> of <paramref name="node"/> (its generated leaf count), guarded so that a tree that
    /// contains itself throws a <see cref="TreeCheckException"/> naming the cycle instead of overflowing the stack.
    /// </summary>
    public static int CountLeaves<TNode>(TNode node, Func<TNode, int> count) where TNode : ITreeNode =>
        TreeCycles.Count(node, count);

    // ---- module elements -------------------------------------------------------------------------------------

    /// <summary>The tensor slots under a span of modules (null elements are empty subtrees).</summary>
    public static int NodesLeafCount<T>(ReadOnlySpan<T> items) where T : ITreeNode?
    {
        int count = 0;
        foreach (var item in items) if (item is not null) count += item.TreeLeafCount;
        return count;
    }

    /// <summary>Flattens a span of modules in order.</summary>
    public static void NodesFlatten<T>(ReadOnlySpan<T> items, Span<Tensor?> leaves, ref int position) where T : ITreeNode?
    {
        foreach (var item in items) item?.TreeFlatten(leaves, ref position);
    }

    /// <summary>Rebuilds a span of modules from leaves, into a new array.</summary>
    public static T[] NodesUnflatten<T>(ReadOnlySpan<T> template, ReadOnlySpan<Tensor?> leaves, ref int position) where T : ITreeNode?
    {
        var result = new T[template.Length];
        for (int i = 0; i < result.Length; i++)
        {
            var item = template[i];
            if (item is not null) result[i] = (T)item.TreeUnflatten(leaves, ref position);
        }
        return result;
    }

    /// <summary>The tensor slots under a read-only list of modules.</summary>
    public static int NodesLeafCount<T>(IReadOnlyList<T>? items) where T : ITreeNode?
    {
        if (items is null) return 0;
        if (items is T[] array) return NodesLeafCount<T>(array.AsSpan());
        int count = 0;
        for (int i = 0; i < items.Count; i++) count += items[i]?.TreeLeafCount ?? 0;
        return count;
    }

    /// <summary>Flattens a read-only list of modules in order.</summary>
    public static void NodesFlatten<T>(IReadOnlyList<T>? items, Span<Tensor?> leaves, ref int position) where T : ITreeNode?
    {
        if (items is null) return;
        if (items is T[] array) { NodesFlatten<T>(array.AsSpan(), leaves, ref position); return; }
        for (int i = 0; i < items.Count; i++) items[i]?.TreeFlatten(leaves, ref position);
    }

    /// <summary>Rebuilds a read-only list of modules from leaves, as a new array.</summary>
    public static T[]? NodesUnflatten<T>(IReadOnlyList<T>? template, ReadOnlySpan<Tensor?> leaves, ref int position) where T : ITreeNode?
    {
        if (template is null) return null;
        if (template is T[] array) return NodesUnflatten<T>(array.AsSpan(), leaves, ref position);
        var result = new T[template.Count];
        for (int i = 0; i < result.Length; i++)
        {
            var item = template[i];
            if (item is not null) result[i] = (T)item.TreeUnflatten(leaves, ref position);
        }
        return result;
    }

    // ---- tensor elements (T is Tensor or Tensor?, so the generated code needs no casts) -----------------------

    /// <summary>Copies a span of tensor slots into the leaves.</summary>
    public static void TensorsFlatten<T>(ReadOnlySpan<T> items, Span<Tensor?> leaves, ref int position) where T : class?
    {
        Unsafe.As<ReadOnlySpan<T>, ReadOnlySpan<Tensor?>>(ref items).CopyTo(leaves[position..]);
        position += items.Length;
    }

    /// <summary>Reads <paramref name="count"/> tensor slots from the leaves into a new array.</summary>
    public static T[] TensorsUnflatten<T>(int count, ReadOnlySpan<Tensor?> leaves, ref int position) where T : class?
    {
        var result = new T[count];
        leaves.Slice(position, count).CopyTo(Unsafe.As<T[], Tensor?[]>(ref result));
        position += count;
        return result;
    }

    /// <summary>Flattens a read-only list of tensors.</summary>
    public static void TensorsFlatten<T>(IReadOnlyList<T>? items, Span<Tensor?> leaves, ref int position) where T : class?
    {
        if (items is null) return;
        if (items is T[] array) { TensorsFlatten(new ReadOnlySpan<T>(array), leaves, ref position); return; }
        for (int i = 0; i < items.Count; i++) leaves[position++] = Unsafe.As<Tensor?>(items[i]);
    }

    // ---- dictionaries ----------------------------------------------------------------------------------------

    /// <summary>The keys of a dictionary in ordinal order: the order its leaves are flattened in.</summary>
    public static string[] SortedKeys<T>(ImmutableDictionary<string, T> items)
    {
        var keys = new string[items.Count];
        int i = 0;
        foreach (var pair in items) keys[i++] = pair.Key;
        Array.Sort(keys, StringComparer.Ordinal);
        return keys;
    }

    /// <summary>The tensor slots under a dictionary of modules.</summary>
    public static int NodesLeafCount<T>(ImmutableDictionary<string, T>? items) where T : ITreeNode?
    {
        if (items is null) return 0;
        int count = 0;
        foreach (var pair in items) count += pair.Value?.TreeLeafCount ?? 0;
        return count;
    }

    /// <summary>Flattens a dictionary of modules in key order.</summary>
    public static void NodesFlatten<T>(ImmutableDictionary<string, T>? items, Span<Tensor?> leaves, ref int position) where T : ITreeNode?
    {
        if (items is null) return;
        foreach (var key in SortedKeys(items)) items[key]?.TreeFlatten(leaves, ref position);
    }

    /// <summary>Rebuilds a dictionary of modules from leaves.</summary>
    public static ImmutableDictionary<string, T>? NodesUnflatten<T>(ImmutableDictionary<string, T>? template, ReadOnlySpan<Tensor?> leaves, ref int position) where T : ITreeNode?
    {
        if (template is null) return null;
        var builder = template.ToBuilder();
        foreach (var key in SortedKeys(template))
        {
            var item = template[key];
            if (item is not null) builder[key] = (T)item.TreeUnflatten(leaves, ref position);
        }
        return builder.ToImmutable();
    }

    /// <summary>Flattens a dictionary of tensors in key order.</summary>
    public static void TensorsFlatten<T>(ImmutableDictionary<string, T>? items, Span<Tensor?> leaves, ref int position) where T : class?
    {
        if (items is null) return;
        foreach (var key in SortedKeys(items)) leaves[position++] = Unsafe.As<Tensor?>(items[key]);
    }

    /// <summary>Rebuilds a dictionary of tensors from leaves.</summary>
    public static ImmutableDictionary<string, T>? TensorsUnflatten<T>(ImmutableDictionary<string, T>? template, ReadOnlySpan<Tensor?> leaves, ref int position) where T : class?
    {
        if (template is null) return null;
        var builder = template.ToBuilder();
        foreach (var key in SortedKeys(template)) builder[key] = Unsafe.As<T>(leaves[position++])!;
        return builder.ToImmutable();
    }

    // ---- the static part -------------------------------------------------------------------------------------

    /// <summary>Structural equality of two optional modules.</summary>
    public static bool NodeEquals(ITreeNode? a, ITreeNode? b) =>
        a is null ? b is null : b is not null && a.TreeStaticEquals(b);

    /// <summary>Hash of an optional module's structure.</summary>
    public static int NodeHash(ITreeNode? node) => node?.TreeStaticHashCode() ?? 0;

    /// <summary>Structural equality of two spans of modules.</summary>
    public static bool NodesEqual<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : ITreeNode?
    {
        if (a.Length != b.Length) return false;
        for (int i = 0; i < a.Length; i++) if (!NodeEquals(a[i], b[i])) return false;
        return true;
    }

    /// <summary>Structural equality of two optional read-only lists of modules.</summary>
    public static bool NodesEqual<T>(IReadOnlyList<T>? a, IReadOnlyList<T>? b) where T : ITreeNode?
    {
        if (a is null || b is null) return a is null && b is null;
        if (a.Count != b.Count) return false;
        for (int i = 0; i < a.Count; i++) if (!NodeEquals(a[i], b[i])) return false;
        return true;
    }

    /// <summary>Structural equality of two optional dictionaries of modules.</summary>
    public static bool NodesEqual<T>(ImmutableDictionary<string, T>? a, ImmutableDictionary<string, T>? b) where T : ITreeNode?
    {
        if (a is null || b is null) return a is null && b is null;
        if (a.Count != b.Count) return false;
        foreach (var pair in a)
        {
            if (!b.TryGetValue(pair.Key, out var other) || !NodeEquals(pair.Value, other)) return false;
        }
        return true;
    }

    /// <summary>Hash of a span of modules' structure.</summary>
    public static int NodesHash<T>(ReadOnlySpan<T> items) where T : ITreeNode?
    {
        var hash = new HashCode();
        hash.Add(items.Length);
        foreach (var item in items) hash.Add(NodeHash(item));
        return hash.ToHashCode();
    }

    /// <summary>Hash of a read-only list of modules' structure.</summary>
    public static int NodesHash<T>(IReadOnlyList<T>? items) where T : ITreeNode?
    {
        if (items is null) return -1;
        var hash = new HashCode();
        hash.Add(items.Count);
        for (int i = 0; i < items.Count; i++) hash.Add(NodeHash(items[i]));
        return hash.ToHashCode();
    }

    /// <summary>Hash of a dictionary of modules' structure (independent of enumeration order).</summary>
    public static int NodesHash<T>(ImmutableDictionary<string, T>? items) where T : ITreeNode?
    {
        if (items is null) return -1;
        int hash = items.Count;
        foreach (var pair in items) hash ^= HashCode.Combine(pair.Key, NodeHash(pair.Value));
        return hash;
    }

    /// <summary>Whether two optional tensor lists have the same number of slots.</summary>
    public static bool SlotsEqual<T>(IReadOnlyCollection<T>? a, IReadOnlyCollection<T>? b) =>
        a is null || b is null ? a is null && b is null : a.Count == b.Count;

    /// <summary>Whether two immutable arrays of tensors have the same number of slots.</summary>
    public static bool SlotsEqual<T>(ImmutableArray<T> a, ImmutableArray<T> b) =>
        a.IsDefault ? b.IsDefault : !b.IsDefault && a.Length == b.Length;

    /// <summary>Whether two optional tensor dictionaries have the same keys.</summary>
    public static bool KeysEqual<T>(ImmutableDictionary<string, T>? a, ImmutableDictionary<string, T>? b)
    {
        if (a is null || b is null) return a is null && b is null;
        if (a.Count != b.Count) return false;
        foreach (var key in a.Keys) if (!b.ContainsKey(key)) return false;
        return true;
    }

    /// <summary>Element-wise equality of two static arrays (a static field of array type compares by contents).</summary>
    public static bool StaticEquals<T>(T[]? a, T[]? b)
    {
        if (a is null || b is null) return a is null && b is null;
        return a.AsSpan().SequenceEqual(b, EqualityComparer<T>.Default);
    }

    /// <summary>Element-wise equality of two static immutable arrays.</summary>
    public static bool StaticEquals<T>(ImmutableArray<T> a, ImmutableArray<T> b)
    {
        if (a.IsDefault || b.IsDefault) return a.IsDefault && b.IsDefault;
        return a.AsSpan().SequenceEqual(b.AsSpan(), EqualityComparer<T>.Default);
    }

    /// <summary>Element-wise hash of a static array.</summary>
    public static int StaticHash<T>(T[]? items) => items is null ? -1 : StaticHash(items.AsSpan());

    /// <summary>Element-wise hash of a static immutable array.</summary>
    public static int StaticHash<T>(ImmutableArray<T> items) => items.IsDefault ? -1 : StaticHash(items.AsSpan());

    private static int StaticHash<T>(ReadOnlySpan<T> items)
    {
        var hash = new HashCode();
        foreach (var item in items) hash.Add(item);
        return hash.ToHashCode();
    }

    // ---- errors ----------------------------------------------------------------------------------------------

    /// <summary>The error for a member name the generated code does not know.</summary>
    public static Exception NoSuchChild(ITreeNode node, string member) => new ArgumentException(
        $"{node.GetType().Name} has no child named '{member}'. Children are its tensors, modules and collections of them; " +
        "static fields (and [Static] ones) cannot be selected in TreeAt: build a new module instead.", nameof(member));

    /// <summary>The error for a step into a child that is not a collection.</summary>
    public static Exception NotACollection(ITreeNode node, string member) => new ArgumentException(
        $"{node.GetType().Name}.{member} is not a collection, so it cannot be indexed.", nameof(member));

    /// <summary>The error for a replacement of the wrong type.</summary>
    public static Exception WrongType(ITreeNode node, string member, string expected, object? value) => new ArgumentException(
        $"Cannot put a {value?.GetType().Name ?? "null"} into {node.GetType().Name}.{member}, which holds {expected}.", nameof(value));

    /// <summary>Converts a replacement value to a child's type, or throws naming the child.</summary>
    public static T Convert<T>(ITreeNode node, string member, object? value)
    {
        if (value is T typed) return typed;
        if (value is null && default(T) is null) return default!;
        throw WrongType(node, member, typeof(T).Name, value);
    }

    /// <summary>Checks a step and returns its list index.</summary>
    public static int IndexOf(ITreeNode node, string member, TreeStep key, int count)
    {
        if (key.Kind != TreeStepKind.Index)
            throw new ArgumentException($"{node.GetType().Name}.{member} is a list: index it with an integer, not {key}.", nameof(key));
        if ((uint)key.Index >= (uint)count)
            throw new ArgumentOutOfRangeException(nameof(key), $"{node.GetType().Name}.{member}{key} is out of range: it has {count} elements.");
        return key.Index;
    }

    /// <summary>Checks a step and returns its dictionary key.</summary>
    public static string KeyOf<T>(ITreeNode node, string member, TreeStep key, ImmutableDictionary<string, T> items)
    {
        if (key.Kind != TreeStepKind.Key)
            throw new ArgumentException($"{node.GetType().Name}.{member} is a dictionary: index it with a string key, not {key}.", nameof(key));
        if (!items.ContainsKey(key.Name!))
            throw new KeyNotFoundException($"{node.GetType().Name}.{member} has no key \"{key.Name}\".");
        return key.Name!;
    }

    /// <summary>One element of a list child, or an error naming the child when it is null or too short.</summary>
    public static T ItemAt<T>(ITreeNode node, string member, TreeStep key, IReadOnlyList<T>? items)
    {
        if (items is null) throw NullCollection(node, member, key);
        return items[IndexOf(node, member, key, items.Count)];
    }

    /// <summary>One element of an immutable array child, or an error naming the child when it is default or too short.</summary>
    public static T ItemAt<T>(ITreeNode node, string member, TreeStep key, ImmutableArray<T> items)
    {
        if (items.IsDefault) throw NullCollection(node, member, key);
        return items[IndexOf(node, member, key, items.Length)];
    }

    /// <summary>One entry of a dictionary child, or an error naming the child when it is null or lacks the key.</summary>
    public static T EntryAt<T>(ITreeNode node, string member, TreeStep key, ImmutableDictionary<string, T>? items)
    {
        if (items is null) throw NullCollection(node, member, key);
        return items[KeyOf(node, member, key, items)];
    }

    /// <summary>A copy, as an array, of a list child with one element replaced.</summary>
    public static T[] WithItem<T>(ITreeNode node, string member, TreeStep key, IReadOnlyList<T>? items, T value)
    {
        if (items is null) throw NullCollection(node, member, key);
        int index = IndexOf(node, member, key, items.Count);
        var copy = new T[items.Count];
        for (int i = 0; i < copy.Length; i++) copy[i] = items[i];
        copy[index] = value;
        return copy;
    }

    /// <summary>A copy of an immutable array child with one element replaced.</summary>
    public static ImmutableArray<T> WithItem<T>(ITreeNode node, string member, TreeStep key, ImmutableArray<T> items, T value)
    {
        if (items.IsDefault) throw NullCollection(node, member, key);
        return items.SetItem(IndexOf(node, member, key, items.Length), value);
    }

    /// <summary>A copy of a dictionary child with one entry replaced.</summary>
    public static ImmutableDictionary<string, T> WithEntry<T>(ITreeNode node, string member, TreeStep key, ImmutableDictionary<string, T>? items, T value)
    {
        if (items is null) throw NullCollection(node, member, key);
        return items.SetItem(KeyOf(node, member, key, items), value);
    }

    // A null collection is an empty subtree (a hole): there is no element to read or replace.
    private static ArgumentException NullCollection(ITreeNode node, string member, TreeStep key) => new(
        $"{node.GetType().Name}.{member} is null (an empty subtree), so it has no element {key}. " +
        $"Put a collection there first: Eqx.TreeAt(tree, t => t.{member}, ...).", nameof(key));
}
