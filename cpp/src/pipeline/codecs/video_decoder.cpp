// VideoDecoder and probe_video: FFmpeg demuxing of a container held in memory (a custom,
// seekable AVIOContext over the bytes), decoding of the best video stream and swscale conversion
// to RGB24. Every AV* object lives in a RAII holder; every FFmpeg return code is checked.
#include "nocopy/pipeline/codecs/video_decoder.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

#ifdef NOCOPY_HAVE_FFMPEG
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <cstring>
#include <limits>
#endif

namespace nocopy {

#ifdef NOCOPY_HAVE_FFMPEG

namespace {

/// Largest side accepted (FFmpeg's own limit is larger; hostile headers could ask for gigabytes).
constexpr int64_t kMaxSide = 16384;
/// Largest picture accepted, in pixels.
constexpr int64_t kMaxPixels = int64_t{1} << 27;
/// Packets read beyond the wanted frame's distance from its keyframe before giving up.
constexpr int64_t kPacketSlack = 256;
/// Frames a request decodes forward past the cursor, through keyframes, rather than seek.
constexpr int64_t kForwardFrames = 8;
/// Bytes of the AVIOContext's read buffer.
constexpr int kIoBufferSize = 1 << 16;

std::string av_error_text(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof(text));
  return text;
}

/// The bytes of a container and a read position: the opaque state of the AVIOContext.
struct MemoryReader {
  std::span<const uint8_t> bytes;
  int64_t position = 0;

  static int read(void* opaque, uint8_t* buf, int size) {
    auto* self = static_cast<MemoryReader*>(opaque);
    const int64_t left = static_cast<int64_t>(self->bytes.size()) - self->position;
    if (left <= 0) return AVERROR_EOF;
    const int n = static_cast<int>(std::min<int64_t>(left, size));
    std::memcpy(buf, self->bytes.data() + self->position, static_cast<size_t>(n));
    self->position += n;
    return n;
  }

  static int64_t seek(void* opaque, int64_t offset, int whence) {
    auto* self = static_cast<MemoryReader*>(opaque);
    const auto size = static_cast<int64_t>(self->bytes.size());
    int64_t target = 0;
    switch (whence & ~AVSEEK_FORCE) {
      case AVSEEK_SIZE:
        return size;
      case SEEK_SET:
        target = offset;
        break;
      case SEEK_CUR:
        target = self->position + offset;
        break;
      case SEEK_END:
        target = size + offset;
        break;
      default:
        return AVERROR(EINVAL);
    }
    if (target < 0 || target > size) return AVERROR(EINVAL);
    self->position = target;
    return target;
  }
};

struct IoDeleter {
  void operator()(AVIOContext* io) const {
    av_freep(&io->buffer);  // avio may have replaced the buffer it was given
    avio_context_free(&io);
  }
};
struct FormatDeleter {
  void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};
struct CodecDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
using IoPtr = std::unique_ptr<AVIOContext, IoDeleter>;
using FormatPtr = std::unique_ptr<AVFormatContext, FormatDeleter>;
using CodecPtr = std::unique_ptr<AVCodecContext, CodecDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using SwsPtr = std::unique_ptr<SwsContext, SwsDeleter>;

PacketPtr new_packet() {
  PacketPtr p(av_packet_alloc());
  if (!p) throw std::bad_alloc();
  return p;
}

/// A demuxer over bytes in memory, with its best video stream chosen.
struct Demuxer {
  std::unique_ptr<MemoryReader> reader;
  IoPtr io;
  FormatPtr format;
  int stream = -1;

