// EngineStats: where a loader's time goes, measured by its batch engine: the workers' busy time
// per stage (read, decode, kernel), the time spent allocating batch buffers, the consumer's
// waits for a ready batch and the loader's waits for the consumer, and recent rates; verdict()
// says in one line which side is slow. Timing costs two clock reads per chunk of samples and per
// delivered batch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nocopy {

/// What a worker spends its time on while it fills slots.
enum class Stage : uint8_t {
  Read,    ///< copying bytes from storage (pread)
  Decode,  ///< decoding compressed samples (JPEG), including their fused resampling
  Kernel,  ///< the fused per-sample pass from memory (crop, resample, normalize, convert)
};
/// Number of stages.
inline constexpr int kNumStages = 3;
/// "read", "decode" or "kernel".
std::string_view stage_name(Stage stage);

/// One worker thread's busy time.
struct WorkerStats {
  /// Seconds spent filling slots, per Stage.
  double seconds[kNumStages] = {0, 0, 0};
  /// Slots filled (or attempted).
  int64_t samples = 0;
};

/// A snapshot of a loader's statistics since it was created.
struct EngineStats {
  /// Batches and samples delivered to the consumer.
  int64_t batches = 0, samples = 0;
  /// Seconds since the loader was created.
  double elapsed_s = 0;
  /// Seconds the consumer spent inside next() waiting for its batch to be ready.
  double consumer_wait_s = 0;
  /// Seconds every prefetched batch was ready and no work was left: the loader waiting for the
  /// consumer.
  double loader_idle_s = 0;
  /// Seconds spent obtaining batch buffers from the allocator, and how many it gave.
  double allocation_s = 0;
  int64_t allocations = 0;
  /// Each worker thread's busy time.
  std::vector<WorkerStats> workers;
  /// Batches and samples per second over the most recent batches (up to 64), 0 before two.
  double recent_batches_per_s = 0, recent_samples_per_s = 0;

  /// Total worker seconds in `stage`.
  double stage_seconds(Stage stage) const;
  /// One line: whether the consumer waits on the loader (input-bound) or the loader on the
  /// consumer, with the measured shares.
  std::string verdict() const;
};

}  // namespace nocopy
