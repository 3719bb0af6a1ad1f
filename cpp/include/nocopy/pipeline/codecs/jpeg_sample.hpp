// The fused JPEG sample kernel: decode only the window a sample needs (its rows and iMCU
// columns), DCT-scaled when the window is much larger than the output and the options allow it
// (DecodeScale), then resample it with mirror, normalize, layout and dtype straight into the
// batch slot (resample_window).
//
// With DCT scale 1 the result is bit-identical to decoding the whole image and resampling the
// window. With scale 1/d the decoded window is rounded outward to whole scaled pixels, and the
// scaled pixels (libjpeg's reduced IDCT, close to a d x d block average) are resampled over the
// window's exact stretch of them (its edges between scaled pixels, as Pillow's draft + resize
// box), so the geometry is the full decode's and only the filter differs; choose_jpeg_scale
// only picks d when the scaled window stays at least twice the output, as Pillow's
// reducing_gap=2 does. Nearest interpolation is never DCT-scaled: it must return source pixels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "nocopy/core/option_spec.hpp"
#include "nocopy/pipeline/codecs/jpeg_decoder.hpp"
#include "nocopy/pipeline/kernels/resize.hpp"

namespace nocopy {

/// Whether a JPEG sample may be decoded DCT-scaled (the loader's decode_scale option).
enum class DecodeScale {
  Auto,   ///< by 1/2, 1/4 or 1/8 when the window is large enough (choose_jpeg_scale) and the
          ///< interpolation is bilinear
  Exact,  ///< never: the window is decoded at full size, as a raw image of the same pixels
};
/// The mode named `name` ("auto" or "exact"); std::invalid_argument for any other.
DecodeScale decode_scale_from_name(std::string_view name);
/// The name of a mode, as decode_scale_from_name accepts it.
std::string_view decode_scale_name(DecodeScale mode);

/// The JPEG decoding options of a loader (nc.Loader's `decode_scale`).
struct JpegDecodeOptions {
  /// Auto decodes large windows DCT-scaled (faster, close to the full decode), Exact never does
  /// (the same result as a raw ImageSet of the decoded pixels). No effect on raw images.
  DecodeScale decode_scale = DecodeScale::Auto;
};

/// The declarations of JpegDecodeOptions.
std::span<const OptionSpec<JpegDecodeOptions>> jpeg_decode_option_specs();

/// Memory one worker thread reuses for every JPEG sample: the decoder (which holds the decoded
/// window's rows) and the resampling tables (each grows to the largest sample seen, then never
/// allocates again).
struct JpegSampleScratch {
  /// The worker's decompressor; decode_rows leaves the window's RGB rows in it.
  JpegDecoder decoder;
  /// The resampling kernel's tables and row buffers.
  ResizeScratch resize;
};

/// Decodes the part of the JPEG (`size` bytes at `data`, full size height x width, RGB) that
/// `g`'s window covers, DCT-scaled if `mode` allows, and resamples it into `out` (see the file
/// comment). std::invalid_argument when the JPEG is corrupt or its size is not height x width.
void decode_resample_window(const uint8_t* data, size_t size, int64_t height, int64_t width,
                            const ResizeGeometry& g, const ResizeOutput& out, DecodeScale mode,
                            JpegSampleScratch& scratch);

}  // namespace nocopy
