/* Plain C test of the shim's ABI: it compiles as C (no C++ leaks through the header), a libtorch
 * error becomes a status and a message, and every handle freed brings the live count back. */
#include <stdio.h>
#include <string.h>

#include "unet_segmentation_native.h"

static int failures = 0;
#define CHECK(cond, what)                                  \
  do {                                                     \
    if (!(cond)) {                                         \
      fprintf(stderr, "FAILED: %s (%s:%d)\n", what, __FILE__, __LINE__); \
      ++failures;                                          \
    }                                                      \
  } while (0)

int main(void) {
  CHECK(uts_abi_version() == UTS_ABI_VERSION, "ABI version matches the header");
  const int64_t base = uts_live_tensors();

  const int64_t xs[4] = {1, 3, 8, 8};
  const int64_t ws[4] = {4, 5, 3, 3}; /* 5 input channels: wrong for a 3-channel input */
  const int64_t one[2] = {1, 1}, zero[2] = {0, 0};
  uts_tensor x = NULL, w = NULL, y = NULL;
  CHECK(uts_randn(xs, 4, UTS_FLOAT32, UTS_CPU, 0, &x) == UTS_OK, "randn input");
  CHECK(uts_randn(ws, 4, UTS_FLOAT32, UTS_CPU, 0, &w) == UTS_OK, "randn weight");
  CHECK(uts_live_tensors() == base + 2, "two live handles");

  uts_status s = uts_conv2d(x, w, NULL, one, zero, one, 1, &y);
  CHECK(s == UTS_ERROR, "mismatched conv2d reports UTS_ERROR");
  CHECK(y == NULL, "failed call leaves out null");
  CHECK(strstr(uts_last_error(), "channels") != NULL, "message carries libtorch's explanation");

  s = uts_conv2d(NULL, w, NULL, one, zero, one, 1, &y);
  CHECK(s == UTS_INVALID_ARGUMENT, "null input is an invalid argument");

  s = uts_unary(999, x, &y);
  CHECK(s == UTS_INVALID_ARGUMENT, "unknown operation code is rejected");

  const int64_t huge[2] = {1LL << 40, 1LL << 30};
  s = uts_empty(huge, 2, UTS_FLOAT32, UTS_CPU, 0, &y);
  CHECK(s == UTS_OUT_OF_MEMORY || s == UTS_ERROR, "absurd allocation fails cleanly");

  const int64_t ws_ok[4] = {4, 3, 3, 3};
  uts_tensor w2 = NULL;
  CHECK(uts_randn(ws_ok, 4, UTS_FLOAT32, UTS_CPU, 0, &w2) == UTS_OK, "randn good weight");
  CHECK(uts_conv2d(x, w2, NULL, one, zero, one, 1, &y) == UTS_OK, "good conv2d");
  int64_t shape[4] = {0, 0, 0, 0};
  CHECK(uts_shape(y, shape, 4) == UTS_OK && shape[1] == 4 && shape[2] == 6 && shape[3] == 6,
        "conv2d output shape 1x4x6x6");

  uts_tensor_free(x);
  uts_tensor_free(w);
  uts_tensor_free(w2);
  uts_tensor_free(y);
  CHECK(uts_live_tensors() == base, "live count back at baseline");

  printf("abi_test: %s (%d failures)\n", failures == 0 ? "passed" : "FAILED", failures);
  return failures == 0 ? 0 : 1;
}
