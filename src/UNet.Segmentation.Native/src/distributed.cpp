// Data-parallel collectives over c10d: rendezvous stores (TCP, file), process groups (Gloo on
// every build, NCCL when the shim is compiled with UTS_WITH_NCCL against a CUDA libtorch), and
// bucketed averaging/broadcast of many tensors in one call.
//
// Failure handling: every collective waits at most the group's timeout. When one fails (a peer
// closed its sockets because it died, or Gloo's own timeout fired because a peer hangs), the
// group is marked broken and the message names the ranks that look responsible. To know them,
// each rank publishes a heartbeat in the store from a small background thread; on a failure the
// surviving rank reads every heartbeat twice, a few intervals apart: a rank whose heartbeat did
// not move is named, and a store that cannot be read at all names the rank that hosts it.
#include <ATen/core/grad_mode.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#ifdef UTS_WITH_NCCL
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "common.h"

using namespace std::chrono_literals;
using millis = std::chrono::milliseconds;

namespace {

std::atomic<int64_t>& live_objects() {
  static std::atomic<int64_t> count{0};
  return count;
}

using uts::distributed_error;
using uts::unsupported;

std::string text(const char* s, const char* name) {
  if (s == nullptr) throw uts::invalid_argument(std::string(name) + " is null");
  return s;
}

// What the heartbeat thread and the failure diagnosis share; owned jointly by the group and the
// threads, so a thread stuck on a dead store never touches freed memory.
struct Liveness {
  c10::intrusive_ptr<c10d::Store> store;  // prefixed "uts/"
  std::string store_description;
  int host_rank;  // the rank whose process serves the store, -1 for a file store
  int rank;
  int size;
  millis interval;
  std::mutex store_mutex;  // c10d stores are not meant to be shared between threads
  std::atomic<int64_t> sequence{0};
  std::atomic<bool> stop{false};
  std::mutex wake_mutex;
  std::condition_variable wake;
};

std::string heartbeat_key(int rank) { return "hb/" + std::to_string(rank); }

void beat(const std::shared_ptr<Liveness>& s, std::promise<void> done) {
  int64_t count = 0;
  try {
    while (!s->stop.load()) {
      {
        std::lock_guard<std::mutex> lock(s->store_mutex);
        const std::string value = std::to_string(++count) + ":" + std::to_string(s->sequence.load());
        s->store->set(heartbeat_key(s->rank), std::vector<uint8_t>(value.begin(), value.end()));
      }
      std::unique_lock<std::mutex> lock(s->wake_mutex);
      s->wake.wait_for(lock, s->interval, [&] { return s->stop.load(); });
    }
  } catch (...) {
    // The store is gone (its host died): stop beating; the diagnosis reports it.
  }
  done.set_value();
}

struct Diagnosis {
  std::string message;
  std::vector<int32_t> suspects;
};

Diagnosis diagnose(const std::shared_ptr<Liveness>& s) {
  Diagnosis d;
  auto unreachable = [&](const std::string& why) {
    std::ostringstream m;
    m << "the rendezvous store " << s->store_description << " does not answer (" << why << ")";
    if (s->host_rank >= 0 && s->host_rank != s->rank) {
      m << ": rank " << s->host_rank << ", which hosts it, has most likely exited or hangs";
      d.suspects.push_back(s->host_rank);
    }
    d.message = m.str();
    return d;
  };
  try {
    std::unique_lock<std::mutex> lock(s->store_mutex, std::defer_lock);
    auto read_all = [&] {
      std::vector<std::string> values(static_cast<size_t>(s->size));
      for (int r = 0; r < s->size; ++r) {
        if (r == s->rank) continue;
        auto v = s->store->get(heartbeat_key(r));
        values[static_cast<size_t>(r)].assign(v.begin(), v.end());
      }
      return values;
    };
    lock.lock();
    auto first = read_all();
    lock.unlock();
    std::this_thread::sleep_for(s->interval * 3);
    lock.lock();
    auto second = read_all();
    lock.unlock();
    std::ostringstream m;
    for (int r = 0; r < s->size; ++r) {
      if (r == s->rank || first[static_cast<size_t>(r)] != second[static_cast<size_t>(r)]) continue;
      d.suspects.push_back(r);
    }
    if (d.suspects.empty()) {
      m << "every other rank still has a live heartbeat, so a rank is slow or stuck inside the program "
           "(not dead); raise the timeout if it is slow";
    } else {
      m << (d.suspects.size() == 1 ? "rank " : "ranks ");
      for (size_t i = 0; i < d.suspects.size(); ++i) m << (i ? ", " : "") << d.suspects[i];
      m << (d.suspects.size() == 1 ? " has" : " have") << " stopped sending heartbeats to "
        << s->store_description << " (dead or frozen)";
    }
    d.message = m.str();
    return d;
  } catch (const std::exception& e) {
    return unreachable(e.what());
  }
}

// Runs the diagnosis on its own thread and gives up after a deadline, so a store whose host is
// frozen cannot turn a failure report into a hang.
Diagnosis diagnose_within(const std::shared_ptr<Liveness>& s) {
  auto promise = std::make_shared<std::promise<Diagnosis>>();
  auto future = promise->get_future();
  std::thread([s, promise] {
    try {
      promise->set_value(diagnose(s));
    } catch (...) {
      promise->set_value(Diagnosis{"the diagnosis failed", {}});
    }
  }).detach();
  if (future.wait_for(s->interval * 3 + 3s) == std::future_status::ready) return future.get();
  Diagnosis d;
  std::ostringstream m;
  m << "the rendezvous store " << s->store_description << " did not answer within "
    << (s->interval * 3 + 3s).count() << " ms";
  if (s->host_rank >= 0 && s->host_rank != s->rank) {
    m << ": rank " << s->host_rank << ", which hosts it, hangs or has exited";
    d.suspects.push_back(s->host_rank);
  }
  d.message = m.str();
  return d;
}

std::string first_line(const char* what) {
  std::string s = what != nullptr ? what : "";
  auto end = s.find('\n');
  if (end != std::string::npos) s.resize(end);
  return s;
}

}  // namespace

