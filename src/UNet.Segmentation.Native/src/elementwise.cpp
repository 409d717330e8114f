// Elementwise operations, in-place variants and reductions.
#include "common.h"

using uts::get;
using uts::out_param;

namespace {

at::Tensor unary(int32_t op, const at::Tensor& t) {
  switch (op) {
    case UTS_NEG: return t.neg();
    case UTS_ABS: return t.abs();
    case UTS_EXP: return t.exp();
    case UTS_LOG: return t.log();
    case UTS_SQRT: return t.sqrt();
    case UTS_RSQRT: return t.rsqrt();
    case UTS_RELU: return t.relu();
    case UTS_SIGMOID: return t.sigmoid();
    case UTS_TANH: return t.tanh();
    case UTS_FLOOR: return t.floor();
    case UTS_CEIL: return t.ceil();
    case UTS_ROUND: return t.round();
    case UTS_SIGN: return t.sign();
    case UTS_LOGICAL_NOT: return t.logical_not();
    case UTS_ZERO: return at::zeros_like(t);
    case UTS_RECIPROCAL: return t.reciprocal();
    case UTS_SQUARE: return t.square();
    case UTS_ISNAN: return t.isnan();
    case UTS_ISFINITE: return t.isfinite();
    default: throw uts::invalid_argument("unknown unary operation code " + std::to_string(op));
  }
}

void unary_inplace(int32_t op, at::Tensor& t) {
  switch (op) {
    case UTS_NEG: t.neg_(); return;
    case UTS_ABS: t.abs_(); return;
    case UTS_EXP: t.exp_(); return;
    case UTS_LOG: t.log_(); return;
    case UTS_SQRT: t.sqrt_(); return;
    case UTS_RSQRT: t.rsqrt_(); return;
    case UTS_RELU: t.relu_(); return;
    case UTS_SIGMOID: t.sigmoid_(); return;
    case UTS_TANH: t.tanh_(); return;
    case UTS_FLOOR: t.floor_(); return;
    case UTS_CEIL: t.ceil_(); return;
    case UTS_ROUND: t.round_(); return;
    case UTS_SIGN: t.sign_(); return;
    case UTS_LOGICAL_NOT: t.logical_not_(); return;
    case UTS_ZERO: t.zero_(); return;
    case UTS_RECIPROCAL: t.reciprocal_(); return;
    case UTS_SQUARE: t.square_(); return;
    default: throw uts::invalid_argument("unary operation code " + std::to_string(op) + " has no in-place form");
  }
}

// B is at::Tensor or at::Scalar: the same table serves both right-hand sides.
template <typename B>
at::Tensor binary(int32_t op, const at::Tensor& a, const B& b, const at::Scalar& alpha) {
  switch (op) {
    case UTS_ADD: return at::add(a, b, alpha);
    case UTS_SUB: return at::sub(a, b, alpha);
    case UTS_MUL: return at::mul(a, b);
    case UTS_DIV: return at::div(a, b);
    case UTS_POW: return at::pow(a, b);
    case UTS_EQ: return at::eq(a, b);
    case UTS_NE: return at::ne(a, b);
    case UTS_LT: return at::lt(a, b);
    case UTS_LE: return at::le(a, b);
    case UTS_GT: return at::gt(a, b);
    case UTS_GE: return at::ge(a, b);
    case UTS_REMAINDER: return at::remainder(a, b);
    default: break;
  }
  if constexpr (std::is_same_v<B, at::Tensor>) {
    switch (op) {
      case UTS_MAXIMUM: return at::maximum(a, b);
      case UTS_MINIMUM: return at::minimum(a, b);
      case UTS_LOGICAL_AND: return at::logical_and(a, b);
      case UTS_LOGICAL_OR: return at::logical_or(a, b);
      case UTS_MATMUL: return at::matmul(a, b);
      default: break;
    }
  } else {
    switch (op) {
      case UTS_MAXIMUM: return at::clamp_min(a, b);
      case UTS_MINIMUM: return at::clamp_max(a, b);
      default: break;
    }
  }
  throw uts::invalid_argument("binary operation code " + std::to_string(op) + " is not defined for these operands");
}

template <typename B>
void binary_inplace(int32_t op, at::Tensor& a, const B& b, const at::Scalar& alpha) {
  switch (op) {
    case UTS_ADD: a.add_(b, alpha); return;
    case UTS_SUB: a.sub_(b, alpha); return;
    case UTS_MUL: a.mul_(b); return;
    case UTS_DIV: a.div_(b); return;
    case UTS_POW: a.pow_(b); return;
    case UTS_REMAINDER: a.remainder_(b); return;
    case UTS_EQ: a.eq_(b); return;
    case UTS_NE: a.ne_(b); return;
    case UTS_LT: a.lt_(b); return;
    case UTS_LE: a.le_(b); return;
    case UTS_GT: a.gt_(b); return;
    case UTS_GE: a.ge_(b); return;
    default: break;
  }
  if constexpr (std::is_same_v<B, at::Tensor>) {
    if (op == UTS_COPY) { a.copy_(b); return; }
    if (op == UTS_LOGICAL_AND) { a.logical_and_(b); return; }
    if (op == UTS_LOGICAL_OR) { a.logical_or_(b); return; }
  } else {
    if (op == UTS_MAXIMUM) { a.clamp_min_(b); return; }
    if (op == UTS_MINIMUM) { a.clamp_max_(b); return; }
  }
  throw uts::invalid_argument("binary operation code " + std::to_string(op) + " has no in-place form for these operands");
}

at::Tensor& mutable_tensor(uts_tensor t, const char* name = "tensor") {
  return const_cast<at::Tensor&>(get(t, name));
}

c10::optional<at::Scalar> optional_scalar(uint8_t has, const uts_scalar& s) {
  if (has == 0) return c10::nullopt;
  return uts::to_scalar(s);
}

c10::optional<at::ScalarType> optional_dtype(int32_t dtype) {
  if (dtype < 0) return c10::nullopt;
  return uts::to_scalar_type(dtype);
}

// max/min along a dimension: values and indices as two new handles.
uts_status extreme_along(uts_tensor t, int64_t dim, uint8_t keepdim, uts_tensor* values, uts_tensor* indices, bool max) {
  UTS_TRY
  auto& v_slot = out_param(values, "values");
  auto& i_slot = out_param(indices, "indices");
  v_slot = i_slot = nullptr;
  auto r = max ? get(t).max(dim, keepdim != 0) : get(t).min(dim, keepdim != 0);
  v_slot = uts::wrap(std::get<0>(r));
  i_slot = uts::wrap(std::get<1>(r));
  UTS_CATCH
}

}  // namespace

