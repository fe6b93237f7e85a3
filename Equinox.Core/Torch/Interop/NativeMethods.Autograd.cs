using System.Runtime.InteropServices;

namespace Equinox.Tensors.Interop;

internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)] internal static partial IntPtr eqx_with_requires_grad(Tensor a, int requiresGrad);
    [LibraryImport(Library)] internal static partial IntPtr eqx_detach(Tensor a);
    [LibraryImport(Library)]
    internal static partial int eqx_grad(IntPtr* outputs, IntPtr* gradOutputs, int noutputs, IntPtr* inputs,
        int ninputs, int retainGraph, int createGraph, IntPtr* output);
    [LibraryImport(Library)] internal static partial int eqx_grad_enabled();
    [LibraryImport(Library)] internal static partial void eqx_set_grad_enabled(int enabled);
    [LibraryImport(Library)] internal static partial int eqx_num_threads();
    [LibraryImport(Library)] internal static partial void eqx_set_num_threads(int n);
}
