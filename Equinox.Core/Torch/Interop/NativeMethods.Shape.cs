using System.Runtime.InteropServices;

namespace Equinox.Torch.Interop;

internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)] internal static partial IntPtr eqx_reshape(IntPtr a, long* shape, int ndim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_view(IntPtr a, long* shape, int ndim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_flatten(IntPtr a, long start, long end);
    [LibraryImport(Library)] internal static partial IntPtr eqx_transpose(IntPtr a, long dim0, long dim1);
    [LibraryImport(Library)] internal static partial IntPtr eqx_permute(IntPtr a, long* order, int ndim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_squeeze(IntPtr a, long dim, int hasDim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_unsqueeze(IntPtr a, long dim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_expand(IntPtr a, long* shape, int ndim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_broadcast_to(IntPtr a, long* shape, int ndim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_flip(IntPtr a, long* dims, int ndims);
    [LibraryImport(Library)] internal static partial IntPtr eqx_repeat(IntPtr a, long* repeats, int ndims);
    [LibraryImport(Library)] internal static partial IntPtr eqx_cat(IntPtr* parts, int count, long dim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_stack(IntPtr* parts, int count, long dim);
    [LibraryImport(Library)] internal static partial int eqx_split(IntPtr a, long size, long dim, IntPtr* output, int capacity);
    [LibraryImport(Library)] internal static partial int eqx_split_sizes(IntPtr a, long* sizes, int count, long dim, IntPtr* output, int capacity);
    [LibraryImport(Library)] internal static partial int eqx_chunk(IntPtr a, long chunks, long dim, IntPtr* output, int capacity);
    [LibraryImport(Library)] internal static partial IntPtr eqx_select(IntPtr a, long dim, long index);
    [LibraryImport(Library)] internal static partial IntPtr eqx_slice(IntPtr a, long dim, long start, int hasStart, long end, int hasEnd, long step);
    [LibraryImport(Library)] internal static partial IntPtr eqx_narrow(IntPtr a, long dim, long start, long length);
    [LibraryImport(Library)] internal static partial IntPtr eqx_index(IntPtr a, IntPtr* indices, int count);
    [LibraryImport(Library)] internal static partial IntPtr eqx_gather(IntPtr a, long dim, IntPtr index);
    [LibraryImport(Library)] internal static partial IntPtr eqx_index_select(IntPtr a, long dim, IntPtr index);
    [LibraryImport(Library)] internal static partial IntPtr eqx_masked_fill(IntPtr a, IntPtr mask, double value);
    [LibraryImport(Library)] internal static partial IntPtr eqx_one_hot(IntPtr a, long classes);
    [LibraryImport(Library)] internal static partial IntPtr eqx_tril(IntPtr a, long diagonal);
    [LibraryImport(Library)] internal static partial IntPtr eqx_triu(IntPtr a, long diagonal);
}
