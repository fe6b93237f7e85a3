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
    /// with arrays: <c>where: t =&gt; new[] { t.A.Weight, t.B.Weight }</c>.
    /// </summary>
    public Shared(T tree, Expression<Func<T, object?>> where, Expression<Func<T, object?>> get)
    {
        ArgumentNullException.ThrowIfNull(tree);
        this.where = TreeSelector.Paths(where);
        this.get = TreeSelector.Paths(get);
        if (this.where.Length != this.get.Length)
            throw new ArgumentException($"Shared: where selects {this.where.Length} nodes but get selects {this.get.Length}; they pair up one to one.");
        object? stored = tree;
        foreach (var path in this.where) stored = TreeSelector.Replace(stored, path, _ => null);
        Tree = (T)stored!;
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
