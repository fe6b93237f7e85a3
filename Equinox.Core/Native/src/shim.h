// Shared by every translation unit of the shim (and precompiled): the C ABI conventions.
//
// Tensors cross the boundary as opaque `at::Tensor*` handles created with `new` and freed by eqx_tensor_free.
// An undefined tensor is a null handle. Every exported function catches every C++ exception and stores its text in a
// thread-local string read by eqx_last_error(): an exception that reached the CLR would kill the process.
#pragma once

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/version.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#define EQX_API extern "C" __attribute__((visibility("default")))

using TH = at::Tensor*;

namespace eqx {

void set_last_error(const char* message);

inline TH wrap(at::Tensor t) {
  if (!t.defined()) return nullptr;
  return new at::Tensor(std::move(t));
}

inline at::IntArrayRef dims(const int64_t* values, int32_t count) { return at::IntArrayRef(values, (size_t)count); }

// A scalar from C#: integral scalars keep integer tensors integral, as Python's `t + 1` does.
inline at::Scalar scalar(double value, int64_t integral, int32_t is_integral) {
  if (is_integral) return at::Scalar(integral);
  return at::Scalar(value);
}

// LibTorch's CPU device has no index: `cpu:0` would compare unequal to every CPU tensor's device.
inline at::Device device(int32_t device_type, int32_t device_index) {
  auto type = static_cast<at::DeviceType>(device_type);
  if (type == at::kCPU) return at::Device(at::kCPU);
  return at::Device(type, static_cast<at::DeviceIndex>(device_index));
}

inline at::TensorOptions options(int32_t dtype, int32_t device_type, int32_t device_index) {
  return at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype)).device(device(device_type, device_index));
}

inline std::vector<at::Tensor> tensors(const TH* handles, int32_t count) {
  std::vector<at::Tensor> out;
  out.reserve(count);
  for (int32_t i = 0; i < count; i++) out.push_back(handles[i] ? *handles[i] : at::Tensor());
  return out;
}

inline c10::optional<at::Tensor> optional(const TH handle) {
  if (!handle) return c10::nullopt;
  return *handle;
}

// Writes a list of results into a caller-provided array of `capacity` handles; fails if it does not fit.
inline int32_t write_list(const std::vector<at::Tensor>& list, TH* out, int32_t capacity) {
  if ((int64_t)list.size() > capacity) {
    throw std::runtime_error("result has " + std::to_string(list.size()) + " tensors but the caller expected at most " +
                             std::to_string(capacity));
  }
  for (size_t i = 0; i < list.size(); i++) out[i] = wrap(list[i]);
  return (int32_t)list.size();
}

// A generator seeded from a Key: random draws depend on the key alone, never on call order or global state.
// ATen's mt19937 takes only the low 32 bits of a seed, so among ~10^5 keys two would share a stream; the state is
// instead initialised from both halves by Matsumoto and Nishimura's init_by_array (mt19937ar.c, 2002).
inline at::Generator generator(uint64_t seed) {
  constexpr int n = 624;
  const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  at::mt19937 engine;
  auto data = engine.data();
  auto& mt = data.state_;
  mt[0] = 19650218u;
  for (int i = 1; i < n; i++) mt[i] = 1812433253u * (mt[i - 1] ^ (mt[i - 1] >> 30)) + (uint32_t)i;
  int i = 1, j = 0;
  for (int k = n; k > 0; k--) {
    mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint32_t)j;
    if (++i >= n) { mt[0] = mt[n - 1]; i = 1; }
    if (++j >= 2) j = 0;
  }
  for (int k = n - 1; k > 0; k--) {
    mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - (uint32_t)i;
    if (++i >= n) { mt[0] = mt[n - 1]; i = 1; }
  }
  mt[0] = 0x80000000u;
  data.seed_ = seed;
  data.seeded_ = true;
  data.left_ = 1;
  data.next_ = 0;
  engine.set_data(data);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  generator.get<at::CPUGeneratorImpl>()->set_engine(engine);
  return generator;
}

// Keeps each element with probability p. LibTorch's bernoulli_ goes through MKL in builds that have it (a stream
// of its own, and in recent versions MKL's global generator instead of ours); a uniform draw compared with p
// depends on the key alone, in every build.
inline at::Tensor bernoulli_mask(at::IntArrayRef shape, double p, uint64_t seed) {
  return at::empty(shape, at::TensorOptions().dtype(at::kDouble)).uniform_(0, 1, generator(seed)).lt(p);
}

}  // namespace eqx

#define EQX_TRY try {
#define EQX_CATCH(failure)                                          \
  }                                                                 \
  catch (const c10::Error& e) {                                     \
    eqx::set_last_error(e.what_without_backtrace());                \
  }                                                                 \
  catch (const std::exception& e) {                                 \
    eqx::set_last_error(e.what());                                  \
  }                                                                 \
  catch (...) {                                                     \
    eqx::set_last_error("unknown C++ exception");                   \
  }                                                                 \
  return failure;

// Most ops: handles in, one tensor out, null on failure.
#define EQX_TENSOR_OP(signature, expression) \
  EQX_API TH signature {                     \
    EQX_TRY return eqx::wrap(expression);    \
    EQX_CATCH(nullptr)                       \
  }
