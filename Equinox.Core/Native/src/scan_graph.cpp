// Scan's body graph: the body of an Eqx.Scan captured once, on its own, while FilterJit captures the enclosing
// graph, then appended to that capture once per step as a child-graph node. Compiled only with EQX_WITH_CUDA;
// otherwise every entry point fails with the same "not available" message as cuda_graph.cpp.
//
// The C# side (CudaScanLowering) drives it on the capturing thread, inside the enclosing capture:
//   b = eqx_scan_body_new(device)
//   eqx_scan_body_capture_begin(b); ...the body, once...; eqx_scan_body_capture_end(b)   (end even on failure)
//   per step: ...copy x in...; eqx_scan_body_launch(b); ...copy y and the carry out...
//   eqx_scan_body_free(b)   once the enclosing graph is gone
//
// Why not a second at::cuda::CUDAGraph, captured with the enclosing graph's pool and replayed per step:
//  - CUDAGraph::replay() is cudaGraphLaunch, and launching an executable graph into a stream that is capturing
//    fails with cudaErrorStreamCaptureUnsupported (measured on CUDA 12.6, microsoft/onnxruntime#32081). A graph can
//    join a capture only as a child-graph node (cudaGraphAddChildGraphNode), which needs the cudaGraph_t, and
//    CUDAGraph destroys that right after instantiating it (1.13 and 2.6 keep it only in a process-wide debug mode).
//  - CUDAGraph::pool() throws until the capture has ended (has_graph_exec_ in 1.13, capture_ended_ in 2.x), and
//    2.x's caching allocator refuses a second capture recording to a pool that one is already recording to
//    ("beginAllocateToPool: already recording to mempool_id"). So the body records to a private pool of its own,
//    which costs one step's worth of memory next to the enclosing graph's pool.
//  - CUDAGraph::capture_begin/capture_end run the default CUDA generator's capture prologue and epilogue, which
//    would reset the enclosing capture's RNG offset bookkeeping. This capture leaves the generator alone.
// The pattern (a nested capture on another stream, with the allocator routed by capture id, spliced in through
// cudaStreamGetCaptureInfo + a graph node + cudaStreamUpdateCaptureDependencies) is the one PyTorch itself uses for
// conditional nodes (CUDAGraph::begin_capture_to_if_node, 2.7+).
#include "shim.h"

#ifdef EQX_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGraphsC10Utils.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>

#include <atomic>
#include <memory>

// The caching allocator's hooks for a capture: 1.x notifies it of a capture id after the capture begins; 2.3+
// routes allocations through a filter installed before it begins (pytorch/pytorch#114647). 2.0 and 2.1 had other
// signatures (per-stream routing, #96542), and 2.2 was not checked, so those decline with a message.
#if TORCH_VERSION_MAJOR < 2
#define EQX_ALLOCATOR_BY_CAPTURE_ID 1
#elif TORCH_VERSION_MAJOR > 2 || TORCH_VERSION_MINOR >= 3
#define EQX_ALLOCATOR_BY_FILTER 1
#endif

namespace {

using CaptureId = c10::cuda::CaptureId_t;

void check(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  (void)cudaGetLastError();  // capture errors are not sticky: clear them so later ATen checks do not trip on them
  throw std::runtime_error(std::string(what) + " failed: " + cudaGetErrorString(status));
}

struct BodyGraph {
  explicit BodyGraph(int32_t device_index) : device((c10::DeviceIndex)device_index) {}

  c10::DeviceIndex device;
  c10::optional<c10::cuda::CUDAStream> stream;  // the body's capture stream, never the enclosing one
  std::unique_ptr<c10::cuda::CUDAStreamGuard> guard;  // makes `stream` current while the body is captured
  c10::cuda::MempoolId_t pool{0, 0};
  bool pool_live = false;  // the allocator holds `pool` for us until free
  bool routing = false;    // the allocator sends this capture's allocations to `pool`
  bool capturing = false;
  std::shared_ptr<std::atomic<CaptureId>> capture_id = std::make_shared<std::atomic<CaptureId>>(0);
  cudaGraph_t graph = nullptr;

  // A pool stream other than the enclosing capture's and not capturing itself (a stream forked into the enclosing
  // capture is capturing too).
  c10::cuda::CUDAStream pick_stream(const c10::cuda::CUDAStream& enclosing) {
    for (int attempt = 0; attempt < 64; attempt++) {
      auto candidate = c10::cuda::getStreamFromPool(false, device);
      if (candidate == enclosing) continue;
      cudaStreamCaptureStatus status;
      check(cudaStreamIsCapturing(candidate.stream(), &status), "cudaStreamIsCapturing");
      if (status == cudaStreamCaptureStatusNone) return candidate;
    }
    throw std::runtime_error("no CUDA stream in LibTorch's pool is free to capture Scan's body on");
  }

