// Forward-mode AD: dual levels and dual tensors (torch.autograd.forward_ad in Python).
//
// A dual tensor carries a tangent for one level; every op LibTorch has a forward formula for propagates it. Levels
// are per process in LibTorch 1.13 and cannot nest there ("Nested forward mode AD is not supported"); the C# side
// refuses nesting before it gets here.
#include "shim.h"

#include <ATen/ops/_make_dual.h>
#include <ATen/ops/_unpack_dual.h>

EQX_API int64_t eqx_enter_dual_level() {
  EQX_TRY return (int64_t)torch::autograd::forward_ad::enter_dual_level();
  EQX_CATCH(-1)
}

EQX_API int32_t eqx_exit_dual_level(int64_t level) {
  EQX_TRY
  torch::autograd::forward_ad::exit_dual_level((uint64_t)level);
  return 0;
  EQX_CATCH(-1)
}

// A view of `primal` whose tangent at `level` is `tangent` (same shape, dtype and device; checked by LibTorch).
EQX_TENSOR_OP(eqx_make_dual(TH primal, TH tangent, int64_t level), at::_make_dual(*primal, *tangent, level))

// The primal (a view without tangent) and the tangent at `level` (null when the tensor has none there).
EQX_API int32_t eqx_unpack_dual(TH dual, int64_t level, TH* primal, TH* tangent) {
  EQX_TRY
  auto parts = at::_unpack_dual(*dual, level);
  *primal = eqx::wrap(std::get<0>(parts));
  *tangent = eqx::wrap(std::get<1>(parts));
  return 0;
  EQX_CATCH(-1)
}
