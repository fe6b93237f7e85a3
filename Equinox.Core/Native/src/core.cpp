// Errors, tensor metadata, creation, copies to and from managed memory, and keyed random draws.
#include "shim.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace eqx {
static thread_local std::string last_error;
void set_last_error(const char* message) { last_error = message ? message : ""; }
}  // namespace eqx

EQX_API const char* eqx_last_error() { return eqx::last_error.c_str(); }

EQX_API const char* eqx_torch_version() { return TORCH_VERSION; }

EQX_API int32_t eqx_cuda_device_count() {
  EQX_TRY return at::globalContext().hasCUDA() ? (int32_t)at::detail::getCUDAHooks().getNumGPUs() : 0;
  EQX_CATCH(0)
}

EQX_API void eqx_tensor_free(TH t) { delete t; }

EQX_API int32_t eqx_tensor_ndim(TH t) { return (int32_t)t->dim(); }

EQX_API void eqx_tensor_shape(TH t, int64_t* out) {
  auto sizes = t->sizes();
  for (size_t i = 0; i < sizes.size(); i++) out[i] = sizes[i];
}

EQX_API int32_t eqx_tensor_dtype(TH t) { return (int32_t)t->scalar_type(); }

EQX_API void eqx_tensor_device(TH t, int32_t* type, int32_t* index) {
  auto device = t->device();
  *type = (int32_t)device.type();
  *index = device.has_index() ? device.index() : 0;
}

EQX_API int64_t eqx_tensor_numel(TH t) { return t->numel(); }
EQX_API int64_t eqx_tensor_nbytes(TH t) { return (int64_t)t->numel() * (int64_t)t->element_size(); }
EQX_API int32_t eqx_tensor_requires_grad(TH t) { return t->requires_grad() ? 1 : 0; }
EQX_API int32_t eqx_tensor_is_leaf(TH t) { return t->is_leaf() ? 1 : 0; }
EQX_API int32_t eqx_tensor_same(TH a, TH b) { return a->is_same(*b) ? 1 : 0; }
EQX_API int32_t eqx_tensor_shares_storage(TH a, TH b) { return a->is_alias_of(*b) ? 1 : 0; }

// ---- creation -----------------------------------------------------------------------------------------------------

EQX_TENSOR_OP(eqx_from_data(const void* data, const int64_t* shape, int32_t ndim, int32_t dtype),
              at::from_blob(const_cast<void*>(data), eqx::dims(shape, ndim),
                            at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype)))
                  .clone())

// A tensor read from an open file at `offset` straight into its own buffer (checkpoints: no second copy resident).
static at::Tensor from_fd(int32_t fd, int64_t offset, const int64_t* shape, int32_t ndim, int32_t dtype) {
  auto t = at::empty(eqx::dims(shape, ndim), at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype)));
  auto* data = static_cast<char*>(t.data_ptr());
  int64_t remaining = (int64_t)t.numel() * (int64_t)t.element_size();
  while (remaining > 0) {
    ssize_t n = ::pread(fd, data, (size_t)std::min<int64_t>(remaining, 1 << 30), (off_t)offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw std::runtime_error(n == 0 ? "the file ended at byte " + std::to_string(offset) + " before the tensor's data did"
                                      : std::string("reading the file failed: ") + std::strerror(errno));
    data += n;
    offset += n;
    remaining -= n;
  }
  return t;
}
EQX_TENSOR_OP(eqx_from_fd(int32_t fd, int64_t offset, const int64_t* shape, int32_t ndim, int32_t dtype),
              from_fd(fd, offset, shape, ndim, dtype))

EQX_API int32_t eqx_copy_to_host(TH t, void* destination, int64_t nbytes) {
  EQX_TRY
  auto host = t->detach().to(at::kCPU).contiguous();
  int64_t size = (int64_t)host.numel() * (int64_t)host.element_size();
  if (size != nbytes) throw std::runtime_error("destination holds " + std::to_string(nbytes) + " bytes, tensor has " +
                                               std::to_string(size));
  if (size > 0) std::memcpy(destination, host.data_ptr(), (size_t)size);
  return 0;
  EQX_CATCH(-1)
}

EQX_TENSOR_OP(eqx_scalar_tensor(double value, int64_t integral, int32_t is_integral, int32_t dtype, int32_t device_type,
                                int32_t device_index),
              at::scalar_tensor(eqx::scalar(value, integral, is_integral),
                                eqx::options(dtype, device_type, device_index)))

EQX_TENSOR_OP(eqx_full(const int64_t* shape, int32_t ndim, double value, int64_t integral, int32_t is_integral,
                       int32_t dtype, int32_t device_type, int32_t device_index),
              at::full(eqx::dims(shape, ndim), eqx::scalar(value, integral, is_integral),
                       eqx::options(dtype, device_type, device_index)))

EQX_TENSOR_OP(eqx_empty(const int64_t* shape, int32_t ndim, int32_t dtype, int32_t device_type, int32_t device_index),
              at::empty(eqx::dims(shape, ndim), eqx::options(dtype, device_type, device_index)))

