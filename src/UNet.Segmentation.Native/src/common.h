// Internal helpers shared by the shim's translation units: error capture, enum mapping and
// handle bookkeeping. Nothing here is part of the ABI.
#pragma once

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <atomic>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "unet_segmentation_native.h"

struct uts_tensor_t {
  at::Tensor value;
};

namespace uts {

// The message of this thread's last failed call.
std::string& last_error();
std::atomic<int64_t>& live_tensors();

// Thrown by the shim itself for arguments it rejects before libtorch sees them.
struct invalid_argument : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A collective or a rendezvous failed (peer gone, timeout): UTS_DISTRIBUTED_ERROR.
struct distributed_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Something this build of the shim does not have (the NCCL backend on a CPU build): UTS_UNSUPPORTED.
struct unsupported : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline uts_tensor wrap(at::Tensor value) {
  auto* handle = new uts_tensor_t{std::move(value)};
  live_tensors().fetch_add(1, std::memory_order_relaxed);
  return handle;
}

inline const at::Tensor& get(uts_tensor t, const char* name = "tensor") {
  if (t == nullptr) throw invalid_argument(std::string(name) + " is a null handle");
  return t->value;
}

inline at::Tensor optional_tensor(uts_tensor t) { return t == nullptr ? at::Tensor() : t->value; }

template <typename T>
inline T& out_param(T* p, const char* name) {
  if (p == nullptr) throw invalid_argument(std::string(name) + " is a null pointer");
  return *p;
}

at::ScalarType to_scalar_type(int32_t code);
int32_t from_scalar_type(at::ScalarType type);
at::Device to_device(int32_t type, int32_t index);
at::MemoryFormat to_memory_format(int32_t code);
at::Scalar to_scalar(const uts_scalar& s);
uts_scalar from_scalar(const at::Scalar& s);
int64_t to_reduction(int32_t code);

inline at::IntArrayRef dims(const int64_t* data, int32_t n) {
  if (n < 0) throw invalid_argument("dimension count is negative");
  if (n > 0 && data == nullptr) throw invalid_argument("dimension array is null");
  return at::IntArrayRef(data, static_cast<size_t>(n));
}

inline at::IntArrayRef pair(const int64_t* data, const char* name) {
  if (data == nullptr) throw invalid_argument(std::string(name) + " is null");
  return at::IntArrayRef(data, 2);
}

inline at::TensorOptions options(int32_t dtype, int32_t device_type, int32_t device_index) {
  return at::TensorOptions().dtype(to_scalar_type(dtype)).device(to_device(device_type, device_index));
}

inline std::vector<at::Tensor> tensor_list(const uts_tensor* tensors, int32_t count) {
  if (count < 0 || (count > 0 && tensors == nullptr)) throw invalid_argument("tensor list is null");
  std::vector<at::Tensor> list;
  list.reserve(static_cast<size_t>(count));
  for (int32_t i = 0; i < count; ++i) list.push_back(get(tensors[i], "tensor list element"));
  return list;
}

uts_status fail(uts_status status, const char* message);

// libtorch 1.x reports a failed host allocation as a plain c10::Error from its CPU allocator;
// recognise it so callers see out-of-memory whatever the version.
inline bool is_allocation_failure(const char* message) {
  return message != nullptr && (std::strstr(message, "DefaultCPUAllocator: can't allocate memory") != nullptr ||
                                std::strstr(message, "DefaultCPUAllocator: not enough memory") != nullptr);
}

}  // namespace uts

// Every exported function body runs inside UTS_TRY { ... } UTS_CATCH: libtorch's errors (all
// of them, out-of-memory apart) become a status and a per-thread message, never an exception
// that crosses the C boundary.
#define UTS_TRY try {
#define UTS_CATCH                                                         \
  return UTS_OK;                                                          \
  }                                                                       \
  catch (const c10::OutOfMemoryError& e) {                                \
    return uts::fail(UTS_OUT_OF_MEMORY, e.what_without_backtrace());      \
  }                                                                       \
  catch (const uts::invalid_argument& e) {                                \
    return uts::fail(UTS_INVALID_ARGUMENT, e.what());                     \
  }                                                                       \
  catch (const uts::distributed_error& e) {                               \
    return uts::fail(UTS_DISTRIBUTED_ERROR, e.what());                    \
  }                                                                       \
  catch (const uts::unsupported& e) {                                     \
    return uts::fail(UTS_UNSUPPORTED, e.what());                          \
  }                                                                       \
  catch (const c10::Error& e) {                                           \
    const char* what = e.what_without_backtrace();                        \
    return uts::fail(uts::is_allocation_failure(what) ? UTS_OUT_OF_MEMORY : UTS_ERROR, what); \
  }                                                                       \
  catch (const std::bad_alloc& e) {                                       \
    return uts::fail(UTS_OUT_OF_MEMORY, "out of memory (std::bad_alloc)"); \
  }                                                                       \
  catch (const std::exception& e) {                                       \
    return uts::fail(UTS_ERROR, e.what());                                \
  }                                                                       \
  catch (...) {                                                           \
    return uts::fail(UTS_ERROR, "unknown native exception");              \
  }

// Runs `expr` (an at::Tensor expression) and stores a new handle in *out.
#define UTS_RETURN_TENSOR(out, expr)                   \
  UTS_TRY                                              \
  auto& result_slot = uts::out_param(out, "out");      \
  result_slot = nullptr;                               \
  result_slot = uts::wrap(expr);                       \
  UTS_CATCH
