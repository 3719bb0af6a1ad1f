"""Synthetic H.264 test videos for bench/bench_video.py, cached on disk.

Each video is a camera pan over a textured canvas (smooth waves plus grain, different per video)
with a bright square crossing it: enough motion and detail that the encoder makes real P and B
frames. Encoded by PyAV's libx264 (yuv420p, preset veryfast, crf 23, a keyframe exactly every
``gop`` frames, no scene-cut keyframes) into MP4. Files are kept under ``cache`` and reused;
a VideoSet of the first ``n`` is packed once from a CSV of them."""

from __future__ import annotations

import os
import sys

import numpy as np


def _canvas(rng, height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    fy, fx, fd = rng.uniform(0.01, 0.08, 3)
    wave = (np.sin(xx * fx) + np.cos(yy * fy) + np.sin((xx + yy) * fd)) * 40 + 128
    grain = rng.normal(0, 12, (height, width)).astype(np.float32)
    return np.clip(wave + grain, 16, 235).astype(np.uint8)


def write_video(path: str, seed: int, *, width: int, height: int, frames: int, gop: int,
                fps: int = 25) -> None:
    """One synthetic video of `frames` frames at `fps`, a keyframe every `gop` frames."""
    import av

    rng = np.random.default_rng(seed)
    dx, dy = int(rng.integers(1, 4)), int(rng.integers(0, 2))
    luma = _canvas(rng, height + dy * frames + 1, width + dx * frames + 1)
    chroma_u = _canvas(rng, height // 2 + dy * frames + 1, width // 2 + dx * frames + 1)
    chroma_v = _canvas(rng, height // 2 + dy * frames + 1, width // 2 + dx * frames + 1)
    side = max(4, min(width, height) // 5)
    tmp = path + ".part"
    with av.open(tmp, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.codec_context.options = {"preset": "veryfast", "crf": "23", "sc_threshold": "0",
                                        "keyint_min": str(gop)}
        plane = np.empty((height * 3 // 2, width), np.uint8)
        for t in range(frames):
            y0, x0 = dy * t, dx * t
            plane[:height] = luma[y0:y0 + height, x0:x0 + width]
            top = (t * 3) % max(1, height - side)
            left = (t * 5) % max(1, width - side)
            plane[top:top + side, left:left + side] = 230
            u = chroma_u[y0 // 2:y0 // 2 + height // 2, x0 // 2:x0 // 2 + width // 2]
            v = chroma_v[y0 // 2:y0 // 2 + height // 2, x0 // 2:x0 // 2 + width // 2]
            # yuv420p as PyAV lays it out: Y rows, then U and V, each (H/2, W/2) folded into
            # H/4 rows of W bytes.
            plane[height:height + height // 4] = u.reshape(height // 4, width)
            plane[height + height // 4:] = v.reshape(height // 4, width)
            frame = av.VideoFrame.from_ndarray(plane, format="yuv420p")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    os.replace(tmp, path)


def video_set(cache: str, n: int, *, width: int, height: int, frames: int, gop: int,
              progress=None):
    """(VideoSet, [source paths]) of the first `n` cached videos of this kind, made if missing."""
    import nocopy as nc

    kind = f"{width}x{height}_f{frames}_gop{gop}"
    src = os.path.join(cache, "src", kind)
    os.makedirs(src, exist_ok=True)
    paths = []
    for k in range(n):
        path = os.path.join(src, f"v{k:05d}.mp4")
        if not os.path.exists(path):
            if progress:
                progress(f"encoding {kind} video {k + 1}/{n}")
            write_video(path, 1000 * gop + k, width=width, height=height, frames=frames, gop=gop)
        paths.append(path)
    folder = os.path.join(cache, "sets", f"{kind}_n{n}")
    if not os.path.exists(folder):
        if progress:
            progress(f"packing {n} videos into {folder}")
        csv = os.path.join(src, f"first_{n}.csv")
        with open(csv, "w") as f:
            for k, path in enumerate(paths):
                f.write(f"{os.path.basename(path)},{k % 4}\n")
        os.makedirs(os.path.dirname(folder), exist_ok=True)
        nc.pack_videos(csv, folder)
    return nc.VideoSet.open(folder), paths


if __name__ == "__main__":  # python bench/video_sources.py CACHE N GOP...: fill the cache
    for g in sys.argv[3:]:
        video_set(sys.argv[1], int(sys.argv[2]), width=640, height=360, frames=250, gop=int(g),
                  progress=lambda m: print(m, file=sys.stderr, flush=True))