extern "C" {

uts_status uts_unary(int32_t op, uts_tensor t, uts_tensor* out) { UTS_RETURN_TENSOR(out, unary(op, get(t))) }

uts_status uts_unary_(int32_t op, uts_tensor t) {
  UTS_TRY
  unary_inplace(op, mutable_tensor(t));
  UTS_CATCH
}

uts_status uts_binary(int32_t op, uts_tensor a, uts_tensor b, uts_scalar alpha, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, binary(op, get(a, "a"), get(b, "b"), uts::to_scalar(alpha)))
}

uts_status uts_binary_(int32_t op, uts_tensor a, uts_tensor b, uts_scalar alpha) {
  UTS_TRY
  binary_inplace(op, mutable_tensor(a, "a"), get(b, "b"), uts::to_scalar(alpha));
  UTS_CATCH
}

uts_status uts_binary_scalar(int32_t op, uts_tensor a, uts_scalar b, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, binary(op, get(a, "a"), uts::to_scalar(b), at::Scalar(1)))
}

uts_status uts_binary_scalar_(int32_t op, uts_tensor a, uts_scalar b) {
  UTS_TRY
  binary_inplace(op, mutable_tensor(a, "a"), uts::to_scalar(b), at::Scalar(1));
  UTS_CATCH
}

uts_status uts_scalar_binary(int32_t op, uts_scalar a, uts_tensor b, uts_tensor* out) {
  UTS_TRY
  auto& slot = out_param(out, "out");
  slot = nullptr;
  const auto& t = get(b, "b");
  const auto s = uts::to_scalar(a);
  at::Tensor r;
  switch (op) {
    case UTS_ADD: r = at::add(t, s); break;
    case UTS_SUB: r = at::rsub(t, s); break;
    case UTS_MUL: r = at::mul(t, s); break;
    case UTS_DIV: r = at::mul(t.reciprocal(), s); break;
    case UTS_POW: r = at::pow(s, t); break;
    default: throw uts::invalid_argument("scalar-first binary operation code " + std::to_string(op) + " is not defined");
  }
  slot = uts::wrap(std::move(r));
  UTS_CATCH
}

uts_status uts_where(uts_tensor condition, uts_tensor a, uts_tensor b, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, at::where(get(condition, "condition"), get(a, "a"), get(b, "b")))
}

uts_status uts_clamp(uts_tensor t, uint8_t has_min, uts_scalar min, uint8_t has_max, uts_scalar max,
                     uts_tensor* out) {
  UTS_RETURN_TENSOR(out, at::clamp(get(t), optional_scalar(has_min, min), optional_scalar(has_max, max)))
}

uts_status uts_clamp_(uts_tensor t, uint8_t has_min, uts_scalar min, uint8_t has_max, uts_scalar max) {
  UTS_TRY
  mutable_tensor(t).clamp_(optional_scalar(has_min, min), optional_scalar(has_max, max));
  UTS_CATCH
}

