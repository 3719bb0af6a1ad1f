// Sequence gather: the one pass per window of the sequence loader, rows of a source copied and
// converted to the output type straight into a batch slot, with token range checks.
#pragma once

#include <cstdint>

#include "nocopy/core/dtype.hpp"
#include "nocopy/core/view.hpp"

namespace nocopy {

/// True when some value of integer type `from` does not fit in integer type `to` (so each
/// window must be range checked); false for floating types on either side.
bool needs_range_check(DType from, DType to);

/// Copies rows [start, start + rows) of `source` (1-D, or 2-D with features on the last axis)
/// into the C-contiguous `dst`, converting to `out`. With `check_range`, first throws
/// std::overflow_error naming the value, its position in source `source_index` and the range of
/// `out` when a value does not fit.
void gather_rows(const View& source, int64_t source_index, int64_t start, int64_t rows, DType out,
                 bool check_range, void* dst);

}  // namespace nocopy