struct uts_store_t {
  c10::intrusive_ptr<c10d::Store> store;
  std::string description;
  int host_rank;
};

struct uts_process_group_t {
  c10::intrusive_ptr<c10d::ProcessGroup> group;
  std::shared_ptr<Liveness> liveness;
  std::thread heartbeat;
  std::future<void> heartbeat_done;
  std::string backend;
  millis timeout{0};
  bool broken = false;
  std::string broken_message;
  std::vector<int32_t> suspects;

  ~uts_process_group_t() {
    if (liveness) {
      liveness->stop.store(true);
      liveness->wake.notify_all();
    }
    if (heartbeat.joinable()) {
      // A heartbeat blocked on a dead store is left to finish on its own (it owns what it uses).
      if (heartbeat_done.valid() && heartbeat_done.wait_for(liveness->interval + 2s) == std::future_status::ready)
        heartbeat.join();
      else
        heartbeat.detach();
    }
  }
};

namespace {

uts_process_group_t& get_group(uts_process_group g) {
  if (g == nullptr) throw uts::invalid_argument("process group is a null handle");
  if (g->broken)
    throw distributed_error("the process group is unusable after an earlier failure: " + g->broken_message);
  return *g;
}

// Waits for one collective and turns its failure into a distributed_error naming the suspects.
void finish(uts_process_group_t& g, const char* what, int64_t sequence, const c10::intrusive_ptr<c10d::Work>& work) {
  try {
    if (!work->wait(g.timeout)) throw std::runtime_error("the collective was aborted");
  } catch (const std::exception& e) {
    const char* raw = e.what();
    if (const auto* ce = dynamic_cast<const c10::Error*>(&e)) raw = ce->what_without_backtrace();
    Diagnosis d = diagnose_within(g.liveness);
    std::ostringstream m;
    m << "rank " << g.liveness->rank << " of " << g.liveness->size << ": " << what << " #" << sequence
      << " failed (timeout " << g.timeout.count() << " ms): " << first_line(raw) << "; " << d.message;
    g.broken = true;
    g.broken_message = m.str();
    g.suspects = d.suspects;
    throw distributed_error(m.str());
  }
}

// Gathers the tensors into buckets of one dtype and device, at most bucket_bytes each (a larger
// tensor gets a bucket of its own).
std::vector<std::vector<size_t>> buckets_of(const std::vector<at::Tensor>& tensors, int64_t bucket_bytes) {
  std::vector<std::vector<size_t>> buckets;
  int64_t bytes = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    const int64_t n = static_cast<int64_t>(t.numel() * t.element_size());
    bool fits = !buckets.empty() && bytes + n <= bucket_bytes;
    if (fits) {
      const auto& head = tensors[buckets.back().front()];
      fits = head.scalar_type() == t.scalar_type() && head.device() == t.device();
    }
    if (!fits) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(i);
    bytes += n;
  }
  return buckets;
}

at::Tensor pack(const std::vector<at::Tensor>& tensors, const std::vector<size_t>& bucket) {
  if (bucket.size() == 1) return tensors[bucket[0]].reshape(-1).clone();
  std::vector<at::Tensor> flat;
  flat.reserve(bucket.size());
  for (size_t i : bucket) flat.push_back(tensors[i].reshape(-1));
  return at::cat(flat);
}

