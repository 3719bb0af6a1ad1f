// Tests of the video loader, run under the sanitizers: VideoSet folders of small videos encoded
// here (odd and even sizes, several GOPs, B-frames, Matroska and MP4); over whole epochs with two
// threads and prefetch, every clip equals the frames plan(b) names, decoded by VideoDecoder
// directly (TCHW, CTHW, THWC); with transforms, every frame of a clip is the resample of that
// frame's plan window (one crop and flip per clip, the plan's parameters the program's draws)
// and the bytes do not depend on the thread count; a corrupt video is a LoaderError naming it,
// or is skipped; two loaders over different sets at once, and the per-thread decoder across
// sources; loaders and sources destroyed and made again. Without FFmpeg, a VideoSource throws.
#include "nocopy/pipeline/producers/video_loader.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../../storage/dataset_folder_test_util.hpp"
#include "../codecs/test_video_encoder.hpp"
#include "nocopy/core/errors.hpp"
#include "nocopy/pipeline/codecs/video_decoder.hpp"
#include "nocopy/pipeline/kernels/resize.hpp"
#include "nocopy/pipeline/ops/transform_program.hpp"
#include "nocopy/storage/npy_file.hpp"
#include "nocopy/storage/video_set.hpp"

namespace {

namespace fs = std::filesystem;
using nocopy::DType;
using nocopy::VideoSet;
using nocopy::VideoSource;
using nocopy::View;
using Ints = std::vector<int64_t>;

using dataset_folder_test::TempDir;
using dataset_folder_test::write_int64;

#ifdef NOCOPY_HAVE_FFMPEG

using nocopy::ClipLayout;
using nocopy::ClipSampling;
using nocopy::DecodedFrame;
using nocopy::StepKind;
using nocopy::TransformProgram;
using nocopy::TransformStep;
using nocopy::VideoBatch;
using nocopy::VideoLoader;
using nocopy::VideoLoaderOptions;
using nocopy::VideoPlan;
using nocopy::VideoSourcePtr;
using test_encoder::EncodeOptions;

EncodeOptions video(int height, int width, int frames, int gop, int b_frames,
                    const std::string& container, int pattern) {
  EncodeOptions o;
  o.height = height;
  o.width = width;
  o.frames = frames;
  o.gop = gop;
  o.b_frames = b_frames;
  o.container = container;
  o.colour = true;
  o.pattern = pattern;
  return o;
}

/// Three odd-sized videos (31 x 45): 24, 17 and 9 frames (the last shorter than a clip's span
/// below), GOPs 5, 8 and 12, 0, 2 and 1 B-frames, Matroska and MP4; `pattern` shifts the
/// pictures (another set of the same index when it differs).
std::vector<EncodeOptions> same_size_videos(int pattern = 0) {
  return {video(31, 45, 24, 5, 0, "matroska", pattern), video(31, 45, 17, 8, 2, "mp4", pattern + 1),
          video(31, 45, 9, 12, 1, "matroska", pattern + 2)};
}

/// Four videos of two sizes (31 x 45 and 40 x 64).
std::vector<EncodeOptions> two_size_videos() {
  return {video(31, 45, 20, 6, 2, "matroska", 3), video(40, 64, 16, 10, 0, "matroska", 4),
          video(31, 45, 12, 4, 1, "mp4", 5), video(40, 64, 14, 7, 1, "matroska", 6)};
}

/// Writes the VideoSet folder of `videos` (labels 10 + i) to `dir`, the index probed from the
/// encoded bytes; the container bytes of video `zeroed` (if >= 0) from an eighth of its length
/// on are overwritten with zeros after the probe (a corrupt file of a valid index).
void write_video_set(const TempDir& dir, const std::vector<EncodeOptions>& videos,
                     int64_t zeroed = -1) {
  const auto n = static_cast<int64_t>(videos.size());
  std::vector<std::vector<uint8_t>> files;
  Ints offsets, lengths, shapes, fps, time_bases, codecs, starts{0}, pts, labels;
  std::vector<uint8_t> keys;
  int64_t bytes = 0;
  for (int64_t i = 0; i < n; ++i) {
    files.push_back(test_encoder::encode_video(videos[static_cast<size_t>(i)]).bytes);
    const nocopy::VideoProbe p = nocopy::probe_video(files.back());
    offsets.push_back(bytes);
    lengths.push_back(static_cast<int64_t>(files.back().size()));
    bytes += (lengths.back() + 63) / 64 * 64;
    shapes.insert(shapes.end(), {p.height, p.width, 3});
    fps.insert(fps.end(), {p.fps_num > 0 ? p.fps_num : 25, p.fps_den > 0 ? p.fps_den : 1});
    time_bases.insert(time_bases.end(), {p.time_base_num, p.time_base_den});
    codecs.push_back(0);
    pts.insert(pts.end(), p.index.pts.begin(), p.index.pts.end());
    keys.insert(keys.end(), p.index.keyframe.begin(), p.index.keyframe.end());
    starts.push_back(static_cast<int64_t>(pts.size()));
    labels.push_back(10 + i);
  }
  const auto frames = static_cast<int64_t>(pts.size());
  std::ofstream(dir / "manifest.json", std::ios::binary | std::ios::trunc)
      << R"({"format_version": 1, "kind": "video", "num_videos": )" << n << R"(, "num_frames": )"
      << frames << R"(, "codecs": ["mpeg4"]})";
  View data = nocopy::create_npy(dir / "videos.npy", Ints{bytes}, DType::UInt8);
  std::memset(data.data(), 0, static_cast<size_t>(bytes));
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<uint8_t>& f = files[static_cast<size_t>(i)];
    auto* at = data.data_as<uint8_t>() + offsets[static_cast<size_t>(i)];
    std::memcpy(at, f.data(), f.size());
    if (i == zeroed) std::memset(at + f.size() / 8, 0, f.size() - f.size() / 8);
  }
  write_int64(dir / "offsets.npy", {n}, offsets);
  write_int64(dir / "lengths.npy", {n}, lengths);
  write_int64(dir / "shapes.npy", {n, 3}, shapes);
  write_int64(dir / "fps.npy", {n, 2}, fps);
  write_int64(dir / "time_bases.npy", {n, 2}, time_bases);
  write_int64(dir / "codecs.npy", {n}, codecs);
  write_int64(dir / "frame_starts.npy", {n + 1}, starts);
  write_int64(dir / "pts.npy", {frames}, pts);
  View k = nocopy::create_npy(dir / "keyframes.npy", Ints{frames}, DType::UInt8);
  std::memcpy(k.data(), keys.data(), keys.size());
  write_int64(dir / "labels.npy", {n}, labels);
}

