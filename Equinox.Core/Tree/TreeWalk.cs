using Equinox.Torch;

namespace Equinox;

/// <summary>A depth-first walk over every node of a tree with its path, for the tools that need paths.</summary>
internal static class TreeWalk
{
    /// <summary>A position reached by the walk: its path, and whether it is a tensor slot.</summary>
    internal readonly record struct Place(TreePath Path, bool IsTensorSlot);

    /// <summary>Calls <paramref name="visit"/> on every node and tensor slot below and including <paramref name="node"/>.</summary>
    public static void Walk(ITreeNode node, TreePath path, Action<Place, object?> visit)
    {
        visit(new Place(path, false), node);
        node.TreeVisit(new Visitor(path, visit));
    }

    private static void WalkValue(object? value, TreePath path, bool tensorSlot, Action<Place, object?> visit)
    {
        switch (value)
        {
            case ITreeNode node:
                Walk(node, path, visit);
                break;
            case TreeList list:
                visit(new Place(path, false), list);
                for (int i = 0; i < list.Items.Count; i++)
                    WalkValue(list.Items[i], path.Append(TreeStep.At(i)), list.HoldsTensors, visit);
                break;
            case TreeDictionary dictionary:
                visit(new Place(path, false), dictionary);
                foreach (var (key, item) in dictionary.Entries)
                    WalkValue(item, path.Append(TreeStep.Key(key)), dictionary.HoldsTensors, visit);
                break;
            default:
                visit(new Place(path, tensorSlot), value);
                break;
        }
    }

    private sealed class Visitor(TreePath path, Action<Place, object?> visit) : ITreeVisitor
    {
        public void Tensor(string member, Tensor? value) => visit(new Place(path.Append(TreeStep.Member(member)), true), value);

        public void Child(string member, object? value) => WalkValue(value, path.Append(TreeStep.Member(member)), false, visit);

        public void Static(string member, object? value)
        {
        }
    }
}
