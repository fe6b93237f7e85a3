using System.Runtime.InteropServices.Marshalling;

namespace Equinox.Tensors.Interop;

/// <summary>
/// How a <see cref="Tensor"/> crosses into the shim: as its <c>at::Tensor*</c>, with a use held on it for the length of
/// the call, so that a <see cref="Tensor.Dispose"/> on another thread (or a scope ending there) cannot free the native
/// tensor while the call reads it — the free waits for the call to finish, as a SafeHandle's would. A null reference
/// never reaches native code: it is an <see cref="ArgumentNullException"/> here (the public methods name the parameter
/// before it gets this far; this is the backstop). Optional tensors use <see cref="OptionalTensorMarshaller"/>.
/// </summary>
/// <remarks>
/// The source-generated P/Invoke stub calls <see cref="In.Free"/> in a finally block, so the use is given back even
/// when a later argument of the same call throws (say, because it was disposed).
/// </remarks>
[CustomMarshaller(typeof(Tensor), MarshalMode.ManagedToUnmanagedIn, typeof(In))]
internal static class TensorMarshaller
{
    /// <summary>Holds one use of the tensor from marshalling to the end of the call.</summary>
    public struct In
    {
        private Tensor? tensor;

        /// <summary>Takes a use of <paramref name="managed"/>; throws if it is null or was disposed.</summary>
        public void FromManaged(Tensor managed)
        {
            if (managed is null)
                throw new ArgumentNullException(null, "A tensor argument is null; this operation needs a tensor there.");
            managed.AcquireUse();
            tensor = managed;
        }

        /// <summary>The native handle.</summary>
        public readonly IntPtr ToUnmanaged() => tensor!.Pointer;

        /// <summary>Gives the use back (and frees the tensor if it was disposed during the call).</summary>
        public readonly void Free() => tensor?.ReleaseUse();
    }
}

/// <summary>As <see cref="TensorMarshaller"/>, for a tensor the shim accepts as undefined: null passes as a null handle.</summary>
[CustomMarshaller(typeof(Tensor), MarshalMode.ManagedToUnmanagedIn, typeof(In))]
internal static class OptionalTensorMarshaller
{
    /// <summary>Holds one use of the tensor, if any, from marshalling to the end of the call.</summary>
    public struct In
    {
        private Tensor? tensor;

        /// <summary>Takes a use of <paramref name="managed"/> unless it is null; throws if it was disposed.</summary>
        public void FromManaged(Tensor? managed)
        {
            managed?.AcquireUse();
            tensor = managed;
        }

        /// <summary>The native handle, or null.</summary>
        public readonly IntPtr ToUnmanaged() => tensor?.Pointer ?? IntPtr.Zero;

        /// <summary>Gives the use back.</summary>
        public readonly void Free() => tensor?.ReleaseUse();
    }
}

/// <summary>
/// Uses held on every tensor of an array argument (cat's parts, grad's inputs) for the length of one native call, and
/// their handles written to the array the call reads. Dispose it after the call.
/// </summary>
internal readonly ref struct TensorUses
{
    private readonly ReadOnlySpan<Tensor?> tensors;

    /// <param name="tensors">The tensors; null entries pass as null handles unless <paramref name="requiredName"/> is given.</param>
    /// <param name="handles">Receives one handle per tensor.</param>
    /// <param name="requiredName">The public parameter's name when nulls are not allowed (the message names the entry).</param>
    internal TensorUses(ReadOnlySpan<Tensor?> tensors, Span<IntPtr> handles, string? requiredName = null)
    {
        int taken = 0;
        try
        {
            for (; taken < tensors.Length; taken++)
            {
                var t = tensors[taken];
                if (t is null)
                {
                    if (requiredName is not null)
                        throw new ArgumentNullException(requiredName, $"{requiredName}[{taken}] is null; every entry must be a tensor.");
                    handles[taken] = IntPtr.Zero;
                    continue;
                }
                handles[taken] = t.AcquireUse();
            }
        }
        catch
        {
            for (int i = 0; i < taken; i++) tensors[i]?.ReleaseUse();
            throw;
        }
        this.tensors = tensors;
    }

    /// <summary>Gives every use back.</summary>
    public void Dispose()
    {
        foreach (var t in tensors) t?.ReleaseUse();
    }
}
