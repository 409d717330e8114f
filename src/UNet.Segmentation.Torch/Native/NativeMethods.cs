using System.Runtime.InteropServices;

namespace UNet.Segmentation.Torch.Native;

/// <summary>A number that keeps its kind across the ABI (uts_scalar).</summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly struct NativeScalar
{
    public readonly double D;
    public readonly long I;
    public readonly int Kind;

    private NativeScalar(double d, long i, int kind) { D = d; I = i; Kind = kind; }

    public static NativeScalar Of(double v) => new(v, 0, 0);
    public static NativeScalar Of(long v) => new(v, v, 1);
    public static NativeScalar Of(bool v) => new(v ? 1 : 0, v ? 1 : 0, 2);
}

/// <summary>P/Invoke declarations for include/unet_segmentation_native.h, one to one.</summary>
internal static unsafe partial class NativeMethods
{
    internal const string Library = "unet_segmentation_native";
    internal const int AbiVersion = 6;

    [LibraryImport(Library)] internal static partial int uts_abi_version();
    [LibraryImport(Library)] internal static partial IntPtr uts_last_error();
    [LibraryImport(Library)] internal static partial long uts_live_tensors();
    [LibraryImport(Library)] internal static partial int uts_torch_version(byte* buffer, int capacity);
    [LibraryImport(Library)] internal static partial int uts_manual_seed(ulong seed);
    [LibraryImport(Library)] internal static partial int uts_set_num_threads(int n);
    [LibraryImport(Library)] internal static partial int uts_get_num_threads(out int n);
    [LibraryImport(Library)] internal static partial int uts_cuda_is_available(out byte available);
    [LibraryImport(Library)] internal static partial int uts_cuda_device_count(out int count);
    [LibraryImport(Library)] internal static partial int uts_cuda_synchronize(int deviceIndex);
    [LibraryImport(Library)] internal static partial int uts_set_cudnn_benchmark(byte enabled);
    [LibraryImport(Library)] internal static partial int uts_get_cudnn_benchmark(out byte enabled);
    [LibraryImport(Library)] internal static partial int uts_cpu_cache_configure(byte caching, long limitBytes);
    [LibraryImport(Library)] internal static partial int uts_cpu_cache_release();
    [LibraryImport(Library)] internal static partial int uts_cpu_cache_stats(out long cachedBytes, out long hits, out long misses, out byte caching);

