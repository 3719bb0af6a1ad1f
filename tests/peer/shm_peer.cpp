// A C++ peer for the Python tests: attaches to a shared array made by Python, or creates one for
// Python to attach to, using only the nocopy C++ core.
//   shm_peer attach NAME   print "<dtype> <shape> <sum>" of a float64 array, then double it
//   shm_peer create        create float64 (3, 4) = 0..11, print its name, wait for a line on
//                          stdin, print element [2][3] (written by the other side), close
#include <cstdio>
#include <iostream>
#include <string>

#include "nocopy/storage/shared_array.hpp"

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string cmd = argv[1];
  try {
    if (cmd == "attach" && argc == 3) {
      nocopy::SharedArray sa = nocopy::SharedArray::attach(argv[2]);
      const nocopy::View& v = sa.view();
      if (v.dtype() != nocopy::DType::Float64 || !v.is_c_contiguous()) return 3;
      double sum = 0;
      for (int64_t i = 0; i < v.size(); ++i) {
        sum += v.data_as<double>()[i];
        v.data_as<double>()[i] *= 2;
      }
      std::printf("%s %s %.1f\n", std::string(nocopy::dtype_name(v.dtype())).c_str(),
                  nocopy::format_tuple(v.shape()).c_str(), sum);
      return 0;
    }
    if (cmd == "create") {
      const int64_t shape[] = {3, 4};
      nocopy::SharedArray sa = nocopy::SharedArray::create(shape, nocopy::DType::Float64);
      for (int i = 0; i < 12; ++i) sa.view().data_as<double>()[i] = i;
      std::cout << sa.name() << std::endl;
      std::string line;
      std::getline(std::cin, line);
      std::cout << sa.view().data_as<double>()[11] << std::endl;
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 2;
}
