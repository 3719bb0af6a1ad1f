// Image i of an ImageSet as pixels, whatever its storage format: a raw set's zero-copy view, or
// a JPEG set's file decoded whole (libjpeg-turbo, Pillow's settings) into a new array. The JPEG
// header is checked against the set's validated index before anything is allocated, so a file
// that claims another size than the index records is refused, not trusted.
#pragma once

#include <cstdint>

#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/codecs/jpeg_decoder.hpp"
#include "nocopy/storage/image_set.hpp"

namespace nocopy {

/// Image i of `set` (negative i counts from the end; std::out_of_range outside [-N, N)) as an
/// (H_i, W_i, C) view: for a raw set the zero-copy view of its pixels; for a JPEG set a new
/// (H_i, W_i, 3) uint8 RGB array decoded with `decoder`. A JPEG that is corrupt, or whose header
/// says another size than the index, is std::invalid_argument "<set>: sample <i>: ..." (the
/// size check comes before any allocation); without libjpeg, std::runtime_error.
View decode_image(const ImageSet& set, int64_t i, JpegDecoder& decoder);

/// decode_image with a decoder kept by the calling thread (one per thread, reused).
View decode_image(const ImageSet& set, int64_t i);

}  // namespace nocopy
