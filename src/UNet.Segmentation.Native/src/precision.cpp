// Mixed precision (autocast) and generator state, with the API differences between libtorch
// 1.x (per-device setter names) and 2.4+ (device-type arguments) kept here.
#include <ATen/autocast_mode.h>
#include <ATen/core/Generator.h>
#include <torch/version.h>

#include <mutex>

#include "common.h"

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define UTS_AUTOCAST_BY_DEVICE_TYPE 1
#endif

struct uts_autocast_guard_t {
  at::DeviceType device;
  bool previous_enabled;
  at::ScalarType previous_dtype;
};

namespace {

at::DeviceType autocast_device(int32_t device_type) {
  switch (device_type) {
    case UTS_CPU: return at::kCPU;
    case UTS_CUDA: return at::kCUDA;
    default: throw uts::invalid_argument("unknown device type code " + std::to_string(device_type));
  }
}

bool is_enabled(at::DeviceType d) {
#ifdef UTS_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::is_autocast_enabled(d);
#else
  return d == at::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}

at::ScalarType get_dtype(at::DeviceType d) {
#ifdef UTS_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::get_autocast_dtype(d);
#else
  return d == at::kCPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
#endif
}

void set_state(at::DeviceType d, bool enabled, at::ScalarType dtype) {
#ifdef UTS_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_enabled(d, enabled);
  at::autocast::set_autocast_dtype(d, dtype);
#else
  if (d == at::kCPU) {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  } else {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  }
#endif
}

at::Generator generator(int32_t device_type, int32_t device_index) {
  return at::globalContext().defaultGenerator(uts::to_device(device_type, device_index));
}

}  // namespace

extern "C" {

uts_status uts_autocast_enter(int32_t device_type, int32_t dtype, uts_autocast_guard* guard) {
  UTS_TRY
  auto& slot = uts::out_param(guard, "guard");
  slot = nullptr;
  const auto device = autocast_device(device_type);
  const auto type = uts::to_scalar_type(dtype);
  if (device == at::kCPU && type != at::kBFloat16)
    throw uts::invalid_argument("CPU autocast supports bfloat16 only");
  if (type != at::kBFloat16 && type != at::kHalf)
    throw uts::invalid_argument("autocast needs float16 or bfloat16");
  auto* g = new uts_autocast_guard_t{device, is_enabled(device), get_dtype(device)};
  set_state(device, true, type);
  at::autocast::increment_nesting();
  slot = g;
  UTS_CATCH
}

uts_status uts_autocast_exit(uts_autocast_guard guard) {
  UTS_TRY
  if (guard == nullptr) throw uts::invalid_argument("guard is null");
  // As torch.autocast's __exit__: drop the cast cache when the outermost region ends.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_state(guard->device, guard->previous_enabled, guard->previous_dtype);
  delete guard;
  UTS_CATCH
}

uts_status uts_autocast_is_enabled(int32_t device_type, uint8_t* enabled) {
  UTS_TRY
  uts::out_param(enabled, "enabled") = is_enabled(autocast_device(device_type)) ? 1 : 0;
  UTS_CATCH
}

uts_status uts_rng_get_state(int32_t device_type, int32_t device_index, uts_tensor* out) {
  UTS_TRY
  auto& slot = uts::out_param(out, "out");
  slot = nullptr;
  auto gen = generator(device_type, device_index);
  std::lock_guard<std::mutex> lock(gen.mutex());
  slot = uts::wrap(gen.get_state());
  UTS_CATCH
}

uts_status uts_rng_set_state(int32_t device_type, int32_t device_index, uts_tensor state) {
  UTS_TRY
  const auto& s = uts::get(state, "state");
  if (s.scalar_type() != at::kByte || s.dim() != 1)
    throw uts::invalid_argument("a generator state is a 1-D uint8 tensor");
  auto gen = generator(device_type, device_index);
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(s.contiguous());
  UTS_CATCH
}

}  // extern "C"