  void begin() {
    if (capturing || graph) throw std::runtime_error("Scan's body graph was already captured");
#if !defined(EQX_ALLOCATOR_BY_CAPTURE_ID) && !defined(EQX_ALLOCATOR_BY_FILTER)
    throw std::runtime_error("capturing Scan's body inside a CUDA graph needs LibTorch 1.x or 2.3+ (this is " TORCH_VERSION ")");
#else
    c10::cuda::CUDAGuard device_guard(device);
    auto enclosing = c10::cuda::getCurrentCUDAStream(device);
    cudaStreamCaptureStatus status;
    check(cudaStreamIsCapturing(enclosing.stream(), &status), "cudaStreamIsCapturing");
    if (status != cudaStreamCaptureStatusActive)
      throw std::runtime_error("Scan's body graph is captured inside an enclosing capture, and the current stream is not capturing");
    stream = pick_stream(enclosing);
    pool = at::cuda::graph_pool_handle();
#ifdef EQX_ALLOCATOR_BY_FILTER
    // Installed before the capture begins, as CUDAGraph::capture_begin does; it matches nothing until the id is set.
    auto id = capture_id;
    c10::cuda::CUDACachingAllocator::beginAllocateToPool(device, pool, [id](cudaStream_t s) {
      CaptureId wanted = id->load();
      if (wanted == 0) return false;
      cudaStreamCaptureStatus st;
      CaptureId got = 0;
      if (cudaStreamGetCaptureInfo(s, &st, &got) != cudaSuccess) {
        (void)cudaGetLastError();
        return false;
      }
      return st == cudaStreamCaptureStatusActive && got == wanted;
    });
    pool_live = routing = true;
#endif
    try {
      guard = std::make_unique<c10::cuda::CUDAStreamGuard>(*stream);
      // Global mode, like the enclosing capture (CUDAGraph's default), so this thread's rules do not change.
      check(cudaStreamBeginCapture(stream->stream(), cudaStreamCaptureModeGlobal), "cudaStreamBeginCapture");
      capturing = true;
      CaptureId id_value = 0;
      check(cudaStreamGetCaptureInfo(stream->stream(), &status, &id_value), "cudaStreamGetCaptureInfo");
#ifdef EQX_ALLOCATOR_BY_CAPTURE_ID
      c10::cuda::CUDACachingAllocator::notifyCaptureBegin(device, id_value, pool);
      pool_live = routing = true;
#endif
      capture_id->store(id_value);
    } catch (...) {
      try {
        finish_capture();
      } catch (...) {
        // the failure to begin is the one to report
      }
      throw;
    }
#endif
  }

  // Leaves capture mode, stops routing allocations and restores the caller's stream, whatever happened; then
  // throws if the capture failed.
  void finish_capture() {
    cudaGraph_t captured = nullptr;
    cudaError_t ended = cudaSuccess;
    if (capturing) {
      ended = cudaStreamEndCapture(stream->stream(), &captured);
      capturing = false;
    }
    std::string routing_error;
    if (routing) {
      routing = false;
      try {
#ifdef EQX_ALLOCATOR_BY_FILTER
        c10::cuda::CUDACachingAllocator::endAllocateToPool(device, pool);
#elif defined(EQX_ALLOCATOR_BY_CAPTURE_ID)
        c10::cuda::CUDACachingAllocator::notifyCaptureEnd(device, capture_id->load());
#endif
      } catch (const c10::Error& e) {
        routing_error = e.what_without_backtrace();
      }
    }
    capture_id->store(0);
    guard.reset();
    if (ended != cudaSuccess || !captured) {
      if (captured) destroy(captured);
      check(ended != cudaSuccess ? ended : cudaErrorStreamCaptureInvalidated, "capturing Scan's body (cudaStreamEndCapture)");
    }
    graph = captured;
    if (!routing_error.empty()) throw std::runtime_error(routing_error);
  }

  void end() {
    if (!capturing) throw std::runtime_error("Scan's body graph is not being captured");
    finish_capture();
  }

