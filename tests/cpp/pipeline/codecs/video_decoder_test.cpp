// Tests of the video decoder on a small MPEG-4 part 2 video (with B-frames, a keyframe every 10
// frames) encoded and muxed to Matroska in memory by FFmpeg's own API: the probe's frame count,
// pts and keyframes; decoded frames close to the pictures encoded; random access in any set
// equal to a decode of every frame; a forward continuation inside a GOP without a seek; bad
// requests, truncated and garbage containers throw. Without FFmpeg, the calls throw.
#include "nocopy/pipeline/codecs/video_decoder.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_video_encoder.hpp"

using nocopy::DecodedFrame;
using nocopy::VideoDecoder;
using nocopy::VideoProbe;

namespace {

constexpr int kWidth = 48;
constexpr int kHeight = 32;
constexpr int kFrames = 30;
constexpr int kGop = 10;

#ifdef NOCOPY_HAVE_FFMPEG

using TestVideo = test_encoder::EncodedVideo;
using test_encoder::luma;

/// kFrames frames of `luma` (neutral chroma) as MPEG-4 part 2 in Matroska bytes.
TestVideo encode_video() {
  test_encoder::EncodeOptions o;
  o.width = kWidth;
  o.height = kHeight;
  o.frames = kFrames;
  o.gop = kGop;
  o.b_frames = 2;
  return test_encoder::encode_video(o);
}

const TestVideo& encoded() {
  static const TestVideo video = encode_video();
  return video;
}

const std::vector<uint8_t>& test_video() {
  return encoded().bytes;
}

/// The frames `wanted` of the test video, decoded by `decoder` (opened here when not yet).
std::vector<std::vector<uint8_t>> decode(VideoDecoder& decoder, const VideoProbe& probe,
                                         const std::vector<int64_t>& wanted) {
  if (!decoder.is_open()) decoder.open(test_video());
  std::vector<std::vector<uint8_t>> out;
  decoder.decode_frames(wanted, probe.index, [&](const DecodedFrame& f) {
    EXPECT_EQ(f.frame_number, wanted[out.size()]);
    EXPECT_EQ(f.pts, probe.index.pts[static_cast<size_t>(f.frame_number)]);
    EXPECT_EQ(f.height, kHeight);
    EXPECT_EQ(f.width, kWidth);
    out.emplace_back(f.rgb, f.rgb + f.height * f.width * 3);
  });
  EXPECT_EQ(out.size(), wanted.size());
  return out;
}

#endif

}  // namespace

#ifdef NOCOPY_HAVE_FFMPEG

TEST(VideoDecoder, ProbeListsEveryFrame) {
  ASSERT_TRUE(nocopy::video_available());
  const VideoProbe p = nocopy::probe_video(test_video());
  EXPECT_EQ(p.frame_count, kFrames);
  EXPECT_EQ(p.width, kWidth);
  EXPECT_EQ(p.height, kHeight);
  EXPECT_EQ(p.codec, "mpeg4");
  ASSERT_EQ(p.index.pts.size(), static_cast<size_t>(kFrames));
  for (int i = 1; i < kFrames; ++i) EXPECT_GT(p.index.pts[i], p.index.pts[i - 1]);
  // The encoder's keyframes (about every kGop frames; it moves them around its B-frames).
  int keys = 0;
  for (int i = 0; i < kFrames; ++i) {
    EXPECT_EQ(p.index.keyframe[i] != 0, encoded().keyframes[i]) << i;
    keys += p.index.keyframe[i];
  }
  EXPECT_TRUE(p.index.keyframe[0]);
  EXPECT_GE(keys, kFrames / kGop);
}

TEST(VideoDecoder, FramesAreThePicturesEncoded) {
  const VideoProbe p = nocopy::probe_video(test_video());
  VideoDecoder decoder;
  std::vector<int64_t> all(kFrames);
  for (int i = 0; i < kFrames; ++i) all[i] = i;
  const auto frames = decode(decoder, p, all);
  for (int i = 0; i < kFrames; ++i) {
    double error = 0;
    for (int y = 0; y < kHeight; ++y) {
      for (int x = 0; x < kWidth; ++x) {
        // Neutral chroma: R = G = B = the luma expanded from the limited range.
        const double want = (luma(i, y, x) - 16) * 255.0 / 219.0;
        error += std::abs(frames[i][(y * kWidth + x) * 3 + 1] - want);
      }
    }
    EXPECT_LT(error / (kHeight * kWidth), 6.0) << "frame " << i;
  }
}

