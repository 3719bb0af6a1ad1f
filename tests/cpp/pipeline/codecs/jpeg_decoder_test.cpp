// Tests of the JPEG decoder: headers; windows (any rows and columns, every DCT scale, 4:4:4,
// 4:2:2, 4:2:0, progressive) equal to the same pixels of a full decode; grayscale and CMYK come
// out as RGB; truncated, corrupt and non-JPEG input is std::invalid_argument and the decoder
// stays usable; each image decodes as in a fresh decoder (no tables kept from the images
// before); the scale choice and the scaled window arithmetic; the fused window decode +
// resample equals resampling the full decode at scale 1 and stays close when DCT-scaled.
#include "nocopy/pipeline/codecs/jpeg_decoder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "nocopy/pipeline/codecs/jpeg_sample.hpp"

#ifdef NOCOPY_HAVE_JPEG
#include <jpeglib.h>
#endif

using nocopy::JpegDecoder;
using nocopy::JpegWindow;

TEST(JpegScale, ScaledSizeRoundsUp) {
  EXPECT_EQ(nocopy::jpeg_scaled_size(375, 1), 375);
  EXPECT_EQ(nocopy::jpeg_scaled_size(375, 2), 188);
  EXPECT_EQ(nocopy::jpeg_scaled_size(375, 8), 47);
  EXPECT_EQ(nocopy::jpeg_scaled_size(1, 8), 1);
  EXPECT_THROW(nocopy::jpeg_scaled_size(10, 3), std::invalid_argument);
}

TEST(JpegScale, ChoosesLargestScaleKeepingTwiceTheOutput) {
  EXPECT_EQ(nocopy::choose_jpeg_scale(400, 400, 224, 224), 1);
  EXPECT_EQ(nocopy::choose_jpeg_scale(900, 900, 224, 224), 2);
  EXPECT_EQ(nocopy::choose_jpeg_scale(2000, 2000, 224, 224), 4);
  EXPECT_EQ(nocopy::choose_jpeg_scale(4000, 4000, 224, 224), 8);
  EXPECT_EQ(nocopy::choose_jpeg_scale(4000, 400, 224, 224), 1);  // both axes must allow it
  EXPECT_EQ(nocopy::choose_jpeg_scale(1, 1, 1, 1), 1);
}

TEST(JpegScale, ScaledWindowCoversTheFullWindow) {
  for (int denom : {1, 2, 4, 8}) {
    for (int64_t top = 0; top < 40; top += 3) {
      for (int64_t h = 1; top + h <= 50; h += 7) {
        const JpegWindow w = nocopy::jpeg_scaled_window({top, top, h, h}, denom, 50, 50);
        const int64_t s = nocopy::jpeg_scaled_size(50, denom);
        EXPECT_GE(w.top, 0);
        EXPECT_GE(w.height, 1);
        EXPECT_LE(w.top + w.height, s);
        EXPECT_LE(w.top * denom, top);
        EXPECT_GE(std::min((w.top + w.height) * denom, int64_t{50}), top + h);
      }
    }
  }
}

#ifdef NOCOPY_HAVE_JPEG

namespace {

struct Encoded {
  std::vector<uint8_t> bytes;
  int64_t height, width;
};

// `px` (h x w x components) encoded by libjpeg; h_samp x v_samp the luma sampling (3 components).
Encoded encode_pixels(const std::vector<uint8_t>& px, int64_t h, int64_t w, int components,
                      int h_samp, int v_samp, int quality = 90, bool progressive = false,
                      bool optimize_huffman = false) {
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr jerr{};
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buf, &size);
  cinfo.image_width = static_cast<JDIMENSION>(w);
  cinfo.image_height = static_cast<JDIMENSION>(h);
  cinfo.input_components = components;
  cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  if (components == 3) {
    cinfo.comp_info[0].h_samp_factor = h_samp;
    cinfo.comp_info[0].v_samp_factor = v_samp;
  }
  if (progressive) jpeg_simple_progression(&cinfo);
  if (optimize_huffman) cinfo.optimize_coding = TRUE;
  jpeg_start_compress(&cinfo, TRUE);
  for (int64_t y = 0; y < h; ++y) {
    JSAMPROW row = const_cast<uint8_t*>(px.data()) + y * w * components;  // libjpeg only reads
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  Encoded e{std::vector<uint8_t>(buf, buf + size), h, w};
  std::free(buf);
  return e;
}

// A smooth pattern with noise (so every DCT coefficient and chroma matters), encoded by libjpeg.
Encoded encode(int64_t h, int64_t w, int components, int h_samp, int v_samp,
               bool progressive = false, int quality = 90, bool optimize_huffman = false) {
  std::mt19937 rng(static_cast<uint32_t>(h * 131 + w * 7 + components));
  std::vector<uint8_t> px(static_cast<size_t>(h * w * components));
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      for (int c = 0; c < components; ++c) {
        const int v = static_cast<int>((x * (c + 1) * 3 + y * (5 - c) * 2) % 256) / 2 +
                      static_cast<int>(rng() % 96);
        px[static_cast<size_t>((y * w + x) * components + c)] = static_cast<uint8_t>(v);
      }
    }
  }
  return encode_pixels(px, h, w, components, h_samp, v_samp, quality, progressive,
                       optimize_huffman);
}

