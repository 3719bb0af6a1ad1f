// nocopy::copy: validation, loop planning (drop unit axes, order by the destination, coalesce
// contiguous axes) and the split of the flattened index range over threads.
#include "nocopy/core/copy.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "copy_kernels.hpp"
#include "nocopy/core/copy_policy.hpp"
#include "nocopy/core/errors.hpp"
#include "nocopy/core/thread_pool.hpp"

namespace nocopy {
namespace {

// One loop axis: length and byte strides in the source and the destination.
struct Axis {
  int64_t n;
  int64_t ss;
  int64_t ds;
};

// The loops of one copy: axes outermost first, the innermost one handed to the kernel.
struct Plan {
  const char* src;
  char* dst;
  std::vector<Axis> axes;
  detail::ConvertKernel kernel;
};

Plan make_plan(const View& src, const View& dst) {
  const auto si = static_cast<int64_t>(src.itemsize());
  const auto di = static_cast<int64_t>(dst.itemsize());
  Plan p{static_cast<const char*>(src.data()),
         static_cast<char*>(dst.data()),
         {},
         detail::convert_kernel(src.dtype(), dst.dtype())};
  // Byte offsets of the first elements after flips; the pointers are formed once, at the end.
  int64_t s0 = 0, d0 = 0;
  for (int64_t i = 0; i < src.ndim(); ++i) {
    const int64_t n = src.shape()[i];
    if (n == 1) continue;
    Axis a{n, src.strides()[i] * si, dst.strides()[i] * di};
    if (a.ds < 0) {  // walk the destination forward; the element pairing is unchanged
      s0 += (n - 1) * a.ss;
      d0 += (n - 1) * a.ds;
      a.ss = -a.ss;
      a.ds = -a.ds;
    }
    p.axes.push_back(a);
  }
  p.src += s0;
  p.dst += d0;
  // Destination order: the smallest destination stride innermost (stable keeps ties in order).
  std::stable_sort(p.axes.begin(), p.axes.end(),
                   [](const Axis& a, const Axis& b) { return a.ds > b.ds; });
  // Coalesce neighbours that are contiguous in both arrays into one longer axis.
  std::vector<Axis> merged;
  for (const Axis& a : p.axes) {
    if (!merged.empty()) {
      Axis& outer = merged.back();
      if (outer.ss == a.ss * a.n && outer.ds == a.ds * a.n) {
        outer = Axis{outer.n * a.n, a.ss, a.ds};
        continue;
      }
    }
    merged.push_back(a);
  }
  if (merged.empty()) merged.push_back(Axis{1, si, di});  // 0-d or all unit axes
  p.axes = std::move(merged);
  return p;
}

// Copies elements [begin, end) of the flattened (C-order over plan axes) index range.
void run_range(const Plan& p, int64_t begin, int64_t end) {
  const auto k = static_cast<int64_t>(p.axes.size());
  const Axis& inner = p.axes[k - 1];
  std::vector<int64_t> idx(k);
  int64_t soff = 0, doff = 0, rem = begin;
  for (int64_t a = k; a-- > 0;) {
    idx[a] = rem % p.axes[a].n;
    rem /= p.axes[a].n;
    soff += idx[a] * p.axes[a].ss;
    doff += idx[a] * p.axes[a].ds;
  }
  int64_t left = end - begin;
  while (left > 0) {
    const int64_t run = std::min(inner.n - idx[k - 1], left);
    p.kernel(p.src + soff, inner.ss, p.dst + doff, inner.ds, run);
    left -= run;
    if (left == 0) break;
    idx[k - 1] += run;
    soff += run * inner.ss;
    doff += run * inner.ds;
    for (int64_t a = k - 1; a > 0 && idx[a] == p.axes[a].n; --a) {  // odometer carry
      idx[a] = 0;
      soff += p.axes[a - 1].ss - p.axes[a].n * p.axes[a].ss;
      doff += p.axes[a - 1].ds - p.axes[a].n * p.axes[a].ds;
      ++idx[a - 1];
    }
  }
}

int resolve_threads(int num_threads) {
  if (num_threads < 0) {
    throw std::invalid_argument("num_threads must be >= 0 (0 = all usable cores), got " +
                                std::to_string(num_threads));
  }
  if (num_threads > 0) return num_threads;
  return static_cast<int>(usable_cores());  // the cores this process may run on, like the loader
}

// A parallel copy: chunks of the flattened range claimed dynamically by the caller and helper
// tasks on the shared pool. The caller waits only for chunks someone claimed, never for a helper
// that has not started yet (the pool may be busy, or the caller may be one of its workers);
// helpers hold the job, so a late one finds no work and returns without touching the arrays.
struct Job {
  Plan plan;
  int64_t size = 0;
  int64_t unit = 1;    // elements per unit (whole inner runs, or 64 elements)
  int64_t units = 0;   // units in the range
  int64_t chunks = 0;  // units are dealt out in this many chunks
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};
  std::mutex mutex;
  std::condition_variable finished;

