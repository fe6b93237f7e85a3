using Equinox.Tensors.Interop;

namespace Equinox.Tensors;

public sealed partial class Tensor
{
    /// <summary>A tensor holding a copy of <paramref name="data"/>; the shape defaults to one dimension.</summary>
    /// <exception cref="ArgumentException">The shape's element count differs from the data's length.</exception>
    public static Tensor FromArray<T>(T[] data, params long[] shape) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        return FromSpan<T>(data, shape.Length == 0 ? [data.LongLength] : shape);
    }

    /// <summary>A 2-D tensor holding a copy of a rectangular array.</summary>
    public static unsafe Tensor FromArray<T>(T[,] data) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        fixed (T* p = data)
            return FromSpan(new ReadOnlySpan<T>(p, data.Length), data.GetLength(0), data.GetLength(1));
    }

    /// <summary>A tensor holding a copy of <paramref name="data"/> with the given shape.</summary>
    public static unsafe Tensor FromSpan<T>(ReadOnlySpan<T> data, params ReadOnlySpan<long> shape) where T : unmanaged
    {
        long count = 1;
        foreach (var s in shape)
        {
            if (s < 0) throw new ArgumentException($"shape [{string.Join(",", shape.ToArray())}] has a negative size.", nameof(shape));
            if (s != 0 && count > long.MaxValue / s)
                throw new ArgumentException(
                    $"shape [{string.Join(",", shape.ToArray())}] holds more than {long.MaxValue} elements; no tensor can.", nameof(shape));
            count *= s;
        }
        if (count != data.Length)
            throw new ArgumentException(
                $"shape [{string.Join(",", shape.ToArray())}] holds {count} elements but the data has {data.Length}.", nameof(shape));
        var dtype = DTypeExtensions.Of<T>();
        fixed (T* p = data)
        fixed (long* s = shape)
            return Wrap(NativeMethods.eqx_from_data(p, s, shape.Length, (int)dtype), "from_array", dtype);
    }

    /// <summary>A 0-dimensional f32 tensor.</summary>
    public static Tensor Scalar(float value, Device? device = null) => Scalar((double)value, DType.Float32, device);

    /// <summary>A 0-dimensional tensor of the given dtype (f64 unless stated).</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float64, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        return Wrap(NativeMethods.eqx_scalar_tensor(value, (long)value, 0, (int)dtype, (int)d.Type, d.Index), "scalar", dtype);
    }

    /// <summary>A 0-dimensional integer tensor (i64 unless stated).</summary>
    public static Tensor Scalar(long value, DType dtype = DType.Int64, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        return Wrap(NativeMethods.eqx_scalar_tensor(value, value, 1, (int)dtype, (int)d.Type, d.Index), "scalar", dtype);
    }

    /// <summary>A 0-dimensional bool tensor.</summary>
    public static Tensor Scalar(bool value, Device? device = null) => Scalar(value ? 1L : 0L, DType.Bool, device);

    /// <summary>An f32 tensor of zeros.</summary>
    public static Tensor Zeros(params long[] shape) => Full(shape ?? throw new ArgumentNullException(nameof(shape)), 0.0, DType.Float32);

    /// <summary>A tensor of zeros (f32 unless stated); <c>Tensor.Zeros(x.Shape)</c> passes the shape without copying it.</summary>
    public static Tensor Zeros(ReadOnlySpan<long> shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 0.0, dtype, device);

    /// <summary>An f32 tensor of ones.</summary>
    public static Tensor Ones(params long[] shape) => Full(shape ?? throw new ArgumentNullException(nameof(shape)), 1.0, DType.Float32);

    /// <summary>A tensor of ones (f32 unless stated); <c>Tensor.Ones(x.Shape)</c> passes the shape without copying it.</summary>
    public static Tensor Ones(ReadOnlySpan<long> shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 1.0, dtype, device);

    /// <summary>A tensor filled with <paramref name="value"/> (f32 unless stated).</summary>
    public static unsafe Tensor Full(ReadOnlySpan<long> shape, double value, DType dtype = DType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        fixed (long* s = shape)
            return Wrap(NativeMethods.eqx_full(s, shape.Length, value, (long)value, 0, (int)dtype, (int)d.Type, d.Index), "full", dtype);
    }

    /// <summary>A tensor filled with the integer <paramref name="value"/> (i64 unless stated).</summary>
    public static unsafe Tensor Full(ReadOnlySpan<long> shape, long value, DType dtype = DType.Int64, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        fixed (long* s = shape)
            return Wrap(NativeMethods.eqx_full(s, shape.Length, value, value, 1, (int)dtype, (int)d.Type, d.Index), "full", dtype);
    }

    /// <summary>An uninitialised tensor: its values are whatever the memory held.</summary>
    public static unsafe Tensor Empty(ReadOnlySpan<long> shape, DType dtype = DType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        fixed (long* s = shape)
            return Wrap(NativeMethods.eqx_empty(s, shape.Length, (int)dtype, (int)d.Type, d.Index), "empty", dtype);
    }

    /// <summary>Zeros with this tensor's shape, dtype and device.</summary>
    public Tensor ZerosLike() => Full(Shape, 0.0, DType, Device);

    /// <summary>Ones with this tensor's shape, dtype and device.</summary>
    public Tensor OnesLike() => Full(Shape, 1.0, DType, Device);

    /// <summary>A constant with this tensor's shape, dtype and device.</summary>
    public Tensor FullLike(double value) => Full(Shape, value, DType, Device);

    /// <summary><c>0, 1, ..., end-1</c> (i64 unless stated).</summary>
    public static Tensor Arange(long end, DType dtype = DType.Int64, Device? device = null) => Arange(0, end, 1, dtype, device);

    /// <summary><c>start, start+step, ...</c> below <paramref name="end"/> (i64 unless stated).</summary>
    public static Tensor Arange(long start, long end, long step = 1, DType dtype = DType.Int64, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        return Wrap(NativeMethods.eqx_arange(start, end, step, (int)dtype, (int)d.Type, d.Index), "arange", dtype);
    }

    /// <summary>Floating-point <c>start, start+step, ...</c> below <paramref name="end"/> (f32 unless stated).</summary>
    public static Tensor Arange(double start, double end, double step, DType dtype = DType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        return Wrap(NativeMethods.eqx_arange(start, end, step, (int)dtype, (int)d.Type, d.Index), "arange", dtype);
    }

    /// <summary><paramref name="steps"/> evenly spaced values from start to end inclusive (f32 unless stated).</summary>
    public static Tensor Linspace(double start, double end, long steps, DType dtype = DType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        return Wrap(NativeMethods.eqx_linspace(start, end, steps, (int)dtype, (int)d.Type, d.Index), "linspace", dtype);
    }

    /// <summary>The n×m identity (m defaults to n; f32 unless stated).</summary>
    public static Tensor Eye(long n, long? m = null, DType dtype = DType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        return Wrap(NativeMethods.eqx_eye(n, m ?? n, (int)dtype, (int)d.Type, d.Index), "eye", dtype);
    }

    // ---- random draws: each takes the key explicitly and depends on nothing else -------------------------------

    /// <summary>Standard normal samples (f32 unless stated), determined by <paramref name="key"/> alone.</summary>
    public static unsafe Tensor Normal(Key key, ReadOnlySpan<long> shape, DType dtype = DType.Float32, Device? device = null)
    {
        RequireFloat(dtype, "Normal");
        var d = device ?? Device.Cpu;
        fixed (long* s = shape)
            return Wrap(NativeMethods.eqx_normal(s, shape.Length, key.Seed, (int)dtype, (int)d.Type, d.Index), "normal", dtype);
    }

    /// <summary>Uniform samples in [low, high) (f32 unless stated), determined by <paramref name="key"/> alone.</summary>
    public static unsafe Tensor Uniform(Key key, ReadOnlySpan<long> shape, double low = 0, double high = 1, DType dtype = DType.Float32, Device? device = null)
    {
        RequireFloat(dtype, "Uniform");
        if (!(low < high)) throw new ArgumentException($"Uniform needs low < high, got [{low}, {high}).");
        var d = device ?? Device.Cpu;
        fixed (long* s = shape)
            return Wrap(NativeMethods.eqx_uniform(s, shape.Length, key.Seed, low, high, (int)dtype, (int)d.Type, d.Index), "uniform", dtype);
    }

    /// <summary>Integers in [low, high) (i64 unless stated), determined by <paramref name="key"/> alone.</summary>
    public static unsafe Tensor RandInt(Key key, ReadOnlySpan<long> shape, long low, long high, DType dtype = DType.Int64, Device? device = null)
    {
        if (low >= high) throw new ArgumentException($"RandInt needs low < high, got [{low}, {high}).");
        var d = device ?? Device.Cpu;
        fixed (long* s = shape)
            return Wrap(NativeMethods.eqx_randint(s, shape.Length, key.Seed, low, high, (int)dtype, (int)d.Type, d.Index), "randint", dtype);
    }

    /// <summary>Bernoulli(p) samples as 0/1 (bool unless stated), determined by <paramref name="key"/> alone.</summary>
    public static unsafe Tensor Bernoulli(Key key, ReadOnlySpan<long> shape, double p = 0.5, DType dtype = DType.Bool, Device? device = null)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), $"Bernoulli needs 0 <= p <= 1, got {p}.");
        var d = device ?? Device.Cpu;
        fixed (long* s = shape)
            return Wrap(NativeMethods.eqx_bernoulli(s, shape.Length, key.Seed, p, (int)dtype, (int)d.Type, d.Index), "bernoulli", dtype);
    }

    private static void RequireFloat(DType dtype, string operation)
    {
        if (!dtype.IsFloatingPoint())
            throw new ArgumentException($"{operation} draws floating-point numbers; {dtype.ShortName()} is not one. Draw f32 and convert with .To(...) if you need it.");
    }

    // ---- back to managed memory ------------------------------------------------------------------------------

    /// <summary>A copy of the elements in row-major order. <typeparamref name="T"/> must match the dtype exactly.</summary>
    /// <exception cref="InvalidOperationException">The dtype is not <typeparamref name="T"/>'s.</exception>
    public T[] ToArray<T>() where T : unmanaged
    {
        var result = new T[NumberOfElements];
        CopyTo<T>(result);
        return result;
    }

    /// <summary>Copies the elements (row-major) into <paramref name="destination"/>, which must fit them exactly.</summary>
    public unsafe void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        var expected = DTypeExtensions.Of<T>();
        var actual = DType;
        if (expected != actual)
            throw new InvalidOperationException(
                $"The tensor is {Describe()} but {typeof(T).Name} elements need {expected.ShortName()}: convert first with .To(DType.{expected}).");
        fixed (T* p = destination)
            Check(NativeMethods.eqx_copy_to_host(this, p, (long)destination.Length * sizeof(T)), "copy_to", this);
    }

    /// <summary>
    /// The value of a one-element tensor as <typeparamref name="T"/> (float, double, Half, int, long, short, sbyte,
    /// byte or bool), converting as C# would.
    /// </summary>
    public T Item<T>() where T : unmanaged
    {
        Check(NativeMethods.eqx_item(this, out double asDouble, out long asLong), "item", this);
        bool integral = !DType.IsInexact();
        object value = typeof(T) switch
        {
            var t when t == typeof(float) => (float)asDouble,
            var t when t == typeof(double) => asDouble,
            var t when t == typeof(Half) => (Half)asDouble,
            var t when t == typeof(long) => integral ? asLong : (long)asDouble,
            var t when t == typeof(int) => integral ? (int)asLong : (int)asDouble,
            var t when t == typeof(short) => integral ? (short)asLong : (short)asDouble,
            var t when t == typeof(sbyte) => integral ? (sbyte)asLong : (sbyte)asDouble,
            var t when t == typeof(byte) => integral ? (byte)asLong : (byte)asDouble,
            var t when t == typeof(bool) => asDouble != 0,
            _ => throw new NotSupportedException($"Item<{typeof(T).Name}> is not supported; use float, double, Half, long, int, short, sbyte, byte or bool."),
        };
        return (T)value;
    }

    // ---- conversions -----------------------------------------------------------------------------------------

    /// <summary>A copy with another element type (this tensor itself when it already has it).</summary>
    public Tensor To(DType dtype) => Wrap(NativeMethods.eqx_to_dtype(this, (int)dtype), "to_dtype", dtype, this);

    /// <summary>A copy on another device (an alias when it is already there).</summary>
    public Tensor To(Device device) => Wrap(NativeMethods.eqx_to_device(this, (int)device.Type, device.Index), "to_device", this);

    /// <summary>A copy with its own memory, still connected to the autograd graph.</summary>
    public Tensor Clone() => Wrap(NativeMethods.eqx_clone(this), "clone", this);

    /// <summary>The same values laid out contiguously (an alias if they already are).</summary>
    public Tensor Contiguous() => Wrap(NativeMethods.eqx_contiguous(this), "contiguous", this);

    /// <summary>A second handle to the same tensor, disposed independently of this one.</summary>
    public Tensor Alias() => Wrap(NativeMethods.eqx_alias(this), "alias", this);
}
