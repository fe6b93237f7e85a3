using System.Runtime.InteropServices;

namespace Equinox.Tensors.Interop;

internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)] internal static partial long eqx_vmap_enter(long batchSize, int randomness);
    [LibraryImport(Library)] internal static partial int eqx_vmap_exit(long level);
    [LibraryImport(Library)] internal static partial IntPtr eqx_vmap_add_batch_dim(Tensor t, long inDim, long level);
    [LibraryImport(Library)] internal static partial IntPtr eqx_vmap_remove_batch_dim(Tensor t, long level, long batchSize, long outDim);
    [LibraryImport(Library)] internal static partial int eqx_vmap_is_batched(Tensor t, long level);
    [LibraryImport(Library)] internal static partial IntPtr eqx_vmap_reduce(Tensor t, long level, long size, int op, int* underGrad);
    [LibraryImport(Library)] internal static partial IntPtr eqx_vmap_axis_index(long level, long size, int deviceType, int deviceIndex);

    [LibraryImport(Library)] internal static partial long eqx_grad_layer_enter();
    [LibraryImport(Library)] internal static partial int eqx_grad_layer_exit(long level, int previousGradMode);
    [LibraryImport(Library)] internal static partial IntPtr eqx_grad_layer_wrap(Tensor t, long level, int requiresGrad);
    [LibraryImport(Library)] internal static partial IntPtr eqx_grad_layer_unwrap(Tensor t, long level);
    [LibraryImport(Library)] internal static partial int eqx_grad_layer_grad(Tensor output, IntPtr* inputs, int ninputs, IntPtr* grads);
    [LibraryImport(Library)] internal static partial int eqx_functorch_depth();
}