void unpack(const at::Tensor& flat, std::vector<at::Tensor>& tensors, const std::vector<size_t>& bucket) {
  int64_t offset = 0;
  for (size_t i : bucket) {
    auto& t = tensors[i];
    const int64_t n = t.numel();
    t.copy_(flat.narrow(0, offset, n).view(t.sizes()));
    offset += n;
  }
}

enum class Collective { Mean, Broadcast };

void run_bucketed(uts_process_group_t& g, std::vector<at::Tensor>& tensors, int64_t bucket_bytes, Collective kind,
                  int root) {
  if (bucket_bytes < 1) throw uts::invalid_argument("bucket size must be at least 1 byte");
  for (const auto& t : tensors) {
    if (kind == Collective::Mean && !at::isFloatingType(t.scalar_type()))
      throw uts::invalid_argument(std::string("averaging needs floating-point tensors, got ") + c10::toString(t.scalar_type()));
  }
  at::NoGradGuard no_grad;
  const auto buckets = buckets_of(tensors, bucket_bytes);
  // Every bucket is issued before the first is awaited: Gloo's workers send bucket k while this
  // thread packs bucket k + 1.
  std::vector<at::Tensor> flats;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  std::vector<int64_t> sequences;
  const char* what = kind == Collective::Mean ? "allreduce" : "broadcast";
  for (const auto& bucket : buckets) {
    flats.push_back(pack(tensors, bucket));
    std::vector<at::Tensor> one{flats.back()};
    sequences.push_back(++g.liveness->sequence);
    if (kind == Collective::Mean) {
      works.push_back(g.group->allreduce(one));
    } else {
      c10d::BroadcastOptions options;
      options.rootRank = root;
      works.push_back(g.group->broadcast(one, options));
    }
  }
  for (size_t b = 0; b < buckets.size(); ++b) {
    finish(g, what, sequences[b], works[b]);
    if (kind == Collective::Mean) flats[b].div_(g.liveness->size);
    unpack(flats[b], tensors, buckets[b]);
  }
}

}  // namespace

extern "C" {

int64_t uts_live_distributed_objects(void) { return live_objects().load(std::memory_order_relaxed); }

uts_status uts_distributed_backend_available(int32_t backend, uint8_t* available) {
  UTS_TRY
  auto& slot = uts::out_param(available, "available");
  switch (backend) {
    case UTS_BACKEND_GLOO: slot = 1; break;
    case UTS_BACKEND_NCCL:
#ifdef UTS_WITH_NCCL
      slot = 1;
#else
      slot = 0;
#endif
      break;
    default: throw uts::invalid_argument("unknown backend code " + std::to_string(backend));
  }
  UTS_CATCH
}

uts_status uts_tcp_store_create(const char* host, int32_t port, uint8_t is_server, int32_t world_size,
                                int64_t timeout_ms, uts_store* out) {
  UTS_TRY
  auto& slot = uts::out_param(out, "out");
  slot = nullptr;
  const std::string h = text(host, "host");
  if (h.empty()) throw uts::invalid_argument("host is empty");
  if (port < 1 || port > 65535) throw uts::invalid_argument("port must lie in 1..65535, got " + std::to_string(port));
  if (world_size < 1) throw uts::invalid_argument("world size must be at least 1, got " + std::to_string(world_size));
  if (timeout_ms < 1) throw uts::invalid_argument("timeout must be at least 1 ms");
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(port);
  options.isServer = is_server != 0;
  options.numWorkers = static_cast<size_t>(world_size);
  options.waitWorkers = true;
  options.timeout = millis(timeout_ms);
  const std::string description = "tcp://" + h + ":" + std::to_string(port);
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(h, options);
  } catch (const std::exception& e) {
    const char* raw = e.what();
    if (const auto* ce = dynamic_cast<const c10::Error*>(&e)) raw = ce->what_without_backtrace();
    throw distributed_error("rendezvous at " + description + (is_server ? " (serving it)" : " (as a client)") +
                            " failed within " + std::to_string(timeout_ms) + " ms: " + first_line(raw));
  }
  slot = new uts_store_t{std::move(store), description, 0};
  live_objects().fetch_add(1);
  UTS_CATCH
}

