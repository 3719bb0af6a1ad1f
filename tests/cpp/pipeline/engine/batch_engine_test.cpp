// Tests of BatchEngine over a toy producer (each slot holds its epoch and global position): the
// epoch rule, prefetch kept across an epoch's end, checkpoints, failing samples for any
// producer, allocators that overlap a source, several consumers sharing an epoch, statistics.
// The toy producer is also the smallest example of a new kind of loader: one interface.
#include "nocopy/pipeline/engine/batch_engine.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using nocopy::BatchEngine;
using nocopy::Checkpoint;
using nocopy::CheckpointEntry;
using nocopy::DType;
using nocopy::EngineBatch;
using nocopy::EngineOptions;
using nocopy::LoaderError;
using nocopy::LoaderState;
using nocopy::NextStatus;
using nocopy::OnError;
using nocopy::ProducerPlan;
using nocopy::ShardGeometry;

namespace {

/// Plan of the toy producer: the epoch and global position of each slot.
struct PositionPlan final : ProducerPlan {
  int64_t epoch = 0;
  std::vector<int64_t> positions;
};

/// Each slot holds (epoch, position); samples in `failing` throw; counts its plans.
class PositionProducer final : public nocopy::BatchProducer {
 public:
  explicit PositionProducer(int64_t n, std::set<int64_t> failing = {}, nocopy::View source = {})
      : n_(n), failing_(std::move(failing)), source_(std::move(source)) {}

  std::string_view kind() const override { return "Positions"; }
  int64_t epoch_size() const override { return n_; }
  const std::vector<nocopy::SlotOutput>& outputs() const override { return outputs_; }
  std::unique_ptr<ProducerPlan> plan(int64_t epoch, const ShardGeometry& g,
                                     int64_t b) const override {
    plans.fetch_add(1);
    auto p = std::make_unique<PositionPlan>();
    p->epoch = epoch;
    p->size = g.batch_len(b);
    for (int64_t k = 0; k < p->size; ++k) {
      p->positions.push_back(static_cast<int64_t>(g.global(b, k) % static_cast<uint64_t>(n_)));
    }
    return p;
  }
  void fill(const ProducerPlan& plan, int64_t slot, std::span<char* const> out) const override {
    const auto& p = static_cast<const PositionPlan&>(plan);
    const int64_t g = p.positions[static_cast<size_t>(slot)];
    if (failing_.count(g) != 0)
      throw std::overflow_error("sample " + std::to_string(g) + " is bad");
    auto* cell = reinterpret_cast<int64_t*>(out[0]);
    cell[0] = p.epoch;
    cell[1] = g;
  }
  int64_t sample_of(const ProducerPlan& plan, int64_t slot) const override {
    return static_cast<const PositionPlan&>(plan).positions[static_cast<size_t>(slot)];
  }
  std::vector<nocopy::ByteRange> source_extents() const override { return {source_.byte_extent()}; }
  std::vector<CheckpointEntry> resume_key() const override { return {{"n", n_}}; }

  mutable std::atomic<int64_t> plans{0};

 private:
  int64_t n_;
  std::set<int64_t> failing_;
  nocopy::View source_;
  std::vector<nocopy::SlotOutput> outputs_{{"cells", DType::Int64, {2}}};
};

EngineOptions options(int64_t batch, int64_t prefetch = 2) {
  EngineOptions o;
  o.batch_size = batch;
  o.num_threads = 2;
  o.prefetch = prefetch;
  return o;
}

/// (epoch, position) of every slot of a delivered batch.
std::vector<std::pair<int64_t, int64_t>> cells(const EngineBatch& b) {
  std::vector<std::pair<int64_t, int64_t>> out;
  const auto* c = b.outputs[0].data_as<int64_t>();
  for (int64_t k = 0; k < b.outputs[0].shape()[0]; ++k) out.emplace_back(c[2 * k], c[2 * k + 1]);
  return out;
}

EngineBatch take(BatchEngine& e) {
  EngineBatch b;
  EXPECT_EQ(e.next(b), NextStatus::Ready);
  return b;
}

}  // namespace

