/*
 * unet_segmentation_native.h -- the whole C ABI of the UNet.Segmentation shim over libtorch.
 *
 * Rules of this ABI (see docs/architecture.md):
 *  - Opaque handles only; plain fixed-size C types; booleans are uint8_t.
 *  - Every function returns a uts_status. On failure the message is kept per thread and read
 *    with uts_last_error(); no C++ exception ever leaves the library.
 *  - Enumerations are numbered here and mapped explicitly inside the shim: never cast an
 *    integer to a libtorch enum.
 *  - A tensor handle returned through an out-parameter is owned by the caller and must be
 *    released with uts_tensor_free(). uts_live_tensors() counts the handles not yet freed.
 */
#ifndef UNET_SEGMENTATION_NATIVE_H
#define UNET_SEGMENTATION_NATIVE_H

#include <stdint.h>

#if defined(_WIN32)
#define UTS_API __declspec(dllexport)
#else
#define UTS_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a signature or an enumeration below changes. */
#define UTS_ABI_VERSION 6

typedef struct uts_tensor_t* uts_tensor;
typedef struct uts_guard_t* uts_guard;
typedef struct uts_autocast_guard_t* uts_autocast_guard;
typedef struct uts_store_t* uts_store;
typedef struct uts_process_group_t* uts_process_group;
typedef int32_t uts_status;

enum {
  UTS_OK = 0,
  UTS_ERROR = 1,          /* libtorch raised: shape, dtype, device... */
  UTS_OUT_OF_MEMORY = 2,  /* host or device allocation failed */
  UTS_INVALID_ARGUMENT = 3, /* the shim rejected an argument (null handle, unknown code) */
  UTS_DISTRIBUTED_ERROR = 4, /* a rendezvous or collective failed: a peer died or hung past the timeout */
  UTS_UNSUPPORTED = 5       /* this build lacks the feature (the NCCL backend on a CPU build) */
};

enum { /* scalar types */
  UTS_FLOAT32 = 0, UTS_FLOAT64 = 1, UTS_FLOAT16 = 2, UTS_BFLOAT16 = 3,
  UTS_INT64 = 4, UTS_INT32 = 5, UTS_UINT8 = 6, UTS_BOOL = 7, UTS_INT8 = 8, UTS_INT16 = 9
};

enum { UTS_CPU = 0, UTS_CUDA = 1 }; /* device types */

enum { UTS_CONTIGUOUS = 0, UTS_CHANNELS_LAST = 1, UTS_PRESERVE = 2 }; /* memory formats */

enum { UTS_REDUCTION_NONE = 0, UTS_REDUCTION_MEAN = 1, UTS_REDUCTION_SUM = 2 };

enum { /* unary operations */
  UTS_NEG = 0, UTS_ABS = 1, UTS_EXP = 2, UTS_LOG = 3, UTS_SQRT = 4, UTS_RSQRT = 5,
  UTS_RELU = 6, UTS_SIGMOID = 7, UTS_TANH = 8, UTS_FLOOR = 9, UTS_CEIL = 10, UTS_ROUND = 11,
  UTS_SIGN = 12, UTS_LOGICAL_NOT = 13, UTS_ZERO = 14, UTS_RECIPROCAL = 15, UTS_SQUARE = 16,
  UTS_ISNAN = 17, UTS_ISFINITE = 18
};

enum { /* binary operations (tensor op tensor, tensor op scalar) */
  UTS_ADD = 0, UTS_SUB = 1, UTS_MUL = 2, UTS_DIV = 3, UTS_POW = 4, UTS_MAXIMUM = 5,
  UTS_MINIMUM = 6, UTS_EQ = 7, UTS_NE = 8, UTS_LT = 9, UTS_LE = 10, UTS_GT = 11, UTS_GE = 12,
  UTS_LOGICAL_AND = 13, UTS_LOGICAL_OR = 14, UTS_REMAINDER = 15, UTS_MATMUL = 16,
  UTS_COPY = 17 /* in-place only: self.copy_(other) */
};

enum { UTS_SUM = 0, UTS_MEAN = 1, UTS_AMAX = 2, UTS_AMIN = 3, UTS_PROD = 4 }; /* reductions */

enum { UTS_PAD_CONSTANT = 0, UTS_PAD_REFLECT = 1, UTS_PAD_REPLICATE = 2 };

enum { UTS_INTERP_NEAREST = 0, UTS_INTERP_BILINEAR = 1 };

