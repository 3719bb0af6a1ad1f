// EngineStats: stage names, totals and the one-line verdict.
#include "nocopy/pipeline/engine/engine_stats.hpp"

#include <cstdio>

namespace nocopy {

std::string_view stage_name(Stage stage) {
  switch (stage) {
    case Stage::Read:
      return "read";
    case Stage::Decode:
      return "decode";
    case Stage::Kernel:
      return "kernel";
  }
  return "?";
}

double EngineStats::stage_seconds(Stage stage) const {
  double total = 0;
  for (const WorkerStats& w : workers) total += w.seconds[static_cast<int>(stage)];
  return total;
}

std::string EngineStats::verdict() const {
  if (batches == 0 || elapsed_s <= 0) return "no batch delivered yet";
  const double waited = 100.0 * consumer_wait_s / elapsed_s;
  const double idle = 100.0 * loader_idle_s / elapsed_s;
  double busy = 0;
  for (const WorkerStats& w : workers) {
    for (double s : w.seconds) busy += s;
  }
  const double workers_busy =
      workers.empty() ? 0.0 : 100.0 * busy / (elapsed_s * static_cast<double>(workers.size()));
  char line[256];
  if (waited >= 10.0) {
    std::snprintf(line, sizeof line,
                  "input-bound: the consumer waited for batches %.0f%% of the time (workers busy "
                  "%.0f%%); more threads or a cheaper pipeline would help",
                  waited, workers_busy);
  } else {
    std::snprintf(line, sizeof line,
                  "consumer-bound: batches were ready when asked for (the consumer waited %.0f%% "
                  "of the time; every prefetched batch sat ready %.0f%%; workers busy %.0f%%)",
                  waited, idle, workers_busy);
  }
  return line;
}

}  // namespace nocopy