  explicit Demuxer(std::span<const uint8_t> bytes) {
    if (bytes.empty()) throw std::invalid_argument("video container is empty (0 bytes)");
    reader = std::make_unique<MemoryReader>(MemoryReader{bytes, 0});
    auto* buffer = static_cast<uint8_t*>(av_malloc(kIoBufferSize));
    if (buffer == nullptr) throw std::bad_alloc();
    AVIOContext* raw_io = avio_alloc_context(buffer, kIoBufferSize, 0, reader.get(),
                                             &MemoryReader::read, nullptr, &MemoryReader::seek);
    if (raw_io == nullptr) {
      av_free(buffer);
      throw std::bad_alloc();
    }
    io.reset(raw_io);
    AVFormatContext* raw = avformat_alloc_context();
    if (raw == nullptr) throw std::bad_alloc();
    raw->pb = io.get();
    raw->flags |= AVFMT_FLAG_CUSTOM_IO;
    int ret = avformat_open_input(&raw, nullptr, nullptr, nullptr);  // frees raw on failure
    if (ret < 0) {
      throw std::invalid_argument("video container cannot be opened: " + av_error_text(ret));
    }
    format.reset(raw);
    ret = avformat_find_stream_info(format.get(), nullptr);
    if (ret < 0) {
      throw std::invalid_argument("video container's streams cannot be read: " +
                                  av_error_text(ret));
    }
    stream = av_find_best_stream(format.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (stream < 0) throw std::invalid_argument("video container has no video stream");
    const AVCodecParameters* par = format->streams[stream]->codecpar;
    if (par->width < 1 || par->height < 1 || par->width > kMaxSide || par->height > kMaxSide ||
        int64_t{par->width} * par->height > kMaxPixels) {
      throw std::invalid_argument("video stream has an unsupported picture size " +
                                  std::to_string(par->width) + "x" + std::to_string(par->height));
    }
    for (unsigned i = 0; i < format->nb_streams; ++i) {
      format->streams[i]->discard =
          static_cast<int>(i) == stream ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
    }
  }

  AVStream* video() const { return format->streams[stream]; }

  /// The next packet of the video stream into `packet` (unreferenced first); false at the end.
  bool read(AVPacket* packet) {
    for (;;) {
      av_packet_unref(packet);
      const int ret = av_read_frame(format.get(), packet);
      if (ret == AVERROR_EOF) return false;
      if (ret < 0) {
        // A demuxer error mid-file (truncated or corrupt data) ends the readable stream.
        return false;
      }
      if (packet->stream_index == stream) return true;
    }
  }
};

/// The pts a packet presents its picture at (its dts when it has none).
int64_t packet_time(const AVPacket* p) {
  return p->pts != AV_NOPTS_VALUE ? p->pts : p->dts;
}

void check_index(const VideoIndex& index) {
  if (index.pts.empty()) throw std::invalid_argument("video index lists no frame");
  if (index.keyframe.size() != index.pts.size()) {
    throw std::invalid_argument("video index has " + std::to_string(index.pts.size()) +
                                " pts but " + std::to_string(index.keyframe.size()) +
                                " keyframe flags");
  }
  for (size_t i = 1; i < index.pts.size(); ++i) {
    if (index.pts[i] <= index.pts[i - 1]) {
      throw std::invalid_argument("video index pts are not strictly increasing at frame " +
                                  std::to_string(i));
    }
  }
}

}  // namespace

bool video_available() {
  return true;
}

VideoProbe probe_video(std::span<const uint8_t> container) {
  Demuxer demuxer(container);
  const AVStream* st = demuxer.video();
  VideoProbe probe;
  probe.width = st->codecpar->width;
  probe.height = st->codecpar->height;
  const AVCodecDescriptor* desc = avcodec_descriptor_get(st->codecpar->codec_id);
  probe.codec = desc != nullptr ? desc->name : "unknown";
  probe.time_base_num = st->time_base.num;
  probe.time_base_den = st->time_base.den;
  AVRational rate = st->avg_frame_rate;
  if (rate.num <= 0 || rate.den <= 0) rate = st->r_frame_rate;
  if (rate.num > 0 && rate.den > 0) {
    probe.fps_num = rate.num;
    probe.fps_den = rate.den;
  }
  std::vector<std::pair<int64_t, uint8_t>> frames;
  PacketPtr packet = new_packet();
  bool decode_order_times = false;  // a packet without pts: its dts stands in
  while (demuxer.read(packet.get())) {
    if ((packet->flags & AV_PKT_FLAG_DISCARD) != 0 || packet->size == 0) continue;
    decode_order_times = decode_order_times || packet->pts == AV_NOPTS_VALUE;
    const int64_t t = packet_time(packet.get());
    if (t == AV_NOPTS_VALUE) {
      throw std::invalid_argument("video packet " + std::to_string(frames.size()) +
                                  " has no timestamp");
    }
    frames.emplace_back(t, (packet->flags & AV_PKT_FLAG_KEY) != 0 ? 1 : 0);
  }
  if (frames.empty()) throw std::invalid_argument("video stream has no frame");
  if (decode_order_times && st->codecpar->video_delay > 0) {
    // Decode-order times of a stream that reorders its pictures (B-frames in AVI) say nothing
    // of presentation order: no exact seek is possible.
    throw std::invalid_argument(
        "the container stores no presentation timestamps and the stream reorders frames "
        "(B-frames, as in AVI): frames cannot be found exactly; re-encode it (pack with "
        "reencode=True)");
  }
  std::sort(frames.begin(), frames.end());
  for (size_t i = 1; i < frames.size(); ++i) {
    if (frames[i].first == frames[i - 1].first) {
      throw std::invalid_argument("video stream has two frames at pts " +
                                  std::to_string(frames[i].first));
    }
  }
  probe.frame_count = static_cast<int64_t>(frames.size());
  probe.index.pts.reserve(frames.size());
  probe.index.keyframe.reserve(frames.size());
  for (const auto& [t, key] : frames) {
    probe.index.pts.push_back(t);
    probe.index.keyframe.push_back(key);
  }
  return probe;
}

struct VideoDecoder::Impl {
  int threads = 1;
  std::unique_ptr<Demuxer> demuxer;
  CodecPtr codec;
  PacketPtr packet = new_packet();
  FramePtr frame{av_frame_alloc()};
  SwsPtr sws;
  std::vector<uint8_t> rgb;         // the frame handed to the sink, dense H x W x 3
  std::vector<uint8_t> padded_rgb;  // swscale's output when rows need padding
  /// Presentation-order number of the last frame handed out since the last seek, -1 if none.
  int64_t cursor = -1;
  /// True once the decoder was sent the end of stream (it must be flushed before reuse).
  bool draining = false;
  int64_t seeks = 0;

