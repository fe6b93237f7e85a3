using System.Runtime.InteropServices;

namespace Equinox.Tensors.Interop;

// jit.cpp, cuda_graph.cpp and scan_graph.cpp: FilterJit's cache key, CUDA graph capture and Scan's body graph.
internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)] internal static partial long eqx_tensors_signature(IntPtr* tensors, int count, long* output, long capacity);

    [LibraryImport(Library)] internal static partial int eqx_cuda_graph_available();
    [LibraryImport(Library)] internal static partial IntPtr eqx_cuda_graph_new(int deviceIndex);
    [LibraryImport(Library)] internal static partial int eqx_cuda_graph_side_stream_begin(IntPtr graph);
    [LibraryImport(Library)] internal static partial int eqx_cuda_graph_side_stream_end(IntPtr graph);
    [LibraryImport(Library)] internal static partial int eqx_cuda_graph_capture_begin(IntPtr graph);
    [LibraryImport(Library)] internal static partial int eqx_cuda_graph_capture_end(IntPtr graph);
    [LibraryImport(Library)] internal static partial int eqx_cuda_graph_replay(IntPtr graph);
    [LibraryImport(Library)] internal static partial void eqx_cuda_graph_free(IntPtr graph);

    [LibraryImport(Library)] internal static partial IntPtr eqx_scan_body_new(int deviceIndex);
    [LibraryImport(Library)] internal static partial int eqx_scan_body_capture_begin(IntPtr body);
    [LibraryImport(Library)] internal static partial int eqx_scan_body_capture_end(IntPtr body);
    [LibraryImport(Library)] internal static partial int eqx_scan_body_launch(IntPtr body);
    [LibraryImport(Library)] internal static partial void eqx_scan_body_free(IntPtr body);
}
