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
    // Per slot, where its value comes from: a TreePath (the node is tied: the stored node itself is re-inserted) or a
    // Func<T, object?> (the value is computed from the stored tree each time Value is read).
    [Static] private readonly object[] get;

    /// <summary>
    /// Stores <paramref name="tree"/> with the node(s) selected by <paramref name="where"/> removed; reading
    /// <see cref="Value"/> puts back, in each removed place, what <paramref name="get"/> gives. Select several with
    /// arrays: <c>where: t =&gt; new[] { t.A.Weight, t.B.Weight }</c>.
    /// <para>
    /// Each element of <c>get</c> is either a path into the tree (<c>t =&gt; t.Embedding.Weight</c>: that node is
    /// re-inserted as it is, so both places hold one object) or any other expression of the stored tree
    /// (<c>t =&gt; t.Embedding.Weight.T</c>, <c>t =&gt; t.Scale + 1</c>): it is computed from the stored tree each time
    /// <see cref="Value"/> is read, so gradients of the use flow into the stored nodes it reads. A computed value must not
    /// read a place that <c>where</c> removes.
    /// </para>
    /// Each value must fit the slot it fills: a tensor of the shape and dtype of the one <c>where</c> selects, or a
    /// module of the same type, structure and leaf shapes; otherwise this throws an <see cref="ArgumentException"/>
    /// naming both.
    /// </summary>
    public Shared(T tree, Expression<Func<T, object?>> where, Expression<Func<T, object?>> get)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(get);
        this.where = TreeSelector.Paths(where);
        this.get = Sources(tree, get);
        if (this.where.Length != this.get.Length)
            throw new ArgumentException($"Shared: where selects {this.where.Length} nodes but get selects {this.get.Length}; they pair up one to one.");
        object? stored = tree;
        foreach (var path in this.where) stored = TreeSelector.Replace(stored, path, _ => null);
        Tree = (T)stored!;
        for (int i = 0; i < this.where.Length; i++) CheckFits(i, tree, Read(i, tree, constructing: true));
        // Building the tied tree once now turns any remaining mismatch (a node of the wrong type for its slot, a get
        // path inside a removed node) into an error here rather than at the first use of Value.
        _ = Value;
    }

    // A path where the body is a chain of member and index accesses that reaches a node of the tree; otherwise the
    // body compiled into a function of the stored tree.
    private static object[] Sources(T tree, Expression<Func<T, object?>> get)
    {
        var bodies = get.Body is NewArrayExpression { NodeType: ExpressionType.NewArrayInit } array
            ? array.Expressions.ToArray()
            : [get.Body];
        var sources = new object[bodies.Length];
        for (int i = 0; i < bodies.Length; i++)
        {
            if (TreeSelector.TryPath(bodies[i], get, out _) is { } path && Reaches(tree, path))
                sources[i] = path;
            else
                sources[i] = Expression.Lambda<Func<T, object?>>(Expression.Convert(bodies[i], typeof(object)), get.Parameters)
                    .Compile(preferInterpretation: true);
        }
        return sources;
    }

    // `p.Embedding.Weight.T` reads like a path but steps into a tensor: it is a computation, not a node.
    private static bool Reaches(T tree, TreePath path)
    {
        try
        {
            return TreeSelector.Get(tree, path) is null or ITreeNode or Tensors.Tensor;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    // The value for slot i, read from `from` (the whole tree at construction, for the checks; the stored tree after).
    private object? Read(int i, T from, bool constructing = false)
    {
        if (get[i] is TreePath path) return TreeSelector.Get(from, path);
        var compute = (Func<T, object?>)get[i];
        if (!constructing) return compute(Tree);
        try
        {
            return compute(Tree);
        }
        catch (Exception e) when (e is NullReferenceException or TreeHoleException)
        {
            throw new ArgumentException(
                $"Shared: get's element {i + 1} reads a node that where removes from the stored tree ({e.Message}); " +
                "a computed value may read only the nodes that are stored.", e);
        }
    }

    // The value must be able to stand in for the node at `where`: Value puts it there, and gradients and updates of
    // both uses land on what it reads, so a different shape would silently change what the slot computes.
    private void CheckFits(int i, T tree, object? node)
    {
        var slot = TreeSelector.Get(tree, where[i]);
        string? why = (node, slot) switch
        {
            (null, _) => "it is null, so there is nothing to tie",
            (_, null) => null, // an empty slot has no shape to match; the type is checked when Value is built
            (Tensors.Tensor n, Tensors.Tensor s) => n.DType == s.DType && n.Shape == s.Shape
                ? null
                : $"it is {n.Describe()} but the slot holds {s.Describe()}; a tied tensor needs the slot's shape and dtype " +
                  "(to tie a transposed weight, compute it: get: t => t.Embedding.Weight.T)",
            (ITreeNode n, ITreeNode s) => ModuleMismatch(n, s),
            _ => $"it is a {TypeNames.CSharp(node.GetType())} but the slot holds a {TypeNames.CSharp(slot.GetType())}",
        };
        if (why is not null)
            throw new ArgumentException($"Shared: get selects {Describe(i)}, which cannot fill the slot {where[i]} that where selects: {why}.");
    }

    private string Describe(int i) => get[i] is TreePath path ? path.ToString() : $"a computed value (element {i + 1})";

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

    /// <summary>
    /// The tree with each removed place filled: a tied node re-inserted, a computed value computed from
    /// <see cref="Tree"/> now. Use this to run the model.
    /// </summary>
    public T Value
    {
        get
        {
            object? result = Tree;
            for (int i = 0; i < where.Length; i++)
            {
                var node = Read(i, Tree);
                result = TreeSelector.Replace(result, where[i], _ => node);
            }
            return (T)result!;
        }
    }
}
