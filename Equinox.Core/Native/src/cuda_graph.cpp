// CUDA graph capture for FilterJit: warm-up on a side stream, capture, replay. Compiled only when the LibTorch found
// by CMake has CUDA (EQX_WITH_CUDA); otherwise every entry point fails with a message that says so, and FilterJit
// runs eagerly with that message as its reason.
//
// The C# side drives the sequence, one OS thread from start to end (the current stream is thread-local):
//   g = eqx_cuda_graph_new(device)
//   eqx_cuda_graph_side_stream_begin(g); ...warm-up calls...; eqx_cuda_graph_side_stream_end(g)
//   eqx_cuda_graph_capture_begin(g); ...the captured call...; eqx_cuda_graph_capture_end(g)   (end even on failure)
//   eqx_cuda_graph_replay(g) per call; eqx_cuda_graph_free(g)
#include "shim.h"

#ifdef EQX_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <memory>

namespace {

struct Graph {
  explicit Graph(int32_t device_index)
      : device((c10::DeviceIndex)device_index), side(c10::cuda::getStreamFromPool(false, device)) {}

  c10::DeviceIndex device;
  c10::cuda::CUDAStream side;
  at::cuda::CUDAGraph graph;
  // Set while work is sent to the side stream (warm-up or capture); its destructor restores the caller's stream.
  std::unique_ptr<c10::cuda::CUDAStreamGuard> guard;
  c10::optional<c10::cuda::CUDAStream> caller;
  bool captured = false;

  // The side stream first waits for the caller's work (the inputs copied in), then becomes current.
  void enter() {
    if (guard) throw std::runtime_error("the graph's side stream is already current");
    c10::cuda::CUDAGuard device_guard(device);
    auto current = c10::cuda::getCurrentCUDAStream(device);
    caller = current;
    side.synchronize();
    current.synchronize();
    guard = std::make_unique<c10::cuda::CUDAStreamGuard>(side);
  }

  // The caller's stream becomes current again and waits for the side stream's work.
  void leave() {
    guard.reset();
    side.synchronize();
  }
};

Graph* as_graph(void* g) {
  if (!g) throw std::runtime_error("null CUDA graph handle");
  return static_cast<Graph*>(g);
}

}  // namespace

EQX_API int32_t eqx_cuda_graph_available() {
  EQX_TRY return at::globalContext().hasCUDA() ? 1 : 0;
  EQX_CATCH(0)
}

EQX_API void* eqx_cuda_graph_new(int32_t device_index) {
  EQX_TRY return new Graph(device_index);
  EQX_CATCH(nullptr)
}

EQX_API int32_t eqx_cuda_graph_side_stream_begin(void* g) {
  EQX_TRY as_graph(g)->enter();
  return 0;
  EQX_CATCH(-1)
}

EQX_API int32_t eqx_cuda_graph_side_stream_end(void* g) {
  EQX_TRY as_graph(g)->leave();
  return 0;
  EQX_CATCH(-1)
}

EQX_API int32_t eqx_cuda_graph_capture_begin(void* g) {
  EQX_TRY
  auto graph = as_graph(g);
  graph->enter();
  try {
    graph->graph.capture_begin();
  } catch (...) {
    graph->leave();
    throw;
  }
  return 0;
  EQX_CATCH(-1)
}

// Ends the capture; called even when the captured call failed, so the stream leaves capture mode. Returns 0 when
// the graph is ready to replay.
EQX_API int32_t eqx_cuda_graph_capture_end(void* g) {
  EQX_TRY
  auto graph = as_graph(g);
  try {
    graph->graph.capture_end();
  } catch (...) {
    graph->leave();
    throw;
  }
  graph->leave();
  graph->captured = true;
  return 0;
  EQX_CATCH(-1)
}

EQX_API int32_t eqx_cuda_graph_replay(void* g) {
  EQX_TRY
  auto graph = as_graph(g);
  if (!graph->captured) throw std::runtime_error("the CUDA graph was not captured");
  c10::cuda::CUDAGuard device_guard(graph->device);
  graph->graph.replay();
  return 0;
  EQX_CATCH(-1)
}

EQX_API void eqx_cuda_graph_free(void* g) {
  try {
    delete static_cast<Graph*>(g);
  } catch (...) {
  }
}

#else  // no CUDA in this LibTorch build

static const char* const kNoCudaGraphs = "CUDA graph capture is not available in this LibTorch build";

EQX_API int32_t eqx_cuda_graph_available() { return 0; }

EQX_API void* eqx_cuda_graph_new(int32_t) {
  eqx::set_last_error(kNoCudaGraphs);
  return nullptr;
}

EQX_API int32_t eqx_cuda_graph_side_stream_begin(void*) {
  eqx::set_last_error(kNoCudaGraphs);
  return -1;
}

EQX_API int32_t eqx_cuda_graph_side_stream_end(void*) {
  eqx::set_last_error(kNoCudaGraphs);
  return -1;
}

EQX_API int32_t eqx_cuda_graph_capture_begin(void*) {
  eqx::set_last_error(kNoCudaGraphs);
  return -1;
}

EQX_API int32_t eqx_cuda_graph_capture_end(void*) {
  eqx::set_last_error(kNoCudaGraphs);
  return -1;
}

EQX_API int32_t eqx_cuda_graph_replay(void*) {
  eqx::set_last_error(kNoCudaGraphs);
  return -1;
}

EQX_API void eqx_cuda_graph_free(void*) {}

#endif
