// Collectives over a vmap's batch (JAX's psum/pmean/pmax/pmin over a named axis), on functorch's batching. Inside
// vmap an op sees one example, and no ATen op can look across examples; a collective therefore opens the tensor at
// the level of the axis it reduces over, the way a batching rule does: it takes the physical tensor behind the
// BatchedTensor of that level, reduces along its batch dimension with ordinary ops, and returns the result unbatched
// at that level (every example sees the same value). Ordinary ops keep autograd: a gradient taken outside the vmap,
// or by a functorch Grad layer below the axis's level, flows through the reduction.
#include "shim.h"

#include <ATen/functorch/BatchedTensorImpl.h>
#include <ATen/functorch/TensorWrapper.h>

namespace {

// Sum..Min reduce over the batch; Gather stacks the examples along a new leading dimension (JAX's all_gather).
enum class Reduction : int32_t { Sum = 0, Mean = 1, Max = 2, Min = 3, Gather = 4 };

// Whether `t` carries the batch of `level` anywhere in its wrappers (a BatchedTensor at `level`, possibly beneath
// BatchedTensors and functorch gradient wrappers of higher levels).
bool batched_at_level(const at::Tensor& t, int64_t level) {
  if (auto* batched = at::functorch::maybeGetBatchedImpl(t)) {
    if (batched->level() == level) return true;
    if (batched->level() < level) return false;
    return batched_at_level(batched->value(), level);
  }
  if (auto* wrapper = at::functorch::maybeGetTensorWrapper(t)) {
    auto wrapper_level = wrapper->level();
    if (wrapper_level.has_value() && *wrapper_level > level) return batched_at_level(wrapper->value(), level);
  }
  return false;
}

at::Tensor reduce_dim(const at::Tensor& physical, int64_t dim, Reduction op) {
  switch (op) {
    case Reduction::Sum: return physical.sum(dim, /*keepdim=*/false, physical.scalar_type());
    case Reduction::Mean: return physical.mean(dim);
    case Reduction::Max: return physical.amax(dim);
    case Reduction::Min: return physical.amin(dim);
    case Reduction::Gather: return physical.movedim(dim, 0);
  }
  throw std::runtime_error("vmap collective: unknown reduction");
}

// The reduction over the batch of `level`, for a tensor that carries it (batched_at_level). BatchedTensors of higher
// levels (vmaps nested inside the axis's) are opened and closed again around the reduction, keeping their own batch
// dimension; a functorch gradient wrapper above the level cannot be: its autograd graph lives on the wrapper.
// Returns an undefined tensor in that case.
at::Tensor reduce_at(const at::Tensor& t, int64_t level, Reduction op) {
  auto* batched = at::functorch::maybeGetBatchedImpl(t);
  if (batched == nullptr) return at::Tensor();
  if (batched->level() == level) return reduce_dim(batched->value(), batched->bdim(), op);
  auto inner = reduce_at(batched->value(), level, op);
  if (!inner.defined()) return inner;
  // A gather puts a new dimension in front of this level's logical dimensions, its own batch dimension included.
  auto bdim = batched->bdim() + (op == Reduction::Gather ? 1 : 0);
  return at::functorch::addBatchDim(inner, bdim, batched->level());
}

}  // namespace

// Reduces `t` over the batch of the vmap at `level` (whose batch size is `size`): op 0 sum, 1 mean, 2 max, 3 min, or
// 4 gathers it. A tensor that does not carry that batch is the same in every example: its sum is `size` times it,
// its gather `size` copies, the rest itself.
// When the batch lies beneath a functorch gradient wrapper, sets *under_grad to 1 and returns null without an error.
EQX_API TH eqx_vmap_reduce(TH t, int64_t level, int64_t size, int32_t op, int32_t* under_grad) {
  EQX_TRY
  *under_grad = 0;
  if (op < 0 || op > 4) throw std::runtime_error("vmap collective: unknown reduction " + std::to_string(op));
  auto reduction = static_cast<Reduction>(op);
  const at::Tensor& self = *t;
  if (batched_at_level(self, level)) {
    auto reduced = reduce_at(self, level, reduction);
    if (!reduced.defined()) *under_grad = 1;
    return eqx::wrap(reduced);
  }
  if (reduction == Reduction::Sum) return eqx::wrap(self.mul(at::Scalar(size)));
  if (reduction == Reduction::Gather) {
    auto sizes = self.sizes().vec();
    sizes.insert(sizes.begin(), size);
    return eqx::wrap(self.unsqueeze(0).expand(sizes));
  }
  return eqx::wrap(self);
  EQX_CATCH(nullptr)
}

// Each example's index along the batch of the vmap at `level` (JAX's axis_index): an int64 scalar per example, made
// as a batched arange on the given device.
EQX_API TH eqx_vmap_axis_index(int64_t level, int64_t size, int32_t device_type, int32_t device_index) {
  EQX_TRY
  auto indices = at::arange(size, eqx::options((int32_t)at::kLong, device_type, device_index));
  return eqx::wrap(at::functorch::addBatchDim(indices, 0, level));
  EQX_CATCH(nullptr)
}
