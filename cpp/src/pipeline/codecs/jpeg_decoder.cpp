// JpegDecoder: libjpeg(-turbo) decompression of a window to RGB, with errors turned into C++
// exceptions through a longjmp-based error manager (libjpeg's default would exit()), and every
// image read as by a fresh decompressor (no quantization or Huffman table kept from the last).
#include "nocopy/pipeline/codecs/jpeg_decoder.hpp"

#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef NOCOPY_HAVE_JPEG
#include <jpeglib.h>

#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first
#include <cstring>
#endif

namespace nocopy {

int64_t jpeg_scaled_size(int64_t size, int denom) {
  if (denom != 1 && denom != 2 && denom != 4 && denom != 8) {
    throw std::invalid_argument("JPEG scale denominator " + std::to_string(denom) +
                                " is not 1, 2, 4 or 8");
  }
  return (size + denom - 1) / denom;
}

int choose_jpeg_scale(int64_t window_h, int64_t window_w, int64_t out_h, int64_t out_w) {
  int denom = 1;
  for (int d = 2; d <= 8; d *= 2) {
    if (window_h / d >= 2 * out_h && window_w / d >= 2 * out_w) denom = d;
  }
  return denom;
}

JpegWindow jpeg_scaled_window(const JpegWindow& full, int denom, int64_t height, int64_t width) {
  const int64_t sh = jpeg_scaled_size(height, denom), sw = jpeg_scaled_size(width, denom);
  JpegWindow w;
  w.top = std::clamp<int64_t>(full.top / denom, 0, sh - 1);
  w.left = std::clamp<int64_t>(full.left / denom, 0, sw - 1);
  const int64_t bottom =
      std::clamp<int64_t>((full.top + full.height + denom - 1) / denom, w.top + 1, sh);
  const int64_t right =
      std::clamp<int64_t>((full.left + full.width + denom - 1) / denom, w.left + 1, sw);
  w.height = bottom - w.top;
  w.width = right - w.left;
  return w;
}

#ifdef NOCOPY_HAVE_JPEG

bool jpeg_available() {
  return true;
}
const char* jpeg_library_version() {
#ifdef LIBJPEG_TURBO_VERSION
#define NOCOPY_STR2(x) #x
#define NOCOPY_STR(x) NOCOPY_STR2(x)
  return NOCOPY_STR(LIBJPEG_TURBO_VERSION);
#else
  return "libjpeg " NOCOPY_STR(JPEG_LIB_VERSION);
#endif
}

namespace {

// libjpeg's error manager extended with where to jump and the message of the failure.
struct ErrorManager {
  jpeg_error_mgr pub;  // first member: libjpeg sees a jpeg_error_mgr*
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool fail_on_warning;
};

[[noreturn]] void on_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void on_emit_message(j_common_ptr cinfo, int level) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  if (level < 0) {  // a warning: corrupt data that libjpeg would fill in
    cinfo->err->num_warnings++;
    if (err->fail_on_warning) on_error_exit(cinfo);
  }
}

// Called by libjpeg during long passes; stops hostile progressive files with endless scans.
void on_progress(j_common_ptr cinfo) {
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > JpegDecoder::kMaxScans) {
    auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
    std::snprintf(err->message, sizeof(err->message), "progressive JPEG has more than %d scans",
                  JpegDecoder::kMaxScans);
    std::longjmp(err->jump, 1);
  }
}

// libjpeg's allocators before the decoder redirected them (see JpegDecoder::Impl).
struct PermanentPool {
  void* (*alloc_small)(j_common_ptr, int, size_t) = nullptr;
  void* (*alloc_large)(j_common_ptr, int, size_t) = nullptr;
};

// What libjpeg asks for its permanent pool while reading an image (the quantization and
// Huffman tables it defines) comes from the image pool, which jpeg_abort frees.
void* alloc_small_per_image(j_common_ptr cinfo, int pool_id, size_t size) {
  const auto* pool = static_cast<const PermanentPool*>(cinfo->client_data);
  return pool->alloc_small(cinfo, pool_id == JPOOL_PERMANENT ? JPOOL_IMAGE : pool_id, size);
}
void* alloc_large_per_image(j_common_ptr cinfo, int pool_id, size_t size) {
  const auto* pool = static_cast<const PermanentPool*>(cinfo->client_data);
  return pool->alloc_large(cinfo, pool_id == JPOOL_PERMANENT ? JPOOL_IMAGE : pool_id, size);
}

// a * b / 255 rounded, as Pillow's MULDIV255 computes it.
inline int mul255(int a, int b) {
  const int t = a * b + 128;
  return (t + (t >> 8)) >> 8;
}

