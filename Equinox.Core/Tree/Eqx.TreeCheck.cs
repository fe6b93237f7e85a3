using Equinox.Tensors;

namespace Equinox;

public static partial class Eqx
{
    /// <summary>
    /// Checks that <paramref name="tree"/> is a tree: no module that holds a tensor appears twice, no tensor appears
    /// twice (by identity) and nothing contains itself. A model is a tree, not a graph: a node stored in two places
    /// becomes two independent copies after the first update. Throws <see cref="TreeCheckException"/> naming both
    /// paths; use <see cref="Shared{T}"/> to tie nodes on purpose.
    /// </summary>
    /// <remarks>
    /// As in Equinox, a module that holds no tensor (an activation, a module whose slots are all null) may appear
    /// twice: no update can make its copies differ, so storing it twice is harmless. A tensor stored twice is always
    /// an error here (Equinox allows a repeated array leaf): its two slots would get two gradients and two updates.
    /// </remarks>
    public static void TreeCheck<T>(T tree) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(tree);
        var nodes = new Dictionary<object, TreePath>(ReferenceEqualityComparer.Instance);
        var tensors = new Dictionary<Tensor, TreePath>(ReferenceEqualityComparer.Instance);
        var onStack = new HashSet<object>(ReferenceEqualityComparer.Instance);
        Check(tree, TreePath.Root, nodes, tensors, onStack);
        CheckSameNativeTensors(tensors);
    }

    private static void Check(ITreeNode node, TreePath path, Dictionary<object, TreePath> nodes, Dictionary<Tensor, TreePath> tensors, HashSet<object> onStack)
    {
        if (onStack.Contains(node)) throw new TreeCheckException(TreeCycles.Message(node, path, nodes[node]));
        if (nodes.TryGetValue(node, out var first))
        {
            // Its subtree was checked at its first place; a node with no tensor below it cannot diverge.
            if (Leaves(node).Length == 0) return;
            throw Duplicate(node.GetType().Name, first, path);
        }
        nodes.Add(node, path);
        onStack.Add(node);
        node.TreeVisit(new CheckVisitor(path, nodes, tensors, onStack));
        onStack.Remove(node);
    }

    private static void CheckValue(object? value, TreePath path, Dictionary<object, TreePath> nodes, Dictionary<Tensor, TreePath> tensors, HashSet<object> onStack)
    {
        switch (value)
        {
            case null:
                return;
            case Tensor tensor:
                if (tensors.TryGetValue(tensor, out var first)) throw Duplicate("tensor", first, path);
                tensors.Add(tensor, path);
                return;
            case ITreeNode node:
                Check(node, path, nodes, tensors, onStack);
                return;
            case TreeList list:
                for (int i = 0; i < list.Items.Count; i++) CheckValue(list.Items[i], path.Append(TreeStep.At(i)), nodes, tensors, onStack);
                return;
            case TreeDictionary dictionary:
                foreach (var (key, item) in dictionary.Entries) CheckValue(item, path.Append(TreeStep.Key(key)), nodes, tensors, onStack);
                return;
        }
    }

    // Two Tensor objects can wrap the same native tensor; compare only those of equal size to keep this cheap.
    private static void CheckSameNativeTensors(Dictionary<Tensor, TreePath> tensors)
    {
        foreach (var group in tensors.Where(p => !p.Key.IsDisposed).GroupBy(p => p.Key.NumberOfElements))
        {
            var members = group.ToArray();
            for (int a = 0; a < members.Length; a++)
                for (int b = a + 1; b < members.Length; b++)
                    if (members[a].Key.IsSameAs(members[b].Key)) throw Duplicate("tensor", members[a].Value, members[b].Value);
        }
    }

    private static TreeCheckException Duplicate(string what, TreePath first, TreePath second) => new(
        $"The same {what} is stored twice, at {Describe(first)} and at {Describe(second)}. A model is a tree, not a graph: " +
        "after the first update these become two independent copies. To tie them on purpose, store the node once and " +
        "re-insert it with Shared<T> (new Shared<T>(tree, where: t => t.Second, get: t => t.First)); otherwise create two separate nodes.");

    private static string Describe(TreePath path) => path.Steps.Count == 0 ? "the root" : path.ToString();

    private sealed class CheckVisitor(TreePath path, Dictionary<object, TreePath> nodes, Dictionary<Tensor, TreePath> tensors, HashSet<object> onStack) : ITreeVisitor
    {
        public void Tensor(string member, Tensor? value) => CheckValue(value, path.Append(TreeStep.Member(member)), nodes, tensors, onStack);

        public void Child(string member, object? value) => CheckValue(value, path.Append(TreeStep.Member(member)), nodes, tensors, onStack);

        public void Static(string member, object? value)
        {
        }
    }

    /// <summary>
    /// Whether two trees are equal: the same structure and static part, and at every slot either both null or two
    /// tensors of the same dtype, shape and values.
    /// </summary>
    public static bool TreeEqual<T>(T a, T b) where T : ITreeNode => TreeEqual(a, b, 0, 0);

    /// <summary>
    /// Whether two trees are equal within a tolerance, as Equinox's <c>tree_equal(a, b, rtol=..., atol=...)</c>: the
    /// same structure and static part, and at every slot either both null or two tensors of the same dtype and shape
    /// whose floating-point values satisfy <c>|a - b| &lt;= atol + rtol·|b|</c> (NaN equals nothing); integer and
    /// bool tensors compare exactly.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A tolerance is negative or NaN.</exception>
    public static bool TreeEqual<T>(T a, T b, double rtol, double atol) where T : ITreeNode
    {
        if (!(rtol >= 0)) throw new ArgumentOutOfRangeException(nameof(rtol), rtol, "rtol must be >= 0.");
        if (!(atol >= 0)) throw new ArgumentOutOfRangeException(nameof(atol), atol, "atol must be >= 0.");
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        // Flatten first: it stops a tree that contains itself, which the structural comparison would follow forever.
        var left = Flatten(a);
        var right = Flatten(b);
        if (!a.TreeStaticEquals(b)) return false;
        for (int i = 0; i < left.Length; i++)
        {
            if (left[i] is not { } x || right[i] is not { } y)
            {
                if (left[i] is not null || right[i] is not null) return false;
                continue;
            }
            if (ReferenceEquals(x, y)) continue;
            if (x.DType != y.DType || x.Shape != y.Shape) return false;
            using var scope = Torch.Scope();
            using var _ = Torch.NoGrad();
            bool close = (rtol == 0 && atol == 0) || !x.DType.IsInexact()
                ? x.Eq(y).All().Item<bool>()
                : (x - y).Abs().Le(y.Abs() * rtol + atol).All().Item<bool>();
            if (!close) return false;
        }
        return true;
    }
}

/// <summary>
/// Thrown by <see cref="Eqx.TreeCheck{T}"/> when a tree stores a node twice or contains itself, and by every tree
/// walker (Flatten, LeafCount, printing, ...) when the tree contains itself.
/// </summary>
public sealed class TreeCheckException : InvalidOperationException
{
    /// <summary>Creates the exception with its full message.</summary>
    public TreeCheckException(string message) : base(message)
    {
    }
}
