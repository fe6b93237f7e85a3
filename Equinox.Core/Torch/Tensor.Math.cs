using Equinox.Tensors.Interop;

namespace Equinox.Tensors;

// Operators, and the ops whose signatures do not fit the one-line pattern of Tensor.Elementwise.cs.
public sealed partial class Tensor
{
    /// <summary>Elementwise sum, broadcasting.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);
    /// <summary>Adds a scalar.</summary>
    public static Tensor operator +(Tensor a, double b) => a.Add(b);
    /// <summary>Adds an integer scalar.</summary>
    public static Tensor operator +(Tensor a, long b) => a.Add(b);
    /// <summary>Adds a scalar.</summary>
    public static Tensor operator +(double a, Tensor b) => b.Add(a);
    /// <summary>Adds an integer scalar.</summary>
    public static Tensor operator +(long a, Tensor b) => b.Add(a);

    /// <summary>Elementwise difference, broadcasting.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);
    /// <summary>Subtracts a scalar.</summary>
    public static Tensor operator -(Tensor a, double b) => a.Sub(b);
    /// <summary>Subtracts an integer scalar.</summary>
    public static Tensor operator -(Tensor a, long b) => a.Sub(b);
    /// <summary>A scalar minus each element.</summary>
    public static Tensor operator -(double a, Tensor b) => Wrap(NativeMethods.eqx_rsub_scalar(Required(b), a, 0, 0), "rsub", b);
    /// <summary>An integer scalar minus each element.</summary>
    public static Tensor operator -(long a, Tensor b) => Wrap(NativeMethods.eqx_rsub_scalar(Required(b), a, a, 1), "rsub", b);
    /// <summary>Elementwise negation.</summary>
    public static Tensor operator -(Tensor a) => a.Neg();

    /// <summary>Elementwise product, broadcasting.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);
    /// <summary>Multiplies by a scalar.</summary>
    public static Tensor operator *(Tensor a, double b) => a.Mul(b);
    /// <summary>Multiplies by an integer scalar.</summary>
    public static Tensor operator *(Tensor a, long b) => a.Mul(b);
    /// <summary>Multiplies by a scalar.</summary>
    public static Tensor operator *(double a, Tensor b) => b.Mul(a);
    /// <summary>Multiplies by an integer scalar.</summary>
    public static Tensor operator *(long a, Tensor b) => b.Mul(a);

    /// <summary>Elementwise true division, broadcasting.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);
    /// <summary>Divides by a scalar.</summary>
    public static Tensor operator /(Tensor a, double b) => a.Div(b);
    /// <summary>Divides by an integer scalar (true division).</summary>
    public static Tensor operator /(Tensor a, long b) => a.Div(b);
    /// <summary>A scalar divided by each element.</summary>
    public static Tensor operator /(double a, Tensor b) => Wrap(NativeMethods.eqx_rdiv_scalar(Required(b), a, 0, 0), "rdiv", b);
    /// <summary>Python's remainder (sign of the divisor), broadcasting.</summary>
    public static Tensor operator %(Tensor a, Tensor b) => a.Remainder(b);
    /// <summary>Python's remainder by a scalar.</summary>
    public static Tensor operator %(Tensor a, double b) => a.Remainder(b);
    /// <summary>Python's remainder by an integer scalar (an integer tensor stays integral).</summary>
    public static Tensor operator %(Tensor a, long b) => a.Remainder(b);

    /// <summary>Elementwise &lt; (bool).</summary>
    public static Tensor operator <(Tensor a, Tensor b) => a.Lt(b);
    /// <summary>Elementwise &gt; (bool).</summary>
    public static Tensor operator >(Tensor a, Tensor b) => a.Gt(b);
    /// <summary>Elementwise &lt;= (bool).</summary>
    public static Tensor operator <=(Tensor a, Tensor b) => a.Le(b);
    /// <summary>Elementwise &gt;= (bool).</summary>
    public static Tensor operator >=(Tensor a, Tensor b) => a.Ge(b);
    /// <summary>Elementwise &lt; a scalar (bool).</summary>
    public static Tensor operator <(Tensor a, double b) => a.Lt(b);
    /// <summary>Elementwise &gt; a scalar (bool).</summary>
    public static Tensor operator >(Tensor a, double b) => a.Gt(b);
    /// <summary>Elementwise &lt;= a scalar (bool).</summary>
    public static Tensor operator <=(Tensor a, double b) => a.Le(b);
    /// <summary>Elementwise &gt;= a scalar (bool).</summary>
    public static Tensor operator >=(Tensor a, double b) => a.Ge(b);
    /// <summary>Elementwise logical and of bool tensors.</summary>
    public static Tensor operator &(Tensor a, Tensor b) => a.LogicalAnd(b);
    /// <summary>Elementwise logical or of bool tensors.</summary>
    public static Tensor operator |(Tensor a, Tensor b) => a.LogicalOr(b);
    /// <summary>Elementwise logical xor of bool tensors.</summary>
    public static Tensor operator ^(Tensor a, Tensor b) => a.LogicalXor(b);
    /// <summary>Elementwise logical not of a bool tensor.</summary>
    public static Tensor operator !(Tensor a) => a.LogicalNot();

    /// <summary>Picks from <paramref name="a"/> where <paramref name="condition"/> holds, else from <paramref name="b"/>.</summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b) =>
        Wrap(NativeMethods.eqx_where(Required(condition), Required(a), Required(b)), "where", condition, a, b);

    /// <summary>Limits values to [min, max]; either bound may be omitted.</summary>
    public Tensor Clamp(double? min = null, double? max = null) =>
        Wrap(NativeMethods.eqx_clamp(this, min ?? 0, 0, min.HasValue ? 1 : 0, max ?? 0, 0, max.HasValue ? 1 : 0, 0), "clamp", this);

