// Helper of the video tests: small videos encoded and muxed in memory by FFmpeg's own API
// (MPEG-4 part 2, any size including odd ones, a chosen frame count, GOP and B-frames, in
// Matroska or fragmented MP4), with a moving test pattern, so no test needs a file or an
// external tool. Only compiled where the tests link FFmpeg (NOCOPY_HAVE_FFMPEG).
#pragma once

#ifdef NOCOPY_HAVE_FFMPEG

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <libavutil/mem.h>
}

namespace test_encoder {

/// What to encode.
struct EncodeOptions {
  /// Picture size in pixels (odd sizes allowed: the chroma planes round up).
  int width = 48, height = 32;
  /// Frames, the encoder's keyframe interval and its most consecutive B-frames.
  int frames = 30, gop = 10, b_frames = 2;
  /// "matroska" or "mp4" (fragmented: the muxer writes to a non-seekable memory buffer).
  std::string container = "matroska";
  /// Chroma patterns instead of neutral grey (R = G = B = the expanded luma when false).
  bool colour = false;
  /// Shifts the pattern, so videos made with different values differ.
  int pattern = 0;
};

/// Luma of pixel (y, x) in frame i of pattern `pattern`: a pattern that moves from frame to
/// frame.
inline uint8_t luma(int i, int y, int x, int pattern = 0) {
  return static_cast<uint8_t>(40 + ((x * 4 + y * 2 + i * 6 + pattern * 23) % 160));
}

/// Chroma plane p (1: U, 2: V) of chroma pixel (y, x) in frame i: neutral unless `colour`.
inline uint8_t chroma(int p, int i, int y, int x, const EncodeOptions& o) {
  if (!o.colour) return 128;
  return static_cast<uint8_t>(96 + ((x * (p + 2) + y * (5 - p) + i * 3 + o.pattern * 11) % 64));
}

/// Throws when an FFmpeg call failed.
inline void check(int ret, const char* what) {
  if (ret < 0) throw std::runtime_error(std::string("test encoder: ") + what);
}

/// An encoded video and the encoder's keyframe flags, by presentation order.
struct EncodedVideo {
  std::vector<uint8_t> bytes;
  std::vector<bool> keyframes;
};

/// The video `o` describes, as container bytes.
inline EncodedVideo encode_video(const EncodeOptions& o) {
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
  if (codec == nullptr) throw std::runtime_error("no MPEG-4 encoder");
  AVFormatContext* fmt = nullptr;
  check(avformat_alloc_output_context2(&fmt, nullptr, o.container.c_str(), nullptr), "muxer");
  std::unique_ptr<AVFormatContext, void (*)(AVFormatContext*)> fmt_guard(
      fmt, [](AVFormatContext* f) {
        if (f->pb != nullptr) {
          uint8_t* leftover = nullptr;
          avio_close_dyn_buf(f->pb, &leftover);
          av_free(leftover);
        }
        avformat_free_context(f);
      });
  AVCodecContext* enc = avcodec_alloc_context3(codec);
  std::unique_ptr<AVCodecContext, void (*)(AVCodecContext*)> enc_guard(
      enc, [](AVCodecContext* c) { avcodec_free_context(&c); });
  enc->width = o.width;
  enc->height = o.height;
  enc->pix_fmt = AV_PIX_FMT_YUV420P;
  enc->time_base = AVRational{1, 25};
  enc->framerate = AVRational{25, 1};
  enc->gop_size = o.gop;
  enc->max_b_frames = o.b_frames;
  enc->flags |= AV_CODEC_FLAG_QSCALE;
  enc->global_quality = FF_QP2LAMBDA * 2;
  if ((fmt->oformat->flags & AVFMT_GLOBALHEADER) != 0) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  check(avcodec_open2(enc, codec, nullptr), "open encoder");
  AVStream* st = avformat_new_stream(fmt, nullptr);
  if (st == nullptr) throw std::runtime_error("stream");
  check(avcodec_parameters_from_context(st->codecpar, enc), "parameters");
  st->time_base = enc->time_base;
  check(avio_open_dyn_buf(&fmt->pb), "dyn buf");
  AVDictionary* muxer_options = nullptr;
  if (o.container == "mp4") {
    av_dict_set(&muxer_options, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0);
  }
  const int header = avformat_write_header(fmt, &muxer_options);
  av_dict_free(&muxer_options);
  check(header, "header");
  std::unique_ptr<AVFrame, void (*)(AVFrame*)> frame(av_frame_alloc(),
                                                     [](AVFrame* f) { av_frame_free(&f); });
  std::unique_ptr<AVPacket, void (*)(AVPacket*)> packet(av_packet_alloc(),
                                                        [](AVPacket* p) { av_packet_free(&p); });
  frame->format = enc->pix_fmt;
  frame->width = o.width;
  frame->height = o.height;
  check(av_frame_get_buffer(frame.get(), 0), "frame buffer");
  std::vector<bool> keyframes(static_cast<size_t>(o.frames));
  auto drain = [&] {
    for (;;) {
      const int ret = avcodec_receive_packet(enc, packet.get());
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
      check(ret, "encode");
      keyframes[static_cast<size_t>(packet->pts)] = (packet->flags & AV_PKT_FLAG_KEY) != 0;
      if (packet->duration == 0) packet->duration = 1;  // one frame of the time base
      av_packet_rescale_ts(packet.get(), enc->time_base, st->time_base);
      packet->stream_index = st->index;
      check(av_interleaved_write_frame(fmt, packet.get()), "mux");
    }
  };
  const int chroma_h = (o.height + 1) / 2, chroma_w = (o.width + 1) / 2;
  for (int i = 0; i < o.frames; ++i) {
    check(av_frame_make_writable(frame.get()), "writable");
    for (int y = 0; y < o.height; ++y) {
      for (int x = 0; x < o.width; ++x) {
        frame->data[0][y * frame->linesize[0] + x] = luma(i, y, x, o.pattern);
      }
    }
    for (int p = 1; p < 3; ++p) {
      for (int y = 0; y < chroma_h; ++y) {
        for (int x = 0; x < chroma_w; ++x) {
          frame->data[p][y * frame->linesize[p] + x] = chroma(p, i, y, x, o);
        }
      }
    }
    frame->pts = i;
    check(avcodec_send_frame(enc, frame.get()), "send frame");
    drain();
  }
  check(avcodec_send_frame(enc, nullptr), "flush");
  drain();
  check(av_write_trailer(fmt), "trailer");
  uint8_t* buffer = nullptr;
  const int size = avio_close_dyn_buf(fmt->pb, &buffer);
  fmt->pb = nullptr;
  std::vector<uint8_t> out(buffer, buffer + size);
  av_free(buffer);
  return {std::move(out), std::move(keyframes)};
}

}  // namespace test_encoder

#endif