// `e` without the marker segments `marker` (0xDB: DQT, 0xC4: DHT) before its first scan.
Encoded without_segments(const Encoded& e, uint8_t marker) {
  Encoded out{{e.bytes[0], e.bytes[1]}, e.height, e.width};
  size_t at = 2;  // marker segments: FF xx, 2-byte length (counting itself), payload
  while (e.bytes[at + 1] != 0xDA) {
    const size_t end = at + 2 + static_cast<size_t>((e.bytes[at + 2] << 8) | e.bytes[at + 3]);
    if (e.bytes[at + 1] != marker) out.bytes.insert(out.bytes.end(), &e.bytes[at], &e.bytes[end]);
    at = end;
  }
  out.bytes.insert(out.bytes.end(), e.bytes.begin() + static_cast<std::ptrdiff_t>(at),
                   e.bytes.end());
  return out;
}

std::vector<uint8_t> full(JpegDecoder& d, const Encoded& e, int denom) {
  const int64_t sh = nocopy::jpeg_scaled_size(e.height, denom);
  const int64_t sw = nocopy::jpeg_scaled_size(e.width, denom);
  std::vector<uint8_t> out(static_cast<size_t>(sh * sw * 3));
  d.decode_full(e.bytes.data(), e.bytes.size(), denom, out.data(), sw * 3);
  return out;
}

}  // namespace

TEST(JpegDecoder, ReadsHeader) {
  JpegDecoder d;
  const Encoded e = encode(37, 53, 3, 2, 2);
  const nocopy::JpegInfo info = d.read_header(e.bytes.data(), e.bytes.size());
  EXPECT_EQ(info.height, 37);
  EXPECT_EQ(info.width, 53);
  EXPECT_EQ(info.components, 3);
  const Encoded g = encode(5, 9, 1, 1, 1);
  EXPECT_EQ(d.read_header(g.bytes.data(), g.bytes.size()).components, 1);
}

TEST(JpegDecoder, WindowsEqualTheFullDecode) {
  JpegDecoder d;
  std::mt19937 rng(7);
  struct Case {
    int h_samp, v_samp;
    bool progressive;
  };
  for (const Case c : {Case{1, 1, false}, Case{2, 1, false}, Case{2, 2, false}, Case{2, 2, true}}) {
    const Encoded e = encode(83, 121, 3, c.h_samp, c.v_samp, c.progressive);
    for (int denom : {1, 2, 4, 8}) {
      const std::vector<uint8_t> ref = full(d, e, denom);
      const int64_t sh = nocopy::jpeg_scaled_size(e.height, denom);
      const int64_t sw = nocopy::jpeg_scaled_size(e.width, denom);
      for (int trial = 0; trial < 40; ++trial) {
        JpegWindow w;
        w.top = static_cast<int64_t>(rng() % static_cast<uint32_t>(sh));
        w.left = static_cast<int64_t>(rng() % static_cast<uint32_t>(sw));
        w.height = 1 + static_cast<int64_t>(rng() % static_cast<uint32_t>(sh - w.top));
        w.width = 1 + static_cast<int64_t>(rng() % static_cast<uint32_t>(sw - w.left));
        const int64_t stride = w.width * 3 + 5;  // a padded row stride
        std::vector<uint8_t> out(static_cast<size_t>(w.height * stride), 0xAB);
        d.decode(e.bytes.data(), e.bytes.size(), denom, w, out.data(), stride);
        int mismatches = 0;
        for (int64_t y = 0; y < w.height; ++y) {
          for (int64_t x = 0; x < w.width * 3; ++x) {
            mismatches += out[static_cast<size_t>(y * stride + x)] !=
                          ref[static_cast<size_t>(((w.top + y) * sw + w.left) * 3 + x)];
          }
          EXPECT_EQ(out[static_cast<size_t>(y * stride + w.width * 3)], 0xAB);  // padding kept
        }
        // decode_rows leaves the same pixels in the decoder's buffer, rows as libjpeg wrote them.
        const JpegDecoder::Rows rows = d.decode_rows(e.bytes.data(), e.bytes.size(), denom, w);
        EXPECT_GE(rows.row_stride, w.width * 3);
        for (int64_t y = 0; y < w.height; ++y) {
          for (int64_t x = 0; x < w.width * 3; ++x) {
            mismatches += rows.data[y * rows.row_stride + x] !=
                          ref[static_cast<size_t>(((w.top + y) * sw + w.left) * 3 + x)];
          }
        }
        ASSERT_EQ(mismatches, 0) << "samp " << c.h_samp << "x" << c.v_samp << " progressive "
                                 << c.progressive << " denom " << denom << " window " << w.top
                                 << "," << w.left << " " << w.height << "x" << w.width;
      }
    }
  }
}

