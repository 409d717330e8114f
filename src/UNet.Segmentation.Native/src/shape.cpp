// Views, reshapes, joins, flips and padding.
#include "common.h"

using uts::get;

extern "C" {

uts_status uts_reshape(uts_tensor t, const int64_t* shape, int32_t ndim, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, get(t).reshape(uts::dims(shape, ndim)))
}

uts_status uts_view(uts_tensor t, const int64_t* shape, int32_t ndim, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, get(t).view(uts::dims(shape, ndim)))
}

uts_status uts_expand(uts_tensor t, const int64_t* shape, int32_t ndim, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, get(t).expand(uts::dims(shape, ndim)))
}

uts_status uts_repeat(uts_tensor t, const int64_t* repeats, int32_t ndim, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, get(t).repeat(uts::dims(repeats, ndim)))
}

uts_status uts_permute(uts_tensor t, const int64_t* dims, int32_t ndim, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, get(t).permute(uts::dims(dims, ndim)))
}

uts_status uts_transpose(uts_tensor t, int64_t dim0, int64_t dim1, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, get(t).transpose(dim0, dim1))
}

uts_status uts_squeeze(uts_tensor t, uint8_t has_dim, int64_t dim, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, has_dim ? get(t).squeeze(dim) : get(t).squeeze())
}

uts_status uts_unsqueeze(uts_tensor t, int64_t dim, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, get(t).unsqueeze(dim))
}

uts_status uts_flatten(uts_tensor t, int64_t start_dim, int64_t end_dim, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, get(t).flatten(start_dim, end_dim))
}

uts_status uts_narrow(uts_tensor t, int64_t dim, int64_t start, int64_t length, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, get(t).narrow(dim, start, length))
}

uts_status uts_slice(uts_tensor t, int64_t dim, int64_t start, int64_t end, int64_t step, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, get(t).slice(dim, start, end, step))
}

uts_status uts_select(uts_tensor t, int64_t dim, int64_t index, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, get(t).select(dim, index))
}

uts_status uts_index_select(uts_tensor t, int64_t dim, uts_tensor index, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, get(t).index_select(dim, get(index, "index")))
}

uts_status uts_cat(const uts_tensor* tensors, int32_t count, int64_t dim, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, at::cat(uts::tensor_list(tensors, count), dim))
}

uts_status uts_stack(const uts_tensor* tensors, int32_t count, int64_t dim, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, at::stack(uts::tensor_list(tensors, count), dim))
}

uts_status uts_flip(uts_tensor t, const int64_t* dims, int32_t ndims, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, get(t).flip(uts::dims(dims, ndims)))
}

uts_status uts_pad(uts_tensor t, const int64_t* pads, int32_t npads, int32_t mode, double value,
                   uts_tensor* out) {
  UTS_TRY
  auto& slot = uts::out_param(out, "out");
  slot = nullptr;
  const char* name = nullptr;
  switch (mode) {
    case UTS_PAD_CONSTANT: name = "constant"; break;
    case UTS_PAD_REFLECT: name = "reflect"; break;
    case UTS_PAD_REPLICATE: name = "replicate"; break;
    default: throw uts::invalid_argument("unknown padding mode code " + std::to_string(mode));
  }
  if (npads % 2 != 0) throw uts::invalid_argument("padding needs (before, after) pairs");
  c10::optional<double> fill;
  if (mode == UTS_PAD_CONSTANT) fill = value;
  slot = uts::wrap(at::pad(get(t), uts::dims(pads, npads), name, fill));
  UTS_CATCH
}

uts_status uts_one_hot(uts_tensor t, int64_t num_classes, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, at::one_hot(get(t), num_classes))
}

}  // extern "C"
