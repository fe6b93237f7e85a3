using Equinox.Tensors;

namespace Equinox.Transforms;

/// <summary>
/// Why a call compiled: the new key against the nearest cached entry (the one with the fewest differences), as
/// lines such as <c>x: f32[32,2] -> f32[31,2]</c>, <c>model.Layers[0].Weight: f32[8,2] -> f64[8,2]</c>,
/// <c>model.Activation changed</c> or <c>n (int): 3 -> 4</c>. Runs only on a cache miss.
/// </summary>
internal static class JitDiagnostics
{
    internal const string FirstCall = "first call";

    /// <summary>The differences from the nearest entry, in argument order, and the arguments they touch.</summary>
    internal static (List<string> Differences, HashSet<int> Arguments) Explain(JitKeyBuilder key, IReadOnlyList<JitEntry> entries, string[] names)
    {
        List<string>? best = null;
        HashSet<int>? bestArguments = null;
        int bestCount = int.MaxValue;
        // Newest first, so that among equally near entries the most recent one is named.
        for (int e = entries.Count - 1; e >= 0; e--)
        {
            var entry = entries[e];
            var differences = new List<string>();
            var arguments = new HashSet<int>();
            int count = Compare(key, entry, names, differences, arguments);
            if (count < bestCount)
            {
                (best, bestArguments, bestCount) = (differences, arguments, count);
            }
        }
        if (best is null || best.Count == 0) return ([FirstCall], []);
        return (best, bestArguments!);
    }

    // Counts the differences (leaves one each, a changed static part one) and describes them in order.
    private static int Compare(JitKeyBuilder key, JitEntry entry, string[] names, List<string> differences, HashSet<int> arguments)
    {
        int count = 0;
        int items = Math.Min(key.ItemCount, entry.Items.Length);
        var newOffsets = JitSignature.LeafOffsets(key.SignatureSpan, key.LeafCount);
        var oldOffsets = JitSignature.LeafOffsets(entry.Signature, entry.Items.Length == 0 ? 0 : LeafTotal(entry));
        for (int i = 0; i < items; i++)
        {
            var now = key.Items[i];
            var then = entry.Items[i];
            var name = ItemName(key.Items, i, names);
            var newValue = key.Values[i];
            var oldValue = entry.Values[i];
            if (now.Kind != then.Kind || now.Argument != then.Argument || now.Parent != then.Parent || now.Element != then.Element)
            {
                differences.Add($"{name}: {DescribeItem(then, oldValue, entry.Signature, oldOffsets)} -> {DescribeItem(now, newValue, key.SignatureSpan, newOffsets)}");
                arguments.Add(now.Argument);
                // The layouts part here; count the rest as different wholesale.
                return count + 1 + 1000;
            }
            bool staticChanged = !JitKeyBuilder.StaticEquals(now.Kind, oldValue, newValue) || now.LeafCount != then.LeafCount;
            if (staticChanged)
            {
                count++;
                arguments.Add(now.Argument);
                differences.Add(now.Kind switch
                {
                    JitItemKind.Node => DescribeNode(name, (ITreeNode)oldValue!, (ITreeNode)newValue!),
                    JitItemKind.Value => DescribeValue(name, oldValue, newValue),
                    _ => $"{name}: {TypeNames.CSharp(oldValue as Type)} -> {TypeNames.CSharp(newValue as Type)}",
                });
                continue;
            }
            if (now.Kind == JitItemKind.Tuple) continue;
            TreePath[]? paths = null;
            for (int leaf = 0; leaf < now.LeafCount; leaf++)
            {
                var a = Word(entry.Signature, oldOffsets, then.LeafStart + leaf);
                var b = Word(key.SignatureSpan, newOffsets, now.LeafStart + leaf);
                if (a.SequenceEqual(b)) continue;
                count++;
                arguments.Add(now.Argument);
                string where = name;
                if (now.Kind == JitItemKind.Node)
                {
                    paths ??= Eqx.LeafPaths((ITreeNode)newValue!);
                    where = $"{name}.{paths[leaf]}";
                }
                differences.Add($"{where}: {JitSignature.DescribeLeaf(a)} -> {JitSignature.DescribeLeaf(b)}");
            }
        }
        if (key.ItemCount != entry.Items.Length)
        {
            differences.Add($"{key.ItemCount} argument items -> {entry.Items.Length}");
            count += 1000;
        }
        return count;
    }

    private static int LeafTotal(JitEntry entry)
    {
        int total = 0;
        foreach (var item in entry.Items) if (item.Parent < 0) total += item.LeafCount;
        return total;
    }

    private static ReadOnlySpan<long> Word(ReadOnlySpan<long> signature, int[] offsets, int leaf) =>
        leaf + 1 < offsets.Length ? signature[offsets[leaf]..offsets[leaf + 1]] : [];

    private static string DescribeItem(JitItem item, object? value, ReadOnlySpan<long> signature, int[] offsets) => item.Kind switch
    {
        JitItemKind.Null => "null",
        JitItemKind.Tensor => JitSignature.DescribeLeaf(Word(signature, offsets, item.LeafStart)),
        JitItemKind.Tuple => TypeNames.CSharp(value as Type),
        _ => value is null ? "null" : TypeNames.CSharp(value.GetType()),
    };

    /// <summary>The name of item <paramref name="index"/>: the parameter name, then <c>.Item1</c> per tuple level.</summary>
    internal static string ItemName(JitItem[] items, int index, string[] names)
    {
        var item = items[index];
        if (item.Parent < 0) return names[item.Argument];
        return $"{ItemName(items, item.Parent, names)}.Item{item.Element + 1}";
    }

    private static string DescribeValue(string name, object? before, object? after) =>
        TreeDifference.DescribeValue(name, before, after, " -> ");

    // ---- modules: the first static difference, walking both trees side by side (shared with the tree functions) --

    private static string DescribeNode(string name, ITreeNode before, ITreeNode after) =>
        TreeDifference.Between(name, before, after, " -> ") ?? $"{name}: the static part changed";
}
