using Equinox.Tensors.Interop;

namespace Equinox.Tensors;

/// <summary>How <see cref="Functional.Pad"/> fills the border it adds (the modes of <c>torch.nn.functional.pad</c>).</summary>
public enum PadMode
{
    /// <summary>A constant value (zero unless given).</summary>
    Constant = 0,
    /// <summary>The input mirrored at its edge, without repeating the edge element: <c>[1, 2, 3]</c> padded by 2 on the left is <c>[3, 2, 1, 2, 3]</c>.</summary>
    Reflect = 1,
    /// <summary>The edge element repeated: <c>[1, 2, 3]</c> padded by 2 on the left is <c>[1, 1, 1, 2, 3]</c>.</summary>
    Replicate = 2,
    /// <summary>The input wrapped around: <c>[1, 2, 3]</c> padded by 2 on the left is <c>[2, 3, 1, 2, 3]</c>.</summary>
    Circular = 3,
}

public static unsafe partial class Functional
{
    /// <summary>
    /// Pads the trailing dims of <paramref name="input"/>, as <c>torch.nn.functional.pad</c>: <paramref name="pad"/>
    /// lists (before, after) pairs from the last dim backwards, so <c>[1, 2]</c> pads the last dim by 1 before and 2
    /// after, and <c>[1, 1, 0, 3]</c> also pads the dim before it by 3 after. Reflect, replicate and circular pad up
    /// to 3 trailing dims of a batched (<c>[N, C, ...]</c>) or unbatched (<c>[C, ...]</c>) input.
    /// </summary>
    /// <exception cref="ArgumentException">An odd number of pad sizes, or a <paramref name="value"/> with a mode other than constant.</exception>
    public static Tensor Pad(Tensor input, long[] pad, PadMode mode = PadMode.Constant, double value = 0)
    {
        ArgumentNullException.ThrowIfNull(pad);
        if (pad.Length % 2 != 0)
            throw new ArgumentException($"Pad takes (before, after) pairs, so an even number of sizes; got {pad.Length}: [{string.Join(", ", pad)}].", nameof(pad));
        if (mode != PadMode.Constant && value != 0)
            throw new ArgumentException($"A pad value only applies to PadMode.Constant; {mode} padding takes its values from the input.", nameof(value));
        fixed (long* p = pad)
            return Tensor.Wrap(NativeMethods.eqx_pad(Tensor.Required(input), p, pad.Length, (int)mode, value), "pad", input);
    }
}
