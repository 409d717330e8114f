// Optimizer steps over every parameter in one native call, matching torch.optim's
// single-tensor Adam, AdamW and SGD arithmetic.
#include <ATen/core/grad_mode.h>

#include <cmath>

#include "common.h"

namespace {

void check_lists(const void* a, const void* b, int32_t count) {
  if (count < 0) throw uts::invalid_argument("parameter count is negative");
  if (count > 0 && (a == nullptr || b == nullptr)) throw uts::invalid_argument("optimizer state list is null");
}

}  // namespace

extern "C" {

uts_status uts_adam_step(const uts_tensor* params, const uts_tensor* exp_avg, const uts_tensor* exp_avg_sq,
                         int64_t* steps, int32_t count, double lr, double beta1, double beta2, double eps,
                         double weight_decay, uint8_t decoupled_weight_decay) {
  UTS_TRY
  check_lists(params, exp_avg, count);
  check_lists(exp_avg_sq, steps, count);
  at::NoGradGuard no_grad;
  for (int32_t i = 0; i < count; ++i) {
    auto& param = const_cast<at::Tensor&>(uts::get(params[i], "parameter"));
    const auto& grad_ref = param.grad();
    if (!grad_ref.defined()) continue;
    auto& m = const_cast<at::Tensor&>(uts::get(exp_avg[i], "exp_avg"));
    auto& v = const_cast<at::Tensor&>(uts::get(exp_avg_sq[i], "exp_avg_sq"));
    at::Tensor grad = grad_ref;
    const int64_t step = ++steps[i];
    if (weight_decay != 0.0) {
      if (decoupled_weight_decay) param.mul_(1.0 - lr * weight_decay);
      else grad = grad.add(param, weight_decay);
    }
    m.mul_(beta1).add_(grad, 1.0 - beta1);
    v.mul_(beta2).addcmul_(grad, grad, 1.0 - beta2);
    const double bias_correction1 = 1.0 - std::pow(beta1, static_cast<double>(step));
    const double bias_correction2 = 1.0 - std::pow(beta2, static_cast<double>(step));
    const double step_size = lr / bias_correction1;
    auto denom = (v.sqrt() / std::sqrt(bias_correction2)).add_(eps);
    param.addcdiv_(m, denom, -step_size);
  }
  UTS_CATCH
}

uts_status uts_sgd_step(const uts_tensor* params, const uts_tensor* momentum_buffers, uint8_t* momentum_initialized,
                        int64_t* steps, int32_t count, double lr, double momentum, double dampening, double weight_decay,
                        uint8_t nesterov) {
  UTS_TRY
  check_lists(params, steps, count);
  if (momentum != 0.0) check_lists(momentum_buffers, momentum_initialized, count);
  at::NoGradGuard no_grad;
  for (int32_t i = 0; i < count; ++i) {
    auto& param = const_cast<at::Tensor&>(uts::get(params[i], "parameter"));
    const auto& grad_ref = param.grad();
    if (!grad_ref.defined()) continue;
    ++steps[i];
    at::Tensor d_p = grad_ref;
    if (weight_decay != 0.0) d_p = d_p.add(param, weight_decay);
    if (momentum != 0.0) {
      auto& buf = const_cast<at::Tensor&>(uts::get(momentum_buffers[i], "momentum buffer"));
      if (!momentum_initialized[i]) {
        buf.copy_(d_p);
        momentum_initialized[i] = 1;
      } else {
        buf.mul_(momentum).add_(d_p, 1.0 - dampening);
      }
      d_p = nesterov ? d_p.add(buf, momentum) : buf;
    }
    param.add_(d_p, -lr);
  }
  UTS_CATCH
}

}  // extern "C"
