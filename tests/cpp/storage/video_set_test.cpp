// VideoSet: a folder written here opens with its index read back; the manifest parser's checks;
// every index file's corruption refused with a message naming the file and the video; a FIFO
// manifest refused without blocking; the ImageSet and VideoSet readers refusing each other.
#include "nocopy/storage/video_set.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "dataset_folder_test_util.hpp"
#include "nocopy/core/errors.hpp"
#include "nocopy/storage/image_set.hpp"
#include "nocopy/storage/npy_file.hpp"

namespace {

namespace fs = std::filesystem;
using nocopy::DType;
using nocopy::VideoSet;
using nocopy::View;
using Ints = std::vector<int64_t>;

using dataset_folder_test::TempDir;
using dataset_folder_test::write_int64;
using dataset_folder_test::write_text;

// A valid two-video folder: 3 and 2 frames, 100 and 37 bytes.
void write_set(const TempDir& d, const std::string& manifest_extra = "") {
  write_text(d / "manifest.json",
             R"({"format_version": 1, "kind": "video", "num_videos": 2, "num_frames": 5,
                 "codecs": ["h264", "vp9"], "classes": ["a", "b"])" +
                 manifest_extra + "}");
  View bytes = nocopy::create_npy(d / "videos.npy", Ints{128 + 37}, DType::UInt8);
  std::memset(bytes.data(), 7, 128 + 37);
  write_int64(d / "offsets.npy", {2}, {0, 128});
  write_int64(d / "lengths.npy", {2}, {100, 37});
  write_int64(d / "shapes.npy", {2, 3}, {48, 64, 3, 20, 30, 3});
  write_int64(d / "fps.npy", {2, 2}, {25, 1, 30000, 1001});
  write_int64(d / "time_bases.npy", {2, 2}, {1, 12800, 1, 1000});
  write_int64(d / "codecs.npy", {2}, {0, 1});
  write_int64(d / "frame_starts.npy", {3}, {0, 3, 5});
  write_int64(d / "pts.npy", {5}, {0, 512, 1024, 0, 33});
  View keys = nocopy::create_npy(d / "keyframes.npy", Ints{5}, DType::UInt8);
  const uint8_t flags[] = {1, 0, 1, 1, 0};
  std::memcpy(keys.data(), flags, 5);
  write_int64(d / "labels.npy", {2}, {1, 0});
}

std::string open_error(const TempDir& d) {
  try {
    VideoSet::open(d.path.string());
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(VideoSet, OpensAFolderAndReadsItsIndex) {
  TempDir d("videoset");
  write_set(d);
  const VideoSet s = VideoSet::open(d.path.string());
  ASSERT_EQ(s.size(), 2);
  EXPECT_EQ(s.num_frames(0), 3);
  EXPECT_EQ(s.num_frames(1), 2);
  EXPECT_EQ(s.encoded(1).shape()[0], 37);
  EXPECT_EQ(s.encoded(-1).data(), s.encoded(1).data());
  EXPECT_THROW(s.encoded(2), std::out_of_range);
  EXPECT_EQ(std::vector<int64_t>(s.frame_pts(0).begin(), s.frame_pts(0).end()),
            (Ints{0, 512, 1024}));
  EXPECT_EQ(s.seek_frame(0, 1), 0);
  EXPECT_EQ(s.seek_frame(0, 2), 2);
  EXPECT_EQ(s.seek_frame(1, 1), 0);
  EXPECT_THROW(s.seek_frame(0, 3), std::out_of_range);
  EXPECT_EQ(s.codec_names()[static_cast<size_t>(s.codecs()[1])], "vp9");
  EXPECT_EQ(s.fps()[2], 30000);
  EXPECT_EQ(s.labels(), (Ints{1, 0}));
  ASSERT_TRUE(s.classes().has_value());
  EXPECT_TRUE(s.encoded(0).readonly());
}

TEST(VideoSet, LabelsAreOptional) {
  TempDir d("videoset-nolabels");
  write_set(d);
  fs::remove(d / "labels.npy");
  EXPECT_FALSE(VideoSet::open(d.path.string()).has_labels());
}

TEST(VideoSetManifest, ParsesAndRefuses) {
  const auto m = nocopy::parse_video_set_manifest(
      R"({"format_version": 1, "kind": "video", "num_videos": 3, "num_frames": 9,
          "codecs": ["h264"], "skipped": [{"path": "x.mp4", "error": "bad"}]})",
      "m.json");
  EXPECT_EQ(m.num_videos, 3);
  EXPECT_EQ(m.num_frames, 9);
  ASSERT_EQ(m.skipped.size(), 1U);
  EXPECT_EQ(m.skipped[0].path, "x.mp4");
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"format_version": 1, "num_images": 3})", "not a VideoSet"},
      {R"({"format_version": 2, "kind": "video"})", "format_version 2"},
      {R"({"format_version": 1, "kind": "video", "num_videos": -1})", "num_videos -1"},
      {R"({"format_version": 1, "kind": "video", "num_videos": 1, "num_frames": 1})", "codecs"},
      {R"({"format_version": 1, "kind": "video", "num_videos": 1, "num_frames": 1,
           "codecs": [""]})",
       "codecs"},
      {"[1]", "expected a JSON object"},
  };
  for (const auto& [text, want] : bad) {
    try {
      nocopy::parse_video_set_manifest(text, "m.json");
      ADD_FAILURE() << text;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("m.json: ", 0), 0U) << e.what();
    }
  }
}