/// The source of the set in `dir`.
VideoSourcePtr open_source(const TempDir& dir) {
  return std::make_shared<const VideoSource>(VideoSet::open(dir.path.string()));
}

/// The labels of a set of n videos as write_video_set writes them.
View labels_of(int64_t n) {
  View v = View::empty(DType::Int64, {n});
  for (int64_t i = 0; i < n; ++i) v.data_as<int64_t>()[i] = 10 + i;
  return v;
}

/// Every frame of every video of `set`, decoded by a VideoDecoder of its own: dense H x W x 3.
using Frames = std::vector<std::vector<uint8_t>>;
std::vector<Frames> decode_directly(const VideoSet& set) {
  std::vector<Frames> out;
  for (int64_t i = 0; i < set.size(); ++i) {
    nocopy::VideoIndex index;
    index.pts.assign(set.frame_pts(i).begin(), set.frame_pts(i).end());
    index.keyframe.assign(set.keyframes(i).begin(), set.keyframes(i).end());
    const View bytes = set.encoded(i);
    nocopy::VideoDecoder decoder;
    decoder.open({static_cast<const uint8_t*>(bytes.data()), static_cast<size_t>(bytes.nbytes())});
    Ints all(static_cast<size_t>(set.num_frames(i)));
    for (size_t f = 0; f < all.size(); ++f) all[f] = static_cast<int64_t>(f);
    Frames frames;
    decoder.decode_frames(all, index, [&](const DecodedFrame& f) {
      EXPECT_EQ(f.row_stride, f.width * 3);
      frames.emplace_back(f.rgb, f.rgb + f.height * f.width * 3);
    });
    EXPECT_EQ(frames.size(), all.size());
    out.push_back(std::move(frames));
  }
  return out;
}

/// Element (t, c, y, x) of a clip of T frames of C x H x W in `layout`.
int64_t clip_offset(ClipLayout layout, int64_t T, int64_t C, int64_t H, int64_t W, int64_t t,
                    int64_t c, int64_t y, int64_t x) {
  switch (layout) {
    case ClipLayout::TCHW:
      return ((t * C + c) * H + y) * W + x;
    case ClipLayout::CTHW:
      return ((c * T + t) * H + y) * W + x;
    case ClipLayout::THWC:
      break;
  }
  return ((t * H + y) * W + x) * C + c;
}

