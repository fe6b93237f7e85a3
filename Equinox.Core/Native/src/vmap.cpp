// Transformations over functorch's dynamic layer stack (at::functorch, in libtorch_cpu since 1.13): vmap's batching
// layer and the Grad layer that per-example gradients need inside it. This mirrors what torch._C._functorch's Python
// bindings do (_vmap_increment_nesting, _add_batch_dim, _remove_batch_dim, _grad_increment_nesting, _wrap_for_grad,
// ...), without Python. The stack is thread-local: a transformation runs start to end on one thread, and the C# side
// pops in a `finally` so a throw never leaves a layer behind.
#include "shim.h"

#include <ATen/functorch/BatchedTensorImpl.h>
#include <ATen/functorch/DynamicLayer.h>
#include <ATen/functorch/TensorWrapper.h>

namespace {

using at::functorch::TransformType;

// The layer on top of the stack must be the one the caller opened: anything else means a layer leaked or the calls
// were interleaved (e.g. across threads), and popping it would corrupt an enclosing transformation.
void pop_layer(int64_t level, TransformType expected, const char* what) {
  auto top = at::functorch::maybeCurrentDynamicLayer();
  if (!top.has_value()) throw std::runtime_error(std::string(what) + ": no functorch layer is open on this thread");
  if (top->layerId() != level || top->key() != expected) {
    throw std::runtime_error(std::string(what) + ": the innermost functorch layer is level " +
                             std::to_string(top->layerId()) + ", not the level " + std::to_string(level) +
                             " being closed; transformations must close innermost first, on the thread that opened them");
  }
  at::functorch::popDynamicLayerAndDeleteMetadata();
}

bool batched_at(const at::Tensor& t, int64_t level) {
  auto* batched = at::functorch::maybeGetBatchedImpl(t);
  return batched != nullptr && batched->level() >= level;
}

// Moves dimension `src` to `dst`, keeping the order of the others (functorch's _movedim).
at::Tensor move_dim(const at::Tensor& t, int64_t src, int64_t dst) {
  auto rank = t.dim();
  src = at::maybe_wrap_dim(src, rank);
  dst = at::maybe_wrap_dim(dst, rank);
  if (src == dst) return t;
  std::vector<int64_t> order;
  order.reserve(rank);
  for (int64_t d = 0; d < rank; d++)
    if (d != src) order.push_back(d);
  order.insert(order.begin() + dst, src);
  return t.permute(order);
}

}  // namespace

// ---- vmap -----------------------------------------------------------------------------------------------------------

// Pushes a Vmap layer; returns its level (> 0), or -1. randomness: 0 error, 1 same, 2 different (functorch's names).
EQX_API int64_t eqx_vmap_enter(int64_t batch_size, int32_t randomness) {
  EQX_TRY
  if (batch_size < 0) throw std::runtime_error("vmap: the batch size must not be negative");
  at::functorch::RandomnessType kind = randomness == 1   ? at::functorch::RandomnessType::Same
                                       : randomness == 2 ? at::functorch::RandomnessType::Different
                                                         : at::functorch::RandomnessType::Error;
  return at::functorch::initAndPushDynamicLayer(TransformType::Vmap, batch_size, kind);
  EQX_CATCH(-1)
}

EQX_API int32_t eqx_vmap_exit(int64_t level) {
  EQX_TRY
  pop_layer(level, TransformType::Vmap, "vmap");
  return 0;
  EQX_CATCH(-1)
}

// A tensor whose dimension `in_dim` is the batch of the vmap at `level`: ops see one example.
EQX_TENSOR_OP(eqx_vmap_add_batch_dim(TH t, int64_t in_dim, int64_t level),
              at::functorch::addBatchDim(*t, at::maybe_wrap_dim(in_dim, t->dim()), level))

// The plain tensor behind a result of the vmap at `level`, with the batch dimension at `out_dim`. A result that does
// not depend on the batch (not batched at this level) is repeated along a new dimension at `out_dim`: unsqueezed
// first, since expand only adds leading dimensions, and copied, so that it owns its memory like every other result
// (an in-place update of an expanded view, an optimiser step say, would fail: its elements share memory).
EQX_API TH eqx_vmap_remove_batch_dim(TH t, int64_t level, int64_t batch_size, int64_t out_dim) {
  EQX_TRY
  const at::Tensor& self = *t;
  if (!batched_at(self, level)) {
    auto sizes = self.sizes().vec();
    out_dim = at::maybe_wrap_dim(out_dim, (int64_t)sizes.size() + 1);
    sizes.insert(sizes.begin() + out_dim, batch_size);
    return eqx::wrap(self.unsqueeze(out_dim).expand(sizes).contiguous());
  }
  auto* batched = at::functorch::maybeGetBatchedImpl(self);
  if (batched->level() != level) {
    throw std::runtime_error("vmap: a result is batched at level " + std::to_string(batched->level()) +
                             ", inside the vmap at level " + std::to_string(level) +
                             " that is being closed; did a tensor escape from an inner vmap?");
  }
  return eqx::wrap(move_dim(batched->value(), batched->bdim(), out_dim));
  EQX_CATCH(nullptr)
}

