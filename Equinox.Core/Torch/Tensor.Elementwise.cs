// The ops that map one-to-one onto a shim export of the same name: one line each.
using Equinox.Tensors.Interop;

namespace Equinox.Tensors;

public sealed partial class Tensor
{
    /// <summary>Elementwise negation.</summary>
    public Tensor Neg() => Wrap(NativeMethods.eqx_neg(this), "neg", this);
    /// <summary>Elementwise absolute value.</summary>
    public Tensor Abs() => Wrap(NativeMethods.eqx_abs(this), "abs", this);
    /// <summary>Elementwise e^x.</summary>
    public Tensor Exp() => Wrap(NativeMethods.eqx_exp(this), "exp", this);
    /// <summary>Elementwise natural logarithm.</summary>
    public Tensor Log() => Wrap(NativeMethods.eqx_log(this), "log", this);
    /// <summary>Elementwise log(1 + x), accurate near zero.</summary>
    public Tensor Log1p() => Wrap(NativeMethods.eqx_log1p(this), "log1p", this);
    /// <summary>Elementwise square root.</summary>
    public Tensor Sqrt() => Wrap(NativeMethods.eqx_sqrt(this), "sqrt", this);
    /// <summary>Elementwise 1 / sqrt(x).</summary>
    public Tensor Rsqrt() => Wrap(NativeMethods.eqx_rsqrt(this), "rsqrt", this);
    /// <summary>Elementwise sine.</summary>
    public Tensor Sin() => Wrap(NativeMethods.eqx_sin(this), "sin", this);
    /// <summary>Elementwise cosine.</summary>
    public Tensor Cos() => Wrap(NativeMethods.eqx_cos(this), "cos", this);
    /// <summary>Elementwise hyperbolic tangent.</summary>
    public Tensor Tanh() => Wrap(NativeMethods.eqx_tanh(this), "tanh", this);
    /// <summary>Elementwise logistic sigmoid.</summary>
    public Tensor Sigmoid() => Wrap(NativeMethods.eqx_sigmoid(this), "sigmoid", this);
    /// <summary>Elementwise max(x, 0).</summary>
    public Tensor Relu() => Wrap(NativeMethods.eqx_relu(this), "relu", this);
    /// <summary>Elementwise x * sigmoid(x) (swish).</summary>
    public Tensor Silu() => Wrap(NativeMethods.eqx_silu(this), "silu", this);
    /// <summary>Elementwise sign: -1, 0 or 1.</summary>
    public Tensor Sign() => Wrap(NativeMethods.eqx_sign(this), "sign", this);
    /// <summary>Elementwise floor.</summary>
    public Tensor Floor() => Wrap(NativeMethods.eqx_floor(this), "floor", this);
    /// <summary>Elementwise ceiling.</summary>
    public Tensor Ceil() => Wrap(NativeMethods.eqx_ceil(this), "ceil", this);
    /// <summary>Elementwise rounding, half to even.</summary>
    public Tensor Round() => Wrap(NativeMethods.eqx_round(this), "round", this);
    /// <summary>Elementwise x * x.</summary>
    public Tensor Square() => Wrap(NativeMethods.eqx_square(this), "square", this);
    /// <summary>Elementwise 1 / x.</summary>
    public Tensor Reciprocal() => Wrap(NativeMethods.eqx_reciprocal(this), "reciprocal", this);
    /// <summary>Elementwise test for NaN (bool).</summary>
    public Tensor IsNan() => Wrap(NativeMethods.eqx_isnan(this), "isnan", this);
    /// <summary>Elementwise test for ±infinity (bool).</summary>
    public Tensor IsInf() => Wrap(NativeMethods.eqx_isinf(this), "isinf", this);
    /// <summary>Elementwise test for finite values (bool).</summary>
    public Tensor IsFinite() => Wrap(NativeMethods.eqx_isfinite(this), "isfinite", this);
    /// <summary>Elementwise logical not (bool).</summary>
    public Tensor LogicalNot() => Wrap(NativeMethods.eqx_logical_not(this), "logical_not", this);
    /// <summary>Elementwise sum, broadcasting.</summary>
    public Tensor Add(Tensor other) => Wrap(NativeMethods.eqx_add(this, Required(other)), "add", this, other);
    /// <summary>Elementwise difference, broadcasting.</summary>
    public Tensor Sub(Tensor other) => Wrap(NativeMethods.eqx_sub(this, Required(other)), "sub", this, other);
    /// <summary>Elementwise product, broadcasting.</summary>
    public Tensor Mul(Tensor other) => Wrap(NativeMethods.eqx_mul(this, Required(other)), "mul", this, other);
    /// <summary>Elementwise true division, broadcasting.</summary>
    public Tensor Div(Tensor other) => Wrap(NativeMethods.eqx_div(this, Required(other)), "div", this, other);
    /// <summary>Elementwise power, broadcasting.</summary>
    public Tensor Pow(Tensor other) => Wrap(NativeMethods.eqx_pow(this, Required(other)), "pow", this, other);
    /// <summary>Elementwise remainder with the divisor's sign (Python's %).</summary>
    public Tensor Remainder(Tensor other) => Wrap(NativeMethods.eqx_remainder(this, Required(other)), "remainder", this, other);
    /// <summary>Elementwise maximum, broadcasting.</summary>
    public Tensor Maximum(Tensor other) => Wrap(NativeMethods.eqx_maximum(this, Required(other)), "maximum", this, other);
    /// <summary>Elementwise minimum, broadcasting.</summary>
    public Tensor Minimum(Tensor other) => Wrap(NativeMethods.eqx_minimum(this, Required(other)), "minimum", this, other);
    /// <summary>Elementwise ==, broadcasting (bool).</summary>
    public Tensor Eq(Tensor other) => Wrap(NativeMethods.eqx_eq(this, Required(other)), "eq", this, other);
    /// <summary>Elementwise !=, broadcasting (bool).</summary>
    public Tensor Ne(Tensor other) => Wrap(NativeMethods.eqx_ne(this, Required(other)), "ne", this, other);
    /// <summary>Elementwise &lt;, broadcasting (bool).</summary>
    public Tensor Lt(Tensor other) => Wrap(NativeMethods.eqx_lt(this, Required(other)), "lt", this, other);
    /// <summary>Elementwise &lt;=, broadcasting (bool).</summary>
    public Tensor Le(Tensor other) => Wrap(NativeMethods.eqx_le(this, Required(other)), "le", this, other);
    /// <summary>Elementwise &gt;, broadcasting (bool).</summary>
    public Tensor Gt(Tensor other) => Wrap(NativeMethods.eqx_gt(this, Required(other)), "gt", this, other);
    /// <summary>Elementwise &gt;=, broadcasting (bool).</summary>
    public Tensor Ge(Tensor other) => Wrap(NativeMethods.eqx_ge(this, Required(other)), "ge", this, other);
    /// <summary>Elementwise logical and (bool).</summary>
    public Tensor LogicalAnd(Tensor other) => Wrap(NativeMethods.eqx_logical_and(this, Required(other)), "logical_and", this, other);
    /// <summary>Elementwise logical or (bool).</summary>
    public Tensor LogicalOr(Tensor other) => Wrap(NativeMethods.eqx_logical_or(this, Required(other)), "logical_or", this, other);
    /// <summary>Elementwise logical xor (bool).</summary>
    public Tensor LogicalXor(Tensor other) => Wrap(NativeMethods.eqx_logical_xor(this, Required(other)), "logical_xor", this, other);
    /// <summary>Matrix product with NumPy's matmul rules (batched, broadcasting, 1-D promoted).</summary>
    public Tensor Matmul(Tensor other) => Wrap(NativeMethods.eqx_matmul(this, Required(other)), "matmul", this, other);
    /// <summary>Add with a floating-point scalar (an integer tensor is promoted to the default float).</summary>
    public Tensor Add(double other) => Wrap(NativeMethods.eqx_add_scalar(this, other, 0, 0), "add", this);
    /// <summary>Add with an integer scalar (an integer tensor stays integral).</summary>
    public Tensor Add(long other) => Wrap(NativeMethods.eqx_add_scalar(this, other, other, 1), "add", this);
    /// <summary>Sub with a floating-point scalar (an integer tensor is promoted to the default float).</summary>
    public Tensor Sub(double other) => Wrap(NativeMethods.eqx_sub_scalar(this, other, 0, 0), "sub", this);
    /// <summary>Sub with an integer scalar (an integer tensor stays integral).</summary>
    public Tensor Sub(long other) => Wrap(NativeMethods.eqx_sub_scalar(this, other, other, 1), "sub", this);
    /// <summary>Mul with a floating-point scalar (an integer tensor is promoted to the default float).</summary>
    public Tensor Mul(double other) => Wrap(NativeMethods.eqx_mul_scalar(this, other, 0, 0), "mul", this);
    /// <summary>Mul with an integer scalar (an integer tensor stays integral).</summary>
    public Tensor Mul(long other) => Wrap(NativeMethods.eqx_mul_scalar(this, other, other, 1), "mul", this);
    /// <summary>Div with a floating-point scalar (an integer tensor is promoted to the default float).</summary>
    public Tensor Div(double other) => Wrap(NativeMethods.eqx_div_scalar(this, other, 0, 0), "div", this);
    /// <summary>Div by an integer scalar: true division, so an integer tensor gives the default float dtype.</summary>
    public Tensor Div(long other) => Wrap(NativeMethods.eqx_div_scalar(this, other, other, 1), "div", this);
    /// <summary>Pow with a floating-point scalar (an integer tensor is promoted to the default float).</summary>
    public Tensor Pow(double other) => Wrap(NativeMethods.eqx_pow_scalar(this, other, 0, 0), "pow", this);
    /// <summary>Pow with an integer scalar (an integer tensor stays integral).</summary>
    public Tensor Pow(long other) => Wrap(NativeMethods.eqx_pow_scalar(this, other, other, 1), "pow", this);
    /// <summary>Remainder with a floating-point scalar (an integer tensor is promoted to the default float).</summary>
    public Tensor Remainder(double other) => Wrap(NativeMethods.eqx_remainder_scalar(this, other, 0, 0), "remainder", this);
    /// <summary>Remainder with an integer scalar (an integer tensor stays integral).</summary>
    public Tensor Remainder(long other) => Wrap(NativeMethods.eqx_remainder_scalar(this, other, other, 1), "remainder", this);
    /// <summary>Eq with a floating-point scalar (an integer tensor is promoted to the default float).</summary>
    public Tensor Eq(double other) => Wrap(NativeMethods.eqx_eq_scalar(this, other, 0, 0), "eq", this);
    /// <summary>Eq with an integer scalar (an integer tensor stays integral).</summary>
    public Tensor Eq(long other) => Wrap(NativeMethods.eqx_eq_scalar(this, other, other, 1), "eq", this);
    /// <summary>Ne with a floating-point scalar (an integer tensor is promoted to the default float).</summary>
    public Tensor Ne(double other) => Wrap(NativeMethods.eqx_ne_scalar(this, other, 0, 0), "ne", this);
    /// <summary>Ne with an integer scalar (an integer tensor stays integral).</summary>
    public Tensor Ne(long other) => Wrap(NativeMethods.eqx_ne_scalar(this, other, other, 1), "ne", this);
    /// <summary>Lt with a floating-point scalar (an integer tensor is promoted to the default float).</summary>
    public Tensor Lt(double other) => Wrap(NativeMethods.eqx_lt_scalar(this, other, 0, 0), "lt", this);
    /// <summary>Lt with an integer scalar (an integer tensor stays integral).</summary>
    public Tensor Lt(long other) => Wrap(NativeMethods.eqx_lt_scalar(this, other, other, 1), "lt", this);
    /// <summary>Le with a floating-point scalar (an integer tensor is promoted to the default float).</summary>
    public Tensor Le(double other) => Wrap(NativeMethods.eqx_le_scalar(this, other, 0, 0), "le", this);
    /// <summary>Le with an integer scalar (an integer tensor stays integral).</summary>
    public Tensor Le(long other) => Wrap(NativeMethods.eqx_le_scalar(this, other, other, 1), "le", this);
    /// <summary>Gt with a floating-point scalar (an integer tensor is promoted to the default float).</summary>
    public Tensor Gt(double other) => Wrap(NativeMethods.eqx_gt_scalar(this, other, 0, 0), "gt", this);
    /// <summary>Gt with an integer scalar (an integer tensor stays integral).</summary>
    public Tensor Gt(long other) => Wrap(NativeMethods.eqx_gt_scalar(this, other, other, 1), "gt", this);
    /// <summary>Ge with a floating-point scalar (an integer tensor is promoted to the default float).</summary>
    public Tensor Ge(double other) => Wrap(NativeMethods.eqx_ge_scalar(this, other, 0, 0), "ge", this);
    /// <summary>Ge with an integer scalar (an integer tensor stays integral).</summary>
    public Tensor Ge(long other) => Wrap(NativeMethods.eqx_ge_scalar(this, other, other, 1), "ge", this);
}
