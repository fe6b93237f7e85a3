using Equinox.Tensors;

namespace Equinox;

/// <summary>
/// The values transformations take and return, seen as trees: a <see cref="Tensor"/> is one leaf, an
/// <see cref="ITreeNode"/> module its tensor slots, null an empty tree. No reflection: modules flatten through the
/// generated tree contract.
/// </summary>
internal static class VmapTrees
{
    internal static Tensor?[] Flatten(object? value, string where) =>
        TreeLike.LeafOrModuleSlots(value) ?? throw new NotSupportedException(
            $"{where} is a {value!.GetType().Name}; transformations take and return tensors, [Module] trees or value " +
            "tuples of those. Capture other values in the lambda instead.");

    internal static object? Rebuild(object? like, Tensor?[] leaves) => like switch
    {
        null => null,
        Tensor => leaves[0],
        ITreeNode node => Eqx.Unflatten(node, leaves),
        _ => throw new NotSupportedException($"cannot rebuild a {like.GetType().Name}"),
    };

    // Paths are computed only when a message or a Select spec needs them.
    internal static TreePath[] Paths(object? value) => value is ITreeNode node ? Eqx.LeafPaths(node) : [TreePath.Root];

    internal static string Describe(string role, int index, int count, TreePath? path)
    {
        var text = count == 1 ? $"the {role}" : $"{role} {index}";
        return path is null || path.Equals(TreePath.Root) ? text : $"{text} at {path}";
    }
}
