// SequenceSource: the sequences' checks, the choice of how each is read, windows read and
// converted (through memory or by position), prefetched, and their mapped pages released; the
// sequences opened on demand kept in a LazyShards.
#include "nocopy/pipeline/sources/sequence_source.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

#include "internal/checked_math.hpp"
#include "internal/lazy_shards.hpp"
#include "nocopy/pipeline/kernels/sequence_gather.hpp"
#include "nocopy/storage/mapped_file.hpp"

namespace nocopy {

namespace {

/// Resident bytes the reads of mapped sequences may accumulate before their pages are unmapped.
constexpr int64_t kReleaseBytes = int64_t{32} << 20;
/// Mapped sequences up to this size in all are read through their mappings and left resident:
/// their resident size is bounded by themselves, and copying from resident pages is the
/// fastest read (about twice pread's rate for 64 KiB windows here; docs/BENCHMARKS.md).
constexpr int64_t kResidentBytes = int64_t{256} << 20;
/// Windows read through a mapping are prefetched their first kPrefetchBytes each (the hardware
/// prefetcher follows a longer window once it has started). Measured (docs/BENCHMARKS.md):
/// 1.18x for 64 x 1024 token batches with one worker thread, no change with two; 1.09x for the
/// series batches.
constexpr size_t kPrefetchBytes = 4096;
/// Pages the kernel may map around a faulting one (fault-around, 64 KiB by default), each side.
constexpr int64_t kFaultAroundBytes = int64_t{64} << 10;

/// std::invalid_argument unless `in` is a dtype sequences may hold.
void check_dtype(DType in) {
  if (in == DType::Bool || is_complex(in)) {
    throw std::invalid_argument("data dtype " + std::string(dtype_name(in)) +
                                " is not supported (integer tokens or a real-valued series)");
  }
}

std::vector<View> checked(std::vector<View> sequences) {
  if (sequences.empty()) throw std::invalid_argument("data is an empty list of sequences");
  const View& first = sequences.front();
  for (size_t s = 0; s < sequences.size(); ++s) {
    const View& v = sequences[s];
    const std::string name = "sequence " + std::to_string(s);
    v.require_host(name.c_str());
    if (v.ndim() != 1 && v.ndim() != 2) {
      throw std::invalid_argument(name + " has shape " + format_tuple(v.shape()) +
                                  "; sequences are 1-D (tokens) or 2-D (steps, features)");
    }
    if (v.ndim() != first.ndim() || (v.ndim() == 2 && v.shape()[1] != first.shape()[1])) {
      throw std::invalid_argument(name + " has shape " + format_tuple(v.shape()) +
                                  " but sequence 0 has " + format_tuple(first.shape()) +
                                  "; every sequence needs the same number of features");
    }
    if (v.dtype() != first.dtype()) {
      throw std::invalid_argument(name + " has dtype " + std::string(dtype_name(v.dtype())) +
                                  " but sequence 0 has " + std::string(dtype_name(first.dtype())));
    }
  }
  check_dtype(first.dtype());
  if (first.ndim() == 2 && first.shape()[1] == 0) {
    throw std::invalid_argument("the series has shape " + format_tuple(first.shape()) +
                                ": no features");
  }
  return sequences;
}

SequenceShardsLayout checked(SequenceShardsLayout layout) {
  if (layout.lengths.empty()) throw std::invalid_argument("a sharded dataset has no shard");
  for (size_t k = 0; k < layout.lengths.size(); ++k) {
    if (layout.lengths[k] < 0) {
      throw std::invalid_argument("shard " + std::to_string(k) + " has a negative length " +
                                  std::to_string(layout.lengths[k]));
    }
  }
  if (layout.row_shape.size() > 1 || (layout.row_shape.size() == 1 && layout.row_shape[0] < 1)) {
    throw std::invalid_argument("a row of shape " + format_tuple(layout.row_shape) +
                                " is not () (tokens) or (F) with F >= 1 (a series)");
  }
  check_dtype(layout.dtype);
  if (layout.max_open < 1) {
    throw std::invalid_argument("max_open " + std::to_string(layout.max_open) + " must be >= 1");
  }
  return layout;
}

/// Bytes of a sequence of `rows` rows of `row_shape`, `item` bytes each.
int64_t sequence_bytes(int64_t rows, const std::vector<int64_t>& row_shape, size_t item) {
  const int64_t features = row_shape.empty() ? 1 : row_shape[0];
  return checked_mul(checked_mul(rows, features, "data"), static_cast<int64_t>(item), "data bytes");
}

}  // namespace

/// A sequence opened for reading: its view, the positional reader of its file when it is read
/// by position, and whether the pages read through its mapping are released.
class OpenSequence {
 public:
  /// `large`: the source's data is beyond the resident limit (see the file comment).
  OpenSequence(View view, bool large) : view_(std::move(view)) {
    const ViewStorage storage = storage_of(view_);
    if (!storage.mapped || view_.nbytes() == 0) return;
    // Larger data: a file (or shared-array segment) mapping whose windows are contiguous is read
    // by position (no page faults, no page of the mapping resident; faster than faulting
    // released pages back in).
    if (large && view_.is_c_contiguous()) {
      reader_ = positional_reader(view_);
      if (reader_) return;
    }
    // Random windows: no read-ahead around each one (it dominates reads of uncached files).
    advise(view_, Advice::Random);
    // Pages read from larger data are unmapped again (not on copy-on-write mappings, where
    // DONTNEED would drop private writes).
    release_ = large && !storage.copy_on_write;
  }

