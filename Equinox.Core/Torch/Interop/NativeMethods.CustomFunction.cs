using System.Runtime.InteropServices;

namespace Equinox.Tensors.Interop;

internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int eqx_custom_backward_attach(IntPtr* inputs, int ninputs, IntPtr* outputs, int noutputs,
        IntPtr* saved, int nsaved, IntPtr backward, IntPtr release, IntPtr state, string name, IntPtr* output);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial void eqx_callback_failed(string message, long id);

    [LibraryImport(Library)] internal static partial long eqx_take_failure_id();
    [LibraryImport(Library)] internal static partial IntPtr eqx_tensor_new_handle(Tensor t);
}
