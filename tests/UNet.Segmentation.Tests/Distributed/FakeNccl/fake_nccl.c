/*
 * A stand-in for NVIDIA's libnccl.so.2 (and the two libcudart calls the binding makes), for the
 * NCCL binding's tests on machines without a GPU. NcclBindingTests compiles it with
 *   gcc -shared -fPIC -o <tmp>/libnccl.so.2 fake_nccl.c
 * Test double only: the library itself compiles no native code.
 *
 * It works on host memory for a world of one process and records what it was called with in
 * exported variables, which the tests read through NativeLibrary.GetExport. Signatures follow
 * nccl.h (NCCL 2.21) and cuda_runtime_api.h.
 */
#include <stddef.h>
#include <string.h>
#include <unistd.h>

enum { ncclSuccess = 0, ncclInternalError = 3, ncclInvalidArgument = 4, ncclInvalidUsage = 5, ncclInProgress = 7 };
enum { ncclAvg = 4, ncclSum = 0 };

/* The version ncclGetVersion reports (2.21.5); the tests build a second copy with -DFAKE_NCCL_VERSION=2804 (2.8.4). */
#ifndef FAKE_NCCL_VERSION
#define FAKE_NCCL_VERSION 22105
#endif

#define ID_BYTES 128
/* Collectives touch memory only below this count: the tests pass larger counts that point nowhere. */
#define TOUCH_LIMIT 4096
/* ncclAllReduce returns ncclInvalidUsage for this count, and blocks until ncclCommAbort for HANG_COUNT. */
#define FAILING_COUNT 12345
#define HANG_COUNT 777

typedef struct { char internal[ID_BYTES]; } ncclUniqueId;
typedef struct { int rank, nranks; } fake_comm;

static fake_comm the_comm;

int fake_async_error;
int fake_unique_id_calls, fake_init_calls, fake_abort_calls, fake_destroy_calls;
int fake_init_rank = -1, fake_init_nranks = -1, fake_init_device = -1;
int fake_current_device;
int fake_last_datatype = -1, fake_last_op = -1, fake_last_root = -1;
size_t fake_last_count;
void *fake_last_stream, *fake_last_send, *fake_last_recv;
volatile int fake_hanging;

void fake_reset(void)
{
    fake_async_error = 0;
    fake_unique_id_calls = fake_init_calls = fake_abort_calls = fake_destroy_calls = 0;
    fake_init_rank = fake_init_nranks = fake_init_device = -1;
    fake_current_device = 0;
    fake_last_datatype = fake_last_op = fake_last_root = -1;
    fake_last_count = 0;
    fake_last_stream = fake_last_send = fake_last_recv = (void *)-1;
    fake_hanging = 0;
    __atomic_store_n(&the_comm.nranks, 0, __ATOMIC_SEQ_CST);
}

/* The pattern of a unique id this fake hands out: byte i is (i * 7 + 3) mod 256. */
static unsigned char id_byte(int i) { return (unsigned char)(i * 7 + 3); }

int ncclGetVersion(int *version)
{
    if (!version) return ncclInvalidArgument;
    *version = FAKE_NCCL_VERSION;
    return ncclSuccess;
}

int ncclGetUniqueId(ncclUniqueId *id)
{
    if (!id) return ncclInvalidArgument;
    fake_unique_id_calls++;
    for (int i = 0; i < ID_BYTES; i++) id->internal[i] = (char)id_byte(i);
    return ncclSuccess;
}

/* The id arrives by value, as in nccl.h: a caller passing a pointer would not show the pattern. */
int ncclCommInitRank(fake_comm **comm, int nranks, ncclUniqueId id, int rank)
{
    fake_init_calls++;
    fake_init_rank = rank;
    fake_init_nranks = nranks;
    fake_init_device = fake_current_device;
    if (!comm || nranks < 1 || rank < 0 || rank >= nranks) return ncclInvalidArgument;
    for (int i = 0; i < ID_BYTES; i++)
        if ((unsigned char)id.internal[i] != id_byte(i)) return ncclInvalidArgument;
    the_comm.rank = rank;
    __atomic_store_n(&the_comm.nranks, nranks, __ATOMIC_SEQ_CST);
    *comm = &the_comm;
    return ncclSuccess;
}