enum { UTS_GRID_ZEROS = 0, UTS_GRID_BORDER = 1, UTS_GRID_REFLECTION = 2 }; /* padding modes */

enum { UTS_SCALAR_DOUBLE = 0, UTS_SCALAR_INT = 1, UTS_SCALAR_BOOL = 2 };

/* A number that keeps its kind, so int tensor + int scalar stays an int tensor. */
typedef struct uts_scalar {
  double d;
  int64_t i;
  int32_t kind;
} uts_scalar;

/* ---- runtime ---------------------------------------------------------------------------- */
UTS_API int32_t uts_abi_version(void);
UTS_API const char* uts_last_error(void);          /* message of this thread's last failure */
UTS_API int64_t uts_live_tensors(void);            /* handles created and not yet freed */
UTS_API uts_status uts_torch_version(char* buffer, int32_t capacity); /* "1.13.1" */
UTS_API uts_status uts_manual_seed(uint64_t seed);  /* CPU and every CUDA device */
UTS_API uts_status uts_set_num_threads(int32_t n);
UTS_API uts_status uts_get_num_threads(int32_t* n);
UTS_API uts_status uts_cuda_is_available(uint8_t* available);
UTS_API uts_status uts_cuda_device_count(int32_t* count);
UTS_API uts_status uts_cuda_synchronize(int32_t device_index); /* -1: current device */
UTS_API uts_status uts_set_cudnn_benchmark(uint8_t enabled);
UTS_API uts_status uts_get_cudnn_benchmark(uint8_t* enabled);
/* The caching CPU allocator (src/cpu_allocator.cpp): the first configure call installs it as
 * libtorch's CPU allocator for the rest of the process; caching 0 passes blocks straight through
 * (and releases the cache). limit_bytes caps the freed bytes kept for reuse. */
UTS_API uts_status uts_cpu_cache_configure(uint8_t caching, int64_t limit_bytes);
UTS_API uts_status uts_cpu_cache_release(void);      /* unmaps every cached block */
UTS_API uts_status uts_cpu_cache_stats(int64_t* cached_bytes, int64_t* hits, int64_t* misses,
                                       uint8_t* caching); /* caching: installed and on */

/* ---- creation ------------------------------------------------------------------------- */
UTS_API uts_status uts_tensor_free(uts_tensor t);
UTS_API uts_status uts_empty(const int64_t* shape, int32_t ndim, int32_t dtype,
                             int32_t device_type, int32_t device_index, uts_tensor* out);
UTS_API uts_status uts_full(const int64_t* shape, int32_t ndim, uts_scalar value, int32_t dtype,
                            int32_t device_type, int32_t device_index, uts_tensor* out);
UTS_API uts_status uts_arange(uts_scalar start, uts_scalar end, uts_scalar step, int32_t dtype,
                              int32_t device_type, int32_t device_index, uts_tensor* out);
UTS_API uts_status uts_rand(const int64_t* shape, int32_t ndim, int32_t dtype,
                            int32_t device_type, int32_t device_index, uts_tensor* out);
UTS_API uts_status uts_randn(const int64_t* shape, int32_t ndim, int32_t dtype,
                             int32_t device_type, int32_t device_index, uts_tensor* out);
UTS_API uts_status uts_randint(int64_t low, int64_t high, const int64_t* shape, int32_t ndim,
                               int32_t dtype, int32_t device_type, int32_t device_index,
                               uts_tensor* out);
/* Copies nbytes from data (dense, row-major) into a new tensor of the given shape and dtype. */
UTS_API uts_status uts_from_data(const void* data, int64_t nbytes, const int64_t* shape,
                                 int32_t ndim, int32_t dtype, int32_t device_type,
                                 int32_t device_index, uts_tensor* out);

/* ---- queries (fill caller-owned buffers; no allocation) -------------------------------- */
UTS_API uts_status uts_dim(uts_tensor t, int32_t* ndim);
UTS_API uts_status uts_shape(uts_tensor t, int64_t* shape, int32_t capacity); /* capacity >= dim */
UTS_API uts_status uts_strides(uts_tensor t, int64_t* strides, int32_t capacity);
UTS_API uts_status uts_numel(uts_tensor t, int64_t* numel);
UTS_API uts_status uts_dtype(uts_tensor t, int32_t* dtype);
UTS_API uts_status uts_device(uts_tensor t, int32_t* device_type, int32_t* device_index);
UTS_API uts_status uts_is_contiguous(uts_tensor t, int32_t memory_format, uint8_t* result);
UTS_API uts_status uts_requires_grad(uts_tensor t, uint8_t* result);
UTS_API uts_status uts_is_leaf(uts_tensor t, uint8_t* result);
UTS_API uts_status uts_same_storage(uts_tensor a, uts_tensor b, uint8_t* result);

