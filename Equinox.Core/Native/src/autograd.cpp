// Autograd: requires-grad flags, detaching, gradients through torch::autograd::grad, and grad mode.
#include "callback.h"
#include "shim.h"

// A new handle to the same data that is a leaf with the requested flag (the original is left as it was).
EQX_TENSOR_OP(eqx_with_requires_grad(TH a, int32_t requires_grad), a->detach().requires_grad_(requires_grad != 0))
EQX_TENSOR_OP(eqx_detach(TH a), a->detach())

// Gradients of `outputs` (seeded by `grad_outputs`, null entries meaning ones for scalars) with respect to `inputs`.
// Inputs the outputs do not depend on get a null handle, like allow_unused=True.
EQX_API int32_t eqx_grad(const TH* outputs, const TH* grad_outputs, int32_t noutputs, const TH* inputs, int32_t ninputs,
                         int32_t retain_graph, int32_t create_graph, TH* out) {
  EQX_TRY
  auto grads = torch::autograd::grad(eqx::tensors(outputs, noutputs), eqx::tensors(inputs, ninputs),
                                     eqx::tensors(grad_outputs, noutputs), retain_graph != 0, create_graph != 0,
                                     /*allow_unused=*/true);
  for (int32_t i = 0; i < ninputs; i++) out[i] = eqx::wrap(grads[i]);
  return 0;
  } catch (const eqx::ManagedFailure& e) {
    // A C# backward rule threw: C# rethrows its exception, found by this id.
    eqx::set_last_error(e.what());
    eqx::set_failure_id(e.id);
    return -1;
  EQX_CATCH(-1)
}

EQX_API int32_t eqx_grad_enabled() { return at::GradMode::is_enabled() ? 1 : 0; }
EQX_API void eqx_set_grad_enabled(int32_t enabled) { at::GradMode::set_enabled(enabled != 0); }

EQX_API int32_t eqx_num_threads() { return at::get_num_threads(); }
EQX_API void eqx_set_num_threads(int32_t n) {
  EQX_TRY at::set_num_threads(n);
  EQX_CATCH()
}
