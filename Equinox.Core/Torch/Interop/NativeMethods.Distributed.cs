using System.Runtime.InteropServices;

namespace Equinox.Tensors.Interop;

// distributed.cpp: a c10d TCPStore client and ProcessGroupGloo (Equinox.Core/Distributed).
internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)] internal static partial int eqx_dist_available();

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr eqx_dist_init(string storeHost, int storePort, string prefix, string device, int deviceIsInterface,
        int rank, int size, long timeoutMs);

    [LibraryImport(Library)]
    internal static partial int eqx_dist_bucketed(IntPtr group, IntPtr* leaves, int count, int kind, int opOrRoot,
        double scale, long bucketBytes, long timeoutMs, IntPtr* output);

    [LibraryImport(Library)]
    internal static partial int eqx_dist_allreduce(IntPtr group, IntPtr* tensors, int count, int op, long timeoutMs);

    [LibraryImport(Library)]
    internal static partial int eqx_dist_allgather(IntPtr group, IntPtr input, IntPtr* output, int capacity, long timeoutMs);

    [LibraryImport(Library)] internal static partial int eqx_dist_barrier(IntPtr group, long timeoutMs);

    [LibraryImport(Library)] internal static partial void eqx_dist_free(IntPtr group);
}
