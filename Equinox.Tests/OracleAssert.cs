using System.Globalization;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests;

/// <summary>Assertions that one of our tensors matches what PyTorch computed: shape, dtype and values.</summary>
public static class OracleAssert
{
    /// <summary>
    /// Asserts that <paramref name="actual"/> has <paramref name="expected"/>'s shape and dtype and, elementwise,
    /// |actual - expected| &lt;= atol + rtol * |expected| (NaN only where PyTorch has NaN, infinities equal).
    /// Tolerances default by dtype: f64 1e-10 relative, f32 1e-5 relative, integers and bools exact.
    /// </summary>
    public static void Close(Tensor? actual, OracleTensor? expected, double? rtol = null, double? atol = null, string what = "result")
    {
        if (expected is null)
        {
            Assert.That(actual, Is.Null, $"{what}: PyTorch gives None (unused input), so ours should be null.");
            return;
        }
        Assert.That(actual, Is.Not.Null, $"{what}: PyTorch gives {expected}, ours is null.");
        Assert.That(actual!.Shape, Is.EqualTo(expected.Shape), $"{what}: shape");
        Assert.That(PyTorchOracle.TorchName(actual.DType), Is.EqualTo(expected.DType), $"{what}: dtype");
        var (r, a) = DefaultTolerance(actual.DType);
        Values(PyTorchOracle.ValuesOf(actual), expected.Values, rtol ?? r, atol ?? a, what);
    }

    /// <summary>Asserts bit-for-bit equal values (and equal shape and dtype).</summary>
    public static void Exact(Tensor actual, OracleTensor expected, string what = "result") => Close(actual, expected, 0, 0, what);

    /// <summary>Asserts each gradient against the oracle's gradient for the input of the same name.</summary>
    public static void Grads(OracleResult expected, IReadOnlyList<Tensor?> actual, params string[] names) =>
        Grads(expected, actual, null, null, names);

    /// <summary>As <see cref="Grads(OracleResult, IReadOnlyList{Tensor?}, string[])"/> with explicit tolerances.</summary>
    public static void Grads(OracleResult expected, IReadOnlyList<Tensor?> actual, double? rtol, double? atol, params string[] names)
    {
        Assert.That(actual, Has.Count.EqualTo(names.Length), "one gradient per name");
        for (int i = 0; i < names.Length; i++) Close(actual[i], expected.Grad(names[i]), rtol, atol, $"gradient of {names[i]}");
    }

    /// <summary>The default tolerances (relative, absolute) for comparing values of <paramref name="dtype"/>.</summary>
    public static (double Relative, double Absolute) DefaultTolerance(DType dtype) => dtype switch
    {
        DType.Float64 => (1e-10, 1e-12),
        DType.Float32 => (1e-5, 1e-6),
        DType.Float16 or DType.BFloat16 => (1e-2, 1e-3),
        _ => (0, 0),
    };

    /// <summary>Elementwise closeness of two flat arrays, failing with the worst mismatches listed.</summary>
    public static void Values(double[] actual, double[] expected, double rtol, double atol, string what = "values")
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), $"{what}: element count");
        var mismatches = new List<string>();
        for (int i = 0; i < actual.Length; i++)
        {
            double x = actual[i], y = expected[i];
            bool ok = double.IsNaN(y) ? double.IsNaN(x)
                : double.IsInfinity(y) ? x == y
                : Math.Abs(x - y) <= atol + rtol * Math.Abs(y);
            if (!ok && mismatches.Count < 8)
                mismatches.Add($"[{i}] ours {x.ToString("R", CultureInfo.InvariantCulture)} vs PyTorch {y.ToString("R", CultureInfo.InvariantCulture)}");
        }
        Assert.That(mismatches, Is.Empty, $"{what}: values differ beyond rtol {rtol}, atol {atol}");
    }
}