VideoLoaderOptions clip_options(ClipLayout layout, ClipSampling sampling) {
  VideoLoaderOptions o;
  o.batch_size = 2;
  o.num_threads = 2;
  o.prefetch = 2;
  o.seed = 11;
  o.shuffle = true;
  o.clip_len = 4;
  o.frame_step = 3;
  o.clips_per_video = 2;
  o.clip_sampling = sampling;
  o.layout = layout;
  return o;
}

VideoBatch take(VideoLoader& loader) {
  VideoBatch b;
  EXPECT_EQ(loader.next(b), nocopy::NextStatus::Ready);
  return b;
}

/// Checks every slot of `batch` (no transforms) against the frames its plan names.
void expect_clips_are_decoded_frames(const VideoLoader& loader, const VideoBatch& batch,
                                     const std::vector<Frames>& reference) {
  const VideoLoaderOptions& o = loader.options();
  const VideoPlan plan = loader.plan(batch.index, batch.epoch);
  const int64_t n = batch.clips.shape()[0], T = o.clip_len;
  ASSERT_EQ(static_cast<int64_t>(plan.indices.size()), n);
  const auto& shape = batch.clips.shape();
  ASSERT_EQ(shape.size(), 5U);
  const int64_t H = o.layout == ClipLayout::THWC ? shape[2] : shape[3];
  const int64_t W = o.layout == ClipLayout::THWC ? shape[3] : shape[4];
  const int64_t clip_size = T * 3 * H * W;
  const auto* got = batch.clips.data_as<const uint8_t>();
  for (int64_t k = 0; k < n; ++k) {
    const int64_t i = plan.indices[static_cast<size_t>(k)];
    const Frames& frames = reference[static_cast<size_t>(i)];
    int64_t wrong = 0;
    for (int64_t t = 0; t < T; ++t) {
      const int64_t f = plan.frames[static_cast<size_t>(k * T + t)];
      ASSERT_GE(f, 0);
      ASSERT_LT(f, static_cast<int64_t>(frames.size()));
      if (t > 0) {  // frame_step apart, held at the last frame
        const int64_t before = plan.frames[static_cast<size_t>(k * T + t - 1)];
        EXPECT_EQ(f, std::min(before + o.frame_step, static_cast<int64_t>(frames.size()) - 1));
      }
      const std::vector<uint8_t>& want = frames[static_cast<size_t>(f)];
      for (int64_t c = 0; c < 3; ++c) {
        for (int64_t y = 0; y < H; ++y) {
          for (int64_t x = 0; x < W; ++x) {
            const uint8_t g = got[k * clip_size + clip_offset(o.layout, T, 3, H, W, t, c, y, x)];
            wrong += g != want[static_cast<size_t>((y * W + x) * 3 + c)];
          }
        }
      }
    }
    EXPECT_EQ(wrong, 0) << "epoch " << batch.epoch << " batch " << batch.index << " slot " << k
                        << " (video " << i << ")";
    ASSERT_TRUE(batch.labels.has_value());
    EXPECT_EQ(batch.labels->data_as<const int64_t>()[k], 10 + i);
  }
}

TEST(VideoLoader, ClipsAreThePlannedFramesDecodedDirectlyInEveryLayout) {
  TempDir dir("videoloader-layouts");
  write_video_set(dir, same_size_videos());
  const VideoSourcePtr source = open_source(dir);
  const std::vector<Frames> reference = decode_directly(VideoSet::open(dir.path.string()));
  const std::pair<ClipLayout, ClipSampling> cases[] = {{ClipLayout::TCHW, ClipSampling::Random},
                                                       {ClipLayout::CTHW, ClipSampling::Uniform},
                                                       {ClipLayout::THWC, ClipSampling::Center}};
  for (const auto& [layout, sampling] : cases) {
    SCOPED_TRACE(std::string(nocopy::clip_layout_name(layout)));
    VideoLoaderOptions o = clip_options(layout, sampling);
    if (sampling == ClipSampling::Center) o.clips_per_video = 1;
    VideoLoader loader(source, labels_of(3), o);
    EXPECT_EQ(loader.clips_per_epoch(), 3 * o.clips_per_video);
    const Ints want_shape = layout == ClipLayout::TCHW   ? Ints{4, 3, 31, 45}
                            : layout == ClipLayout::CTHW ? Ints{3, 4, 31, 45}
                                                         : Ints{4, 31, 45, 3};
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      for (int64_t b = 0; b < loader.num_batches(); ++b) {
        const VideoBatch batch = take(loader);
        EXPECT_EQ(batch.epoch, epoch);
        EXPECT_EQ(batch.index, b);
        EXPECT_EQ(batch.clips.dtype(), DType::UInt8);
        EXPECT_EQ(Ints(batch.clips.shape().begin() + 1, batch.clips.shape().end()), want_shape);
        expect_clips_are_decoded_frames(loader, batch, reference);
      }
    }
  }
}

