using System.Collections.Immutable;
using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Equinox.Tensors;

namespace Equinox;

/// <summary>
/// What the generated tree code does with each child: one call per member (<c>TreeChildren.Flatten(this.Layers, ...)</c>),
/// and C# overload resolution on the member's static type picks the overload. This file is the one place that knows
/// the kinds of children: a tensor, a module, and arrays, <c>ImmutableArray</c>, <c>IReadOnlyList</c> and
/// <c>ImmutableDictionary&lt;string, T&gt;</c> (in ordinal key order) of tensors or modules; a new kind is a set of
/// overloads here plus its case in the generator's <c>TreeTypes.Classify</c>, which decides what is a child. Public only because
/// generated code lives in user assemblies; call <see cref="Eqx"/> instead.
/// </summary>
/// <remarks>
/// Modules and collections of modules bind to generic overloads (<c>where T : ITreeNode?</c>); collections of tensors
/// to the non-generic overloads at the end, which C# prefers. Those are declared without nullable annotations
/// (oblivious), so that <c>Tensor[]</c> and <c>Tensor?[]</c>, <c>ImmutableArray&lt;Tensor&gt;</c> and
/// <c>ImmutableArray&lt;Tensor?&gt;</c> members bind to them, and take their results, without a warning.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class TreeChildren
{
    // ---- the number of tensor slots ----------------------------------------------------------------------------

    /// <summary>A tensor is one slot, even when null (a filtered-out leaf).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Count(Tensor? leaf) => 1;

    /// <summary>The slots under a module; a null module is an empty subtree.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Count<T>(T node) where T : ITreeNode? => node is null ? 0 : node.TreeLeafCount;

    /// <summary>The slots under an array of modules.</summary>
    public static int Count<T>(T[]? items) where T : ITreeNode? => items is null ? 0 : CountNodes(new ReadOnlySpan<T>(items));

    /// <summary>The slots under an immutable array of modules.</summary>
    public static int Count<T>(ImmutableArray<T> items) where T : ITreeNode? => CountNodes(items.AsSpan());

    /// <summary>The slots under a read-only list of modules.</summary>
    public static int Count<T>(IReadOnlyList<T>? items) where T : ITreeNode?
    {
        if (items is null) return 0;
        if (items is T[] array) return CountNodes(new ReadOnlySpan<T>(array));
        int count = 0;
        for (int i = 0; i < items.Count; i++) count += items[i]?.TreeLeafCount ?? 0;
        return count;
    }

    /// <summary>The slots under a dictionary of modules.</summary>
    public static int Count<T>(ImmutableDictionary<string, T>? items) where T : ITreeNode?
    {
        if (items is null) return 0;
        int count = 0;
        foreach (var pair in items) count += pair.Value?.TreeLeafCount ?? 0;
        return count;
    }

    private static int CountNodes<T>(ReadOnlySpan<T> items) where T : ITreeNode?
    {
        int count = 0;
        foreach (var item in items) if (item is not null) count += item.TreeLeafCount;
        return count;
    }

    // ---- flatten: write the slots in order ---------------------------------------------------------------------

    /// <summary>Writes a tensor slot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Flatten(Tensor? leaf, Span<Tensor?> leaves, ref int position) => leaves[position++] = leaf;

    /// <summary>Writes a module's slots; a null module writes none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Flatten<T>(T node, Span<Tensor?> leaves, ref int position) where T : ITreeNode?
    {
        if (node is not null) node.TreeFlatten(leaves, ref position);
    }

    /// <summary>Writes the slots under an array of modules.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Flatten<T>(T[]? items, Span<Tensor?> leaves, ref int position) where T : ITreeNode? =>
        FlattenNodes(new ReadOnlySpan<T>(items), leaves, ref position);

    /// <summary>Writes the slots under an immutable array of modules.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Flatten<T>(ImmutableArray<T> items, Span<Tensor?> leaves, ref int position) where T : ITreeNode? =>
        FlattenNodes(items.AsSpan(), leaves, ref position);

    /// <summary>Writes the slots under a read-only list of modules.</summary>
    public static void Flatten<T>(IReadOnlyList<T>? items, Span<Tensor?> leaves, ref int position) where T : ITreeNode?
    {
        if (items is null) return;
        if (items is T[] array) { FlattenNodes(new ReadOnlySpan<T>(array), leaves, ref position); return; }
        for (int i = 0; i < items.Count; i++) items[i]?.TreeFlatten(leaves, ref position);
    }

    /// <summary>Writes the slots under a dictionary of modules in ordinal key order.</summary>
    public static void Flatten<T>(ImmutableDictionary<string, T>? items, Span<Tensor?> leaves, ref int position) where T : ITreeNode?
    {
        if (items is null) return;
        foreach (var key in SortedKeys(items)) items[key]?.TreeFlatten(leaves, ref position);
    }

    private static void FlattenNodes<T>(ReadOnlySpan<T> items, Span<Tensor?> leaves, ref int position) where T : ITreeNode?
    {
        foreach (var item in items) item?.TreeFlatten(leaves, ref position);
    }

    // ---- unflatten: the same structure, slots read from the leaves ---------------------------------------------

    /// <summary>Reads a tensor slot (null when the leaves hold a filtered-out slot there).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Tensor Unflatten(Tensor? template, ReadOnlySpan<Tensor?> leaves, ref int position) => leaves[position++]!;

    /// <summary>Rebuilds a module with the structure of <paramref name="template"/>; a null module stays null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Unflatten<T>(T template, ReadOnlySpan<Tensor?> leaves, ref int position) where T : ITreeNode? =>
        template is null ? template : (T)template.TreeUnflatten(leaves, ref position);

    /// <summary>Rebuilds an array of modules.</summary>
    [return: NotNullIfNotNull(nameof(template))]
    public static T[]? Unflatten<T>(T[]? template, ReadOnlySpan<Tensor?> leaves, ref int position) where T : ITreeNode? =>
        template is null ? null : UnflattenNodes(new ReadOnlySpan<T>(template), leaves, ref position);

    /// <summary>Rebuilds an immutable array of modules.</summary>
    public static ImmutableArray<T> Unflatten<T>(ImmutableArray<T> template, ReadOnlySpan<Tensor?> leaves, ref int position) where T : ITreeNode? =>
        template.IsDefault ? default : ImmutableCollectionsMarshal.AsImmutableArray(UnflattenNodes(template.AsSpan(), leaves, ref position));

    /// <summary>Rebuilds a read-only list of modules, as a new array.</summary>
    [return: NotNullIfNotNull(nameof(template))]
    public static IReadOnlyList<T>? Unflatten<T>(IReadOnlyList<T>? template, ReadOnlySpan<Tensor?> leaves, ref int position) where T : ITreeNode?
    {
        if (template is null) return null;
        if (template is T[] array) return UnflattenNodes(new ReadOnlySpan<T>(array), leaves, ref position);
        var result = new T[template.Count];
        for (int i = 0; i < result.Length; i++)
        {
            var item = template[i];
            if (item is not null) result[i] = (T)item.TreeUnflatten(leaves, ref position);
        }
        return result;
    }

    /// <summary>Rebuilds a dictionary of modules, in ordinal key order.</summary>
    [return: NotNullIfNotNull(nameof(template))]
    public static ImmutableDictionary<string, T>? Unflatten<T>(ImmutableDictionary<string, T>? template, ReadOnlySpan<Tensor?> leaves, ref int position) where T : ITreeNode?
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

    private static T[] UnflattenNodes<T>(ReadOnlySpan<T> template, ReadOnlySpan<Tensor?> leaves, ref int position) where T : ITreeNode?
    {
        var result = new T[template.Length];
        for (int i = 0; i < result.Length; i++)
        {
            var item = template[i];
            if (item is not null) result[i] = (T)item.TreeUnflatten(leaves, ref position);
        }
        return result;
    }

    // ---- visit: the child as an ITreeVisitor sees it -----------------------------------------------------------

    /// <summary>Shows a tensor slot.</summary>
    public static void Visit(ITreeVisitor visitor, string member, Tensor? leaf) => visitor.Tensor(member, leaf);

    /// <summary>Shows a module (or null).</summary>
    public static void Visit<T>(ITreeVisitor visitor, string member, T node) where T : ITreeNode? => visitor.Child(member, node);

    /// <summary>Shows an array as a <see cref="TreeList"/> (null for a null array).</summary>
    public static void Visit<T>(ITreeVisitor visitor, string member, T[]? items) where T : class? =>
        visitor.Child(member, items is null ? null : new TreeList(items, HoldsTensors<T>()));

    /// <summary>Shows an immutable array as a <see cref="TreeList"/> (null for a default one).</summary>
    public static void Visit<T>(ITreeVisitor visitor, string member, ImmutableArray<T> items) where T : class? =>
        visitor.Child(member, items.IsDefault ? null : new TreeList(ImmutableArray<object?>.CastUp(items), HoldsTensors<T>()));

    /// <summary>Shows a read-only list as a <see cref="TreeList"/> (null for a null list).</summary>
    public static void Visit<T>(ITreeVisitor visitor, string member, IReadOnlyList<T>? items) where T : class? =>
        visitor.Child(member, items is null ? null : new TreeList(items, HoldsTensors<T>()));

    /// <summary>Shows a dictionary as a <see cref="TreeDictionary"/>, entries in ordinal key order (null for a null dictionary).</summary>
    public static void Visit<T>(ITreeVisitor visitor, string member, ImmutableDictionary<string, T>? items) where T : class?
    {
        if (items is null) { visitor.Child(member, null); return; }
        var keys = SortedKeys(items);
        var entries = new KeyValuePair<string, object?>[keys.Length];
        for (int i = 0; i < keys.Length; i++) entries[i] = new(keys[i], items[keys[i]]);
        visitor.Child(member, new TreeDictionary(entries, HoldsTensors<T>()));
    }

    private static bool HoldsTensors<T>() => typeof(T) == typeof(Tensor);

    // ---- the structure: equal and hashed alike (tensors themselves are not compared) ---------------------------

    /// <summary>A tensor slot has no structure of its own: always equal.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool StaticEquals(Tensor? a, Tensor? b) => true;

    /// <summary>Structural equality of two optional modules.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool StaticEquals<T>(T a, T b) where T : ITreeNode? => NodeEquals(a, b);

    /// <summary>Structural equality of two arrays of modules.</summary>
    public static bool StaticEquals<T>(T[]? a, T[]? b) where T : ITreeNode? => StaticEquals((IReadOnlyList<T>?)a, b);

    /// <summary>Structural equality of two immutable arrays of modules.</summary>
    public static bool StaticEquals<T>(ImmutableArray<T> a, ImmutableArray<T> b) where T : ITreeNode? =>
        a.IsDefault == b.IsDefault && NodesEqual(a.AsSpan(), b.AsSpan());

    /// <summary>Structural equality of two read-only lists of modules.</summary>
    public static bool StaticEquals<T>(IReadOnlyList<T>? a, IReadOnlyList<T>? b) where T : ITreeNode?
    {
        if (a is null || b is null) return a is null && b is null;
        if (a.Count != b.Count) return false;
        for (int i = 0; i < a.Count; i++) if (!NodeEquals(a[i], b[i])) return false;
        return true;
    }

    /// <summary>Structural equality of two dictionaries of modules.</summary>
    public static bool StaticEquals<T>(ImmutableDictionary<string, T>? a, ImmutableDictionary<string, T>? b) where T : ITreeNode?
    {
        if (a is null || b is null) return a is null && b is null;
        if (a.Count != b.Count) return false;
        foreach (var pair in a)
        {
            if (!b.TryGetValue(pair.Key, out var other) || !NodeEquals(pair.Value, other)) return false;
        }
        return true;
    }

    /// <summary>A tensor slot adds nothing to the hash.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StaticHash(ref HashCode hash, Tensor? leaf)
    {
    }

    /// <summary>Adds a module's structure.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StaticHash<T>(ref HashCode hash, T node) where T : ITreeNode? => hash.Add(NodeHash(node));

    /// <summary>Adds the structure of an array of modules.</summary>
    public static void StaticHash<T>(ref HashCode hash, T[]? items) where T : ITreeNode? => StaticHash(ref hash, (IReadOnlyList<T>?)items);

    /// <summary>Adds the structure of an immutable array of modules.</summary>
    public static void StaticHash<T>(ref HashCode hash, ImmutableArray<T> items) where T : ITreeNode?
    {
        var inner = new HashCode();
        inner.Add(items.IsDefault ? 0 : items.Length);
        foreach (var item in items.AsSpan()) inner.Add(NodeHash(item));
        hash.Add(inner.ToHashCode());
    }

    /// <summary>Adds the structure of a read-only list of modules.</summary>
    public static void StaticHash<T>(ref HashCode hash, IReadOnlyList<T>? items) where T : ITreeNode?
    {
        if (items is null) { hash.Add(-1); return; }
        var inner = new HashCode();
        inner.Add(items.Count);
        for (int i = 0; i < items.Count; i++) inner.Add(NodeHash(items[i]));
        hash.Add(inner.ToHashCode());
    }

    /// <summary>Adds the structure of a dictionary of modules (independent of enumeration order).</summary>
    public static void StaticHash<T>(ref HashCode hash, ImmutableDictionary<string, T>? items) where T : ITreeNode?
    {
        if (items is null) { hash.Add(-1); return; }
        int inner = items.Count;
        foreach (var pair in items) inner ^= HashCode.Combine(pair.Key, NodeHash(pair.Value));
        hash.Add(inner);
    }

    private static bool NodeEquals(ITreeNode? a, ITreeNode? b) => a is null ? b is null : b is not null && a.TreeStaticEquals(b);

    private static int NodeHash(ITreeNode? node) => node?.TreeStaticHashCode() ?? 0;

    private static bool NodesEqual<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : ITreeNode?
    {
        if (a.Length != b.Length) return false;
        for (int i = 0; i < a.Length; i++) if (!NodeEquals(a[i], b[i])) return false;
        return true;
    }

    // ---- one element: read it, or a copy with it replaced ------------------------------------------------------

    /// <summary>A tensor is not a collection: the error naming the child.</summary>
    public static object? ItemAt(ITreeNode node, string member, TreeStep key, Tensor? leaf) => throw TreeSupport.NotACollection(node, member);

    /// <summary>A module child is not a collection: the error naming the child.</summary>
    public static object? ItemAt<T>(ITreeNode node, string member, TreeStep key, T child) where T : ITreeNode? => throw TreeSupport.NotACollection(node, member);

    /// <summary>One element of a list child (array or read-only list), or an error naming the child.</summary>
    public static object? ItemAt<T>(ITreeNode node, string member, TreeStep key, IReadOnlyList<T>? items)
    {
        if (items is null) throw NullCollection(node, member, key);
        return items[IndexOf(node, member, key, items.Count)];
    }

    /// <summary>One element of an immutable array child, or an error naming the child.</summary>
    public static object? ItemAt<T>(ITreeNode node, string member, TreeStep key, ImmutableArray<T> items)
    {
        if (items.IsDefault) throw NullCollection(node, member, key);
        return items[IndexOf(node, member, key, items.Length)];
    }

    /// <summary>One entry of a dictionary child, or an error naming the child.</summary>
    public static object? ItemAt<T>(ITreeNode node, string member, TreeStep key, ImmutableDictionary<string, T>? items)
    {
        if (items is null) throw NullCollection(node, member, key);
        return items[KeyOf(node, member, key, items)];
    }

    /// <summary>A tensor is not a collection: the error naming the child.</summary>
    public static object WithItem(ITreeNode node, string member, TreeStep key, Tensor? leaf, object? value) => throw TreeSupport.NotACollection(node, member);

    /// <summary>A module child is not a collection: the error naming the child.</summary>
    public static object WithItem<T>(ITreeNode node, string member, TreeStep key, T child, object? value) where T : ITreeNode? => throw TreeSupport.NotACollection(node, member);

    /// <summary>A copy, as an array, of a list child (array or read-only list) with one element replaced.</summary>
    public static object WithItem<T>(ITreeNode node, string member, TreeStep key, IReadOnlyList<T>? items, object? value)
    {
        if (items is null) throw NullCollection(node, member, key);
        int index = IndexOf(node, member, key, items.Count);
        var copy = new T[items.Count];
        for (int i = 0; i < copy.Length; i++) copy[i] = items[i];
        copy[index] = TreeSupport.Convert<T>(node, member, value);
        return copy;
    }

    /// <summary>A copy of an immutable array child with one element replaced.</summary>
    public static object WithItem<T>(ITreeNode node, string member, TreeStep key, ImmutableArray<T> items, object? value)
    {
        if (items.IsDefault) throw NullCollection(node, member, key);
        return items.SetItem(IndexOf(node, member, key, items.Length), TreeSupport.Convert<T>(node, member, value));
    }

    /// <summary>A copy of a dictionary child with one entry replaced.</summary>
    public static object WithItem<T>(ITreeNode node, string member, TreeStep key, ImmutableDictionary<string, T>? items, object? value)
    {
        if (items is null) throw NullCollection(node, member, key);
        return items.SetItem(KeyOf(node, member, key, items), TreeSupport.Convert<T>(node, member, value));
    }

    private static int IndexOf(ITreeNode node, string member, TreeStep key, int count)
    {
        if (key.Kind != TreeStepKind.Index)
            throw new ArgumentException($"{node.GetType().Name}.{member} is a list: index it with an integer, not {key}.", nameof(key));
        if ((uint)key.Index >= (uint)count)
            throw new ArgumentOutOfRangeException(nameof(key), $"{node.GetType().Name}.{member}{key} is out of range: it has {count} elements.");
        return key.Index;
    }

    private static string KeyOf<T>(ITreeNode node, string member, TreeStep key, ImmutableDictionary<string, T> items)
    {
        if (key.Kind != TreeStepKind.Key)
            throw new ArgumentException($"{node.GetType().Name}.{member} is a dictionary: index it with a string key, not {key}.", nameof(key));
        if (!items.ContainsKey(key.Name!))
            throw new KeyNotFoundException($"{node.GetType().Name}.{member} has no key \"{key.Name}\".");
        return key.Name!;
    }

    // A null collection is an empty subtree (a hole): there is no element to read or replace.
    private static ArgumentException NullCollection(ITreeNode node, string member, TreeStep key) => new(
        $"{node.GetType().Name}.{member} is null (an empty subtree), so it has no element {key}. " +
        $"Put a collection there first: Eqx.TreeAt(tree, t => t.{member}, ...).", nameof(key));

    /// <summary>The keys of a dictionary in ordinal order: the order its leaves are flattened in.</summary>
    internal static string[] SortedKeys<T>(ImmutableDictionary<string, T> items)
    {
        var keys = new string[items.Count];
        int i = 0;
        foreach (var pair in items) keys[i++] = pair.Key;
        Array.Sort(keys, StringComparer.Ordinal);
        return keys;
    }

    // ---- collections of tensors --------------------------------------------------------------------------------
    // Oblivious on purpose (see the remarks above): a null element is a filtered-out slot, and a member declared with
    // non-nullable elements still holds nulls in a filtered tree, as it does with the other overloads.
#nullable disable annotations

    /// <summary>The slots of an array of tensors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Count(Tensor[] items) => items?.Length ?? 0;

    /// <summary>The slots of an immutable array of tensors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Count(ImmutableArray<Tensor> items) => items.IsDefault ? 0 : items.Length;

    /// <summary>The slots of a read-only list of tensors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Count(IReadOnlyList<Tensor> items) => items?.Count ?? 0;

    /// <summary>The slots of a dictionary of tensors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Count(ImmutableDictionary<string, Tensor> items) => items?.Count ?? 0;

    /// <summary>Writes an array of tensors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Flatten(Tensor[] items, Span<Tensor> leaves, ref int position) => FlattenTensors(items, leaves, ref position);

    /// <summary>Writes an immutable array of tensors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Flatten(ImmutableArray<Tensor> items, Span<Tensor> leaves, ref int position) => FlattenTensors(items.AsSpan(), leaves, ref position);

    /// <summary>Writes a read-only list of tensors.</summary>
    public static void Flatten(IReadOnlyList<Tensor> items, Span<Tensor> leaves, ref int position)
    {
        if (items is null) return;
        if (items is Tensor[] array) { FlattenTensors(array, leaves, ref position); return; }
        for (int i = 0; i < items.Count; i++) leaves[position++] = items[i];
    }

    /// <summary>Writes a dictionary of tensors in ordinal key order.</summary>
    public static void Flatten(ImmutableDictionary<string, Tensor> items, Span<Tensor> leaves, ref int position)
    {
        if (items is null) return;
        foreach (var key in SortedKeys(items)) leaves[position++] = items[key];
    }

    private static void FlattenTensors(ReadOnlySpan<Tensor> items, Span<Tensor> leaves, ref int position)
    {
        items.CopyTo(leaves[position..]);
        position += items.Length;
    }

    /// <summary>Reads an array of tensors as long as <paramref name="template"/> (null for a null one).</summary>
    public static Tensor[] Unflatten(Tensor[] template, ReadOnlySpan<Tensor> leaves, ref int position) =>
        template is null ? null : UnflattenTensors(template.Length, leaves, ref position);

    /// <summary>Reads an immutable array of tensors as long as <paramref name="template"/>.</summary>
    public static ImmutableArray<Tensor> Unflatten(ImmutableArray<Tensor> template, ReadOnlySpan<Tensor> leaves, ref int position) =>
        template.IsDefault ? default : ImmutableCollectionsMarshal.AsImmutableArray(UnflattenTensors(template.Length, leaves, ref position));

    /// <summary>Reads a read-only list of tensors, as a new array, as long as <paramref name="template"/> (null for a null one).</summary>
    public static IReadOnlyList<Tensor> Unflatten(IReadOnlyList<Tensor> template, ReadOnlySpan<Tensor> leaves, ref int position) =>
        template is null ? null : UnflattenTensors(template.Count, leaves, ref position);

    /// <summary>Reads a dictionary of tensors with the keys of <paramref name="template"/>, in ordinal key order.</summary>
    public static ImmutableDictionary<string, Tensor> Unflatten(ImmutableDictionary<string, Tensor> template, ReadOnlySpan<Tensor> leaves, ref int position)
    {
        if (template is null) return null;
        var builder = template.ToBuilder();
        foreach (var key in SortedKeys(template)) builder[key] = leaves[position++];
        return builder.ToImmutable();
    }

    private static Tensor[] UnflattenTensors(int count, ReadOnlySpan<Tensor> leaves, ref int position)
    {
        var result = leaves.Slice(position, count).ToArray();
        position += count;
        return result;
    }

    /// <summary>Whether two arrays of tensors have the same number of slots.</summary>
    public static bool StaticEquals(Tensor[] a, Tensor[] b) => a is null || b is null ? a is null && b is null : a.Length == b.Length;

    /// <summary>Whether two immutable arrays of tensors have the same number of slots.</summary>
    public static bool StaticEquals(ImmutableArray<Tensor> a, ImmutableArray<Tensor> b) =>
        a.IsDefault ? b.IsDefault : !b.IsDefault && a.Length == b.Length;

    /// <summary>Whether two read-only lists of tensors have the same number of slots.</summary>
    public static bool StaticEquals(IReadOnlyList<Tensor> a, IReadOnlyList<Tensor> b) =>
        a is null || b is null ? a is null && b is null : a.Count == b.Count;

    /// <summary>Whether two dictionaries of tensors have the same keys.</summary>
    public static bool StaticEquals(ImmutableDictionary<string, Tensor> a, ImmutableDictionary<string, Tensor> b)
    {
        if (a is null || b is null) return a is null && b is null;
        if (a.Count != b.Count) return false;
        foreach (var key in a.Keys) if (!b.ContainsKey(key)) return false;
        return true;
    }

    /// <summary>Adds the number of slots of an array of tensors.</summary>
    public static void StaticHash(ref HashCode hash, Tensor[] items) => hash.Add(items?.Length ?? -1);

    /// <summary>Adds the number of slots of an immutable array of tensors.</summary>
    public static void StaticHash(ref HashCode hash, ImmutableArray<Tensor> items) => hash.Add(items.IsDefault ? -1 : items.Length);

    /// <summary>Adds the number of slots of a read-only list of tensors.</summary>
    public static void StaticHash(ref HashCode hash, IReadOnlyList<Tensor> items) => hash.Add(items?.Count ?? -1);

    /// <summary>Adds the number of slots of a dictionary of tensors.</summary>
    public static void StaticHash(ref HashCode hash, ImmutableDictionary<string, Tensor> items) => hash.Add(items?.Count ?? -1);

#nullable restore
}