TEST(JpegDecoder, GrayscaleComesOutAsEqualChannels) {
  JpegDecoder d;
  const Encoded e = encode(20, 30, 1, 1, 1);
  const std::vector<uint8_t> rgb = full(d, e, 1);
  bool varied = false;
  for (size_t i = 0; i < rgb.size(); i += 3) {
    ASSERT_EQ(rgb[i], rgb[i + 1]);
    ASSERT_EQ(rgb[i], rgb[i + 2]);
    varied = varied || rgb[i] != rgb[0];
  }
  EXPECT_TRUE(varied);
}

TEST(JpegDecoder, CmykComesOutAsRgb) {
  JpegDecoder d;
  const Encoded e = encode(16, 24, 4, 1, 1);
  EXPECT_EQ(d.read_header(e.bytes.data(), e.bytes.size()).components, 4);
  const std::vector<uint8_t> rgb = full(d, e, 1);
  EXPECT_EQ(rgb.size(), size_t{16 * 24 * 3});
  // The conversion itself is checked against Pillow in tests/python/unit/test_jpeg.py.
  std::vector<uint8_t> out(5 * 7 * 3);
  d.decode(e.bytes.data(), e.bytes.size(), 1, {3, 4, 5, 7}, out.data(), 7 * 3);
  for (int64_t y = 0; y < 5; ++y) {
    for (int64_t x = 0; x < 21; ++x) {
      ASSERT_EQ(out[static_cast<size_t>(y * 21 + x)],
                rgb[static_cast<size_t>(((3 + y) * 24 + 4) * 3 + x)]);
    }
  }
  const JpegDecoder::Rows rows = d.decode_rows(e.bytes.data(), e.bytes.size(), 1, {3, 4, 5, 7});
  for (int64_t y = 0; y < 5; ++y) {
    ASSERT_EQ(std::memcmp(rows.data + y * rows.row_stride, out.data() + y * 21, 21), 0) << y;
  }
}

TEST(JpegDecoder, BadInputIsInvalidArgumentAndTheDecoderStaysUsable) {
  JpegDecoder d;
  const Encoded e = encode(40, 40, 3, 2, 2);
  const std::vector<uint8_t> good = full(d, e, 1);
  std::vector<uint8_t> out(40 * 40 * 3);
  const uint8_t junk[] = {'n', 'o', 't', ' ', 'a', ' ', 'j', 'p', 'e', 'g'};
  EXPECT_THROW(d.read_header(junk, sizeof(junk)), std::invalid_argument);
  EXPECT_THROW(d.read_header(junk, 0), std::invalid_argument);
  for (size_t keep : {size_t{2}, size_t{100}, e.bytes.size() / 2, e.bytes.size() - 2}) {
    EXPECT_THROW(d.decode_full(e.bytes.data(), keep, 1, out.data(), 40 * 3), std::invalid_argument)
        << keep;
  }
  std::vector<uint8_t> corrupt = e.bytes;
  for (size_t i = corrupt.size() / 2; i < corrupt.size() / 2 + 40; ++i) corrupt[i] = 0xFF;
  EXPECT_THROW(d.decode_full(corrupt.data(), corrupt.size(), 1, out.data(), 40 * 3),
               std::invalid_argument);
  EXPECT_THROW(d.decode(e.bytes.data(), e.bytes.size(), 1, {0, 0, 41, 40}, out.data(), 120),
               std::invalid_argument);
  EXPECT_THROW(d.decode(e.bytes.data(), e.bytes.size(), 3, {0, 0, 1, 1}, out.data(), 120),
               std::invalid_argument);
  EXPECT_THROW(d.decode(e.bytes.data(), e.bytes.size(), 1, {0, 0, 1, 40}, out.data(), 119),
               std::invalid_argument);
  EXPECT_EQ(full(d, e, 1), good);  // after every failure the same decoder decodes again
}