/// RandomResizedCrop to 24 x 20 (of at least a fifth of the frame), a horizontal flip of half
/// the clips and uint8 -> float32 in [0, 1].
std::shared_ptr<const TransformProgram> crop_flip_float() {
  TransformStep rrc;
  rrc.kind = StepKind::RandomResizedCrop;
  rrc.size = {24, 20};
  rrc.scale = {0.2, 1.0};
  TransformStep flip;
  flip.kind = StepKind::RandomHorizontalFlip;
  flip.p = 0.5;
  TransformStep to_float;
  to_float.kind = StepKind::ToDtype;
  to_float.dtype = DType::Float32;
  to_float.scale_values = true;
  return std::make_shared<const TransformProgram>(std::vector<TransformStep>{rrc, flip, to_float},
                                                  3, DType::UInt8);
}

VideoLoaderOptions transform_options(int64_t threads) {
  VideoLoaderOptions o;
  o.batch_size = 3;
  o.num_threads = threads;
  o.prefetch = threads == 1 ? 1 : 3;
  o.seed = 23;
  o.clip_len = 3;
  o.frame_step = 2;
  o.clips_per_video = 2;
  return o;
}

/// Every clip's float bytes over two epochs.
std::vector<float> transformed_epochs(const VideoSourcePtr& source, int64_t threads) {
  VideoLoader loader(source, std::nullopt, transform_options(threads), crop_flip_float());
  std::vector<float> out;
  for (int64_t b = 0; b < 2 * loader.num_batches(); ++b) {
    const VideoBatch batch = take(loader);
    const auto* x = batch.clips.data_as<const float>();
    out.insert(out.end(), x, x + batch.clips.size());
  }
  return out;
}

TEST(VideoLoader, TransformsDrawOncePerClipAndCropEveryFrameTheSame) {
  TempDir dir("videoloader-transforms");
  write_video_set(dir, two_size_videos());
  const VideoSourcePtr source = open_source(dir);
  const std::vector<Frames> reference = decode_directly(VideoSet::open(dir.path.string()));
  const auto program = crop_flip_float();
  const VideoLoaderOptions o = transform_options(2);
  VideoLoader loader(source, std::nullopt, o, program);
  const int64_t T = o.clip_len, H = 24, W = 20, plane = H * W;
  std::vector<float> want(static_cast<size_t>(3 * plane));
  nocopy::SampleGeometry g;
  nocopy::ResizeScratch scratch;
  int flipped = 0, kept = 0, clips = 0;
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    for (int64_t b = 0; b < loader.num_batches(); ++b) {
      const VideoBatch batch = take(loader);
      const int64_t n = batch.clips.shape()[0];
      EXPECT_EQ(batch.clips.dtype(), DType::Float32);
      EXPECT_EQ(batch.clips.shape(), (Ints{n, T, 3, H, W}));
      EXPECT_FALSE(batch.labels.has_value());
      const VideoPlan plan = loader.plan(b, epoch);
      ASSERT_EQ(plan.parameter_count, program->parameter_count());
      for (int64_t k = 0; k < n; ++k) {
        const int64_t i = plan.indices[static_cast<size_t>(k)];
        const int64_t vh = source->height(i), vw = source->width(i);
        // The plan's parameters are the program's draws for this clip's position.
        const std::span<const double> params(plan.parameters.data() + k * plan.parameter_count,
                                             static_cast<size_t>(plan.parameter_count));
        const nocopy::SampleParameters drawn =
            program->draw(o.seed, static_cast<uint64_t>(epoch),
                          static_cast<uint64_t>(b * o.batch_size + k), vh, vw);
        EXPECT_EQ(std::vector<double>(params.begin(), params.end()), drawn);
        // The clip's one window and flip.
        nocopy::sample_geometry(*program, params, vh, vw, g);
        ASSERT_EQ(g.resized_h, H);
        ASSERT_EQ(g.resized_w, W);
        ASSERT_EQ(static_cast<int64_t>(g.rows.size()), H);
        ASSERT_EQ(static_cast<int64_t>(g.cols.size()), W);
        const bool mirror = g.cols.front() > g.cols.back();
        for (int64_t x = 0; x < W; ++x) {
          ASSERT_EQ(g.cols[static_cast<size_t>(x)], mirror ? W - 1 - x : x);
        }
        for (int64_t y = 0; y < H; ++y) ASSERT_EQ(g.rows[static_cast<size_t>(y)], y);
        (mirror ? flipped : kept) += 1;
        ++clips;
        nocopy::ResizeGeometry rg;
        rg.top = g.top;
        rg.left = g.left;
        rg.height = g.height;
        rg.width = g.width;
        rg.resized_h = rg.out_h = H;
        rg.resized_w = rg.out_w = W;
        rg.mirror = mirror;
        rg.interpolation = g.interpolation;
        const auto* got = batch.clips.data_as<const float>() + k * T * 3 * plane;
        for (int64_t t = 0; t < T; ++t) {
          const int64_t f = plan.frames[static_cast<size_t>(k * T + t)];
          const std::vector<uint8_t>& frame =
              reference[static_cast<size_t>(i)][static_cast<size_t>(f)];
          const nocopy::ResizeSource src{frame.data(), DType::UInt8, vh, vw, 3, vw * 3, 3, 1};
          nocopy::resample_window(src, rg,
                                  {want.data(), DType::Float32, true, program->multipliers().data(),
                                   program->offsets().data()},
                                  scratch);
          double worst = 0;
          for (int64_t e = 0; e < 3 * plane; ++e) {
            worst = std::max(worst, std::abs(static_cast<double>(got[t * 3 * plane + e]) -
                                             want[static_cast<size_t>(e)]));
          }
          EXPECT_LE(worst, 1e-6) << "epoch " << epoch << " batch " << b << " slot " << k
                                 << " frame " << t << " (video " << i << ", frame " << f << ")";
        }
      }
    }
  }
  EXPECT_EQ(clips, 2 * 8);
  EXPECT_GT(flipped, 0);
  EXPECT_GT(kept, 0);
}

