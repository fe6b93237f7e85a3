// Optimiser updates over whole parameter lists: one native call per step, whatever the number of leaves.
//
// Each optimiser's rule is written once, as a template over the value type: instantiated with `float`/`double` it is
// the body of a fused loop that reads every input and writes every output in one pass over memory (CPU, contiguous
// f32/f64 leaves: the common case, and several times less memory traffic than one kernel per operation); instantiated
// with `at::Tensor` it runs as whole-tensor ops (every other dtype and device). The tensor path takes its per-step
// scalars (learning rate, bias corrections) as 0-dim tensors computed from the step count on the leaf's device, so a
// captured CUDA graph replays a correct update with no host read; the fused path reads them on the host, which on the
// CPU is a memory read.
#include "shim.h"

#include <cmath>
#include <map>

namespace {

using at::Tensor;

inline float sign_of(float x) { return (float)((x > 0) - (x < 0)); }
inline double sign_of(double x) { return (double)((x > 0) - (x < 0)); }
inline Tensor sign_of(const Tensor& x) { return at::sign(x); }
using std::sqrt;
using at::sqrt;

// 1 after the first step, 0 at it (t is the 1-based number of this step).
inline double after_first(double t) { return t > 1 ? 1.0 : 0.0; }
inline Tensor after_first(const Tensor& t) { return (t > 1).to(t.scalar_type()); }

// The rules are inlined into the fused loops, which vectorise only then (GCC would otherwise call Adam's rule once per
// element).
#define EQX_RULE inline __attribute__((always_inline))

enum Kind : int32_t { kSgd = 0, kAdam = 1, kRmsProp = 2, kAdagrad = 3, kLion = 4 };

// The scalars of one step, as host doubles (fused path) or 0-dim tensors on the leaf's device (tensor path).
template <class S>
struct StepScalars {
  S lr;     // the learning rate of this step
  S a;      // SGD: the gradient's weight in the momentum (1 at the first step, 1 - dampening after);
            // Adam: lr / (1 - beta1^t); Adagrad: lr / (1 + (t - 1) lr_decay)
  S b;      // Adam: sqrt(1 - beta2^t)
};

// The element type a rule's constants take: the leaf's own for the fused loops (float stays float), double for the
// tensor path (a Scalar, which LibTorch converts to the tensor's type as torch.optim does).
template <class V> struct Elem { using type = double; };
template <> struct Elem<float> { using type = float; };

// The rules. `g` is the gradient, `p` the parameter (read only when weight decay needs it), `s` the slots, updated in
// place; the result is the update that ApplyUpdates adds to the parameter. Hyperparameters `h` in each rule's order,
// as doubles: constants such as 1 - beta2 are worked out in double and only then rounded to the element type, as
// torch.optim does (1 - 0.999f in float is 1.3e-5 away from 0.001, enough to move Adam's trajectory by 1e-4).
template <class V, class S>
EQX_RULE V sgd(V g, const V& p, V* s, const StepScalars<S>& k, const double* h) {
  using E = typename Elem<V>::type;
  const double momentum = h[0], weight_decay = h[2];
  const bool nesterov = h[3] != 0;
  if (weight_decay != 0) g = g + p * E(weight_decay);
  if (momentum != 0) {
    s[0] = s[0] * E(momentum) + g * k.a;  // torch.optim.SGD: the buffer starts as the first gradient
    g = nesterov ? g + s[0] * E(momentum) : s[0];
  }
  return g * (-k.lr);
}

template <class V, class S>
EQX_RULE V adam(V g, const V& p, V* s, const StepScalars<S>& k, const double* h) {
  using E = typename Elem<V>::type;
  const double beta1 = h[0], beta2 = h[1], eps = h[2], weight_decay = h[3];
  const bool decoupled = h[4] != 0;  // AdamW
  if (weight_decay != 0 && !decoupled) g = g + p * E(weight_decay);
  s[0] = s[0] * E(beta1) + g * E(1 - beta1);
  s[1] = s[1] * E(beta2) + g * g * E(1 - beta2);
  V update = s[0] / (sqrt(s[1]) / k.b + E(eps)) * (-k.a);
  if (weight_decay != 0 && decoupled) update = update - p * (k.lr * E(weight_decay));
  return update;
}

template <class V, class S>
EQX_RULE V rmsprop(V g, const V& p, V* s, const StepScalars<S>& k, const double* h) {
  using E = typename Elem<V>::type;
  const double alpha = h[0], eps = h[1], weight_decay = h[2], momentum = h[3];
  const bool centered = h[4] != 0;
  if (weight_decay != 0) g = g + p * E(weight_decay);
  s[0] = s[0] * E(alpha) + g * g * E(1 - alpha);
  V avg = s[0];
  int next = 1;
  if (centered) {
    s[1] = s[1] * E(alpha) + g * E(1 - alpha);
    avg = avg - s[1] * s[1];
    next = 2;
  }
  V step = g / (sqrt(avg) + E(eps));
  if (momentum > 0) {
    s[next] = s[next] * E(momentum) + step;
    step = s[next];
  }
  return step * (-k.lr);
}

template <class V, class S>
EQX_RULE V adagrad(V g, const V& p, V* s, const StepScalars<S>& k, const double* h) {
  using E = typename Elem<V>::type;
  const double weight_decay = h[1], eps = h[2];
  if (weight_decay != 0) g = g + p * E(weight_decay);
  s[0] = s[0] + g * g;
  return g / (sqrt(s[0]) + E(eps)) * (-k.a);
}

template <class V, class S>
EQX_RULE V lion(V g, const V& p, V* s, const StepScalars<S>& k, const double* h) {
  using E = typename Elem<V>::type;
  const double beta1 = h[0], beta2 = h[1], weight_decay = h[2];
  V direction = sign_of(s[0] * E(beta1) + g * E(1 - beta1));
  s[0] = s[0] * E(beta2) + g * E(1 - beta2);
  if (weight_decay != 0) direction = direction + p * E(weight_decay);
  return direction * (-k.lr);
}

template <int K, class V, class S>
EQX_RULE V rule(V g, const V& p, V* s, const StepScalars<S>& k, const double* h) {
  if constexpr (K == kSgd) return sgd<V, S>(g, p, s, k, h);
  else if constexpr (K == kAdam) return adam<V, S>(g, p, s, k, h);
  else if constexpr (K == kRmsProp) return rmsprop<V, S>(g, p, s, k, h);
  else if constexpr (K == kAdagrad) return adagrad<V, S>(g, p, s, k, h);
  else return lion<V, S>(g, p, s, k, h);
}

Tensor apply_rule(int32_t kind, const Tensor& g, const Tensor& p, Tensor* s, const StepScalars<Tensor>& k, const double* h) {
  switch (kind) {
    case kSgd: return rule<kSgd>(g, p, s, k, h);
    case kAdam: return rule<kAdam>(g, p, s, k, h);
    case kRmsProp: return rule<kRmsProp>(g, p, s, k, h);
    case kAdagrad: return rule<kAdagrad>(g, p, s, k, h);
    case kLion: return rule<kLion>(g, p, s, k, h);
  }
  throw std::runtime_error("unknown optimiser kind " + std::to_string(kind));
}

// Whether a rule reads the parameter: only for weight decay.
bool reads_param(int32_t kind, const double* h) {
  switch (kind) {
    case kSgd: return h[2] != 0;
    case kAdam: return h[3] != 0;
    case kRmsProp: return h[2] != 0;
    case kAdagrad: return h[1] != 0;
    case kLion: return h[2] != 0;
  }
  return false;
}

// The step's scalars from t (the 1-based number of this step) and the learning rate, in type S.
template <class S, class Pow>
StepScalars<S> step_scalars(int32_t kind, const double* h, const S& t, const S& lr, Pow pow) {
  StepScalars<S> k{lr, lr, lr};
  switch (kind) {
    case kSgd: k.a = 1 - after_first(t) * h[1]; break;  // 1 at the first step, 1 - dampening after
    case kAdam: k.a = lr / (1 - pow(h[0], t)); k.b = sqrt(1 - pow(h[1], t)); break;
    case kAdagrad: k.a = lr / ((t - 1) * h[0] + 1); break;
    default: break;
  }
  return k;
}

// The fused path: every element of one leaf in one pass. The rule, the number of slots and the element type are
// template parameters and the constants are rounded to the element type before the loop, so the loop has no branch on
// the optimiser and no double arithmetic, and the compiler vectorises it. Every access is at index i (a slot updated
// in place is read, then written, at the same i), so iterations are independent: `ivdep` says so, since the compiler
// cannot prove that the slot, update and gradient buffers do not overlap.
constexpr int kMaxHyper = 8;

template <int K, int NS, class T>
void fused_range(int64_t begin, int64_t end, const T* g, const T* p, const T* const* in, T* const* out, T* up,
                 const StepScalars<T> k, const double* h) {
  const T* i0 = NS > 0 ? in[0] : nullptr; const T* i1 = NS > 1 ? in[1] : nullptr;
  const T* i2 = NS > 2 ? in[2] : nullptr; const T* i3 = NS > 3 ? in[3] : nullptr;
  T* o0 = NS > 0 ? out[0] : nullptr; T* o1 = NS > 1 ? out[1] : nullptr;
  T* o2 = NS > 2 ? out[2] : nullptr; T* o3 = NS > 3 ? out[3] : nullptr;
  // A local copy: the compiler then knows no store in the loop changes them, and hoists the constants.
  double hh[kMaxHyper];
  for (int j = 0; j < kMaxHyper; j++) hh[j] = h[j];
#pragma GCC ivdep
  for (int64_t i = begin; i < end; i++) {
    // Room for every slot a rule may touch (RMSProp's branches index past NS in forms that never take them).
    T s[4] = {};
    if constexpr (NS > 0) s[0] = i0[i];
    if constexpr (NS > 1) s[1] = i1[i];
    if constexpr (NS > 2) s[2] = i2[i];
    if constexpr (NS > 3) s[3] = i3[i];
    up[i] = rule<K, T, T>(g[i], p ? p[i] : T(0), s, k, hh);
    if constexpr (NS > 0) o0[i] = s[0];
    if constexpr (NS > 1) o1[i] = s[1];
    if constexpr (NS > 2) o2[i] = s[2];
    if constexpr (NS > 3) o3[i] = s[3];
  }
}

// The slot counts each rule can have (SGD: 0 or 1 with momentum; RMSProp: the square average, plus the average when
// centered, plus the momentum buffer), so only those loops are instantiated.
constexpr bool slot_count_fits(int kind, int ns) {
  switch (kind) {
    case kSgd: return ns <= 1;
    case kAdam: return ns == 2;
    case kRmsProp: return ns >= 1 && ns <= 3;
    default: return ns == 1;  // Adagrad, Lion
  }
}

template <int K, int NS, class T>
void fused_if_fits(int64_t begin, int64_t end, const T* g, const T* p, const T* const* in, T* const* out, T* up,
                   const StepScalars<T>& k, const double* h) {
  if constexpr (slot_count_fits(K, NS)) fused_range<K, NS, T>(begin, end, g, p, in, out, up, k, h);
  else throw std::runtime_error("optimiser kind " + std::to_string(K) + " has no form with " + std::to_string(NS) + " slots");
}

template <int K, class T>
void fused_kind(int ns, int64_t begin, int64_t end, const T* g, const T* p, const T* const* in, T* const* out, T* up,
                const StepScalars<T>& k, const double* h) {
  switch (ns) {
    case 0: return fused_if_fits<K, 0, T>(begin, end, g, p, in, out, up, k, h);
    case 1: return fused_if_fits<K, 1, T>(begin, end, g, p, in, out, up, k, h);
    case 2: return fused_if_fits<K, 2, T>(begin, end, g, p, in, out, up, k, h);
    default: return fused_if_fits<K, 3, T>(begin, end, g, p, in, out, up, k, h);
  }
}

template <class T>
void fused_leaf(int32_t kind, const double* h, const StepScalars<double>& k64, const Tensor& g, const Tensor* p,
                const std::vector<Tensor>& slots_in, const std::vector<Tensor>& slots_out, const Tensor& update) {
  const int64_t n = g.numel();
  const T* gp = g.data_ptr<T>();
  const T* pp = p ? p->data_ptr<T>() : nullptr;
  const int ns = (int)slots_in.size();
  const T* in[4] = {};
  T* out[4] = {};
  for (int j = 0; j < ns; j++) { in[j] = slots_in[j].data_ptr<T>(); out[j] = slots_out[j].data_ptr<T>(); }
  T* up = update.data_ptr<T>();
  const StepScalars<T> k{(T)k64.lr, (T)k64.a, (T)k64.b};
  at::parallel_for(0, n, 16384, [&](int64_t begin, int64_t end) {
    switch (kind) {
      case kSgd: return fused_kind<kSgd, T>(ns, begin, end, gp, pp, in, out, up, k, h);
      case kAdam: return fused_kind<kAdam, T>(ns, begin, end, gp, pp, in, out, up, k, h);
      case kRmsProp: return fused_kind<kRmsProp, T>(ns, begin, end, gp, pp, in, out, up, k, h);
      case kAdagrad: return fused_kind<kAdagrad, T>(ns, begin, end, gp, pp, in, out, up, k, h);
      case kLion: return fused_kind<kLion, T>(ns, begin, end, gp, pp, in, out, up, k, h);
    }
  });
}

bool fusable(const Tensor& g, const Tensor* p, const std::vector<Tensor>& slots) {
  auto dtype = g.scalar_type();
  if (!g.device().is_cpu() || (dtype != at::kFloat && dtype != at::kDouble) || !g.is_contiguous()) return false;
  auto same = [&](const Tensor& t) {
    return t.device().is_cpu() && t.scalar_type() == dtype && t.is_contiguous() && t.numel() == g.numel();
  };
  if (p && !same(*p)) return false;
  for (auto& s : slots)
    if (!same(s)) return false;
  return true;
}

double host_value(const Tensor& t) { return t.to(at::kCPU).item<double>(); }

}  // namespace

