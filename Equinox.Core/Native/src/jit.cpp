// FilterJit's cache key: the shape, dtype and device of many tensors in one call, so a cached call costs one
// crossing of the boundary rather than three per leaf.
#include "shim.h"

// Writes, for each handle, either one word -1 (a null slot) or the words
//   dtype | device_type << 8 | (device_index + 1) << 16,  ndim,  size_0 ... size_{ndim-1}
// into `out`, and returns how many words that takes, even when it is more than `capacity` (then only the first
// `capacity` are written and the caller retries with a larger buffer). Returns -1 on failure.
EQX_API int64_t eqx_tensors_signature(const TH* tensors, int32_t count, int64_t* out, int64_t capacity) {
  EQX_TRY
  int64_t n = 0;
  auto put = [&](int64_t word) {
    if (n < capacity) out[n] = word;
    n++;
  };
  for (int32_t i = 0; i < count; i++) {
    const TH t = tensors[i];
    if (!t || !t->defined()) {
      put(-1);
      continue;
    }
    const auto device = t->device();
    put((int64_t)t->scalar_type() | ((int64_t)device.type() << 8) | (((int64_t)device.index() + 1) << 16));
    const auto sizes = t->sizes();
    put((int64_t)sizes.size());
    for (auto s : sizes) put(s);
  }
  return n;
  EQX_CATCH(-1)
}