TEST(VideoLoader, TransformedClipsAreTheSameBytesForOneAndTwoThreads) {
  TempDir dir("videoloader-threads");
  write_video_set(dir, two_size_videos());
  const VideoSourcePtr source = open_source(dir);
  const std::vector<float> one = transformed_epochs(source, 1);
  const std::vector<float> two = transformed_epochs(source, 2);
  ASSERT_EQ(one.size(), two.size());
  ASSERT_EQ(one.size(), static_cast<size_t>(2 * 8 * 3 * 3 * 24 * 20));
  EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)), 0);
  for (float v : one) ASSERT_TRUE(v >= 0.0f && v <= 1.0f);
}

TEST(VideoLoader, ClipsOfVideosOfTwoSizesNeedAFixedSizeTransform) {
  TempDir dir("videoloader-sizes");
  write_video_set(dir, two_size_videos());
  const VideoSourcePtr source = open_source(dir);
  try {
    VideoLoader loader(source, std::nullopt, transform_options(2));
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("one frame size"), std::string::npos) << e.what();
  }
}

TEST(VideoLoader, ACorruptVideoIsALoaderErrorNamingItOrIsSkipped) {
  TempDir good_dir("videoloader-good");
  write_video_set(good_dir, same_size_videos());
  // Video 1 (MP4) no longer opens; video 0 (Matroska) opens but its frames are gone.
  for (const int64_t bad : {1, 0}) {
    SCOPED_TRACE("corrupt video " + std::to_string(bad));
    TempDir bad_dir("videoloader-corrupt" + std::to_string(bad));
    write_video_set(bad_dir, same_size_videos(), bad);
    VideoLoaderOptions o = clip_options(ClipLayout::TCHW, ClipSampling::Center);
    o.batch_size = 3;
    o.clips_per_video = 1;
    o.shuffle = false;
    VideoLoader raising(open_source(bad_dir), labels_of(3), o);
    VideoBatch b;
    try {
      raising.next(b);
      FAIL() << "expected a LoaderError";
    } catch (const nocopy::LoaderError& e) {
      EXPECT_EQ(e.sample(), bad);
      EXPECT_EQ(e.batch(), 0);
      EXPECT_NE(std::string(e.what()).find("sample " + std::to_string(bad)), std::string::npos)
          << e.what();
    }
    EXPECT_THROW(raising.next(b), nocopy::LoaderError);  // a retry fails the same way

    VideoLoader good(open_source(good_dir), labels_of(3), o);
    o.on_error = nocopy::OnError::Skip;
    VideoLoader skipping(open_source(bad_dir), labels_of(3), o);
    const VideoBatch want = take(good);
    const VideoBatch got = take(skipping);
    ASSERT_EQ(got.clips.shape(), want.clips.shape());
    const auto bytes = static_cast<size_t>(got.clips.nbytes() / 3);
    const auto* g = got.clips.data_as<const uint8_t>();
    const auto* w = want.clips.data_as<const uint8_t>();
    // The failed slot holds the next clip of the batch, its label with it.
    for (size_t slot = 0; slot < 3; ++slot) {
      const size_t from = static_cast<int64_t>(slot) == bad ? slot + 1 : slot;
      EXPECT_EQ(std::memcmp(g + slot * bytes, w + from * bytes, bytes), 0) << slot;
      EXPECT_EQ(got.labels->data_as<const int64_t>()[slot],
                want.labels->data_as<const int64_t>()[from]);
    }
    EXPECT_EQ(skipping.num_skipped(), 1);
    EXPECT_EQ(skipping.skipped_samples(), Ints{bad});
  }
}