TEST(JpegDecoder, DecodesEveryImageAsAFreshDecoderWhateverCameBefore) {
  // libjpeg keeps the tables an image defines for the next images of one decompressor; a JPEG
  // lacking them must not borrow them. What came before: an image with other quantization
  // tables and optimized Huffman tables, the progressive image whose tables the progressive
  // JPEG below lacks (borrowing them would decode it), and a grayscale one.
  const Encoded progressive = encode(40, 48, 3, 2, 2, true, 40);
  const std::vector<Encoded> before = {encode(48, 64, 3, 2, 2, false, 97, true), progressive,
                                       encode(24, 32, 1, 1, 1)};
  const Encoded plain = encode(40, 48, 3, 2, 2, false, 40);  // standard Huffman tables
  const Encoded no_dqt = without_segments(plain, 0xDB);
  const Encoded no_dht = without_segments(plain, 0xC4);  // the standard tables left out
  const Encoded progressive_no_dht = without_segments(progressive, 0xC4);
  JpegDecoder fresh;
  const std::vector<uint8_t> want = full(fresh, plain, 1);
  std::vector<uint8_t> out(want.size());
  for (size_t k = 0; k <= before.size(); ++k) {
    JpegDecoder d;  // decodes image k (none for the last k) before each check, twice over
    auto after_image_k = [&] {
      if (k < before.size()) full(d, before[k], 1);
    };
    for (int round = 0; round < 2; ++round) {
      // Sequential without Huffman tables: libjpeg-turbo's standard tables, the same pixels.
      after_image_k();
      EXPECT_EQ(full(d, no_dht, 1), want) << "after image " << k << " round " << round;
      for (int denom : {2, 8}) {
        after_image_k();
        EXPECT_EQ(full(d, no_dht, denom), full(fresh, plain, denom)) << "after image " << k;
      }
      // Without quantization tables: refused, as a fresh libjpeg (and Pillow) refuses it.
      after_image_k();
      EXPECT_EQ(d.read_header(no_dqt.bytes.data(), no_dqt.bytes.size()).width, 48);
      after_image_k();
      try {
        d.decode_full(no_dqt.bytes.data(), no_dqt.bytes.size(), 1, out.data(), 48 * 3);
        ADD_FAILURE() << "a JPEG without DQT decoded after image " << k;
      } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("Quantization table 0x00 was not defined"),
                  std::string::npos)
            << e.what();
      }
      // Progressive without them: refused, as in a fresh decompressor.
      after_image_k();
      EXPECT_THROW(d.decode_full(progressive_no_dht.bytes.data(), progressive_no_dht.bytes.size(),
                                 1, out.data(), 48 * 3),
                   std::invalid_argument)
          << "after image " << k;
    }
  }
}

