using Equinox.Tensors.Interop;

namespace Equinox.Tensors;

// Reductions. Without dims they reduce over everything to a 0-dimensional tensor.
public sealed partial class Tensor
{
    private unsafe Tensor Reduce(ReadOnlySpan<long> dims, bool all, bool keepdim, string operation,
        delegate*<Tensor, long*, int, int, IntPtr> native)
    {
        fixed (long* d = dims)
            return Wrap(native(this, d, all ? -1 : dims.Length, keepdim ? 1 : 0), operation, this);
    }

    /// <summary>The sum of all elements.</summary>
    public unsafe Tensor Sum() => Reduce([], true, false, "sum", &NativeMethods.eqx_sum);
    /// <summary>The sum over <paramref name="dim"/>.</summary>
    public unsafe Tensor Sum(long dim, bool keepdim = false) => Reduce([dim], false, keepdim, "sum", &NativeMethods.eqx_sum);
    /// <summary>The sum over several dims.</summary>
    public unsafe Tensor Sum(long[] dims, bool keepdim = false) => Reduce(dims ?? throw new ArgumentNullException(nameof(dims)), false, keepdim, "sum", &NativeMethods.eqx_sum);

    /// <summary>The mean of all elements.</summary>
    public unsafe Tensor Mean() => Reduce([], true, false, "mean", &NativeMethods.eqx_mean);
    /// <summary>The mean over <paramref name="dim"/>.</summary>
    public unsafe Tensor Mean(long dim, bool keepdim = false) => Reduce([dim], false, keepdim, "mean", &NativeMethods.eqx_mean);
    /// <summary>The mean over several dims.</summary>
    public unsafe Tensor Mean(long[] dims, bool keepdim = false) => Reduce(dims ?? throw new ArgumentNullException(nameof(dims)), false, keepdim, "mean", &NativeMethods.eqx_mean);

    /// <summary>The largest element.</summary>
    public unsafe Tensor Max() => Reduce([], true, false, "max", &NativeMethods.eqx_amax);
    /// <summary>The largest element along <paramref name="dim"/> (values only; see <see cref="ArgMax"/>).</summary>
    public unsafe Tensor Max(long dim, bool keepdim = false) => Reduce([dim], false, keepdim, "max", &NativeMethods.eqx_amax);
    /// <summary>The largest element over several dims.</summary>
    public unsafe Tensor Max(long[] dims, bool keepdim = false) => Reduce(dims ?? throw new ArgumentNullException(nameof(dims)), false, keepdim, "max", &NativeMethods.eqx_amax);

    /// <summary>The smallest element.</summary>
    public unsafe Tensor Min() => Reduce([], true, false, "min", &NativeMethods.eqx_amin);
    /// <summary>The smallest element along <paramref name="dim"/> (values only; see <see cref="ArgMin"/>).</summary>
    public unsafe Tensor Min(long dim, bool keepdim = false) => Reduce([dim], false, keepdim, "min", &NativeMethods.eqx_amin);
    /// <summary>The smallest element over several dims.</summary>
    public unsafe Tensor Min(long[] dims, bool keepdim = false) => Reduce(dims ?? throw new ArgumentNullException(nameof(dims)), false, keepdim, "min", &NativeMethods.eqx_amin);

    /// <summary>log(sum(exp(x))) over <paramref name="dim"/>, computed stably.</summary>
    public unsafe Tensor LogSumExp(long dim, bool keepdim = false) => Reduce([dim], false, keepdim, "logsumexp", &NativeMethods.eqx_logsumexp);
    /// <summary>log(sum(exp(x))) over several dims, computed stably.</summary>
    public unsafe Tensor LogSumExp(long[] dims, bool keepdim = false) => Reduce(dims ?? throw new ArgumentNullException(nameof(dims)), false, keepdim, "logsumexp", &NativeMethods.eqx_logsumexp);

    /// <summary>The variance of all elements (Bessel-corrected unless <paramref name="unbiased"/> is false).</summary>
    public unsafe Tensor Var(bool unbiased = true)
    {
        long none = 0;
        return Wrap(NativeMethods.eqx_var(this, &none, -1, unbiased ? 1 : 0, 0), "var", this);
    }

    /// <summary>The variance over <paramref name="dims"/>.</summary>
    public unsafe Tensor Var(long[] dims, bool unbiased = true, bool keepdim = false)
    {
        ArgumentNullException.ThrowIfNull(dims);
        fixed (long* d = dims)
            return Wrap(NativeMethods.eqx_var(this, d, dims.Length, unbiased ? 1 : 0, keepdim ? 1 : 0), "var", this);
    }

    /// <summary>The variance over <paramref name="dim"/>.</summary>
    public Tensor Var(long dim, bool unbiased = true, bool keepdim = false) => Var([dim], unbiased, keepdim);

    /// <summary>The index of the largest element (of the flattened tensor when <paramref name="dim"/> is null), i64.</summary>
    public Tensor ArgMax(long? dim = null, bool keepdim = false) =>
        Wrap(NativeMethods.eqx_argmax(this, dim ?? 0, dim.HasValue ? 1 : 0, keepdim ? 1 : 0), "argmax", this);

    /// <summary>The index of the smallest element (of the flattened tensor when <paramref name="dim"/> is null), i64.</summary>
    public Tensor ArgMin(long? dim = null, bool keepdim = false) =>
        Wrap(NativeMethods.eqx_argmin(this, dim ?? 0, dim.HasValue ? 1 : 0, keepdim ? 1 : 0), "argmin", this);

    /// <summary>Whether any element is true (non-zero), overall or along <paramref name="dim"/>.</summary>
    public Tensor Any(long? dim = null, bool keepdim = false) =>
        Wrap(NativeMethods.eqx_any(this, dim ?? 0, dim.HasValue ? 1 : 0, keepdim ? 1 : 0), "any", this);

    /// <summary>Whether every element is true (non-zero), overall or along <paramref name="dim"/>.</summary>
    public Tensor All(long? dim = null, bool keepdim = false) =>
        Wrap(NativeMethods.eqx_all(this, dim ?? 0, dim.HasValue ? 1 : 0, keepdim ? 1 : 0), "all", this);
}
