using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices.Marshalling;
using System.Text;
using Equinox.Tensors.Interop;

namespace Equinox.Tensors;

/// <summary>
/// An n-dimensional array on the CPU or a CUDA device, backed by a LibTorch tensor. Operations return new tensors;
/// the few that write in place (for optimisers) end in <c>InPlace</c>. A tensor holds native memory: dispose it, or
/// create it inside a <see cref="TensorScope"/> (<c>using var scope = Torch.Scope();</c>) that disposes it for you.
/// </summary>
[NativeMarshalling(typeof(TensorMarshaller))]
public sealed partial class Tensor : IDisposable
{
    // The native at::Tensor*. Freed once: by Dispose (directly or through the owning scope) when no native call is
    // using it, else by the last such call to finish; or, for a tensor no scope owns, by the finalizer of `backstop`.
    private readonly IntPtr pointer;
    private TensorHandle? backstop;
    private long[]? shape;
    private int dtypeCode = -1;     // the DType, read on first use
    private long deviceCode = -1;   // the Device's type and index, read on first use

    // The native calls using `pointer` right now (TensorMarshaller holds one use per call), plus the Disposed flag,
    // then the Freed flag, in one word so that "take a use unless disposed" and "free once disposed and unused" are
    // each one atomic step. An op on another thread then delays a Dispose instead of reading freed memory.
    private long uses;
    private const long Disposed = 1L << 61;
    private const long Freed = 1L << 62;

    // `counted`: the live-tensor count already includes the pointer (a native tensor taken over from another Tensor).
    private Tensor(IntPtr pointer, bool counted = false)
    {
        this.pointer = pointer;
        if (!counted) TensorHandle.Created();
        var scope = TensorScope.Current;
        if (scope is not null)
        {
            scope.Adopt(this);
        }
        else
        {
            backstop = new TensorHandle(pointer, NativeMethods.eqx_tensor_nbytes_unchecked(pointer));
        }
    }

    /// <summary>The scope that will dispose this tensor, if any.</summary>
    internal TensorScope? Owner { get; set; }

    /// <summary>
    /// Called when this tensor leaves its last scope (scope.MoveOut with no enclosing scope): from now on only the
    /// caller and, as a last resort, the GC free it, so it gets the finalizer backstop it was created without.
    /// </summary>
    internal void ReleasedToCaller()
    {
        if (IsDisposed || backstop is not null) return;
        long bytes;
        try { bytes = NativeMethods.eqx_tensor_nbytes(this); }
        catch (ObjectDisposedException) { return; } // disposed on another thread meanwhile: nothing to back up
        var handle = new TensorHandle(pointer, bytes);
        // Publish the backstop, then look again: a Dispose on another thread sets its flag before it reads the
        // backstop (both steps are full fences), so if the flag is set now the pointer is freed (or will be, by the
        // last call using it) either through this backstop or directly, and the backstop must not free it again.
        Interlocked.Exchange(ref backstop, handle);
        if (IsDisposed) handle.Cancel();
    }

    /// <summary>
    /// Takes a use of the native tensor for one native call and returns its pointer; <see cref="ReleaseUse"/> gives it
    /// back. <see cref="Interop.TensorMarshaller"/> does both around every call that takes a <see cref="Tensor"/>.
    /// </summary>
    internal IntPtr AcquireUse()
    {
        if (Interlocked.Increment(ref uses) >= Disposed)
        {
            ReleaseUse();
            ThrowDisposed();
        }
        return pointer;
    }

    /// <summary>The native pointer, for a caller holding a use (see <see cref="AcquireUse"/>).</summary>
    internal IntPtr Pointer => pointer;

    /// <summary>Gives back a use taken by <see cref="AcquireUse"/>; the last use of a disposed tensor frees it.</summary>
    internal void ReleaseUse()
    {
        if (Interlocked.Decrement(ref uses) == Disposed) FreeOnce();
    }

    /// <summary>Whether this tensor's native memory has been released.</summary>
    public bool IsDisposed => Volatile.Read(ref uses) >= Disposed;

    /// <summary>
    /// Releases the native tensor now, or, if a native call on another thread is using it, as soon as that call
    /// returns. Safe to call twice, even from two threads; using the tensor afterwards throws.
    /// </summary>
    public void Dispose()
    {
        long before = Interlocked.Or(ref uses, Disposed);
        if (before == 0) FreeOnce(); // else already disposed, or the last call in flight frees it
    }