// One step of optimiser `kind` over `n` leaves, with kMaxHyper hyperparameters at `hyper` (the rule's, then zeros). Leaf i has gradient grads[i] (null: the leaf is skipped, its update is
// null and its slots are unchanged), parameter params[i] (read for weight decay; params may be null when no rule
// reads it) and `slot_count` slots, slot j of leaf i at slots[j * n + i]. `count` is the 0-dim int64 number of steps
// taken; `lr` a 0-dim tensor learning rate, or null for `lr_value`. overwrite[i] != 0 writes leaf i's new slots into
// its slot tensors (their owner donated them); otherwise new tensors are returned in slots_out (null where in place).
// updates_out[i] receives the update. The count goes up by one: in place when overwrite_count != 0, else into
// *count_out. `fused` = 0 forces the tensor path (tests check both give the same numbers).
EQX_API int32_t eqx_optim_step(int32_t kind, const double* hyper, int32_t n, const TH* grads, const TH* params,
                               int32_t slot_count, const TH* slots, TH count, TH lr, double lr_value,
                               const uint8_t* overwrite, int32_t overwrite_count, int32_t fused, TH* updates_out,
                               TH* slots_out, TH* count_out) {
  EQX_TRY
  at::NoGradGuard no_grad;
  if (slot_count > 4) throw std::runtime_error("at most 4 slots per leaf");
  for (int32_t i = 0; i < n; i++) updates_out[i] = nullptr;
  for (int32_t i = 0; i < n * slot_count; i++) slots_out[i] = nullptr;
  *count_out = nullptr;
  const bool need_param = reads_param(kind, hyper);
  // The host scalars, read once (only when some leaf takes the fused path, so a CUDA step never reads the host).
  bool host_ready = false;
  StepScalars<double> host{};
  auto host_scalars = [&]() -> const StepScalars<double>& {
    if (!host_ready) {
      double t = host_value(*count) + 1;
      double rate = lr ? host_value(*lr) : lr_value;
      host = step_scalars<double>(kind, hyper, t, rate, [](double b, double e) { return std::pow(b, e); });
      host_ready = true;
    }
    return host;
  };
  // The tensor scalars, once per device.
  std::map<std::pair<int, int>, StepScalars<Tensor>> device_scalars;
  auto tensor_scalars = [&](const at::Device& device) -> const StepScalars<Tensor>& {
    auto key = std::make_pair((int)device.type(), (int)device.index());
    auto found = device_scalars.find(key);
    if (found != device_scalars.end()) return found->second;
    auto f64 = at::TensorOptions().dtype(at::kDouble).device(device);
    Tensor t = count->to(f64) + 1;
    Tensor rate = lr ? lr->to(f64) : at::scalar_tensor(lr_value, f64);
    auto k = step_scalars<Tensor>(kind, hyper, t, rate, [](double b, const Tensor& e) { return at::pow(b, e); });
    return device_scalars.emplace(key, k).first->second;
  };

  for (int32_t i = 0; i < n; i++) {
    if (!grads[i]) continue;
    const Tensor& g = *grads[i];
    const Tensor* p = params && params[i] ? params[i] : nullptr;
    if (need_param && !p) throw std::runtime_error("leaf " + std::to_string(i) + " has no parameter for weight decay");
    std::vector<Tensor> in;
    for (int32_t j = 0; j < slot_count; j++) {
      const TH slot = slots[j * n + i];
      if (!slot) throw std::runtime_error("leaf " + std::to_string(i) + " has a gradient but no optimiser state");
      in.push_back(*slot);
    }
    const bool in_place = overwrite[i] != 0;
    if (fused && fusable(g, need_param ? p : nullptr, in)) {
      std::vector<Tensor> out;
      for (auto& s : in) out.push_back(in_place ? s : at::empty_like(s));
      Tensor update = at::empty_like(g);
      if (g.scalar_type() == at::kFloat)
        fused_leaf<float>(kind, hyper, host_scalars(), g, need_param ? p : nullptr, in, out, update);
      else
        fused_leaf<double>(kind, hyper, host_scalars(), g, need_param ? p : nullptr, in, out, update);
      updates_out[i] = eqx::wrap(update);
      if (!in_place)
        for (int32_t j = 0; j < slot_count; j++) slots_out[j * n + i] = eqx::wrap(out[j]);
    } else {
      const auto& k = tensor_scalars(g.device());
      // Scalars in the leaf's dtype, so an f32 (or bf16) leaf is not promoted to f64 by a 0-dim f64 operand.
      StepScalars<Tensor> kd{k.lr.to(g.scalar_type()), k.a.to(g.scalar_type()), k.b.to(g.scalar_type())};
      Tensor s[4];
      for (int32_t j = 0; j < slot_count; j++) s[j] = in[j];
      Tensor update = apply_rule(kind, g, p ? *p : Tensor(), s, kd, hyper);
      updates_out[i] = eqx::wrap(update);
      for (int32_t j = 0; j < slot_count; j++) {
        if (in_place) in[j].copy_(s[j]);
        else slots_out[j * n + i] = eqx::wrap(s[j]);
      }
    }
  }
  // Last, since the scalars above read the count of the steps before this one.
  if (overwrite_count) count->add_(1);
  else *count_out = eqx::wrap(*count + 1);
  return 0;
  EQX_CATCH(-1)
}

