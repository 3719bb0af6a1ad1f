// Tests of the ImageSet manifest reader: a valid manifest's fields; every check read_manifest
// makes (version, count, storage, classes, skipped) with a message naming the file; non-UTF-8,
// invalid and deeply nested JSON refused; the format registry.
#include "nocopy/storage/image_set_manifest.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

using nocopy::ImageFormat;
using nocopy::parse_image_set_manifest;

namespace {

std::string error_of(const std::string& text) {
  try {
    parse_image_set_manifest(text, "m.json");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ImageSetManifest, ReadsEveryField) {
  const auto m = parse_image_set_manifest(
      R"({"format_version": 1, "num_images": 12, "storage": "jpeg", "classes": ["cat", "dög"],
          "skipped": [{"path": "a.png", "error": "truncated"}, {"path": "b.png"},
                      {"path": "c.png", "error": {"code": 3}}], "quality": 90})",
      "m.json");
  EXPECT_EQ(m.num_images, 12);
  EXPECT_EQ(m.format, ImageFormat::Jpeg);
  ASSERT_TRUE(m.classes.has_value());
  EXPECT_EQ(*m.classes, (std::vector<std::string>{"cat", "d\xc3\xb6g"}));
  ASSERT_EQ(m.skipped.size(), 3u);
  EXPECT_EQ(m.skipped[0].path, "a.png");
  EXPECT_EQ(m.skipped[0].error, "truncated");
  EXPECT_EQ(m.skipped[1].error, "");
  EXPECT_EQ(m.skipped[2].error, R"({"code":3})");
  const auto plain = parse_image_set_manifest(R"({"format_version": 1, "num_images": 0,
                                                   "classes": null})",
                                              "m.json");
  EXPECT_EQ(plain.format, ImageFormat::Raw);  // storage absent: raw
  EXPECT_FALSE(plain.classes.has_value());
  EXPECT_TRUE(plain.skipped.empty());
}

TEST(ImageSetManifest, EveryBadFieldNamesTheFile) {
  EXPECT_EQ(error_of("[1]"), "m.json: expected a JSON object, got array");
  EXPECT_EQ(error_of(R"({"num_images": 1})"),
            "m.json: format_version (missing) is not supported (this nocopy reads version 1)");
  EXPECT_EQ(error_of(R"({"format_version": 9, "num_images": 1})"),
            "m.json: format_version 9 is not supported (this nocopy reads version 1)");
  EXPECT_EQ(error_of(R"({"format_version": true, "num_images": 1})").substr(0, 27),
            "m.json: format_version true");
  EXPECT_EQ(error_of(R"({"format_version": 1})"), "m.json: num_images (missing) is not a count");
  for (const char* bad : {"-1", "2.5", "true", "\"3\"", "18446744073709551615"}) {
    EXPECT_EQ(error_of(std::string(R"({"format_version": 1, "num_images": )") + bad + "}"),
              std::string("m.json: num_images ") + bad + " is not a count");
  }
  EXPECT_EQ(error_of(R"({"format_version": 1, "num_images": 1, "storage": "png"})"),
            R"(m.json: storage "png" is not one of raw, jpeg)");
  EXPECT_EQ(error_of(R"({"format_version": 1, "num_images": 1, "storage": 3})"),
            "m.json: storage 3 is not one of raw, jpeg");
  EXPECT_EQ(error_of(R"({"format_version": 1, "num_images": 1, "classes": ["a", 2]})"),
            "m.json: classes must be a list of strings");
  EXPECT_EQ(error_of(R"({"format_version": 1, "num_images": 1, "classes": "ab"})"),
            "m.json: classes must be a list of strings");
  for (const char* bad : {"5", "null", "[{\"error\": \"x\"}]", "[{\"path\": 3}]", "[\"a\"]"}) {
    EXPECT_EQ(
        error_of(std::string(R"({"format_version": 1, "num_images": 1, "skipped": )") + bad + "}"),
        "m.json: skipped must be a list of {'path': ..., 'error': ...} entries")
        << bad;
  }
  // A long value is cut in the message.
  const std::string e = error_of(R"({"format_version": ")" + std::string(500, 'x') + "\"}");
  EXPECT_LT(e.size(), 160u) << e;
}

TEST(ImageSetManifest, RefusesTextThatIsNotUtf8OrNotJson) {
  EXPECT_EQ(error_of("{\xff}"),
            "m.json: not UTF-8 text (byte 0xff at offset 1 does not start a valid character)");
  // Overlong forms, surrogates, past U+10FFFF and cut sequences are not UTF-8 either.
  for (const char* bad : {"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                          "\xe2\x82", "\xf0\x9f\x98"}) {
    EXPECT_NE(error_of(std::string("{\"a\": \"") + bad + "\"}").find("not UTF-8 text"),
              std::string::npos)
        << bad;
  }
  EXPECT_EQ(error_of("{\"classes\": [\"\xe2\x82\xac\xf0\x9f\x98\x80\"]}").find("not UTF-8"),
            std::string::npos);  // valid 3- and 4-byte characters pass
  EXPECT_EQ(error_of("{").substr(0, 29), "m.json: not valid JSON ([json");
  EXPECT_EQ(error_of("").substr(0, 22), "m.json: not valid JSON");
  EXPECT_EQ(error_of("{} {}").substr(0, 22), "m.json: not valid JSON");
}

TEST(ImageSetManifest, RefusesDeepNestingBeforeBuildingIt) {
  const std::string ok =
      std::string(nocopy::kMaxManifestDepth, '[') + std::string(nocopy::kMaxManifestDepth, ']');
  EXPECT_EQ(error_of(ok), "m.json: expected a JSON object, got array");  // parsed
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(error_of(deep), "m.json: not valid JSON for a manifest (nested deeper than 64 levels)");
  const std::string objects = [] {
    std::string s;
    for (int i = 0; i < 100000; ++i) s += "{\"a\":";
    return s + "1" + std::string(100000, '}');
  }();
  EXPECT_EQ(error_of(objects),
            "m.json: not valid JSON for a manifest (nested deeper than 64 levels)");
}

TEST(ImageFormat, RegistryNamesEveryFormatAndItsFiles) {
  ASSERT_EQ(nocopy::image_formats().size(), 2u);
  EXPECT_EQ(nocopy::image_format_names(), "raw, jpeg");
  const auto* jpeg = nocopy::find_image_format("jpeg");
  ASSERT_NE(jpeg, nullptr);
  EXPECT_EQ(jpeg->format, ImageFormat::Jpeg);
  EXPECT_EQ(jpeg->data_file, "jpeg.npy");
  EXPECT_EQ(jpeg->lengths_file, "lengths.npy");
  EXPECT_EQ(nocopy::image_format_info(ImageFormat::Raw).data_file, "pixels.npy");
  EXPECT_TRUE(nocopy::image_format_info(ImageFormat::Raw).lengths_file.empty());
  EXPECT_EQ(nocopy::find_image_format("png"), nullptr);
  EXPECT_EQ(nocopy::find_image_format(""), nullptr);
}