    // Runs when the tensor is disposed and unused; the exchange makes exactly one caller free it (a use taken and
    // given back after Dispose also ends here).
    private void FreeOnce()
    {
        if (Interlocked.CompareExchange(ref uses, Disposed | Freed, Disposed) != Disposed) return;
        var handle = Volatile.Read(ref backstop);
        if (handle is not null) handle.Release(); // frees the pointer, withdraws the memory pressure, cancels the finalizer
        else TensorHandle.Free(pointer);
    }

    /// <summary>
    /// A new <see cref="Tensor"/> that owns this one's native tensor, leaving this one disposed, with no native call:
    /// what a donated parameter updated in place becomes. Null when a native call on another thread is using this
    /// tensor or it was disposed (the caller then aliases and disposes instead).
    /// </summary>
    internal Tensor? TakeHandle()
    {
        if (Interlocked.CompareExchange(ref uses, Disposed | Freed, 0) != 0) return null;
        Volatile.Read(ref backstop)?.Cancel(); // the pointer lives on in the new tensor
        return new Tensor(pointer, counted: true);
    }

    /// <summary>
    /// A tensor argument checked for null, so the exception names the public parameter (the marshaller, which would
    /// otherwise catch it, cannot know the name).
    /// </summary>
    internal static Tensor Required(Tensor? tensor, [CallerArgumentExpression(nameof(tensor))] string? name = null) =>
        tensor ?? throw new ArgumentNullException(name, $"{name} is null; pass a tensor.");

    /// <summary>Wraps a result handle, or throws <see cref="TorchException"/> naming the op and its inputs.</summary>
    internal static Tensor Wrap(IntPtr result, string operation, params ReadOnlySpan<Tensor?> inputs)
    {
        if (result == IntPtr.Zero) throw Failure(operation, inputs);
        return new Tensor(result);
    }

    /// <summary>Wraps a handle that may legitimately be null (an undefined tensor, e.g. an unused input's gradient).</summary>
    internal static Tensor? WrapOptional(IntPtr result) => result == IntPtr.Zero ? null : new Tensor(result);

    /// <summary>Throws if a status-returning native call failed.</summary>
    internal static void Check(int status, string operation, params ReadOnlySpan<Tensor?> inputs)
    {
        if (status < 0) throw Failure(operation, inputs);
    }

    /// <summary>Wraps a result handle, or throws naming the op, its inputs and the arguments <paramref name="describe"/> formats.</summary>
    /// <remarks>The arguments are formatted only on failure, so the success path allocates nothing extra.</remarks>
    internal static Tensor Wrap<TState>(IntPtr result, string operation, Tensor input, TState state, Func<TState, string> describe)
    {
        if (result == IntPtr.Zero) throw Failure(operation, [input], describe(state));
        return new Tensor(result);
    }

    /// <summary>Wraps the result of an op that takes a dtype; a failure names the dtype (LibTorch's message for an undefined one names nothing).</summary>
    internal static Tensor Wrap(IntPtr result, string operation, DType dtype, params ReadOnlySpan<Tensor?> inputs)
    {
        if (result == IntPtr.Zero) throw Failure(operation, inputs, dtype.Describe());
        return new Tensor(result);
    }

    internal static TorchException Failure(string operation, ReadOnlySpan<Tensor?> inputs, string? arguments = null, string? detail = null)
    {
        var message = NativeMethods.LastError();
        var described = new string[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) described[i] = inputs[i]?.Describe() ?? "null";
        return new TorchException(operation, described, message, arguments, detail);
    }

    private static void ThrowDisposed() =>
        throw new ObjectDisposedException(nameof(Tensor),
            "This tensor was disposed: directly, by the TensorScope it was created in, or by a FilterJit call it was " +
            "donated to (`donate:`). To keep a tensor past its scope, return it through scope.MoveOut(tensor); after a " +
            "donating call, use what the call returned.");

    // ---- metadata ---------------------------------------------------------------------------------------------

    /// <summary>The size of each dimension, read-only (<see cref="TensorShape.ToArray"/> makes a copy to change).</summary>
    /// <remarks>Read from LibTorch once and cached: a native tensor's shape never changes.</remarks>
    public unsafe TensorShape Shape
    {
        get
        {
            if (shape is not null) return new TensorShape(shape);
            var result = new long[NativeMethods.eqx_tensor_ndim(this)];
            fixed (long* p = result) NativeMethods.eqx_tensor_shape(this, p);
            return new TensorShape(shape = result);
        }
    }