  const View& view() const { return view_; }
  bool by_position() const { return reader_ != nullptr; }
  bool releases() const { return release_; }

  /// The window of `window_rows` rows at `start`, each part converted into its slot; `index`
  /// names the sequence in messages, `scratch_bytes` is a window's source bytes.
  void read_window(int64_t index, int64_t start, int64_t window_rows,
                   std::span<const WindowPart> parts, DType out, bool check_range,
                   size_t scratch_bytes) const {
    const RowSpan w = source_rows(view_, index, start, window_rows);
    const ReadAt* file = reader_.get();
    if (file == nullptr) {
      for (const WindowPart& p : parts) {
        convert_rows(w.sub(p.first, p.rows), index, start + p.first, out, check_range, p.dst);
      }
      return;
    }
    // By position: straight into the slots when nothing is converted, else the window once into
    // this worker's scratch and converted from there.
    const auto row_bytes = static_cast<int64_t>(view_.itemsize()) * w.cols;
    const int64_t offset =
        static_cast<const char*>(w.first) - static_cast<const char*>(view_.data());
    if (view_.dtype() == out && !check_range) {
      for (const WindowPart& p : parts) {
        file->read(p.dst, static_cast<size_t>(p.rows * row_bytes), offset + p.first * row_bytes);
      }
      return;
    }
    static thread_local std::vector<char> scratch;
    if (scratch.size() < scratch_bytes) scratch.resize(scratch_bytes);
    file->read(scratch.data(), static_cast<size_t>(w.rows * row_bytes), offset);
    RowSpan copy = w;
    copy.first = scratch.data();
    copy.row_stride = w.cols;
    for (const WindowPart& p : parts) {
      convert_rows(copy.sub(p.first, p.rows), index, start + p.first, out, check_range, p.dst);
    }
  }

  /// Starts loading the window at `start` into the cache (through a mapping only).
  void prefetch_window(int64_t start, int64_t window_rows) const noexcept {
    if (reader_) return;  // read by position: nothing of the mapping to load
    if (!rows_inside(view_, start, window_rows)) return;  // read_window reports it
    prefetch_rows(all_rows(view_).sub(start, window_rows), kPrefetchBytes);
  }

  /// Unmaps the pages read (the file keeps them in its page cache).
  void release_pages() const noexcept {
    if (release_) advise(view_, Advice::DontNeed);
  }

