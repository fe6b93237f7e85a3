using Equinox.Tensors.Interop;

namespace Equinox.Tensors;

// Reshaping, joining, splitting, slicing and indexing.
public sealed partial class Tensor
{
    /// <summary>The same elements with a new shape (one size may be -1); a view when possible, else a copy.</summary>
    public Tensor Reshape(params long[] shape) => Reshape((ReadOnlySpan<long>)(shape ?? throw new ArgumentNullException(nameof(shape))));

    /// <summary>The same elements with a new shape (one size may be -1); a view when possible, else a copy.</summary>
    /// <remarks>Takes a shape such as <c>x.Shape</c> or <c>[2, -1]</c> without copying it.</remarks>
    public unsafe Tensor Reshape(ReadOnlySpan<long> shape)
    {
        fixed (long* s = shape) return WrapShaped(NativeMethods.eqx_reshape(this, s, shape.Length), "reshape", shape);
    }

    /// <summary>A view with a new shape; fails when the memory layout does not allow one (use <see cref="Reshape(ReadOnlySpan{long})"/>).</summary>
    public Tensor View(params long[] shape) => View((ReadOnlySpan<long>)(shape ?? throw new ArgumentNullException(nameof(shape))));

    /// <summary>A view with a new shape; fails when the memory layout does not allow one (use <see cref="Reshape(ReadOnlySpan{long})"/>).</summary>
    /// <remarks>Takes a shape such as <c>x.Shape</c> or <c>[2, -1]</c> without copying it.</remarks>
    public unsafe Tensor View(ReadOnlySpan<long> shape)
    {
        fixed (long* s = shape) return WrapShaped(NativeMethods.eqx_view(this, s, shape.Length), "view", shape);
    }

    // Wrap for an op taking a shape: a failure names the shape, formatted only then.
    private Tensor WrapShaped(IntPtr result, string operation, ReadOnlySpan<long> shape)
    {
        if (result == IntPtr.Zero) throw Failure(operation, [this], $"shape=[{string.Join(",", shape.ToArray())}]");
        return new Tensor(result);
    }

    /// <summary>Merges dims <paramref name="startDim"/>..<paramref name="endDim"/> into one.</summary>
    public Tensor Flatten(long startDim = 0, long endDim = -1) => Wrap(NativeMethods.eqx_flatten(this, startDim, endDim), "flatten", this);

    /// <summary>Swaps two dims (a view).</summary>
    public Tensor Transpose(long dim0, long dim1) => Wrap(NativeMethods.eqx_transpose(this, dim0, dim1), "transpose", this);

    /// <summary>The matrix transpose of a 2-D tensor (swaps the last two dims of higher-rank ones).</summary>
    public Tensor T => Transpose(-2, -1);

    /// <summary>Reorders the dims (a view).</summary>
    public unsafe Tensor Permute(params long[] order)
    {
        ArgumentNullException.ThrowIfNull(order);
        fixed (long* o = order) return Wrap(NativeMethods.eqx_permute(this, o, order.Length), "permute", this, order, static o => $"order=[{string.Join(",", o)}]");
    }

    /// <summary>Removes size-1 dims: all of them, or only <paramref name="dim"/>.</summary>
    public Tensor Squeeze(long? dim = null) => Wrap(NativeMethods.eqx_squeeze(this, dim ?? 0, dim.HasValue ? 1 : 0), "squeeze", this);

    /// <summary>Inserts a size-1 dim at <paramref name="dim"/>.</summary>
    public Tensor Unsqueeze(long dim) => Wrap(NativeMethods.eqx_unsqueeze(this, dim), "unsqueeze", this);

    /// <summary>Repeats size-1 dims to <paramref name="shape"/> without copying (-1 keeps a size).</summary>
    public Tensor Expand(params long[] shape) => Expand((ReadOnlySpan<long>)(shape ?? throw new ArgumentNullException(nameof(shape))));

    /// <summary>Repeats size-1 dims to <paramref name="shape"/> without copying (-1 keeps a size).</summary>
    /// <remarks>Takes a shape such as <c>x.Shape</c> or <c>[2, -1]</c> without copying it.</remarks>
    public unsafe Tensor Expand(ReadOnlySpan<long> shape)
    {
        fixed (long* s = shape) return WrapShaped(NativeMethods.eqx_expand(this, s, shape.Length), "expand", shape);
    }

    /// <summary>Broadcasts to <paramref name="shape"/> with NumPy's rules, without copying.</summary>
    public Tensor BroadcastTo(params long[] shape) => BroadcastTo((ReadOnlySpan<long>)(shape ?? throw new ArgumentNullException(nameof(shape))));

    /// <summary>Broadcasts to <paramref name="shape"/> with NumPy's rules, without copying.</summary>
    /// <remarks>Takes a shape such as <c>x.Shape</c> or <c>[2, -1]</c> without copying it.</remarks>
    public unsafe Tensor BroadcastTo(ReadOnlySpan<long> shape)
    {
        fixed (long* s = shape) return WrapShaped(NativeMethods.eqx_broadcast_to(this, s, shape.Length), "broadcast_to", shape);
    }

