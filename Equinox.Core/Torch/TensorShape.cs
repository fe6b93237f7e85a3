using System.Collections;
using System.Globalization;
using System.Text;

namespace Equinox.Tensors;

/// <summary>
/// The sizes of a tensor's dimensions, read-only. <see cref="Tensor.Shape"/> reads the sizes once and caches them; this
/// struct hands out that cache without copying it and without letting anyone change it. Index it (<c>x.Shape[0]</c>,
/// <c>x.Shape[^1]</c>), loop over it, pass it where a <see cref="ReadOnlySpan{T}"/> of <see cref="long"/> is expected
/// (<c>Tensor.Zeros(x.Shape)</c>), or take a copy with <see cref="ToArray"/>.
/// </summary>
public readonly struct TensorShape : IReadOnlyList<long>, IEquatable<TensorShape>
{
    // Tensor's cache, shared by every TensorShape it returns: handed out only as a ReadOnlySpan or copied, never written.
    private readonly long[]? sizes;

    /// <summary>Wraps <paramref name="sizes"/> without copying; the caller must not change the array afterwards.</summary>
    internal TensorShape(long[] sizes) => this.sizes = sizes;

    /// <summary>The number of dimensions (the same as <see cref="Rank"/>).</summary>
    public int Length => sizes?.Length ?? 0;

    /// <summary>The number of dimensions (the same as <see cref="Length"/>).</summary>
    public int Rank => Length;

    int IReadOnlyCollection<long>.Count => Length;

    /// <summary>The size of dimension <paramref name="index"/>; <c>^1</c> is the last.</summary>
    /// <exception cref="IndexOutOfRangeException"><paramref name="index"/> is not a dimension.</exception>
    public long this[int index] => AsSpan()[index];

    /// <summary>The sizes of dimensions <paramref name="start"/> onwards, <paramref name="length"/> of them (what <c>x.Shape[1..]</c> calls).</summary>
    public ReadOnlySpan<long> Slice(int start, int length) => AsSpan().Slice(start, length);

    /// <summary>The sizes as a read-only span over the cached array (no copy).</summary>
    public ReadOnlySpan<long> AsSpan() => sizes;

    /// <summary>The sizes as a read-only span over the cached array (no copy).</summary>
    public static implicit operator ReadOnlySpan<long>(TensorShape shape) => shape.sizes;

    /// <summary>A new array holding the sizes; changing it changes no tensor.</summary>
    public long[] ToArray() => AsSpan().ToArray();

    /// <summary>Whether both shapes have the same sizes in the same order.</summary>
    public bool Equals(TensorShape other) => AsSpan().SequenceEqual(other.AsSpan());

    /// <summary>Whether the sizes equal <paramref name="other"/>, element by element.</summary>
    public bool SequenceEqual(ReadOnlySpan<long> other) => AsSpan().SequenceEqual(other);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is TensorShape other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var size in AsSpan()) hash.Add(size);
        return hash.ToHashCode();
    }

    /// <summary>Whether both shapes have the same sizes in the same order.</summary>
    public static bool operator ==(TensorShape left, TensorShape right) => left.Equals(right);

    /// <summary>Whether the shapes differ in rank or in some size.</summary>
    public static bool operator !=(TensorShape left, TensorShape right) => !left.Equals(right);

    /// <summary>The sizes in brackets, <c>[2, 3]</c>; <c>[]</c> for a 0-dimensional tensor.</summary>
    public override string ToString() => $"[{Join(", ")}]";

    /// <summary>The sizes separated by <paramref name="separator"/>, without brackets (<see cref="Tensor.Describe"/> uses <c>","</c>).</summary>
    internal string Join(string separator)
    {
        var text = new StringBuilder();
        var span = AsSpan();
        for (int i = 0; i < span.Length; i++)
        {
            if (i > 0) text.Append(separator);
            text.Append(span[i].ToString(CultureInfo.InvariantCulture));
        }
        return text.ToString();
    }

    /// <summary>An enumerator over the sizes that allocates nothing.</summary>
    public Enumerator GetEnumerator() => new(sizes);

    IEnumerator<long> IEnumerable<long>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Walks the sizes of a <see cref="TensorShape"/>, first dimension first.</summary>
    public struct Enumerator : IEnumerator<long>
    {
        private readonly long[]? sizes;
        private int index;

        internal Enumerator(long[]? sizes)
        {
            this.sizes = sizes;
            index = -1;
        }

        /// <summary>The size at the current position.</summary>
        public readonly long Current => sizes![index];

        readonly object IEnumerator.Current => Current;

        /// <summary>Moves to the next size; false after the last.</summary>
        public bool MoveNext() => sizes is not null && ++index < sizes.Length;

        /// <summary>Moves back before the first size.</summary>
        public void Reset() => index = -1;

        /// <summary>Does nothing: the enumerator holds no resources.</summary>
        public readonly void Dispose() { }
    }
}