EQX_TENSOR_OP(eqx_arange(double start, double end, double step, int32_t dtype, int32_t device_type,
                         int32_t device_index),
              at::arange(start, end, step, eqx::options(dtype, device_type, device_index)))

EQX_TENSOR_OP(eqx_linspace(double start, double end, int64_t steps, int32_t dtype, int32_t device_type,
                           int32_t device_index),
              at::linspace(start, end, steps, eqx::options(dtype, device_type, device_index)))

EQX_TENSOR_OP(eqx_eye(int64_t n, int64_t m, int32_t dtype, int32_t device_type, int32_t device_index),
              at::eye(n, m, eqx::options(dtype, device_type, device_index)))

// ---- keyed random draws: drawn on the CPU from a generator seeded by the key, then moved, so a key gives the same
// ---- numbers on every device.

static at::ScalarType draw_type(int32_t dtype) {
  auto type = static_cast<at::ScalarType>(dtype);
  return type == at::kDouble ? at::kDouble : at::kFloat;
}

static at::Tensor finish(const at::Tensor& cpu, int32_t dtype, int32_t device_type, int32_t device_index) {
  return cpu.to(eqx::options(dtype, device_type, device_index));
}

EQX_TENSOR_OP(eqx_normal(const int64_t* shape, int32_t ndim, uint64_t seed, int32_t dtype, int32_t device_type,
                         int32_t device_index),
              finish(at::randn(eqx::dims(shape, ndim), eqx::generator(seed), at::TensorOptions().dtype(draw_type(dtype))),
                     dtype, device_type, device_index))

// The largest value of `type` below `high`: rounding a draw (to f16, say) can carry it up to `high` itself.
template <typename T>
static double largest_below_16_bit(double high) {
  T top(static_cast<float>(high));
  while (static_cast<float>(top) >= high) {
    uint16_t bits = top.x;
    bits = bits == 0 ? 0x8001 : (bits & 0x8000) ? bits + 1 : bits - 1;  // one step toward -infinity
    top = T(bits, T::from_bits());
  }
  return static_cast<float>(top);
}

static double largest_below(double high, at::ScalarType type) {
  switch (type) {
    case at::kHalf: return largest_below_16_bit<c10::Half>(high);
    case at::kBFloat16: return largest_below_16_bit<c10::BFloat16>(high);
    case at::kFloat: {
      float top = static_cast<float>(high);
      while (top >= high) top = std::nextafter(top, -INFINITY);
      return top;
    }
    default: return std::nextafter(high, -INFINITY);
  }
}

static at::Tensor uniform(at::IntArrayRef shape, uint64_t seed, double low, double high, int32_t dtype) {
  auto type = static_cast<at::ScalarType>(dtype);
  auto draw = at::empty(shape, at::TensorOptions().dtype(draw_type(dtype))).uniform_(low, high, eqx::generator(seed));
  auto rounded = draw.to(type);
  return at::minimum(rounded, at::scalar_tensor(largest_below(high, type), rounded.options()));
}

EQX_TENSOR_OP(eqx_uniform(const int64_t* shape, int32_t ndim, uint64_t seed, double low, double high, int32_t dtype,
                          int32_t device_type, int32_t device_index),
              finish(uniform(eqx::dims(shape, ndim), seed, low, high, dtype), dtype, device_type, device_index))

EQX_TENSOR_OP(eqx_randint(const int64_t* shape, int32_t ndim, uint64_t seed, int64_t low, int64_t high, int32_t dtype,
                          int32_t device_type, int32_t device_index),
              finish(at::randint(low, high, eqx::dims(shape, ndim), eqx::generator(seed),
                                 at::TensorOptions().dtype(at::kLong)),
                     dtype, device_type, device_index))

EQX_TENSOR_OP(eqx_bernoulli(const int64_t* shape, int32_t ndim, uint64_t seed, double p, int32_t dtype,
                            int32_t device_type, int32_t device_index),
              finish(eqx::bernoulli_mask(eqx::dims(shape, ndim), p, seed), dtype, device_type, device_index))

// ---- conversions --------------------------------------------------------------------------------------------------

EQX_TENSOR_OP(eqx_to_dtype(TH t, int32_t dtype), t->to(static_cast<at::ScalarType>(dtype)))
EQX_TENSOR_OP(eqx_to_device(TH t, int32_t device_type, int32_t device_index),
              t->to(eqx::device(device_type, device_index)))
EQX_TENSOR_OP(eqx_clone(TH t), t->clone())
EQX_TENSOR_OP(eqx_contiguous(TH t), t->contiguous())
EQX_TENSOR_OP(eqx_alias(TH t), at::Tensor(*t))

EQX_API int32_t eqx_item(TH t, double* as_double, int64_t* as_long) {
  EQX_TRY
  auto item = t->item();
  if (item.isFloatingPoint()) {
    *as_double = item.toDouble();
    *as_long = (int64_t)*as_double;
  } else if (item.isBoolean()) {
    *as_long = item.toBool() ? 1 : 0;
    *as_double = (double)*as_long;
  } else {
    *as_long = item.toLong();
    *as_double = (double)*as_long;
  }
  return 0;
  EQX_CATCH(-1)
}