TEST(JpegSample, DamagedHeadersAndDataAreInvalidArgumentInEveryWindow) {
  // What a corrupt sample of a JPEG ImageSet meets in the loader: the fused window decode of a
  // damaged frame header, or of entropy data damaged or cut off where every window's decode
  // passes (the first MCU rows), throws, whatever the window and scale. (Damage below a window
  // that is never decoded goes unseen: the window's pixels are then exact.)
  const Encoded e = encode(64, 80, 3, 2, 2);
  auto find_marker = [&e](uint8_t marker) {
    size_t at = 2;  // marker segments: FF xx, 2-byte length (counting itself), payload
    while (!(e.bytes[at] == 0xFF && e.bytes[at + 1] == marker)) {
      at += 2 + static_cast<size_t>((e.bytes[at + 2] << 8) | e.bytes[at + 3]);
    }
    return at;
  };
  const size_t sof = find_marker(0xC0);  // length, precision, height, width, components, ...
  const size_t sos = find_marker(0xDA);
  const size_t data = sos + 2 + static_cast<size_t>((e.bytes[sos + 2] << 8) | e.bytes[sos + 3]);
  std::vector<std::vector<uint8_t>> damaged;
  auto with = [&](size_t at, std::initializer_list<uint8_t> v) {
    std::vector<uint8_t> b = e.bytes;
    std::copy(v.begin(), v.end(), b.begin() + static_cast<std::ptrdiff_t>(at));
    damaged.push_back(std::move(b));
  };
  with(sof + 5, {0, 0});                     // 0 rows
  with(sof + 5, {0, 72});                    // 72 rows: not what the index says
  with(sof + 9, {9});                        // 9 components
  with(sof + 4, {12});                       // 12-bit precision
  with(sof + 11, {0x55});                    // sampling factors 5x5
  with(0, {0, 0});                           // no SOI
  with(data + 8, {0xFF, 0xD9, 0xFF, 0xD9});  // EOI in the entropy-coded data
  std::vector<uint8_t> garbage = e.bytes;
  for (size_t i = data + 4; i < data + 44; ++i) garbage[i] = 0xFF;
  damaged.push_back(garbage);
  damaged.emplace_back(e.bytes.begin(), e.bytes.begin() + static_cast<std::ptrdiff_t>(data + 16));
  nocopy::JpegSampleScratch scratch;
  const float a[3] = {1, 1, 1}, b[3] = {0, 0, 0};
  std::vector<float> out(3 * 16 * 16);
  for (size_t d = 0; d < damaged.size(); ++d) {
    for (const auto& [top, left, h, w] :
         {std::array<int64_t, 4>{0, 0, 64, 80}, {40, 48, 24, 32}, {0, 0, 8, 8}}) {
      nocopy::ResizeGeometry g;
      g.top = top;
      g.left = left;
      g.height = h;
      g.width = w;
      g.resized_h = g.resized_w = g.out_h = g.out_w = 16;
      EXPECT_THROW(nocopy::decode_resample_window(damaged[d].data(), damaged[d].size(), 64, 80, g,
                                                  {out.data(), nocopy::DType::Float32, true, a, b},
                                                  nocopy::DecodeScale::Auto, scratch),
                   std::invalid_argument)
          << "damage " << d << " window " << top << "," << left;
    }
  }
}

TEST(JpegSample, FusedWindowDecodeEqualsResamplingTheFullDecode) {
  JpegDecoder d;
  nocopy::JpegSampleScratch scratch;
  nocopy::ResizeScratch ref_scratch;
  const Encoded e = encode(97, 131, 3, 2, 2);
  const std::vector<uint8_t> whole = full(d, e, 1);
  const nocopy::ResizeSource src{whole.data(), nocopy::DType::UInt8, 97, 131, 3, 131 * 3, 3, 1};
  const float a[3] = {1, 1, 1}, b[3] = {0, 0, 0};
  std::mt19937 rng(3);
  for (int trial = 0; trial < 30; ++trial) {
    nocopy::ResizeGeometry g;
    g.height = 1 + static_cast<int64_t>(rng() % 97);
    g.width = 1 + static_cast<int64_t>(rng() % 131);
    g.top = static_cast<int64_t>(rng() % static_cast<uint32_t>(97 - g.height + 1));
    g.left = static_cast<int64_t>(rng() % static_cast<uint32_t>(131 - g.width + 1));
    g.resized_h = g.out_h = 8 + static_cast<int64_t>(rng() % 40);
    g.resized_w = g.out_w = 8 + static_cast<int64_t>(rng() % 40);
    g.mirror = trial % 2 == 1;
    const int denom = nocopy::choose_jpeg_scale(g.height, g.width, g.resized_h, g.resized_w);
    std::vector<float> got(static_cast<size_t>(g.out_h * g.out_w * 3));
    std::vector<float> want(got.size());
    nocopy::decode_resample_window(e.bytes.data(), e.bytes.size(), 97, 131, g,
                                   {got.data(), nocopy::DType::Float32, true, a, b},
                                   nocopy::DecodeScale::Auto, scratch);
    nocopy::resample_window(src, g, {want.data(), nocopy::DType::Float32, true, a, b}, ref_scratch);
    double err = 0, max_err = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      err += std::abs(got[i] - want[i]);
      max_err = std::max<double>(max_err, std::abs(got[i] - want[i]));
    }
    if (denom == 1) {
      ASSERT_EQ(max_err, 0) << "trial " << trial;
    } else {
      EXPECT_LT(err / static_cast<double>(got.size()), 40) << "trial " << trial;  // noisy image
    }
  }
  const uint8_t junk[] = {0xFF, 0xD8, 0xFF, 0x00};
  std::vector<float> out(3 * 8 * 8);
  nocopy::ResizeGeometry g;
  g.height = g.width = 8;
  g.resized_h = g.resized_w = g.out_h = g.out_w = 8;
  EXPECT_THROW(nocopy::decode_resample_window(junk, sizeof(junk), 8, 8, g,
                                              {out.data(), nocopy::DType::Float32, true, a, b},
                                              nocopy::DecodeScale::Auto, scratch),
               std::invalid_argument);
  // An index that disagrees with the file's header is an error too.
  EXPECT_THROW(nocopy::decode_resample_window(e.bytes.data(), e.bytes.size(), 90, 131, g,
                                              {out.data(), nocopy::DType::Float32, true, a, b},
                                              nocopy::DecodeScale::Auto, scratch),
               std::invalid_argument);
}

