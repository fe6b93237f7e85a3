using System.Linq.Expressions;

namespace Equinox;

public static partial class Eqx
{
    /// <summary>
    /// A copy of <paramref name="tree"/> with the node that <paramref name="where"/> selects replaced by
    /// <paramref name="replace"/>: <c>Eqx.TreeAt(model, m =&gt; m.Layers[0].Bias, Tensor.Zeros(64))</c>. The selector
    /// is a chain of member and index accesses; the node may be null (an empty subtree).
    /// </summary>
    public static T TreeAt<T, TNode>(T tree, Expression<Func<T, TNode>> where, TNode replace) where T : ITreeNode =>
        TreeAtPaths(tree, TreeSelector.Paths(where), (_, _) => replace);

    /// <summary>
    /// A copy of <paramref name="tree"/> with the node that <paramref name="where"/> selects replaced by
    /// <paramref name="replaceFn"/> of it: <c>Eqx.TreeAt(model, m =&gt; m.Head.Weight, w =&gt; w * 2)</c>.
    /// </summary>
    public static T TreeAt<T, TNode>(T tree, Expression<Func<T, TNode>> where, Func<TNode, TNode> replaceFn) where T : ITreeNode =>
        TreeAtPaths(tree, TreeSelector.Paths(where), (_, node) => replaceFn((TNode)node!));

    /// <summary>
    /// A copy of <paramref name="tree"/> with several nodes replaced at once:
    /// <c>Eqx.TreeAt(model, m =&gt; new[] { m.A.Weight, m.B.Weight }, new[] { wa, wb })</c>.
    /// </summary>
    public static T TreeAt<T, TNode>(T tree, Expression<Func<T, TNode[]>> where, TNode[] replace) where T : ITreeNode
    {
        var paths = TreeSelector.Paths(where);
        if (where.Body is not NewArrayExpression) return TreeAtPaths(tree, paths, (_, _) => replace);
        if (paths.Length != replace.Length)
            throw new ArgumentException($"TreeAt selected {paths.Length} nodes but got {replace.Length} replacements.", nameof(replace));
        return TreeAtPaths(tree, paths, (i, _) => replace[i]);
    }

    /// <summary>A copy of <paramref name="tree"/> with <paramref name="replaceFn"/> applied to each of several selected nodes.</summary>
    public static T TreeAt<T, TNode>(T tree, Expression<Func<T, TNode[]>> where, Func<TNode, TNode> replaceFn) where T : ITreeNode
    {
        if (where.Body is not NewArrayExpression)
            throw new ArgumentException("To apply replaceFn to several nodes, select them with an array: m => new[] { m.A, m.B }.", nameof(where));
        return TreeAtPaths(tree, TreeSelector.Paths(where), (_, node) => replaceFn((TNode)node!));
    }

    /// <summary>The node at <paramref name="path"/> in <paramref name="tree"/>: a tensor, module, collection or null.</summary>
    public static object? TreeGet<T>(T tree, TreePath path) where T : ITreeNode => TreeSelector.Get(tree, path);

    /// <summary>A copy of <paramref name="tree"/> with the node at <paramref name="path"/> replaced by <paramref name="replace"/>.</summary>
    public static T TreeAt<T>(T tree, TreePath path, object? replace) where T : ITreeNode =>
        TreeAtPaths(tree, [path], (_, _) => replace);

    private static T TreeAtPaths<T>(T tree, TreePath[] paths, Func<int, object?, object?> replacement) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(tree);
        for (int a = 0; a < paths.Length; a++)
            for (int b = 0; b < paths.Length; b++)
                if (a != b && IsPrefix(paths[a], paths[b]))
                    throw new ArgumentException($"TreeAt selected overlapping nodes: {paths[a]} contains {paths[b]}. Select each node once.");
        object? result = tree;
        for (int i = 0; i < paths.Length; i++)
        {
            if (paths[i].Steps.Count == 0)
                throw new ArgumentException("TreeAt's selector returns the whole tree; to replace the whole tree, just use the new tree.");
            var original = TreeSelector.Get(tree, paths[i]);
            int index = i;
            result = TreeSelector.Replace(result, paths[i], _ => replacement(index, original));
        }
        return (T)result!;
    }

    private static bool IsPrefix(TreePath prefix, TreePath path) =>
        prefix.Steps.Count <= path.Steps.Count && prefix.Steps.SequenceEqual(path.Steps.Take(prefix.Steps.Count));
}
