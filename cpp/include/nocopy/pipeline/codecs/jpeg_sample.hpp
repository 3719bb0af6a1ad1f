// The fused JPEG sample kernel: decode only the window a sample needs (its rows and iMCU
// columns), DCT-scaled when the window is much larger than the output, then resample it with
// mirror, normalize, layout and dtype straight into the batch slot (resample_window).
//
// With DCT scale 1 the result is bit-identical to decoding the whole image and resampling the
// window. With scale 1/d the window is rounded outward to whole scaled pixels (less than d
// source pixels per edge) and the scaled pixels (libjpeg's reduced IDCT, close to a d x d box
// average) are resampled instead of the full-size ones; choose_jpeg_scale only picks d when the
// scaled window stays at least twice the output, as Pillow's reducing_gap=2 does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nocopy/pipeline/codecs/jpeg_decoder.hpp"
#include "nocopy/pipeline/kernels/resize.hpp"

namespace nocopy {

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
/// `g`'s window covers and resamples it into `out` (see the file comment). std::invalid_argument
/// when the JPEG is corrupt or its size is not height x width.
void decode_resample_window(const uint8_t* data, size_t size, int64_t height, int64_t width,
                            const ResizeGeometry& g, const ResizeOutput& out,
                            JpegSampleScratch& scratch);

}  // namespace nocopy
