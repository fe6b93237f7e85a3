using System.Runtime.InteropServices;
using Equinox.Tensors.Interop;

namespace Equinox.Tensors;

/// <summary>Process- and thread-wide switches of the tensor engine: scopes, grad mode, threads, devices.</summary>
public static class Torch
{
    /// <summary>Opens a <see cref="TensorScope"/> on this thread: <c>using var scope = Torch.Scope();</c>.</summary>
    public static TensorScope Scope() => new();

    /// <summary>Native tensors alive in this process (created and not yet disposed or finalized).</summary>
    public static long LiveTensors => TensorHandle.Live;

    /// <summary>The LibTorch version the shim was built against, e.g. <c>1.13.0</c>.</summary>
    public static string Version => Marshal.PtrToStringUTF8(NativeMethods.eqx_torch_version()) ?? "";

    /// <summary>The number of CUDA devices LibTorch can use (0 on a CPU-only build).</summary>
    public static int CudaDeviceCount => NativeMethods.eqx_cuda_device_count();

    /// <summary>
    /// This process's engine set-up read now: LibTorch version, BLAS in use, intra-op threads and CUDA devices. Print
    /// it (one line) to see, for instance, that matrix multiplications run on OpenBLAS rather than the reference BLAS.
    /// </summary>
    public static TorchConfig Config
    {
        get
        {
            // Version loads the shim (and LibTorch with its BLAS) first, so the BLAS is read from the process's maps.
            var version = Version;
            return new TorchConfig(version, BlasLibrary.Detect(), NumThreads, CudaDeviceCount);
        }
    }

    /// <summary>Whether a CUDA device is usable.</summary>
    public static bool IsCudaAvailable => CudaDeviceCount > 0;

    /// <summary>Whether autograd records operations on this thread.</summary>
    public static bool IsGradEnabled => NativeMethods.eqx_grad_enabled() != 0;

    /// <summary>Stops autograd recording on this thread until disposed: <c>using (Torch.NoGrad()) { ... }</c>.</summary>
    public static GradMode NoGrad() => new(false);

    /// <summary>Turns autograd recording on for this thread until disposed (inside a <see cref="NoGrad"/>, say).</summary>
    public static GradMode EnableGrad() => new(true);

    /// <summary>Threads LibTorch uses for one op on the CPU.</summary>
    public static int NumThreads
    {
        get => NativeMethods.eqx_num_threads();
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            NativeMethods.eqx_set_num_threads(value);
        }
    }

    /// <summary>
    /// Bytes held by tensors on <paramref name="device"/> now, as PyTorch's <c>torch.cuda.memory_allocated</c>. On the
    /// CPU it counts every tensor the process allocated through LibTorch (the shim installs a counting CPU allocator
    /// when it loads); on CUDA it is the caching allocator's figure, without its cached free blocks.
    /// </summary>
    /// <exception cref="InvalidOperationException">The device has no statistics (a CUDA device on a CPU-only build).</exception>
    public static long MemoryAllocated(Device device) => ReadMemoryStats(device).Current;

    /// <summary>
    /// The most bytes <see cref="MemoryAllocated"/> has reported on <paramref name="device"/> since the process started
    /// or since <see cref="ResetPeakMemoryStats"/>, as <c>torch.cuda.max_memory_allocated</c>. The figure is per
    /// device, not per thread: work on other threads counts too.
    /// </summary>
    public static long MaxMemoryAllocated(Device device) => ReadMemoryStats(device).Peak;

    /// <summary>Starts a new peak for <see cref="MaxMemoryAllocated"/> at the current figure.</summary>
    public static void ResetPeakMemoryStats(Device device)
    {
        if (NativeMethods.eqx_memory_reset_peak((int)device.Type, device.Index) != 0)
            throw new InvalidOperationException($"ResetPeakMemoryStats({device}): {NativeMethods.LastError()}");
    }

    /// <summary>
    /// Bytes the allocator holds for <paramref name="device"/>: those of <see cref="MemoryAllocated"/> plus freed blocks
    /// kept for reuse, as <c>torch.cuda.memory_reserved</c>. On the CPU the shim keeps freed blocks of 64 KiB and more
    /// (up to <c>EQUINOX_CPU_CACHE_MB</c> megabytes, 512 by default), so that a training step that allocates the same
    /// buffers every step reuses them instead of mapping fresh pages from the system each time.
    /// </summary>
    public static long MemoryReserved(Device device)
    {
        if (NativeMethods.eqx_memory_cached((int)device.Type, device.Index, out long cached) != 0)
            throw new InvalidOperationException($"memory statistics for {device}: {NativeMethods.LastError()}");
        return MemoryAllocated(device) + cached;
    }

    /// <summary>Returns the freed blocks the allocator keeps for <paramref name="device"/> to the system, as <c>torch.cuda.empty_cache</c>.</summary>
    public static void EmptyCache(Device device)
    {
        if (NativeMethods.eqx_memory_empty_cache((int)device.Type, device.Index) != 0)
            throw new InvalidOperationException($"EmptyCache({device}): {NativeMethods.LastError()}");
    }

    private static (long Current, long Peak) ReadMemoryStats(Device device)
    {
        if (NativeMethods.eqx_memory_stats((int)device.Type, device.Index, out long current, out long peak) != 0)
            throw new InvalidOperationException($"memory statistics for {device}: {NativeMethods.LastError()}");
        return (current, peak);
    }

    /// <summary>Restores the previous grad mode when disposed. Grad mode is per thread, as in LibTorch.</summary>
    public readonly struct GradMode : IDisposable
    {
        private readonly bool previous;

        internal GradMode(bool enabled)
        {
            previous = IsGradEnabled;
            NativeMethods.eqx_set_grad_enabled(enabled ? 1 : 0);
        }

        /// <summary>Puts back the grad mode that was in force before.</summary>
        public void Dispose() => NativeMethods.eqx_set_grad_enabled(previous ? 1 : 0);
    }
}
