// libFuzzer target for the video decoder: any bytes must either be rejected with a standard
// exception or probe; a probed video's frames are decoded (all of them, then the first byte's
// choice of one frame and the last, on the same decoder) into a sink that checks each frame's
// size and reads every byte of it (ASan checks the reads).
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <span>
#include <vector>

#include "nocopy/pipeline/codecs/video_decoder.hpp"

#ifdef NOCOPY_HAVE_FFMPEG
extern "C" {
#include <libavutil/log.h>
}
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || !nocopy::video_available()) return 0;
#ifdef NOCOPY_HAVE_FFMPEG
  av_log_set_level(AV_LOG_QUIET);  // corrupt inputs would fill the log
#endif
  const std::span<const uint8_t> video(data + 1, size - 1);
  try {
    const nocopy::VideoProbe probe = nocopy::probe_video(video);
    if (probe.frame_count < 1 || probe.height < 1 || probe.width < 1) std::abort();
    if (probe.height * probe.width > (int64_t{1} << 20) || probe.frame_count > 512) return 0;
    nocopy::VideoDecoder decoder;
    decoder.open(video);
    uint64_t sum = 0;
    const auto sink = [&](const nocopy::DecodedFrame& f) {
      if (f.height != probe.height || f.width != probe.width) std::abort();
      for (int64_t i = 0; i < f.height * f.width * 3; ++i) sum += f.rgb[i];
    };
    std::vector<int64_t> all(static_cast<size_t>(probe.frame_count));
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
    try {
      decoder.decode_frames(all, probe.index, sink);
    } catch (const std::exception&) {
    }
    const std::vector<int64_t> some{data[0] % probe.frame_count, probe.frame_count - 1};
    decoder.decode_frames(some, probe.index, sink);
    if (sum == 1) std::abort();  // keeps the reads
  } catch (const std::exception&) {
  }
  return 0;
}
