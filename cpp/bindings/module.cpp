// The _nocopy extension module: calls each domain's bind_* function.
#include "bindings.hpp"

NB_MODULE(_nocopy, m) {
  // Views may legitimately live until interpreter exit inside framework tensors and globals.
  nanobind::set_leak_warnings(false);
  m.doc() = "nocopy core: zero-copy views, DLPack, copies (use the nocopy package, not this)";
  nocopy::bindings::bind_errors(m);
  nocopy::bindings::bind_view(m);
  nocopy::bindings::bind_import(m);
  nocopy::bindings::bind_copy(m);
  nocopy::bindings::bind_storage(m);
  nocopy::bindings::bind_engine(m);
  nocopy::bindings::bind_loader(m);
  nocopy::bindings::bind_sequence(m);
  nocopy::bindings::bind_image_set(m);
  nocopy::bindings::bind_video_set(m);
  nocopy::bindings::bind_jpeg(m);
  nocopy::bindings::bind_video(m);
  nocopy::bindings::bind_video_loader(m);
  nocopy::bindings::bind_shards(m);
  nocopy::bindings::bind_transforms(m);
  nocopy::bindings::bind_color(m);
  nocopy::bindings::bind_mix(m);
  nocopy::bindings::bind_affine(m);
}