  int64_t bound(int64_t c) const {
    return std::min(size, ((units / chunks) * c + std::min(c, units % chunks)) * unit);
  }
};

void work(Job& job) {
  int64_t mine = 0;
  for (int64_t c; (c = job.next.fetch_add(1)) < job.chunks; ++mine) {
    run_range(job.plan, job.bound(c), job.bound(c + 1));
  }
  if (mine > 0 && job.done.fetch_add(mine) + mine == job.chunks) {
    std::lock_guard<std::mutex> lock(job.mutex);
    job.finished.notify_all();
  }
}

void run_parallel(const Plan& p, int64_t size, int threads, int64_t chunks) {
  auto job = std::make_shared<Job>();
  job->plan = p;
  job->size = size;
  const int64_t inner = p.axes.back().n;
  job->unit = size / inner >= chunks ? inner : 64;
  job->units = (size + job->unit - 1) / job->unit;
  job->chunks = std::min(chunks, job->units);
  try {
    ThreadPool& pool = shared_thread_pool();
    const int helpers = std::min(threads - 1, static_cast<int>(pool.size()));
    for (int i = 0; i < helpers; ++i) pool.submit([job] { work(*job); });
  } catch (...) {
    // No pool or no memory for a task: the caller does the chunks nobody else claims, and
    // still waits for every claimed chunk before the views may go.
  }
  work(*job);
  std::unique_lock<std::mutex> lock(job->mutex);
  job->finished.wait(lock, [&] { return job->done.load() == job->chunks; });
}

void copy_checked(const View& src, const View& dst, int threads) {
  if (src.size() == 0) return;
  const Plan p = make_plan(src, dst);
  const int64_t bytes = src.size() * static_cast<int64_t>(src.itemsize() + dst.itemsize());
  bool dst_overlaps_itself = false;
  for (const Axis& a : p.axes) dst_overlaps_itself |= a.ds == 0;
  if (threads <= 1 || bytes < kParallelCopyBytes || dst_overlaps_itself) {
    run_range(p, 0, src.size());
  } else {
    // At most one thread per 1 MiB; about 256 KiB per chunk, >= 4 chunks per thread.
    threads = static_cast<int>(std::min<int64_t>(threads, bytes >> 20));
    const int64_t chunks = std::clamp<int64_t>(bytes / (int64_t{1} << 18), 4 * threads, 4096);
    run_parallel(p, src.size(), threads, chunks);
  }
}

bool same_geometry(const View& a, const View& b) {
  if (a.data() != b.data() || a.dtype() != b.dtype()) return false;
  for (int64_t i = 0; i < a.ndim(); ++i) {
    if (a.shape()[i] != 1 && a.strides()[i] != b.strides()[i]) return false;
  }
  return true;
}

}  // namespace

void copy(const View& src, const View& dst, int num_threads) {
  if (src.shape() != dst.shape()) {
    throw std::invalid_argument("copy: source shape " + format_tuple(src.shape()) +
                                " does not match destination shape " + format_tuple(dst.shape()));
  }
  const int threads = resolve_threads(num_threads);
  dst.require_writable("copy destination");
  src.require_host("copy source");
  dst.require_host("copy destination");
  if (src.size() == 0) return;
  if (src.byte_extent().overlaps(dst.byte_extent())) {
    if (same_geometry(src, dst)) return;  // every element onto itself
    // Read everything before writing anything, as NumPy does for overlapping operands.
    const View tmp = View::empty(src.dtype(), src.shape());
    copy_checked(src, tmp, threads);
    copy_checked(tmp, dst, threads);
    return;
  }
  copy_checked(src, dst, threads);
}

void convert_elements(const void* src, int64_t src_stride, DType from, void* dst,
                      int64_t dst_stride, DType to, int64_t n) {
  if (n <= 0) return;
  detail::convert_kernel(from, to)(static_cast<const char*>(src), src_stride,
                                   static_cast<char*>(dst), dst_stride, n);
}

View copy_new(const View& src, std::optional<DType> dtype, int num_threads) {
  refuse_copy_if_forbidden("copying a view of shape " + format_tuple(src.shape()));
  src.require_host("copy source");
  View out = View::empty(dtype.value_or(src.dtype()), src.shape());
  copy(src, out, num_threads);
  return out;
}

}  // namespace nocopy
