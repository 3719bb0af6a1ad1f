// SequenceSource: the sequences' checks, the choice of how each is read, windows read and
// converted (through memory or by position), prefetched, and their mapped pages released.
#include "nocopy/pipeline/sources/sequence_source.hpp"

#include <stdexcept>
#include <string>

#include "internal/checked_math.hpp"
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
  const DType in = first.dtype();
  if (in == DType::Bool || is_complex(in)) {
    throw std::invalid_argument("data dtype " + std::string(dtype_name(in)) +
                                " is not supported (integer tokens or a real-valued series)");
  }
  if (first.ndim() == 2 && first.shape()[1] == 0) {
    throw std::invalid_argument("the series has shape " + format_tuple(first.shape()) +
                                ": no features");
  }
  return sequences;
}

}  // namespace

SequenceSource::SequenceSource(std::vector<View> sequences, int64_t window_rows)
    : sequences_(checked(std::move(sequences))), window_rows_(window_rows) {
  for (const View& v : sequences_) lengths_.push_back(v.shape()[0]);
  const View& first = sequences_.front();
  if (first.ndim() == 2) row_shape_ = {first.shape()[1]};
  const int64_t features = first.ndim() == 2 ? first.shape()[1] : 1;
  const auto in_item = static_cast<int64_t>(first.itemsize());
  window_cost_ = checked_add(
      checked_mul(checked_mul(window_rows, features, "window"), in_item, "window bytes"),
      2 * kFaultAroundBytes, "window bytes");
  release_.assign(sequences_.size(), 0);
  readers_.resize(sequences_.size());
  int64_t mapped_bytes = 0;
  for (const View& v : sequences_) {
    if (storage_of(v).mapped) {
      mapped_bytes = checked_add(mapped_bytes, static_cast<int64_t>(v.nbytes()), "data bytes");
    }
  }
  const bool stay_resident = mapped_bytes <= kResidentBytes;
  for (size_t s = 0; s < sequences_.size(); ++s) {
    const ViewStorage storage = storage_of(sequences_[s]);
    if (!storage.mapped || sequences_[s].nbytes() == 0) continue;
    // Larger data: a file (or shared-array segment) mapping whose windows are contiguous is read
    // by position (no page faults, no page of the mapping resident; faster than faulting
    // released pages back in).
    if (!stay_resident && sequences_[s].is_c_contiguous()) {
      readers_[s] = positional_reader(sequences_[s]);
      if (readers_[s]) {
        reads_by_position_ = true;
        continue;
      }
    }
    // Random windows: no read-ahead around each one (it dominates reads of uncached files).
    advise(sequences_[s], Advice::Random);
    // Pages read from larger data are unmapped again (not on copy-on-write mappings, where
    // DONTNEED would drop private writes).
    release_[s] = !stay_resident && !storage.copy_on_write;
  }
  scratch_bytes_ = static_cast<size_t>(window_rows) * static_cast<size_t>(features) *
                   static_cast<size_t>(in_item);
}

std::vector<ByteRange> SequenceSource::extents() const {
  std::vector<ByteRange> out;
  out.reserve(sequences_.size());
  for (const View& v : sequences_) out.push_back(v.byte_extent());
  return out;
}

void SequenceSource::read_window(size_t s, int64_t start, std::span<const WindowPart> parts,
                                 DType out, bool check_range) const {
  const View& src = sequences_[s];
  const auto index = static_cast<int64_t>(s);
  const RowSpan w = source_rows(src, index, start, window_rows_);
  const ReadAt* file = readers_[s].get();
  if (file == nullptr) {
    for (const WindowPart& p : parts) {
      convert_rows(w.sub(p.first, p.rows), index, start + p.first, out, check_range, p.dst);
    }
    return;
  }
  // By position: straight into the slots when nothing is converted, else the window once into
  // this worker's scratch and converted from there.
  const auto row_bytes = static_cast<int64_t>(src.itemsize()) * w.cols;
  const int64_t offset = static_cast<const char*>(w.first) - static_cast<const char*>(src.data());
  if (src.dtype() == out && !check_range) {
    for (const WindowPart& p : parts) {
      file->read(p.dst, static_cast<size_t>(p.rows * row_bytes), offset + p.first * row_bytes);
    }
    return;
  }
  static thread_local std::vector<char> scratch;
  if (scratch.size() < scratch_bytes_) scratch.resize(scratch_bytes_);
  file->read(scratch.data(), static_cast<size_t>(w.rows * row_bytes), offset);
  RowSpan copy = w;
  copy.first = scratch.data();
  copy.row_stride = w.cols;
  for (const WindowPart& p : parts) {
    convert_rows(copy.sub(p.first, p.rows), index, start + p.first, out, check_range, p.dst);
  }
}

void SequenceSource::prefetch_window(size_t s, int64_t start) const noexcept {
  if (readers_[s]) return;  // read by position: nothing of the mapping to load
  const View& src = sequences_[s];
  if (!rows_inside(src, start, window_rows_)) return;  // read_window reports it
  prefetch_rows(all_rows(src).sub(start, window_rows_), kPrefetchBytes);
}

void SequenceSource::after_windows(int64_t windows) {
  unreleased_bytes_ += windows * window_cost_;
  if (unreleased_bytes_ < kReleaseBytes) return;
  unreleased_bytes_ = 0;
  // The pages stay in the page cache: a later read maps them again without I/O.
  for (size_t s = 0; s < sequences_.size(); ++s) {
    if (release_[s]) advise(sequences_[s], Advice::DontNeed);
  }
}

}  // namespace nocopy