  void close() {
    codec.reset();
    demuxer.reset();
    cursor = -1;
    draining = false;
  }

  void open(std::span<const uint8_t> container) {
    close();
    if (!frame) throw std::bad_alloc();
    auto d = std::make_unique<Demuxer>(container);
    const AVCodecParameters* par = d->video()->codecpar;
    const AVCodec* decoder = avcodec_find_decoder(par->codec_id);
    if (decoder == nullptr) {
      const AVCodecDescriptor* desc = avcodec_descriptor_get(par->codec_id);
      throw std::invalid_argument(std::string("no decoder for the video codec ") +
                                  (desc != nullptr ? desc->name : "unknown"));
    }
    CodecPtr c(avcodec_alloc_context3(decoder));
    if (!c) throw std::bad_alloc();
    int ret = avcodec_parameters_to_context(c.get(), par);
    if (ret < 0) {
      throw std::invalid_argument("video codec parameters are invalid: " + av_error_text(ret));
    }
    c->thread_count = threads;
    c->pkt_timebase = d->video()->time_base;
    ret = avcodec_open2(c.get(), decoder, nullptr);
    if (ret < 0) {
      throw std::invalid_argument("video decoder cannot be opened: " + av_error_text(ret));
    }
    demuxer = std::move(d);
    codec = std::move(c);
  }

  void require_open() const {
    if (!demuxer) throw std::invalid_argument("VideoDecoder: no video is open");
  }

  /// Seeks to the keyframe at `pts` (or the one before it) and resets the decoder.
  void seek(int64_t pts) {
    const int ret =
        av_seek_frame(demuxer->format.get(), demuxer->stream, pts, AVSEEK_FLAG_BACKWARD);
    if (ret < 0) {
      throw std::runtime_error("video seek to pts " + std::to_string(pts) +
                               " failed: " + av_error_text(ret));
    }
    avcodec_flush_buffers(codec.get());
    cursor = -1;
    draining = false;
    ++seeks;
  }