    [LibraryImport(Library)] internal static partial int uts_tensor_free(IntPtr t);
    [LibraryImport(Library)] internal static partial int uts_empty(long* shape, int ndim, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_full(long* shape, int ndim, NativeScalar value, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_arange(NativeScalar start, NativeScalar end, NativeScalar step, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_rand(long* shape, int ndim, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_randn(long* shape, int ndim, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_randint(long low, long high, long* shape, int ndim, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_from_data(void* data, long nbytes, long* shape, int ndim, int dtype, int deviceType, int deviceIndex, out IntPtr result);

    [LibraryImport(Library)] internal static partial int uts_dim(TensorHandle t, out int ndim);
    [LibraryImport(Library)] internal static partial int uts_shape(TensorHandle t, long* shape, int capacity);
    [LibraryImport(Library)] internal static partial int uts_strides(TensorHandle t, long* strides, int capacity);
    [LibraryImport(Library)] internal static partial int uts_numel(TensorHandle t, out long numel);
    [LibraryImport(Library)] internal static partial int uts_dtype(TensorHandle t, out int dtype);
    [LibraryImport(Library)] internal static partial int uts_device(TensorHandle t, out int deviceType, out int deviceIndex);
    [LibraryImport(Library)] internal static partial int uts_is_contiguous(TensorHandle t, int memoryFormat, out byte result);
    [LibraryImport(Library)] internal static partial int uts_requires_grad(TensorHandle t, out byte result);
    [LibraryImport(Library)] internal static partial int uts_is_leaf(TensorHandle t, out byte result);
    [LibraryImport(Library)] internal static partial int uts_same_storage(TensorHandle a, TensorHandle b, out byte result);

    [LibraryImport(Library)] internal static partial int uts_copy_to_buffer(TensorHandle t, void* dst, long nbytes);
    [LibraryImport(Library)] internal static partial int uts_item(TensorHandle t, out NativeScalar value);

    [LibraryImport(Library)] internal static partial int uts_to(TensorHandle t, int dtype, int deviceType, int deviceIndex, int memoryFormat, byte nonBlocking, byte copy, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_contiguous(TensorHandle t, int memoryFormat, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_clone(TensorHandle t, int memoryFormat, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_detach(TensorHandle t, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_alias(TensorHandle t, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_set_data(TensorHandle t, TensorHandle source);

    [LibraryImport(Library)] internal static partial int uts_unary(int op, TensorHandle t, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_unary_(int op, TensorHandle t);
    [LibraryImport(Library)] internal static partial int uts_binary(int op, TensorHandle a, TensorHandle b, NativeScalar alpha, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_binary_(int op, TensorHandle a, TensorHandle b, NativeScalar alpha);
    [LibraryImport(Library)] internal static partial int uts_binary_scalar(int op, TensorHandle a, NativeScalar b, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_binary_scalar_(int op, TensorHandle a, NativeScalar b);
    [LibraryImport(Library)] internal static partial int uts_scalar_binary(int op, NativeScalar a, TensorHandle b, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_where(TensorHandle condition, TensorHandle a, TensorHandle b, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_clamp(TensorHandle t, byte hasMin, NativeScalar min, byte hasMax, NativeScalar max, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_clamp_(TensorHandle t, byte hasMin, NativeScalar min, byte hasMax, NativeScalar max);
    [LibraryImport(Library)] internal static partial int uts_masked_fill_(TensorHandle t, TensorHandle mask, NativeScalar value);
    [LibraryImport(Library)] internal static partial int uts_fill_(TensorHandle t, NativeScalar value);
    [LibraryImport(Library)] internal static partial int uts_uniform_(TensorHandle t, double low, double high);
    [LibraryImport(Library)] internal static partial int uts_normal_(TensorHandle t, double mean, double std);
    [LibraryImport(Library)] internal static partial int uts_bernoulli_(TensorHandle t, double p);
    [LibraryImport(Library)] internal static partial int uts_addcmul_(TensorHandle a, TensorHandle b, TensorHandle c, NativeScalar value);
    [LibraryImport(Library)] internal static partial int uts_addcdiv_(TensorHandle a, TensorHandle b, TensorHandle c, NativeScalar value);

    [LibraryImport(Library)] internal static partial int uts_reduce(int op, TensorHandle t, long* dims, int ndims, byte keepdim, int dtype, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_max_dim(TensorHandle t, long dim, byte keepdim, out IntPtr values, out IntPtr indices);
    [LibraryImport(Library)] internal static partial int uts_min_dim(TensorHandle t, long dim, byte keepdim, out IntPtr values, out IntPtr indices);
    [LibraryImport(Library)] internal static partial int uts_argmax(TensorHandle t, byte hasDim, long dim, byte keepdim, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_argmin(TensorHandle t, byte hasDim, long dim, byte keepdim, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_softmax(TensorHandle t, long dim, int dtype, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_log_softmax(TensorHandle t, long dim, int dtype, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_allclose(TensorHandle a, TensorHandle b, double rtol, double atol, out byte result);

    [LibraryImport(Library)] internal static partial int uts_reshape(TensorHandle t, long* shape, int ndim, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_view(TensorHandle t, long* shape, int ndim, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_expand(TensorHandle t, long* shape, int ndim, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_repeat(TensorHandle t, long* repeats, int ndim, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_permute(TensorHandle t, long* dims, int ndim, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_transpose(TensorHandle t, long dim0, long dim1, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_squeeze(TensorHandle t, byte hasDim, long dim, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_unsqueeze(TensorHandle t, long dim, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_flatten(TensorHandle t, long startDim, long endDim, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_narrow(TensorHandle t, long dim, long start, long length, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_slice(TensorHandle t, long dim, long start, long end, long step, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_select(TensorHandle t, long dim, long index, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_index_select(TensorHandle t, long dim, TensorHandle index, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_cat(IntPtr* tensors, int count, long dim, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_stack(IntPtr* tensors, int count, long dim, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_flip(TensorHandle t, long* dims, int ndims, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_pad(TensorHandle t, long* pads, int npads, int mode, double value, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_one_hot(TensorHandle t, long numClasses, out IntPtr result);

    [LibraryImport(Library)] internal static partial int uts_conv2d(TensorHandle input, TensorHandle weight, IntPtr bias, long* stride, long* padding, long* dilation, long groups, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_conv_transpose2d(TensorHandle input, TensorHandle weight, IntPtr bias, long* stride, long* padding, long* outputPadding, long groups, long* dilation, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_conv_transpose2d_stride2(TensorHandle input, TensorHandle weight, IntPtr bias, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_max_pool2d(TensorHandle input, long* kernel, long* stride, long* padding, long* dilation, byte ceilMode, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_avg_pool2d(TensorHandle input, long* kernel, long* stride, long* padding, byte ceilMode, byte countIncludePad, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_dropout(TensorHandle input, double p, byte train, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_batch_norm(TensorHandle input, IntPtr weight, IntPtr bias, IntPtr runningMean, IntPtr runningVar, byte training, double momentum, double eps, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_linear(TensorHandle input, TensorHandle weight, IntPtr bias, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_interpolate2d(TensorHandle input, long outH, long outW, int mode, byte alignCorners, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_grid_sample(TensorHandle input, TensorHandle grid, int mode, int paddingMode, byte alignCorners, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_affine_grid(TensorHandle theta, long* size, int nsize, byte alignCorners, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_cross_entropy(TensorHandle input, TensorHandle target, IntPtr weight, int reduction, long ignoreIndex, double labelSmoothing, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_nll_loss(TensorHandle input, TensorHandle target, IntPtr weight, int reduction, long ignoreIndex, out IntPtr result);

    [LibraryImport(Library)] internal static partial int uts_set_requires_grad(TensorHandle t, byte requiresGrad);
    [LibraryImport(Library)] internal static partial int uts_backward(TensorHandle t, IntPtr gradient, byte retainGraph);
    [LibraryImport(Library)] internal static partial int uts_grad(TensorHandle t, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_set_grad(TensorHandle t, IntPtr grad);
    [LibraryImport(Library)] internal static partial int uts_zero_grads(IntPtr* tensors, int count, byte setToNone);
    [LibraryImport(Library)] internal static partial int uts_grad_enabled(out byte enabled);
    [LibraryImport(Library)] internal static partial int uts_set_grad_enabled(byte enabled);
    [LibraryImport(Library)] internal static partial int uts_inference_mode_enter(out IntPtr guard);
    [LibraryImport(Library)] internal static partial int uts_inference_mode_exit(IntPtr guard);
    [LibraryImport(Library)] internal static partial int uts_is_inference_mode(out byte enabled);

    [LibraryImport(Library)] internal static partial int uts_autocast_enter(int deviceType, int dtype, out IntPtr guard);
    [LibraryImport(Library)] internal static partial int uts_autocast_exit(IntPtr guard);
    [LibraryImport(Library)] internal static partial int uts_autocast_is_enabled(int deviceType, out byte enabled);
    [LibraryImport(Library)] internal static partial int uts_rng_get_state(int deviceType, int deviceIndex, out IntPtr result);
    [LibraryImport(Library)] internal static partial int uts_rng_set_state(int deviceType, int deviceIndex, TensorHandle state);

    [LibraryImport(Library)] internal static partial int uts_adam_step(IntPtr* parameters, IntPtr* expAvg, IntPtr* expAvgSq, long* steps, int count, double lr, double beta1, double beta2, double eps, double weightDecay, byte decoupledWeightDecay);
    [LibraryImport(Library)] internal static partial int uts_sgd_step(IntPtr* parameters, IntPtr* momentumBuffers, byte* momentumInitialized, long* steps, int count, double lr, double momentum, double dampening, double weightDecay, byte nesterov);

    [LibraryImport(Library)] internal static partial long uts_live_distributed_objects();
    [LibraryImport(Library)] internal static partial int uts_distributed_backend_available(int backend, out byte available);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] internal static partial int uts_tcp_store_create(string host, int port, byte isServer, int worldSize, long timeoutMs, out IntPtr store);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] internal static partial int uts_file_store_create(string path, int worldSize, long timeoutMs, out IntPtr store);
    [LibraryImport(Library)] internal static partial int uts_store_free(IntPtr store);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] internal static partial int uts_store_set(Distributed.StoreHandle store, string key, byte* data, long nbytes);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] internal static partial int uts_store_get(Distributed.StoreHandle store, string key, byte* buffer, long capacity, out long nbytes);
    [LibraryImport(Library)] internal static partial int uts_process_group_create(Distributed.StoreHandle store, int backend, int rank, int worldSize, long timeoutMs, out IntPtr group);
    [LibraryImport(Library)] internal static partial int uts_process_group_free(IntPtr group);
    [LibraryImport(Library)] internal static partial int uts_process_group_suspects(Distributed.ProcessGroupHandle group, int* ranks, int capacity, out int count);
    [LibraryImport(Library)] internal static partial int uts_allreduce_mean(Distributed.ProcessGroupHandle group, IntPtr* tensors, int count, long bucketBytes);
    [LibraryImport(Library)] internal static partial int uts_allreduce_grads_mean(Distributed.ProcessGroupHandle group, IntPtr* parameters, int count, long bucketBytes);
    [LibraryImport(Library)] internal static partial int uts_broadcast(Distributed.ProcessGroupHandle group, IntPtr* tensors, int count, int root, long bucketBytes);
    [LibraryImport(Library)] internal static partial int uts_barrier(Distributed.ProcessGroupHandle group);
}

internal static partial class NativeMethods
{
    static NativeMethods() => NativeLibraryLoader.RegisterResolver();
}
