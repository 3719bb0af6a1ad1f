// Bindings of the video domain's test seams: a container's probe and a decode of chosen frames.
// No logic here; see nocopy/pipeline/codecs/video_decoder.hpp. A decode writes new memory: its
// result is a new (T, H, W, 3) uint8 array.
#include <nanobind/stl/string.h>

#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "nocopy/pipeline/codecs/video_decoder.hpp"

namespace nocopy::bindings {
namespace {

/// The bytes of a 1-d contiguous uint8 (or bytes-like) object, kept alive by the returned view.
View video_bytes(nb::handle obj) {
  View v = view_from_object(obj);
  if (v.itemsize() != 1 || !v.is_c_contiguous()) {
    throw std::invalid_argument("video data must be contiguous bytes (uint8), got dtype " +
                                std::string(dtype_name(v.dtype())));
  }
  return v;
}

/// A stored frame index (pts and keyframe flags, display order) from Python sequences.
VideoIndex video_index_of(nb::handle pts, nb::handle keyframes) {
  VideoIndex index;
  index.pts = int64_args(pts, "pts");
  for (int64_t k : int64_args(keyframes, "keyframes")) {
    index.keyframe.push_back(static_cast<uint8_t>(k != 0));
  }
  if (index.pts.size() != index.keyframe.size() || index.pts.empty()) {
    throw std::invalid_argument("pts and keyframes must be non-empty and of one length");
  }
  return index;
}

std::span<const uint8_t> byte_span(const View& v) {
  return {static_cast<const uint8_t*>(v.data()), static_cast<size_t>(v.nbytes())};
}

}  // namespace

void bind_video(nb::module_& m) {
  m.def("_video_available", &video_available, "True when this build decodes video (FFmpeg).");
  m.def(
      "_video_probe",
      [](nb::handle data) {
        View v = video_bytes(data);
        VideoProbe p;
        {
          nb::gil_scoped_release release;
          p = probe_video(byte_span(v));
        }
        nb::list pts, keyframes;
        for (size_t i = 0; i < p.index.pts.size(); ++i) {
          pts.append(p.index.pts[i]);
          keyframes.append(p.index.keyframe[i] != 0);
        }
        nb::dict d;
        d["frame_count"] = p.frame_count;
        d["fps"] = nb::make_tuple(p.fps_num, p.fps_den);
        d["width"] = p.width;
        d["height"] = p.height;
        d["codec"] = p.codec;
        d["time_base"] = nb::make_tuple(p.time_base_num, p.time_base_den);
        d["pts"] = pts;
        d["keyframe"] = keyframes;
        return d;
      },
      nb::arg("data"),
      "Probe of a video container's best video stream: frame_count, fps and time_base "
      "(num, den), width, height, codec, and every frame's pts and keyframe flag in "
      "presentation order.");
  m.def(
      "_video_decode",
      [](nb::handle data, nb::handle frames) {
        View v = video_bytes(data);
        const std::vector<int64_t> wanted = int64_args(frames, "frames");
        VideoProbe p;
        {
          nb::gil_scoped_release release;
          p = probe_video(byte_span(v));
        }
        View out =
            View::empty(DType::UInt8, {static_cast<int64_t>(wanted.size()), p.height, p.width, 3});
        {
          nb::gil_scoped_release release;
          VideoDecoder decoder;
          decoder.open(byte_span(v));
          auto* dst = static_cast<uint8_t*>(out.data());
          const auto frame_bytes = static_cast<size_t>(p.height * p.width * 3);
          size_t slot = 0;
          decoder.decode_frames(wanted, p.index, [&](const DecodedFrame& f) {
            std::memcpy(dst + slot * frame_bytes, f.rgb, frame_bytes);
            ++slot;
          });
        }
        return out;
      },
      nb::arg("data"), nb::arg("frames"),
      "Decodes frames (non-decreasing presentation-order numbers) of a video container to a "
      "new (T, H, W, 3) uint8 RGB array, indexing the video by probing it first.");
  m.def(
      "_video_decode_indexed",
      [](nb::handle data, nb::handle pts, nb::handle keyframes, nb::handle frames,
         nb::handle height, nb::handle width) {
        View v = video_bytes(data);
        const VideoIndex index = video_index_of(pts, keyframes);
        const std::vector<int64_t> wanted = int64_args(frames, "frames");
        const int64_t h = int64_arg(height, "height"), w = int64_arg(width, "width");
        if (h < 1 || w < 1 || h > 16384 || w > 16384) {
          throw std::invalid_argument("height and width must be in [1, 16384]");
        }
        View out = View::empty(DType::UInt8, {static_cast<int64_t>(wanted.size()), h, w, 3});
        {
          nb::gil_scoped_release release;
          VideoDecoder decoder;
          decoder.open(byte_span(v));
          auto* dst = static_cast<uint8_t*>(out.data());
          const auto frame_bytes = static_cast<size_t>(h * w * 3);
          size_t slot = 0;
          decoder.decode_frames(wanted, index, [&](const DecodedFrame& f) {
            if (f.height != h || f.width != w) {
              throw std::invalid_argument("the video's pictures are not the indexed size");
            }
            std::memcpy(dst + slot * frame_bytes, f.rgb, frame_bytes);
            ++slot;
          });
        }
        return out;
      },
      nb::arg("data"), nb::arg("pts"), nb::arg("keyframes"), nb::arg("frames"), nb::arg("height"),
      nb::arg("width"),
      "Decodes frames of a video container with its stored index (pts and keyframe flags, "
      "display order; no probing) to a new (T, height, width, 3) uint8 RGB array.");
  m.def(
      "_video_decode_requests",
      [](nb::handle data, nb::handle requests) {
        View v = video_bytes(data);
        std::vector<std::vector<int64_t>> wanted;
        for (nb::handle r : requests) wanted.push_back(int64_args(r, "requests"));
        VideoProbe p;
        {
          nb::gil_scoped_release release;
          p = probe_video(byte_span(v));
        }
        const auto frame_bytes = static_cast<size_t>(p.height * p.width * 3);
        std::vector<View> outs;
        for (const auto& w : wanted) {
          outs.push_back(
              View::empty(DType::UInt8, {static_cast<int64_t>(w.size()), p.height, p.width, 3}));
        }
        VideoDecoder decoder;
        {
          nb::gil_scoped_release release;
          decoder.open(byte_span(v));
          for (size_t i = 0; i < wanted.size(); ++i) {
            auto* dst = static_cast<uint8_t*>(outs[i].data());
            size_t slot = 0;
            decoder.decode_frames(wanted[i], p.index, [&](const DecodedFrame& f) {
              std::memcpy(dst + slot * frame_bytes, f.rgb, frame_bytes);
              ++slot;
            });
          }
        }
        nb::list arrays;
        for (View& o : outs) arrays.append(nb::cast(std::move(o)));
        return nb::make_tuple(arrays, decoder.seek_count());
      },
      nb::arg("data"), nb::arg("requests"),
      "Decodes several requests (lists of frame numbers) in turn with one decoder: "
      "([(T, H, W, 3) arrays], seeks made).");
  m.def(
      "_video_decode_window",
      [](nb::handle data, nb::handle frames, nb::handle window) {
        View v = video_bytes(data);
        const std::vector<int64_t> wanted = int64_args(frames, "frames");
        const std::vector<int64_t> box = int64_args(window, "window");
        if (box.size() != 4)
          throw std::invalid_argument("window must be (top, left, height, width)");
        const FrameWindow w{box[0], box[1], box[2], box[3]};
        if (w.height < 1 || w.width < 1 || w.height > 16384 || w.width > 16384) {
          throw std::invalid_argument("window height and width must be in [1, 16384]");
        }
        View out =
            View::empty(DType::UInt8, {static_cast<int64_t>(wanted.size()), w.height, w.width, 3});
        {
          nb::gil_scoped_release release;
          const VideoProbe p = probe_video(byte_span(v));
          VideoDecoder decoder;
          decoder.open(byte_span(v));
          auto* dst = static_cast<uint8_t*>(out.data());
          size_t slot = 0;
          const auto row_bytes = static_cast<size_t>(w.width * 3);
          decoder.decode_frames(
              wanted, p.index,
              [&](const DecodedFrame& f) {
                for (int64_t r = 0; r < w.height; ++r) {
                  const uint8_t* src =
                      f.rgb + (w.top - f.top + r) * f.row_stride + (w.left - f.left) * 3;
                  std::memcpy(dst + (slot * static_cast<size_t>(w.height) + r) * row_bytes, src,
                              row_bytes);
                }
                ++slot;
              },
              &w);
        }
        return out;
      },
      nb::arg("data"), nb::arg("frames"), nb::arg("window"),
      "Decodes frames converting only `window` (top, left, height, width) from the YUV planes: "
      "a new (T, height, width, 3) uint8 array (the window of each frame).");
  m.def(
      "_video_decode_only",
      [](nb::handle data, nb::handle pts, nb::handle keyframes, nb::handle requests) {
        View v = video_bytes(data);
        const VideoIndex index = video_index_of(pts, keyframes);
        std::vector<std::vector<int64_t>> wanted;
        for (nb::handle r : requests) wanted.push_back(int64_args(r, "requests"));
        nb::gil_scoped_release release;
        VideoDecoder decoder;
        decoder.open(byte_span(v));
        for (const auto& request : wanted) decoder.decode_frames(request, index, FrameSink());
        return decoder.seek_count();
      },
      nb::arg("data"), nb::arg("pts"), nb::arg("keyframes"), nb::arg("requests"),
      "Decodes each request (frame numbers) of a container with one decoder, converting nothing "
      "(the bare decode rate); returns the seeks made.");
}

}  // namespace nocopy::bindings