// Columns decoded beyond the window on each side (where the image has them): fancy upsampling
// treats the edges of a cropped region as image edges, so the window keeps clear of them.
constexpr int64_t kCropMargin = 2;

}  // namespace

using Rows = JpegDecoder::Rows;

// libjpeg keeps the quantization and Huffman tables an image defines for the next images of
// the same decompressor (for abbreviated datastreams), so a reused decompressor would decode a
// JPEG lacking DQT or DHT segments with the tables of whatever it decoded before. Here every
// image starts with no tables, as in a fresh decompressor: once created, the decompressor's
// permanent allocations go to the image pool, and end_image forgets the tables that jpeg_abort
// frees with it. (A fresh libjpeg-turbo refuses a JPEG without quantization tables and decodes
// a sequential one without Huffman tables with the standard ones, as motion JPEG needs.)
struct JpegDecoder::Impl {
  jpeg_decompress_struct cinfo{};
  ErrorManager err{};
  jpeg_progress_mgr progress{};
  PermanentPool permanent;
  std::vector<uint8_t> row;     // one scanline of the cropped region (grows, never shrinks)
  std::vector<uint8_t> pixels;  // decode_rows' window rows (grows, never shrinks)
  std::vector<JSAMPROW> rows;   // where each decoded row of the window goes
  int64_t max_memory = 0;
  bool created = false;

  /// Decodes `window`: into out (row_stride apart) when `direct` is null, else into `pixels`,
  /// setting *direct to where the window lies there.
  JpegInfo run(const uint8_t* data, size_t size, int denom, const JpegWindow& window, uint8_t* out,
               int64_t row_stride, Rows* direct);

  /// Ends the image being read (if any): libjpeg frees its image pool, tables included, and
  /// the decompressor is left with no tables, ready for the next image.
  void end_image() {
    jpeg_abort_decompress(&cinfo);
    std::fill(std::begin(cinfo.quant_tbl_ptrs), std::end(cinfo.quant_tbl_ptrs), nullptr);
    std::fill(std::begin(cinfo.dc_huff_tbl_ptrs), std::end(cinfo.dc_huff_tbl_ptrs), nullptr);
    std::fill(std::begin(cinfo.ac_huff_tbl_ptrs), std::end(cinfo.ac_huff_tbl_ptrs), nullptr);
  }
};

JpegDecoder::JpegDecoder(bool fail_on_warning, int64_t max_memory) : impl_(new Impl) {
  Impl& s = *impl_;
  s.cinfo.err = jpeg_std_error(&s.err.pub);
  s.err.pub.error_exit = on_error_exit;
  s.err.pub.emit_message = on_emit_message;
  s.err.fail_on_warning = fail_on_warning;
  s.max_memory = max_memory;
  if (setjmp(s.err.jump)) {
    throw std::runtime_error(std::string("JPEG decoder could not be created: ") + s.err.message);
  }
  jpeg_create_decompress(&s.cinfo);
  s.created = true;
  s.cinfo.mem->max_memory_to_use = static_cast<long>(max_memory);
  s.progress.progress_monitor = on_progress;
  s.cinfo.progress = &s.progress;
  // jpeg_mem_src makes its source manager once, in the permanent pool, where it must stay: it
  // is made here, before the permanent pool becomes per image.
  static const uint8_t kSoi[2] = {0xFF, 0xD8};
  jpeg_mem_src(&s.cinfo, kSoi, sizeof(kSoi));
  s.permanent = {s.cinfo.mem->alloc_small, s.cinfo.mem->alloc_large};
  s.cinfo.client_data = &s.permanent;
  s.cinfo.mem->alloc_small = alloc_small_per_image;
  s.cinfo.mem->alloc_large = alloc_large_per_image;
}

JpegDecoder::~JpegDecoder() {
  if (impl_ && impl_->created) jpeg_destroy_decompress(&impl_->cinfo);
}

JpegDecoder::JpegDecoder(JpegDecoder&&) noexcept = default;
JpegDecoder& JpegDecoder::operator=(JpegDecoder&&) noexcept = default;

JpegInfo JpegDecoder::read_header(const uint8_t* data, size_t size) {
  Impl& s = *impl_;
  if (size == 0 || data == nullptr) throw std::invalid_argument("JPEG data is empty");
  s.end_image();  // any earlier failure left a state; start afresh
  if (setjmp(s.err.jump)) {
    s.end_image();
    throw std::invalid_argument(std::string("not a decodable JPEG: ") + s.err.message);
  }
  jpeg_mem_src(&s.cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&s.cinfo, TRUE);
  JpegInfo info{s.cinfo.image_height, s.cinfo.image_width, s.cinfo.num_components};
  s.end_image();
  return info;
}