    /// <summary>The number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>The size of dimension <paramref name="dim"/> (negative counts from the end).</summary>
    public long Size(int dim)
    {
        var s = Shape;
        int d = dim < 0 ? dim + s.Length : dim;
        if (d < 0 || d >= s.Length)
            throw new ArgumentOutOfRangeException(nameof(dim), $"dimension {dim} is out of range for {Describe()}");
        return s[d];
    }

    /// <summary>The element type.</summary>
    public DType DType
    {
        get
        {
            // A native tensor's dtype and device never change: read once, as the shape is.
            int code = dtypeCode;
            if (code < 0) dtypeCode = code = NativeMethods.eqx_tensor_dtype(this);
            else if (IsDisposed) ThrowDisposed();
            return (DType)code;
        }
    }

    /// <summary>The device holding the data.</summary>
    public Device Device
    {
        get
        {
            long code = deviceCode;
            if (code < 0)
            {
                NativeMethods.eqx_tensor_device(this, out int type, out int index);
                deviceCode = code = ((long)type << 32) | (uint)index;
            }
            else if (IsDisposed) ThrowDisposed();
            return new Device((DeviceType)(int)(code >> 32), (int)(uint)code);
        }
    }

    /// <summary>The number of elements.</summary>
    public long NumberOfElements => NativeMethods.eqx_tensor_numel(this);

    /// <summary>The bytes the elements occupy.</summary>
    public long Bytes => NativeMethods.eqx_tensor_nbytes(this);

    /// <summary>Whether both objects refer to the same native tensor (not merely equal values).</summary>
    public bool IsSameAs(Tensor other) => NativeMethods.eqx_tensor_same(this, Required(other)) != 0;

    /// <summary>Whether both tensors view the same memory (one is a view or alias of the other).</summary>
    public bool SharesStorageWith(Tensor other) => NativeMethods.eqx_tensor_shares_storage(this, Required(other)) != 0;

    /// <summary>Equinox's summary: dtype and shape, <c>f32[2,3]</c>, with the device when it is not the CPU.</summary>
    public string Describe()
    {
        try
        {
            var device = Device;
            var text = $"{DType.ShortName()}[{Shape.Join(",")}]";
            return device.Type == DeviceType.Cpu ? text : $"{text}@{device}";
        }
        catch (ObjectDisposedException) // also when another thread disposes it meanwhile: this runs in error messages
        {
            return "<disposed tensor>";
        }
    }

    /// <summary>The summary (<see cref="Describe"/>) followed by the values when there are at most 32 of them.</summary>
    public override string ToString()
    {
        if (IsDisposed) return "<disposed tensor>";
        var summary = Describe();
        if (NumberOfElements > 32 || DType.IsComplex()) return summary;
        using var _ = Torch.NoGrad();
        // Integers go through i64, not f64, which would round those above 2^53.
        var dtype = DType;
        string[] texts;
        if (dtype.IsFloatingPoint())
        {
            using var asDouble = dtype == DType.Float64 ? null : To(DType.Float64);
            texts = Array.ConvertAll((asDouble ?? this).ToArray<double>(), v => v.ToString("G6", CultureInfo.InvariantCulture));
        }
        else
        {
            using var asLong = dtype == DType.Int64 ? null : To(DType.Int64);
            texts = Array.ConvertAll((asLong ?? this).ToArray<long>(),
                v => dtype == DType.Bool ? (v != 0 ? "true" : "false") : v.ToString(CultureInfo.InvariantCulture));
        }
        var text = new StringBuilder(summary).Append(' ');
        int position = 0;
        AppendValues(text, Shape, 0, texts, ref position);
        return text.ToString();
    }

    private static void AppendValues(StringBuilder text, ReadOnlySpan<long> shape, int dim, string[] values, ref int position)
    {
        if (dim == shape.Length)
        {
            text.Append(values[position++]);
            return;
        }
        text.Append('[');
        for (long i = 0; i < shape[dim]; i++)
        {
            if (i > 0) text.Append(", ");
            AppendValues(text, shape, dim + 1, values, ref position);
        }
        text.Append(']');
    }
}
