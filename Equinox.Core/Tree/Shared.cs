using System.Linq.Expressions;

namespace Equinox;

/// <summary>
/// Ties nodes of a tree on purpose. A model is a tree, so one object stored in two places becomes two copies after
/// the first update; <c>Shared</c> instead stores <see cref="Tree"/> once, with the nodes that <c>where</c> selects
/// removed, and <see cref="Value"/> re-inserts the nodes that <c>get</c> selects in their place. Gradients of both
/// uses add up on the one stored copy, and updates keep the tie.
/// </summary>
/// <example>
/// The tied embedding: the output projection reuses the embedding's weight.
/// <code>
/// var shared = new Shared&lt;Pair&gt;(new Pair(embedding, head), where: p =&gt; p.Head.Weight, get: p =&gt; p.Embedding.Weight);
/// var (embedding, head) = shared.Value;   // head.Weight is embedding.Weight
/// </code>
/// </example>
[Module]
public sealed partial class Shared<T> where T : class, ITreeNode
{
    private readonly TreePath[] where;
    private readonly TreePath[] get;

    /// <summary>
    /// Stores <paramref name="tree"/> with the node(s) selected by <paramref name="where"/> removed; reading
    /// <see cref="Value"/> puts the node(s) selected by <paramref name="get"/> back in their place. Select several
    /// with arrays: <c>where: t =&gt; new[] { t.A.Weight, t.B.Weight }</c>. Each node that <c>get</c> selects must fit
    /// the slot it fills: a tensor of the shape and dtype of the one <c>where</c> selects, or a module of the same
    /// type, structure and leaf shapes; otherwise this throws an <see cref="ArgumentException"/> naming both paths.
    /// </summary>
    public Shared(T tree, Expression<Func<T, object?>> where, Expression<Func<T, object?>> get)
    {
        ArgumentNullException.ThrowIfNull(tree);
        this.where = TreeSelector.Paths(where);
        this.get = TreeSelector.Paths(get);
        if (this.where.Length != this.get.Length)
            throw new ArgumentException($"Shared: where selects {this.where.Length} nodes but get selects {this.get.Length}; they pair up one to one.");
        for (int i = 0; i < this.where.Length; i++) CheckFits(tree, this.get[i], this.where[i]);
        object? stored = tree;
        foreach (var path in this.where) stored = TreeSelector.Replace(stored, path, _ => null);
        Tree = (T)stored!;
        // Building the tied tree once now turns any remaining mismatch (a node of the wrong type for its slot, a get
        // path inside a removed node) into an error here rather than at the first use of Value.
        _ = Value;
    }

    // The node at `get` must be able to stand in for the node at `where`: Value puts it there, and gradients and
    // updates of both uses land on it, so a different shape would silently change what the slot computes.
    private static void CheckFits(T tree, TreePath get, TreePath where)
    {
        var node = TreeSelector.Get(tree, get);
        var slot = TreeSelector.Get(tree, where);
        string? why = (node, slot) switch
        {
            (null, _) => "it is null, so there is nothing to tie",
            (_, null) => null, // an empty slot has no shape to match; the type is checked when Value is built
            (Tensors.Tensor n, Tensors.Tensor s) => n.DType == s.DType && n.Shape == s.Shape
                ? null
                : $"it is {n.Describe()} but the slot holds {s.Describe()}; a tied tensor needs the slot's shape and dtype " +
                  "(to tie a transposed weight, store one and transpose it where it is used)",
            (ITreeNode n, ITreeNode s) => ModuleMismatch(n, s),
            _ => $"it is a {TypeNames.CSharp(node.GetType())} but the slot holds a {TypeNames.CSharp(slot.GetType())}",
        };
        if (why is not null)
            throw new ArgumentException($"Shared: get selects {get}, which cannot fill the slot {where} that where selects: {why}.");
    }

    private static string? ModuleMismatch(ITreeNode node, ITreeNode slot)
    {
        if (!node.TreeStaticEquals(slot))
            return $"its structure differs from the slot's ({TreeDifference.Between("", node, slot, " vs ") ?? "a static field differs"})";
        var a = Eqx.LeavesWithPaths(node);
        var b = Eqx.Flatten(slot);
        for (int i = 0; i < a.Count; i++)
        {
            if (a[i].Leaf is { } x && b[i] is { } y && (x.DType != y.DType || x.Shape != y.Shape))
                return $"its {a[i].Path} is {x.Describe()} but the slot's is {y.Describe()}";
        }
        return null;
    }

    /// <summary>The stored tree: the only copy of the tied nodes, with the places they are re-inserted at left null.</summary>
    public T Tree { get; }

    /// <summary>The tree with the tied nodes re-inserted: use this to run the model.</summary>
    public T Value
    {
        get
        {
            object? result = Tree;
            for (int i = 0; i < where.Length; i++)
            {
                var node = TreeSelector.Get(Tree, get[i]);
                result = TreeSelector.Replace(result, where[i], _ => node);
            }
            return (T)result!;
        }
    }
}
