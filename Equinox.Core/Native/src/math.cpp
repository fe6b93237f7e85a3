// Elementwise arithmetic, comparisons, activations, matmul/einsum and reductions.
#include "shim.h"

#include <ATen/ScalarOps.h>

#define EQX_UNARY(name, expression) EQX_TENSOR_OP(eqx_##name(TH a), expression)
#define EQX_BINARY(name, expression) EQX_TENSOR_OP(eqx_##name(TH a, TH b), expression)
#define EQX_WITH_SCALAR(name, expression) \
  EQX_TENSOR_OP(eqx_##name(TH a, double value, int64_t integral, int32_t is_integral), expression)
#define S eqx::scalar(value, integral, is_integral)

// The second operand of an op with a scalar. LibTorch wraps a Scalar in a 0-dim f64 tensor marked as a wrapped number
// (what at::mul(Tensor, Scalar) does), which a float32 tensor's elementwise kernel reaches through its type-promotion
// path: about 2.5 µs per op on a small tensor in 1.13, against 0.9 µs for two tensors of one dtype, and `g * -lr` is
// how every update is written. For f32 and f64 CPU tensors the operand is a 0-dim tensor of the tensor's own dtype
// instead; the kernels round the scalar to that dtype either way, so the results are the same bits. Other dtypes and
// devices keep the wrapped number, whose promotion rules they need.
static at::Tensor scalar_operand(const at::Tensor& a, double value, int64_t integral, int32_t is_integral) {
  auto dtype = a.scalar_type();
  if ((dtype == at::kFloat || dtype == at::kDouble) && a.device().is_cpu())
    return at::scalar_tensor(is_integral ? (double)integral : value, a.options());
  return at::native::wrapped_scalar_tensor(eqx::scalar(value, integral, is_integral));
}
#define B scalar_operand(*a, value, integral, is_integral)

EQX_UNARY(neg, a->neg())
EQX_UNARY(abs, a->abs())
EQX_UNARY(exp, a->exp())
EQX_UNARY(log, a->log())
EQX_UNARY(log1p, a->log1p())
EQX_UNARY(sqrt, a->sqrt())
EQX_UNARY(rsqrt, a->rsqrt())
EQX_UNARY(sin, a->sin())
EQX_UNARY(cos, a->cos())
EQX_UNARY(tanh, a->tanh())
EQX_UNARY(sigmoid, a->sigmoid())
EQX_UNARY(relu, a->relu())
EQX_UNARY(silu, at::silu(*a))
EQX_UNARY(sign, a->sign())
EQX_UNARY(floor, a->floor())
EQX_UNARY(ceil, a->ceil())
EQX_UNARY(round, a->round())
EQX_UNARY(square, a->square())
EQX_UNARY(reciprocal, a->reciprocal())
EQX_UNARY(isnan, a->isnan())
EQX_UNARY(isinf, a->isinf())
EQX_UNARY(isfinite, a->isfinite())
EQX_UNARY(logical_not, a->logical_not())
EQX_TENSOR_OP(eqx_gelu(TH a, int32_t tanh_approximation), at::gelu(*a, tanh_approximation ? "tanh" : "none"))
EQX_TENSOR_OP(eqx_softplus(TH a, double beta, double threshold), at::softplus(*a, beta, threshold))
EQX_TENSOR_OP(eqx_leaky_relu(TH a, double slope), at::leaky_relu(*a, slope))

EQX_BINARY(add, at::add(*a, *b))
EQX_BINARY(sub, at::sub(*a, *b))
EQX_BINARY(mul, at::mul(*a, *b))
EQX_BINARY(div, at::div(*a, *b))
EQX_BINARY(pow, at::pow(*a, *b))
EQX_BINARY(remainder, at::remainder(*a, *b))
EQX_BINARY(maximum, at::maximum(*a, *b))
EQX_BINARY(minimum, at::minimum(*a, *b))
EQX_BINARY(eq, at::eq(*a, *b))
EQX_BINARY(ne, at::ne(*a, *b))
EQX_BINARY(lt, at::lt(*a, *b))
EQX_BINARY(le, at::le(*a, *b))
EQX_BINARY(gt, at::gt(*a, *b))
EQX_BINARY(ge, at::ge(*a, *b))
EQX_BINARY(logical_and, at::logical_and(*a, *b))
EQX_BINARY(logical_or, at::logical_or(*a, *b))
EQX_BINARY(logical_xor, at::logical_xor(*a, *b))
EQX_BINARY(matmul, at::matmul(*a, *b))

EQX_WITH_SCALAR(add_scalar, at::add(*a, B))
EQX_WITH_SCALAR(sub_scalar, at::sub(*a, B))
EQX_WITH_SCALAR(rsub_scalar, at::rsub(*a, B))
EQX_WITH_SCALAR(mul_scalar, at::mul(*a, B))
EQX_WITH_SCALAR(div_scalar, at::div(*a, B))
EQX_WITH_SCALAR(rdiv_scalar, at::mul(at::reciprocal(*a), S))
EQX_WITH_SCALAR(pow_scalar, at::pow(*a, S))
EQX_WITH_SCALAR(rpow_scalar, at::pow(S, *a))
EQX_WITH_SCALAR(remainder_scalar, at::remainder(*a, S))
EQX_WITH_SCALAR(eq_scalar, at::eq(*a, S))
EQX_WITH_SCALAR(ne_scalar, at::ne(*a, S))
EQX_WITH_SCALAR(lt_scalar, at::lt(*a, S))
EQX_WITH_SCALAR(le_scalar, at::le(*a, S))
EQX_WITH_SCALAR(gt_scalar, at::gt(*a, S))
EQX_WITH_SCALAR(ge_scalar, at::ge(*a, S))

EQX_TENSOR_OP(eqx_where(TH condition, TH a, TH b), at::where(*condition, *a, *b))

// Bounds are integral when the caller passed integers, so an integer tensor stays integral (as torch.clamp does).
EQX_TENSOR_OP(eqx_clamp(TH a, double min, int64_t integral_min, int32_t has_min, double max, int64_t integral_max,
                        int32_t has_max, int32_t is_integral),
              at::clamp(*a, has_min ? c10::optional<at::Scalar>(eqx::scalar(min, integral_min, is_integral)) : c10::nullopt,
                        has_max ? c10::optional<at::Scalar>(eqx::scalar(max, integral_max, is_integral)) : c10::nullopt))

EQX_TENSOR_OP(eqx_softmax(TH a, int64_t dim), at::softmax(*a, dim))
EQX_TENSOR_OP(eqx_log_softmax(TH a, int64_t dim), at::log_softmax(*a, dim))

EQX_TENSOR_OP(eqx_einsum(const char* equation, const TH* operands, int32_t count),
              at::einsum(equation, eqx::tensors(operands, count)))

// ---- reductions: `ndims < 0` means over all dimensions ------------------------------------------------------------

EQX_TENSOR_OP(eqx_sum(TH a, const int64_t* dims, int32_t ndims, int32_t keepdim),
              ndims < 0 ? a->sum() : a->sum(eqx::dims(dims, ndims), keepdim != 0))
EQX_TENSOR_OP(eqx_mean(TH a, const int64_t* dims, int32_t ndims, int32_t keepdim),
              ndims < 0 ? a->mean() : a->mean(eqx::dims(dims, ndims), keepdim != 0))
EQX_TENSOR_OP(eqx_var(TH a, const int64_t* dims, int32_t ndims, int32_t unbiased, int32_t keepdim),
              ndims < 0 ? a->var(unbiased != 0) : a->var(eqx::dims(dims, ndims), unbiased != 0, keepdim != 0))
EQX_TENSOR_OP(eqx_logsumexp(TH a, const int64_t* dims, int32_t ndims, int32_t keepdim),
              at::logsumexp(*a, eqx::dims(dims, ndims), keepdim != 0))
EQX_TENSOR_OP(eqx_amax(TH a, const int64_t* dims, int32_t ndims, int32_t keepdim),
              ndims < 0 ? a->max() : at::amax(*a, eqx::dims(dims, ndims), keepdim != 0))
EQX_TENSOR_OP(eqx_amin(TH a, const int64_t* dims, int32_t ndims, int32_t keepdim),
              ndims < 0 ? a->min() : at::amin(*a, eqx::dims(dims, ndims), keepdim != 0))
EQX_TENSOR_OP(eqx_argmax(TH a, int64_t dim, int32_t has_dim, int32_t keepdim),
              at::argmax(*a, has_dim ? c10::optional<int64_t>(dim) : c10::nullopt, keepdim != 0))
EQX_TENSOR_OP(eqx_argmin(TH a, int64_t dim, int32_t has_dim, int32_t keepdim),
              at::argmin(*a, has_dim ? c10::optional<int64_t>(dim) : c10::nullopt, keepdim != 0))
EQX_TENSOR_OP(eqx_any(TH a, int64_t dim, int32_t has_dim, int32_t keepdim),
              has_dim ? a->any(dim, keepdim != 0) : a->any())
EQX_TENSOR_OP(eqx_all(TH a, int64_t dim, int32_t has_dim, int32_t keepdim),
              has_dim ? a->all(dim, keepdim != 0) : a->all())

// ---- the few in-place updates optimisers need ---------------------------------------------------------------------

EQX_API int32_t eqx_add_(TH a, TH b, double alpha) {
  EQX_TRY a->add_(*b, alpha); return 0;
  EQX_CATCH(-1)
}
EQX_API int32_t eqx_mul_scalar_(TH a, double value) {
  EQX_TRY
  a->mul_(scalar_operand(*a, value, 0, 0));
  return 0;
  EQX_CATCH(-1)
}
EQX_API int32_t eqx_mul_(TH a, TH b) {
  EQX_TRY a->mul_(*b); return 0;
  EQX_CATCH(-1)
}
EQX_API int32_t eqx_addcmul_(TH a, TH b, TH c, double value) {
  EQX_TRY a->addcmul_(*b, *c, value); return 0;
  EQX_CATCH(-1)
}
EQX_API int32_t eqx_addcdiv_(TH a, TH b, TH c, double value) {
  EQX_TRY a->addcdiv_(*b, *c, value); return 0;
  EQX_CATCH(-1)
}
EQX_API int32_t eqx_copy_(TH a, TH b) {
  EQX_TRY a->copy_(*b); return 0;
  EQX_CATCH(-1)
}
// a[i] += alpha * b[i] for every i, as one multi-tensor op (LibTorch's _foreach_add_ groups the tensors by dtype and
// device and, on CUDA, launches a handful of kernels for all of them), outside autograd.
EQX_API int32_t eqx_foreach_add_(const TH* a, const TH* b, int32_t count, double alpha) {
  EQX_TRY
  at::NoGradGuard no_grad;
  auto targets = eqx::tensors(a, count);
  at::_foreach_add_(targets, eqx::tensors(b, count), alpha);
  return 0;
  EQX_CATCH(-1)
}
EQX_API int32_t eqx_zero_(TH a) {
  EQX_TRY a->zero_(); return 0;
  EQX_CATCH(-1)
}