// Scales gradients so that their global L2 norm is at most max_norm, as torch.nn.utils.clip_grad_norm_ does:
// every gradient times min(1, max_norm / (norm + 1e-6)), the factor computed on the device (no host read). Null
// entries stay null.
EQX_API int32_t eqx_clip_by_global_norm(int32_t n, const TH* grads, double max_norm, TH* out, TH* norm_out) {
  EQX_TRY
  at::NoGradGuard no_grad;
  std::vector<Tensor> norms;
  at::Device device = at::kCPU;
  bool first = true;
  for (int32_t i = 0; i < n; i++) {
    out[i] = nullptr;
    if (!grads[i]) continue;
    if (first) { device = grads[i]->device(); first = false; }
    norms.push_back(at::linalg_vector_norm(*grads[i], 2, c10::nullopt, false, at::kDouble).to(device));
  }
  Tensor total = norms.empty() ? at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(device))
                               : at::linalg_vector_norm(at::stack(norms), 2);
  Tensor factor = at::clamp_max(max_norm / (total + 1e-6), 1.0);
  for (int32_t i = 0; i < n; i++) {
    if (!grads[i]) continue;
    out[i] = eqx::wrap(*grads[i] * factor.to(grads[i]->device(), grads[i]->scalar_type()));
  }
  *norm_out = eqx::wrap(total);
  return 0;
  EQX_CATCH(-1)
}