    /// <summary>Reverses the order of elements along <paramref name="dims"/>.</summary>
    public unsafe Tensor Flip(params long[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        fixed (long* d = dims) return Wrap(NativeMethods.eqx_flip(this, d, dims.Length), "flip", this);
    }

    /// <summary>Tiles the tensor <paramref name="repeats"/> times along each dim (a copy).</summary>
    public unsafe Tensor Repeat(params long[] repeats)
    {
        ArgumentNullException.ThrowIfNull(repeats);
        fixed (long* r = repeats) return Wrap(NativeMethods.eqx_repeat(this, r, repeats.Length), "repeat", this);
    }

    /// <summary>Joins tensors along an existing dim.</summary>
    public static unsafe Tensor Cat(ReadOnlySpan<Tensor> tensors, long dim = 0) => Join(tensors, dim, "cat", &NativeMethods.eqx_cat);

    /// <summary>Joins tensors along a new dim.</summary>
    public static unsafe Tensor Stack(ReadOnlySpan<Tensor> tensors, long dim = 0) => Join(tensors, dim, "stack", &NativeMethods.eqx_stack);

    private static unsafe Tensor Join(ReadOnlySpan<Tensor> tensors, long dim, string operation, delegate*<IntPtr*, int, long, IntPtr> native)
    {
        Span<IntPtr> handles = tensors.Length <= 64 ? stackalloc IntPtr[tensors.Length] : new IntPtr[tensors.Length];
        using (new TensorUses(tensors!, handles, nameof(tensors)))
        fixed (IntPtr* p = handles)
        {
            var result = native(p, tensors.Length, dim);
            if (result == IntPtr.Zero) throw Failure(operation, [.. tensors]);
            return new Tensor(result);
        }
    }

    /// <summary>Pieces of <paramref name="size"/> along <paramref name="dim"/> (the last may be smaller).</summary>
    public unsafe Tensor[] Split(long size, long dim = 0)
    {
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), $"split size must be positive, got {size}.");
        long length = SizeAlong(dim);
        return Pieces(PieceCount(Math.Max(1, length / size + (length % size == 0 ? 0 : 1)), "split"), "split",
            (output, cap) => NativeMethods.eqx_split(this, size, dim, output, cap));
    }

    /// <summary>Pieces with the given sizes along <paramref name="dim"/>; the sizes must add up to the dim's size.</summary>
    public unsafe Tensor[] Split(long[] sizes, long dim = 0)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        return Pieces(sizes.Length, "split_with_sizes", (output, cap) =>
        {
            fixed (long* s = sizes) return NativeMethods.eqx_split_sizes(this, s, sizes.Length, dim, output, cap);
        });
    }

    /// <summary>At most <paramref name="chunks"/> nearly equal pieces along <paramref name="dim"/>.</summary>
    public unsafe Tensor[] Chunk(long chunks, long dim = 0)
    {
        if (chunks <= 0) throw new ArgumentOutOfRangeException(nameof(chunks), $"chunk count must be positive, got {chunks}.");
        // There are never more pieces than elements along the dim (and one, empty, for an empty dim).
        long pieces = Math.Min(chunks, Math.Max(1, SizeAlong(dim)));
        return Pieces(PieceCount(pieces, "chunk"), "chunk", (output, cap) => NativeMethods.eqx_chunk(this, chunks, dim, output, cap));
    }

    /// <summary>The size of dimension <paramref name="dim"/> (negative counts from the end), checked in full width.</summary>
    private long SizeAlong(long dim)
    {
        var s = Shape;
        if (dim < -s.Length || dim >= s.Length)
            throw new ArgumentOutOfRangeException(nameof(dim), $"dimension {dim} is out of range for {Describe()}.");
        return s[(int)(dim < 0 ? dim + s.Length : dim)];
    }

    private static int PieceCount(long pieces, string operation) =>
        pieces <= Array.MaxLength ? (int)pieces
            : throw new NotSupportedException($"{operation} would make {pieces} pieces; a .NET array holds at most {Array.MaxLength}.");

    private unsafe delegate int PieceWriter(IntPtr* output, int capacity);

    private unsafe Tensor[] Pieces(int capacity, string operation, PieceWriter write)
    {
        var handles = new IntPtr[capacity];
        int count;
        fixed (IntPtr* p = handles) count = write(p, capacity);
        if (count < 0) throw Failure(operation, [this]);
        var result = new Tensor[count];
        for (int i = 0; i < count; i++) result[i] = new Tensor(handles[i]);
        return result;
    }

    /// <summary>The slice at <paramref name="index"/> of <paramref name="dim"/>, which is removed (a view).</summary>
    public Tensor Select(long dim, long index) => Wrap(NativeMethods.eqx_select(this, dim, index), "select", this, (dim, index), static a => $"dim={a.dim}, index={a.index}");

    /// <summary>Elements <paramref name="start"/> to <paramref name="end"/> (exclusive) of <paramref name="dim"/> by <paramref name="step"/> (a view).</summary>
    public Tensor Slice(long dim, long? start = null, long? end = null, long step = 1)
    {
        if (step <= 0) throw new ArgumentOutOfRangeException(nameof(step), $"slice step must be positive, got {step}.");
        return Wrap(NativeMethods.eqx_slice(this, dim, start ?? 0, start.HasValue ? 1 : 0, end ?? 0, end.HasValue ? 1 : 0, step), "slice", this);
    }

    /// <summary><paramref name="length"/> elements of <paramref name="dim"/> from <paramref name="start"/> (a view).</summary>
    public Tensor Narrow(long dim, long start, long length) => Wrap(NativeMethods.eqx_narrow(this, dim, start, length), "narrow", this);

    /// <summary>Values along <paramref name="dim"/> picked by an i64 <paramref name="index"/> of the same rank.</summary>
    public Tensor Gather(long dim, Tensor index) => Wrap(NativeMethods.eqx_gather(this, dim, Required(index)), "gather", this, index);

    /// <summary>The slices of <paramref name="dim"/> listed in a 1-D integer <paramref name="index"/>.</summary>
    public Tensor IndexSelect(long dim, Tensor index)
    {
        var result = NativeMethods.eqx_index_select(this, dim, Required(index));
        if (result == IntPtr.Zero) throw Failure("index_select", [this, index], $"dim={dim}", FindIndexOutOfRange(index, this, dim));
        return new Tensor(result);
    }

    /// <summary>
    /// For the failure message of an op whose LibTorch message names no index ("index out of range in self"): the
    /// first index outside dimension <paramref name="dim"/> of <paramref name="source"/>, and the dimension's size.
    /// Runs only on the failure path; returns null when it finds nothing to add.
    /// </summary>
    internal static string? FindIndexOutOfRange(Tensor indices, Tensor source, long dim)
    {
        try
        {
            using var scope = Torch.Scope();
            using var noGrad = Torch.NoGrad();
            if (indices.DType.IsInexact() || indices.DType == DType.Bool || dim < -source.Rank || dim >= source.Rank) return null;
            long size = source.Size((int)(dim < 0 ? dim + source.Rank : dim));
            var flat = indices.Flatten().To(DType.Int64).To(Device.Cpu).ToArray<long>();
            foreach (var i in flat)
                if (i < 0 || i >= size)
                    return $"Index {i} is out of range for dimension {dim} of {source.Describe()}, which has size {size}.";
            return null;
        }
        catch (Exception e) when (e is TorchException or ObjectDisposedException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>A copy with <paramref name="value"/> where the bool <paramref name="mask"/> is true.</summary>
    /// <exception cref="ArgumentException"><paramref name="mask"/> is not a bool tensor.</exception>
    public Tensor MaskedFill(Tensor mask, double value)
    {
        if (Required(mask).DType != DType.Bool)
            throw new ArgumentException(
                $"masked_fill needs a bool mask, got {mask.Describe()}; compare to make one, e.g. `mask.Ne(0)`.", nameof(mask));
        return Wrap(NativeMethods.eqx_masked_fill(this, mask, value), "masked_fill", this, mask);
    }

    /// <summary>One-hot encoding of an integer tensor: a new last dim of <paramref name="classes"/> (i64).</summary>
    public Tensor OneHot(long classes) => Wrap(NativeMethods.eqx_one_hot(this, classes), "one_hot", this);

    /// <summary>The lower triangle of the last two dims; the rest zero.</summary>
    public Tensor Tril(long diagonal = 0) => Wrap(NativeMethods.eqx_tril(this, diagonal), "tril", this);

    /// <summary>The upper triangle of the last two dims; the rest zero.</summary>
    public Tensor Triu(long diagonal = 0) => Wrap(NativeMethods.eqx_triu(this, diagonal), "triu", this);

    /// <summary>
    /// NumPy-style indexing: integers select (and drop a dim), ranges slice (<c>t[1..3]</c>, <c>t[.., ^1]</c>),
    /// <see cref="TensorIndex.Slice"/> adds a step, <see cref="TensorIndex.Ellipsis"/> and
    /// <see cref="TensorIndex.NewAxis"/> work as in NumPy, and integer or bool tensors index advanced-style.
    /// </summary>
    [System.Runtime.CompilerServices.IndexerName("Indexer")]
    public Tensor this[params TensorIndex[] indices] => TensorIndex.Apply(this, indices);

    /// <summary>Advanced indexing with one optional index tensor per leading dim (null keeps the dim whole).</summary>
    public unsafe Tensor Index(params Tensor?[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var handles = new IntPtr[indices.Length];
        using (new TensorUses(indices, handles))
        fixed (IntPtr* p = handles)
        {
            var result = NativeMethods.eqx_index(this, p, indices.Length);
            if (result == IntPtr.Zero) throw Failure("index", [this, .. indices]);
            return new Tensor(result);
        }
    }
}
