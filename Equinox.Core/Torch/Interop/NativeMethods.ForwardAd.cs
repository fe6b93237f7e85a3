using System.Runtime.InteropServices;

namespace Equinox.Tensors.Interop;

internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)] internal static partial long eqx_enter_dual_level();
    [LibraryImport(Library)] internal static partial int eqx_exit_dual_level(long level);
    [LibraryImport(Library)] internal static partial IntPtr eqx_make_dual(Tensor primal, Tensor tangent, long level);
    [LibraryImport(Library)] internal static partial int eqx_unpack_dual(Tensor dual, long level, out IntPtr primal, out IntPtr tangent);
}
