using System.Collections;
using System.Globalization;
using Equinox.Tensors;

namespace Equinox;

/// <summary>
/// Where two trees part: the first field, in declaration order, at which their structure or static part differs,
/// as <c>Layers: 3 elements -> 4 elements</c> or <c>Tag (int): 1 vs 2</c>. FilterJit's compile reasons and the tree
/// functions over several trees (Combine, TreeMap, ApplyUpdates) share it, each with its own separator.
/// </summary>
internal static class TreeDifference
{
    /// <summary>
    /// The first difference between <paramref name="before"/> and <paramref name="after"/>, with paths written after
    /// <paramref name="name"/> (empty: from the root), or null when the walk finds none.
    /// </summary>
    internal static string? Between(string name, ITreeNode before, ITreeNode after, string separator) =>
        new Walker(separator).Node(name, before, after);

    /// <summary>
    /// A changed value: <c>n (int): 3 -> 4</c> when printable, <c>n: int 3 -> long 3</c> when its type changed,
    /// otherwise <c>n changed</c>.
    /// </summary>
    internal static string DescribeValue(string name, object? before, object? after, string separator)
    {
        if (before?.GetType() != after?.GetType())
            return $"{name}: {TypeNames.CSharp(before?.GetType())} {Show(before)}{separator}{TypeNames.CSharp(after?.GetType())} {Show(after)}";
        return Printable(after) ? $"{name} ({TypeNames.CSharp(after!.GetType())}): {Show(before)}{separator}{Show(after)}" : $"{name} changed";
    }

    private static string Join(string path, string member) => path.Length == 0 ? member : $"{path}.{member}";

    private sealed class Walker(string separator)
    {
        public string? Node(string path, ITreeNode before, ITreeNode after)
        {
            if (before.GetType() != after.GetType())
                return $"{(path.Length == 0 ? TreePath.Root.ToString() : path)}: {TypeNames.CSharp(before.GetType())}{separator}{TypeNames.CSharp(after.GetType())}";
            var a = Fields.Of(before);
            var b = Fields.Of(after);
            for (int i = 0; i < Math.Min(a.Count, b.Count); i++)
            {
                var (member, isStatic, x) = a[i];
                var y = b[i].Value;
                var where = Join(path, member);
                var difference = isStatic ? Static(where, x, y) : Child(where, x, y);
                if (difference is not null) return difference;
            }
            return null;
        }

        private string? Static(string path, object? before, object? after)
        {
            if (Equals(before, after) || StructuralComparisons.StructuralEqualityComparer.Equals(before, after)) return null;
            return DescribeValue(path, before, after, separator);
        }

        private string? Child(string path, object? before, object? after)
        {
            switch (before, after)
            {
                case (null, null):
                    return null;
                case (ITreeNode x, ITreeNode y):
                    return Node(path, x, y);
                case (TreeList x, TreeList y):
                    if (x.Items.Count != y.Items.Count) return $"{path}: {x.Items.Count} elements{separator}{y.Items.Count} elements";
                    for (int i = 0; i < x.Items.Count; i++)
                    {
                        var difference = Child($"{path}[{i}]", x.Items[i], y.Items[i]);
                        if (difference is not null) return difference;
                    }
                    return null;
                case (TreeDictionary x, TreeDictionary y):
                    var keysBefore = x.Entries.Select(e => e.Key).ToArray();
                    var keysAfter = y.Entries.Select(e => e.Key).ToArray();
                    if (!keysBefore.SequenceEqual(keysAfter))
                        return $"{path}: keys [{string.Join(", ", keysBefore)}]{separator}[{string.Join(", ", keysAfter)}]";
                    for (int i = 0; i < x.Entries.Count; i++)
                    {
                        var difference = Child($"{path}[\"{x.Entries[i].Key}\"]", x.Entries[i].Value, y.Entries[i].Value);
                        if (difference is not null) return difference;
                    }
                    return null;
                case (Tensor or null, Tensor or null):
                    return null; // a tensor and a hole fill the same slot; tensors themselves are not structure
                default:
                    return $"{path}: {Kind(before)}{separator}{Kind(after)}";
            }

            static string Kind(object? value) => value switch
            {
                null => "null",
                TreeList list => $"{list.Items.Count} elements",
                TreeDictionary => "a dictionary",
                _ => TypeNames.CSharp(value.GetType()),
            };
        }
    }

    // A module's fields in declaration order, from its generated TreeVisit.
    private sealed class Fields : ITreeVisitor
    {
        private readonly List<(string Member, bool IsStatic, object? Value)> fields = new();

        internal static List<(string Member, bool IsStatic, object? Value)> Of(ITreeNode node)
        {
            var visitor = new Fields();
            node.TreeVisit(visitor);
            return visitor.fields;
        }

        public void Tensor(string member, Tensor? value) => fields.Add((member, false, value));

        public void Child(string member, object? value) => fields.Add((member, false, value));

        public void Static(string member, object? value) => fields.Add((member, true, value));
    }

    // ---- formatting ------------------------------------------------------------------------------------------

    private static bool Printable(object? value) =>
        value is null or string or Enum || value.GetType().IsPrimitive || value is decimal;

    private static string Show(object? value) => value switch
    {
        null => "null",
        string s => $"\"{s}\"",
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => Printable(value) ? value.ToString() ?? "" : TypeNames.CSharp(value.GetType()),
    };
}
