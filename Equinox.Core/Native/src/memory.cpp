// Memory statistics: bytes held by tensors now, and the most held since the last reset.
//
// CUDA has them from LibTorch's caching allocator. The CPU has none, so the shim installs a counting CPU allocator
// when it loads: the default allocation (c10::alloc_cpu, 64-byte aligned) with a 64-byte header in front that
// remembers the size, so that the deleter can subtract it. Two relaxed atomics per allocation are its whole cost.
// Tensors allocated before the shim loaded keep their own deleter and are not counted.
#include "shim.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/alignment.h>
#include <c10/core/impl/alloc_cpu.h>

#include <atomic>

#ifdef EQX_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

// LibTorch 2.3 made Allocator::allocate non-const and added copy_data.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define EQX_ALLOCATE_CONST
#define EQX_ALLOCATOR_HAS_COPY_DATA 1
#else
#define EQX_ALLOCATE_CONST const
#endif

namespace {

std::atomic<int64_t> cpu_current{0};
std::atomic<int64_t> cpu_peak{0};

// The header keeps the data at the alignment c10::alloc_cpu gives, and holds the size the deleter subtracts.
constexpr size_t kHeader = c10::gAlignment;
static_assert(kHeader >= sizeof(size_t), "the header must hold the size");

void count(int64_t bytes) {
  int64_t now = cpu_current.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  int64_t peak = cpu_peak.load(std::memory_order_relaxed);
  while (now > peak && !cpu_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

// The context is the data pointer itself (as with the default allocator), so raw_allocate works.
void release(void* data) {
  if (!data) return;
  char* base = static_cast<char*>(data) - kHeader;
  size_t bytes;
  std::memcpy(&bytes, base, sizeof bytes);
  cpu_current.fetch_sub((int64_t)bytes, std::memory_order_relaxed);
  c10::free_cpu(base);
}

struct CountingCpuAllocator final : c10::Allocator {
  c10::DataPtr allocate(size_t bytes) EQX_ALLOCATE_CONST override {
    if (bytes == 0) return {nullptr, nullptr, &release, c10::Device(c10::DeviceType::CPU)};
    char* base = static_cast<char*>(c10::alloc_cpu(bytes + kHeader));
    std::memcpy(base, &bytes, sizeof bytes);
    count((int64_t)bytes);
    void* data = base + kHeader;
    return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release; }

#ifdef EQX_ALLOCATOR_HAS_COPY_DATA
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
#endif
};

CountingCpuAllocator counting_cpu_allocator;

// Installed when the shim loads, before any tensor of ours exists. Priority 0 replaces the default allocator, which
// registers itself at priority 0 too; an allocator registered at a higher priority (a profiler's, say) stays.
[[maybe_unused]] const bool installed = [] {
  c10::SetCPUAllocator(&counting_cpu_allocator, 0);
  return true;
}();

std::string unsupported(c10::DeviceType type) {
#ifndef EQX_WITH_CUDA
  if (type == c10::DeviceType::CUDA) return "this LibTorch build has no CUDA";
#endif
  return "no memory statistics for " + c10::DeviceTypeName(type, /*lower_case=*/true) + " devices";
}

}  // namespace

// Bytes held by tensors on the device (device_type 0: the CPU), and the peak since the last reset. Returns -1 with the
// last error set when the device has no statistics.
EQX_API int32_t eqx_memory_stats(int32_t device_type, int32_t device_index, int64_t* current, int64_t* peak) {
  EQX_TRY
  auto type = static_cast<c10::DeviceType>(device_type);
  if (type == c10::DeviceType::CPU) {
    if (c10::GetCPUAllocator() != &counting_cpu_allocator)
      throw std::runtime_error("CPU memory statistics are off: another CPU allocator replaced the shim's counting one");
    *current = cpu_current.load(std::memory_order_relaxed);
    *peak = cpu_peak.load(std::memory_order_relaxed);
    return 0;
  }
#ifdef EQX_WITH_CUDA
  if (type == c10::DeviceType::CUDA) {
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device_index);
    auto& bytes = stats.allocated_bytes[0];  // StatType::AGGREGATE
    *current = bytes.current;
    *peak = bytes.peak;
    return 0;
  }
#endif
  throw std::runtime_error(unsupported(type));
  EQX_CATCH(-1)
}

// Starts a new peak at the current value.
EQX_API int32_t eqx_memory_reset_peak(int32_t device_type, int32_t device_index) {
  EQX_TRY
  auto type = static_cast<c10::DeviceType>(device_type);
  if (type == c10::DeviceType::CPU) {
    cpu_peak.store(cpu_current.load(std::memory_order_relaxed), std::memory_order_relaxed);
    return 0;
  }
#ifdef EQX_WITH_CUDA
  if (type == c10::DeviceType::CUDA) {
    c10::cuda::CUDACachingAllocator::resetPeakStats(device_index);
    return 0;
  }
#endif
  throw std::runtime_error(unsupported(type));
  EQX_CATCH(-1)
}
