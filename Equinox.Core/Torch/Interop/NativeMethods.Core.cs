using System.Runtime.InteropServices;

namespace Equinox.Torch.Interop;

internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)] internal static partial void eqx_tensor_free(IntPtr t);
    [LibraryImport(Library)] internal static partial int eqx_tensor_ndim(IntPtr t);
    [LibraryImport(Library)] internal static partial void eqx_tensor_shape(IntPtr t, long* shape);
    [LibraryImport(Library)] internal static partial int eqx_tensor_dtype(IntPtr t);
    [LibraryImport(Library)] internal static partial void eqx_tensor_device(IntPtr t, out int type, out int index);
    [LibraryImport(Library)] internal static partial long eqx_tensor_numel(IntPtr t);
    [LibraryImport(Library)] internal static partial long eqx_tensor_nbytes(IntPtr t);
    [LibraryImport(Library)] internal static partial int eqx_tensor_requires_grad(IntPtr t);
    [LibraryImport(Library)] internal static partial int eqx_tensor_is_leaf(IntPtr t);
    [LibraryImport(Library)] internal static partial int eqx_tensor_same(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial int eqx_tensor_shares_storage(IntPtr a, IntPtr b);

    [LibraryImport(Library)] internal static partial IntPtr eqx_from_data(void* data, long* shape, int ndim, int dtype);
    [LibraryImport(Library)] internal static partial int eqx_copy_to_host(IntPtr t, void* destination, long nbytes);
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

    [LibraryImport(Library)] internal static partial IntPtr eqx_to_dtype(IntPtr t, int dtype);
    [LibraryImport(Library)] internal static partial IntPtr eqx_to_device(IntPtr t, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial IntPtr eqx_clone(IntPtr t);
    [LibraryImport(Library)] internal static partial IntPtr eqx_contiguous(IntPtr t);
    [LibraryImport(Library)] internal static partial IntPtr eqx_alias(IntPtr t);
    [LibraryImport(Library)] internal static partial int eqx_item(IntPtr t, out double asDouble, out long asLong);
}
