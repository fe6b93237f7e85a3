using System.Runtime.InteropServices;

namespace Equinox.Tensors.Interop;

internal static partial class NativeMethods
{
    [LibraryImport(Library)] internal static partial int eqx_memory_stats(int deviceType, int deviceIndex, out long current, out long peak);
    [LibraryImport(Library)] internal static partial int eqx_memory_reset_peak(int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial int eqx_memory_cached(int deviceType, int deviceIndex, out long cached);
    [LibraryImport(Library)] internal static partial int eqx_memory_empty_cache(int deviceType, int deviceIndex);
}
