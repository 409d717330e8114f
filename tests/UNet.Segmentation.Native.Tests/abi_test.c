/* Plain C test of the shim's ABI: it compiles as C (no C++ leaks through the header), a libtorch
 * error becomes a status and a message, and every handle freed brings the live count back. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

  /* A one-rank Gloo group over a file store: averaging over one rank keeps the values, NCCL is
   * refused with its own status on a build without it, and every object is freed. */
  char path[64];
  snprintf(path, sizeof path, "/tmp/uts_abi_store_%d", (int)getpid());
  unlink(path);
  uts_store store = NULL;
  uts_process_group group = NULL;
  CHECK(uts_file_store_create(path, 1, 10000, &store) == UTS_OK, "file store");
  CHECK(uts_process_group_create(store, UTS_BACKEND_GLOO, 0, 1, 10000, &group) == UTS_OK, "gloo group of one");
  uint8_t nccl = 2;
  CHECK(uts_distributed_backend_available(UTS_BACKEND_NCCL, &nccl) == UTS_OK, "backend query");
  if (!nccl) {
    uts_process_group other = NULL;
    CHECK(uts_process_group_create(store, UTS_BACKEND_NCCL, 0, 1, 10000, &other) == UTS_UNSUPPORTED,
          "NCCL on a build without it is UTS_UNSUPPORTED");
    CHECK(other == NULL && strstr(uts_last_error(), "NCCL") != NULL, "and says so");
  }
  uts_process_group bad = NULL;
  CHECK(uts_process_group_create(store, UTS_BACKEND_GLOO, 1, 1, 10000, &bad) == UTS_INVALID_ARGUMENT,
        "rank outside the world is rejected");
  uts_tensor v = NULL, sum = NULL;
  CHECK(uts_arange((uts_scalar){0, 0, UTS_SCALAR_INT}, (uts_scalar){6, 6, UTS_SCALAR_INT},
                   (uts_scalar){1, 1, UTS_SCALAR_INT}, UTS_FLOAT32, UTS_CPU, 0, &v) == UTS_OK, "arange");
  CHECK(uts_allreduce_mean(group, &v, 1, 8) == UTS_OK, "allreduce over one rank");
  CHECK(uts_reduce(UTS_SUM, v, NULL, 0, 0, -1, &sum) == UTS_OK, "sum");
  uts_scalar total;
  CHECK(uts_item(sum, &total) == UTS_OK && total.d == 15.0, "values kept");
  CHECK(uts_barrier(group) == UTS_OK, "barrier of one");
  uts_tensor_free(v);
  uts_tensor_free(sum);
  CHECK(uts_process_group_free(group) == UTS_OK && uts_store_free(store) == UTS_OK, "free");
  CHECK(uts_live_distributed_objects() == 0, "no store or group left");
  unlink(path);

  printf("abi_test: %s (%d failures)\n", failures == 0 ? "passed" : "FAILED", failures);
  return failures == 0 ? 0 : 1;
}
