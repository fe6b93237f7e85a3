using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Equinox.Tensors;

namespace Equinox;

// The values that transformations carry besides modules: a Tensor, a module, or a value tuple of those (Scan's carry
// and outputs, FilterGrad's aux). A null is an empty subtree. Kept internal: users see these rules in the docs of the
// transformations that use them.
internal static class TreeLike
{
    /// <summary>Appends the tensor slots of <paramref name="value"/> to <paramref name="into"/> (null slots included).</summary>
    internal static void Flatten(object? value, List<Tensor?> into, string what)
    {
        if (value is ITuple tuple && IsValueTuple(value.GetType()))
            for (int i = 0; i < tuple.Length; i++) FlattenLeafOrModule(tuple[i], into, what);
        else
            FlattenLeafOrModule(value, into, what);
    }

    /// <summary>
    /// The tensor slots of a tensor (itself), a module (its slots, nulls included) or null (none); null when
    /// <paramref name="value"/> is none of these, for the caller to reject in its own words.
    /// </summary>
    internal static Tensor?[]? LeafOrModuleSlots(object? value) => value switch
    {
        null => [],
        Tensor tensor => [tensor],
        ITreeNode node => Eqx.Flatten(node),
        _ => null,
    };

    private static void FlattenLeafOrModule(object? value, List<Tensor?> into, string what)
    {
        if (LeafOrModuleSlots(value) is { } slots)
        {
            into.AddRange(slots);
            return;
        }
        if (value is ITuple && IsValueTuple(value.GetType()))
            throw new NotSupportedException(
                $"{what} holds a tuple inside a tuple ({TypeNames.Clr(value.GetType())}). Use one flat tuple of tensors " +
                "and [Module] types, or gather the nested part into a [Module].");
        throw Unsupported(value!, what);
    }

    /// <summary>
    /// The value of <paramref name="template"/>'s structure with its slots read from <paramref name="leaves"/>: a
    /// tensor slot becomes the next leaf, a module is unflattened, a value tuple of the top-level type is built anew.
    /// </summary>
    internal static T Rebuild<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] T>(
        T template, ReadOnlySpan<Tensor?> leaves, string what)
    {
        int position = 0;
        object? result;
        if (template is ITuple tuple && IsValueTuple(typeof(T)))
        {
            var items = new object?[tuple.Length];
            for (int i = 0; i < items.Length; i++) items[i] = RebuildLeafOrModule(tuple[i], leaves, ref position, what);
            result = Activator.CreateInstance(typeof(T), items);
        }
        else
        {
            result = RebuildLeafOrModule(template, leaves, ref position, what);
        }
        if (position != leaves.Length)
            throw new InvalidOperationException($"{what}: rebuilt {position} of {leaves.Length} tensors; the structure changed.");
        return (T)result!;
    }

    private static object? RebuildLeafOrModule(object? template, ReadOnlySpan<Tensor?> leaves, ref int position, string what)
    {
        switch (template)
        {
            case null:
                return null;
            case Tensor:
                return leaves[position++];
            case ITreeNode node:
                var count = node.TreeLeafCount;
                var result = Eqx.Unflatten(node, leaves.Slice(position, count));
                position += count;
                return result;
            default:
                throw new NotSupportedException(
                    $"{what} holds a {TypeNames.Clr(template.GetType())} inside a tuple. Tuples nested in tuples are not " +
                    "supported here: use a tensor, a [Module] type, or one flat tuple of those.");
        }
    }

    /// <summary>
    /// Why <paramref name="actual"/> does not have the structure of <paramref name="expected"/>: their types, modules'
    /// structure and static fields, null slots, and each tensor's shape, dtype and device; null when they match.
    /// </summary>
    internal static string? Difference(object? expected, object? actual, string path)
    {
        if (expected is null && actual is null) return null;
        if (expected is null || actual is null || expected.GetType() != actual.GetType())
            return $"{path} was {Describe(expected)} and is now {Describe(actual)}";
        switch (expected)
        {
            case Tensor e:
                return TensorDifference(e, (Tensor)actual, path);
            case ITreeNode e:
            {
                var a = (ITreeNode)actual;
                if (!e.TreeStaticEquals(a))
                    return TreeDifference.Between(path, e, a, " -> ") is { } where
                        ? $"{path} is a {TypeNames.Clr(e.GetType())} whose structure or static fields changed: {where}"
                        : $"{path} is a {TypeNames.Clr(e.GetType())} whose structure or static fields changed " +
                          $"({e.TreeLeafCount} tensor slots before, {a.TreeLeafCount} now)";
                var before = Eqx.Flatten(e);
                var after = Eqx.Flatten(a);
                TreePath[]? paths = null;
                for (int i = 0; i < before.Length; i++)
                {
                    string Slot() => $"{path}.{(paths ??= Eqx.LeafPaths(e))[i]}";
                    if (before[i] is null != after[i] is null)
                        return $"{Slot()} was {Describe(before[i])} and is now {Describe(after[i])}";
                    if (before[i] is { } b && TensorDifference(b, after[i]!, "") is { } why) return Slot() + why;
                }
                return null;
            }
            case ITuple e:
            {
                var a = (ITuple)actual;
                for (int i = 0; i < e.Length; i++)
                    if (Difference(e[i], a[i], $"{path}.Item{i + 1}") is { } why) return why;
                return null;
            }
            default:
                return null;
        }
    }

    private static string? TensorDifference(Tensor expected, Tensor actual, string path)
    {
        if (expected.DType == actual.DType && expected.Shape == actual.Shape && expected.Device == actual.Device)
            return null;
        return $"{path} was {expected.Describe()} and is now {actual.Describe()}";
    }

    internal static string Describe(object? value) => value switch
    {
        null => "null",
        Tensor t => t.Describe(),
        _ => "a " + TypeNames.Clr(value.GetType()),
    };

    private static bool IsValueTuple(Type type) =>
        type.IsGenericType && type.FullName is { } name && name.StartsWith("System.ValueTuple`", StringComparison.Ordinal);

    private static NotSupportedException Unsupported(object value, string what) => new(
        $"{what} holds a {TypeNames.Clr(value.GetType())}. Transformations carry tensors, [Module] types and value tuples " +
        "of those; wrap other state in a [Module] (its non-tensor fields become static structure).");
}
