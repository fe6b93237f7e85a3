using Equinox.Tensors;

namespace Equinox;

/// <summary>
/// The tree toolkit: every tool in Equinox is a function over module trees. A tree's leaves are its tensor slots
/// in declaration order (base class first, depth first); a <c>null</c> slot is a leaf that has been filtered out.
/// </summary>
public static partial class Eqx
{
    /// <summary>
    /// Every tensor slot of <paramref name="tree"/>, in order, nulls included: the leaves that
    /// <see cref="Unflatten{T}"/> takes back. Allocates only the returned array.
    /// </summary>
    public static Tensor?[] Flatten<T>(T tree) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(tree);
        var leaves = new Tensor?[tree.TreeLeafCount];
        int position = 0;
        tree.TreeFlatten(leaves, ref position);
        return leaves;
    }

    /// <summary>
    /// A new tree with the structure and static part of <paramref name="like"/> and the tensors
    /// <paramref name="leaves"/> (as many as <c>Flatten(like)</c> returns). No user constructor runs.
    /// </summary>
    public static T Unflatten<T>(T like, ReadOnlySpan<Tensor?> leaves) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(like);
        // Counting first also stops a tree that contains itself before the rebuild recurses (see TreeCycles).
        if (like.TreeLeafCount != leaves.Length) throw WrongLeafCount(like, leaves.Length);
        int position = 0;
        T result;
        try
        {
            result = (T)like.TreeUnflatten(leaves, ref position);
        }
        catch (IndexOutOfRangeException)
        {
            throw WrongLeafCount(like, leaves.Length);
        }
        if (position != leaves.Length) throw WrongLeafCount(like, leaves.Length);
        return result;
    }

    private static ArgumentException WrongLeafCount(ITreeNode like, int given) => new(
        $"Unflatten got {given} leaves but {like.GetType().Name} has {like.TreeLeafCount} tensor slots; " +
        "pass exactly the leaves that Eqx.Flatten returns for a tree of this structure.", "leaves");

    /// <summary>The tensors of <paramref name="tree"/> in leaf order, without the null slots.</summary>
    public static Tensor[] Leaves<T>(T tree) where T : ITreeNode
    {
        var slots = Flatten(tree);
        int count = 0;
        foreach (var slot in slots) if (slot is not null) count++;
        var leaves = new Tensor[count];
        count = 0;
        foreach (var slot in slots) if (slot is not null) leaves[count++] = slot;
        return leaves;
    }

    /// <summary>The number of tensor slots in <paramref name="tree"/>, nulls included.</summary>
    public static int LeafCount<T>(T tree) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(tree);
        return tree.TreeLeafCount;
    }

    /// <summary>
    /// Every tensor slot with its path, in leaf order: <c>Layers[0].Weight</c> via <see cref="TreePath.ToString"/>
    /// and <c>layers.0.weight</c> via <see cref="TreePath.StateDictKey"/>.
    /// </summary>
    public static IReadOnlyList<(TreePath Path, Tensor? Leaf)> LeavesWithPaths<T>(T tree) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(tree);
        var result = new List<(TreePath, Tensor?)>();
        TreeWalk.Walk(tree, TreePath.Root, (path, value) =>
        {
            if (path.IsTensorSlot) result.Add((path.Path, value as Tensor));
        });
        return result;
    }

    /// <summary>The paths of every tensor slot, in leaf order.</summary>
    public static TreePath[] LeafPaths<T>(T tree) where T : ITreeNode =>
        LeavesWithPaths(tree).Select(pair => pair.Path).ToArray();

    /// <summary>A tree of the same structure with <paramref name="f"/> applied to every tensor; null slots stay null.</summary>
    public static T TreeMap<T>(T tree, Func<Tensor, Tensor?> f) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(f);
        var leaves = Flatten(tree);
        for (int i = 0; i < leaves.Length; i++) if (leaves[i] is { } leaf) leaves[i] = f(leaf);
        return Unflatten(tree, leaves);
    }

    /// <summary>
    /// A tree of the structure of <paramref name="tree"/> whose slots are <paramref name="f"/> of the matching slots of
    /// both trees (nulls included). The trees must have the same structure and static part.
    /// </summary>
    public static T TreeMap<T>(T tree, T other, Func<Tensor?, Tensor?, Tensor?> f) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(f);
        var a = Flatten(tree);
        var b = FlattenLike(tree, other, "tree 1", "tree 0");
        for (int i = 0; i < a.Length; i++) a[i] = f(a[i], b[i]);
        return Unflatten(tree, a);
    }

    /// <summary>
    /// A tree of the structure of <paramref name="tree"/> whose slots are <paramref name="f"/> of the matching slots of
    /// all the trees, given in order (nulls included). The trees must have the same structure and static part.
    /// </summary>
    public static T TreeMap<T>(Func<Tensor?[], Tensor?> f, T tree, params T[] rest) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(rest);
        var first = Flatten(tree);
        var others = new Tensor?[rest.Length][];
        for (int r = 0; r < rest.Length; r++) others[r] = FlattenLike(tree, rest[r], $"tree {r + 1}", "tree 0");
        var slot = new Tensor?[rest.Length + 1];
        for (int i = 0; i < first.Length; i++)
        {
            slot[0] = first[i];
            for (int r = 0; r < rest.Length; r++) slot[r + 1] = others[r][i];
            first[i] = f(slot);
        }
        return Unflatten(tree, first);
    }

    /// <summary>
    /// <paramref name="tree"/> with every tensor for which <paramref name="predicate"/> is false (true, with
    /// <paramref name="inverse"/>) replaced by null. The result is a mask for tree functions, not a model to call.
    /// </summary>
    public static T Filter<T>(T tree, Func<Tensor, bool> predicate, bool inverse = false) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var leaves = Flatten(tree);
        for (int i = 0; i < leaves.Length; i++)
            if (leaves[i] is { } leaf && predicate(leaf) == inverse) leaves[i] = null;
        return Unflatten(tree, leaves);
    }

    /// <summary>
    /// Splits <paramref name="tree"/> in two of the same structure: the tensors that match
    /// <paramref name="predicate"/>, and the rest. <see cref="Combine{T}"/> puts them back together.
    /// </summary>
    public static (T Matching, T Others) Partition<T>(T tree, Func<Tensor, bool> predicate) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var leaves = Flatten(tree);
        var matching = new Tensor?[leaves.Length];
        var rest = new Tensor?[leaves.Length];
        for (int i = 0; i < leaves.Length; i++)
        {
            if (leaves[i] is not { } leaf) continue;
            if (predicate(leaf)) matching[i] = leaf; else rest[i] = leaf;
        }
        return (Unflatten(tree, matching), Unflatten(tree, rest));
    }

    /// <summary>
    /// <paramref name="tree"/> with every tensor that <paramref name="spec"/> drops (keeps, with
    /// <paramref name="inverse"/>) replaced by null, as Equinox's <c>filter(tree, filter_spec, is_leaf=...)</c>.
    /// </summary>
    /// <param name="tree">The tree to filter.</param>
    /// <param name="spec">A decision for the tree and for subtrees (see <see cref="FilterSpec{T}"/>).</param>
    /// <param name="isLeaf">Nodes to treat as one leaf: the spec's predicate gets the node and keeps or drops all of it.</param>
    /// <param name="inverse">Keep what the spec drops instead.</param>
    /// <exception cref="ArgumentException">The spec names a node the tree does not have, or decides inside a node that
    /// <paramref name="isLeaf"/> makes a leaf.</exception>
    public static T Filter<T>(T tree, FilterSpec<T> spec, Func<ITreeNode, bool>? isLeaf = null, bool inverse = false) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(spec);
        var keep = spec.Decide(tree, isLeaf);
        var leaves = Flatten(tree);
        for (int i = 0; i < leaves.Length; i++) if (keep[i] == inverse) leaves[i] = null;
        return Unflatten(tree, leaves);
    }

    /// <summary>
    /// <paramref name="tree"/> with what <paramref name="predicate"/> rejects replaced by null, where the nodes that
    /// <paramref name="isLeaf"/> accepts count as one leaf each: the predicate gets the node (or a tensor outside such
    /// nodes) and keeps or drops all of it. <c>Eqx.Filter(model, x =&gt; x is Linear, isLeaf: n =&gt; n is Linear)</c>
    /// keeps every Linear layer whole.
    /// </summary>
    /// <param name="tree">The tree to filter.</param>
    /// <param name="predicate">Gets a tensor or a node that <paramref name="isLeaf"/> accepts; true keeps it.</param>
    /// <param name="isLeaf">Nodes to treat as one leaf.</param>
    /// <param name="inverse">Keep what the predicate rejects instead.</param>
    public static T Filter<T>(T tree, Func<object, bool> predicate, Func<ITreeNode, bool> isLeaf, bool inverse = false) where T : ITreeNode =>
        Filter(tree, FilterSpec<T>.All(predicate), isLeaf, inverse);

    /// <summary>
    /// Splits <paramref name="tree"/> in two of the same structure: the tensors <paramref name="spec"/> keeps, and
    /// the rest, as Equinox's <c>partition(tree, filter_spec, is_leaf=...)</c>.
    /// </summary>
    /// <param name="tree">The tree to split.</param>
    /// <param name="spec">A decision for the tree and for subtrees (see <see cref="FilterSpec{T}"/>).</param>
    /// <param name="isLeaf">Nodes to treat as one leaf: the spec's predicate gets the node and keeps or drops all of it.</param>
    public static (T Matching, T Others) Partition<T>(T tree, FilterSpec<T> spec, Func<ITreeNode, bool>? isLeaf = null) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(spec);
        var keep = spec.Decide(tree, isLeaf);
        var leaves = Flatten(tree);
        var matching = new Tensor?[leaves.Length];
        var rest = new Tensor?[leaves.Length];
        for (int i = 0; i < leaves.Length; i++)
        {
            if (keep[i]) matching[i] = leaves[i]; else rest[i] = leaves[i];
        }
        return (Unflatten(tree, matching), Unflatten(tree, rest));
    }

    /// <summary>
    /// <see cref="Partition{T}(T, FilterSpec{T}, Func{ITreeNode, bool}?)"/> with one predicate over tensors and the
    /// nodes that <paramref name="isLeaf"/> makes leaves.
    /// </summary>
    /// <param name="tree">The tree to split.</param>
    /// <param name="predicate">Gets a tensor or a node that <paramref name="isLeaf"/> accepts; true puts it in the first tree.</param>
    /// <param name="isLeaf">Nodes to treat as one leaf.</param>
    public static (T Matching, T Others) Partition<T>(T tree, Func<object, bool> predicate, Func<ITreeNode, bool> isLeaf) where T : ITreeNode =>
        Partition(tree, FilterSpec<T>.All(predicate), isLeaf);

    /// <summary>
    /// One tree from several of the same structure: each slot takes the first non-null tensor among
    /// <paramref name="trees"/>. The inverse of <see cref="Partition{T}(T, Func{Tensors.Tensor, bool})"/>.
    /// </summary>
    public static T Combine<T>(params T[] trees) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(trees);
        if (trees.Length == 0) throw new ArgumentException("Combine needs at least one tree.", nameof(trees));
        var result = Flatten(trees[0]);
        for (int r = 1; r < trees.Length; r++)
        {
            var other = FlattenLike(trees[0], trees[r], $"tree {r}", "tree 0");
            for (int i = 0; i < result.Length; i++) result[i] ??= other[i];
        }
        return Unflatten(trees[0], result);
    }

    /// <summary>Whether <paramref name="x"/> is a tensor: a leaf rather than part of the static structure.</summary>
    public static bool IsTensor(object? x) => x is Tensor;

    /// <summary>Whether <paramref name="x"/> is a floating-point or complex tensor: the leaves an optimiser trains.</summary>
    public static bool IsInexactTensor(object? x) => x is Tensor tensor && tensor.DType.IsInexact();

    /// <summary>Equinox's name for <see cref="IsTensor"/> (<c>eqx.is_array</c>): "array" is JAX's word for a tensor.</summary>
    public static bool IsArray(object? x) => IsTensor(x);

    /// <summary>Equinox's name for <see cref="IsInexactTensor"/> (<c>eqx.is_inexact_array</c>).</summary>
    public static bool IsInexactArray(object? x) => IsInexactTensor(x);

    // The slots of `other`, after checking it has the structure of `tree`; `otherName` and `treeName` name the two
    // in the error ("tree 1", "tree 0"), which says where they part: `Layers: 3 elements vs 2 elements`.
    private static Tensor?[] FlattenLike<T>(T tree, T other, string otherName, string treeName) where T : ITreeNode
    {
        if (other is null)
            throw new ArgumentNullException(nameof(other), $"{Capitalize(otherName)} is null; tree functions over several trees need a tree in every position.");
        if (StructureDifference(tree, other) is { } difference)
            throw new ArgumentException(
                $"{Capitalize(otherName)} does not have the structure of {treeName}: {difference}. " +
                "Tree functions over several trees need the same modules, collection lengths and static fields.");
        return Flatten(other);
    }

    /// <summary>
    /// The first place where <paramref name="a"/> and <paramref name="b"/> differ in structure or static part, as
    /// FilterJit's compile reasons say it (<c>Layers: 3 elements vs 2 elements</c>, <c>InFeatures (int): 2 vs 3</c>);
    /// null when they have the same structure and static part. Tensors are not compared.
    /// </summary>
    public static string? StructureDifference<T>(T a, T b) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return a.TreeStaticEquals(b) ? null : TreeDifference.Between("", a, b, " vs ") ?? "a static field or a collection differs";
    }

    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