    /// <summary>Limits values to integer bounds [min, max]; an integer tensor stays integral.</summary>
    public Tensor Clamp(long? min, long? max = null) =>
        Wrap(NativeMethods.eqx_clamp(this, 0, min ?? 0, min.HasValue ? 1 : 0, 0, max ?? 0, max.HasValue ? 1 : 0, 1), "clamp", this);

    /// <summary>GELU; exact (erf) by default, or the tanh approximation.</summary>
    public Tensor Gelu(bool tanhApproximation = false) => Wrap(NativeMethods.eqx_gelu(this, tanhApproximation ? 1 : 0), "gelu", this);

    /// <summary>log(1 + exp(beta x)) / beta, linear above <paramref name="threshold"/>.</summary>
    public Tensor Softplus(double beta = 1, double threshold = 20) => Wrap(NativeMethods.eqx_softplus(this, beta, threshold), "softplus", this);

    /// <summary>x for x &gt; 0, slope * x otherwise.</summary>
    public Tensor LeakyRelu(double slope = 0.01) => Wrap(NativeMethods.eqx_leaky_relu(this, slope), "leaky_relu", this);

    /// <summary>Softmax along <paramref name="dim"/>.</summary>
    public Tensor Softmax(long dim) => Wrap(NativeMethods.eqx_softmax(this, dim), "softmax", this);

    /// <summary>Log of the softmax along <paramref name="dim"/>, computed stably.</summary>
    public Tensor LogSoftmax(long dim) => Wrap(NativeMethods.eqx_log_softmax(this, dim), "log_softmax", this);

    /// <summary>Einstein summation, e.g. <c>Tensor.Einsum("ij,jk->ik", a, b)</c>.</summary>
    public static unsafe Tensor Einsum(string equation, params ReadOnlySpan<Tensor> operands)
    {
        ArgumentNullException.ThrowIfNull(equation);
        Span<IntPtr> handles = operands.Length <= 16 ? stackalloc IntPtr[operands.Length] : new IntPtr[operands.Length];
        using (new TensorUses(operands!, handles, nameof(operands)))
        fixed (IntPtr* p = handles)
        {
            var result = NativeMethods.eqx_einsum(equation, p, operands.Length);
            if (result == IntPtr.Zero) throw Failure($"einsum(\"{equation}\")", [.. operands]);
            return new Tensor(result);
        }
    }

    // ---- in place: only for optimisers and buffers that own their memory ---------------------------------------

    /// <summary>this += alpha * other, in place.</summary>
    public Tensor AddInPlace(Tensor other, double alpha = 1)
    {
        Check(NativeMethods.eqx_add_(this, Required(other), alpha), "add_", this, other);
        return this;
    }

    /// <summary>
    /// <c>targets[i] += alpha * others[i]</c> for every i, in place and outside autograd, as one multi-tensor op
    /// (LibTorch's <c>_foreach_add_</c>): one native call whatever the number of tensors. For optimisers' updates.
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static unsafe void AddInPlace(ReadOnlySpan<Tensor> targets, ReadOnlySpan<Tensor> others, double alpha = 1)
    {
        if (targets.Length != others.Length)
            throw new ArgumentException($"AddInPlace got {targets.Length} targets but {others.Length} tensors to add; give one per target.", nameof(others));
        if (targets.IsEmpty) return;
        Span<IntPtr> a = targets.Length <= 64 ? stackalloc IntPtr[targets.Length] : new IntPtr[targets.Length];
        Span<IntPtr> b = others.Length <= 64 ? stackalloc IntPtr[others.Length] : new IntPtr[others.Length];
        int status;
        using (new TensorUses(targets!, a, nameof(targets)))
        using (new TensorUses(others!, b, nameof(others)))
        fixed (IntPtr* pa = a) fixed (IntPtr* pb = b)
            status = NativeMethods.eqx_foreach_add_(pa, pb, targets.Length, alpha);
        if (status < 0) throw Failure("_foreach_add_", [.. targets, .. others], $"alpha={alpha}");
    }

    /// <summary>this *= value, in place.</summary>
    public Tensor MulInPlace(double value)
    {
        Check(NativeMethods.eqx_mul_scalar_(this, value), "mul_", this);
        return this;
    }

    /// <summary>this *= other, in place.</summary>
    public Tensor MulInPlace(Tensor other)
    {
        Check(NativeMethods.eqx_mul_(this, Required(other)), "mul_", this, other);
        return this;
    }

    /// <summary>this += value * a * b, in place.</summary>
    public Tensor AddcmulInPlace(Tensor a, Tensor b, double value = 1)
    {
        Check(NativeMethods.eqx_addcmul_(this, Required(a), Required(b), value), "addcmul_", this, a, b);
        return this;
    }

    /// <summary>this += value * a / b, in place.</summary>
    public Tensor AddcdivInPlace(Tensor a, Tensor b, double value = 1)
    {
        Check(NativeMethods.eqx_addcdiv_(this, Required(a), Required(b), value), "addcdiv_", this, a, b);
        return this;
    }

    /// <summary>Copies <paramref name="source"/>'s values into this tensor (broadcasting), in place.</summary>
    public Tensor CopyInPlace(Tensor source)
    {
        Check(NativeMethods.eqx_copy_(this, Required(source)), "copy_", this, source);
        return this;
    }

    /// <summary>Sets every element to zero, in place.</summary>
    public Tensor ZeroInPlace()
    {
        Check(NativeMethods.eqx_zero_(this), "zero_", this);
        return this;
    }
}