/* ---- read back ------------------------------------------------------------------------- */
/* Copies the tensor's values (converted to a dense CPU layout, same dtype) into dst;
 * nbytes must equal numel * element size. */
UTS_API uts_status uts_copy_to_buffer(uts_tensor t, void* dst, int64_t nbytes);
UTS_API uts_status uts_item(uts_tensor t, uts_scalar* value);

/* ---- conversion ------------------------------------------------------------------------ */
/* dtype / device_type / memory_format of -1 keep the tensor's own. */
UTS_API uts_status uts_to(uts_tensor t, int32_t dtype, int32_t device_type, int32_t device_index,
                          int32_t memory_format, uint8_t non_blocking, uint8_t copy,
                          uts_tensor* out);
UTS_API uts_status uts_contiguous(uts_tensor t, int32_t memory_format, uts_tensor* out);
UTS_API uts_status uts_clone(uts_tensor t, int32_t memory_format, uts_tensor* out);
UTS_API uts_status uts_detach(uts_tensor t, uts_tensor* out);
UTS_API uts_status uts_alias(uts_tensor t, uts_tensor* out); /* a second handle, same tensor */
/* Makes `t` hold `source`'s data (same autograd identity): PyTorch's `t.data = source`. */
UTS_API uts_status uts_set_data(uts_tensor t, uts_tensor source);

/* ---- elementwise ----------------------------------------------------------------------- */
UTS_API uts_status uts_unary(int32_t op, uts_tensor t, uts_tensor* out);
UTS_API uts_status uts_unary_(int32_t op, uts_tensor t); /* in place */
/* a op (alpha * b) for ADD/SUB; alpha is ignored by the other operations. */
UTS_API uts_status uts_binary(int32_t op, uts_tensor a, uts_tensor b, uts_scalar alpha,
                              uts_tensor* out);
UTS_API uts_status uts_binary_(int32_t op, uts_tensor a, uts_tensor b, uts_scalar alpha);
UTS_API uts_status uts_binary_scalar(int32_t op, uts_tensor a, uts_scalar b, uts_tensor* out);
UTS_API uts_status uts_binary_scalar_(int32_t op, uts_tensor a, uts_scalar b);
UTS_API uts_status uts_scalar_binary(int32_t op, uts_scalar a, uts_tensor b, uts_tensor* out);
UTS_API uts_status uts_where(uts_tensor condition, uts_tensor a, uts_tensor b, uts_tensor* out);
UTS_API uts_status uts_clamp(uts_tensor t, uint8_t has_min, uts_scalar min, uint8_t has_max,
                             uts_scalar max, uts_tensor* out);
UTS_API uts_status uts_clamp_(uts_tensor t, uint8_t has_min, uts_scalar min, uint8_t has_max,
                              uts_scalar max);
UTS_API uts_status uts_masked_fill_(uts_tensor t, uts_tensor mask, uts_scalar value);
UTS_API uts_status uts_fill_(uts_tensor t, uts_scalar value);
UTS_API uts_status uts_uniform_(uts_tensor t, double low, double high);
UTS_API uts_status uts_normal_(uts_tensor t, double mean, double std);
UTS_API uts_status uts_bernoulli_(uts_tensor t, double p);
/* a + value * b * c and a + value * b / c, in place. */
UTS_API uts_status uts_addcmul_(uts_tensor a, uts_tensor b, uts_tensor c, uts_scalar value);
UTS_API uts_status uts_addcdiv_(uts_tensor a, uts_tensor b, uts_tensor c, uts_scalar value);

/* ---- reductions ------------------------------------------------------------------------ */
/* ndims == 0 reduces over all dimensions. dtype -1 keeps libtorch's default. */
UTS_API uts_status uts_reduce(int32_t op, uts_tensor t, const int64_t* dims, int32_t ndims,
                              uint8_t keepdim, int32_t dtype, uts_tensor* out);
UTS_API uts_status uts_max_dim(uts_tensor t, int64_t dim, uint8_t keepdim, uts_tensor* values,
                               uts_tensor* indices);
UTS_API uts_status uts_min_dim(uts_tensor t, int64_t dim, uint8_t keepdim, uts_tensor* values,
                               uts_tensor* indices);