TEST(VideoSet, RefusesEachCorruptIndexFile) {
  struct Case {
    std::function<void(const TempDir&)> corrupt;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](const TempDir& d) {
         write_int64(d / "offsets.npy", {2}, {0, 64});
       },
       "offsets.npy: video 1 has offset 64"},
      {[](const TempDir& d) {
         write_int64(d / "offsets.npy", {2}, {0, 130});
       },
       "offsets.npy: video 1 has offset 130"},
      {[](const TempDir& d) {
         write_int64(d / "lengths.npy", {2}, {100, 38});
       },
       "lengths.npy: video 1 has 38 bytes"},
      {[](const TempDir& d) {
         write_int64(d / "lengths.npy", {2}, {100, INT64_MAX});
       },
       "lengths.npy: video 1"},
      {[](const TempDir& d) {
         write_int64(d / "shapes.npy", {2, 3}, {48, 64, 3, 0, 30, 3});
       },
       "shapes.npy: video 1 has shape (0, 30, 3)"},
      {[](const TempDir& d) {
         write_int64(d / "shapes.npy", {2, 2}, {1, 1, 1, 1});
       },
       "shapes.npy: shape is (2, 2)"},
      {[](const TempDir& d) {
         write_int64(d / "fps.npy", {2, 2}, {25, 1, 30, 0});
       },
       "fps.npy: video 1 has frame rate 30/0"},
      {[](const TempDir& d) {
         write_int64(d / "time_bases.npy", {2, 2}, {-1, 1, 1, 1});
       },
       "time_bases.npy: video 0 has time base -1/1"},
      {[](const TempDir& d) {
         write_int64(d / "codecs.npy", {2}, {0, 2});
       },
       "codecs.npy: video 1 has codec 2"},
      {[](const TempDir& d) {
         write_int64(d / "frame_starts.npy", {3}, {0, 5, 5});
       },
       "frame_starts.npy: video 1 has frames [5, 5)"},
      {[](const TempDir& d) {
         write_int64(d / "frame_starts.npy", {3}, {1, 3, 5});
       },
       "frame_starts.npy: must start at 0"},
      {[](const TempDir& d) {
         write_int64(d / "pts.npy", {5}, {0, 512, 512, 0, 33});
       },
       "pts.npy: video 0 frame 2 has timestamp 512"},
      {[](const TempDir& d) {
         write_int64(d / "pts.npy", {4}, {0, 1, 2, 3});
       },
       "pts.npy: shape is (4,)"},
      {[](const TempDir& d) {
         write_int64(d / "keyframes.npy", {5}, {1, 0, 0, 1, 0});
       },
       "keyframes.npy: must be a contiguous (5,) uint8 array"},
      {[](const TempDir& d) {
         write_int64(d / "labels.npy", {2}, {1, 2});
       },
       "labels.npy: sample 1 has label 2"},
      {[](const TempDir& d) { write_set(d, R"(, "num_videos": 3)"); }, "num_videos is 3"},
      {[](const TempDir& d) { nocopy::create_npy(d / "videos.npy", Ints{64}, DType::UInt8); },
       "2 videos need at least 64 * (N - 1) + 1 bytes"},
      {[](const TempDir& d) { fs::remove(d / "fps.npy"); }, "fps.npy"},
  };
  for (const Case& c : cases) {
    TempDir d("videoset-corrupt");
    write_set(d);
    c.corrupt(d);
    const std::string e = open_error(d);
    EXPECT_NE(e.find(c.message), std::string::npos) << "want: " << c.message << "\ngot: " << e;
  }
}

TEST(VideoSet, RefusesAFifoManifestWithoutBlocking) {
  TempDir d("videoset-fifo");
  write_set(d);
  fs::remove(d / "manifest.json");
  ASSERT_EQ(::mkfifo((d / "manifest.json").c_str(), 0600), 0);
  EXPECT_NE(open_error(d).find("FIFO"), std::string::npos) << open_error(d);
  EXPECT_THROW(VideoSet::open((d.path / "missing").string()), nocopy::FileError);
}

TEST(VideoSet, ImageSetAndVideoSetRefuseEachOther) {
  TempDir d("videoset-kinds");
  write_set(d);
  try {
    nocopy::ImageSet::open(d.path.string());
    ADD_FAILURE() << "an ImageSet opened a video folder";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("not an ImageSet"), std::string::npos) << e.what();
  }
  write_text(d / "manifest.json", R"({"format_version": 1, "num_images": 2})");
  EXPECT_NE(open_error(d).find("not a VideoSet"), std::string::npos) << open_error(d);
}

}  // namespace
