// Tensor lifetime, creation, queries, read-back and conversion.
#include <cstring>

#include "common.h"

using uts::get;
using uts::out_param;

namespace {

void check_shape(const int64_t* shape, int32_t ndim) {
  for (int32_t i = 0; i < ndim; ++i)
    if (shape[i] < 0) throw uts::invalid_argument("shape has a negative size at dimension " + std::to_string(i));
}

}  // namespace

extern "C" {

uts_status uts_tensor_free(uts_tensor t) {
  UTS_TRY
  if (t != nullptr) {
    delete t;
    uts::live_tensors().fetch_sub(1, std::memory_order_relaxed);
  }
  UTS_CATCH
}

uts_status uts_empty(const int64_t* shape, int32_t ndim, int32_t dtype, int32_t device_type,
                     int32_t device_index, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, (check_shape(shape, ndim),
                          at::empty(uts::dims(shape, ndim), uts::options(dtype, device_type, device_index))))
}

uts_status uts_full(const int64_t* shape, int32_t ndim, uts_scalar value, int32_t dtype,
                    int32_t device_type, int32_t device_index, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, (check_shape(shape, ndim),
                          at::full(uts::dims(shape, ndim), uts::to_scalar(value),
                                   uts::options(dtype, device_type, device_index))))
}

uts_status uts_arange(uts_scalar start, uts_scalar end, uts_scalar step, int32_t dtype,
                      int32_t device_type, int32_t device_index, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, at::arange(uts::to_scalar(start), uts::to_scalar(end), uts::to_scalar(step),
                                    uts::options(dtype, device_type, device_index)))
}

uts_status uts_rand(const int64_t* shape, int32_t ndim, int32_t dtype, int32_t device_type,
                    int32_t device_index, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, (check_shape(shape, ndim),
                          at::rand(uts::dims(shape, ndim), uts::options(dtype, device_type, device_index))))
}

uts_status uts_randn(const int64_t* shape, int32_t ndim, int32_t dtype, int32_t device_type,
                     int32_t device_index, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, (check_shape(shape, ndim),
                          at::randn(uts::dims(shape, ndim), uts::options(dtype, device_type, device_index))))
}

uts_status uts_randint(int64_t low, int64_t high, const int64_t* shape, int32_t ndim, int32_t dtype,
                       int32_t device_type, int32_t device_index, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, (check_shape(shape, ndim),
                          at::randint(low, high, uts::dims(shape, ndim),
                                      uts::options(dtype, device_type, device_index))))
}

uts_status uts_from_data(const void* data, int64_t nbytes, const int64_t* shape, int32_t ndim,
                         int32_t dtype, int32_t device_type, int32_t device_index, uts_tensor* out) {
  UTS_TRY
  auto& slot = out_param(out, "out");
  slot = nullptr;
  check_shape(shape, ndim);
  const auto type = uts::to_scalar_type(dtype);
  auto cpu = at::empty(uts::dims(shape, ndim), at::TensorOptions().dtype(type));
  const int64_t expected = cpu.numel() * static_cast<int64_t>(cpu.element_size());
  if (nbytes != expected)
    throw uts::invalid_argument("data holds " + std::to_string(nbytes) + " bytes but the shape needs " +
                                std::to_string(expected));
  if (expected > 0) {
    if (data == nullptr) throw uts::invalid_argument("data is null");
    std::memcpy(cpu.data_ptr(), data, static_cast<size_t>(expected));
  }
  const auto device = uts::to_device(device_type, device_index);
  slot = uts::wrap(device.is_cpu() ? cpu : cpu.to(device));
  UTS_CATCH
}

uts_status uts_dim(uts_tensor t, int32_t* ndim) {
  UTS_TRY
  out_param(ndim, "ndim") = static_cast<int32_t>(get(t).dim());
  UTS_CATCH
}

uts_status uts_shape(uts_tensor t, int64_t* shape, int32_t capacity) {
  UTS_TRY
  const auto& v = get(t);
  if (capacity < v.dim() || (v.dim() > 0 && shape == nullptr))
    throw uts::invalid_argument("shape buffer holds fewer entries than the tensor has dimensions");
  for (int64_t i = 0; i < v.dim(); ++i) shape[i] = v.size(i);
  UTS_CATCH
}

uts_status uts_strides(uts_tensor t, int64_t* strides, int32_t capacity) {
  UTS_TRY
  const auto& v = get(t);
  if (capacity < v.dim() || (v.dim() > 0 && strides == nullptr))
    throw uts::invalid_argument("stride buffer holds fewer entries than the tensor has dimensions");
  for (int64_t i = 0; i < v.dim(); ++i) strides[i] = v.stride(i);
  UTS_CATCH
}

