// Bindings of the storage domain: shared arrays (POSIX shm), memory-mapped .npy files, madvise
// hints, the shm list/remove/gc helpers and the renames that never replace. No logic here; see
// nocopy/storage/*.hpp.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <vector>

#include "bindings.hpp"
#include "nocopy/storage/atomic_rename.hpp"
#include "nocopy/storage/mapped_file.hpp"
#include "nocopy/storage/npy_file.hpp"
#include "nocopy/storage/shared_array.hpp"
#include "nocopy/storage/shm_housekeeping.hpp"

namespace nocopy::bindings {
namespace {

// Byte strides (Python convention) -> element strides, refusing strides that are not whole
// elements.
std::vector<int64_t> element_strides(const std::vector<int64_t>& bytes, DType dtype) {
  const auto item = static_cast<int64_t>(itemsize(dtype));
  std::vector<int64_t> out(bytes.size());
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] % item != 0) {
      throw std::invalid_argument("stride " + std::to_string(bytes[i]) + " on axis " +
                                  std::to_string(i) + " is not a multiple of the item size " +
                                  std::to_string(item));
    }
    out[i] = bytes[i] / item;
  }
  return out;
}

nb::dict segment_dict(const ShmSegmentInfo& s) {
  nb::dict d;
  // Names and problems as bytes: a directory entry may hold any byte (the CLI escapes them).
  d["name"] = nb::bytes(s.name.data(), s.name.size());
  d["size"] = s.size;
  d["problem"] = nb::bytes(s.problem.data(), s.problem.size());
  if (s.problem.empty()) {
    d["dtype"] = std::string(dtype_name(s.header.dtype));
    d["shape"] = int_tuple(s.header.shape);
    d["creator_pid"] = s.header.creator_pid;
    d["alive"] = s.creator_alive;
    d["persist"] = s.header.persist;
  } else {
    d["dtype"] = nb::none();
    d["shape"] = nb::none();
    d["creator_pid"] = nb::none();
    d["alive"] = nb::none();
    d["persist"] = nb::none();
  }
  return d;
}

}  // namespace