TEST(BatchEngine, AnEpochStaysCurrentUntilItsIterationEndsOrTheNextBatchIsAsked) {
  BatchEngine e(std::make_unique<PositionProducer>(10), options(4));
  ASSERT_EQ(e.epoch_batches(), 3);
  EngineBatch b;
  for (int64_t i = 0; i < 3; ++i) {
    ASSERT_EQ(e.next_in_epoch(b, 0), NextStatus::Ready);
    EXPECT_EQ(b.epoch, 0);
    EXPECT_EQ(b.index, i);
  }
  // Every batch of epoch 0 delivered: the state, the batch count and the plans describe it.
  EXPECT_EQ(e.state(), (LoaderState{0, 3, 0}));
  EXPECT_EQ(e.current_batches(), 3);
  EXPECT_EQ(e.plan(2)->size, 2);
  // The iteration over epoch 0 ends: the position moves to the next epoch.
  EXPECT_EQ(e.next_in_epoch(b, 0), NextStatus::EpochEnd);
  EXPECT_EQ(e.state(), (LoaderState{1, 0, 0}));
  EXPECT_EQ(e.next_in_epoch(b, 0), NextStatus::EpochEnd);  // another consumer of epoch 0
  EXPECT_EQ(e.state(), (LoaderState{1, 0, 0}));
  EXPECT_EQ(e.begin_epoch(), 1);
  // The stream crosses an epoch's end by itself.
  for (int i = 0; i < 3; ++i) take(e);
  EXPECT_EQ(take(e).epoch, 2);
  EXPECT_THROW(e.load_state({2, 4, 0}), std::invalid_argument);
  e.load_state({2, 3, 0});
  EXPECT_EQ(e.begin_epoch(), 3);
}

TEST(BatchEngine, BatchesPreparedAcrossAnEpochsEndAreKeptBySetEpochOfTheNextOne) {
  auto owned = std::make_unique<PositionProducer>(8);
  PositionProducer* producer = owned.get();
  BatchEngine e(std::move(owned), options(4, 2));
  take(e);
  take(e);  // epoch 0 done; epoch 1's first two batches are being prepared
  EngineBatch b;
  EXPECT_EQ(e.next_in_epoch(b, 0), NextStatus::EpochEnd);
  const int64_t planned = producer->plans.load();
  e.set_epoch(1);  // the position they were planned for: nothing is planned again
  const EngineBatch first = take(e);
  EXPECT_EQ(first.epoch, 1);
  EXPECT_EQ(producer->plans.load(), planned + 1);  // only the batch after the prefetched ones
  // Another position drops them: the batches are those of a fresh engine.
  BatchEngine fresh(std::make_unique<PositionProducer>(8), options(4, 2));
  fresh.set_epoch(5);
  e.set_epoch(5);
  EXPECT_EQ(cells(take(e)), cells(take(fresh)));
}

TEST(BatchEngine, CheckpointsNameTheKindAndRefuseAnotherConfiguration) {
  BatchEngine e(std::make_unique<PositionProducer>(12), options(2));
  take(e);
  take(e);
  Checkpoint c = e.checkpoint();
  EXPECT_EQ(c.kind, "Positions");
  EXPECT_EQ((LoaderState{c.epoch, c.batch, c.start}), (LoaderState{0, 2, 0}));
  EXPECT_EQ(c.position, 4);
  BatchEngine same(std::make_unique<PositionProducer>(12), options(2));
  same.restore(c);
  EXPECT_EQ(cells(take(same)), cells(take(e)));
  auto refused = [&](Checkpoint bad, const std::string& says) {
    BatchEngine other(std::make_unique<PositionProducer>(12), options(2));
    try {
      other.restore(bad);
      ADD_FAILURE() << "accepted: " << says;
    } catch (const std::invalid_argument& err) {
      EXPECT_NE(std::string(err.what()).find(says), std::string::npos) << err.what();
    }
  };
  Checkpoint kind = c;
  kind.kind = "Loader";
  refused(kind, "is a Loader state, not a Positions state");
  Checkpoint missing = c;
  missing.config.erase(missing.config.begin());
  refused(missing, "has no 'n'");
  Checkpoint extra = c;
  extra.config.push_back({"seq_len", int64_t{8}});
  refused(extra, "'seq_len' that a Positions state does not have");
  Checkpoint differs = c;
  differs.config[0].value = int64_t{13};
  refused(differs, "saved with n=13 but this loader has n=12");
  // Elastic: another world size continues from the global position.
  Checkpoint elastic = c;
  for (CheckpointEntry& entry : elastic.config) {
    if (entry.name == "world_size") entry.value = int64_t{3};
  }
  BatchEngine resumed(std::make_unique<PositionProducer>(12), options(2));
  resumed.restore(elastic);
  EXPECT_EQ(resumed.state(), (LoaderState{0, 0, 4}));
  EXPECT_EQ(resumed.current_batches(), 4);  // 8 positions left, 2 per batch
}