  /// The next decoded frame into `frame`; false when the stream is exhausted. Reads at most
  /// `packet_budget` packets (decremented), throwing when it runs out.
  bool next_frame(int64_t& packet_budget) {
    for (;;) {
      int ret = avcodec_receive_frame(codec.get(), frame.get());
      if (ret >= 0) return true;
      if (ret == AVERROR_EOF) return false;
      if (ret != AVERROR(EAGAIN)) {
        throw std::runtime_error("video decoding failed: " + av_error_text(ret));
      }
      if (draining) return false;
      if (packet_budget-- <= 0) {
        throw std::runtime_error(
            "video decoding read too many packets without reaching a "
            "wanted frame (corrupt video or an index of another video)");
      }
      if (demuxer->read(packet.get())) {
        ret = avcodec_send_packet(codec.get(), packet.get());
        av_packet_unref(packet.get());
        // Corrupt packets are skipped (the decoder conceals what it can); a wanted frame they
        // held is then missing and reported by the caller.
        if (ret < 0 && ret != AVERROR_INVALIDDATA && ret != AVERROR(EAGAIN)) {
          throw std::runtime_error("video decoding failed: " + av_error_text(ret));
        }
      } else {
        ret = avcodec_send_packet(codec.get(), nullptr);
        draining = true;
        if (ret < 0 && ret != AVERROR_EOF) {
          throw std::runtime_error("video decoder flush failed: " + av_error_text(ret));
        }
      }
    }
  }

  /// The rectangle of the decoded `frame` that covers `window` (the whole frame when null),
  /// converted to RGB24 in `rgb`: dense rows for the whole frame, padded rows for a window.
  DecodedFrame convert(int64_t height, int64_t width, const FrameWindow* window) {
    if (frame->width != width || frame->height != height) {
      throw std::runtime_error("decoded video frame is " + std::to_string(frame->width) + "x" +
                               std::to_string(frame->height) + ", the stream " +
                               std::to_string(width) + "x" + std::to_string(height));
    }
    const auto format = static_cast<AVPixelFormat>(frame->format);
    const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(format);
    if (desc == nullptr) throw std::runtime_error("decoded video frame has no pixel format");
    // The rectangle converted: the window widened to the chroma grid (all four edges) of a
    // planar 8-bit format whose frame size is a whole number of chroma samples, else the whole
    // frame. swscale converts such a rectangle as it converts the same pixels of the whole frame
    // (each chroma sample serves its own grid cell); a ragged edge takes another path.
    int64_t top = 0, left = 0, rows = height, cols = width;
    uint8_t* planes[4] = {frame->data[0], frame->data[1], frame->data[2], frame->data[3]};
    const int64_t gy = int64_t{1} << desc->log2_chroma_h, gx = int64_t{1} << desc->log2_chroma_w;
    if (window != nullptr && windowable(desc) && height % gy == 0 && width % gx == 0) {
      top = window->top / gy * gy;
      left = window->left / gx * gx;
      rows = (window->top + window->height + gy - 1) / gy * gy - top;
      cols = (window->left + window->width + gx - 1) / gx * gx - left;
      for (int p = 0; p < desc->nb_components; ++p) {
        const AVComponentDescriptor& c = desc->comp[p];
        const bool chroma = (p == 1 || p == 2) && desc->nb_components >= 3;
        const int64_t y = chroma ? top >> desc->log2_chroma_h : top;
        const int64_t x = chroma ? left >> desc->log2_chroma_w : left;
        planes[c.plane] = frame->data[c.plane] + y * frame->linesize[c.plane] + x;
      }
    }
    SwsContext* s =
        sws_getCachedContext(sws.release(), static_cast<int>(cols), static_cast<int>(rows), format,
                             static_cast<int>(cols), static_cast<int>(rows), AV_PIX_FMT_RGB24,
                             SWS_BILINEAR, nullptr, nullptr, nullptr);
    if (s == nullptr) throw std::runtime_error("video frame cannot be converted to RGB");
    sws.reset(s);
    // The frame's own matrix (BT.601 when unspecified) and range.
    int space = frame->colorspace == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : frame->colorspace;
    const int* coefficients = sws_getCoefficients(space);
    const bool jpeg_format = format == AV_PIX_FMT_YUVJ420P || format == AV_PIX_FMT_YUVJ422P ||
                             format == AV_PIX_FMT_YUVJ444P || format == AV_PIX_FMT_YUVJ440P ||
                             format == AV_PIX_FMT_YUVJ411P;
    const int full_range = frame->color_range == AVCOL_RANGE_JPEG || jpeg_format ? 1 : 0;
    int* inv = nullptr;
    int* table = nullptr;
    int src_range = 0, dst_range = 0, brightness = 0, contrast = 0, saturation = 0;
    if (sws_getColorspaceDetails(s, &inv, &src_range, &table, &dst_range, &brightness, &contrast,
                                 &saturation) >= 0) {
      sws_setColorspaceDetails(s, coefficients, full_range, coefficients, 1, brightness, contrast,
                               saturation);
    }
    // swscale's SIMD YUV -> RGB writes whole blocks of 8 or 16 pixels and leaves a row's last
    // pixels unwritten when the row stride has no room for a whole last block: it converts into
    // rows padded to 16 pixels (and 64 bytes); the whole frame is then copied to dense rows.
    const int64_t dense = cols * 3;
    const int64_t padded = ((cols + 15) / 16 * 16 * 3 + 63) / 64 * 64;
    const bool direct = padded == dense || window != nullptr;
    std::vector<uint8_t>& target = direct ? rgb : padded_rgb;
    target.resize(static_cast<size_t>(rows * padded));
    uint8_t* dst[4] = {target.data(), nullptr, nullptr, nullptr};
    int dst_stride[4] = {static_cast<int>(padded), 0, 0, 0};
    const int done =
        sws_scale(s, planes, frame->linesize, 0, static_cast<int>(rows), dst, dst_stride);
    if (done != rows) throw std::runtime_error("video frame conversion to RGB failed");
    if (!direct) {
      rgb.resize(static_cast<size_t>(rows * dense));
      for (int64_t r = 0; r < rows; ++r) {
        std::memcpy(rgb.data() + r * dense, padded_rgb.data() + r * padded,
                    static_cast<size_t>(dense));
      }
    }
    return DecodedFrame{0, 0, rgb.data(), rows, cols, direct ? padded : dense, top, left};
  }

