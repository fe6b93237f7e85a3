using System.Runtime.InteropServices;

namespace Equinox.Tensors.Interop;

internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)] internal static partial IntPtr eqx_neg(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_abs(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_exp(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_log(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_log1p(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_sqrt(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_rsqrt(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_sin(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_cos(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_tanh(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_sigmoid(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_relu(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_silu(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_sign(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_floor(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_ceil(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_round(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_square(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_reciprocal(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_isnan(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_isinf(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_isfinite(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_logical_not(Tensor a);
    [LibraryImport(Library)] internal static partial IntPtr eqx_gelu(Tensor a, int tanhApproximation);
    [LibraryImport(Library)] internal static partial IntPtr eqx_softplus(Tensor a, double beta, double threshold);
    [LibraryImport(Library)] internal static partial IntPtr eqx_leaky_relu(Tensor a, double slope);

    [LibraryImport(Library)] internal static partial IntPtr eqx_add(Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_sub(Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_mul(Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_div(Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_pow(Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_remainder(Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_maximum(Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_minimum(Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_eq(Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_ne(Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_lt(Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_le(Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_gt(Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_ge(Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_logical_and(Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_logical_or(Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_logical_xor(Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_matmul(Tensor a, Tensor b);

    [LibraryImport(Library)] internal static partial IntPtr eqx_add_scalar(Tensor a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_sub_scalar(Tensor a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_rsub_scalar(Tensor a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_mul_scalar(Tensor a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_div_scalar(Tensor a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_rdiv_scalar(Tensor a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_pow_scalar(Tensor a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_rpow_scalar(Tensor a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_remainder_scalar(Tensor a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_eq_scalar(Tensor a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_ne_scalar(Tensor a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_lt_scalar(Tensor a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_le_scalar(Tensor a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_gt_scalar(Tensor a, double value, long integral, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_ge_scalar(Tensor a, double value, long integral, int isIntegral);

    [LibraryImport(Library)] internal static partial IntPtr eqx_where(Tensor condition, Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial IntPtr eqx_clamp(Tensor a, double min, long integralMin, int hasMin, double max, long integralMax, int hasMax, int isIntegral);
    [LibraryImport(Library)] internal static partial IntPtr eqx_softmax(Tensor a, long dim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_log_softmax(Tensor a, long dim);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr eqx_einsum(string equation, IntPtr* operands, int count);

    [LibraryImport(Library)] internal static partial IntPtr eqx_sum(Tensor a, long* dims, int ndims, int keepdim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_mean(Tensor a, long* dims, int ndims, int keepdim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_var(Tensor a, long* dims, int ndims, int unbiased, int keepdim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_logsumexp(Tensor a, long* dims, int ndims, int keepdim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_amax(Tensor a, long* dims, int ndims, int keepdim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_amin(Tensor a, long* dims, int ndims, int keepdim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_argmax(Tensor a, long dim, int hasDim, int keepdim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_argmin(Tensor a, long dim, int hasDim, int keepdim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_any(Tensor a, long dim, int hasDim, int keepdim);
    [LibraryImport(Library)] internal static partial IntPtr eqx_all(Tensor a, long dim, int hasDim, int keepdim);

    [LibraryImport(Library)] internal static partial int eqx_add_(Tensor a, Tensor b, double alpha);
    [LibraryImport(Library)] internal static partial int eqx_mul_scalar_(Tensor a, double value);
    [LibraryImport(Library)] internal static partial int eqx_mul_(Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial int eqx_addcmul_(Tensor a, Tensor b, Tensor c, double value);
    [LibraryImport(Library)] internal static partial int eqx_addcdiv_(Tensor a, Tensor b, Tensor c, double value);
    [LibraryImport(Library)] internal static partial int eqx_copy_(Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial int eqx_zero_(Tensor a);
    [LibraryImport(Library)] internal static partial int eqx_foreach_add_(IntPtr* a, IntPtr* b, int count, double alpha);
}
