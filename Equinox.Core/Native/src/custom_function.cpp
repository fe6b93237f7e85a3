// Custom backward rules written in C#: an autograd node whose backward calls a C# function pointer.
//
// eqx_custom_backward_attach takes outputs computed without grad from some inputs, gives each differentiable output
// a new handle whose grad_fn is a CustomBackward node with the inputs as its next edges, and keeps the residual
// tensors the rule needs. When autograd reaches the node, it hands the incoming gradients and the residuals to the C#
// callback as new handles (C# owns them) and takes the input gradients back as new handles (the node owns them).
// The C# state (a GCHandle) is released exactly once, when the node is destroyed.
#include "callback.h"
#include "shim.h"

#include <torch/csrc/autograd/function.h>

#include <mutex>

using BackwardCallback = int32_t (*)(void* state, TH* grads, int32_t ngrads, TH* saved, int32_t nsaved, TH* out,
                                     int32_t nout);
using ReleaseCallback = void (*)(void* state);

namespace eqx {

static thread_local std::string callback_message;
static thread_local int64_t callback_failure = 0;
static thread_local int64_t failure_id = 0;

ManagedFailure take_callback_failure() {
  ManagedFailure failure(callback_message.empty() ? "a C# callback failed" : callback_message, callback_failure);
  callback_message.clear();
  callback_failure = 0;
  return failure;
}

void set_failure_id(int64_t id) { failure_id = id; }

}  // namespace eqx

EQX_API void eqx_callback_failed(const char* message, int64_t id) {
  eqx::callback_message = message ? message : "";
  eqx::callback_failure = id;
}

EQX_API int64_t eqx_take_failure_id() {
  int64_t id = eqx::failure_id;
  eqx::failure_id = 0;
  return id;
}

// A second handle to the same tensor, for C# to hand over while it disposes its own.
EQX_API TH eqx_tensor_new_handle(TH t) {
  EQX_TRY return t ? new at::Tensor(*t) : nullptr;
  EQX_CATCH(nullptr)
}

namespace {

struct CustomBackward : torch::autograd::Node {
  BackwardCallback backward = nullptr;
  ReleaseCallback release = nullptr;
  void* state = nullptr;
  std::string rule_name;
  std::vector<at::Tensor> saved;
  std::vector<bool> differentiable_output;
  bool released_saved = false;

  ~CustomBackward() override {
    if (release) release(state);
  }

  std::string name() const override { return rule_name; }

  void release_variables() override {
    std::lock_guard<std::mutex> lock(mutex_);
    saved.clear();
    released_saved = true;
  }

  torch::autograd::variable_list apply(torch::autograd::variable_list&& grads) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (released_saved) {
      throw std::runtime_error(
          "Trying to backward through " + rule_name +
          " a second time, after its residuals were freed. Keep the graph (retain_graph) for a second backward pass.");
    }
    // Owned handles for C#: gradients of outputs nobody used arrive undefined and are passed as zeros.
    std::vector<TH> grad_handles(grads.size(), nullptr);
    std::vector<TH> saved_handles(saved.size(), nullptr);
    std::vector<TH> out(num_outputs(), nullptr);
    try {
      for (size_t i = 0; i < grads.size(); i++) {
        if (grads[i].defined()) grad_handles[i] = new at::Tensor(grads[i]);
        else if (differentiable_output[i]) grad_handles[i] = new at::Tensor(input_metadata(i).zeros_like());
      }
      for (size_t i = 0; i < saved.size(); i++) saved_handles[i] = eqx::wrap(saved[i]);
    } catch (...) {
      for (auto h : grad_handles) delete h;
      for (auto h : saved_handles) delete h;
      throw;
    }
    int32_t status = backward(state, grad_handles.data(), (int32_t)grad_handles.size(), saved_handles.data(),
                              (int32_t)saved_handles.size(), out.data(), (int32_t)out.size());
    torch::autograd::variable_list results(out.size());
    for (size_t i = 0; i < out.size(); i++) {
      if (out[i]) {
        results[i] = *out[i];
        delete out[i];
      }
    }
    if (status != 0) throw eqx::take_callback_failure();
    return results;
  }
};

}  // namespace

// Attaches `backward` to outputs computed without grad from `inputs`. Writes the outputs to return into `out`
// (new handles; a differentiable output gets a new handle with the node as grad_fn). Returns 1 when a node was made
// and now owns `state` (released through `release` when it dies), 0 when none was needed (grad mode off, or no input
// requires grad; the caller keeps `state`), -1 on failure (the caller keeps `state`).
EQX_API int32_t eqx_custom_backward_attach(const TH* inputs, int32_t ninputs, const TH* outputs, int32_t noutputs,
                                           const TH* saved, int32_t nsaved, BackwardCallback backward,
                                           ReleaseCallback release, void* state, const char* name, TH* out) {
  EQX_TRY
  auto input_list = eqx::tensors(inputs, ninputs);
  auto output_list = eqx::tensors(outputs, noutputs);
  bool executable = at::GradMode::is_enabled() && torch::autograd::any_variable_requires_grad(input_list);
  if (!executable) {
    for (int32_t i = 0; i < noutputs; i++) out[i] = eqx::wrap(output_list[i]);
    return 0;
  }
  std::shared_ptr<CustomBackward> node(new CustomBackward(), torch::autograd::deleteNode);
  node->rule_name = name ? name : "CustomBackward";
  node->set_next_edges(torch::autograd::collect_next_edges(input_list));
  node->saved.reserve(nsaved);
  for (int32_t i = 0; i < nsaved; i++) node->saved.push_back(saved[i] ? saved[i]->detach() : at::Tensor());
  std::vector<at::Tensor> wrapped(noutputs);
  for (int32_t i = 0; i < noutputs; i++) {
    const auto& o = output_list[i];
    bool differentiable = o.defined() && torch::autograd::isDifferentiableType(o.scalar_type());
    node->differentiable_output.push_back(differentiable);
    if (differentiable) {
      // A new tensor (sharing memory) takes the history, so the caller's own tensor, which may also be an input or
      // a residual, stays as it was.
      wrapped[i] = o.detach();
      torch::autograd::create_gradient_edge(wrapped[i], node);
    } else {
      node->add_input_metadata(torch::autograd::Node::undefined_input());
      wrapped[i] = o;
    }
  }
  for (int32_t i = 0; i < noutputs; i++) out[i] = eqx::wrap(wrapped[i]);
  // Only now, with nothing left to fail, does the node own the C# state.
  node->backward = backward;
  node->release = release;
  node->state = state;
  return 1;
  EQX_CATCH(-1)
}