  /// True when a window of `desc`'s frames can be converted alone: planar, one byte per
  /// sample, no bitstream packing.
  static bool windowable(const AVPixFmtDescriptor* desc) {
    if ((desc->flags & (AV_PIX_FMT_FLAG_PLANAR)) == 0) return false;
    if ((desc->flags &
         (AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_PAL)) != 0) {
      return false;
    }
    for (int p = 0; p < desc->nb_components; ++p) {
      const AVComponentDescriptor& c = desc->comp[p];
      if (c.step != 1 || c.depth > 8 || c.offset != 0 || c.shift != 0) return false;
    }
    return true;
  }

  void decode(std::span<const int64_t> wanted, const VideoIndex& index, const FrameSink& sink,
              const FrameWindow* window) {
    require_open();
    check_index(index);
    const auto n = static_cast<int64_t>(index.pts.size());
    for (size_t i = 0; i < wanted.size(); ++i) {
      if (wanted[i] < 0 || wanted[i] >= n) {
        throw std::invalid_argument("frame " + std::to_string(wanted[i]) +
                                    " is outside the video's " + std::to_string(n) + " frames");
      }
      if (i > 0 && wanted[i] < wanted[i - 1]) {
        throw std::invalid_argument("frame numbers must be non-decreasing");
      }
    }
    if (wanted.empty()) return;
    const int64_t height = demuxer->video()->codecpar->height;
    const int64_t width = demuxer->video()->codecpar->width;
    if (window != nullptr &&
        (window->top < 0 || window->left < 0 || window->height < 1 || window->width < 1 ||
         window->top + window->height > height || window->left + window->width > width)) {
      throw std::invalid_argument(
          "window (" + std::to_string(window->top) + ", " + std::to_string(window->left) + ", " +
          std::to_string(window->height) + ", " + std::to_string(window->width) +
          ") is not inside the " + std::to_string(height) + "x" + std::to_string(width) + " frame");
    }
    auto keyframe_before = [&](int64_t f) {
      while (f > 0 && index.keyframe[static_cast<size_t>(f)] == 0) --f;
      return f;
    };
    size_t next = 0;
    while (next < wanted.size()) {
      const int64_t target = wanted[next];
      const int64_t key = keyframe_before(target);
      // Decode forward from the cursor (no seek) when the target lies in the GOP the decoder is
      // in, or in a later one whose keyframe is at most kForwardFrames past the cursor: decoding
      // those few frames costs less than a seek, which flushes the decoder and refills its
      // reordering delay. Frames still drained from the decoder at the end of the video count.
      const bool continues =
          cursor >= 0 && target > cursor && (key <= cursor || key - cursor <= kForwardFrames);
      if (!continues) seek(index.pts[static_cast<size_t>(key)]);
      int64_t budget = target - (continues ? cursor : key) + kPacketSlack;
      bool overshoot_retry = !continues;
      int64_t seek_key = key;
      bool first = true;
      for (;;) {
        if (!next_frame(budget)) {
          throw std::runtime_error("video ended before frame " + std::to_string(target) + " (pts " +
                                   std::to_string(index.pts[static_cast<size_t>(target)]) +
                                   ") was decoded (truncated or corrupt video)");
        }
        const int64_t t = frame->best_effort_timestamp;
        const int64_t want = index.pts[static_cast<size_t>(target)];
        if (t == AV_NOPTS_VALUE) {
          av_frame_unref(frame.get());
          continue;
        }
        if (t > want) {
          // The seek landed after the target's keyframe (a demuxer that seeks by dts): retry
          // from the keyframe before, then give up.
          if (overshoot_retry && first && seek_key > 0) {
            av_frame_unref(frame.get());
            seek_key = keyframe_before(seek_key - 1);
            seek(index.pts[static_cast<size_t>(seek_key)]);
            budget = target - seek_key + kPacketSlack;
            continue;
          }
          throw std::runtime_error(
              "frame " + std::to_string(target) + " (pts " + std::to_string(want) +
              ") was not decoded: the next frame "
              "has pts " +
              std::to_string(t) + " (corrupt video or an index of another video)");
        }
        first = false;
        if (t < want) {
          av_frame_unref(frame.get());
          continue;
        }
        DecodedFrame out;
        if (sink) out = convert(height, width, window);
        av_frame_unref(frame.get());
        cursor = target;
        out.frame_number = target;
        out.pts = t;
        while (next < wanted.size() && wanted[next] == target) {
          if (sink) sink(out);
          ++next;
        }
        break;
      }
    }
  }
};

VideoDecoder::VideoDecoder(int threads) : impl_(std::make_unique<Impl>()) {
  if (threads < 0) throw std::invalid_argument("VideoDecoder threads must be >= 0");
  impl_->threads = threads;
}

void VideoDecoder::open(std::span<const uint8_t> container) {
  impl_->open(container);
}

bool VideoDecoder::is_open() const {
  return impl_->demuxer != nullptr;
}

int64_t VideoDecoder::height() const {
  impl_->require_open();
  return impl_->demuxer->video()->codecpar->height;
}

int64_t VideoDecoder::width() const {
  impl_->require_open();
  return impl_->demuxer->video()->codecpar->width;
}

void VideoDecoder::decode_frames(std::span<const int64_t> frame_numbers, const VideoIndex& index,
                                 const FrameSink& sink, const FrameWindow* window) {
  try {
    impl_->decode(frame_numbers, index, sink, window);
  } catch (...) {
    // The decoder's position is unknown after a failure: the next request seeks.
    impl_->cursor = -1;
    throw;
  }
}

int64_t VideoDecoder::seek_count() const {
  return impl_->seeks;
}

#else  // without FFmpeg

namespace {
[[noreturn]] void no_ffmpeg() {
  throw std::runtime_error(
      "nocopy was built without FFmpeg: video decoding is unavailable; install libavcodec-dev "
      "libavformat-dev libswscale-dev and rebuild");
}
}  // namespace

bool video_available() {
  return false;
}

VideoProbe probe_video(std::span<const uint8_t>) {
  no_ffmpeg();
}

struct VideoDecoder::Impl {};

VideoDecoder::VideoDecoder(int) : impl_(std::make_unique<Impl>()) {}

void VideoDecoder::open(std::span<const uint8_t>) {
  no_ffmpeg();
}

bool VideoDecoder::is_open() const {
  return false;
}

int64_t VideoDecoder::height() const {
  no_ffmpeg();
}

int64_t VideoDecoder::width() const {
  no_ffmpeg();
}

void VideoDecoder::decode_frames(std::span<const int64_t>, const VideoIndex&, const FrameSink&,
                                 const FrameWindow*) {
  no_ffmpeg();
}

int64_t VideoDecoder::seek_count() const {
  return 0;
}

#endif

VideoDecoder::~VideoDecoder() = default;
VideoDecoder::VideoDecoder(VideoDecoder&&) noexcept = default;
VideoDecoder& VideoDecoder::operator=(VideoDecoder&&) noexcept = default;

}  // namespace nocopy