uts_status uts_numel(uts_tensor t, int64_t* numel) {
  UTS_TRY
  out_param(numel, "numel") = get(t).numel();
  UTS_CATCH
}

uts_status uts_dtype(uts_tensor t, int32_t* dtype) {
  UTS_TRY
  out_param(dtype, "dtype") = uts::from_scalar_type(get(t).scalar_type());
  UTS_CATCH
}

uts_status uts_device(uts_tensor t, int32_t* device_type, int32_t* device_index) {
  UTS_TRY
  const auto device = get(t).device();
  if (device.is_cpu()) out_param(device_type, "device_type") = UTS_CPU;
  else if (device.is_cuda()) out_param(device_type, "device_type") = UTS_CUDA;
  else throw uts::invalid_argument("tensor lives on a device the binding does not know");
  out_param(device_index, "device_index") = device.has_index() ? device.index() : 0;
  UTS_CATCH
}

uts_status uts_is_contiguous(uts_tensor t, int32_t memory_format, uint8_t* result) {
  UTS_TRY
  out_param(result, "result") = get(t).is_contiguous(uts::to_memory_format(memory_format)) ? 1 : 0;
  UTS_CATCH
}

uts_status uts_requires_grad(uts_tensor t, uint8_t* result) {
  UTS_TRY
  out_param(result, "result") = get(t).requires_grad() ? 1 : 0;
  UTS_CATCH
}

uts_status uts_is_leaf(uts_tensor t, uint8_t* result) {
  UTS_TRY
  out_param(result, "result") = get(t).is_leaf() ? 1 : 0;
  UTS_CATCH
}

uts_status uts_same_storage(uts_tensor a, uts_tensor b, uint8_t* result) {
  UTS_TRY
  out_param(result, "result") = get(a, "a").is_alias_of(get(b, "b")) ? 1 : 0;
  UTS_CATCH
}

uts_status uts_copy_to_buffer(uts_tensor t, void* dst, int64_t nbytes) {
  UTS_TRY
  const auto& v = get(t);
  const int64_t expected = v.numel() * static_cast<int64_t>(v.element_size());
  if (nbytes != expected)
    throw uts::invalid_argument("buffer holds " + std::to_string(nbytes) + " bytes but the tensor has " +
                                std::to_string(expected));
  if (expected == 0) return UTS_OK;
  if (dst == nullptr) throw uts::invalid_argument("destination buffer is null");
  const auto dense = v.detach().to(at::kCPU).contiguous();
  std::memcpy(dst, dense.data_ptr(), static_cast<size_t>(expected));
  UTS_CATCH
}

uts_status uts_item(uts_tensor t, uts_scalar* value) {
  UTS_TRY
  out_param(value, "value") = uts::from_scalar(get(t).item());
  UTS_CATCH
}

uts_status uts_to(uts_tensor t, int32_t dtype, int32_t device_type, int32_t device_index,
                  int32_t memory_format, uint8_t non_blocking, uint8_t copy, uts_tensor* out) {
  UTS_TRY
  auto& slot = out_param(out, "out");
  slot = nullptr;
  const auto& v = get(t);
  const auto type = dtype < 0 ? v.scalar_type() : uts::to_scalar_type(dtype);
  const auto device = device_type < 0 ? v.device() : uts::to_device(device_type, device_index);
  c10::optional<at::MemoryFormat> format;
  if (memory_format >= 0) format = uts::to_memory_format(memory_format);
  slot = uts::wrap(v.to(device, type, non_blocking != 0, copy != 0, format));
  UTS_CATCH
}

uts_status uts_contiguous(uts_tensor t, int32_t memory_format, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, get(t).contiguous(uts::to_memory_format(memory_format)))
}

uts_status uts_clone(uts_tensor t, int32_t memory_format, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, get(t).clone(uts::to_memory_format(memory_format)))
}

uts_status uts_detach(uts_tensor t, uts_tensor* out) { UTS_RETURN_TENSOR(out, get(t).detach()) }

uts_status uts_alias(uts_tensor t, uts_tensor* out) { UTS_RETURN_TENSOR(out, get(t)) }

uts_status uts_set_data(uts_tensor t, uts_tensor source) {
  UTS_TRY
  auto& target = const_cast<at::Tensor&>(get(t));
  target.set_data(get(source, "source"));
  UTS_CATCH
}

}  // extern "C"