TEST(BatchEngine, AFailingSampleIsALoaderErrorWithItsCauseOrASubstitute) {
  {
    BatchEngine e(std::make_unique<PositionProducer>(6, std::set<int64_t>{3}), options(3));
    take(e);
    EngineBatch b;
    try {
      e.next(b);
      FAIL();
    } catch (const LoaderError& err) {
      EXPECT_EQ(err.sample(), 3);
      EXPECT_EQ(err.batch(), 1);
      EXPECT_THROW(std::rethrow_exception(err.cause()), std::overflow_error);
    }
    EXPECT_EQ(e.state().batch, 1);  // a retry fails the same way
    EXPECT_THROW(e.next(b), LoaderError);
  }
  EngineOptions skip = options(3);
  skip.on_error = OnError::Skip;
  BatchEngine e(std::make_unique<PositionProducer>(6, std::set<int64_t>{3, 4}), skip);
  take(e);
  const auto got = cells(take(e));  // positions 3, 4 fail: both take position 5's slot
  EXPECT_EQ(got, (std::vector<std::pair<int64_t, int64_t>>{{0, 5}, {0, 5}, {0, 5}}));
  EXPECT_EQ(e.num_skipped(), 2);
  EXPECT_EQ(e.skipped_samples(), (std::vector<int64_t>{3, 4}));
  BatchEngine all(std::make_unique<PositionProducer>(3, std::set<int64_t>{0, 1, 2}), skip);
  EngineBatch b;
  EXPECT_THROW(all.next(b), LoaderError);  // nothing can stand in
}

namespace {

/// Hands out blocks of one arena, starting at a chosen offset.
class ArenaAllocator final : public nocopy::Allocator {
 public:
  ArenaAllocator(char* arena, size_t offset) : arena_(arena), offset_(offset) {}
  std::string_view name() const override { return "arena"; }

 protected:
  void* do_allocate(size_t bytes) override {
    void* p = arena_ + offset_;
    offset_ += bytes;
    return p;
  }
  void do_deallocate(void*, size_t) noexcept override {}

 private:
  char* arena_;
  size_t offset_;
};

}  // namespace

TEST(BatchEngine, AnAllocatorReturningTheProducersOwnDataIsRefused) {
  nocopy::View source = nocopy::View::empty(DType::UInt8, {1 << 16});
  auto* base = static_cast<char*>(source.data());
  EngineOptions o = options(2);
  o.allocator = std::make_shared<ArenaAllocator>(base, 4096);  // inside the source
  BatchEngine e(std::make_unique<PositionProducer>(4, std::set<int64_t>{}, source), o);
  EngineBatch b;
  try {
    e.next(b);
    FAIL();
  } catch (const std::invalid_argument& err) {
    EXPECT_NE(std::string(err.what()).find("overlaps the data this Positions reads"),
              std::string::npos);
  }
  EXPECT_EQ(o.allocator->blocks_in_use(), 0);  // the refused block went back
  EXPECT_EQ(e.state().batch, 0);
}

TEST(BatchEngine, ConsumersOnSeveralThreadsShareOneEpoch) {
  BatchEngine e(std::make_unique<PositionProducer>(101), options(3));
  const int64_t epoch = e.begin_epoch();
  std::mutex m;
  std::vector<int64_t> indices, positions;
  auto consume = [&] {
    EngineBatch b;
    while (e.next_in_epoch(b, epoch) == NextStatus::Ready) {
      std::lock_guard<std::mutex> lock(m);
      indices.push_back(b.index);
      for (auto [ep, g] : cells(b)) positions.push_back(g);
    }
  };
  std::thread a(consume), c(consume);
  consume();
  a.join();
  c.join();
  std::sort(indices.begin(), indices.end());
  std::vector<int64_t> want(static_cast<size_t>(e.epoch_batches()));
  for (size_t i = 0; i < want.size(); ++i) want[i] = static_cast<int64_t>(i);
  EXPECT_EQ(indices, want);  // each batch exactly once
  EXPECT_EQ(std::set<int64_t>(positions.begin(), positions.end()).size(), 101u);
  EXPECT_EQ(e.state(), (LoaderState{1, 0, 0}));
}

TEST(BatchEngine, DropLastLeavingNoBatchIsRefusedAtConstruction) {
  EngineOptions o = options(8);
  o.drop_last = true;
  o.world_size = 2;
  try {
    BatchEngine e(std::make_unique<PositionProducer>(10), o);
    FAIL();
  } catch (const std::invalid_argument& err) {
    EXPECT_STREQ(err.what(),
                 "drop_last leaves no batch: 10 samples over world_size 2 give 5 samples per rank, "
                 "fewer than batch_size 8");
  }
}

TEST(BatchEngine, StatisticsCountWhatWasDelivered) {
  BatchEngine e(std::make_unique<PositionProducer>(20), options(4));
  for (int i = 0; i < 7; ++i) take(e);
  const nocopy::EngineStats s = e.stats();
  EXPECT_EQ(s.batches, 7);
  EXPECT_EQ(s.samples, 28);
  int64_t filled = 0;
  for (const auto& w : s.workers) filled += w.samples;
  EXPECT_GE(filled, 28);  // and what was prefetched
  EXPECT_EQ(s.workers.size(), 2u);
  EXPECT_GE(s.allocations, 1);
  EXPECT_GT(s.elapsed_s, 0.0);
  EXPECT_LE(s.consumer_wait_s, s.elapsed_s);
  EXPECT_GT(s.recent_batches_per_s, 0.0);
  EXPECT_FALSE(s.verdict().empty());
}