 private:
  View view_;
  std::unique_ptr<ReadAt> reader_;
  bool release_ = false;
};

/// Sequences opened on demand: the provider, the layout, the open ones (LazyShards), which were
/// hinted since they last opened, and the open ones whose read pages are released.
struct LazySequenceState {
  LazySequenceState(LazySequences s, bool large_data)
      : provider(std::move(s.provider)),
        layout(checked(std::move(s.layout))),
        large(large_data),
        shards(layout.lengths.size(), layout.max_open),
        hinted(layout.lengths.size()),
        releasing(layout.lengths.size()),
        mapped(layout.lengths.size()) {
    if (!provider) throw std::invalid_argument("a sharded source needs a shard provider");
  }

  /// Sequence k from the provider, checked against the layout.
  std::shared_ptr<const OpenSequence> open(size_t k) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      hinted[k] = 0;  // a later closing may hint it again
    }
    View v = provider->open(k);
    const std::string name = "shard " + std::to_string(k);
    v.require_host(name.c_str());
    std::vector<int64_t> shape{layout.lengths[k]};
    shape.insert(shape.end(), layout.row_shape.begin(), layout.row_shape.end());
    if (v.shape() != shape || v.dtype() != layout.dtype) {
      throw std::runtime_error(name + " holds " + format_tuple(v.shape()) + " " +
                               std::string(dtype_name(v.dtype())) + ", the index says " +
                               format_tuple(shape) + " " + std::string(dtype_name(layout.dtype)));
    }
    auto opened = std::make_shared<const OpenSequence>(std::move(v), large);
    const View& view = opened->view();
    if (!opened->by_position() && view.is_c_contiguous()) {
      mapped[k].store(static_cast<const char*>(view.data()), std::memory_order_relaxed);
    }
    if (opened->releases()) {
      std::lock_guard<std::mutex> lock(mutex);
      releasing[k] = opened;
    }
    return opened;
  }

  std::shared_ptr<const SequenceShardProvider> provider;
  SequenceShardsLayout layout;
  bool large = false;
  internal::LazyShards<std::shared_ptr<const OpenSequence>> shards;
  std::mutex mutex;  // guards hinted and releasing
  std::vector<uint8_t> hinted;
  std::vector<std::weak_ptr<const OpenSequence>> releasing;
  /// First byte of each C-contiguous sequence read through its mapping, once opened, for
  /// prefetch_window only: it may outlive the mapping (the shard closed), and a CPU prefetch of
  /// an address no longer mapped is dropped, never a fault.
  std::vector<std::atomic<const char*>> mapped;
};

SequenceSource::SequenceSource(std::vector<View> sequences, int64_t window_rows) {
  sequences = checked(std::move(sequences));
  const View& first = sequences.front();
  for (const View& v : sequences) lengths_.push_back(v.shape()[0]);
  if (first.ndim() == 2) row_shape_ = {first.shape()[1]};
  dtype_ = first.dtype();
  int64_t mapped_bytes = 0;
  for (const View& v : sequences) {
    if (storage_of(v).mapped) {
      mapped_bytes = checked_add(mapped_bytes, static_cast<int64_t>(v.nbytes()), "data bytes");
    }
  }
  large_ = mapped_bytes > kResidentBytes;
  for (View& v : sequences) {
    auto opened = std::make_shared<const OpenSequence>(std::move(v), large_);
    reads_by_position_ = reads_by_position_ || opened->by_position();
    open_.push_back(std::move(opened));
  }
  size_windows(window_rows);
}

SequenceSource::SequenceSource(LazySequences sequences, int64_t window_rows) {
  const SequenceShardsLayout& given = sequences.layout;
  int64_t bytes = 0;
  for (int64_t n : given.lengths) {
    bytes = checked_add(
        bytes, sequence_bytes(std::max<int64_t>(n, 0), given.row_shape, itemsize(given.dtype)),
        "data bytes");
  }
  large_ = bytes > kResidentBytes;
  lazy_ = std::make_shared<LazySequenceState>(std::move(sequences), large_);
  lengths_ = lazy_->layout.lengths;
  row_shape_ = lazy_->layout.row_shape;
  dtype_ = lazy_->layout.dtype;
  reads_by_position_ = large_;  // shards are mapped files: large ones are read by position
  size_windows(window_rows);
}

