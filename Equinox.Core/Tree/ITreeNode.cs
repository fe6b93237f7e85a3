using System.ComponentModel;
using Equinox.Tensors;

namespace Equinox;

/// <summary>
/// The tree contract that the source generator implements for every <see cref="ModuleAttribute">[Module]</see> type.
/// Call it through <see cref="Eqx"/> (<c>Eqx.Flatten</c>, <c>Eqx.TreeAt</c>, ...) rather than directly.
/// </summary>
/// <remarks>
/// A module's leaves are its tensor slots in declaration order, base class first, then depth first; a <c>null</c>
/// tensor still takes its slot, while a <c>null</c> module or collection is an empty subtree with no slots.
/// </remarks>
public interface ITreeNode
{
    /// <summary>The number of tensor slots in this subtree.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    int TreeLeafCount { get; }

    /// <summary>Writes this subtree's tensor slots into <paramref name="leaves"/> from <paramref name="position"/> on.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    void TreeFlatten(Span<Tensor?> leaves, ref int position);

    /// <summary>
    /// Builds a new node with this node's structure and static part, reading its tensor slots from
    /// <paramref name="leaves"/>; no user constructor runs.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    ITreeNode TreeUnflatten(ReadOnlySpan<Tensor?> leaves, ref int position);

    /// <summary>Shows every field, children and static part alike, to <paramref name="visitor"/> in declaration order.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    void TreeVisit(ITreeVisitor visitor);

    /// <summary>Whether <paramref name="other"/> has the same type, structure and static part (tensors are not compared).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    bool TreeStaticEquals(ITreeNode other);

    /// <summary>A hash of the type, structure and static part, consistent with <see cref="TreeStaticEquals"/>.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    int TreeStaticHashCode();

    /// <summary>The value of the child named <paramref name="member"/> (a tensor, module or collection, or null).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    object? TreeGetChild(string member);

    /// <summary>A copy of this node with the child named <paramref name="member"/> replaced by <paramref name="value"/>.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    ITreeNode TreeWithChild(string member, object? value);

    /// <summary>One element of the collection child named <paramref name="member"/>.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    object? TreeGetItem(string member, TreeStep key);

    /// <summary>A copy of this node with one element of the collection child <paramref name="member"/> replaced.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    ITreeNode TreeWithItem(string member, TreeStep key, object? value);
}

/// <summary>Receives a module's fields from <see cref="ITreeNode.TreeVisit"/>.</summary>
public interface ITreeVisitor
{
    /// <summary>A tensor slot (a null tensor is a slot that has been filtered out).</summary>
    void Tensor(string member, Tensor? value);

    /// <summary>
    /// A module or collection child: <paramref name="value"/> is an <see cref="ITreeNode"/>, a <see cref="TreeList"/>,
    /// a <see cref="TreeDictionary"/>, or null (an empty subtree).
    /// </summary>
    void Child(string member, object? value);

    /// <summary>A field of the static part.</summary>
    void Static(string member, object? value);
}

/// <summary>Marks the constructors the generator writes, so they never clash with a user's own.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct TreeConstruction
{
}
