// A caching CPU allocator. libtorch's default CPU allocator hands every block to malloc, and
// glibc serves blocks above 32 MB with a fresh mmap: each training step of the reference U-Net
// then maps, page-faults (the kernel zeroes every 4 KiB page) and unmaps gigabytes of
// activations. This allocator keeps freed large blocks and hands one back for the next request
// it fits (best fit, at most 25 % larger) — the U-Net asks for the same sizes every step — on
// transparent huge pages where the kernel allows (fewer faults and TLB misses). Small blocks go
// to malloc as before. Cached bytes are capped; past the cap, freed blocks go back to the kernel.
// The price is memory: freed blocks stay resident (docs/performance.md measures both sides).
#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>
#include <sys/mman.h>

#include <cstdlib>
#include <mutex>
#include <map>

#include "common.h"

namespace {

constexpr size_t kHeader = 64;                 // keeps the data 64-byte aligned, as c10 requires
constexpr size_t kLargeBlock = size_t{1} << 20;  // blocks from 1 MiB up are mapped and cached
constexpr size_t kGranule = size_t{2} << 20;     // large sizes round up to 2 MiB (one huge page)
constexpr uint64_t kMagic = 0x756e65745f616c6cULL;

struct Header {
  uint64_t magic;
  size_t mapped;  // bytes mapped (0 for a malloc'd block)
};

class CachingCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) const override {
    if (n == 0) return {nullptr, nullptr, &Delete, c10::Device(c10::DeviceType::CPU)};
    void* base = n + kHeader < kLargeBlock ? AllocateSmall(n) : Instance().AllocateLarge(n);
    void* data = static_cast<char*>(base) + kHeader;
    return {data, data, &Delete, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &Delete; }

  static CachingCpuAllocator& Instance() {
    static auto* instance = new CachingCpuAllocator();  // never destroyed: blocks may outlive main()
    return *instance;
  }

  void SetCaching(bool on) {
    std::lock_guard<std::mutex> lock(mutex_);
    caching_ = on;
    if (!on) ReleaseLocked();
  }

  void Release() {
    std::lock_guard<std::mutex> lock(mutex_);
    ReleaseLocked();
  }

  void SetLimit(size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    limit_ = bytes;
    if (cached_ > limit_) ReleaseLocked();
  }

  void Stats(int64_t* cached, int64_t* hits, int64_t* misses, uint8_t* caching) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached != nullptr) *cached = static_cast<int64_t>(cached_);
    if (hits != nullptr) *hits = hits_;
    if (misses != nullptr) *misses = misses_;
    if (caching != nullptr) *caching = caching_ && installed_ ? 1 : 0;
  }

 private:
  static void* AllocateSmall(size_t n) {
    void* base = nullptr;
    if (posix_memalign(&base, kHeader, n + kHeader) != 0 || base == nullptr)
      C10_THROW_ERROR(OutOfMemoryError, "CPU allocator: out of memory allocating " + std::to_string(n) + " bytes");
    *static_cast<Header*>(base) = Header{kMagic, 0};
    return base;
  }

  void* AllocateLarge(size_t n) {
    size_t size = (n + kHeader + kGranule - 1) / kGranule * kGranule;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // Best fit within 25 %: a valid-padding U-Net's activations shrink by a few pixels per
      // conv (570², 568², 566², ...), so near sizes share blocks instead of each size keeping
      // its own — the cache then holds about the step's working set, not every size it saw.
      auto it = free_.lower_bound(size);
      if (it != free_.end() && it->first <= size + size / 4) {
        void* base = it->second;
        cached_ -= it->first;
        free_.erase(it);
        ++hits_;
        return base;
      }
      ++misses_;
    }
    void* base = Map(size);
    if (base == nullptr) {  // give the cache back to the kernel and try once more
      Release();
      base = Map(size);
    }
    if (base == nullptr)
      C10_THROW_ERROR(OutOfMemoryError, "CPU allocator: out of memory mapping " + std::to_string(size) + " bytes");
    *static_cast<Header*>(base) = Header{kMagic, size};
    return base;
  }

  static void* Map(size_t size) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    madvise(p, size, MADV_HUGEPAGE);  // advice only: harmless where THP is off
    return p;
  }

  static void Delete(void* data) {
    if (data == nullptr) return;
    void* base = static_cast<char*>(data) - kHeader;
    auto* header = static_cast<Header*>(base);
    if (header->magic != kMagic) std::abort();  // not ours: memory corruption, never continue
    if (header->mapped == 0) {
      std::free(base);
      return;
    }
    Instance().Recycle(base, header->mapped);
  }

  void Recycle(void* base, size_t size) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (caching_ && cached_ + size <= limit_) {
        free_.emplace(size, base);
        cached_ += size;
        return;
      }
    }
    munmap(base, size);
  }

  void ReleaseLocked() {
    for (auto& [size, base] : free_) munmap(base, size);
    free_.clear();
    cached_ = 0;
  }

  std::mutex mutex_;
  std::multimap<size_t, void*> free_;  // mapped size → block
  size_t cached_ = 0;
  size_t limit_ = size_t{8} << 30;
  int64_t hits_ = 0, misses_ = 0;
  bool caching_ = true;

 public:
  std::atomic<bool> installed_{false};
};

std::once_flag installed;

void Install() {
  std::call_once(installed, [] {
    // Above the default allocator's priority (0), so GetCPUAllocator() returns ours from now on;
    // blocks allocated before keep their own deleter.
    c10::SetCPUAllocator(&CachingCpuAllocator::Instance(), /*priority=*/10);
    CachingCpuAllocator::Instance().installed_ = true;
  });
}

}  // namespace

extern "C" {

uts_status uts_cpu_cache_configure(uint8_t caching, int64_t limit_bytes) {
  UTS_TRY
  if (limit_bytes < 0) throw uts::invalid_argument("the cache limit must be at least 0 bytes");
  Install();
  auto& a = CachingCpuAllocator::Instance();
  a.SetLimit(static_cast<size_t>(limit_bytes));
  a.SetCaching(caching != 0);
  UTS_CATCH
}

uts_status uts_cpu_cache_release(void) {
  UTS_TRY
  CachingCpuAllocator::Instance().Release();
  UTS_CATCH
}

uts_status uts_cpu_cache_stats(int64_t* cached_bytes, int64_t* hits, int64_t* misses, uint8_t* caching) {
  UTS_TRY
  CachingCpuAllocator::Instance().Stats(cached_bytes, hits, misses, caching);
  UTS_CATCH
}

}  // extern "C"
