"""Micro benchmark and A/B exactness check of the colour operators, through the _color_op seam.

  python bench/color_ops_bench.py time              # us per call on a fixed 176x176 RGB image
  python bench/color_ops_bench.py digest OUT.json   # sha256 of every operator's output on all
                                                    # 2**24 RGB colours (and a 1-channel image)
  python bench/color_ops_bench.py ab OLD_SITE       # both of the above, interleaved, for the
                                                    # nocopy package found under OLD_SITE and
                                                    # the installed one, in subprocesses

The A/B form compares two builds in one run: the timings alternate between them, and the digests
must be equal (the new build gives the old one's values, byte for byte, on every colour)."""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

OPS = [
    ("invert", ()),
    ("adjust_brightness", (1.3,)),
    ("adjust_contrast", (1.3,)),
    ("adjust_saturation", (1.3,)),
    ("adjust_hue", (0.1,)),
    ("to_grayscale", ()),
    ("adjust_sharpness", (1.5,)),
    ("autocontrast", ()),
    ("equalize", ()),
    ("posterize", (3,)),
    ("solarize", (128.0,)),
    ("gaussian_blur", (5, 1.0)),
]

# Parameters of the exactness digests: edges and ordinary values of every operator.
DIGEST_OPS = [
    ("invert", ()),
    ("to_grayscale", ()),
    ("autocontrast", ()),
    ("equalize", ()),
    ("posterize", (3,)),
    ("solarize", (127.5,)),
    *[("adjust_brightness", (f,)) for f in (0.0, 0.6, 1.0, 1.37, 2.5)],
    *[("adjust_contrast", (f,)) for f in (0.0, 0.6, 1.0, 1.37, 2.5)],
    *[("adjust_saturation", (f,)) for f in (0.0, 0.3, 0.6, 0.999, 1.0, 1.37, 1.4, 2.5, 7.0)],
    *[("adjust_hue", (f,)) for f in (-0.5, -0.1, -1e-7, 0.0, 0.03, 0.1, 0.25, 1 / 3, 0.5)],
    *[("adjust_sharpness", (f,)) for f in (0.0, 0.6, 1.0, 1.37, 2.5)],
    ("gaussian_blur", (5, 1.0)),
    ("gaussian_blur", ((3, 7), (0.8, 2.0))),
]


def _fixed_image(c: int = 3) -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (176, 176, c), dtype=np.uint8)


def _all_colours() -> np.ndarray:
    """Every RGB colour once, as a 4096 x 4096 x 3 image (rows shuffled so neighbours vary)."""
    v = np.arange(1 << 24, dtype=np.uint32)
    rgb = np.stack([(v >> 16) & 255, (v >> 8) & 255, v & 255], axis=1).astype(np.uint8)
    rgb = rgb[np.random.default_rng(3).permutation(1 << 24)]
    return rgb.reshape(4096, 4096, 3).copy()


def cmd_time() -> dict[str, float]:
    from nocopy import _nocopy

    img = _fixed_image()
    work = img.copy()
    out = {}
    for name, params in OPS:
        samples = []
        for _ in range(7):
            reps = 50
            t0 = time.perf_counter()
            for _ in range(reps):
                np.copyto(work, img)
                _nocopy._color_op(name, work, *params)
            samples.append((time.perf_counter() - t0) / reps * 1e6)
        out[name] = statistics.median(samples)
    # the copy alone, to subtract
    samples = []
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(50):
            np.copyto(work, img)
        samples.append((time.perf_counter() - t0) / 50 * 1e6)
    out["(copy)"] = statistics.median(samples)
    return out


def cmd_digest() -> dict[str, str]:
    from nocopy import _nocopy

    colours = _all_colours()
    gray = np.ascontiguousarray(colours[:, :, :1])
    out = {}
    for name, params in DIGEST_OPS:
        for label, src in (("c3", colours), ("c1", gray)):
            if name == "gaussian_blur" and label == "c3":
                src = src[:1024]  # the blur is slow on 2**24 pixels and not per-colour
            work = src.copy()
            _nocopy._color_op(name, work, *params)
            out[f"{name}{params}{label}"] = hashlib.sha256(work.tobytes()).hexdigest()
    return out


def _run(site: str | None, mode: str) -> dict:
    env = dict(os.environ)
    if site:
        env["PYTHONPATH"] = site
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        subprocess.run([sys.executable, __file__, mode, f.name], env=env, check=True)
        return json.load(open(f.name))


def cmd_ab(old_site: str) -> None:
    rounds = {"old": [], "new": []}
    for _ in range(3):
        rounds["old"].append(_run(old_site, "time"))
        rounds["new"].append(_run(None, "time"))
    print(f"{'op':20s} {'old us':>9s} {'new us':>9s} {'speedup':>8s}")
    for name in rounds["old"][0]:
        o = statistics.median(r[name] for r in rounds["old"])
        n = statistics.median(r[name] for r in rounds["new"])
        print(f"{name:20s} {o:9.1f} {n:9.1f} {o / n:8.2f}")
    old = _run(old_site, "digest")
    new = _run(None, "digest")
    same = [k for k in old if old[k] == new[k]]
    diff = [k for k in old if old[k] != new[k]]
    print(f"digests: {len(same)} identical, {len(diff)} different {diff}")


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "ab":
        cmd_ab(sys.argv[2])
    else:
        result = cmd_time() if mode == "time" else cmd_digest()
        if len(sys.argv) > 2:
            json.dump(result, open(sys.argv[2], "w"))
        else:
            print(json.dumps(result, indent=1))