void bind_storage(nb::module_& m) {
  using Release = nb::call_guard<nb::gil_scoped_release>;
  nb::class_<SharedArray>(m, "_SharedArray", "Handle on a POSIX shared-memory array.")
      .def_static(
          "create",
          [](nb::handle shape_arg, const std::string& dtype, const std::string& name,
             nb::handle mode_arg, bool persist) {
            const std::vector<int64_t> shape = int64_args(shape_arg, "shape", true);
            const int64_t mode = int64_arg(mode_arg, "mode");  // TypeError / OverflowError
            ShmCreateOptions o;
            o.name = name;
            if (mode < 0 || mode > 0777) {
              throw std::invalid_argument("mode " + std::to_string(mode) +
                                          " is outside 0o0..0o777");
            }
            o.mode = static_cast<mode_t>(mode);
            o.persist = persist;
            DType t = dtype_from_name(dtype);
            nb::gil_scoped_release release;
            return SharedArray::create(shape, t, o);
          },
          nb::arg("shape"), nb::arg("dtype"), nb::arg("name"), nb::arg("mode"), nb::arg("persist"))
      .def_static("attach", &SharedArray::attach, nb::arg("name"), nb::arg("readonly"), Release())
      .def_static("adopt", &SharedArray::adopt, nb::arg("name"), nb::arg("readonly"), Release())
      .def("hand_off", &SharedArray::hand_off)
      .def_prop_ro("owns_name",
                   [](const SharedArray& s) { return !s.closed() && s.mapping()->owns_name(); })
      .def_prop_ro("name", &SharedArray::name)
      .def_prop_ro(
          "identity",
          [](const SharedArray& s) -> nb::object {
            if (s.closed()) return nb::none();
            return nb::make_tuple(s.mapping()->device(), s.mapping()->inode());
          },
          "(device, inode) of the segment this handle mapped, or None once closed.")
      .def_prop_ro("view", &SharedArray::view)
      .def_prop_ro("is_creator", &SharedArray::is_creator)
      .def_prop_ro("closed", &SharedArray::closed)
      .def_prop_ro(
          "persist",
          [](const SharedArray& s) { return !s.closed() && s.mapping()->header().persist; })
      .def("close", &SharedArray::close)
      .def(
          "view_at",
          [](const SharedArray& s, int64_t offset, const std::string& dtype,
             std::vector<int64_t> shape, const std::vector<int64_t>& byte_strides, bool readonly) {
            DType t = dtype_from_name(dtype);
            return s.view_at(offset, t, std::move(shape), element_strides(byte_strides, t),
                             readonly);
          },
          nb::arg("offset"), nb::arg("dtype"), nb::arg("shape"), nb::arg("strides"),
          nb::arg("readonly"));

  m.def(
      "_shm_reference",
      [](const View& v) -> nb::object {
        const ShmMapping* sm = shm_mapping_of(v);
        if (sm == nullptr) return nb::none();
        return nb::make_tuple(sm->name(), shm_data_offset_of(v), int_tuple(v.shape()),
                              int_tuple(v.strides(), static_cast<int64_t>(v.itemsize())),
                              std::string(dtype_name(v.dtype())), v.readonly(), sm->device(),
                              sm->inode());
      },
      nb::arg("view"),
      "(name, byte offset, shape, byte strides, dtype, readonly, device, inode) of a view of a "
      "shared array, or None for other views.");
  m.def(
      "_shm_owner_state",
      [](const View& v) -> std::string {
        const ShmMapping* sm = shm_mapping_of(v);
        if (sm == nullptr) return "";
        if (sm->name_removed()) return "removed";
        if (!sm->name_refers_to_this()) return "gone";
        return sm->owns_name() ? "owner" : "";
      },
      nb::arg("view"),
      "'removed' when this process owned the name of the view's shared array and removed it, "
      "'gone' when the name no longer refers to it (removed elsewhere, or taken by another "
      "segment), 'owner' when this process owns the name, '' otherwise.");
  m.def("_unlink_created_segments", &unlink_created_segments);
  m.def("_shm_list", [] {
    nb::list out;
    for (const auto& s : list_segments()) out.append(segment_dict(s));
    return out;
  });
  m.def(
      "_shm_remove",
      [](const nb::bytes& name) { remove_segment(std::string(name.c_str(), name.size())); },
      nb::arg("name"), "Removes the segment named by these bytes (a name may hold any byte).");
  m.def("_shm_gc", [] {
    nb::list out;
    for (const std::string& name : gc_segments()) out.append(nb::bytes(name.data(), name.size()));
    return out;
  });

  m.def(
      "_open_npy",
      [](const std::string& path, const std::string& mode) {
        MapMode mm = map_mode_from_string(mode);
        nb::gil_scoped_release release;
        return open_npy(path, mm);
      },
      nb::arg("path"), nb::arg("mode"));
  m.def(
      "_create_npy",
      [](const std::string& path, nb::handle shape_arg, const std::string& dtype, bool sparse) {
        const std::vector<int64_t> shape = int64_args(shape_arg, "shape", true);
        DType t = dtype_from_name(dtype);
        nb::gil_scoped_release release;
        return create_npy(path, shape, t, sparse ? NpySpace::Sparse : NpySpace::Reserve);
      },
      nb::arg("path"), nb::arg("shape"), nb::arg("dtype"), nb::arg("sparse"));
  m.def("_rename_no_replace", &rename_no_replace, Release(), nb::arg("src"), nb::arg("dst"),
        "Moves src to dst only if nothing is at dst (FileExistsError otherwise).");
  m.def("_exchange_paths", &exchange_paths, Release(), nb::arg("a"), nb::arg("b"),
        "Swaps the entries named a and b atomically.");
  m.def(
      "_advise",
      [](const View& v, const std::string& advice) {
        Advice a = advice_from_string(advice);
        nb::gil_scoped_release release;
        advise(v, a);
      },
      nb::arg("view"), nb::arg("advice"));
}

}  // namespace nocopy::bindings
