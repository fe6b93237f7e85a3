using System.Runtime.CompilerServices;
using Equinox.Tensors;

namespace Equinox.Transforms;

/// <summary>
/// The arguments an eager FilterJit call was given to consume, for the length of the call on its thread. With it,
/// <see cref="Eqx.ApplyUpdates{T}"/> writes an update into a donated parameter in place, so a step that returns a new
/// model for a donated old one holds one copy of the parameters at its peak instead of two (what XLA's buffer donation
/// gives Equinox).
/// </summary>
internal sealed class Donation : IInPlaceUpdateSink
{
    private readonly ITuple arguments;
    private readonly Donate donate;
    private HashSet<Tensor>? donated; // built on the first ApplyUpdates, so a step without one pays nothing

    private Donation(ITuple arguments, Donate donate)
    {
        this.arguments = arguments;
        this.donate = donate;
    }

    /// <summary>
    /// Makes <paramref name="arguments"/> (null: none) the donation in force on this thread (the tree layer's
    /// <see cref="InPlaceUpdates"/> sink) until the result is disposed. A nested FilterJit call installs its own, so
    /// an inner step never writes into tensors its caller did not give it.
    /// </summary>
    internal static InPlaceUpdates.Scope Enter(ITuple? arguments, Donate donate) =>
        InPlaceUpdates.Install(arguments is null ? null : new Donation(arguments, donate));

    /// <summary>
    /// Whether <c>leaf + delta</c> can be written into <paramref name="leaf"/>'s memory: <paramref name="leaf"/> was
    /// donated (and no undonated argument holds it), <paramref name="delta"/> has its dtype and device (the shape is
    /// already checked by Eqx.ApplyUpdates, where the one rule for every update lives) and the sum needs no gradient.
    /// </summary>
    public bool CanAddInPlace(Tensor leaf, Tensor delta, bool gradEnabled)
    {
        var set = donated ??= Collect();
        return set.Contains(leaf) && delta.DType == leaf.DType && delta.Device == leaf.Device
               && !leaf.RequiresGrad && !(gradEnabled && delta.RequiresGrad);
    }

    /// <summary>
    /// Adds <c>deltas[i]</c> into <c>leaves[i]</c> (each passed by <see cref="CanAddInPlace"/>) with one multi-tensor
    /// op, and returns the updated tensors as new handles. The donated handles end disposed, so using the old model
    /// afterwards fails loudly instead of reading updated values.
    /// </summary>
    public Tensor[] AddInPlace(Tensor[] leaves, Tensor[] deltas)
    {
        Tensor.AddInPlace(leaves, deltas);
        var updated = new Tensor[leaves.Length];
        for (int i = 0; i < leaves.Length; i++) updated[i] = Rehandle(leaves[i]);
        return updated;
    }

    /// <inheritdoc/>
    public bool CanOverwrite(Tensor tensor) => (donated ??= Collect()).Contains(tensor) && !tensor.RequiresGrad;

    /// <inheritdoc/>
    public Tensor Rehandle(Tensor tensor)
    {
        donated?.Remove(tensor);
        // The same native tensor under a new handle; a tensor another thread is reading is aliased instead.
        if (tensor.TakeHandle() is { } moved) return moved;
        var alias = tensor.Alias();
        tensor.Dispose();
        return alias;
    }

    /// <summary>
    /// After a call: disposes every tensor of the donated arguments that neither <paramref name="result"/> nor an
    /// undonated argument holds (by identity: the caller still owns a tensor it also passed without donating), and
    /// none of <paramref name="graph"/>'s buffers.
    /// </summary>
    internal static void Release<TResult>(TResult result, ITuple arguments, Donate donate, CapturedGraph? graph)
    {
        var keep = JitResults.Collect(result);
        for (int i = 0; i < arguments.Length; i++)
            if (!Donates(donate, i)) JitResults.ForEachTensor(arguments[i], tensor => keep.Add(tensor));
        for (int i = 0; i < arguments.Length; i++)
        {
            if (!Donates(donate, i)) continue;
            JitResults.ForEachTensor(arguments[i], tensor =>
            {
                if (!keep.Contains(tensor) && (graph is null || !graph.Owns(tensor))) tensor.Dispose();
            });
        }
        keep.Clear();
    }

    /// <summary>Whether <paramref name="donate"/> names argument <paramref name="index"/> (0-based).</summary>
    internal static bool Donates(Donate donate, int index) => ((int)donate & (1 << index)) != 0;

    // The donated arguments' tensors, less any that an undonated argument also holds: those the caller still owns.
    private HashSet<Tensor> Collect()
    {
        var set = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < arguments.Length; i++)
            if (Donates(donate, i)) JitResults.ForEachTensor(arguments[i], tensor => set.Add(tensor));
        for (int i = 0; i < arguments.Length; i++)
            if (!Donates(donate, i)) JitResults.ForEachTensor(arguments[i], tensor => set.Remove(tensor));
        return set;
    }
}
