// JPEG decoding for the sample pipeline: header reads and decodes of a window (only the rows and
// columns it covers, via jpeg_skip_scanlines and jpeg_crop_scanline), optionally DCT-scaled by
// 1/2, 1/4 or 1/8, always to interleaved RGB uint8 (grayscale and CMYK are converted).
//
// One JpegDecoder per worker thread, reused for every sample: it keeps libjpeg's decompressor and
// a row buffer, so a decode allocates nothing beyond libjpeg's own per-image pools. Each image
// decodes as in a fresh decompressor, whatever was decoded before: libjpeg would keep an
// image's quantization and Huffman tables for the next (abbreviated datastreams), so a JPEG
// lacking them would borrow the last image's; the decoder forgets them instead. libjpeg's
// errors (and, by default, its warnings about corrupt data) never exit() or return garbage: they
// are caught with a longjmp inside the decoder and thrown as std::invalid_argument. Decoding uses
// libjpeg's defaults, as Pillow does: the accurate integer IDCT (JDCT_ISLOW) and fancy upsampling.
// Built without libjpeg (NOCOPY_HAVE_JPEG unset), every decoder call throws std::runtime_error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace nocopy {

/// True when this build links libjpeg(-turbo); otherwise decoding raises std::runtime_error.
bool jpeg_available();

/// The libjpeg-turbo version this build links ("2.1.5"), or "" without JPEG support.
const char* jpeg_library_version();

/// What a JPEG's header says about the full-size image.
struct JpegInfo {
  int64_t height = 0;  ///< rows of the full-size image, >= 1
  int64_t width = 0;   ///< columns of the full-size image, >= 1
  int components = 0;  ///< channels stored in the file: 1 (gray), 3 (YCbCr/RGB), 4 (CMYK/YCCK)
};

/// A rectangle of a decoded image, in the pixels of that (possibly DCT-scaled) image:
/// rows [top, top + height), columns [left, left + width).
struct JpegWindow {
  int64_t top = 0;     ///< first row
  int64_t left = 0;    ///< first column
  int64_t height = 0;  ///< rows, >= 1
  int64_t width = 0;   ///< columns, >= 1
};

/// Length of one side of `size` full-size pixels decoded with DCT scaling 1/denom (libjpeg
/// rounds up: ceil(size / denom)).
int64_t jpeg_scaled_size(int64_t size, int denom);

/// The DCT scaling denominator (1, 2, 4 or 8) for a window of window_h x window_w full-size
/// pixels resized to out_h x out_w: the largest one that keeps the scaled window at least
/// twice the output on both axes, so the resize after it still shrinks and antialiases.
int choose_jpeg_scale(int64_t window_h, int64_t window_w, int64_t out_h, int64_t out_w);

/// The window of the DCT-scaled image that covers a full-size window: its edges rounded outward
/// to whole scaled pixels and clamped to the scaled image of full size (height, width).
JpegWindow jpeg_scaled_window(const JpegWindow& full, int denom, int64_t height, int64_t width);

/// A reusable libjpeg decompressor (one per thread; not thread-safe itself).
class JpegDecoder {
 public:
  /// Limits one decode's memory (libjpeg's pools, e.g. a progressive image's coefficients).
  static constexpr int64_t kDefaultMaxMemory = int64_t{1} << 30;
  /// Limits the scans of a progressive JPEG (hostile files make every scan cost a full pass).
  static constexpr int kMaxScans = 256;

  /// A decoder; `fail_on_warning` turns libjpeg's corrupt-data warnings (which it otherwise
  /// papers over with gray pixels) into errors.
  explicit JpegDecoder(bool fail_on_warning = true, int64_t max_memory = kDefaultMaxMemory);
  ~JpegDecoder();
  JpegDecoder(JpegDecoder&&) noexcept;
  JpegDecoder& operator=(JpegDecoder&&) noexcept;
  JpegDecoder(const JpegDecoder&) = delete;
  JpegDecoder& operator=(const JpegDecoder&) = delete;

  /// Reads the header of the `size` bytes at `data`; std::invalid_argument when they are not a
  /// JPEG libjpeg can decode (the message is libjpeg's).
  JpegInfo read_header(const uint8_t* data, size_t size);

  /// Decodes `window` of the image scaled by 1/denom (denom 1, 2, 4 or 8; the window in scaled
  /// pixels, inside jpeg_scaled_size of each side) as RGB: row r of the window goes to
  /// out + r * row_stride, 3 * window.width bytes. Only the rows up to the window's last and the
  /// iMCU columns it touches are decoded. std::invalid_argument for a bad window or denom, or
  /// a corrupt JPEG; `out` may then be partly written.
  JpegInfo decode(const uint8_t* data, size_t size, int denom, const JpegWindow& window,
                  uint8_t* out, int64_t row_stride);

  /// Where decode_rows left a window: the first pixel at `data`, rows `row_stride` bytes apart.
  struct Rows {
    /// The window's top-left pixel (RGB), inside the decoder's own buffer.
    const uint8_t* data = nullptr;
    /// Bytes from one row of the window to the next (>= 3 * window width).
    int64_t row_stride = 0;
    /// The full-size header.
    JpegInfo info;
  };
  /// Decodes `window` as decode() does, but leaves the rows where libjpeg wrote them, in the
  /// decoder's own buffer (valid until its next call): RGB rows are decoded straight into it,
  /// saving decode()'s copy of every row. Same errors as decode().
  Rows decode_rows(const uint8_t* data, size_t size, int denom, const JpegWindow& window);

  /// Decodes the whole image scaled by 1/denom as RGB into `out` (rows of 3 * scaled width
  /// bytes, row_stride apart); returns the full-size header.
  JpegInfo decode_full(const uint8_t* data, size_t size, int denom, uint8_t* out,
                       int64_t row_stride);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nocopy
