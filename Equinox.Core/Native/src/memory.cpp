// Memory statistics (bytes held by tensors now, and the most held since the last reset) and the CPU block cache.
//
// CUDA has both from LibTorch's caching allocator. The CPU has neither, so the shim installs its own CPU allocator
// when it loads: the default allocation (c10::alloc_cpu, 64-byte aligned) with a 64-byte header in front that
// remembers the size, so that the deleter can subtract it. Two relaxed atomics per allocation are the counting's cost.
// Tensors allocated before the shim loaded keep their own deleter and are not counted.
//
// Large blocks are cached. glibc serves allocations above its mmap threshold with mmap and returns them with munmap
// (or trims its heap when the free space at the top passes the trim threshold), so a training step that allocates
// the same gradient and activation buffers every step takes a page fault for every 4 KiB of them every step: about
// 400 faults and half the time of a step on a 784-256-256-10 MLP. Freed blocks of at least kCacheMin bytes are kept
// instead, per exact size (rounded up to a page), and handed to the next allocation of that size, as LibTorch's CUDA
// caching allocator does; a step in steady state then makes no system call. The cache holds at most
// EQUINOX_CPU_CACHE_MB megabytes (512 unless set; 0 turns it off); a block that would exceed that is freed at once.
// eqx_memory_empty_cache returns everything cached to the system.
#include "shim.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/alignment.h>
#include <c10/core/impl/alloc_cpu.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

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

void count(int64_t bytes) {
  int64_t now = cpu_current.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  int64_t peak = cpu_peak.load(std::memory_order_relaxed);
  while (now > peak && !cpu_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

// The header holds the bytes asked for (what the statistics count) and the block's capacity (what the cache keys on).
struct Header {
  size_t bytes;
  size_t capacity;
};
static_assert(kHeader >= sizeof(Header), "the header must hold the sizes");

constexpr size_t kCacheMin = 64 * 1024;
constexpr size_t kPage = 4096;

class BlockCache {
 public:
  BlockCache() {
    const char* limit = std::getenv("EQUINOX_CPU_CACHE_MB");
    limit_ = (limit && *limit ? (size_t)std::strtoull(limit, nullptr, 10) : 512) * 1024 * 1024;
  }

  // A cached block of exactly `capacity` bytes, or null.
  char* take(size_t capacity) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = blocks_.find(capacity);
    if (found == blocks_.end() || found->second.empty()) return nullptr;
    char* base = found->second.back();
    found->second.pop_back();
    held_ -= capacity;
    return base;
  }

  // Keeps the block if it fits under the limit; returns false when the caller must free it.
  bool keep(char* base, size_t capacity) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (held_ + capacity > limit_) return false;
    blocks_[capacity].push_back(base);
    held_ += capacity;
    return true;
  }

  void empty() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& entry : blocks_)
      for (char* base : entry.second) c10::free_cpu(base);
    blocks_.clear();
    held_ = 0;
  }

  int64_t held() {
    std::lock_guard<std::mutex> lock(mutex_);
    return (int64_t)held_;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<char*>> blocks_;
  size_t held_ = 0;
  size_t limit_;
};

// Never destroyed: tensors freed while the process exits (static destructors, finalizers) still return blocks to it.
BlockCache& cache() {
  static BlockCache* instance = new BlockCache();
  return *instance;
}

// The context is the data pointer itself (as with the default allocator), so raw_allocate works.
void release(void* data) {
  if (!data) return;
  char* base = static_cast<char*>(data) - kHeader;
  Header header;
  std::memcpy(&header, base, sizeof header);
  cpu_current.fetch_sub((int64_t)header.bytes, std::memory_order_relaxed);
  if (header.capacity >= kCacheMin && cache().keep(base, header.capacity)) return;
  c10::free_cpu(base);
}

struct CountingCpuAllocator final : c10::Allocator {
  c10::DataPtr allocate(size_t bytes) EQX_ALLOCATE_CONST override {
    if (bytes == 0) return {nullptr, nullptr, &release, c10::Device(c10::DeviceType::CPU)};
    Header header{bytes, bytes + kHeader};
    char* base = nullptr;
    if (header.capacity >= kCacheMin) {
      header.capacity = (header.capacity + kPage - 1) / kPage * kPage;
      base = cache().take(header.capacity);
    }
    if (!base) base = static_cast<char*>(c10::alloc_cpu(header.capacity));
    std::memcpy(base, &header, sizeof header);
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

// Returns the cached free blocks of the device to the system (on CUDA, LibTorch's caching allocator's).
EQX_API int32_t eqx_memory_empty_cache(int32_t device_type, int32_t device_index) {
  EQX_TRY
  (void)device_index;
  auto type = static_cast<c10::DeviceType>(device_type);
  if (type == c10::DeviceType::CPU) {
    cache().empty();
    return 0;
  }
#ifdef EQX_WITH_CUDA
  if (type == c10::DeviceType::CUDA) {
    c10::cuda::CUDACachingAllocator::emptyCache();
    return 0;
  }
#endif
  throw std::runtime_error(unsupported(type));
  EQX_CATCH(-1)
}

// Bytes the device's allocator holds in cached free blocks, ready for reuse.
EQX_API int32_t eqx_memory_cached(int32_t device_type, int32_t device_index, int64_t* cached) {
  EQX_TRY
  auto type = static_cast<c10::DeviceType>(device_type);
  if (type == c10::DeviceType::CPU) {
    *cached = cache().held();
    return 0;
  }
#ifdef EQX_WITH_CUDA
  if (type == c10::DeviceType::CUDA) {
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device_index);
    *cached = stats.reserved_bytes[0].current - stats.allocated_bytes[0].current;
    return 0;
  }
#endif
  throw std::runtime_error(unsupported(type));
  EQX_CATCH(-1)
}
