using System.Globalization;
using Equinox.Tensors;

namespace Equinox.Testing;

/// <summary>
/// Assertions over whole trees for users' test suites. A failure throws <see cref="TreeAssertionException"/> with a
/// message that names the first leaf path that differs and how.
/// </summary>
public static class TreeAssert
{
    /// <summary>
    /// Asserts that <paramref name="actual"/> has the structure and static part of <paramref name="expected"/> and
    /// that every leaf is close: both null, or the same dtype and shape with <c>|actual - expected| &lt;= atol +
    /// rtol·|expected|</c> elementwise (as <c>torch.allclose</c>; NaN equals nothing, integer and bool leaves compare
    /// exactly). The message names the first differing leaf, its shape and dtype, how many elements fail, and the
    /// largest absolute and relative errors with their indices and values.
    /// </summary>
    /// <exception cref="TreeAssertionException">The trees differ.</exception>
    public static void AllClose<T>(T expected, T actual, double rtol = 1e-5, double atol = 1e-8) where T : ITreeNode
    {
        if (!(rtol >= 0)) throw new ArgumentOutOfRangeException(nameof(rtol), rtol, "rtol must be >= 0.");
        if (!(atol >= 0)) throw new ArgumentOutOfRangeException(nameof(atol), atol, "atol must be >= 0.");
        Structure(expected, actual);
        var left = Eqx.LeavesWithPaths(expected);
        var right = Eqx.LeavesWithPaths(actual);
        for (int i = 0; i < left.Count; i++)
        {
            if (LeafDifference(left[i].Leaf, right[i].Leaf, rtol, atol) is { } difference)
                throw new TreeAssertionException($"The trees differ at leaf {Name(left[i].Path)}: {difference}");
        }
    }

    /// <summary>
    /// Asserts that two trees have the same structure (modules, collection lengths, null slots aside) and the same
    /// static fields, naming the first difference; tensor values, shapes and dtypes are not compared.
    /// </summary>
    /// <exception cref="TreeAssertionException">The structures differ.</exception>
    public static void Structure<T>(T expected, T actual) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        if (Eqx.StructureDifference(expected, actual) is { } difference)
            throw new TreeAssertionException($"The trees differ in structure (expected vs actual): {difference}.");
    }

    internal static string Name(TreePath path) => path.Steps.Count == 0 ? "(the root)" : path.ToString();

    internal static string Describe(Tensor? t) => t is null ? "null" : t.Describe();

    private static string? LeafDifference(Tensor? expected, Tensor? actual, double rtol, double atol)
    {
        if (expected is null || actual is null)
            return expected is null && actual is null ? null : $"expected {Describe(expected)}, actual {Describe(actual)}.";
        if (expected.DType != actual.DType || expected.Shape != actual.Shape)
            return $"expected {Describe(expected)}, actual {Describe(actual)}.";
        if (ReferenceEquals(expected, actual)) return null;
        if (expected.DType is DType.Complex64 or DType.Complex128)
            throw new NotSupportedException($"TreeAssert.AllClose does not compare complex leaves yet ({Describe(expected)}); compare their real and imaginary parts as float trees.");

        double[] e = Values(expected), a = Values(actual);
        bool exact = !expected.DType.IsInexact();
        long failing = 0, worstAbs = -1, worstRel = -1;
        double maxAbs = -1, maxRel = -1;
        for (long i = 0; i < e.Length; i++)
        {
            double abs = Math.Abs(a[i] - e[i]);
            // NaN anywhere fails, as in torch.allclose without equal_nan; it ranks as the largest error.
            bool ok = exact ? a[i].Equals(e[i]) : abs <= atol + rtol * Math.Abs(e[i]);
            if (ok) continue;
            failing++;
            double absRank = double.IsNaN(abs) ? double.PositiveInfinity : abs;
            double rel = absRank / Math.Abs(e[i]);
            if (double.IsNaN(rel)) rel = double.PositiveInfinity;
            if (absRank > maxAbs) (maxAbs, worstAbs) = (absRank, i);
            if (rel > maxRel) (maxRel, worstRel) = (rel, i);
        }
        if (failing == 0) return null;
        string what = $"{failing} of {e.Length} elements of {Describe(expected)}";
        if (exact)
            return $"{what} differ (compared exactly); the largest difference is at {Index(worstAbs, expected.Shape)}: " +
                   $"expected {Number(e[worstAbs])}, actual {Number(a[worstAbs])}.";
        return $"{what} exceed atol + rtol·|expected| (rtol={Number(rtol)}, atol={Number(atol)}); " +
               $"the largest absolute error is {Number(Math.Abs(a[worstAbs] - e[worstAbs]))} at {Index(worstAbs, expected.Shape)} " +
               $"(expected {Number(e[worstAbs])}, actual {Number(a[worstAbs])}), " +
               $"the largest relative error {Number(maxRel)} at {Index(worstRel, expected.Shape)}.";
    }

    /// <summary>The leaf's elements as float64 on the CPU, in row-major order.</summary>
    internal static double[] Values(Tensor t)
    {
        using var scope = Torch.Scope();
        using var noGrad = Torch.NoGrad();
        var cpu = t.Device.Type == DeviceType.Cpu ? t : t.To(Device.Cpu);
        return cpu.Detach().To(DType.Float64).Contiguous().ToArray<double>();
    }

    internal static string Number(double x) => x.ToString("G6", CultureInfo.InvariantCulture);

    internal static string Index(long flat, TensorShape shape)
    {
        var dims = shape.ToArray();
        if (dims.Length == 0) return "[]";
        var index = new long[dims.Length];
        for (int d = dims.Length - 1; d >= 0; d--)
        {
            index[d] = flat % dims[d];
            flat /= dims[d];
        }
        return "[" + string.Join(", ", index) + "]";
    }
}