TEST(VideoLoader, TwoLoadersOverDifferentSetsAtOnce) {
  // Same sizes, frame counts and timestamps, other pictures: a decoder left open on the other
  // set's video of the same index would decode the wrong pictures without an error.
  TempDir dir_a("videoloader-a"), dir_b("videoloader-b");
  write_video_set(dir_a, same_size_videos(0));
  write_video_set(dir_b, same_size_videos(7));
  const VideoSourcePtr a = open_source(dir_a), b = open_source(dir_b);
  const std::vector<Frames> ref_a = decode_directly(VideoSet::open(dir_a.path.string())),
                            ref_b = decode_directly(VideoSet::open(dir_b.path.string()));
  ASSERT_NE(ref_a[0][0], ref_b[0][0]);
  const VideoLoaderOptions o = clip_options(ClipLayout::TCHW, ClipSampling::Random);
  VideoLoader la(a, labels_of(3), o), lb(b, labels_of(3), o);
  for (int64_t k = 0; k < 2 * la.num_batches(); ++k) {
    expect_clips_are_decoded_frames(la, take(la), ref_a);
    expect_clips_are_decoded_frames(lb, take(lb), ref_b);
  }
  // One thread decoding from both sources in turn, the same video index each time.
  const int64_t frames[] = {2, 3, 5};
  for (int round = 0; round < 4; ++round) {
    for (const auto& [source, ref] : {std::pair{a, &ref_a}, std::pair{b, &ref_b}}) {
      int64_t t = 0;
      source->decode(0, frames, nullptr, [&](const DecodedFrame& f) {
        const std::vector<uint8_t>& want = (*ref)[0][static_cast<size_t>(frames[t++])];
        ASSERT_EQ(f.row_stride, f.width * 3);
        EXPECT_TRUE(std::equal(want.begin(), want.end(), f.rgb)) << "round " << round;
      });
      EXPECT_EQ(t, 3);
    }
  }
}

TEST(VideoLoader, LoadersAndSourcesDestroyedAndMadeAgain) {
  TempDir dir("videoloader-again");
  write_video_set(dir, same_size_videos());
  std::vector<Frames> reference;
  VideoBatch kept;
  VideoLoaderOptions o = clip_options(ClipLayout::CTHW, ClipSampling::Random);
  o.prefetch = 4;
  for (int round = 0; round < 3; ++round) {
    const VideoSourcePtr source = open_source(dir);
    if (reference.empty()) reference = decode_directly(VideoSet::open(dir.path.string()));
    {
      VideoLoader loader(source, labels_of(3), o);
      const VideoBatch batch = take(loader);
      expect_clips_are_decoded_frames(loader, batch, reference);
      kept = batch;
      // Destroyed with batches being prefetched.
    }
    // This thread's decoder left open on a source that is then destroyed; the next round's
    // source (maybe at the same address) must open its own video.
    const int64_t frame[] = {round};
    source->decode(1, frame, nullptr, [&](const DecodedFrame& f) {
      EXPECT_TRUE(std::equal(reference[1][static_cast<size_t>(round)].begin(),
                             reference[1][static_cast<size_t>(round)].end(), f.rgb));
    });
  }
  // A batch outlives its loader and source.
  ASSERT_EQ(kept.clips.shape()[0], 2);
  int64_t sum = 0;
  for (int64_t e = 0; e < kept.clips.size(); ++e) sum += kept.clips.data_as<const uint8_t>()[e];
  EXPECT_GT(sum, 0);
}