TEST(VideoDecoder, RandomAccessEqualsSequentialDecode) {
  const VideoProbe p = nocopy::probe_video(test_video());
  VideoDecoder sequential;
  std::vector<int64_t> all(kFrames);
  for (int i = 0; i < kFrames; ++i) all[i] = i;
  const auto reference = decode(sequential, p, all);
  VideoDecoder decoder;
  for (const std::vector<int64_t>& wanted : std::vector<std::vector<int64_t>>{
           {0}, {5, 6, 7}, {29}, {1, 12, 13, 28}, {3}, {11, 11}, {20, 21, 22, 29}}) {
    const auto got = decode(decoder, p, wanted);
    for (size_t k = 0; k < wanted.size(); ++k) {
      EXPECT_EQ(got[k], reference[static_cast<size_t>(wanted[k])]) << "frame " << wanted[k];
    }
  }
}

TEST(VideoDecoder, ContinuesForwardWithoutSeekingAndSeeksFarOrBack) {
  const VideoProbe p = nocopy::probe_video(test_video());
  int64_t second_key = 1;
  while (p.index.keyframe[static_cast<size_t>(second_key)] == 0) ++second_key;
  ASSERT_GE(second_key, 5);
  VideoDecoder decoder;
  decode(decoder, p, {1, 2});
  EXPECT_EQ(decoder.seek_count(), 1);
  decode(decoder, p, {3});
  decode(decoder, p, {4, second_key - 1});
  EXPECT_EQ(decoder.seek_count(), 1);
  // The next GOP's keyframe just past the cursor: decoding on through it costs less than a seek.
  decode(decoder, p, {second_key, second_key + 1});
  EXPECT_EQ(decoder.seek_count(), 1);
  decode(decoder, p, {2});  // backwards: a seek
  EXPECT_EQ(decoder.seek_count(), 2);
  // A keyframe far past the cursor (more than the forward limit of 8 frames): a seek.
  int64_t far_key = second_key + 1;
  while (far_key < kFrames && p.index.keyframe[static_cast<size_t>(far_key)] == 0) ++far_key;
  ASSERT_LT(far_key, kFrames);
  ASSERT_GT(far_key - 2, 8);
  decode(decoder, p, {far_key});
  EXPECT_EQ(decoder.seek_count(), 3);
}

TEST(VideoDecoder, BadRequestsThrow) {
  const VideoProbe p = nocopy::probe_video(test_video());
  VideoDecoder decoder;
  decoder.open(test_video());
  const auto sink = [](const DecodedFrame&) {};
  const std::vector<int64_t> out_of_range{kFrames}, negative{-1}, descending{5, 4};
  EXPECT_THROW(decoder.decode_frames(out_of_range, p.index, sink), std::invalid_argument);
  EXPECT_THROW(decoder.decode_frames(negative, p.index, sink), std::invalid_argument);
  EXPECT_THROW(decoder.decode_frames(descending, p.index, sink), std::invalid_argument);
  nocopy::VideoIndex shifted = p.index;
  for (int64_t& t : shifted.pts) t += 1;  // an index of another video: no frame at these pts
  const std::vector<int64_t> one{3};
  EXPECT_THROW(decoder.decode_frames(one, shifted, sink), std::runtime_error);
  VideoDecoder closed;
  EXPECT_THROW(closed.decode_frames(one, p.index, sink), std::invalid_argument);
  // Still usable after the failures.
  EXPECT_EQ(decode(decoder, p, {3}).size(), 1u);
}

TEST(VideoDecoder, DamagedContainersThrowOrDecode) {
  const std::vector<uint8_t>& good = test_video();
  EXPECT_THROW(nocopy::probe_video({}), std::invalid_argument);
  const std::vector<uint8_t> garbage(4000, 0x5a);
  EXPECT_THROW(nocopy::probe_video(garbage), std::invalid_argument);
  VideoDecoder decoder;
  EXPECT_THROW(decoder.open(garbage), std::invalid_argument);
  for (size_t cut : {size_t{16}, good.size() / 3, good.size() / 2, good.size() - 10}) {
    const std::vector<uint8_t> part(good.begin(), good.begin() + static_cast<ptrdiff_t>(cut));
    try {
      const VideoProbe p = nocopy::probe_video(part);
      decoder.open(part);
      std::vector<int64_t> all(static_cast<size_t>(p.frame_count));
      for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
      decoder.decode_frames(all, p.index, [](const DecodedFrame&) {});
    } catch (const std::invalid_argument&) {
    } catch (const std::runtime_error&) {
    }
  }
}

#else

TEST(VideoDecoder, WithoutFfmpegEveryCallThrows) {
  EXPECT_FALSE(nocopy::video_available());
  const std::vector<uint8_t> bytes(16, 0);
  EXPECT_THROW(nocopy::probe_video(bytes), std::runtime_error);
  VideoDecoder decoder;
  EXPECT_THROW(decoder.open(bytes), std::runtime_error);
}

#endif
