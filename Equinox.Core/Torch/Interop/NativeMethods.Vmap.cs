using System.Runtime.InteropServices;

namespace Equinox.Torch.Interop;

internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)] internal static partial long eqx_vmap_enter(long batchSize, int randomness);
    [LibraryImport(Library)] internal static partial int eqx_vmap_exit(long level);
    [LibraryImport(Library)] internal static partial IntPtr eqx_vmap_add_batch_dim(IntPtr t, long inDim, long level);
    [LibraryImport(Library)] internal static partial IntPtr eqx_vmap_remove_batch_dim(IntPtr t, long level, long batchSize, long outDim);
    [LibraryImport(Library)] internal static partial int eqx_vmap_is_batched(IntPtr t, long level);

    [LibraryImport(Library)] internal static partial long eqx_grad_layer_enter();
    [LibraryImport(Library)] internal static partial int eqx_grad_layer_exit(long level, int previousGradMode);
    [LibraryImport(Library)] internal static partial IntPtr eqx_grad_layer_wrap(IntPtr t, long level, int requiresGrad);
    [LibraryImport(Library)] internal static partial IntPtr eqx_grad_layer_unwrap(IntPtr t, long level);
    [LibraryImport(Library)] internal static partial int eqx_grad_layer_grad(IntPtr output, IntPtr* inputs, int ninputs, IntPtr* grads);
    [LibraryImport(Library)] internal static partial int eqx_functorch_depth();
}