  // Appends the body to the current stream's capture as a child-graph node: the node depends on what the stream's
  // next operation would have depended on, and the stream's next operation depends on the node. The child graph
  // is cloned into the node. cudaGraphLaunch here would fail: a capturing stream does not accept graph launches.
  void launch() {
    if (!graph) throw std::runtime_error("Scan's body graph was not captured");
    c10::cuda::CUDAGuard device_guard(device);
    cudaStream_t current = c10::cuda::getCurrentCUDAStream(device).stream();
    cudaStreamCaptureStatus status;
    cudaGraph_t enclosing = nullptr;
    const cudaGraphNode_t* dependencies = nullptr;
    size_t count = 0;
    cudaGraphNode_t node = nullptr;
#if CUDART_VERSION >= 12030
    // Edge-aware forms (12.3+; renamed without the suffixes in 13.0), so annotated edges are kept.
    const cudaGraphEdgeData* edges = nullptr;
    cudaGraphNodeParams params{};
    params.type = cudaGraphNodeTypeGraph;
    params.graph.graph = graph;
#if CUDART_VERSION >= 13000
    check(cudaStreamGetCaptureInfo(current, &status, nullptr, &enclosing, &dependencies, &edges, &count), "cudaStreamGetCaptureInfo");
    require_active(status);
    check(cudaGraphAddNode(&node, enclosing, dependencies, edges, count, &params), "cudaGraphAddNode (child graph)");
    check(cudaStreamUpdateCaptureDependencies(current, &node, nullptr, 1, cudaStreamSetCaptureDependencies),
          "cudaStreamUpdateCaptureDependencies");
#else
    check(cudaStreamGetCaptureInfo_v3(current, &status, nullptr, &enclosing, &dependencies, &edges, &count), "cudaStreamGetCaptureInfo_v3");
    require_active(status);
    check(cudaGraphAddNode_v2(&node, enclosing, dependencies, edges, count, &params), "cudaGraphAddNode_v2 (child graph)");
    check(cudaStreamUpdateCaptureDependencies_v2(current, &node, nullptr, 1, cudaStreamSetCaptureDependencies),
          "cudaStreamUpdateCaptureDependencies_v2");
#endif
#elif CUDART_VERSION >= 11030
#if CUDART_VERSION >= 12000
    check(cudaStreamGetCaptureInfo(current, &status, nullptr, &enclosing, &dependencies, &count), "cudaStreamGetCaptureInfo");
#else
    check(cudaStreamGetCaptureInfo_v2(current, &status, nullptr, &enclosing, &dependencies, &count), "cudaStreamGetCaptureInfo_v2");
#endif
    require_active(status);
    check(cudaGraphAddChildGraphNode(&node, enclosing, dependencies, count, graph), "cudaGraphAddChildGraphNode");
    check(cudaStreamUpdateCaptureDependencies(current, &node, 1, cudaStreamSetCaptureDependencies),
          "cudaStreamUpdateCaptureDependencies");
#else
    (void)current; (void)status; (void)enclosing; (void)dependencies; (void)count; (void)node;
    throw std::runtime_error("Scan's body graph needs CUDA 11.3+ (cudaStreamUpdateCaptureDependencies)");
#endif
  }

  static void require_active(cudaStreamCaptureStatus status) {
    if (status != cudaStreamCaptureStatusActive)
      throw std::runtime_error("Scan's body graph is launched into an enclosing capture, and the current stream is not capturing");
  }

  // cudaGraphDestroy is not a stream operation, but CUDAGraph::reset relaxes the capture mode around it all the
  // same, since another capture may be under way on this thread.
  static void destroy(cudaGraph_t g) {
    c10::cuda::CUDAStreamCaptureModeGuard relaxed(cudaStreamCaptureModeRelaxed);
    (void)cudaGraphDestroy(g);
  }

  ~BodyGraph() {
    try {
      if (capturing || routing) finish_capture();
    } catch (...) {
    }
    try {
      if (graph) destroy(graph);
      graph = nullptr;
      // Only bookkeeping: the pool's memory is cudaFree'd later, when the allocator frees cached blocks.
      if (pool_live) {
#ifdef EQX_ALLOCATOR_BY_FILTER
        c10::cuda::CUDACachingAllocator::releasePool(device, pool);
#elif defined(EQX_ALLOCATOR_BY_CAPTURE_ID)
        c10::cuda::CUDACachingAllocator::notifyCaptureDestroy(device, pool);
#endif
      }
      pool_live = false;
    } catch (...) {
    }
  }
};

BodyGraph* as_body(void* b) {
  if (!b) throw std::runtime_error("null Scan body graph handle");
  return static_cast<BodyGraph*>(b);
}

}  // namespace

EQX_API void* eqx_scan_body_new(int32_t device_index) {
  EQX_TRY return new BodyGraph(device_index);
  EQX_CATCH(nullptr)
}

EQX_API int32_t eqx_scan_body_capture_begin(void* b) {
  EQX_TRY as_body(b)->begin();
  return 0;
  EQX_CATCH(-1)
}

// Called even when the body failed, so the stream leaves capture mode. Returns 0 when the body graph is ready.
EQX_API int32_t eqx_scan_body_capture_end(void* b) {
  EQX_TRY as_body(b)->end();
  return 0;
  EQX_CATCH(-1)
}

EQX_API int32_t eqx_scan_body_launch(void* b) {
  EQX_TRY as_body(b)->launch();
  return 0;
  EQX_CATCH(-1)
}

EQX_API void eqx_scan_body_free(void* b) {
  try {
    delete static_cast<BodyGraph*>(b);
  } catch (...) {
  }
}

#else  // no CUDA in this LibTorch build

static const char* const kNoScanBodyGraphs = "CUDA graph capture is not available in this LibTorch build";

EQX_API void* eqx_scan_body_new(int32_t) {
  eqx::set_last_error(kNoScanBodyGraphs);
  return nullptr;
}

EQX_API int32_t eqx_scan_body_capture_begin(void*) {
  eqx::set_last_error(kNoScanBodyGraphs);
  return -1;
}

EQX_API int32_t eqx_scan_body_capture_end(void*) {
  eqx::set_last_error(kNoScanBodyGraphs);
  return -1;
}

EQX_API int32_t eqx_scan_body_launch(void*) {
  eqx::set_last_error(kNoScanBodyGraphs);
  return -1;
}

EQX_API void eqx_scan_body_free(void*) {}

#endif
