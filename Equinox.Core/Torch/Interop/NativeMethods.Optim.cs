using System.Runtime.InteropServices;

namespace Equinox.Tensors.Interop;

// optim.cpp: whole-list optimiser updates (Equinox.Core/Optim).
internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)]
    internal static partial int eqx_optim_step(int kind, double* hyper, int count, IntPtr* grads, IntPtr* parameters,
        int slotCount, IntPtr* slots, IntPtr stepCount, IntPtr learningRate, double learningRateValue, byte* overwrite,
        int overwriteCount, int fused, IntPtr* updatesOut, IntPtr* slotsOut, out IntPtr countOut);

    [LibraryImport(Library)]
    internal static partial int eqx_clip_by_global_norm(int count, IntPtr* grads, double maxNorm, IntPtr* output, out IntPtr norm);
}
