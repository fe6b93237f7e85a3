namespace Equinox.Tensors;

/// <summary>Element type of a tensor. The values are LibTorch's <c>c10::ScalarType</c> codes.</summary>
public enum DType
{
    /// <summary>Unsigned 8-bit integer (<c>u8</c>, <see cref="byte"/>).</summary>
    UInt8 = 0,
    /// <summary>Signed 8-bit integer (<c>i8</c>, <see cref="sbyte"/>).</summary>
    Int8 = 1,
    /// <summary>Signed 16-bit integer (<c>i16</c>, <see cref="short"/>).</summary>
    Int16 = 2,
    /// <summary>Signed 32-bit integer (<c>i32</c>, <see cref="int"/>).</summary>
    Int32 = 3,
    /// <summary>Signed 64-bit integer (<c>i64</c>, <see cref="long"/>).</summary>
    Int64 = 4,
    /// <summary>IEEE half precision (<c>f16</c>, <see cref="Half"/>).</summary>
    Float16 = 5,
    /// <summary>IEEE single precision (<c>f32</c>, <see cref="float"/>).</summary>
    Float32 = 6,
    /// <summary>IEEE double precision (<c>f64</c>, <see cref="double"/>).</summary>
    Float64 = 7,
    /// <summary>Complex of two singles (<c>c64</c>).</summary>
    Complex64 = 9,
    /// <summary>Complex of two doubles (<c>c128</c>, <see cref="System.Numerics.Complex"/>).</summary>
    Complex128 = 10,
    /// <summary>Boolean (<c>bool</c>, <see cref="bool"/>).</summary>
    Bool = 11,
    /// <summary>Brain floating point (<c>bf16</c>, <see cref="Equinox.Tensors.BFloat16"/>).</summary>
    BFloat16 = 15,
}

/// <summary>Facts about <see cref="DType"/> values.</summary>
public static class DTypeExtensions
{
    /// <summary>Equinox's short name: <c>f32</c>, <c>i64</c>, <c>bool</c>, ...</summary>
    public static string ShortName(this DType dtype) => dtype switch
    {
        DType.UInt8 => "u8",
        DType.Int8 => "i8",
        DType.Int16 => "i16",
        DType.Int32 => "i32",
        DType.Int64 => "i64",
        DType.Float16 => "f16",
        DType.Float32 => "f32",
        DType.Float64 => "f64",
        DType.Complex64 => "c64",
        DType.Complex128 => "c128",
        DType.Bool => "bool",
        DType.BFloat16 => "bf16",
        _ => $"dtype{(int)dtype}",
    };

    /// <summary>Whether <paramref name="dtype"/> is one of the named members (a cast integer may be anything).</summary>
    public static bool IsDefined(this DType dtype) => dtype.ShortName() != $"dtype{(int)dtype}";

    /// <summary>For messages: <c>dtype=f32</c>, or what is wrong with a value that names no dtype.</summary>
    internal static string Describe(this DType dtype) => dtype.IsDefined()
        ? $"dtype={dtype.ShortName()}"
        : $"dtype=(DType){(int)dtype}, which is not a DType: use a member such as DType.Float32";

    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this DType dtype) => dtype switch
    {
        DType.UInt8 or DType.Int8 or DType.Bool => 1,
        DType.Int16 or DType.Float16 or DType.BFloat16 => 2,
        DType.Int32 or DType.Float32 => 4,
        DType.Int64 or DType.Float64 or DType.Complex64 => 8,
        DType.Complex128 => 16,
        _ => throw new NotSupportedException($"dtype code {(int)dtype} is not supported by Equinox."),
    };

    /// <summary>Floating point or complex: the dtypes gradients flow through (Equinox's "inexact").</summary>
    public static bool IsInexact(this DType dtype) => dtype.IsFloatingPoint() || dtype.IsComplex();

    /// <summary>f16, bf16, f32 or f64.</summary>
    public static bool IsFloatingPoint(this DType dtype) =>
        dtype is DType.Float16 or DType.BFloat16 or DType.Float32 or DType.Float64;

    /// <summary>c64 or c128.</summary>
    public static bool IsComplex(this DType dtype) => dtype is DType.Complex64 or DType.Complex128;

    /// <summary>The dtype that stores elements of the managed type <typeparamref name="T"/>.</summary>
    public static DType Of<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return DType.Float32;
        if (typeof(T) == typeof(double)) return DType.Float64;
        if (typeof(T) == typeof(Half)) return DType.Float16;
        if (typeof(T) == typeof(BFloat16)) return DType.BFloat16;
        if (typeof(T) == typeof(sbyte)) return DType.Int8;
        if (typeof(T) == typeof(short)) return DType.Int16;
        if (typeof(T) == typeof(int)) return DType.Int32;
        if (typeof(T) == typeof(long)) return DType.Int64;
        if (typeof(T) == typeof(byte)) return DType.UInt8;
        if (typeof(T) == typeof(bool)) return DType.Bool;
        if (typeof(T) == typeof(System.Numerics.Complex)) return DType.Complex128;
        throw new NotSupportedException(
            $"{typeof(T).Name} has no tensor dtype; use float, double, Half, BFloat16, sbyte, short, int, long, byte, bool or Complex.");
    }
}
