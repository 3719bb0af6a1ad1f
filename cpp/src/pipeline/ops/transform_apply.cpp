// apply_transforms: the sample's geometry resampled once (straight into the output when no
// pixel step, pad or channel change stands between), else through a uint8 image the pixel
// steps rewrite; then RandomErasing on the written sample.
#include "nocopy/pipeline/ops/transform_apply.hpp"

#include <algorithm>

#include "nocopy/pipeline/kernels/pixel_gather.hpp"

namespace nocopy {

void apply_transforms(const TransformProgram& program, std::span<const double> params,
                      const SampleGeometry& g, int64_t channels, const SourceResampler& resample,
                      void* out, bool channels_first, TransformScratch& scratch) {
  const int64_t C = channels, out_c = program.output_channels();
  const auto out_h = static_cast<int64_t>(g.rows.size());
  const auto out_w = static_cast<int64_t>(g.cols.size());
  // The rows and columns of the resampled image the tables read.
  int64_t r0 = g.resized_h, r1 = 0, c0 = g.resized_w, c1 = 0;
  for (int64_t r : g.rows) {
    if (r >= 0) r0 = std::min(r0, r), r1 = std::max(r1, r + 1);
  }
  for (int64_t c : g.cols) {
    if (c >= 0) c0 = std::min(c0, c), c1 = std::max(c1, c + 1);
  }
  bool rows_straight = r1 - r0 == out_h, cols_up = c1 - c0 == out_w, cols_down = cols_up;
  for (int64_t y = 0; y < out_h && rows_straight; ++y) rows_straight = g.rows[y] == r0 + y;
  for (int64_t x = 0; x < out_w; ++x) {
    cols_up = cols_up && g.cols[x] == c0 + x;
    cols_down = cols_down && g.cols[x] == c1 - 1 - x;
  }
  ResizeGeometry rg;
  rg.top = g.top;
  rg.left = g.left;
  rg.height = g.height;
  rg.width = g.width;
  rg.resized_h = g.resized_h;
  rg.resized_w = g.resized_w;
  rg.interpolation = g.interpolation;
  const DType dtype = program.output_dtype();
  const ResizeOutput final_write{out, dtype, channels_first, program.multipliers().data(),
                                 program.offsets().data()};
  if (!program.has_pixel_steps() && rows_straight && (cols_up || cols_down) && out_c == C) {
    // One pass: the window resampled straight into the output, flipped, scaled, normalized.
    rg.out_top = r0;
    rg.out_left = c0;
    rg.out_h = out_h;
    rg.out_w = out_w;
    rg.mirror = !cols_up;
    resample(rg, final_write);
  } else {
    // The rows and columns the tables read, resampled once to uint8; the tables applied; the
    // pixel steps in place; then the write of the output.
    scratch.image.resize(static_cast<size_t>(out_h * out_w * C));
    uint8_t* image = scratch.image.data();
    const uint8_t* src = nullptr;
    if (r1 > r0 && c1 > c0) {
      rg.out_top = r0;
      rg.out_left = c0;
      rg.out_h = r1 - r0;
      rg.out_w = c1 - c0;
      scratch.resampled.resize(static_cast<size_t>(rg.out_h * rg.out_w * C));
      scratch.ones.assign(static_cast<size_t>(C), 1.0f);
      scratch.zeros.assign(static_cast<size_t>(C), 0.0f);
      resample(rg, {scratch.resampled.data(), DType::UInt8, false, scratch.ones.data(),
                    scratch.zeros.data()});
      src = scratch.resampled.data();
    }
    gather_pixels(src, c1 - c0, C, r0, c0, g.rows, g.cols, g.fill, image);
    run_pixel_steps(program, params, PixelImage{image, out_h, out_w, C}, scratch.pixels);
    const ResizeSource source{image, DType::UInt8, out_h, out_w, out_c, out_w * C, C, 1};
    ResizeGeometry identity;
    identity.height = identity.resized_h = identity.out_h = out_h;
    identity.width = identity.resized_w = identity.out_w = out_w;
    resample_window(source, identity, final_write, scratch.resize);
  }
  // RandomErasing on the written sample.
  for (size_t s = 0; s < program.steps().size(); ++s) {
    const TransformStep& step = program.steps()[s];
    if (step.kind != StepKind::RandomErasing) continue;
    const double* v = params.data() + program.parameter_offset(s);
    if (v[0] == 0.0) continue;
    const auto top = static_cast<int64_t>(v[1]), left = static_cast<int64_t>(v[2]);
    const auto h = static_cast<int64_t>(v[3]), w = static_cast<int64_t>(v[4]);
    if (step.random_value) {
      scratch.noise.resize(static_cast<size_t>(h * w * out_c));
      erasing_noise(static_cast<uint64_t>(v[5]), scratch.noise);
      fill_rectangle_values(out, dtype, channels_first, out_h, out_w, out_c, top, left, h, w,
                            scratch.noise.data());
    } else {
      fill_rectangle(out, dtype, channels_first, out_h, out_w, out_c, top, left, h, w, step.fill);
    }
  }
}

}  // namespace nocopy
