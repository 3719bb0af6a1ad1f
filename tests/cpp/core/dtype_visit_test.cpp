// Tests of the dtype visitor: every dtype reaches its element type (size, kind, inverse map),
// subsets instantiate and accept only their dtypes, and the rest raise a message naming them.
#include "nocopy/core/dtype_visit.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <type_traits>

using nocopy::DType;
using nocopy::DTypeSet;
using nocopy::visit_dtype;

namespace {

DType nth(int i) {
  return static_cast<DType>(i);
}

/// The message of the std::invalid_argument f throws ("" when it throws nothing).
template <class F>
std::string invalid_argument_message(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

using Narrow = DTypeSet<DType::UInt8, DType::Float16, DType::Float32>;

}  // namespace

TEST(DTypeVisit, EveryDTypeReachesAnElementTypeOfItsSizeAndKind) {
  for (int i = 0; i < nocopy::kDTypeCount; ++i) {
    const DType t = nth(i);
    SCOPED_TRACE(std::string(nocopy::dtype_name(t)));
    const auto seen = visit_dtype(t, [&](auto tag) {
      using T = typename decltype(tag)::type;
      EXPECT_EQ(sizeof(T), nocopy::itemsize(t));
      EXPECT_EQ(std::is_integral_v<T>, nocopy::IntegerDTypes::contains(t));
      EXPECT_EQ(std::is_floating_point_v<T>, t == DType::Float32 || t == DType::Float64);
      EXPECT_EQ(std::is_enum_v<T>, t == DType::Bool || t == DType::Float16 || t == DType::BFloat16);
      EXPECT_EQ(nocopy::dtype_of_v<T>, t);  // the inverse map
      return decltype(tag)::dtype;
    });
    EXPECT_EQ(seen, t);
  }
  static_assert(std::is_same_v<nocopy::dtype_element_t<DType::Float16>, nocopy::Float16Bits>);
  static_assert(std::is_same_v<nocopy::dtype_element_t<DType::Complex64>, nocopy::Complex<float>>);
  static_assert(nocopy::dtype_of_v<int64_t> == DType::Int64);
  static_assert(!nocopy::is_dtype_element_v<char>);
  static_assert(nocopy::AllDTypes::values.size() == nocopy::kDTypeCount);
}

TEST(DTypeVisit, SetsAreExactlyTheirMembers) {
  for (int i = 0; i < nocopy::kDTypeCount; ++i) {
    const DType t = nth(i);
    EXPECT_TRUE(nocopy::AllDTypes::contains(t));
    EXPECT_EQ(Narrow::contains(t), t == DType::UInt8 || t == DType::Float16 || t == DType::Float32);
    EXPECT_EQ(nocopy::FloatingDTypes::contains(t), nocopy::is_floating(t));
    EXPECT_EQ(nocopy::IntegerDTypes::contains(t),
              !nocopy::is_floating(t) && !nocopy::is_complex(t) && t != DType::Bool);
  }
  static_assert(!DTypeSet<>::contains(DType::UInt8));
}

TEST(DTypeVisit, ASubsetCallsOnlyForItsDTypesAndNamesTheOthers) {
  for (int i = 0; i < nocopy::kDTypeCount; ++i) {
    const DType t = nth(i);
    SCOPED_TRACE(std::string(nocopy::dtype_name(t)));
    int calls = 0;
    auto visit = [&] {
      return visit_dtype<Narrow>(t, "resizing", [&](auto tag) {
        ++calls;
        return sizeof(typename decltype(tag)::type);
      });
    };
    if (Narrow::contains(t)) {
      EXPECT_EQ(visit(), nocopy::itemsize(t));
      EXPECT_EQ(calls, 1);
    } else {
      EXPECT_EQ(invalid_argument_message(visit),
                "resizing: dtype " + std::string(nocopy::dtype_name(t)) +
                    " is not supported (supported: uint8, float16, float32)");
      EXPECT_EQ(calls, 0);
    }
  }
}

TEST(DTypeVisit, AValueOutsideTheEnumIsAnErrorNotACrash) {
  const auto bad = static_cast<DType>(200);
  EXPECT_EQ(invalid_argument_message([&] { visit_dtype(bad, [](auto) { return 0; }); }),
            "this operation: dtype code 200 is not supported (supported: bool, int8, int16, "
            "int32, int64, uint8, uint16, uint32, uint64, float16, bfloat16, float32, float64, "
            "complex64, complex128)");
  EXPECT_NE(invalid_argument_message([&] { visit_dtype<Narrow>(bad, "x", [](auto) {}); }), "");
}

TEST(DTypeVisit, ReturnsWhatTheFunctionReturnsAndNests) {
  // A (source, output) pair, as the kernels pick theirs.
  const size_t bytes = visit_dtype<Narrow>(DType::UInt8, "source", [](auto s) {
    return visit_dtype<nocopy::FloatingDTypes>(DType::Float64, "output", [](auto d) {
      return sizeof(typename decltype(s)::type) + sizeof(typename decltype(d)::type);
    });
  });
  EXPECT_EQ(bytes, 9u);
  int touched = 0;
  visit_dtype(DType::Bool, [&](auto) { ++touched; });  // a void function
  EXPECT_EQ(touched, 1);
}
