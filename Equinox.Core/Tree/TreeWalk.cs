using Equinox.Tensors;

namespace Equinox;

/// <summary>A depth-first walk over every node of a tree with its path, for the tools that need paths.</summary>
internal static class TreeWalk
{
    /// <summary>A position reached by the walk: its path, and whether it is a tensor slot.</summary>
    internal readonly record struct Place(TreePath Path, bool IsTensorSlot);

    /// <summary>
    /// Calls <paramref name="visit"/> on every node and tensor slot below and including <paramref name="root"/>; throws
    /// <see cref="TreeCheckException"/> naming the cycle if the tree contains itself.
    /// </summary>
    public static void Walk(ITreeNode root, TreePath path, Action<Place, object?> visit) =>
        new Walker(new TreeCycles.Guard(root), visit).Node(root, path);

    private sealed class Walker(TreeCycles.Guard guard, Action<Place, object?> visit)
    {
        public void Node(ITreeNode node, TreePath path)
        {
            guard.At(path.Steps.Count);
            visit(new Place(path, false), node);
            node.TreeVisit(new Visitor(path, this));
        }

        public void Value(object? value, TreePath path, bool tensorSlot)
        {
            switch (value)
            {
                case ITreeNode node:
                    Node(node, path);
                    break;
                case TreeList list:
                    visit(new Place(path, false), list);
                    for (int i = 0; i < list.Items.Count; i++)
                        Value(list.Items[i], path.Append(TreeStep.At(i)), list.HoldsTensors);
                    break;
                case TreeDictionary dictionary:
                    visit(new Place(path, false), dictionary);
                    foreach (var (key, item) in dictionary.Entries)
                        Value(item, path.Append(TreeStep.Key(key)), dictionary.HoldsTensors);
                    break;
                default:
                    visit(new Place(path, tensorSlot), value);
                    break;
            }
        }

        public void Slot(TreePath path, Tensor? value) => visit(new Place(path, true), value);
    }

    private sealed class Visitor(TreePath path, Walker walker) : ITreeVisitor
    {
        public void Tensor(string member, Tensor? value) => walker.Slot(path.Append(TreeStep.Member(member)), value);

        public void Child(string member, object? value) => walker.Value(value, path.Append(TreeStep.Member(member)), false);

        public void Static(string member, object? value)
        {
        }
    }
}