/// Shards opened from folders, counting openings and hints; the first `failures` openings of
/// shard `failing` throw.
class FolderShards final : public nocopy::VideoShardProvider {
 public:
  explicit FolderShards(std::vector<std::string> folders, int64_t failing = -1, int failures = 0)
      : folders_(std::move(folders)), failing_(failing), failures_(failures) {}
  VideoSet open(size_t k) const override {
    ++opened;
    if (static_cast<int64_t>(k) == failing_ && failures_ > 0) {
      --failures_;
      throw std::runtime_error("shard " + std::to_string(k) + ": unreachable");
    }
    return VideoSet::open(folders_[k]);
  }
  void prefetch(size_t /*k*/) const noexcept override { ++hinted; }
  mutable std::atomic<int> opened{0}, hinted{0};

 private:
  std::vector<std::string> folders_;
  int64_t failing_;
  mutable std::atomic<int> failures_;
};

/// The layout of shards written from `videos` split after the first `split`.
nocopy::ShardedVideosLayout layout_of(const std::vector<EncodeOptions>& videos, size_t split,
                                      int64_t max_open) {
  nocopy::ShardedVideosLayout layout;
  layout.shard_sizes = {static_cast<int64_t>(split), static_cast<int64_t>(videos.size() - split)};
  for (const EncodeOptions& v : videos) {
    layout.num_frames.push_back(v.frames);
    layout.shapes.insert(layout.shapes.end(), {v.height, v.width, 3});
  }
  layout.max_open = max_open;
  return layout;
}

TEST(VideoLoader, ShardsOpenedOnDemandGiveTheSameClipsOpeningEachShardOnce) {
  const std::vector<EncodeOptions> videos = same_size_videos();
  TempDir whole("videoloader-whole"), first("videoloader-shard0"), second("videoloader-shard1");
  write_video_set(whole, videos);
  write_video_set(first, {videos[0], videos[1]});
  write_video_set(second, {videos[2]});
  const std::vector<Frames> reference = decode_directly(VideoSet::open(whole.path.string()));
  for (const int64_t max_open : {2, 1}) {
    SCOPED_TRACE("max_open " + std::to_string(max_open));
    auto provider = std::make_shared<const FolderShards>(
        std::vector<std::string>{first.path.string(), second.path.string()});
    auto source = std::make_shared<const VideoSource>(provider, layout_of(videos, 2, max_open));
    EXPECT_EQ(provider->opened, 0);  // planned from the layout alone
    EXPECT_TRUE(source->reads_ahead());
    EXPECT_TRUE(source->extents().empty());
    VideoLoaderOptions o = clip_options(ClipLayout::TCHW, ClipSampling::Random);
    o.fetch_ahead = 2;
    VideoLoader loader(source, labels_of(3), o);
    for (int64_t k = 0; k < 2 * loader.num_batches(); ++k) {
      expect_clips_are_decoded_frames(loader, take(loader), reference);
    }
    if (max_open == 2) {
      EXPECT_EQ(provider->opened, 2);  // once each, however many workers ask
    }
    EXPECT_GE(provider->opened, 2);
    EXPECT_GE(provider->hinted, 1);  // the closed shards of the batches ahead were hinted
  }
}

TEST(VideoLoader, AShardThatFailsToOpenIsALoaderErrorAndOpensOnTheNextTry) {
  const std::vector<EncodeOptions> videos = same_size_videos();
  TempDir first("videoloader-fail0"), second("videoloader-fail1");
  write_video_set(first, {videos[0], videos[1]});
  write_video_set(second, {videos[2]});
  auto provider = std::make_shared<const FolderShards>(
      std::vector<std::string>{first.path.string(), second.path.string()}, 1, 1);
  auto source = std::make_shared<const VideoSource>(provider, layout_of(videos, 2, 2));
  const int64_t frames[] = {0, 1};
  int64_t decoded = 0;
  const auto count = [&](const DecodedFrame&) { ++decoded; };
  EXPECT_THROW(source->decode(2, frames, nullptr, count), std::runtime_error);
  source->decode(2, frames, nullptr, count);  // the next reader opens it again
  source->decode(0, frames, nullptr, count);
  EXPECT_EQ(decoded, 4);
  EXPECT_EQ(provider->opened, 3);

  // A shard whose videos are not what the layout says is refused when it opens.
  nocopy::ShardedVideosLayout wrong = layout_of(videos, 2, 2);
  wrong.num_frames[2] += 1;
  auto other = std::make_shared<const FolderShards>(
      std::vector<std::string>{first.path.string(), second.path.string()});
  const VideoSource mismatched(other, wrong);
  try {
    mismatched.decode(2, frames, nullptr, count);
    FAIL() << "expected a mismatch";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("shard 1 video 0"), std::string::npos) << e.what();
  }
  EXPECT_THROW(VideoSource(other, layout_of(videos, 3, 2)), std::invalid_argument);  // 0 videos
  nocopy::ShardedVideosLayout short_layout = layout_of(videos, 2, 2);
  short_layout.num_frames.pop_back();
  EXPECT_THROW(VideoSource(other, short_layout), std::invalid_argument);
  EXPECT_THROW(VideoSource(nullptr, layout_of(videos, 2, 2)), std::invalid_argument);
  EXPECT_THROW(VideoSource(other, layout_of(videos, 2, 0)), std::invalid_argument);
}

