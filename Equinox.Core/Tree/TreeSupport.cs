using System.Collections.Immutable;
using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace Equinox;

/// <summary>
/// Helpers the generated tree code calls for the leaf count, the static part (fields that are not children) and
/// errors; children go through <see cref="TreeChildren"/>. They are public only because generated code lives in user
/// assemblies; call <see cref="Eqx"/> instead.
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

    // ---- the static part -------------------------------------------------------------------------------------

    /// <summary>Equality of a static field: <see cref="EqualityComparer{T}.Default"/>, except for arrays (below).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool StaticEquals<T>(T a, T b) => EqualityComparer<T>.Default.Equals(a, b);

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

    /// <summary>Adds a static field to the hash, consistently with <see cref="StaticEquals{T}(T, T)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StaticHash<T>(ref HashCode hash, T value) => hash.Add(value);

    /// <summary>Adds a static array element-wise.</summary>
    public static void StaticHash<T>(ref HashCode hash, T[]? items) => hash.Add(items is null ? -1 : StaticHash(items.AsSpan()));

    /// <summary>Adds a static immutable array element-wise.</summary>
    public static void StaticHash<T>(ref HashCode hash, ImmutableArray<T> items) => hash.Add(items.IsDefault ? -1 : StaticHash(items.AsSpan()));

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
}