JpegInfo JpegDecoder::decode(const uint8_t* data, size_t size, int denom, const JpegWindow& window,
                             uint8_t* out, int64_t row_stride) {
  return impl_->run(data, size, denom, window, out, row_stride, nullptr);
}

Rows JpegDecoder::decode_rows(const uint8_t* data, size_t size, int denom,
                              const JpegWindow& window) {
  Rows r;
  r.info = impl_->run(data, size, denom, window, nullptr, 0, &r);
  return r;
}

JpegInfo JpegDecoder::Impl::run(const uint8_t* data, size_t size, int denom,
                                const JpegWindow& window, uint8_t* out, int64_t row_stride,
                                Rows* direct) {
  Impl& s = *this;
  jpeg_scaled_size(1, denom);  // validates denom
  if (size == 0 || data == nullptr) throw std::invalid_argument("JPEG data is empty");
  s.end_image();
  s.err.pub.num_warnings = 0;
  // No automatic C++ objects with destructors live from here to the end of the libjpeg calls:
  // a longjmp back to this point only skips C frames.
  if (setjmp(s.err.jump)) {
    s.end_image();
    throw std::invalid_argument(std::string("corrupt JPEG: ") + s.err.message);
  }
  jpeg_mem_src(&s.cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&s.cinfo, TRUE);
  const JpegInfo info{s.cinfo.image_height, s.cinfo.image_width, s.cinfo.num_components};
  const bool cmyk = s.cinfo.jpeg_color_space == JCS_CMYK || s.cinfo.jpeg_color_space == JCS_YCCK;
  const bool inverted = cmyk && s.cinfo.saw_Adobe_marker;
  s.cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  s.cinfo.dct_method = JDCT_ISLOW;
  s.cinfo.do_fancy_upsampling = TRUE;
  s.cinfo.scale_num = 1;
  s.cinfo.scale_denom = static_cast<unsigned>(denom);
  jpeg_calc_output_dimensions(&s.cinfo);
  const int64_t out_h = s.cinfo.output_height, out_w = s.cinfo.output_width;
  if (window.height < 1 || window.width < 1 || window.top < 0 || window.left < 0 ||
      window.top + window.height > out_h || window.left + window.width > out_w) {
    s.end_image();
    throw std::invalid_argument(
        "JPEG window (top " + std::to_string(window.top) + ", left " + std::to_string(window.left) +
        ", height " + std::to_string(window.height) + ", width " + std::to_string(window.width) +
        ") is outside the image decoded at scale 1/" + std::to_string(denom) + " (" +
        std::to_string(out_h) + ", " + std::to_string(out_w) + ")");
  }
  if (direct == nullptr && row_stride < 3 * window.width) {
    s.end_image();
    throw std::invalid_argument("JPEG output row stride " + std::to_string(row_stride) +
                                " is less than 3 * width " + std::to_string(3 * window.width));
  }
  const size_t channels = cmyk ? 4 : 3;
  if (s.row.size() < static_cast<size_t>(out_w) * channels) {
    s.row.resize(static_cast<size_t>(out_w) * channels);
  }
  if (direct != nullptr) {
    // Room for the window's rows at the widest crop libjpeg can make (the whole scaled row).
    const size_t need = static_cast<size_t>(window.height) * static_cast<size_t>(out_w) * 3;
    if (s.pixels.size() < need) s.pixels.resize(need);
  }
  if (s.rows.size() < static_cast<size_t>(window.height)) {
    s.rows.resize(static_cast<size_t>(window.height));
  }
  jpeg_start_decompress(&s.cinfo);
  // Crop to the iMCU columns the window touches plus a margin (libjpeg rounds the start down to
  // an iMCU boundary), so fancy upsampling sees the same neighbours as in a full decode.
  JDIMENSION xoffset = static_cast<JDIMENSION>(std::max<int64_t>(window.left - kCropMargin, 0));
  const int64_t right = std::min(window.left + window.width + kCropMargin, out_w);
  JDIMENSION crop_width = static_cast<JDIMENSION>(right - static_cast<int64_t>(xoffset));
  if (crop_width < s.cinfo.output_width) jpeg_crop_scanline(&s.cinfo, &xoffset, &crop_width);
  const size_t skip_bytes = static_cast<size_t>(window.left - xoffset) * channels;
  if (window.top > 0) jpeg_skip_scanlines(&s.cinfo, static_cast<JDIMENSION>(window.top));
  // RGB rows go straight where they are wanted: into `pixels` (decode_rows), or into `out` when
  // the decoded rows are exactly the window's. Otherwise each row is copied (or converted).
  uint8_t* target = nullptr;
  int64_t stride = 0;
  if (!cmyk && direct != nullptr) {
    target = s.pixels.data();
    stride = static_cast<int64_t>(crop_width) * 3;
    direct->data = target + skip_bytes;
    direct->row_stride = stride;
  } else if (!cmyk && skip_bytes == 0 && static_cast<int64_t>(crop_width) == window.width) {
    target = out;
    stride = row_stride;
  }
  uint8_t* const copy_to = direct != nullptr ? s.pixels.data() : out;
  const int64_t copy_stride = direct != nullptr ? window.width * 3 : row_stride;
  if (target == nullptr && direct != nullptr) {
    direct->data = copy_to;
    direct->row_stride = copy_stride;
  }
  if (target != nullptr) {
    for (int64_t r = 0; r < window.height; ++r)
      s.rows[static_cast<size_t>(r)] = target + r * stride;
    for (int64_t r = 0; r < window.height;) {
      const JDIMENSION got = jpeg_read_scanlines(&s.cinfo, s.rows.data() + r,
                                                 static_cast<JDIMENSION>(window.height - r));
      if (got == 0) {
        std::snprintf(s.err.message, sizeof(s.err.message), "ended at row %lld of %lld",
                      static_cast<long long>(window.top + r), static_cast<long long>(out_h));
        std::longjmp(s.err.jump, 1);
      }
      r += got;
    }
    s.end_image();  // the rows below the window are never decoded
    return info;
  }
  JSAMPROW rowp = s.row.data();
  for (int64_t r = 0; r < window.height; ++r) {
    if (jpeg_read_scanlines(&s.cinfo, &rowp, 1) != 1) {
      std::snprintf(s.err.message, sizeof(s.err.message), "ended at row %lld of %lld",
                    static_cast<long long>(window.top + r), static_cast<long long>(out_h));
      std::longjmp(s.err.jump, 1);
    }
    const uint8_t* src = s.row.data() + skip_bytes;
    uint8_t* dst = copy_to + r * copy_stride;
    if (!cmyk) {
      std::memcpy(dst, src, static_cast<size_t>(window.width) * 3);
    } else {
      for (int64_t x = 0; x < window.width; ++x, src += 4, dst += 3) {
        // As Pillow: Adobe files store CMYK inverted; R = (255 - K) - C * (255 - K) / 255.
        const int nk = inverted ? src[3] : 255 - src[3];
        for (int c = 0; c < 3; ++c) {
          const int v = inverted ? 255 - src[c] : src[c];
          dst[c] = static_cast<uint8_t>(nk - mul255(v, nk));
        }
      }
    }
  }
  s.end_image();  // the rows below the window are never decoded
  return info;
}

