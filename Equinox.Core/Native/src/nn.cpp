// The functional neural-network ops the layers are built from.
#include "shim.h"

#define D(name) eqx::dims(name, n##name)

// y = x W^T + b in one op (addmm for 2-D inputs), as torch.nn.functional.linear.
EQX_TENSOR_OP(eqx_linear(TH input, TH weight, TH bias), at::linear(*input, *weight, eqx::optional(bias)))

EQX_TENSOR_OP(eqx_convolution(TH input, TH weight, TH bias, const int64_t* stride, int32_t nstride,
                              const int64_t* padding, int32_t npadding, const int64_t* dilation, int32_t ndilation,
                              int32_t transposed, const int64_t* output_padding, int32_t noutput_padding,
                              int64_t groups),
              at::convolution(*input, *weight, eqx::optional(bias), D(stride), D(padding), D(dilation),
                              transposed != 0, D(output_padding), groups))

static at::Tensor max_pool(const at::Tensor& x, int32_t spatial, at::IntArrayRef kernel, at::IntArrayRef stride,
                           at::IntArrayRef padding, at::IntArrayRef dilation, bool ceil_mode) {
  switch (spatial) {
    case 1: return at::max_pool1d(x, kernel, stride, padding, dilation, ceil_mode);
    case 2: return at::max_pool2d(x, kernel, stride, padding, dilation, ceil_mode);
    case 3: return at::max_pool3d(x, kernel, stride, padding, dilation, ceil_mode);
  }
  throw std::invalid_argument("max pooling supports 1, 2 or 3 spatial dimensions, not " + std::to_string(spatial));
}

static at::Tensor avg_pool(const at::Tensor& x, int32_t spatial, at::IntArrayRef kernel, at::IntArrayRef stride,
                           at::IntArrayRef padding, bool ceil_mode, bool count_include_pad) {
  switch (spatial) {
    case 1: return at::avg_pool1d(x, kernel, stride, padding, ceil_mode, count_include_pad);
    case 2: return at::avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad);
    case 3: return at::avg_pool3d(x, kernel, stride, padding, ceil_mode, count_include_pad);
  }
  throw std::invalid_argument("average pooling supports 1, 2 or 3 spatial dimensions, not " + std::to_string(spatial));
}

static at::Tensor adaptive_pool(const at::Tensor& x, at::IntArrayRef output, bool max) {
  switch (output.size()) {
    case 1: return max ? std::get<0>(at::adaptive_max_pool1d(x, output)) : at::adaptive_avg_pool1d(x, output);
    case 2: return max ? std::get<0>(at::adaptive_max_pool2d(x, output)) : at::adaptive_avg_pool2d(x, output);
    case 3: return max ? std::get<0>(at::adaptive_max_pool3d(x, output)) : at::adaptive_avg_pool3d(x, output);
  }
  throw std::invalid_argument("adaptive pooling supports 1, 2 or 3 spatial dimensions, not " +
                              std::to_string(output.size()));
}

EQX_TENSOR_OP(eqx_max_pool(TH x, const int64_t* kernel, int32_t nkernel, const int64_t* stride, int32_t nstride,
                           const int64_t* padding, int32_t npadding, const int64_t* dilation, int32_t ndilation,
                           int32_t ceil_mode),
              max_pool(*x, nkernel, D(kernel), D(stride), D(padding), D(dilation), ceil_mode != 0))
EQX_TENSOR_OP(eqx_avg_pool(TH x, const int64_t* kernel, int32_t nkernel, const int64_t* stride, int32_t nstride,
                           const int64_t* padding, int32_t npadding, int32_t ceil_mode, int32_t count_include_pad),
              avg_pool(*x, nkernel, D(kernel), D(stride), D(padding), ceil_mode != 0, count_include_pad != 0))
EQX_TENSOR_OP(eqx_adaptive_pool(TH x, const int64_t* output, int32_t noutput, int32_t max),
              adaptive_pool(*x, D(output), max != 0))

// F.pad over the trailing dims (`pad` lists (before, after) from the last dim backwards): constant, reflect,
// replicate or circular.
static at::Tensor pad_nd(const at::Tensor& x, at::IntArrayRef sizes, int32_t mode, double value) {
  switch (mode) {
    case 0: return at::constant_pad_nd(x, sizes, value);
    case 1: return at::pad(x, sizes, "reflect");
    case 2: return at::pad(x, sizes, "replicate");
    case 3: return at::pad(x, sizes, "circular");
  }
  throw std::invalid_argument("pad mode must be 0 (constant), 1 (reflect), 2 (replicate) or 3 (circular), not " +
                              std::to_string(mode));
}
EQX_TENSOR_OP(eqx_pad(TH x, const int64_t* pad, int32_t npad, int32_t mode, double value), pad_nd(*x, D(pad), mode, value))

EQX_TENSOR_OP(eqx_layer_norm(TH x, const int64_t* shape, int32_t nshape, TH weight, TH bias, double eps),
              at::layer_norm(*x, D(shape), eqx::optional(weight), eqx::optional(bias), eps, true))
EQX_TENSOR_OP(eqx_group_norm(TH x, int64_t groups, TH weight, TH bias, double eps),
              at::group_norm(*x, groups, eqx::optional(weight), eqx::optional(bias), eps, true))
// Batch norm updates running_mean/running_var in place when training: callers pass copies they own.
EQX_TENSOR_OP(eqx_batch_norm(TH x, TH weight, TH bias, TH running_mean, TH running_var, int32_t training,
                             double momentum, double eps),
              at::batch_norm(*x, eqx::optional(weight), eqx::optional(bias), eqx::optional(running_mean),
                             eqx::optional(running_var), training != 0, momentum, eps, true))

// Inverted dropout with a mask drawn from the key: identical masks for identical keys.
static at::Tensor dropout(const at::Tensor& x, double p, uint64_t seed) {
  if (p < 0 || p > 1) throw std::invalid_argument("dropout probability must be in [0, 1], got " + std::to_string(p));
  if (p == 0) return x;
  if (p == 1) return x * 0;
  auto keep = eqx::bernoulli_mask(x.sizes(), 1 - p, seed);
  return x * keep.to(x.options()).div_(1 - p);
}
EQX_TENSOR_OP(eqx_dropout(TH x, double p, uint64_t seed), dropout(*x, p, seed))

EQX_TENSOR_OP(eqx_embedding(TH weight, TH indices, int64_t padding_idx),
              at::embedding(*weight, *indices, padding_idx, false, false))

EQX_TENSOR_OP(eqx_cross_entropy(TH logits, TH target, TH weight, int64_t reduction, int64_t ignore_index,
                                double label_smoothing),
              at::cross_entropy_loss(*logits, *target, eqx::optional(weight), reduction, ignore_index,
                                     label_smoothing))
EQX_TENSOR_OP(eqx_mse_loss(TH input, TH target, int64_t reduction), at::mse_loss(*input, *target, reduction))
EQX_TENSOR_OP(eqx_binary_cross_entropy_with_logits(TH input, TH target, int64_t reduction),
              at::binary_cross_entropy_with_logits(*input, *target, c10::nullopt, c10::nullopt, reduction))
