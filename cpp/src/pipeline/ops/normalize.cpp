// The normalize / layout / dtype operator: its option table and its kernel spec.
#include "nocopy/pipeline/ops/normalize.hpp"

#include <stdexcept>
#include <string>
#include <variant>

namespace nocopy {
namespace {

using O = NormalizeOptions;
using V = OptionValue;

bool none(const V& v) {
  return std::holds_alternative<std::monostate>(v);
}

template <class T>
V maybe(const std::optional<T>& v) {
  return v ? V(*v) : V();
}

/// A given mean/std list must hold values (absent is how "no normalization" is said).
std::vector<double> values_of(const std::optional<std::vector<double>>& v, const char* name) {
  if (!v) return {};
  if (v->empty()) {
    throw std::invalid_argument(std::string(name) + " is empty; pass None for no normalization");
  }
  return *v;
}

const OptionSpec<NormalizeOptions> kNormalizeSpecs[] = {
    {"mean", OptionKind::Reals,
     "Per-channel mean subtracted after scaling (one value or one per channel); None for no "
     "normalization.",
     [](O& o, const V& v) {
       o.mean = none(v) ? std::nullopt : std::optional(std::get<std::vector<double>>(v));
     },
     [](const O& o) { return maybe(o.mean); }},
    {"std", OptionKind::Reals,
     "Per-channel standard deviation the result is divided by (one value or one per channel); "
     "None for no normalization.",
     [](O& o, const V& v) {
       o.std = none(v) ? std::nullopt : std::optional(std::get<std::vector<double>>(v));
     },
     [](const O& o) { return maybe(o.std); }},
    {"scale", OptionKind::OptionalReal,
     "Multiplier of the source values before normalization; None means 1/255 for float outputs "
     "and 1 for uint8.",
     [](O& o, const V& v) {
       o.scale = none(v) ? std::nullopt : std::optional(std::get<double>(v));
     },
     [](const O& o) { return maybe(o.scale); }},
    {"layout", OptionKind::Name, "Axis order of each sample: 'CHW' (PyTorch) or 'HWC'.",
     [](O& o, const V& v) { o.layout = layout_from_name(std::get<std::string>(v)); },
     [](const O& o) -> V { return std::string(layout_name(o.layout)); }},
    {"dtype", OptionKind::Name,
     "Output dtype: 'float32', 'float16', 'bfloat16' or 'uint8' (uint8 copies the source bytes "
     "unchanged: uint8 images, no mean/std, scale 1).",
     [](O& o, const V& v) { o.dtype = dtype_from_name(std::get<std::string>(v)); },
     [](const O& o) -> V { return std::string(dtype_name(o.dtype)); }},
};

}  // namespace

std::span<const OptionSpec<NormalizeOptions>> normalize_option_specs() {
  return kNormalizeSpecs;
}

TransformSpec transform_spec(const NormalizeOptions& o, int64_t crop_h, int64_t crop_w) {
  TransformSpec t;
  t.crop_h = crop_h;
  t.crop_w = crop_w;
  t.layout = o.layout;
  t.dtype = o.dtype;
  t.scale = o.scale.value_or(o.dtype == DType::UInt8 ? 1.0 : 1.0 / 255.0);
  t.mean = values_of(o.mean, "mean");
  t.std = values_of(o.std, "std");
  return t;
}

}  // namespace nocopy
