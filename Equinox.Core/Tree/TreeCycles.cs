using Equinox.Tensors;

namespace Equinox;

/// <summary>
/// A tree that contains itself (a constructor that hands <c>this</c> to a child, a back-link set through reflection)
/// would send every recursive walker into a stack overflow, which kills the process. The walkers count their depth
/// instead, and only past <see cref="CheckDepth"/> look for a cycle from the root: a real tree pays one counter, and
/// a deep tree without a cycle is checked once and then walked on.
/// </summary>
internal static class TreeCycles
{
    /// <summary>The depth past which a walker looks for a cycle. Real models are a few dozen levels deep.</summary>
    internal const int CheckDepth = 1000;

    // The generated leaf count recurses without a walker object to carry the depth, so it keeps it per thread.
    [ThreadStatic] private static int countDepth;
    [ThreadStatic] private static ITreeNode? countRoot;
    [ThreadStatic] private static bool countRootChecked;

    /// <summary><paramref name="count"/> of <paramref name="node"/>, with the thread's count depth guarded.</summary>
    internal static int Count<TNode>(TNode node, Func<TNode, int> count) where TNode : ITreeNode
    {
        int depth = ++countDepth;
        try
        {
            if (depth == 1)
            {
                countRoot = node;
                countRootChecked = false;
            }
            else if (depth >= CheckDepth && !countRootChecked)
            {
                ThrowIfCycle(countRoot!);
                countRootChecked = true;
            }
            return count(node);
        }
        finally
        {
            if (--countDepth == 0) countRoot = null; // do not keep the tree alive
        }
    }

    /// <summary>The depth check of one walk from one root (printing, walking with paths).</summary>
    internal sealed class Guard(ITreeNode root)
    {
        private bool cleared;

        /// <summary>Called at each level; looks for a cycle once, the first time the walk is that deep.</summary>
        public void At(int depth)
        {
            if (depth < CheckDepth || cleared) return;
            ThrowIfCycle(root);
            cleared = true;
        }
    }

    /// <summary>Throws <see cref="TreeCheckException"/> naming the cycle's path if <paramref name="root"/> contains itself.</summary>
    internal static void ThrowIfCycle(ITreeNode root)
    {
        if (Find(root) is { } message) throw new TreeCheckException(message);
    }

    /// <summary>The message for the first node found that is its own ancestor, or null. Iterative: never deep itself.</summary>
    internal static string? Find(ITreeNode root)
    {
        var onPath = new Dictionary<ITreeNode, TreePath>(ReferenceEqualityComparer.Instance);
        var finished = new HashSet<ITreeNode>(ReferenceEqualityComparer.Instance); // a node stored twice is explored once
        var stack = new Stack<Frame>();
        stack.Push(new Frame(root, TreePath.Root));
        onPath.Add(root, TreePath.Root);
        while (stack.Count > 0)
        {
            var frame = stack.Peek();
            if (frame.Next == frame.Children.Count)
            {
                stack.Pop();
                onPath.Remove(frame.Node);
                finished.Add(frame.Node);
                continue;
            }
            var (path, child) = frame.Children[frame.Next++];
            if (onPath.TryGetValue(child, out var ancestor)) return Message(child, path, ancestor);
            if (finished.Contains(child)) continue;
            stack.Push(new Frame(child, path));
            onPath.Add(child, path);
        }
        return null;
    }

    /// <summary>The message for a cycle: <paramref name="path"/> holds <paramref name="node"/>, already at <paramref name="ancestor"/>.</summary>
    internal static string Message(ITreeNode node, TreePath path, TreePath ancestor) =>
        $"The tree contains a cycle: {path} is the same {node.GetType().Name} object as " +
        $"{(ancestor.Steps.Count == 0 ? "the root" : ancestor.ToString())}, which contains it, so the tree never ends. " +
        "A module must not store itself or one of its ancestors (a constructor that stores `this` in a child, or a " +
        "back-link set afterwards); build the child as a separate module.";

    // One node of the iterative walk: its module children (collections opened), and how many have been followed.
    private sealed class Frame : ITreeVisitor
    {
        public Frame(ITreeNode node, TreePath path)
        {
            Node = node;
            Path = path;
            node.TreeVisit(this);
        }

        public ITreeNode Node { get; }

        public TreePath Path { get; }

        public List<(TreePath Path, ITreeNode Child)> Children { get; } = new();

        public int Next { get; set; }

        public void Tensor(string member, Tensor? value)
        {
        }

        public void Child(string member, object? value)
        {
            var path = Path.Append(TreeStep.Member(member));
            switch (value)
            {
                case ITreeNode node:
                    Children.Add((path, node));
                    break;
                case TreeList list:
                    for (int i = 0; i < list.Items.Count; i++)
                        if (list.Items[i] is ITreeNode item) Children.Add((path.Append(TreeStep.At(i)), item));
                    break;
                case TreeDictionary dictionary:
                    foreach (var (key, entry) in dictionary.Entries)
                        if (entry is ITreeNode item) Children.Add((path.Append(TreeStep.Key(key)), item));
                    break;
            }
        }

        public void Static(string member, object? value)
        {
        }
    }
}