/* has_dim == 0: index into the flattened tensor. */
UTS_API uts_status uts_argmax(uts_tensor t, uint8_t has_dim, int64_t dim, uint8_t keepdim,
                              uts_tensor* out);
UTS_API uts_status uts_argmin(uts_tensor t, uint8_t has_dim, int64_t dim, uint8_t keepdim,
                              uts_tensor* out);
UTS_API uts_status uts_softmax(uts_tensor t, int64_t dim, int32_t dtype, uts_tensor* out);
UTS_API uts_status uts_log_softmax(uts_tensor t, int64_t dim, int32_t dtype, uts_tensor* out);
UTS_API uts_status uts_allclose(uts_tensor a, uts_tensor b, double rtol, double atol,
                                uint8_t* result);

/* ---- shape ----------------------------------------------------------------------------- */
UTS_API uts_status uts_reshape(uts_tensor t, const int64_t* shape, int32_t ndim, uts_tensor* out);
UTS_API uts_status uts_view(uts_tensor t, const int64_t* shape, int32_t ndim, uts_tensor* out);
UTS_API uts_status uts_expand(uts_tensor t, const int64_t* shape, int32_t ndim, uts_tensor* out);
UTS_API uts_status uts_repeat(uts_tensor t, const int64_t* repeats, int32_t ndim,
                              uts_tensor* out);
UTS_API uts_status uts_permute(uts_tensor t, const int64_t* dims, int32_t ndim, uts_tensor* out);
UTS_API uts_status uts_transpose(uts_tensor t, int64_t dim0, int64_t dim1, uts_tensor* out);
UTS_API uts_status uts_squeeze(uts_tensor t, uint8_t has_dim, int64_t dim, uts_tensor* out);
UTS_API uts_status uts_unsqueeze(uts_tensor t, int64_t dim, uts_tensor* out);
UTS_API uts_status uts_flatten(uts_tensor t, int64_t start_dim, int64_t end_dim, uts_tensor* out);
UTS_API uts_status uts_narrow(uts_tensor t, int64_t dim, int64_t start, int64_t length,
                              uts_tensor* out);
UTS_API uts_status uts_slice(uts_tensor t, int64_t dim, int64_t start, int64_t end, int64_t step,
                             uts_tensor* out);
UTS_API uts_status uts_select(uts_tensor t, int64_t dim, int64_t index, uts_tensor* out);
UTS_API uts_status uts_index_select(uts_tensor t, int64_t dim, uts_tensor index, uts_tensor* out);
UTS_API uts_status uts_cat(const uts_tensor* tensors, int32_t count, int64_t dim, uts_tensor* out);
UTS_API uts_status uts_stack(const uts_tensor* tensors, int32_t count, int64_t dim,
                             uts_tensor* out);
UTS_API uts_status uts_flip(uts_tensor t, const int64_t* dims, int32_t ndims, uts_tensor* out);
/* pads: (left, right) pairs from the last dimension backwards, as torch.nn.functional.pad. */
UTS_API uts_status uts_pad(uts_tensor t, const int64_t* pads, int32_t npads, int32_t mode,
                           double value, uts_tensor* out);
UTS_API uts_status uts_one_hot(uts_tensor t, int64_t num_classes, uts_tensor* out);

/* ---- neural-network functions --------------------------------------------------------- */
/* Every int64_t[2] is (height, width). bias may be null. */
UTS_API uts_status uts_conv2d(uts_tensor input, uts_tensor weight, uts_tensor bias,
                              const int64_t* stride, const int64_t* padding,
                              const int64_t* dilation, int64_t groups, uts_tensor* out);
UTS_API uts_status uts_conv_transpose2d(uts_tensor input, uts_tensor weight, uts_tensor bias,
                                        const int64_t* stride, const int64_t* padding,
                                        const int64_t* output_padding, int64_t groups,
                                        const int64_t* dilation, uts_tensor* out);
/* A stride-2, padding-0 transposed conv with a 2x2 or 3x3 kernel (weight in x out x k x k),
 * output exactly twice the input: for 3x3 the first 2n rows/columns of the full 2n+1 (TF 'same').
 * Computed as one ordinary conv over the four sub-pixel phases plus pixel_shuffle (oneDNN runs
 * it; libtorch 1.13's CPU transposed conv takes a slow im2col path). Differentiable. */
