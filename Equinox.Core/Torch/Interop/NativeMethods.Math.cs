using System.Runtime.InteropServices;

namespace Equinox.Torch.Interop;

internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)] internal static partial IntPtr eqx_neg(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_abs(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_exp(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_log(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_log1p(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_sqrt(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_rsqrt(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_sin(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_cos(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_tanh(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_sigmoid(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_relu(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_silu(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_sign(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_floor(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_ceil(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_round(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_square(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_reciprocal(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_isnan(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_isinf(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_isfinite(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_logical_not(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_gelu(IntPtr a, int tanhApproximation);
    [LibraryImport(Library)] internal static partial IntPtr eqx_softplus(IntPtr a, double beta, double threshold);
    [LibraryImport(Library)] internal static partial IntPtr eqx_leaky_relu(IntPtr a, double slope);

    [LibraryImport(Library)] internal static partial IntPtr eqx_add(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_sub(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_mul(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_div(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_pow(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_remainder(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_maximum(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_minimum(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_eq(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_ne(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_lt(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_le(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_gt(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_ge(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_logical_and(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_logical_or(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_logical_xor(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_matmul(IntPtr a, IntPtr b);

    [LibraryImport(Library)] internal static partial IntPtr eqx_add_scalar(IntPtr a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_sub_scalar(IntPtr a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_rsub_scalar(IntPtr a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_mul_scalar(IntPtr a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_div_scalar(IntPtr a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_rdiv_scalar(IntPtr a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_pow_scalar(IntPtr a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_rpow_scalar(IntPtr a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_remainder_scalar(IntPtr a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_eq_scalar(IntPtr a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_ne_scalar(IntPtr a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_lt_scalar(IntPtr a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_le_scalar(IntPtr a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_gt_scalar(IntPtr a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_ge_scalar(IntPtr a, double value, long integral, int isIntegral);

    [LibraryImport(Library)] internal static partial IntPtr eqx_where(IntPtr condition, IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_clamp(IntPtr a, double min, long integralMin, int hasMin, double max, long integralMax, int hasMax, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_softmax(IntPtr a, long dim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_log_softmax(IntPtr a, long dim);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr eqx_einsum(string equation, IntPtr* operands, int count);

    [LibraryImport(Library)] internal static partial IntPtr eqx_sum(IntPtr a, long* dims, int ndims, int keepdim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_mean(IntPtr a, long* dims, int ndims, int keepdim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_var(IntPtr a, long* dims, int ndims, int unbiased, int keepdim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_logsumexp(IntPtr a, long* dims, int ndims, int keepdim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_amax(IntPtr a, long* dims, int ndims, int keepdim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_amin(IntPtr a, long* dims, int ndims, int keepdim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_argmax(IntPtr a, long dim, int hasDim, int keepdim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_argmin(IntPtr a, long dim, int hasDim, int keepdim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_any(IntPtr a, long dim, int hasDim, int keepdim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_all(IntPtr a, long dim, int hasDim, int keepdim);

    [LibraryImport(Library)] internal static partial int eqx_add_(IntPtr a, IntPtr b, double alpha);
    [LibraryImport(Library)] internal static partial int eqx_mul_scalar_(IntPtr a, double value);
    [LibraryImport(Library)] internal static partial int eqx_mul_(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial int eqx_addcmul_(IntPtr a, IntPtr b, IntPtr c, double value);
    [LibraryImport(Library)] internal static partial int eqx_addcdiv_(IntPtr a, IntPtr b, IntPtr c, double value);
    [LibraryImport(Library)] internal static partial int eqx_copy_(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial int eqx_zero_(IntPtr a);
}
