// Neural-network functions: convolutions, pooling, normalisation, resampling and losses.
#include "common.h"

using uts::get;
using uts::optional_tensor;
using uts::pair;

namespace {

// The taps of a stride-2 transposed conv that land on output phase `a` (0: even, 1: odd) along
// `dim`, as a 2-tap (3x3 kernel) or 1-tap (2x2 kernel) window over the input padded by one in
// front (3x3 only). 3x3: an even output 2m takes x[m-1]*w[2] + x[m]*w[0], an odd one x[m]*w[1].
// 2x2: output 2m+a takes x[m]*w[a].
at::Tensor phase_taps(const at::Tensor& w, int64_t dim, int64_t kernel, int64_t a) {
  if (kernel == 2) return w.narrow(dim, a, 1);
  if (a == 0) return at::stack({w.select(dim, 2), w.select(dim, 0)}, dim);
  auto centre = w.select(dim, 1);
  return at::stack({at::zeros_like(centre), centre}, dim);
}

}  // namespace

extern "C" {

uts_status uts_conv2d(uts_tensor input, uts_tensor weight, uts_tensor bias, const int64_t* stride,
                      const int64_t* padding, const int64_t* dilation, int64_t groups, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, at::conv2d(get(input, "input"), get(weight, "weight"), optional_tensor(bias),
                                    pair(stride, "stride"), pair(padding, "padding"),
                                    pair(dilation, "dilation"), groups))
}

uts_status uts_conv_transpose2d(uts_tensor input, uts_tensor weight, uts_tensor bias, const int64_t* stride,
                                const int64_t* padding, const int64_t* output_padding, int64_t groups,
                                const int64_t* dilation, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, at::conv_transpose2d(get(input, "input"), get(weight, "weight"), optional_tensor(bias),
                                              pair(stride, "stride"), pair(padding, "padding"),
                                              pair(output_padding, "output_padding"), groups,
                                              pair(dilation, "dilation")))
}

uts_status uts_conv_transpose2d_stride2(uts_tensor input, uts_tensor weight, uts_tensor bias, uts_tensor* out) {
  UTS_TRY
  const auto& x = get(input, "input");
  const auto& w = get(weight, "weight");
  if (w.dim() != 4 || w.size(2) != w.size(3) || (w.size(2) != 2 && w.size(2) != 3))
    throw uts::invalid_argument("weight must be in_channels x out_channels x k x k with k 2 or 3, got " +
                                c10::str(w.sizes()));
  if (x.dim() != 4 || x.size(1) != w.size(0))
    throw uts::invalid_argument("input must be N x " + std::to_string(w.size(0)) + " x H x W for this weight, got " +
                                c10::str(x.sizes()));
  const int64_t k = w.size(2);
  auto& result_slot = uts::out_param(out, "out");
  result_slot = nullptr;
  if (!x.device().is_cpu()) {  // cuDNN's transposed conv is fast: the full output, cropped
    auto full = at::conv_transpose2d(x, w, optional_tensor(bias), 2);
    result_slot = uts::wrap(full.narrow(2, 0, 2 * x.size(2)).narrow(3, 0, 2 * x.size(3)));
    return UTS_OK;
  }
  // One ordinary conv computes all four output phases (channel c*4 + 2a + b holds phase (a, b)
  // of channel c); pixel_shuffle interleaves them. oneDNN runs that conv; libtorch 1.13 sends a
  // transposed conv on CPU to its slow im2col path instead.
  auto wt = w.transpose(0, 1);  // out x in x k x k
  std::vector<at::Tensor> phases;
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t b = 0; b < 2; ++b) phases.push_back(phase_taps(phase_taps(wt, 2, k, a), 3, k, b));
  auto w4 = at::stack(phases, 1).flatten(0, 1);  // (out*4) x in x t x t
  auto b4 = bias == nullptr ? at::Tensor() : get(bias, "bias").repeat_interleave(4);
  auto padded = k == 3 ? at::constant_pad_nd(x, {1, 0, 1, 0}) : x;
  auto y = at::conv2d(padded, w4.contiguous(x.suggest_memory_format()), b4);
  result_slot = uts::wrap(at::pixel_shuffle(y, 2).contiguous(x.suggest_memory_format()));
  UTS_CATCH
}

uts_status uts_max_pool2d(uts_tensor input, const int64_t* kernel, const int64_t* stride, const int64_t* padding,
                          const int64_t* dilation, uint8_t ceil_mode, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, at::max_pool2d(get(input, "input"), pair(kernel, "kernel"), pair(stride, "stride"),
                                        pair(padding, "padding"), pair(dilation, "dilation"), ceil_mode != 0))
}

uts_status uts_avg_pool2d(uts_tensor input, const int64_t* kernel, const int64_t* stride, const int64_t* padding,
                          uint8_t ceil_mode, uint8_t count_include_pad, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, at::avg_pool2d(get(input, "input"), pair(kernel, "kernel"), pair(stride, "stride"),
                                        pair(padding, "padding"), ceil_mode != 0, count_include_pad != 0))
}

