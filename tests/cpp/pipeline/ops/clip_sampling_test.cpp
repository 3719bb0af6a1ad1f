// Tests of the clip operator: the span, where random / uniform / center clips start (inside
// the video, spread evenly, the same for every seed where they should be), frames held at the
// last frame of a short video, the names and the option checks.
#include "nocopy/pipeline/ops/clip_sampling.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <stdexcept>
#include <vector>

using nocopy::check_clip_options;
using nocopy::clip_frames;
using nocopy::clip_layout_from_string;
using nocopy::clip_sampling_from_string;
using nocopy::clip_start;
using nocopy::ClipOptions;
using nocopy::ClipSampling;

TEST(ClipSampling, RandomStartsCoverTheRoomAndDependOnTheDrawOnly) {
  ClipOptions o;
  o.clip_len = 8;
  o.frame_step = 2;
  EXPECT_EQ(o.span(), 15);
  std::set<int64_t> starts;
  for (uint64_t p = 0; p < 2000; ++p) {
    const int64_t s = clip_start(o, 40, 0, 7, 0, p);
    ASSERT_GE(s, 0);
    ASSERT_LE(s, 40 - 15);
    EXPECT_EQ(s, clip_start(o, 40, 0, 7, 0, p));  // a pure function of its arguments
    starts.insert(s);
  }
  EXPECT_EQ(starts.size(), 26u);  // every start in [0, 25] drawn
  EXPECT_NE(clip_start(o, 1000, 0, 7, 0, 3), clip_start(o, 1000, 0, 7, 1, 3));
  EXPECT_EQ(clip_start(o, 10, 0, 7, 0, 3), 0);  // shorter than the span: from the first frame
}

TEST(ClipSampling, UniformSpreadsFromFirstToLastAndCenterIsTheMiddle) {
  ClipOptions o;
  o.clip_len = 4;
  o.clip_sampling = ClipSampling::Uniform;
  o.clips_per_video = 3;
  // room = 20 - 4 = 16: starts 0, 8, 16.
  EXPECT_EQ(clip_start(o, 20, 0, 1, 0, 0), 0);
  EXPECT_EQ(clip_start(o, 20, 1, 2, 5, 9), 8);
  EXPECT_EQ(clip_start(o, 20, 2, 3, 0, 0), 16);
  o.clips_per_video = 1;
  EXPECT_EQ(clip_start(o, 20, 0, 1, 0, 0), 8);
  o.clip_sampling = ClipSampling::Center;
  EXPECT_EQ(clip_start(o, 21, 0, 1, 0, 0), 8);
  EXPECT_EQ(clip_start(o, 3, 0, 1, 0, 0), 0);
}

TEST(ClipSampling, FramesAreStepsApartAndHeldAtTheLastFrame) {
  ClipOptions o;
  o.clip_len = 5;
  o.frame_step = 3;
  std::vector<int64_t> f(5);
  clip_frames(o, 100, 10, f);
  EXPECT_EQ(f, (std::vector<int64_t>{10, 13, 16, 19, 22}));
  clip_frames(o, 8, 0, f);
  EXPECT_EQ(f, (std::vector<int64_t>{0, 3, 6, 7, 7}));
}

TEST(ClipSampling, NamesAndChecks) {
  EXPECT_EQ(clip_sampling_from_string("uniform"), ClipSampling::Uniform);
  EXPECT_THROW(clip_sampling_from_string("middle"), std::invalid_argument);
  EXPECT_THROW(clip_layout_from_string("NCHW"), std::invalid_argument);
  ClipOptions o;
  EXPECT_NO_THROW(check_clip_options(o));
  for (auto edit :
       {+[](ClipOptions& c) { c.clip_len = 0; }, +[](ClipOptions& c) { c.frame_step = 0; },
        +[](ClipOptions& c) { c.clips_per_video = 0; },
        +[](ClipOptions& c) {
          c.clip_sampling = ClipSampling::Center;
          c.clips_per_video = 2;
        }}) {
    ClipOptions bad;
    edit(bad);
    EXPECT_THROW(check_clip_options(bad), std::invalid_argument);
  }
}
