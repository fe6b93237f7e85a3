using System.Runtime.InteropServices;
using Equinox.Torch.Interop;

namespace Equinox.Torch;

/// <summary>
/// Owns one native <c>at::Tensor*</c>. Freed by <see cref="Tensor.Dispose"/> (directly or through a
/// <see cref="TensorScope"/>) or, as a last resort, by the finalizer.
/// </summary>
internal sealed class TensorHandle : SafeHandle
{
    private static long live;
    private readonly long memoryPressure;

    internal TensorHandle(IntPtr pointer, long memoryPressure) : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle(pointer);
        this.memoryPressure = memoryPressure;
        Interlocked.Increment(ref live);
        if (memoryPressure > 0) GC.AddMemoryPressure(memoryPressure);
    }

    /// <summary>Native tensors created and not yet freed, process-wide.</summary>
    internal static long Live => Interlocked.Read(ref live);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.eqx_tensor_free(handle);
        Interlocked.Decrement(ref live);
        if (memoryPressure > 0) GC.RemoveMemoryPressure(memoryPressure);
        return true;
    }
}
