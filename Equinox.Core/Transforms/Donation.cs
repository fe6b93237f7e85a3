using System.Runtime.CompilerServices;
using Equinox.Torch;
using TorchSwitches = Equinox.Torch.Torch;

namespace Equinox.Transforms;

/// <summary>
/// The arguments an eager FilterJit call was given to consume, for the length of the call on its thread. With it,
/// <see cref="Eqx.ApplyUpdates{T}"/> writes an update into a donated parameter in place, so a step that returns a new
/// model for a donated old one holds one copy of the parameters at its peak instead of two (what XLA's buffer donation
/// gives Equinox).
/// </summary>
internal sealed class Donation
{
    [ThreadStatic] private static Donation? current;

    private readonly ITuple arguments;
    private readonly Donate donate;
    private HashSet<Tensor>? donated; // built on the first ApplyUpdates, so a step without one pays nothing

    private Donation(ITuple arguments, Donate donate)
    {
        this.arguments = arguments;
        this.donate = donate;
    }

    /// <summary>
    /// Makes <paramref name="arguments"/> (null: none) the donation in force on this thread, and returns the one it
    /// replaces, for <see cref="Exit"/>. A nested FilterJit call installs its own, so an inner step never writes into
    /// tensors its caller did not give it.
    /// </summary>
    internal static Donation? Enter(ITuple? arguments, Donate donate)
    {
        var previous = current;
        current = arguments is null ? null : new Donation(arguments, donate);
        return previous;
    }

    internal static void Exit(Donation? previous) => current = previous;

    /// <summary>The donation in force on this thread, if any.</summary>
    internal static Donation? Current => current;

    /// <summary>
    /// Whether in-place updates are safe for a model with these leaves: not when one tensor object fills two slots,
    /// since the second update would then start from the first one's result.
    /// </summary>
    internal static bool AllDistinct(Tensor?[] leaves)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var leaf in leaves) if (leaf is not null && !seen.Add(leaf)) return false;
        return true;
    }

    /// <summary>
    /// <c>leaf + delta</c> written into <paramref name="leaf"/>'s memory, as a new handle, when <paramref name="leaf"/>
    /// was donated, <paramref name="delta"/> has its dtype and device (the shape is already checked) and the sum needs
    /// no gradient; null otherwise (the caller adds
    /// out of place). The donated handle is disposed, so using the old model afterwards fails loudly instead of
    /// reading updated values.
    /// </summary>
    internal Tensor? TryAddInPlace(Tensor leaf, Tensor delta)
    {
        var set = donated ??= Collect();
        if (!set.Contains(leaf)) return null;
        if (leaf.RequiresGrad || (delta.RequiresGrad && TorchSwitches.IsGradEnabled)) return null;
        // The shape and dtype rule for every update lives in Eqx.ApplyUpdates, which checks it before calling here;
        // this only decides whether the sum can reuse the leaf's memory as it is.
        if (delta.DType != leaf.DType || delta.Device != leaf.Device) return null;
        using (TorchSwitches.NoGrad()) leaf.AddInPlace(delta);
        var updated = leaf.Alias();
        set.Remove(leaf);
        leaf.Dispose();
        return updated;
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
