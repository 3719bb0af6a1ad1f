// nocopy_stats: a C++ program using the installed nocopy library.
//
// Without arguments it wraps its own memory (a std::vector) in a nocopy::View, slices, crops,
// permutes and flips it without copying, and prints statistics of each view. With
// `--npy PATH` it maps a .npy file, and with `--shm NAME` it attaches a shared array (e.g. one
// made from Python with nc.SharedArray.create), zero-copy, and prints their statistics too.
//
// Output: one line per view, "<label>: shape=(...) dtype=<name> count=N mean=M min=A max=B
// shares=<yes|no>" (shares: whether the view's bytes lie inside its source's bytes).
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <nocopy/nocopy.hpp>  // the whole API: views, owners, .npy files, shared arrays
#include <numeric>
#include <string>
#include <vector>

#include "stats.hpp"

namespace {

// True when every byte `part` can touch lies inside the bytes of `whole` (a zero-copy view).
bool inside(const nocopy::View& part, const nocopy::View& whole) {
  const auto p = part.byte_extent();
  const auto w = whole.byte_extent();
  return p.begin >= w.begin && p.end <= w.end;
}

void report(const char* label, const nocopy::View& v, const nocopy::View& source) {
  const example::Stats s = example::compute_stats(v);
  std::printf("%s: shape=%s dtype=%s count=%lld mean=%.17g min=%.17g max=%.17g shares=%s\n", label,
              nocopy::format_tuple(v.shape()).c_str(),
              std::string(nocopy::dtype_name(v.dtype())).c_str(), static_cast<long long>(s.count),
              s.mean, s.min, s.max, inside(v, source) ? "yes" : "no");
}

// A batch of 4 "images" of 6 x 8 pixels x 3 channels in a std::vector the program owns; the
// view's owner keeps the vector alive, so the views below can never dangle.
void own_data_demo() {
  auto pixels = std::make_shared<std::vector<float>>(4 * 6 * 8 * 3);
  std::iota(pixels->begin(), pixels->end(), 0.0f);  // value = flat index
  auto owner = std::make_shared<nocopy::CallbackOwner>("vector", [pixels] {});
  const nocopy::View images =
      nocopy::View::c_contiguous(pixels->data(), nocopy::DType::Float32, {4, 6, 8, 3}, owner);

  report("images", images, images);
  report("images[1]", images.slice(0, 1, 2).reshape(std::vector<int64_t>{6, 8, 3}), images);
  report("crop(1, 2, 4, 5)", images.crop(1, 2, 4, 5), images);  // rows 1..4, cols 2..6
  report("center_crop(2, 2)", images.center_crop(2, 2), images);
  const std::vector<int64_t> nchw{0, 3, 1, 2};
  report("permute(0, 3, 1, 2)", images.permute(nchw), images);  // NHWC -> NCHW, same bytes
  report("flip(2)[..., ::2]", images.flip(2).slice(3, std::nullopt, std::nullopt, 2), images);
  report("channel 1 of image 3", images.slice(0, 3, 4).slice(3, 1, 2), images);
}

void npy_demo(const std::string& path) {
  const nocopy::View data = nocopy::open_npy(path, nocopy::MapMode::ReadOnly);  // mmap, no copy
  report(("npy " + path).c_str(), data, data);
  if (data.ndim() >= 1 && data.shape()[0] > 1) {
    report("npy [::2]", data.slice(0, std::nullopt, std::nullopt, 2), data);
  }
}

void shm_demo(const std::string& name) {
  const nocopy::SharedArray array = nocopy::SharedArray::attach(name, /*readonly=*/true);
  report(("shm " + name).c_str(), array.view(), array.view());
  if (array.view().ndim() >= 1 && array.view().shape()[0] > 1) {
    report("shm [1:]", array.view().slice(0, 1, std::nullopt), array.view());
  }
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--npy PATH] [--shm NAME]\n", argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 1) {
      own_data_demo();
      return 0;
    }
    for (int i = 1; i < argc; ++i) {
      const bool npy = std::strcmp(argv[i], "--npy") == 0;
      const bool shm = std::strcmp(argv[i], "--shm") == 0;
      if ((!npy && !shm) || i + 1 >= argc) return usage(argv[0]);
      if (npy) npy_demo(argv[++i]);
      if (shm) shm_demo(argv[++i]);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
