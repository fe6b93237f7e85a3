using System.Collections.Immutable;
using System.Linq.Expressions;
using Equinox.Tensors;

namespace Equinox;

/// <summary>
/// A filter spec shaped like a prefix of a tree, as Equinox's <c>filter_spec</c>: a decision for the whole tree, and
/// decisions for subtrees that override it. A decision is a bool (keep or drop every tensor below) or a predicate
/// applied to each tensor below (or, with <c>isLeaf</c>, to each node that counts as a leaf). A tensor slot takes the
/// decision of the deepest subtree that contains it. Use it with <see cref="Eqx.Filter{T}(T, FilterSpec{T}, Func{ITreeNode, bool}?, bool)"/>
/// and <see cref="Eqx.Partition{T}(T, FilterSpec{T}, Func{ITreeNode, bool}?)"/>.
/// </summary>
/// <example>
/// Train only the last layer and the biases of the others:
/// <code>
/// var spec = FilterSpec&lt;Mlp&gt;.All(t =&gt; t.Rank == 1).At(m =&gt; m.Layers[2], true);
/// var (trainable, frozen) = Eqx.Partition(model, spec);
/// </code>
/// </example>
/// <typeparam name="T">The type of the tree the spec describes.</typeparam>
public sealed class FilterSpec<T> where T : ITreeNode
{
    private readonly ImmutableList<(TreePath Path, Func<object, bool> Decide)> rules;

    private FilterSpec(ImmutableList<(TreePath, Func<object, bool>)> rules) => this.rules = rules;

    /// <summary>A spec that keeps (or, with false, drops) every tensor unless a subtree says otherwise.</summary>
    public static FilterSpec<T> All(bool keep) => new([(TreePath.Root, keep ? Keep : Drop)]);

    /// <summary>A spec that keeps the tensors for which <paramref name="predicate"/> is true, unless a subtree says otherwise.</summary>
    public static FilterSpec<T> All(Func<Tensor, bool> predicate) => new([(TreePath.Root, OnTensors(predicate))]);

    /// <summary>
    /// A spec that keeps what <paramref name="predicate"/> accepts: each tensor, or each node that <c>isLeaf</c> makes a
    /// leaf (then the whole node is kept or dropped), unless a subtree says otherwise.
    /// </summary>
    public static FilterSpec<T> All(Func<object, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return new([(TreePath.Root, predicate)]);
    }

    /// <summary>This spec with every tensor below the node(s) <paramref name="where"/> selects kept (or dropped).</summary>
    public FilterSpec<T> At(Expression<Func<T, object?>> where, bool keep) => With(where, keep ? Keep : Drop);

    /// <summary>This spec with <paramref name="predicate"/> deciding for the tensors below the node(s) <paramref name="where"/> selects.</summary>
    public FilterSpec<T> At(Expression<Func<T, object?>> where, Func<Tensor, bool> predicate) => With(where, OnTensors(predicate));

    /// <summary>
    /// This spec with <paramref name="predicate"/> deciding for what lies below the node(s) <paramref name="where"/>
    /// selects: each tensor, or each node that <c>isLeaf</c> makes a leaf.
    /// </summary>
    public FilterSpec<T> At(Expression<Func<T, object?>> where, Func<object, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return With(where, predicate);
    }

    private FilterSpec<T> With(Expression<Func<T, object?>> where, Func<object, bool> decide)
    {
        ArgumentNullException.ThrowIfNull(where);
        var result = rules;
        foreach (var path in TreeSelector.Paths(where))
        {
            // A later rule for the same subtree replaces the earlier one, as tree_at on a spec would.
            result = result.RemoveAll(rule => rule.Path.Equals(path)).Add((path, decide));
        }
        return new FilterSpec<T>(result);
    }

    private static readonly Func<object, bool> Keep = _ => true;
    private static readonly Func<object, bool> Drop = _ => false;

    private static Func<object, bool> OnTensors(Func<Tensor, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return x => x is Tensor tensor
            ? predicate(tensor)
            : throw new ArgumentException(
                $"A tensor predicate of a filter spec was given a {TypeNames.CSharp(x.GetType())}, which isLeaf made a leaf; " +
                "give the spec a predicate over object (x => x is ...) to decide for whole nodes.");
    }

    /// <summary>
    /// Decides, for each tensor slot of <paramref name="tree"/> in leaf order, whether it is kept (null slots are
    /// reported as not kept). A node that <paramref name="isLeaf"/> accepts is decided once, for all its slots.
    /// </summary>
    internal bool[] Decide(T tree, Func<ITreeNode, bool>? isLeaf)
    {
        ArgumentNullException.ThrowIfNull(tree);
        foreach (var (path, _) in rules) TreeSelector.Get(tree, path); // throws naming a path the tree does not have
        var keep = new List<bool>(tree.TreeLeafCount);
        TreePath? leafNode = null;
        bool leafNodeKept = false;
        TreeWalk.Walk(tree, TreePath.Root, (place, value) =>
        {
            var path = place.Path;
            if (leafNode is not null && path.StartsWith(leafNode))
            {
                if (place.IsTensorSlot) keep.Add(leafNodeKept && value is not null);
                return;
            }
            leafNode = null;
            if (place.IsTensorSlot)
            {
                keep.Add(value is Tensor tensor && RuleFor(path)(tensor));
            }
            else if (isLeaf is not null && value is ITreeNode node && isLeaf(node))
            {
                foreach (var (rulePath, _) in rules)
                    if (rulePath.Steps.Count > path.Steps.Count && rulePath.StartsWith(path))
                        throw new ArgumentException(
                            $"The filter spec decides for {rulePath}, which lies inside {Describe(path)}, a node that isLeaf makes a " +
                            "leaf: a leaf is kept or dropped whole. Decide for the node itself, or leave it out of isLeaf.");
                leafNode = path;
                leafNodeKept = RuleFor(path)(node);
            }
        });
        return keep.ToArray();
    }

    // The deepest rule whose subtree contains the path; the root rule always does.
    private Func<object, bool> RuleFor(TreePath path)
    {
        Func<object, bool>? best = null;
        int depth = -1;
        foreach (var (rulePath, decide) in rules)
        {
            if (rulePath.Steps.Count > depth && path.StartsWith(rulePath))
            {
                best = decide;
                depth = rulePath.Steps.Count;
            }
        }
        return best!;
    }

    private static string Describe(TreePath path) => path.Steps.Count == 0 ? "the root" : path.ToString();
}