JpegInfo JpegDecoder::decode_full(const uint8_t* data, size_t size, int denom, uint8_t* out,
                                  int64_t row_stride) {
  const JpegInfo info = read_header(data, size);
  JpegWindow all{0, 0, jpeg_scaled_size(info.height, denom), jpeg_scaled_size(info.width, denom)};
  return decode(data, size, denom, all, out, row_stride);
}

#else  // built without libjpeg: everything that decodes says so

bool jpeg_available() {
  return false;
}
const char* jpeg_library_version() {
  return "";
}

namespace {
[[noreturn]] void no_jpeg() {
  throw std::runtime_error(
      "JPEG support is not built in: nocopy was compiled without libjpeg (install "
      "libjpeg62-turbo-dev and rebuild)");
}
}  // namespace

struct JpegDecoder::Impl {};
JpegDecoder::JpegDecoder(bool, int64_t) {
  no_jpeg();
}
JpegDecoder::~JpegDecoder() = default;
JpegDecoder::JpegDecoder(JpegDecoder&&) noexcept = default;
JpegDecoder& JpegDecoder::operator=(JpegDecoder&&) noexcept = default;
JpegInfo JpegDecoder::read_header(const uint8_t*, size_t) {
  no_jpeg();
}
JpegInfo JpegDecoder::decode(const uint8_t*, size_t, int, const JpegWindow&, uint8_t*, int64_t) {
  no_jpeg();
}
JpegInfo JpegDecoder::decode_full(const uint8_t*, size_t, int, uint8_t*, int64_t) {
  no_jpeg();
}
JpegDecoder::Rows JpegDecoder::decode_rows(const uint8_t*, size_t, int, const JpegWindow&) {
  no_jpeg();
}

#endif

}  // namespace nocopy
