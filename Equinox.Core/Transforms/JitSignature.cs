using System.Globalization;
using Equinox.Tensors;

namespace Equinox.Transforms;

/// <summary>
/// Reads the signature words <c>eqx_tensors_signature</c> writes for a FilterJit key, the one place that knows their
/// layout: per leaf, a head word (dtype in bits 0-7, device type in bits 8-15, device index + 1 from bit 16), the rank,
/// then the sizes; a null leaf is one negative word.
/// </summary>
internal static class JitSignature
{
    /// <summary>How many words the leaf starting at <paramref name="position"/> takes.</summary>
    internal static int LeafLength(ReadOnlySpan<long> signature, int position) =>
        signature[position] < 0 ? 1 : 2 + (int)signature[position + 1];

    /// <summary>Whether a head word stands for a null leaf.</summary>
    internal static bool IsNull(long head) => head < 0;

    /// <summary>The device type of a (non-null) leaf's head word.</summary>
    internal static DeviceType DeviceTypeOf(long head) => (DeviceType)((head >> 8) & 0xFF);

    /// <summary>The device index of a (non-null) leaf's head word; -1 when the device has none.</summary>
    internal static int DeviceIndexOf(long head) => (int)(head >> 16) - 1;

    /// <summary>Where each of the first <paramref name="leaves"/> leaves' words start, and (last) where they end.</summary>
    internal static int[] LeafOffsets(ReadOnlySpan<long> signature, int leaves)
    {
        var offsets = new int[leaves + 1];
        int position = 0;
        for (int i = 0; i < leaves && position < signature.Length; i++)
        {
            offsets[i] = position;
            position += LeafLength(signature, position);
        }
        offsets[leaves] = position;
        return offsets;
    }

    /// <summary>A leaf's words as Equinox prints tensors: <c>f32[32,2]</c>, <c>f32[8]@cuda:0</c>, or <c>null</c>.</summary>
    internal static string DescribeLeaf(ReadOnlySpan<long> words)
    {
        if (words.Length == 0 || IsNull(words[0])) return "null";
        long head = words[0];
        var dtype = (DType)(head & 0xFF);
        var deviceType = DeviceTypeOf(head);
        var dims = new string[words.Length - 2];
        for (int i = 0; i < dims.Length; i++) dims[i] = words[i + 2].ToString(CultureInfo.InvariantCulture);
        var text = $"{dtype.ShortName()}[{string.Join(",", dims)}]";
        return deviceType == DeviceType.Cpu ? text : $"{text}@{new Device(deviceType, Math.Max(DeviceIndexOf(head), 0))}";
    }
}
