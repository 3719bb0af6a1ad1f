// Bindings of the video-dataset reader: the validated VideoSet (wrapped by nocopy.VideoSet) and
// its index as small read-only arrays. No logic here; see nocopy/storage/video_set.hpp.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bindings.hpp"
#include "nocopy/storage/video_set.hpp"

namespace nocopy::bindings {
namespace {

/// A new read-only array of `dtype` holding `values` with the given shape (a small copy).
template <typename T>
View small_array(const std::vector<T>& values, DType dtype, std::vector<int64_t> shape) {
  View v = View::empty(dtype, std::move(shape));
  if (!values.empty()) std::memcpy(v.data(), values.data(), values.size() * sizeof(T));
  return v.as_readonly();
}

}  // namespace

void bind_video_set(nb::module_& m) {
  using Release = nb::call_guard<nb::gil_scoped_release>;
  m.attr("_VIDEO_SET_KIND") = std::string(kVideoSetKind);
  nb::class_<VideoSet>(m, "_VideoSet", "Validated VideoSet folder (nocopy.VideoSet).")
      .def_static("open", &VideoSet::open, nb::arg("folder"), Release())
      .def("__len__", &VideoSet::size)
      .def("encoded", &VideoSet::encoded, nb::arg("index"))
      .def("seek_frame", &VideoSet::seek_frame, nb::arg("index"), nb::arg("frame"))
      .def_prop_ro("data", &VideoSet::data)
      .def_prop_ro("where", &VideoSet::where)
      .def_prop_ro("has_labels", &VideoSet::has_labels)
      .def_prop_ro(
          "offsets",
          [](const VideoSet& s) { return small_array(s.offsets(), DType::Int64, {s.size()}); })
      .def_prop_ro(
          "lengths",
          [](const VideoSet& s) { return small_array(s.lengths(), DType::Int64, {s.size()}); })
      .def_prop_ro("shapes",
                   [](const VideoSet& s) {
                     return small_array(s.shapes(), DType::Int64, {s.size(), 3});
                   })
      .def_prop_ro("fps",
                   [](const VideoSet& s) {
                     return small_array(s.fps(), DType::Int64, {s.size(), 2});
                   })
      .def_prop_ro("time_bases",
                   [](const VideoSet& s) {
                     return small_array(s.time_bases(), DType::Int64, {s.size(), 2});
                   })
      .def_prop_ro(
          "codecs",
          [](const VideoSet& s) { return small_array(s.codecs(), DType::Int64, {s.size()}); })
      .def_prop_ro("codec_names", &VideoSet::codec_names)
      .def_prop_ro("frame_starts",
                   [](const VideoSet& s) {
                     return small_array(s.frame_starts(), DType::Int64, {s.size() + 1});
                   })
      .def_prop_ro("pts",
                   [](const VideoSet& s) {
                     return small_array(s.all_pts(), DType::Int64,
                                        {static_cast<int64_t>(s.all_pts().size())});
                   })
      .def_prop_ro("keyframes",
                   [](const VideoSet& s) {
                     return small_array(s.all_keyframes(), DType::UInt8,
                                        {static_cast<int64_t>(s.all_keyframes().size())});
                   })
      .def_prop_ro("labels",
                   [](const VideoSet& s) -> std::optional<View> {
                     if (!s.has_labels()) return std::nullopt;
                     return small_array(s.labels(), DType::Int64, {s.size()});
                   })
      .def_prop_ro("classes", &VideoSet::classes)
      .def_prop_ro("skipped", [](const VideoSet& s) {
        std::vector<std::pair<std::string, std::string>> out;
        out.reserve(s.skipped().size());
        for (const SkippedInput& e : s.skipped()) out.emplace_back(e.path, e.error);
        return out;
      });
}

}  // namespace nocopy::bindings
