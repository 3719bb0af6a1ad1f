// Video decoding with FFmpeg for video clip datasets: a probe that lists a container's frames
// (presentation timestamps and keyframe flags, from its packets alone) and a reusable decoder that
// reads a container from memory and hands chosen frames to a sink as dense RGB24 (H x W x 3).
//
// Frames are numbered in presentation order: frame i is the one with the i-th smallest pts of the
// best video stream. The decoder finds each wanted frame by its pts (the frame's
// best_effort_timestamp), never by counting: it seeks to the keyframe at or before the first
// wanted frame and decodes forward, and a request that continues forward inside the GOP the
// decoder is already in is served without seeking. Corrupt, truncated or mismatched input is
// std::invalid_argument (the container or the request is unusable) or std::runtime_error (a
// wanted frame could not be decoded), never a crash or a hang.
// Built without FFmpeg (NOCOPY_HAVE_FFMPEG unset), every call throws std::runtime_error.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace nocopy {

/// True when this build links FFmpeg; otherwise the video functions raise std::runtime_error.
bool video_available();

/// Every frame of a video stream in presentation order: pts[i] and keyframe[i] of frame i.
struct VideoIndex {
  std::vector<int64_t> pts;  ///< presentation timestamps, strictly increasing (time base units)
  std::vector<uint8_t> keyframe;  ///< 1 where the frame is a keyframe (decoding can start there)
};

/// What a container says about its best video stream.
struct VideoProbe {
  int64_t frame_count = 0;  ///< frames (packets carrying one picture each)
  int fps_num = 0;          ///< frame rate numerator (0 when unknown)
  int fps_den = 1;          ///< frame rate denominator
  int64_t width = 0;        ///< picture width in pixels
  int64_t height = 0;       ///< picture height in pixels
  std::string codec;        ///< FFmpeg's codec name ("h264", "vp9", "mpeg4", ...)
  int time_base_num = 0;    ///< the stream's time base numerator (pts unit = num/den seconds)
  int time_base_den = 1;    ///< the stream's time base denominator
  VideoIndex index;         ///< every frame's pts and keyframe flag, presentation order
};

/// Lists the best video stream of `container` (MP4, MKV, WebM, ... bytes) by demuxing its
/// packets. std::invalid_argument when it is not a container FFmpeg can read, has no video
/// stream or no frame.
VideoProbe probe_video(std::span<const uint8_t> container);

/// One decoded frame as the sink sees it: valid only during the sink's call.
struct DecodedFrame {
  int64_t frame_number = 0;      ///< presentation-order number of the frame
  int64_t pts = 0;               ///< its presentation timestamp
  const uint8_t* rgb = nullptr;  ///< height rows of width x 3 bytes, `row_stride` bytes apart
  int64_t height = 0;            ///< rows converted
  int64_t width = 0;             ///< columns converted
  int64_t row_stride = 0;        ///< bytes from one row to the next (3 * width when dense)
  int64_t top = 0;               ///< the frame row of rgb's first row (0 unless a window)
  int64_t left = 0;              ///< the frame column of rgb's first column (0 unless a window)
};

/// A rectangle of a frame: rows [top, top + height), columns [left, left + width).
struct FrameWindow {
  int64_t top = 0, left = 0, height = 0, width = 0;
};

/// Receives each wanted frame, in the order asked for.
using FrameSink = std::function<void(const DecodedFrame&)>;

/// A reusable FFmpeg decoder of one video at a time (one per worker; not thread-safe itself).
class VideoDecoder {
 public:
  /// Decoding threads FFmpeg may use per decoder (1: the workers parallelize instead).
  explicit VideoDecoder(int threads = 1);
  ~VideoDecoder();
  VideoDecoder(VideoDecoder&&) noexcept;
  VideoDecoder& operator=(VideoDecoder&&) noexcept;
  VideoDecoder(const VideoDecoder&) = delete;
  VideoDecoder& operator=(const VideoDecoder&) = delete;

  /// Opens `container` (read in place: the bytes must outlive the decoder's use of them) and its
  /// best video stream's decoder; closes the video opened before. std::invalid_argument when it
  /// cannot be demuxed or its codec cannot be opened.
  void open(std::span<const uint8_t> container);

  /// True after a successful open().
  bool is_open() const;
  /// Picture height of the open video.
  int64_t height() const;
  /// Picture width of the open video.
  int64_t width() const;

  /// Decodes `frame_numbers` (non-decreasing, presentation order, each < the index's size) of
  /// the open video, whose frames `index` lists (as probe_video gives it), and hands each to
  /// `sink` as RGB24 (a repeated number is handed over again, not decoded again). With a
  /// `window` (inside the frame), only that rectangle is converted from the YUV planes,
  /// widened to the chroma grid (an even top and left for 4:2:0): the sink sees a rectangle
  /// containing the window, with its origin and row stride (rows may be padded), whose pixels
  /// equal those of the whole frame's conversion. An empty `sink` decodes without converting
  /// (the bare decode rate). std::invalid_argument for a bad request, window or index,
  /// std::runtime_error when a wanted frame is not decoded (corrupt data, or an index of
  /// another video).
  void decode_frames(std::span<const int64_t> frame_numbers, const VideoIndex& index,
                     const FrameSink& sink, const FrameWindow* window = nullptr);

  /// Seeks this decoder made (a forward continuation inside a GOP makes none): for tests.
  int64_t seek_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nocopy
