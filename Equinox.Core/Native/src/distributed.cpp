// Process groups over PyTorch's c10d: a TCPStore client and ProcessGroupGloo, set up exactly as Python's
// torch.distributed.init_process_group("gloo") does, so C# and Python ranks can share one group.
//
// Compiled with EQX_WITH_GLOO when CMake finds Gloo's and c10d's headers; otherwise every entry point fails with a
// message naming what to install, and eqx_dist_available() returns 0.
#include "shim.h"

#ifdef EQX_WITH_GLOO
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <chrono>
#include <thread>

namespace {

using std::chrono::milliseconds;

struct Group {
  c10::intrusive_ptr<c10d::Store> store;     // the TCPStore client
  c10::intrusive_ptr<c10d::Store> pgStore;   // "default_pg" prefix, as Python's default group
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  int rank;
  int size;
};

Group* group(void* g) {
  if (!g) throw std::runtime_error("the process group was disposed");
  return static_cast<Group*>(g);
}

c10d::ReduceOp reduce_op(int32_t op) {
  switch (op) {
    case 0: return c10d::ReduceOp(c10d::ReduceOp::SUM);
    case 1: return c10d::ReduceOp(c10d::ReduceOp::PRODUCT);
    case 2: return c10d::ReduceOp(c10d::ReduceOp::MIN);
    case 3: return c10d::ReduceOp(c10d::ReduceOp::MAX);
    default: throw std::runtime_error("unknown reduce op " + std::to_string(op));
  }
}

// Waits for a collective; a timeout is an error, as is a failure Gloo reports (a peer that closed its socket).
void finish(const c10::intrusive_ptr<c10d::Work>& work, int64_t timeout_ms) {
  if (!work->wait(milliseconds(timeout_ms))) throw std::runtime_error("timed out after " + std::to_string(timeout_ms) + " ms");
}

// Python's _store_based_barrier: every rank adds 1 to the key, then polls until the count reaches the world size.
void store_based_barrier(c10d::Store& store, int size, int64_t timeout_ms) {
  const std::string key = "store_based_barrier_key:1";
  store.add(key, 1);
  auto start = std::chrono::steady_clock::now();
  while (store.add(key, 0) < size) {
    if (std::chrono::steady_clock::now() - start > milliseconds(timeout_ms)) {
      throw std::runtime_error("timed out after " + std::to_string(timeout_ms) +
                               " ms in the store-based barrier of process-group initialisation (" +
                               std::to_string(store.add(key, 0)) + " of " + std::to_string(size) + " ranks arrived)");
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
}

}  // namespace

EQX_API int32_t eqx_dist_available() { return 1; }

// Connects to the store at store_host:store_port (never hosts it: C# hosts the server where asked), builds the Gloo
// group on a device bound to `device` (an address, or an interface name such as lo), and runs Python's initialisation
// barrier and sequence-number exchange.
// `prefix` (may be empty) is torchelastic's `/worker/attempt_N` when torchrun's agent hosts the store.
EQX_API void* eqx_dist_init(const char* store_host, int32_t store_port, const char* prefix, const char* device,
                            int32_t device_is_interface, int32_t rank, int32_t size, int64_t timeout_ms) {
  EQX_TRY
  c10d::TCPStoreOptions opts;
  opts.port = (uint16_t)store_port;
  opts.isServer = false;
  opts.numWorkers = (size_t)size;
  opts.waitWorkers = true;  // a client only counts itself in; Python's rank-0 server waits on that count
  opts.timeout = milliseconds(timeout_ms);
  c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::TCPStore>(std::string(store_host), opts);
  if (prefix && *prefix) store = c10::make_intrusive<c10d::PrefixStore>(prefix, store);
  auto defaultPg = c10::make_intrusive<c10d::PrefixStore>("default_pg", store);
  auto groupStore = c10::make_intrusive<c10d::PrefixStore>("0", defaultPg);
  auto options = c10d::ProcessGroupGloo::Options::create(milliseconds(timeout_ms));
  options->devices.push_back(device_is_interface ? c10d::ProcessGroupGloo::createDeviceForInterface(device)
                                                 : c10d::ProcessGroupGloo::createDeviceForHostname(device));
  options->threads = 2;
  auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(groupStore, rank, size, options);
  store_based_barrier(*defaultPg, size, timeout_ms);
  pg->setSequenceNumberForGroup();
  return new Group{store, defaultPg, pg, rank, size};
  EQX_CATCH(nullptr)
}

// All-reduces each tensor in place (each a separate Gloo collective, all in flight together).
EQX_API int32_t eqx_dist_allreduce(void* g, const TH* tensors, int32_t count, int32_t op, int64_t timeout_ms) {
  EQX_TRY
  auto* grp = group(g);
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  works.reserve(count);
  for (int32_t i = 0; i < count; i++) {
    if (!tensors[i]->is_contiguous()) {
      throw std::runtime_error("an in-place all-reduce needs a contiguous buffer; this one is a strided view (reduce a "
                               "Contiguous() copy instead)");
    }
    std::vector<at::Tensor> one{*tensors[i]};
    c10d::AllreduceOptions o;
    o.reduceOp = reduce_op(op);
    works.push_back(grp->pg->allreduce(one, o));
  }
  for (auto& w : works) finish(w, timeout_ms);
  return 0;
  EQX_CATCH(-1)
}

EQX_API int32_t eqx_dist_broadcast(void* g, const TH* tensors, int32_t count, int32_t root, int64_t timeout_ms) {
  EQX_TRY
  auto* grp = group(g);
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  works.reserve(count);
  for (int32_t i = 0; i < count; i++) {
    std::vector<at::Tensor> one{*tensors[i]};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    works.push_back(grp->pg->broadcast(one, o));
  }
  for (auto& w : works) finish(w, timeout_ms);
  return 0;
  EQX_CATCH(-1)
}

// Tree collectives, bucketed: the leaves are packed into flat buffers (one dtype and device each, a leaf never split,
// a new buffer once `bucket_bytes` would be passed), the collective runs on every buffer with all of them in flight,
// and out[i] receives leaf i's result as a view of its buffer. kind 0 all-reduces with `op_or_root` as the op, then
// multiplies by `scale` unless it is 1; kind 1 broadcasts from rank `op_or_root`. Returns the number of buffers.
EQX_API int32_t eqx_dist_bucketed(void* g, const TH* leaves, int32_t count, int32_t kind, int32_t op_or_root,
                                  double scale, int64_t bucket_bytes, int64_t timeout_ms, TH* out) {
  EQX_TRY
  auto* grp = group(g);
  struct Bucket {
    std::vector<int32_t> members;
    int64_t bytes = 0;
    at::Tensor buffer;
  };
  std::vector<Bucket> buckets;
  std::vector<std::pair<std::pair<at::ScalarType, at::Device>, size_t>> open;  // the open bucket per dtype and device
  for (int32_t i = 0; i < count; i++) {
    const at::Tensor& t = *leaves[i];
    int64_t bytes = t.numel() * (int64_t)t.element_size();
    auto key = std::make_pair(t.scalar_type(), t.device());
    auto slot = std::find_if(open.begin(), open.end(), [&](const auto& entry) { return entry.first == key; });
    size_t index;
    if (slot != open.end() && buckets[slot->second].bytes + bytes <= bucket_bytes) {
      index = slot->second;
    } else {
      buckets.emplace_back();
      index = buckets.size() - 1;
      if (slot != open.end()) slot->second = index;
      else open.emplace_back(key, index);
    }
    auto& b = buckets[index];
    b.members.push_back(i);
    b.bytes += bytes;
  }
  at::NoGradGuard noGrad;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto& b : buckets) {
    std::vector<at::Tensor> flat;
    flat.reserve(b.members.size());
    for (int32_t i : b.members) flat.push_back(leaves[i]->detach().reshape({-1}));
    b.buffer = flat.size() == 1 ? flat[0].clone() : at::cat(flat);
    std::vector<at::Tensor> one{b.buffer};
    if (kind == 0) {
      c10d::AllreduceOptions o;
      o.reduceOp = reduce_op(op_or_root);
      works.push_back(grp->pg->allreduce(one, o));
    } else {
      c10d::BroadcastOptions o;
      o.rootRank = op_or_root;
      works.push_back(grp->pg->broadcast(one, o));
    }
  }
  for (size_t k = 0; k < works.size(); k++) {
    try {
      finish(works[k], timeout_ms);
    } catch (const c10::Error& e) {
      throw std::runtime_error("bucket " + std::to_string(k + 1) + " of " + std::to_string(works.size()) + " (" +
                               std::string(c10::toString(buckets[k].buffer.scalar_type())) + ", " +
                               std::to_string(buckets[k].buffer.numel()) + " elements): " + e.what_without_backtrace());
    } catch (const std::exception& e) {
      throw std::runtime_error("bucket " + std::to_string(k + 1) + " of " + std::to_string(works.size()) + " (" +
                               std::string(c10::toString(buckets[k].buffer.scalar_type())) + ", " +
                               std::to_string(buckets[k].buffer.numel()) + " elements): " + e.what());
    }
  }
  for (auto& b : buckets) {
    if (kind == 0 && scale != 1.0) b.buffer.mul_(scale);
    int64_t offset = 0;
    for (int32_t i : b.members) {
      const at::Tensor& t = *leaves[i];
      out[i] = eqx::wrap(b.buffer.narrow(0, offset, t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }
  return (int32_t)buckets.size();
  EQX_CATCH(-1)
}

// Gathers `input` from every rank into `out` (world-size new tensors, in rank order).
EQX_API int32_t eqx_dist_allgather(void* g, TH input, TH* out, int32_t capacity, int64_t timeout_ms) {
  EQX_TRY
  auto* grp = group(g);
  std::vector<at::Tensor> in{*input};
  std::vector<std::vector<at::Tensor>> outs(1);
  for (int i = 0; i < grp->size; i++) outs[0].push_back(at::empty_like(*input));
  finish(grp->pg->allgather(outs, in), timeout_ms);
  return eqx::write_list(outs[0], out, capacity);
  EQX_CATCH(-1)
}

EQX_API int32_t eqx_dist_barrier(void* g, int64_t timeout_ms) {
  EQX_TRY
  finish(group(g)->pg->barrier(), timeout_ms);
  return 0;
  EQX_CATCH(-1)
}

EQX_API void eqx_dist_free(void* g) {
  try {
    delete static_cast<Group*>(g);
  } catch (...) {
  }
}

#else  // no Gloo headers at build time

static const char* kNoGloo =
    "this Equinox build has no distributed support: its LibTorch shim was compiled without Gloo's and c10d's headers. "
    "Install them (sudo apt-get install libgloo-dev, with libtorch-dev) and rebuild.";

EQX_API int32_t eqx_dist_available() { return 0; }
EQX_API void* eqx_dist_init(const char*, int32_t, const char*, const char*, int32_t, int32_t, int32_t, int64_t) {
  eqx::set_last_error(kNoGloo);
  return nullptr;
}
EQX_API int32_t eqx_dist_allreduce(void*, const TH*, int32_t, int32_t, int64_t) {
  eqx::set_last_error(kNoGloo);
  return -1;
}
EQX_API int32_t eqx_dist_broadcast(void*, const TH*, int32_t, int32_t, int64_t) {
  eqx::set_last_error(kNoGloo);
  return -1;
}
EQX_API int32_t eqx_dist_allgather(void*, TH, TH*, int32_t, int64_t) {
  eqx::set_last_error(kNoGloo);
  return -1;
}
EQX_API int32_t eqx_dist_bucketed(void*, const TH*, int32_t, int32_t, int32_t, double, int64_t, int64_t, TH*) {
  eqx::set_last_error(kNoGloo);
  return -1;
}
EQX_API int32_t eqx_dist_barrier(void*, int64_t) {
  eqx::set_last_error(kNoGloo);
  return -1;
}
EQX_API void eqx_dist_free(void*) {}

#endif
