namespace Equinox.Tensors;

/// <summary>
/// A bfloat16 number: the top 16 bits of an IEEE single. The managed element type of <see cref="DType.BFloat16"/>
/// tensors; convert through <see cref="float"/> for arithmetic.
/// </summary>
public readonly record struct BFloat16(ushort Bits)
{
    /// <summary>Rounds a single to the nearest bfloat16 (ties to even), keeping NaN a NaN.</summary>
    public static explicit operator BFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return new BFloat16((ushort)((bits >> 16) | 0x40));
        uint roundingBias = 0x7FFF + ((bits >> 16) & 1);
        return new BFloat16((ushort)((bits + roundingBias) >> 16));
    }

    /// <summary>Widens exactly to a single.</summary>
    public static implicit operator float(BFloat16 value) => BitConverter.UInt32BitsToSingle((uint)value.Bits << 16);

    /// <inheritdoc/>
    public override string ToString() => ((float)this).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