void SequenceSource::size_windows(int64_t window_rows) {
  window_rows_ = window_rows;
  const int64_t features = row_shape_.empty() ? 1 : row_shape_[0];
  const auto in_item = static_cast<int64_t>(itemsize(dtype_));
  window_cost_ = checked_add(
      checked_mul(checked_mul(window_rows, features, "window"), in_item, "window bytes"),
      2 * kFaultAroundBytes, "window bytes");
  scratch_bytes_ = static_cast<size_t>(window_rows) * static_cast<size_t>(features) *
                   static_cast<size_t>(in_item);
}

std::vector<ByteRange> SequenceSource::extents() const {
  std::vector<ByteRange> out;
  out.reserve(open_.size());
  for (const auto& s : open_) out.push_back(s->view().byte_extent());
  return out;
}

std::shared_ptr<const OpenSequence> SequenceSource::sequence(size_t s) const {
  LazySequenceState& state = *lazy_;
  return state.shards.acquire(s, [&state](size_t k) { return state.open(k); });
}

void SequenceSource::read_window(size_t s, int64_t start, std::span<const WindowPart> parts,
                                 DType out, bool check_range) const {
  const auto index = static_cast<int64_t>(s);
  if (!lazy_) {
    open_[s]->read_window(index, start, window_rows_, parts, out, check_range, scratch_bytes_);
    return;
  }
  // The handle keeps the sequence mapped while this window is read, even if it is closed.
  const std::shared_ptr<const OpenSequence> held = sequence(s);
  held->read_window(index, start, window_rows_, parts, out, check_range, scratch_bytes_);
}

void SequenceSource::prefetch_window(size_t s, int64_t start) const noexcept {
  if (!lazy_) {
    open_[s]->prefetch_window(start, window_rows_);
    return;
  }
  // Sequences opened on demand: only one opened already (never blocking on an opening), from
  // the address it was mapped at.
  const char* base = lazy_->mapped[s].load(std::memory_order_relaxed);
  if (base == nullptr || start < 0 || start > lengths_[s] - window_rows_) return;
  const int64_t cols = row_shape_.empty() ? 1 : row_shape_[0];
  RowSpan span;
  span.first = base + static_cast<size_t>(start * cols) * itemsize(dtype_);
  span.dtype = dtype_;
  span.rows = window_rows_;
  span.cols = cols;
  span.row_stride = cols;
  prefetch_rows(span, kPrefetchBytes);
}

void SequenceSource::will_read(std::span<const int64_t> sequences) const noexcept {
  if (!lazy_) return;
  LazySequenceState& state = *lazy_;
  for (int64_t i : sequences) {
    if (i < 0 || i >= size()) continue;
    const auto k = static_cast<size_t>(i);
    {
      std::lock_guard<std::mutex> lock(state.mutex);
      if (state.hinted[k] != 0) continue;
    }
    if (!state.shards.closed(k)) continue;
    {
      std::lock_guard<std::mutex> lock(state.mutex);
      if (state.hinted[k] != 0) continue;
      state.hinted[k] = 1;
    }
    state.provider->prefetch(k);
  }
}

void SequenceSource::after_windows(int64_t windows) {
  unreleased_bytes_ += windows * window_cost_;
  if (unreleased_bytes_ < kReleaseBytes) return;
  unreleased_bytes_ = 0;
  // The pages stay in the page cache: a later read maps them again without I/O.
  if (!lazy_) {
    for (const auto& s : open_) s->release_pages();
    return;
  }
  std::vector<std::shared_ptr<const OpenSequence>> open;
  {
    std::lock_guard<std::mutex> lock(lazy_->mutex);
    for (auto& weak : lazy_->releasing) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  for (const auto& s : open) s->release_pages();
}

}  // namespace nocopy