uts_status uts_file_store_create(const char* path, int32_t world_size, int64_t timeout_ms, uts_store* out) {
  UTS_TRY
  auto& slot = uts::out_param(out, "out");
  slot = nullptr;
  const std::string p = text(path, "path");
  if (p.empty()) throw uts::invalid_argument("path is empty");
  if (world_size < 1) throw uts::invalid_argument("world size must be at least 1, got " + std::to_string(world_size));
  if (timeout_ms < 1) throw uts::invalid_argument("timeout must be at least 1 ms");
  auto store = c10::make_intrusive<c10d::FileStore>(p, world_size);
  store->setTimeout(millis(timeout_ms));
  slot = new uts_store_t{std::move(store), "file://" + p, -1};
  live_objects().fetch_add(1);
  UTS_CATCH
}

uts_status uts_store_free(uts_store store) {
  UTS_TRY
  if (store == nullptr) return UTS_OK;
  delete store;
  live_objects().fetch_sub(1);
  UTS_CATCH
}

uts_status uts_store_set(uts_store store, const char* key, const void* data, int64_t nbytes) {
  UTS_TRY
  if (store == nullptr) throw uts::invalid_argument("store is a null handle");
  const std::string k = text(key, "key");
  if (nbytes < 0 || (nbytes > 0 && data == nullptr)) throw uts::invalid_argument("value buffer is null");
  const auto* bytes = static_cast<const uint8_t*>(data);
  store->store->set("user/" + k, std::vector<uint8_t>(bytes, bytes + nbytes));
  UTS_CATCH
}

uts_status uts_store_get(uts_store store, const char* key, void* buffer, int64_t capacity, int64_t* nbytes) {
  UTS_TRY
  if (store == nullptr) throw uts::invalid_argument("store is a null handle");
  const std::string k = text(key, "key");
  auto& size = uts::out_param(nbytes, "nbytes");
  std::vector<uint8_t> value;
  try {
    value = store->store->get("user/" + k);  // waits up to the store's timeout for the key
  } catch (const std::exception& e) {
    const char* raw = e.what();
    if (const auto* ce = dynamic_cast<const c10::Error*>(&e)) raw = ce->what_without_backtrace();
    throw distributed_error("reading key '" + k + "' from " + store->description + " failed: " + first_line(raw));
  }
  size = static_cast<int64_t>(value.size());
  if (capacity < size || (size > 0 && buffer == nullptr))
    throw uts::invalid_argument("value buffer holds " + std::to_string(capacity) + " bytes, the value has " +
                                std::to_string(size));
  if (size > 0) std::memcpy(buffer, value.data(), value.size());
  UTS_CATCH
}

uts_status uts_process_group_create(uts_store store, int32_t backend, int32_t rank, int32_t world_size,
                                    int64_t timeout_ms, uts_process_group* out) {
  UTS_TRY
  auto& slot = uts::out_param(out, "out");
  slot = nullptr;
  if (store == nullptr) throw uts::invalid_argument("store is a null handle");
  if (world_size < 1) throw uts::invalid_argument("world size must be at least 1, got " + std::to_string(world_size));
  if (rank < 0 || rank >= world_size)
    throw uts::invalid_argument("rank " + std::to_string(rank) + " is outside 0.." + std::to_string(world_size - 1));
  if (timeout_ms < 1) throw uts::invalid_argument("timeout must be at least 1 ms");
  const millis timeout(timeout_ms);
  auto liveness = std::make_shared<Liveness>();
  liveness->store = c10::make_intrusive<c10d::PrefixStore>("uts", store->store);
  liveness->store_description = store->description;
  liveness->host_rank = store->host_rank;
  liveness->rank = rank;
  liveness->size = world_size;
  liveness->interval = std::clamp(timeout / 10, millis(100), millis(1000));
  auto pg_store = c10::make_intrusive<c10d::PrefixStore>("pg", store->store);

  try {
    const std::string one = "1";
    liveness->store->set("joined/" + std::to_string(rank), std::vector<uint8_t>(one.begin(), one.end()));
  } catch (const std::exception& e) {
    throw distributed_error("rank " + std::to_string(rank) + " cannot write to " + store->description + ": " + first_line(e.what()));
  }
  auto group = std::make_unique<uts_process_group_t>();
  group->timeout = timeout;
  group->liveness = liveness;
  try {
    switch (backend) {
      case UTS_BACKEND_GLOO: {
        auto options = c10d::ProcessGroupGloo::Options::create(timeout);
        // Loopback for a single-host world; otherwise the interface that resolves this host's
        // name (GLOO_SOCKET_IFNAME picks one explicitly, as in PyTorch).
        if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname != '\0')
          options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
        else
          options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
        group->group = c10::make_intrusive<c10d::ProcessGroupGloo>(pg_store, rank, world_size, options);
        group->backend = "gloo";
        break;
      }
      case UTS_BACKEND_NCCL: {
#ifdef UTS_WITH_NCCL
        // Blocking wait makes Work::wait honour the timeout and throw, as Gloo does.
        ::setenv("NCCL_BLOCKING_WAIT", "1", 0);
        auto options = c10d::ProcessGroupNCCL::Options::create();
        options->timeout = timeout;
        group->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(pg_store, rank, world_size, options);
        group->backend = "nccl";
        break;
#else
        throw unsupported(
            "the NCCL backend is not compiled into this native shim (it was built against a CPU libtorch, "
            "or with -DUTS_WITH_NCCL=OFF): use the Gloo backend, or rebuild the shim against a CUDA libtorch");
#endif
      }
      default: throw uts::invalid_argument("unknown backend code " + std::to_string(backend));
    }
  } catch (const distributed_error&) {
    throw;
  } catch (const unsupported&) {
    throw;
  } catch (const uts::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    const char* raw = e.what();
    if (const auto* ce = dynamic_cast<const c10::Error*>(&e)) raw = ce->what_without_backtrace();
    std::string missing;
    try {
      for (int r = 0; r < world_size; ++r)
        if (r != rank && !liveness->store->check({"joined/" + std::to_string(r)})) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
    } catch (...) {
      missing = "unknown (the store does not answer)";
    }
    throw distributed_error("rank " + std::to_string(rank) + " of " + std::to_string(world_size) + ": creating the " +
                            (backend == UTS_BACKEND_NCCL ? "NCCL" : "Gloo") + " process group over " + store->description +
                            " failed within " + std::to_string(timeout_ms) + " ms: " + first_line(raw) +
                            (missing.empty() ? "" : "; ranks that never joined: " + missing));
  }
  std::promise<void> done;
  group->heartbeat_done = done.get_future();
  group->heartbeat = std::thread(beat, liveness, std::move(done));
  slot = group.release();
  live_objects().fetch_add(1);
  UTS_CATCH
}

