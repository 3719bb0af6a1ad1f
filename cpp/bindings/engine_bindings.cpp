// The batch engine's binding, shared by every loader's core (_Loader, _SequenceLoader derive
// from _BatchEngine): position and epochs, checkpoints as dicts, next() with the GIL released
// while waiting (in short slices, so Ctrl-C interrupts a wait), statistics; and the option
// tables (_option_specs) the Python signatures and docstrings are checked against. No logic
// beyond conversion.
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <optional>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "bindings.hpp"
#include "nocopy/pipeline/engine/batch_engine.hpp"
#include "nocopy/pipeline/producers/loader_options.hpp"
#include "nocopy/pipeline/producers/sequence_options.hpp"
#include "nocopy/pipeline/producers/video_options.hpp"

namespace nocopy::bindings {
namespace {

/// How long the consumer sleeps between checks for signals while waiting for a batch.
constexpr std::chrono::milliseconds kWaitSlice{50};

/// The batch's outputs as a tuple of Views, with its epoch and index.
nb::tuple batch_tuple(EngineBatch&& b) {
  nb::object outputs = nb::steal(PyTuple_New(static_cast<Py_ssize_t>(b.outputs.size())));
  if (!outputs.is_valid()) throw nb::python_error();
  for (size_t i = 0; i < b.outputs.size(); ++i) {
    PyTuple_SET_ITEM(outputs.ptr(), static_cast<Py_ssize_t>(i),
                     nb::cast(std::move(b.outputs[i])).release().ptr());
  }
  return nb::make_tuple(outputs, b.epoch, b.index);
}

/// Calls `next(batch, slice)` until it is not a timeout, without the GIL while it waits;
/// KeyboardInterrupt (or whatever a signal handler raises) between slices.
template <class Next>
NextStatus wait_for_batch(EngineBatch& batch, Next&& next) {
  for (;;) {
    NextStatus s;
    {
      nb::gil_scoped_release release;
      s = next(batch, kWaitSlice);
    }
    if (s != NextStatus::Timeout) return s;
    if (PyErr_CheckSignals() != 0) throw nb::python_error();
  }
}

nb::object value_object(const CheckpointValue& v) {
  return std::visit(
      [](const auto& x) -> nb::object {
        if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::monostate>) {
          return nb::none();
        } else {
          return nb::cast(x);
        }
      },
      v);
}

/// A state_dict entry as a checkpoint value: None, a bool, an int (uint64 for seeds, which may
/// pass 2**63), a str; anything else is refused naming the entry.
CheckpointValue value_of(const CheckpointValue& mine, nb::handle theirs, const std::string& name) {
  if (theirs.is_none()) return std::monostate{};
  if (is_bool_scalar(theirs)) return bool_arg(theirs, name);
  if (PyUnicode_Check(theirs.ptr())) return nb::cast<std::string>(theirs);
  if (PyIndex_Check(theirs.ptr())) {
    if (std::holds_alternative<uint64_t>(mine)) return uint64_arg(theirs, name);
    return int64_arg(theirs, name);
  }
  throw std::invalid_argument("the state's '" + name + "' is " +
                              std::string(nb::repr(theirs).c_str()) +
                              ", not a value this loader can have");
}

/// A Checkpoint from a state_dict(): position keys, kind and every other key as configuration
/// (converted like the loader's own entries; unknown names are kept for restore to refuse).
Checkpoint checkpoint_from(const BatchEngine& engine, nb::handle state) {
  if (!PyDict_Check(state.ptr())) {
    throw TypeError("state must be a dict from state_dict(), got " +
                    std::string(nb::type_name(state.type()).c_str()));
  }
  nb::dict d = nb::borrow<nb::dict>(state);
  const std::string kind(engine.producer().kind());
  auto required = [&](const char* key) -> nb::handle {
    if (!d.contains(key)) {
      throw std::invalid_argument(std::string("the state has no '") + key + "'; pass a " + kind +
                                  " state_dict()");
    }
    return d[key];
  };
  Checkpoint c;
  nb::handle k = required("kind");
  if (!PyUnicode_Check(k.ptr())) throw std::invalid_argument("the state's 'kind' is not a str");
  c.kind = nb::cast<std::string>(k);
  c.epoch = int64_arg(required("epoch"), "epoch");
  c.batch = int64_arg(required("batch"), "batch");
  c.start = int64_arg(required("start"), "start");
  c.position = int64_arg(required("position"), "position");
  const std::vector<CheckpointEntry> key = engine.resume_key();
  for (auto [name_obj, value] : d) {
    if (!PyUnicode_Check(name_obj.ptr())) {
      throw std::invalid_argument("the state has a key that is not a str: " +
                                  std::string(nb::repr(name_obj).c_str()));
    }
    const std::string name = nb::cast<std::string>(name_obj);
    if (name == "kind" || name == "epoch" || name == "batch" || name == "start" ||
        name == "position") {
      continue;
    }
    const CheckpointValue* mine = nullptr;
    for (const CheckpointEntry& e : key) {
      if (e.name == name) mine = &e.value;
    }
    c.config.push_back({name, value_of(mine != nullptr ? *mine : CheckpointValue(), value, name)});
  }
  return c;
}

nb::dict stats_dict(const EngineStats& s) {
  nb::dict d;
  d["batches"] = s.batches;
  d["samples"] = s.samples;
  d["elapsed_s"] = s.elapsed_s;
  d["consumer_wait_s"] = s.consumer_wait_s;
  d["loader_idle_s"] = s.loader_idle_s;
  d["allocation_s"] = s.allocation_s;
  d["allocations"] = s.allocations;
  d["recent_batches_per_s"] = s.recent_batches_per_s;
  d["recent_samples_per_s"] = s.recent_samples_per_s;
  nb::dict stages;
  nb::list workers;
  for (Stage st : {Stage::Read, Stage::Decode, Stage::Kernel}) {
    stages[nb::str(std::string(stage_name(st)).c_str())] = s.stage_seconds(st);
  }
  for (const WorkerStats& w : s.workers) {
    nb::dict wd;
    for (Stage st : {Stage::Read, Stage::Decode, Stage::Kernel}) {
      wd[nb::str(std::string(stage_name(st)).c_str())] = w.seconds[static_cast<int>(st)];
    }
    wd["samples"] = w.samples;
    workers.append(wd);
  }
  d["stage_s"] = stages;
  d["workers"] = workers;
  d["verdict"] = s.verdict();
  return d;
}

/// (name, kind, default as Python writes it, doc) of every option of a loader.
template <class Options>
std::vector<std::tuple<std::string, std::string, std::string, std::string>> spec_rows(
    std::span<const OptionSpec<Options>> specs) {
  static const char* kKinds[] = {"int",          "int | None",  "bool",  "float",
                                 "float | None", "floats",      "range", "crop",
                                 "name",         "name | None", "seed",  "allocator"};
  const Options defaults;
  std::vector<std::tuple<std::string, std::string, std::string, std::string>> rows;
  for (const auto& s : specs) {
    rows.emplace_back(s.name, kKinds[static_cast<int>(s.kind)], option_value_text(s.get(defaults)),
                      s.doc);
  }
  return rows;
}

}  // namespace