TEST(JpegSample, DctScaledWindowsKeepTheFullDecodesGeometry) {
  // A smooth image (a ramp and a slow wave, 4:4:4, quality 95), whose block averages are
  // close to its pixels: resampling the DCT-scaled window over its exact stretch of scaled
  // pixels stays within the JPEG's own noise of resampling the full decode, wherever the
  // window's edges fall; resampling the whole scaled pixels around it instead (edges rounded
  // outward) is off by up to denom - 1 source pixels at the window's edges.
  const int64_t h = 400, w = 360;
  std::vector<uint8_t> px(static_cast<size_t>(h * w * 3));
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      for (int c = 0; c < 3; ++c) {
        const double v = 30 + 0.3 * x + 0.2 * y + 20 * std::sin((x + 2 * y) / 40.0 + c);
        px[static_cast<size_t>((y * w + x) * 3 + c)] = static_cast<uint8_t>(std::lround(v));
      }
    }
  }
  const Encoded e = encode_pixels(px, h, w, 3, 1, 1, 95);
  JpegDecoder d;
  const std::vector<uint8_t> whole = full(d, e, 1);
  const nocopy::ResizeSource src{whole.data(), nocopy::DType::UInt8, h, w, 3, w * 3, 3, 1};
  nocopy::JpegSampleScratch scratch;
  nocopy::ResizeScratch ref_scratch;
  const float a[3] = {1, 1, 1}, b[3] = {0, 0, 0};
  std::mt19937 rng(11);
  int scaled = 0;
  double max_err = 0;
  for (int trial = 0; trial < 40; ++trial) {
    nocopy::ResizeGeometry g;
    g.height = 150 + static_cast<int64_t>(rng() % 250);
    g.width = 150 + static_cast<int64_t>(rng() % 210);
    g.top = static_cast<int64_t>(rng() % static_cast<uint32_t>(h - g.height + 1));
    g.left = static_cast<int64_t>(rng() % static_cast<uint32_t>(w - g.width + 1));
    g.resized_h = g.out_h = 16 + static_cast<int64_t>(rng() % 24);
    g.resized_w = g.out_w = 16 + static_cast<int64_t>(rng() % 24);
    scaled += nocopy::choose_jpeg_scale(g.height, g.width, g.resized_h, g.resized_w) > 1;
    std::vector<float> got(static_cast<size_t>(g.out_h * g.out_w * 3)), want(got.size());
    nocopy::decode_resample_window(e.bytes.data(), e.bytes.size(), h, w, g,
                                   {got.data(), nocopy::DType::Float32, true, a, b},
                                   nocopy::DecodeScale::Auto, scratch);
    nocopy::resample_window(src, g, {want.data(), nocopy::DType::Float32, true, a, b}, ref_scratch);
    for (size_t i = 0; i < got.size(); ++i) {
      max_err = std::max<double>(max_err, std::abs(got[i] - want[i]));
    }
  }
  EXPECT_LT(max_err, 2.5);  // 1.55 here; 5.6 with the edges rounded outward
  EXPECT_GE(scaled, 30);    // most windows were DCT-scaled
}

