using System.Runtime.InteropServices;

namespace Equinox.Tensors.Interop;

internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)] internal static partial IntPtr eqx_reshape(Tensor a, long* shape, int ndim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_view(Tensor a, long* shape, int ndim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_flatten(Tensor a, long start, long end);
    [LibraryImport(Library)] internal static partial IntPtr eqx_transpose(Tensor a, long dim0, long dim1);
    [LibraryImport(Library)] internal static partial IntPtr eqx_permute(Tensor a, long* order, int ndim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_squeeze(Tensor a, long dim, int hasDim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_unsqueeze(Tensor a, long dim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_expand(Tensor a, long* shape, int ndim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_broadcast_to(Tensor a, long* shape, int ndim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_flip(Tensor a, long* dims, int ndims);
    [LibraryImport(Library)] internal static partial IntPtr eqx_repeat(Tensor a, long* repeats, int ndims);
    [LibraryImport(Library)] internal static partial IntPtr eqx_cat(IntPtr* parts, int count, long dim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_stack(IntPtr* parts, int count, long dim);
    [LibraryImport(Library)] internal static partial int eqx_split(Tensor a, long size, long dim, IntPtr* output, int capacity);
    [LibraryImport(Library)] internal static partial int eqx_split_sizes(Tensor a, long* sizes, int count, long dim, IntPtr* output, int capacity);
    [LibraryImport(Library)] internal static partial int eqx_chunk(Tensor a, long chunks, long dim, IntPtr* output, int capacity);
    [LibraryImport(Library)] internal static partial IntPtr eqx_select(Tensor a, long dim, long index);
    [LibraryImport(Library)] internal static partial IntPtr eqx_slice(Tensor a, long dim, long start, int hasStart, long end, int hasEnd, long step);
    [LibraryImport(Library)] internal static partial IntPtr eqx_narrow(Tensor a, long dim, long start, long length);
    [LibraryImport(Library)] internal static partial IntPtr eqx_index(Tensor a, IntPtr* indices, int count);
    [LibraryImport(Library)] internal static partial IntPtr eqx_gather(Tensor a, long dim, Tensor index);
    [LibraryImport(Library)] internal static partial IntPtr eqx_index_select(Tensor a, long dim, Tensor index);
    [LibraryImport(Library)] internal static partial IntPtr eqx_masked_fill(Tensor a, Tensor mask, double value);
    [LibraryImport(Library)] internal static partial IntPtr eqx_one_hot(Tensor a, long classes);
    [LibraryImport(Library)] internal static partial IntPtr eqx_tril(Tensor a, long diagonal);
    [LibraryImport(Library)] internal static partial IntPtr eqx_triu(Tensor a, long diagonal);
}