UTS_API uts_status uts_conv_transpose2d_stride2(uts_tensor input, uts_tensor weight, uts_tensor bias,
                                                uts_tensor* out);
UTS_API uts_status uts_max_pool2d(uts_tensor input, const int64_t* kernel, const int64_t* stride,
                                  const int64_t* padding, const int64_t* dilation,
                                  uint8_t ceil_mode, uts_tensor* out);
UTS_API uts_status uts_avg_pool2d(uts_tensor input, const int64_t* kernel, const int64_t* stride,
                                  const int64_t* padding, uint8_t ceil_mode,
                                  uint8_t count_include_pad, uts_tensor* out);
UTS_API uts_status uts_dropout(uts_tensor input, double p, uint8_t train, uts_tensor* out);
/* running_mean / running_var / weight / bias may be null. */
UTS_API uts_status uts_batch_norm(uts_tensor input, uts_tensor weight, uts_tensor bias,
                                  uts_tensor running_mean, uts_tensor running_var,
                                  uint8_t training, double momentum, double eps,
                                  uts_tensor* out);
UTS_API uts_status uts_linear(uts_tensor input, uts_tensor weight, uts_tensor bias,
                              uts_tensor* out);
/* Resize the last two dimensions to (out_h, out_w). */
UTS_API uts_status uts_interpolate2d(uts_tensor input, int64_t out_h, int64_t out_w,
                                     int32_t mode, uint8_t align_corners, uts_tensor* out);
UTS_API uts_status uts_grid_sample(uts_tensor input, uts_tensor grid, int32_t mode,
                                   int32_t padding_mode, uint8_t align_corners, uts_tensor* out);
/* theta: N x 2 x 3; size: N, C, H, W. */
UTS_API uts_status uts_affine_grid(uts_tensor theta, const int64_t* size, int32_t nsize,
                                   uint8_t align_corners, uts_tensor* out);
/* weight may be null. target holds class indices (int64) or, for cross entropy, probabilities. */
UTS_API uts_status uts_cross_entropy(uts_tensor input, uts_tensor target, uts_tensor weight,
                                     int32_t reduction, int64_t ignore_index,
                                     double label_smoothing, uts_tensor* out);
UTS_API uts_status uts_nll_loss(uts_tensor input, uts_tensor target, uts_tensor weight,
                                int32_t reduction, int64_t ignore_index, uts_tensor* out);

/* ---- autograd -------------------------------------------------------------------------- */
UTS_API uts_status uts_set_requires_grad(uts_tensor t, uint8_t requires_grad);
/* gradient may be null for a scalar output. */
UTS_API uts_status uts_backward(uts_tensor t, uts_tensor gradient, uint8_t retain_graph);
/* *out is null when the tensor has no gradient. */
UTS_API uts_status uts_grad(uts_tensor t, uts_tensor* out);
UTS_API uts_status uts_set_grad(uts_tensor t, uts_tensor grad); /* grad null: drop it */
/* Drops (set_to_none) or zeroes the gradients of `count` tensors. */
UTS_API uts_status uts_zero_grads(const uts_tensor* tensors, int32_t count, uint8_t set_to_none);
UTS_API uts_status uts_grad_enabled(uint8_t* enabled);
UTS_API uts_status uts_set_grad_enabled(uint8_t enabled); /* this thread */
/* InferenceMode for this thread until the guard is freed (on the same thread, LIFO). */
UTS_API uts_status uts_inference_mode_enter(uts_guard* guard);
UTS_API uts_status uts_inference_mode_exit(uts_guard guard);
UTS_API uts_status uts_is_inference_mode(uint8_t* enabled);

/* ---- mixed precision ------------------------------------------------------------------- */
/* Autocast on this thread for one device type (UTS_CPU: bfloat16; UTS_CUDA: float16 or bfloat16)
 * until the guard is freed (same thread, LIFO), which restores the previous state. */
UTS_API uts_status uts_autocast_enter(int32_t device_type, int32_t dtype, uts_autocast_guard* guard);
UTS_API uts_status uts_autocast_exit(uts_autocast_guard guard);
UTS_API uts_status uts_autocast_is_enabled(int32_t device_type, uint8_t* enabled);

/* ---- random-number generator state (for exact resume) --------------------------------- */
/* The default generator of a device as a uint8 tensor, and back. */
UTS_API uts_status uts_rng_get_state(int32_t device_type, int32_t device_index, uts_tensor* out);
UTS_API uts_status uts_rng_set_state(int32_t device_type, int32_t device_index, uts_tensor state);

