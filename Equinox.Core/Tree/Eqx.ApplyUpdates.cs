using Equinox.Tensors;

namespace Equinox;

public static partial class Eqx
{
    /// <summary>
    /// <paramref name="model"/> with every tensor moved by its update: <c>leaf + update</c>; a null update keeps the
    /// leaf as it is. <paramref name="updates"/> has the model's structure, as optimisers and gradients do. Each update
    /// has exactly its leaf's shape (it is never broadcast) and a dtype that casts to the leaf's (PyTorch's
    /// <c>can_cast</c>: not complex to real, floating point to integer, or anything to bool); the sum follows PyTorch's
    /// type promotion, so an f64 update of an f32 leaf gives an f64 leaf, as without donation.
    /// </summary>
    /// <remarks>
    /// Inside a FilterJit step that donates <paramref name="model"/> (<c>donate: Donate.Arg1</c>), each update of a
    /// donated tensor of the same shape, dtype and device is written into that tensor's memory, and the returned model
    /// holds it through a new handle; the old handle is disposed, so reading the old model afterwards throws. The step
    /// then never holds two copies of the parameters. Elsewhere, and for a leaf that needs a gradient, the sum is a new
    /// tensor and the model is left alone.
    /// </remarks>
    public static T ApplyUpdates<T>(T model, T updates) where T : ITreeNode
    {
        var leaves = Flatten(model);
        var deltas = FlattenLike(model, updates, "the update tree", "the model");
        TreePath[]? paths = null;
        TreePath PathOf(int i) => (paths ??= LeafPaths(model))[i];
        // Every update is checked before any is applied, so that a bad one leaves a donated model untouched.
        for (int i = 0; i < leaves.Length; i++)
        {
            if (deltas[i] is not { } delta) continue;
            if (leaves[i] is not { } leaf)
                throw new ArgumentException(
                    $"ApplyUpdates: there is an update for {PathOf(i)}, but the model has no tensor there.", nameof(updates));
            // The one rule for both paths below, so the in-place one never sees a mismatched update.
            if (UpdateMismatch(leaf, delta) is { } why)
                throw new ArgumentException($"ApplyUpdates: the update for {PathOf(i)} is {delta.Describe()} but the leaf is {leaf.Describe()}: {why}", nameof(updates));
        }
        // Inside a FilterJit call that donated the model, updates go into the donated memory (the sink FilterJit's
        // donation installs), all of them in one multi-tensor op; the others are added out of place.
        var donation = InPlaceUpdates.Current;
        if (donation is not null && !InPlaceUpdates.AllDistinct(leaves)) donation = null;
        bool gradEnabled = donation is not null && Torch.IsGradEnabled;
        List<int>? inPlace = null;
        for (int i = 0; i < leaves.Length; i++)
        {
            if (deltas[i] is not { } delta) continue;
            if (donation is not null && donation.CanAddInPlace(leaves[i]!, delta, gradEnabled)) (inPlace ??= []).Add(i);
            else leaves[i] = leaves[i]! + delta;
        }
        if (inPlace is not null)
        {
            var targets = new Tensor[inPlace.Count];
            var sources = new Tensor[inPlace.Count];
            for (int k = 0; k < targets.Length; k++) (targets[k], sources[k]) = (leaves[inPlace[k]]!, deltas[inPlace[k]]!);
            var updated = donation!.AddInPlace(targets, sources);
            for (int k = 0; k < updated.Length; k++) leaves[inPlace[k]] = updated[k];
        }
        return Unflatten(model, leaves);
    }

    // Why `delta` cannot update `leaf`, or null. Broadcasting would silently reshape the parameter ([3,2] + [5,3,2]
    // is [5,3,2]), and a cast to a lower kind (complex to real, float to integer) would silently drop part of it.
    private static string? UpdateMismatch(Tensor leaf, Tensor delta)
    {
        if (delta.Shape != leaf.Shape)
            return "an update must have exactly its leaf's shape, it is never broadcast. " +
                   "Pass updates with the model's structure and shapes: its gradients, or an optimiser's Update of them.";
        if (Kind(delta.DType) > Kind(leaf.DType))
            return $"an update of dtype {delta.DType.ShortName()} cannot be cast to the leaf's {leaf.DType.ShortName()} without losing part of it. " +
                   $"Compute the update in {leaf.DType.ShortName()} (or a dtype of the same kind), or cast the model first.";
        return null;

        // torch.can_cast's order: a value casts to its own kind or a higher one.
        static int Kind(DType dtype) => dtype == DType.Bool ? 0 : dtype.IsComplex() ? 3 : dtype.IsFloatingPoint() ? 2 : 1;
    }
}