uts_status uts_masked_fill_(uts_tensor t, uts_tensor mask, uts_scalar value) {
  UTS_TRY
  mutable_tensor(t).masked_fill_(get(mask, "mask"), uts::to_scalar(value));
  UTS_CATCH
}

uts_status uts_fill_(uts_tensor t, uts_scalar value) {
  UTS_TRY
  mutable_tensor(t).fill_(uts::to_scalar(value));
  UTS_CATCH
}

uts_status uts_uniform_(uts_tensor t, double low, double high) {
  UTS_TRY
  mutable_tensor(t).uniform_(low, high);
  UTS_CATCH
}

uts_status uts_normal_(uts_tensor t, double mean, double std) {
  UTS_TRY
  mutable_tensor(t).normal_(mean, std);
  UTS_CATCH
}

uts_status uts_bernoulli_(uts_tensor t, double p) {
  UTS_TRY
  mutable_tensor(t).bernoulli_(p);
  UTS_CATCH
}

uts_status uts_addcmul_(uts_tensor a, uts_tensor b, uts_tensor c, uts_scalar value) {
  UTS_TRY
  mutable_tensor(a, "a").addcmul_(get(b, "b"), get(c, "c"), uts::to_scalar(value));
  UTS_CATCH
}

uts_status uts_addcdiv_(uts_tensor a, uts_tensor b, uts_tensor c, uts_scalar value) {
  UTS_TRY
  mutable_tensor(a, "a").addcdiv_(get(b, "b"), get(c, "c"), uts::to_scalar(value));
  UTS_CATCH
}

uts_status uts_reduce(int32_t op, uts_tensor t, const int64_t* dims, int32_t ndims, uint8_t keepdim,
                      int32_t dtype, uts_tensor* out) {
  UTS_TRY
  auto& slot = out_param(out, "out");
  slot = nullptr;
  const auto& v = get(t);
  const auto d = uts::dims(dims, ndims);
  const bool all = ndims == 0;
  const bool keep = keepdim != 0;
  at::Tensor r;
  switch (op) {
    case UTS_SUM: r = all && !keep ? v.sum(optional_dtype(dtype)) : v.sum(all ? at::IntArrayRef() : d, keep, optional_dtype(dtype)); break;
    case UTS_MEAN: r = all && !keep ? v.mean(optional_dtype(dtype)) : v.mean(all ? at::IntArrayRef() : d, keep, optional_dtype(dtype)); break;
    case UTS_AMAX: r = v.amax(d, keep); break;
    case UTS_AMIN: r = v.amin(d, keep); break;
    case UTS_PROD:
      if (ndims > 1) throw uts::invalid_argument("prod reduces over all dimensions or one");
      r = all ? v.prod(optional_dtype(dtype)) : v.prod(d[0], keep, optional_dtype(dtype));
      break;
    default: throw uts::invalid_argument("unknown reduction code " + std::to_string(op));
  }
  if (dtype >= 0 && r.scalar_type() != uts::to_scalar_type(dtype)) r = r.to(uts::to_scalar_type(dtype));
  slot = uts::wrap(std::move(r));
  UTS_CATCH
}

uts_status uts_max_dim(uts_tensor t, int64_t dim, uint8_t keepdim, uts_tensor* values, uts_tensor* indices) {
  return extreme_along(t, dim, keepdim, values, indices, true);
}

uts_status uts_min_dim(uts_tensor t, int64_t dim, uint8_t keepdim, uts_tensor* values, uts_tensor* indices) {
  return extreme_along(t, dim, keepdim, values, indices, false);
}

uts_status uts_argmax(uts_tensor t, uint8_t has_dim, int64_t dim, uint8_t keepdim, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, get(t).argmax(has_dim ? c10::optional<int64_t>(dim) : c10::nullopt, keepdim != 0))
}

uts_status uts_argmin(uts_tensor t, uint8_t has_dim, int64_t dim, uint8_t keepdim, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, get(t).argmin(has_dim ? c10::optional<int64_t>(dim) : c10::nullopt, keepdim != 0))
}

uts_status uts_softmax(uts_tensor t, int64_t dim, int32_t dtype, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, at::softmax(get(t), dim, optional_dtype(dtype)))
}

uts_status uts_log_softmax(uts_tensor t, int64_t dim, int32_t dtype, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, at::log_softmax(get(t), dim, optional_dtype(dtype)))
}

uts_status uts_allclose(uts_tensor a, uts_tensor b, double rtol, double atol, uint8_t* result) {
  UTS_TRY
  out_param(result, "result") = at::allclose(get(a, "a"), get(b, "b"), rtol, atol) ? 1 : 0;
  UTS_CATCH
}

}  // extern "C"
