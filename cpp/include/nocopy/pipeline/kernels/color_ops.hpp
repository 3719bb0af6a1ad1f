// Colour operators on a dense uint8 HWC image, applied in place.
//
// Each operator gives the result of the torchvision.transforms.v2.functional operator of the
// same name on the CHW uint8 tensor of the image: the same float32 steps in the same order, the
// same rounding (round half to even where the reference rounds, truncation where it converts a
// float back to uint8). The reference's fused multiply-adds (its "a + alpha * b" blends and the
// grayscale weights, one rounding each on CPUs with FMA) are reproduced as such, so every
// operator but the Gaussian blur gives the reference's values exactly in the tests; the blur,
// computed separably where the reference convolves with the 2-d kernel, differs by one level on
// rare values (those within float32 error of k + 1/2).
//
// Images have 1 or 3 channels (std::invalid_argument otherwise); an image with no pixels is left
// as it is. Parameters are checked as the reference checks them (std::invalid_argument when out
// of range; NaN is refused everywhere). Work buffers live in a ColorScratch the caller owns and
// reuses, so that once it has served an image as large, no operator allocates.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace nocopy {

/// A dense (row-major, channels last) uint8 image of height x width x channels, written in place.
struct ImageU8 {
  /// Pixel (0, 0), channel 0; pixel (y, x) channel c is at data[(y * width + x) * channels + c].
  uint8_t* data = nullptr;
  /// Rows, columns and channels (1 or 3).
  int64_t height = 0, width = 0, channels = 0;
};

/// Work buffers of the operators that need them (sharpness, Gaussian blur); grown on demand and
/// reused, never shrunk.
struct ColorScratch {
  /// A copy of the source pixels (sharpness reads the unmodified neighbours).
  std::vector<uint8_t> pixels;
  /// The horizontally filtered image (Gaussian blur), height x width x channels.
  std::vector<float> filtered;
  /// One source row widened by the reflected borders (Gaussian blur).
  std::vector<float> padded_row;
  /// One output row being accumulated (Gaussian blur).
  std::vector<float> row_sum;
  /// The 1-d Gaussian weights along x and y.
  std::vector<float> kernel_x, kernel_y;
};

/// x * factor, clamped to [0, 255] and truncated. factor >= 0.
void adjust_brightness(ImageU8 image, double factor);

/// Blend with the mean of the grayscale image (the mean of the single channel when C = 1):
/// x * factor + mean * (1 - factor), clamped and truncated. factor >= 0. The sum behind the mean
/// is exact (the reference's float32 sum is too up to 2**24, and rounds to the same float beyond
/// in the tests).
void adjust_contrast(ImageU8 image, double factor);

/// Blend of each pixel with its own grayscale value (floored): x * factor + gray * (1 - factor),
/// clamped and truncated. factor >= 0. The identity when C = 1, as in the reference.
void adjust_saturation(ImageU8 image, double factor);

/// Rotates the hue by hue_factor turns (in [-0.5, 0.5]) through float32 HSV and back. The
/// identity when C = 1, as in the reference.
void adjust_hue(ImageU8 image, double hue_factor);

/// Grayscale (0.2989 R + 0.587 G + 0.114 B, truncated) written to the three channels, as the
/// reference's rgb_to_grayscale with num_output_channels=3; a 1-channel image is unchanged.
void to_grayscale(ImageU8 image);

/// 255 - x.
void invert(ImageU8 image);

/// Keeps the `bits` high bits of each value (bits in [0, 8]; 0 gives black).
void posterize(ImageU8 image, int bits);

/// Inverts the values >= threshold (compared in float32); threshold <= 255.
void solarize(ImageU8 image, double threshold);

/// Blend with the 3x3 smoothed image (weights 1 around, 5 in the centre, over 13; rounded) on
/// the interior pixels; the border rows and columns are unchanged, as is an image of height or
/// width <= 2. factor >= 0.
void adjust_sharpness(ImageU8 image, double factor, ColorScratch& scratch);

/// Stretches each channel so that its minimum becomes 0 and its maximum 255 (a flat channel is
/// unchanged).
void autocontrast(ImageU8 image);

/// Histogram equalization of each channel with the reference's lookup table (a channel whose
/// values other than its maximum number fewer than 255 is unchanged).
void equalize(ImageU8 image);

/// Gaussian blur with odd, positive kernel sizes {kx, ky} and positive sigmas {sx, sy}, borders
/// reflected (without repeating the edge): so kx / 2 < width and ky / 2 < height, as the
/// reference requires. Computed separably in float32 and rounded half to even, where the
/// reference convolves with the 2-d kernel: a level of difference on rare values (about 3e-5 of
/// a random image's; up to half of a checkerboard's, whose blur lands on exact ties).
void gaussian_blur(ImageU8 image, std::array<int64_t, 2> kernel_size, std::array<double, 2> sigma,
                   ColorScratch& scratch);

}  // namespace nocopy
