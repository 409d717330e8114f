// Runtime: errors, live-handle count, enum mapping, seeds, threads, CUDA queries.
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <cstring>

#include "common.h"

namespace uts {

std::string& last_error() {
  thread_local std::string message;
  return message;
}

std::atomic<int64_t>& live_tensors() {
  static std::atomic<int64_t> count{0};
  return count;
}

uts_status fail(uts_status status, const char* message) {
  try {
    last_error() = message != nullptr ? message : "";
  } catch (...) {
    // Keep the status even when the message itself cannot be stored.
  }
  return status;
}

at::ScalarType to_scalar_type(int32_t code) {
  switch (code) {
    case UTS_FLOAT32: return at::kFloat;
    case UTS_FLOAT64: return at::kDouble;
    case UTS_FLOAT16: return at::kHalf;
    case UTS_BFLOAT16: return at::kBFloat16;
    case UTS_INT64: return at::kLong;
    case UTS_INT32: return at::kInt;
    case UTS_UINT8: return at::kByte;
    case UTS_BOOL: return at::kBool;
    case UTS_INT8: return at::kChar;
    case UTS_INT16: return at::kShort;
    default: throw invalid_argument("unknown scalar type code " + std::to_string(code));
  }
}

int32_t from_scalar_type(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return UTS_FLOAT32;
    case at::kDouble: return UTS_FLOAT64;
    case at::kHalf: return UTS_FLOAT16;
    case at::kBFloat16: return UTS_BFLOAT16;
    case at::kLong: return UTS_INT64;
    case at::kInt: return UTS_INT32;
    case at::kByte: return UTS_UINT8;
    case at::kBool: return UTS_BOOL;
    case at::kChar: return UTS_INT8;
    case at::kShort: return UTS_INT16;
    default: throw invalid_argument(std::string("scalar type not supported by the binding: ") + c10::toString(type));
  }
}

at::Device to_device(int32_t type, int32_t index) {
  switch (type) {
    case UTS_CPU: return at::Device(at::kCPU);
    case UTS_CUDA: return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
    default: throw invalid_argument("unknown device type code " + std::to_string(type));
  }
}

at::MemoryFormat to_memory_format(int32_t code) {
  switch (code) {
    case UTS_CONTIGUOUS: return at::MemoryFormat::Contiguous;
    case UTS_CHANNELS_LAST: return at::MemoryFormat::ChannelsLast;
    case UTS_PRESERVE: return at::MemoryFormat::Preserve;
    default: throw invalid_argument("unknown memory format code " + std::to_string(code));
  }
}

at::Scalar to_scalar(const uts_scalar& s) {
  switch (s.kind) {
    case UTS_SCALAR_DOUBLE: return at::Scalar(s.d);
    case UTS_SCALAR_INT: return at::Scalar(s.i);
    case UTS_SCALAR_BOOL: return at::Scalar(s.i != 0);
    default: throw invalid_argument("unknown scalar kind " + std::to_string(s.kind));
  }
}

uts_scalar from_scalar(const at::Scalar& s) {
  uts_scalar r{0.0, 0, UTS_SCALAR_DOUBLE};
  if (s.isBoolean()) {
    r.kind = UTS_SCALAR_BOOL;
    r.i = s.toBool() ? 1 : 0;
    r.d = static_cast<double>(r.i);
  } else if (s.isIntegral(false)) {
    r.kind = UTS_SCALAR_INT;
    r.i = s.toLong();
    r.d = static_cast<double>(r.i);
  } else {
    r.d = s.toDouble();
    r.i = static_cast<int64_t>(r.d);
  }
  return r;
}

int64_t to_reduction(int32_t code) {
  switch (code) {
    case UTS_REDUCTION_NONE: return at::Reduction::None;
    case UTS_REDUCTION_MEAN: return at::Reduction::Mean;
    case UTS_REDUCTION_SUM: return at::Reduction::Sum;
    default: throw invalid_argument("unknown reduction code " + std::to_string(code));
  }
}

}  // namespace uts

extern "C" {

int32_t uts_abi_version(void) { return UTS_ABI_VERSION; }

const char* uts_last_error(void) { return uts::last_error().c_str(); }

int64_t uts_live_tensors(void) { return uts::live_tensors().load(std::memory_order_relaxed); }

uts_status uts_torch_version(char* buffer, int32_t capacity) {
  UTS_TRY
  const std::string version = TORCH_VERSION;
  if (buffer == nullptr || capacity <= static_cast<int32_t>(version.size()))
    throw uts::invalid_argument("version buffer is too small");
  std::memcpy(buffer, version.c_str(), version.size() + 1);
  UTS_CATCH
}

uts_status uts_manual_seed(uint64_t seed) {
  UTS_TRY
  torch::manual_seed(seed);  // seeds the CPU generator and, where present, every CUDA device
  UTS_CATCH
}

uts_status uts_set_num_threads(int32_t n) {
  UTS_TRY
  if (n < 1) throw uts::invalid_argument("thread count must be at least 1");
  at::set_num_threads(n);
  UTS_CATCH
}

uts_status uts_get_num_threads(int32_t* n) {
  UTS_TRY
  uts::out_param(n, "n") = at::get_num_threads();
  UTS_CATCH
}

uts_status uts_cuda_is_available(uint8_t* available) {
  UTS_TRY
  uts::out_param(available, "available") = torch::cuda::is_available() ? 1 : 0;
  UTS_CATCH
}

uts_status uts_cuda_device_count(int32_t* count) {
  UTS_TRY
  uts::out_param(count, "count") = static_cast<int32_t>(torch::cuda::device_count());
  UTS_CATCH
}

uts_status uts_cuda_synchronize(int32_t device_index) {
  UTS_TRY
  if (!torch::cuda::is_available()) throw uts::invalid_argument("CUDA is not available in this libtorch");
  torch::cuda::synchronize(device_index);
  UTS_CATCH
}

uts_status uts_set_cudnn_benchmark(uint8_t enabled) {
  UTS_TRY
  at::globalContext().setBenchmarkCuDNN(enabled != 0);
  UTS_CATCH
}

uts_status uts_get_cudnn_benchmark(uint8_t* enabled) {
  UTS_TRY
  uts::out_param(enabled, "enabled") = at::globalContext().benchmarkCuDNN() ? 1 : 0;
  UTS_CATCH
}

}  // extern "C"
