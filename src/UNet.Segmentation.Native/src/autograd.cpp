// Autograd: gradients, backward, grad mode and inference mode.
#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/autograd.h>

#include "common.h"

using uts::get;
using uts::out_param;

struct uts_guard_t {
  c10::InferenceMode mode;
};

extern "C" {

uts_status uts_set_requires_grad(uts_tensor t, uint8_t requires_grad) {
  UTS_TRY
  const_cast<at::Tensor&>(get(t)).requires_grad_(requires_grad != 0);
  UTS_CATCH
}

uts_status uts_backward(uts_tensor t, uts_tensor gradient, uint8_t retain_graph) {
  UTS_TRY
  const auto& v = get(t);
  if (!v.requires_grad())
    throw uts::invalid_argument("backward on a tensor that does not require grad (no graph was recorded)");
  v.backward(uts::optional_tensor(gradient), retain_graph != 0 ? c10::optional<bool>(true) : c10::nullopt);
  UTS_CATCH
}

uts_status uts_grad(uts_tensor t, uts_tensor* out) {
  UTS_TRY
  auto& slot = out_param(out, "out");
  slot = nullptr;
  const auto& g = get(t).grad();
  if (g.defined()) slot = uts::wrap(g);
  UTS_CATCH
}

uts_status uts_set_grad(uts_tensor t, uts_tensor grad) {
  UTS_TRY
  auto& v = const_cast<at::Tensor&>(get(t));
  if (grad == nullptr) v.mutable_grad().reset();
  else v.mutable_grad() = grad->value;
  UTS_CATCH
}

uts_status uts_zero_grads(const uts_tensor* tensors, int32_t count, uint8_t set_to_none) {
  UTS_TRY
  for (auto& t : uts::tensor_list(tensors, count)) {
    auto& g = t.mutable_grad();
    if (!g.defined()) continue;
    if (set_to_none) {
      g.reset();
    } else {
      if (g.grad_fn()) g = g.detach();
      else g.requires_grad_(false);
      g.zero_();
    }
  }
  UTS_CATCH
}

uts_status uts_grad_enabled(uint8_t* enabled) {
  UTS_TRY
  out_param(enabled, "enabled") = at::GradMode::is_enabled() ? 1 : 0;
  UTS_CATCH
}

uts_status uts_set_grad_enabled(uint8_t enabled) {
  UTS_TRY
  at::GradMode::set_enabled(enabled != 0);
  UTS_CATCH
}

uts_status uts_inference_mode_enter(uts_guard* guard) {
  UTS_TRY
  auto& slot = out_param(guard, "guard");
  slot = nullptr;
  slot = new uts_guard_t();
  UTS_CATCH
}

uts_status uts_inference_mode_exit(uts_guard guard) {
  UTS_TRY
  delete guard;
  UTS_CATCH
}

uts_status uts_is_inference_mode(uint8_t* enabled) {
  UTS_TRY
  out_param(enabled, "enabled") = c10::InferenceMode::is_enabled() ? 1 : 0;
  UTS_CATCH
}

}  // extern "C"