TEST(JpegSample, ExactNeverScalesAndNearestIsNeverScaled) {
  // A window 8x the output would decode at 1/4: DecodeScale::Exact and nearest interpolation
  // decode it at full size, bit-identical to resampling the full decode.
  const Encoded e = encode(200, 240, 3, 2, 2);
  JpegDecoder d;
  const std::vector<uint8_t> whole = full(d, e, 1);
  const nocopy::ResizeSource src{whole.data(), nocopy::DType::UInt8, 200, 240, 3, 240 * 3, 3, 1};
  nocopy::JpegSampleScratch scratch;
  nocopy::ResizeScratch ref_scratch;
  const float a[3] = {1, 1, 1}, b[3] = {0, 0, 0};
  nocopy::ResizeGeometry g;
  g.top = 13;
  g.left = 21;
  g.height = 170;
  g.width = 205;
  g.resized_h = g.out_h = 20;
  g.resized_w = g.out_w = 24;
  ASSERT_EQ(nocopy::choose_jpeg_scale(g.height, g.width, g.resized_h, g.resized_w), 4);
  for (auto [mode, interpolation, equal] :
       {std::tuple{nocopy::DecodeScale::Exact, nocopy::Interpolation::Bilinear, true},
        {nocopy::DecodeScale::Exact, nocopy::Interpolation::Nearest, true},
        {nocopy::DecodeScale::Auto, nocopy::Interpolation::Nearest, true},
        {nocopy::DecodeScale::Auto, nocopy::Interpolation::Bilinear, false}}) {
    g.interpolation = interpolation;
    std::vector<float> got(20 * 24 * 3), want(got.size());
    nocopy::decode_resample_window(e.bytes.data(), e.bytes.size(), 200, 240, g,
                                   {got.data(), nocopy::DType::Float32, true, a, b}, mode, scratch);
    nocopy::resample_window(src, g, {want.data(), nocopy::DType::Float32, true, a, b}, ref_scratch);
    EXPECT_EQ(got == want, equal) << nocopy::decode_scale_name(mode);
  }
  EXPECT_EQ(nocopy::decode_scale_from_name("auto"), nocopy::DecodeScale::Auto);
  EXPECT_EQ(nocopy::decode_scale_from_name("exact"), nocopy::DecodeScale::Exact);
  EXPECT_THROW(nocopy::decode_scale_from_name("fast"), std::invalid_argument);
}

TEST(JpegSample, ASampleDoesNotDependOnTheSamplesBefore) {
  // The loader's per-thread scratch decodes sample after sample: a JPEG relying on default
  // tables gives the same result after any image as in a fresh scratch.
  const Encoded other = encode(64, 72, 3, 1, 1, false, 97, true);
  const Encoded no_dht = without_segments(encode(56, 64, 3, 2, 2), 0xC4);
  const float a[3] = {1, 1, 1}, b[3] = {0, 0, 0};
  nocopy::ResizeGeometry g;
  g.top = 4;
  g.left = 6;
  g.height = 40;
  g.width = 50;
  g.resized_h = g.resized_w = g.out_h = g.out_w = 20;
  auto run = [&](nocopy::JpegSampleScratch& scratch, const Encoded& e) {
    std::vector<float> out(3 * 20 * 20);
    nocopy::decode_resample_window(e.bytes.data(), e.bytes.size(), e.height, e.width, g,
                                   {out.data(), nocopy::DType::Float32, true, a, b},
                                   nocopy::DecodeScale::Auto, scratch);
    return out;
  };
  nocopy::JpegSampleScratch fresh, used;
  const std::vector<float> want = run(fresh, no_dht);
  run(used, other);
  EXPECT_EQ(run(used, no_dht), want);
}

TEST(JpegDecoder, Available) {
  EXPECT_TRUE(nocopy::jpeg_available());
  EXPECT_NE(std::string(nocopy::jpeg_library_version()), "");
}

#else

TEST(JpegDecoder, WithoutLibjpegSaysSo) {
  EXPECT_FALSE(nocopy::jpeg_available());
  EXPECT_THROW(JpegDecoder d, std::runtime_error);
}

#endif