uts_status uts_process_group_free(uts_process_group group) {
  UTS_TRY
  if (group == nullptr) return UTS_OK;
  delete group;
  live_objects().fetch_sub(1);
  UTS_CATCH
}

uts_status uts_process_group_suspects(uts_process_group group, int32_t* ranks, int32_t capacity, int32_t* count) {
  UTS_TRY
  if (group == nullptr) throw uts::invalid_argument("process group is a null handle");
  auto& n = uts::out_param(count, "count");
  n = static_cast<int32_t>(group->suspects.size());
  if (capacity < n || (n > 0 && ranks == nullptr)) throw uts::invalid_argument("rank buffer is too small");
  for (int32_t i = 0; i < n; ++i) ranks[i] = group->suspects[static_cast<size_t>(i)];
  UTS_CATCH
}

uts_status uts_allreduce_mean(uts_process_group group, const uts_tensor* tensors, int32_t count, int64_t bucket_bytes) {
  UTS_TRY
  auto& g = get_group(group);
  auto list = uts::tensor_list(tensors, count);
  run_bucketed(g, list, bucket_bytes, Collective::Mean, 0);
  UTS_CATCH
}

uts_status uts_allreduce_grads_mean(uts_process_group group, const uts_tensor* params, int32_t count,
                                    int64_t bucket_bytes) {
  UTS_TRY
  auto& g = get_group(group);
  auto list = uts::tensor_list(params, count);
  std::vector<at::Tensor> grads;
  grads.reserve(list.size());
  for (auto& p : list) {
    // A parameter this rank did not use still takes part, with a zero gradient, so every rank
    // reduces the same layout.
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    grads.push_back(p.grad());
  }
  run_bucketed(g, grads, bucket_bytes, Collective::Mean, 0);
  UTS_CATCH
}

uts_status uts_broadcast(uts_process_group group, const uts_tensor* tensors, int32_t count, int32_t root,
                         int64_t bucket_bytes) {
  UTS_TRY
  auto& g = get_group(group);
  if (root < 0 || root >= g.liveness->size)
    throw uts::invalid_argument("root rank " + std::to_string(root) + " is outside 0.." + std::to_string(g.liveness->size - 1));
  auto list = uts::tensor_list(tensors, count);
  run_bucketed(g, list, bucket_bytes, Collective::Broadcast, root);
  UTS_CATCH
}

uts_status uts_barrier(uts_process_group group) {
  UTS_TRY
  auto& g = get_group(group);
  const int64_t sequence = ++g.liveness->sequence;
  auto work = g.group->barrier();
  finish(g, "barrier", sequence, work);
  UTS_CATCH
}

}  // extern "C"
