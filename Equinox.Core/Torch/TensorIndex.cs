namespace Equinox.Tensors;

/// <summary>One entry of a NumPy-style index: an integer, a slice, a tensor, <see cref="Ellipsis"/> or <see cref="NewAxis"/>.</summary>
public readonly struct TensorIndex
{
    private enum Kind { Integer, Slice, Tensor, Ellipsis, NewAxis }

    private readonly Kind kind;
    private readonly long integer;
    private readonly bool fromEnd;
    private readonly long? start, end;
    private readonly long step;
    private readonly Tensor? tensor;

    private TensorIndex(Kind kind, long integer = 0, long? start = null, long? end = null, long step = 1, Tensor? tensor = null, bool fromEnd = false)
    {
        this.kind = kind;
        this.integer = integer;
        this.fromEnd = fromEnd;
        this.start = start;
        this.end = end;
        this.step = step;
        this.tensor = tensor;
    }

    /// <summary>Selects one position (negative counts from the end) and drops the dim.</summary>
    public static implicit operator TensorIndex(long index) => new(Kind.Integer, integer: index);
    /// <summary>Selects one position (negative counts from the end) and drops the dim.</summary>
    public static implicit operator TensorIndex(int index) => new(Kind.Integer, integer: index);
    /// <summary>Selects one position; <c>^1</c> is the last.</summary>
    public static implicit operator TensorIndex(Index index) =>
        new(Kind.Integer, integer: index.IsFromEnd ? -index.Value : index.Value, fromEnd: index.IsFromEnd);
    /// <summary>A slice, e.g. <c>1..3</c>, <c>..^1</c> or <c>..</c>.</summary>
    public static implicit operator TensorIndex(Range range) => new(Kind.Slice,
        start: Bound(range.Start, isEnd: false), end: Bound(range.End, isEnd: true));
    /// <summary>Advanced indexing by an integer or bool tensor.</summary>
    public static implicit operator TensorIndex(Tensor index) => new(Kind.Tensor, tensor: index);

    /// <summary>A slice with a step: <c>Slice(0, null, 2)</c> is NumPy's <c>0::2</c>.</summary>
    public static TensorIndex Slice(long? start = null, long? end = null, long step = 1) => new(Kind.Slice, start: start, end: end, step: step);

    /// <summary>As many whole dims as needed (NumPy's <c>...</c>).</summary>
    public static TensorIndex Ellipsis => new(Kind.Ellipsis);

    /// <summary>Inserts a size-1 dim (NumPy's <c>None</c>).</summary>
    public static TensorIndex NewAxis => new(Kind.NewAxis);

    private static long? Bound(Index index, bool isEnd)
    {
        // ^0 is the end itself: no bound for an end, and a start past every element (slices clamp it to the size).
        if (index.IsFromEnd) return index.Value == 0 ? (isEnd ? null : long.MaxValue) : -index.Value;
        return index.Value;
    }

    // Basic indexing first (views), then all tensor indices in one advanced-indexing call with nulls for the dims in
    // between: the same order of operations as PyTorch's own indexing.
    internal static Tensor Apply(Tensor source, TensorIndex[] indices)
    {
        int ellipses = 0, consuming = 0;
        foreach (var index in indices)
        {
            if (index.kind == Kind.Ellipsis) ellipses++;
            else if (index.kind == Kind.Tensor && index.tensor!.DType == DType.Bool) consuming += index.tensor.Rank;
            else if (index.kind != Kind.NewAxis) consuming++;
        }
        if (ellipses > 1) throw new ArgumentException("An index may contain at most one Ellipsis.");
        int rank = source.Rank;
        if (consuming > rank)
            throw new IndexOutOfRangeException($"Too many indices for {source.Describe()}: {consuming} given, the tensor has {rank} dims.");

        var result = source;
        try
        {
            var advanced = new List<Tensor?>();
            bool anyTensor = false;
            long dim = 0;
            foreach (var index in indices)
            {
                switch (index.kind)
                {
                    case Kind.Integer:
                        // ^0 is one past the last element: select it so the error names the dim's size.
                        long position = index.fromEnd && index.integer == 0 ? result.Size((int)dim) : index.integer;
                        result = Step(result, source, result.Select(dim, position));
                        break;
                    case Kind.Slice:
                        result = Step(result, source, result.Slice(dim, index.start, index.end, index.step));
                        advanced.Add(null);
                        dim++;
                        break;
                    case Kind.NewAxis:
                        result = Step(result, source, result.Unsqueeze(dim));
                        advanced.Add(null);
                        dim++;
                        break;
                    case Kind.Ellipsis:
                        int skip = rank - consuming;
                        for (int i = 0; i < skip; i++) advanced.Add(null);
                        dim += skip;
                        break;
                    case Kind.Tensor:
                        advanced.Add(index.tensor);
                        anyTensor = true;
                        dim += index.tensor!.DType == DType.Bool ? index.tensor.Rank : 1;
                        break;
                }
            }
            if (!anyTensor) return ReferenceEquals(result, source) ? source.Alias() : result;
            return Step(result, source, result.Index(advanced.ToArray()));
        }
        catch
        {
            // A failing step must not strand the view the steps before it made.
            if (!ReferenceEquals(result, source)) result.Dispose();
            throw;
        }
    }

    // Intermediate views are freed at once so indexing leaves only its result behind.
    private static Tensor Step(Tensor previous, Tensor source, Tensor next)
    {
        if (!ReferenceEquals(previous, source)) previous.Dispose();
        return next;
    }
}