static size_t element_size(int datatype)
{
    static const size_t sizes[] = { 1, 1, 4, 4, 8, 8, 2, 4, 8, 2 };
    return datatype >= 0 && datatype < 10 ? sizes[datatype] : 0;
}

static int live(fake_comm *comm) { return comm == &the_comm && __atomic_load_n(&the_comm.nranks, __ATOMIC_SEQ_CST) > 0; }

int ncclAllReduce(const void *send, void *recv, size_t count, int datatype, int op, fake_comm *comm, void *stream)
{
    fake_last_send = (void *)send;
    fake_last_recv = recv;
    fake_last_count = count;
    fake_last_datatype = datatype;
    fake_last_op = op;
    fake_last_stream = stream;
    if (!live(comm) || element_size(datatype) == 0) return ncclInvalidArgument;
    if (count == FAILING_COUNT) return ncclInvalidUsage;
    if (count == HANG_COUNT)
    {
        /* A collective whose peer never comes: it ends when the communicator is aborted (or after 20 s). */
        __atomic_store_n(&fake_hanging, 1, __ATOMIC_SEQ_CST);
        for (int i = 0; i < 20000 && live(comm); i++) usleep(1000);
        return live(comm) ? ncclInternalError : 6 /* ncclRemoteError */;
    }
    if (count <= TOUCH_LIMIT && (op == ncclAvg || op == ncclSum) && send != recv)
        memmove(recv, send, count * element_size(datatype));
    return ncclSuccess;
}

int ncclBroadcast(const void *send, void *recv, size_t count, int datatype, int root, fake_comm *comm, void *stream)
{
    fake_last_send = (void *)send;
    fake_last_recv = recv;
    fake_last_count = count;
    fake_last_datatype = datatype;
    fake_last_root = root;
    fake_last_stream = stream;
    if (!live(comm) || element_size(datatype) == 0 || root < 0 || root >= the_comm.nranks) return ncclInvalidArgument;
    if (count <= TOUCH_LIMIT && send != recv) memmove(recv, send, count * element_size(datatype));
    return ncclSuccess;
}

int ncclCommGetAsyncError(fake_comm *comm, int *async_error)
{
    if (!live(comm) || !async_error) return ncclInvalidArgument;
    *async_error = __atomic_load_n(&fake_async_error, __ATOMIC_SEQ_CST);
    return ncclSuccess;
}

int ncclCommAbort(fake_comm *comm)
{
    __atomic_add_fetch(&fake_abort_calls, 1, __ATOMIC_SEQ_CST);
    if (!live(comm)) return ncclInvalidArgument;
    __atomic_store_n(&the_comm.nranks, 0, __ATOMIC_SEQ_CST);
    return ncclSuccess;
}

int ncclCommDestroy(fake_comm *comm)
{
    fake_destroy_calls++;
    if (!live(comm)) return ncclInvalidArgument;
    __atomic_store_n(&the_comm.nranks, 0, __ATOMIC_SEQ_CST);
    return ncclSuccess;
}

const char *ncclGetErrorString(int result)
{
    switch (result)
    {
    case 0: return "no error";
    case 1: return "unhandled cuda error (run with NCCL_DEBUG=INFO for details)";
    case 2: return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
    case 3: return "internal error - please report this issue to the NCCL developers";
    case 4: return "invalid argument (run with NCCL_DEBUG=WARN for details)";
    case 5: return "invalid usage (run with NCCL_DEBUG=WARN for details)";
    case 6: return "remote process exited or there was a network error";
    case 7: return "NCCL operation in progress";
    default: return "unknown result code";
    }
}

/* libcudart's device selection, so the same file can stand in for UNET_CUDART_LIBRARY. */
int cudaSetDevice(int device)
{
    if (device < 0 || device > 7) return 101; /* cudaErrorInvalidDevice */
    fake_current_device = device;
    return 0;
}

int cudaGetDevice(int *device)
{
    *device = fake_current_device;
    return 0;
}

const char *cudaGetErrorString(int error) { return error == 101 ? "invalid device ordinal" : error == 0 ? "no error" : "unknown error"; }