// Whether `t` carries a batch dimension of the vmap at `level` (or of one nested inside it).
EQX_API int32_t eqx_vmap_is_batched(TH t, int64_t level) {
  EQX_TRY return batched_at(*t, level) ? 1 : 0;
  EQX_CATCH(-1)
}

// ---- functorch grad -------------------------------------------------------------------------------------------------
// Autograd inside vmap needs its own layer: the tensors that gradients are taken with respect to are wrapped
// (TensorWrapper) at the Grad level, so the recorded graph lives above the batching and each example gets its own
// gradient. Plain torch::autograd::grad on batched tensors does not do this in 1.13.

// Pushes a Grad layer that remembers the current grad mode, then enables grad (functorch's grad() does the same).
EQX_API int64_t eqx_grad_layer_enter() {
  EQX_TRY
  bool previous = at::GradMode::is_enabled();
  auto level = at::functorch::initAndPushDynamicLayer(TransformType::Grad, c10::nullopt, c10::nullopt, previous);
  at::GradMode::set_enabled(true);
  return level;
  EQX_CATCH(-1)
}

// Pops the Grad layer and restores the grad mode it remembered.
EQX_API int32_t eqx_grad_layer_exit(int64_t level, int32_t previous_grad_mode) {
  EQX_TRY
  pop_layer(level, TransformType::Grad, "grad");
  at::GradMode::set_enabled(previous_grad_mode != 0);
  return 0;
  EQX_CATCH(-1)
}

// `t` wrapped at the Grad level and made a leaf that requires grad (an input to differentiate with respect to).
EQX_API TH eqx_grad_layer_wrap(TH t, int64_t level, int32_t requires_grad) {
  EQX_TRY
  auto wrapped = at::functorch::makeTensorWrapper(*t, level);
  if (requires_grad) {
    bool allowed = at::functorch::getInplaceRequiresGradAllowed();
    at::functorch::setInplaceRequiresGradAllowed(true);
    try {
      wrapped.requires_grad_(true);
    } catch (...) {
      at::functorch::setInplaceRequiresGradAllowed(allowed);
      throw;
    }
    at::functorch::setInplaceRequiresGradAllowed(allowed);
  }
  return eqx::wrap(wrapped);
  EQX_CATCH(nullptr)
}

// The tensor behind a Grad-level wrapper (other tensors come back as they are).
EQX_API TH eqx_grad_layer_unwrap(TH t, int64_t level) {
  EQX_TRY
  auto* wrapper = at::functorch::maybeGetTensorWrapper(*t);
  if (wrapper && wrapper->level().has_value() && *wrapper->level() == level) return eqx::wrap(wrapper->value());
  return eqx::wrap(*t);
  EQX_CATCH(nullptr)
}

// Gradients of a scalar `output` with respect to `inputs` inside a Grad layer. create_graph is on, as in functorch,
// so the backward pass is itself recorded by any enclosing transformation. Unused inputs get zeros.
EQX_API int32_t eqx_grad_layer_grad(TH output, const TH* inputs, int32_t ninputs, TH* out) {
  EQX_TRY
  auto ins = eqx::tensors(inputs, ninputs);
  std::vector<at::Tensor> grads;
  if (output->requires_grad()) {
    grads = torch::autograd::grad({*output}, ins, {}, /*retain_graph=*/true, /*create_graph=*/true,
                                  /*allow_unused=*/true);
  } else {
    grads.resize(ins.size());
  }
  for (int32_t i = 0; i < ninputs; i++) out[i] = eqx::wrap(grads[i].defined() ? grads[i] : at::zeros_like(ins[i]));
  return 0;
  EQX_CATCH(-1)
}

// How many functorch layers are open on this thread (tests check that a throw left none behind).
EQX_API int32_t eqx_functorch_depth() {
  EQX_TRY return (int32_t)at::functorch::getDynamicLayerStack().size();
  EQX_CATCH(-1)
}
