using System.Runtime.CompilerServices;
using Equinox.Tensors;

namespace Equinox;

// The checks FilterJvp, FilterCustomVjp and FilterCustomJvp share: where a transformation may not run, the paths of
// the tensor slots of their values, and whether a tangent or cotangent fits the tensor it belongs to.
internal static class TangentChecks
{
    /// <summary>Refuses a transformation inside FilterVmap, where its autograd machinery cannot see the batching.</summary>
    internal static void NotInVmap(string caller)
    {
        if (Vmap.IsRunning)
            throw new NotSupportedException(
                $"{caller} inside Eqx.FilterVmap is not supported: functorch's batched tensors do not pass through " +
                "LibTorch's forward-mode AD or custom autograd nodes in this binding. Call it outside the FilterVmap " +
                "(on the whole batch), or differentiate with Eqx.FilterGrad, which works per example.");
    }

    /// <summary>
    /// The path of each tensor slot of a transformation's value (a tensor, a module, or a value tuple of those), in
    /// the order <see cref="TreeLike.Flatten"/> lists them, under the name <paramref name="root"/>.
    /// </summary>
    internal static List<string> SlotPaths(object? value, string root)
    {
        var paths = new List<string>();
        if (value is ITuple tuple && value.GetType().FullName?.StartsWith("System.ValueTuple`", StringComparison.Ordinal) == true)
            for (int i = 0; i < tuple.Length; i++) AddLeafOrModule(tuple[i], $"{root}.Item{i + 1}", paths);
        else
            AddLeafOrModule(value, root, paths);
        return paths;
    }

    private static void AddLeafOrModule(object? value, string root, List<string> paths)
    {
        switch (value)
        {
            case Tensor:
                paths.Add(root);
                break;
            case ITreeNode node:
                foreach (var path in Eqx.LeafPaths(node)) paths.Add(Join(root, path.ToString()));
                break;
        }
    }

    /// <summary>The path of a leaf of a tree called <paramref name="root"/>: <c>tangents.Layers[0].Weight</c>.</summary>
    internal static string Join(string root, string path) =>
        path.Length == 0 ? root : path.StartsWith('[') ? root + path : $"{root}.{path}";

    /// <summary>
    /// Why <paramref name="given"/> cannot be the tangent (or cotangent) of <paramref name="primal"/> at
    /// <paramref name="path"/>, or null when it can: a tangent needs an inexact primal of its shape, dtype and device.
    /// </summary>
    internal static string? Mismatch(Tensor? primal, Tensor given, string path, string what, string primalWhat)
    {
        if (primal is null)
            return $"the {what} at {path} is {given.Describe()} but the {primalWhat} there is null; give null there.";
        if (!primal.DType.IsInexact())
            return $"the {what} at {path} is {given.Describe()} but the {primalWhat} there is {primal.Describe()}, which is not " +
                   "differentiated (only floating-point and complex tensors are); give null there.";
        if (given.DType != primal.DType || given.Shape != primal.Shape || given.Device != primal.Device)
            return $"the {what} at {path} is {given.Describe()} but the {primalWhat} there is {primal.Describe()}; " +
                   $"a {what} must have the shape, dtype and device of its {primalWhat} (null for zero).";
        return null;
    }
}