uts_status uts_dropout(uts_tensor input, double p, uint8_t train, uts_tensor* out) {
  UTS_TRY
  if (p < 0.0 || p > 1.0) throw uts::invalid_argument("dropout probability must lie in [0, 1]");
  auto& slot = uts::out_param(out, "out");
  slot = nullptr;
  slot = uts::wrap(at::dropout(get(input, "input"), p, train != 0));
  UTS_CATCH
}

uts_status uts_batch_norm(uts_tensor input, uts_tensor weight, uts_tensor bias, uts_tensor running_mean,
                          uts_tensor running_var, uint8_t training, double momentum, double eps,
                          uts_tensor* out) {
  UTS_RETURN_TENSOR(out, at::batch_norm(get(input, "input"), optional_tensor(weight), optional_tensor(bias),
                                        optional_tensor(running_mean), optional_tensor(running_var),
                                        training != 0, momentum, eps, /*cudnn_enabled=*/true))
}

uts_status uts_linear(uts_tensor input, uts_tensor weight, uts_tensor bias, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, at::linear(get(input, "input"), get(weight, "weight"), optional_tensor(bias)))
}

uts_status uts_interpolate2d(uts_tensor input, int64_t out_h, int64_t out_w, int32_t mode, uint8_t align_corners,
                             uts_tensor* out) {
  UTS_TRY
  auto& slot = uts::out_param(out, "out");
  slot = nullptr;
  const auto& x = get(input, "input");
  if (x.dim() != 4) throw uts::invalid_argument("interpolate2d expects N x C x H x W input, got " + std::to_string(x.dim()) + " dimensions");
  if (out_h <= 0 || out_w <= 0) throw uts::invalid_argument("output size must be positive");
  const int64_t size[2] = {out_h, out_w};
  switch (mode) {
    case UTS_INTERP_NEAREST:
      if (align_corners) throw uts::invalid_argument("align_corners is only defined for bilinear interpolation");
      slot = uts::wrap(at::upsample_nearest2d(x, at::IntArrayRef(size, 2)));
      break;
    case UTS_INTERP_BILINEAR:
      slot = uts::wrap(at::upsample_bilinear2d(x, at::IntArrayRef(size, 2), align_corners != 0));
      break;
    default: throw uts::invalid_argument("unknown interpolation mode code " + std::to_string(mode));
  }
  UTS_CATCH
}

uts_status uts_grid_sample(uts_tensor input, uts_tensor grid, int32_t mode, int32_t padding_mode,
                           uint8_t align_corners, uts_tensor* out) {
  UTS_TRY
  auto& slot = uts::out_param(out, "out");
  slot = nullptr;
  int64_t interpolation = 0;  // aten's GridSamplerInterpolation: bilinear 0, nearest 1
  switch (mode) {
    case UTS_INTERP_BILINEAR: interpolation = 0; break;
    case UTS_INTERP_NEAREST: interpolation = 1; break;
    default: throw uts::invalid_argument("unknown grid-sample mode code " + std::to_string(mode));
  }
  int64_t padding = 0;  // aten's GridSamplerPadding: zeros 0, border 1, reflection 2
  switch (padding_mode) {
    case UTS_GRID_ZEROS: padding = 0; break;
    case UTS_GRID_BORDER: padding = 1; break;
    case UTS_GRID_REFLECTION: padding = 2; break;
    default: throw uts::invalid_argument("unknown grid-sample padding code " + std::to_string(padding_mode));
  }
  slot = uts::wrap(at::grid_sampler(get(input, "input"), get(grid, "grid"), interpolation, padding,
                                    align_corners != 0));
  UTS_CATCH
}

uts_status uts_affine_grid(uts_tensor theta, const int64_t* size, int32_t nsize, uint8_t align_corners,
                           uts_tensor* out) {
  UTS_RETURN_TENSOR(out, at::affine_grid_generator(get(theta, "theta"), uts::dims(size, nsize), align_corners != 0))
}

uts_status uts_cross_entropy(uts_tensor input, uts_tensor target, uts_tensor weight, int32_t reduction,
                             int64_t ignore_index, double label_smoothing, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, at::cross_entropy_loss(get(input, "input"), get(target, "target"), optional_tensor(weight),
                                                uts::to_reduction(reduction), ignore_index, label_smoothing))
}

uts_status uts_nll_loss(uts_tensor input, uts_tensor target, uts_tensor weight, int32_t reduction,
                        int64_t ignore_index, uts_tensor* out) {
  UTS_RETURN_TENSOR(out, at::nll_loss_nd(get(input, "input"), get(target, "target"), optional_tensor(weight),
                                         uts::to_reduction(reduction), ignore_index))
}

}  // extern "C"