void bind_engine(nb::module_& m) {
  m.def(
      "_option_specs",
      [](const std::string& loader) {
        if (loader == "Loader") return spec_rows(loader_option_specs());
        if (loader == "SequenceLoader") return spec_rows(sequence_option_specs());
        if (loader == "VideoLoader") return spec_rows(video_option_specs());
        throw std::invalid_argument("no loader '" + loader + "'");
      },
      nb::arg("loader"),
      "(name, kind, default, doc) of every option of a loader, as its C++ declaration says.");

  nb::class_<BatchEngine>(m, "_BatchEngine",
                          "C++ batch engine every loader's core derives from (use a loader)")
      .def(
          "__len__",
          [](const BatchEngine& e) { return without_gil([&] { return e.current_batches(); }); },
          "Batches of the epoch the position is in.")
      .def_prop_ro(
          "kind", [](const BatchEngine& e) { return std::string(e.producer().kind()); },
          "The loader's kind, as state dicts name it.")
      .def_prop_ro("epoch_batches", &BatchEngine::epoch_batches,
                   "Batches of a whole epoch on this rank.")
      .def_prop_ro("samples_per_rank", &BatchEngine::epoch_samples_per_rank,
                   "Samples of a whole epoch on this rank.")
      .def_prop_ro("num_threads", &BatchEngine::num_threads, "Worker threads running.")
      .def_prop_ro("buffers_allocated", &BatchEngine::buffers_allocated,
                   "Batch buffers the pool holds (in flight, held by users, spare).")
      .def_prop_ro("buffer_bytes", &BatchEngine::buffer_bytes,
                   "Bytes of one batch buffer (every output of the largest batch that can occur).")
      .def_prop_ro(
          "output_names",
          [](const BatchEngine& e) {
            std::vector<std::string> names;
            for (const SlotOutput& o : e.producer().outputs()) names.push_back(o.name);
            return names;
          },
          "Names of the outputs of each batch, in order.")
      .def_prop_ro(
          "output_specs",
          [](const BatchEngine& e) {
            std::vector<std::tuple<std::string, nb::tuple>> specs;
            for (const SlotOutput& o : e.producer().outputs()) {
              specs.emplace_back(std::string(dtype_name(o.dtype)), int_tuple(o.shape));
            }
            return specs;
          },
          "(dtype name, slot shape) of each output.")
      .def(
          "state",
          [](const BatchEngine& e) {
            const LoaderState s = without_gil([&] { return e.state(); });
            return std::make_tuple(s.epoch, s.batch, s.start);
          },
          "(epoch, index, start) of the next batch (start: the epoch's first global position).")
      .def_prop_ro(
          "global_position",
          [](const BatchEngine& e) { return without_gil([&] { return e.global_position(); }); },
          "Positions of the epoch all ranks have consumed before the next batch.")
      .def(
          "load_state",
          [](BatchEngine& e, nb::handle epoch, nb::handle batch, nb::handle start) {
            const LoaderState s{int64_arg(epoch, "epoch"), int64_arg(batch, "batch"),
                                int64_arg(start, "start")};
            nb::gil_scoped_release release;  // may wait for a running chunk to notice
            e.load_state(s);
          },
          nb::arg("epoch").none(), nb::arg("batch").none(), nb::arg("start").none() = 0,
          "Moves to (epoch, batch) of an epoch starting at global position `start`.")
      .def(
          "stop_workers",
          [](BatchEngine& e) {
            nb::gil_scoped_release release;  // workers may be waiting for the GIL (Lambda)
            e.stop_workers();
          },
          "Cancels the batches in flight and joins the workers, without the GIL.")
      .def(
          "set_epoch",
          [](BatchEngine& e, nb::handle epoch) {
            const int64_t value = int64_arg(epoch, "epoch");
            nb::gil_scoped_release release;
            e.set_epoch(value);
          },
          nb::arg("epoch").none(), "Moves to batch 0 of `epoch`.")
      .def(
          "begin_epoch",
          [](BatchEngine& e) { return without_gil([&] { return e.begin_epoch(); }); },
          "Moves past a finished epoch; the epoch an iteration started now covers.")
      .def(
          "checkpoint",
          [](const BatchEngine& e) {
            const Checkpoint c = without_gil([&] { return e.checkpoint(); });
            nb::dict d;
            d["kind"] = c.kind;
            d["epoch"] = c.epoch;
            d["batch"] = c.batch;
            d["start"] = c.start;
            d["position"] = c.position;
            for (const CheckpointEntry& entry : c.config) {
              d[nb::str(entry.name.c_str())] = value_object(entry.value);
            }
            return d;
          },
          "The position and the configuration it depends on, as a dict of plain values.")
      .def(
          "restore",
          [](BatchEngine& e, nb::handle state) {
            const Checkpoint c = checkpoint_from(e, state);
            nb::gil_scoped_release release;
            e.restore(c);
          },
          nb::arg("state"), "Resumes from a checkpoint() dict (elastic across world sizes).")
      .def(
          "next",
          [](BatchEngine& e) {
            EngineBatch b;
            wait_for_batch(b, [&](EngineBatch& out, auto slice) { return e.next(out, slice); });
            return batch_tuple(std::move(b));
          },
          "((outputs...), epoch, index) of the next batch of the stream; waits with the GIL "
          "released, raising KeyboardInterrupt on Ctrl-C.")
      .def(
          "next_in_epoch",
          [](BatchEngine& e, nb::handle epoch) -> nb::object {
            const int64_t which = int64_arg(epoch, "epoch");
            EngineBatch b;
            const NextStatus s = wait_for_batch(b, [&](EngineBatch& out, auto slice) {
              return e.next_in_epoch(out, which, slice);
            });
            if (s == NextStatus::EpochEnd) return nb::none();
            return batch_tuple(std::move(b));
          },
          nb::arg("epoch").none(),
          "The next batch if it belongs to `epoch`, else None (and an epoch at its end moves "
          "on).")
      .def_prop_ro(
          "num_skipped",
          [](const BatchEngine& e) { return without_gil([&] { return e.num_skipped(); }); },
          "Samples replaced by a substitute (on_error='skip') so far.")
      .def_prop_ro(
          "skipped_samples",
          [](const BatchEngine& e) { return without_gil([&] { return e.skipped_samples(); }); },
          "Distinct samples skipped so far, ascending.")
      .def(
          "stats",
          [](const BatchEngine& e) { return stats_dict(without_gil([&] { return e.stats(); })); },
          "Statistics since the loader was created, as a dict (see nocopy docs).")
      .def("_inject_fault", &BatchEngine::inject_fault_for_testing, nb::arg("sample"),
           "Test seam: workers fail when they reach sample `sample` (-1: never).");
}

}  // namespace nocopy::bindings
