// Tests of the shared-array segment header: round trips and validation of corrupt headers.
#include "nocopy/storage/shm_header.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

using nocopy::DType;
using nocopy::ShmHeader;

namespace {

using Shape = std::vector<int64_t>;

ShmHeader header_for(Shape shape, DType t) {
  ShmHeader h;
  h.shape = std::move(shape);
  h.dtype = t;
  h.creator_pid = 1234;
  return h;
}

}  // namespace

TEST(ShmHeader, RoundTrips) {
  for (const Shape& s : {Shape{}, Shape{0}, Shape{3, 4, 5}, Shape(64, 1)}) {
    ShmHeader h = header_for(s, DType::Float16);
    h.persist = true;
    h.creator_start = 99;
    auto b = nocopy::make_shm_header(h);
    ASSERT_LT(b.size(), nocopy::kShmDataOffset);
    uint64_t size = nocopy::shm_segment_size(h.dtype, h.shape);
    ShmHeader p = nocopy::parse_shm_header(b, size);
    EXPECT_EQ(p.shape, s);
    EXPECT_EQ(p.dtype, DType::Float16);
    EXPECT_TRUE(p.persist);
    EXPECT_EQ(p.creator_pid, 1234);
    EXPECT_EQ(p.creator_start, 99u);
    EXPECT_EQ(p.data_offset, nocopy::kShmDataOffset);
    EXPECT_EQ(p.data_offset + p.data_bytes, size);
  }
}

// Every corruption is a clear std::invalid_argument containing the fragment.
TEST(ShmHeader, CorruptHeadersRaiseClearErrors) {
  const ShmHeader base = header_for({10, 20}, DType::Int32);
  const auto good = nocopy::make_shm_header(base);
  const uint64_t size = nocopy::shm_segment_size(base.dtype, base.shape);
  struct Case {
    const char* what;
    std::vector<uint8_t> bytes;
    uint64_t size;
    const char* fragment;
  };
  auto with = [&](size_t at, std::vector<uint8_t> patch) {
    auto b = good;
    std::memcpy(b.data() + at, patch.data(), patch.size());
    return b;
  };
  auto le32 = [](uint32_t v) {
    std::vector<uint8_t> o(4);
    std::memcpy(o.data(), &v, 4);
    return o;
  };
  std::vector<Case> cases = {
      {"empty", {}, 0, "magic"},
      {"foreign", std::vector<uint8_t>(200, 'A'), 8192, "magic"},
      {"magic only", std::vector<uint8_t>(good.begin(), good.begin() + 8), 8, "truncated"},
      {"cut header", std::vector<uint8_t>(good.begin(), good.begin() + 60), 60, "truncated"},
      {"cut shape", std::vector<uint8_t>(good.begin(), good.end() - 4), good.size() - 4,
       "truncated"},
      {"version", with(8, le32(7)), size, "version 7"},
      {"ndim huge", with(40, le32(1000)), size, "ndim 1000"},
      {"header size", with(12, le32(500)), size, "header size"},
      {"checksum", with(60, {0xAB}), size, "checksum"},
      {"shape flipped", with(80, {0xFF}), size, "checksum"},
      {"data truncated", good, size - 1, "truncated"},
      {"data truncated to header", good, nocopy::kShmDataOffset - 100, "truncated"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    try {
      std::span<const uint8_t> bytes(c.bytes.data(), std::min<size_t>(c.bytes.size(), c.size));
      nocopy::parse_shm_header(bytes, c.size);
      ADD_FAILURE() << "no exception";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(c.fragment), std::string::npos) << e.what();
    }
  }
}

// Fields that the checksum covers but whose values are wrong: rebuilt with a valid checksum.
TEST(ShmHeader, InconsistentFieldsWithValidChecksum) {
  struct Case {
    const char* what;
    size_t at;
    std::vector<uint8_t> patch;
    const char* fragment;
  };
  const std::vector<Case> cases = {
      {"dtype", 32, {'<', 'x', '9', 0}, "unknown dtype"}, {"flags", 44, {0x02}, "unknown flags"},
      {"offset", 16, {0x00, 0x20}, "data offset"},        {"data bytes", 24, {0x01}, "data size"},
      {"negative dim", 87, {0x80}, "negative dimension"},
  };
  const ShmHeader base = header_for({10, 20}, DType::Int32);
  const uint64_t size = nocopy::shm_segment_size(base.dtype, base.shape);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto b = nocopy::make_shm_header(base);
    std::memcpy(b.data() + c.at, c.patch.data(), c.patch.size());
    // Recompute the checksum the way the writer does (FNV-1a over [0,72) and the shape).
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < b.size(); ++i) {
      if (i >= 72 && i < 80) continue;
      h ^= b[i];
      h *= 1099511628211ull;
    }
    std::memcpy(b.data() + 72, &h, 8);
    try {
      nocopy::parse_shm_header(b, size);
      ADD_FAILURE() << "no exception";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(c.fragment), std::string::npos) << e.what();
    }
  }
}
