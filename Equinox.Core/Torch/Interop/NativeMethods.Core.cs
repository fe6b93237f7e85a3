using System.Runtime.InteropServices;

namespace Equinox.Tensors.Interop;

internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)] internal static partial void eqx_tensor_free(IntPtr t);
    [LibraryImport(Library)] internal static partial int eqx_tensor_ndim(Tensor t);
    [LibraryImport(Library)] internal static partial void eqx_tensor_shape(Tensor t, long* shape);
    [LibraryImport(Library)] internal static partial int eqx_tensor_dtype(Tensor t);
    [LibraryImport(Library)] internal static partial void eqx_tensor_device(Tensor t, out int type, out int index);
    [LibraryImport(Library)] internal static partial long eqx_tensor_numel(Tensor t);
    [LibraryImport(Library)] internal static partial long eqx_tensor_nbytes(Tensor t);
    // For a pointer no other thread can see yet (a result being wrapped), so it needs no use held.
    [LibraryImport(Library, EntryPoint = "eqx_tensor_nbytes")] internal static partial long eqx_tensor_nbytes_unchecked(IntPtr t);
    [LibraryImport(Library)] internal static partial int eqx_tensor_requires_grad(Tensor t);
    [LibraryImport(Library)] internal static partial int eqx_tensor_is_leaf(Tensor t);
    [LibraryImport(Library)] internal static partial int eqx_tensor_same(Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial int eqx_tensor_shares_storage(Tensor a, Tensor b);

    [LibraryImport(Library)] internal static partial IntPtr eqx_from_data(void* data, long* shape, int ndim, int dtype);
    [LibraryImport(Library)] internal static partial IntPtr eqx_from_fd(int fd, long offset, long* shape, int ndim, int dtype);
    [LibraryImport(Library)] internal static partial int eqx_copy_to_host(Tensor t, void* destination, long nbytes);
    [LibraryImport(Library)] internal static partial IntPtr eqx_scalar_tensor(double value, long integral, int isIntegral, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial IntPtr eqx_full(long* shape, int ndim, double value, long integral, int isIntegral, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial IntPtr eqx_empty(long* shape, int ndim, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial IntPtr eqx_arange(double start, double end, double step, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial IntPtr eqx_linspace(double start, double end, long steps, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial IntPtr eqx_eye(long n, long m, int dtype, int deviceType, int deviceIndex);

    [LibraryImport(Library)] internal static partial IntPtr eqx_normal(long* shape, int ndim, ulong seed, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial IntPtr eqx_uniform(long* shape, int ndim, ulong seed, double low, double high, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial IntPtr eqx_randint(long* shape, int ndim, ulong seed, long low, long high, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial IntPtr eqx_bernoulli(long* shape, int ndim, ulong seed, double p, int dtype, int deviceType, int deviceIndex);

    [LibraryImport(Library)] internal static partial IntPtr eqx_to_dtype(Tensor t, int dtype);
    [LibraryImport(Library)] internal static partial IntPtr eqx_to_device(Tensor t, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial IntPtr eqx_clone(Tensor t);
    [LibraryImport(Library)] internal static partial IntPtr eqx_contiguous(Tensor t);
    [LibraryImport(Library)] internal static partial IntPtr eqx_alias(Tensor t);
    [LibraryImport(Library)] internal static partial int eqx_item(Tensor t, out double asDouble, out long asLong);
}