/* ---- optimizers: every parameter in one call ------------------------------------------ */
/* torch.optim.Adam / AdamW (decoupled_weight_decay) semantics. steps[i] is advanced for each
 * parameter that has a gradient; parameters without one are skipped. */
UTS_API uts_status uts_adam_step(const uts_tensor* params, const uts_tensor* exp_avg,
                                 const uts_tensor* exp_avg_sq, int64_t* steps, int32_t count,
                                 double lr, double beta1, double beta2, double eps,
                                 double weight_decay, uint8_t decoupled_weight_decay);
/* torch.optim.SGD semantics; momentum_initialized[i] is set once the buffer holds a value and
 * steps[i] is advanced for each parameter that has a gradient (others are skipped). */
UTS_API uts_status uts_sgd_step(const uts_tensor* params, const uts_tensor* momentum_buffers,
                                uint8_t* momentum_initialized, int64_t* steps, int32_t count, double lr,
                                double momentum, double dampening, double weight_decay,
                                uint8_t nesterov);

/* ---- data parallelism (c10d) ---------------------------------------------------------- */
/* Stores and process groups are owned by the caller and released with their _free function
 * (null is accepted); uts_live_distributed_objects() counts those not yet freed. */
enum { UTS_BACKEND_GLOO = 0, UTS_BACKEND_NCCL = 1 };
UTS_API int64_t uts_live_distributed_objects(void);
/* *available = 1 when this build has the backend (NCCL: compiled with UTS_WITH_NCCL). */
UTS_API uts_status uts_distributed_backend_available(int32_t backend, uint8_t* available);
/* Rendezvous over TCP: the server (rank 0) listens on port and waits for world_size clients
 * (itself included); clients retry connecting until timeout_ms. */
UTS_API uts_status uts_tcp_store_create(const char* host, int32_t port, uint8_t is_server,
                                        int32_t world_size, int64_t timeout_ms, uts_store* out);
/* Rendezvous through a file on a file system every rank sees. */
UTS_API uts_status uts_file_store_create(const char* path, int32_t world_size, int64_t timeout_ms,
                                         uts_store* out);
UTS_API uts_status uts_store_free(uts_store store);
/* Values under user keys (kept apart from the shim's own). get waits up to the store's timeout
 * for the key; *nbytes receives the value's size, which must fit in capacity. */
UTS_API uts_status uts_store_set(uts_store store, const char* key, const void* data, int64_t nbytes);
UTS_API uts_status uts_store_get(uts_store store, const char* key, void* buffer, int64_t capacity,
                                 int64_t* nbytes);
/* Joins rank of world_size ranks in a process group over the store. Every collective waits at
 * most timeout_ms; after a failure (UTS_DISTRIBUTED_ERROR, the message naming the ranks that
 * look dead or hung) the group refuses further collectives. NCCL on a build without it:
 * UTS_UNSUPPORTED. */
UTS_API uts_status uts_process_group_create(uts_store store, int32_t backend, int32_t rank,
                                            int32_t world_size, int64_t timeout_ms,
                                            uts_process_group* out);
UTS_API uts_status uts_process_group_free(uts_process_group group);
/* The ranks the last failure was blamed on (*count of them; capacity must hold them all). */
UTS_API uts_status uts_process_group_suspects(uts_process_group group, int32_t* ranks,
                                              int32_t capacity, int32_t* count);
/* Averages floating-point tensors over the ranks in place: packed into buckets of at most
 * bucket_bytes, each summed by one allreduce (all issued before the first is awaited), divided
 * by the world size and copied back. */
UTS_API uts_status uts_allreduce_mean(uts_process_group group, const uts_tensor* tensors,
                                      int32_t count, int64_t bucket_bytes);
/* As uts_allreduce_mean over the gradients of params; a parameter without a gradient gets a
 * zero one first, so every rank reduces the same layout. */
UTS_API uts_status uts_allreduce_grads_mean(uts_process_group group, const uts_tensor* params,
                                            int32_t count, int64_t bucket_bytes);
/* Copies root's values of the tensors into every rank's (bucketed, without autograd). */
UTS_API uts_status uts_broadcast(uts_process_group group, const uts_tensor* tensors, int32_t count,
                                 int32_t root, int64_t bucket_bytes);
UTS_API uts_status uts_barrier(uts_process_group group);

#ifdef __cplusplus
}
#endif
#endif /* UNET_SEGMENTATION_NATIVE_H */