TEST(VideoLoader, SourcesLaidEndToEndDecodeFromTheirOwnPart) {
  // A mixture's datasets: a source over shards opened on demand, then a plain set.
  const std::vector<EncodeOptions> videos = same_size_videos();
  const std::vector<EncodeOptions> more = same_size_videos(7);
  TempDir first("videoloader-part0"), second("videoloader-part1"), plain("videoloader-part2");
  write_video_set(first, {videos[0], videos[1]});
  write_video_set(second, {videos[2]});
  write_video_set(plain, more);
  auto provider = std::make_shared<const FolderShards>(
      std::vector<std::string>{first.path.string(), second.path.string()});
  auto lazy = std::make_shared<const VideoSource>(provider, layout_of(videos, 2, 2));
  auto eager = open_source(plain);
  const VideoSource both(std::vector<VideoSourcePtr>{lazy, eager});
  ASSERT_EQ(both.size(), 6);
  EXPECT_TRUE(both.reads_ahead());
  EXPECT_EQ(both.extents().size(), 1U);  // the plain set's mapping; the shards open later
  const int64_t hinted[] = {4, 2, 5};
  both.will_read(hinted);  // video 2 is the lazy part's shard 1
  EXPECT_EQ(provider->hinted, 1);
  const std::vector<Frames> ref_lazy = decode_directly(VideoSet::open(second.path.string()));
  const std::vector<Frames> ref_plain = decode_directly(VideoSet::open(plain.path.string()));
  const int64_t frames[] = {1, 4};
  for (const auto& [video, want] :
       {std::pair{int64_t{2}, &ref_lazy[0]}, std::pair{int64_t{4}, &ref_plain[1]}}) {
    int64_t t = 0;
    both.decode(video, frames, nullptr, [&](const DecodedFrame& f) {
      EXPECT_EQ(both.num_frames(video), static_cast<int64_t>(want->size()));
      const std::vector<uint8_t>& w = (*want)[static_cast<size_t>(frames[t++])];
      EXPECT_TRUE(std::equal(w.begin(), w.end(), f.rgb)) << video;
    });
    EXPECT_EQ(t, 2);
  }
  EXPECT_THROW(VideoSource(std::vector<VideoSourcePtr>{}), std::invalid_argument);
  EXPECT_THROW(VideoSource(std::vector<VideoSourcePtr>{nullptr}), std::invalid_argument);
}

#else

TEST(VideoLoader, WithoutFfmpegAVideoSourceThrows) {
  EXPECT_FALSE(nocopy::video_available());
  TempDir dir("videoloader-noffmpeg");
  std::ofstream(dir / "manifest.json", std::ios::binary | std::ios::trunc)
      << R"({"format_version": 1, "kind": "video", "num_videos": 1, "num_frames": 2,
             "codecs": ["h264"]})";
  View bytes = nocopy::create_npy(dir / "videos.npy", Ints{100}, DType::UInt8);
  std::memset(bytes.data(), 7, 100);
  write_int64(dir / "offsets.npy", {1}, {0});
  write_int64(dir / "lengths.npy", {1}, {100});
  write_int64(dir / "shapes.npy", {1, 3}, {16, 16, 3});
  write_int64(dir / "fps.npy", {1, 2}, {25, 1});
  write_int64(dir / "time_bases.npy", {1, 2}, {1, 25});
  write_int64(dir / "codecs.npy", {1}, {0});
  write_int64(dir / "frame_starts.npy", {2}, {0, 2});
  write_int64(dir / "pts.npy", {2}, {0, 1});
  View keys = nocopy::create_npy(dir / "keyframes.npy", Ints{2}, DType::UInt8);
  const uint8_t flags[] = {1, 0};
  std::memcpy(keys.data(), flags, 2);
  try {
    VideoSource source(VideoSet::open(dir.path.string()));
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("without FFmpeg"), std::string::npos) << e.what();
  }
}

#endif

}  // namespace
