"""Writes the small seed corpus for the fuzz targets (run once; the files are committed)."""
import io
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def npy_seeds():
    out = os.path.join(HERE, "corpus", "npy_header")
    arrays = {
        "f4_2x3.npy": np.arange(6, dtype="<f4").reshape(2, 3),
        "u1_scalar.npy": np.array(7, dtype=np.uint8),
        "b1_empty.npy": np.zeros((0, 4), dtype=bool),
        "c16_fortran.npy": np.asfortranarray(np.ones((2, 2), dtype=np.complex128)),
        "f2_1d.npy": np.arange(3, dtype=np.float16),
    }
    for name, a in arrays.items():
        np.save(os.path.join(out, name), a)
    with open(os.path.join(out, "v2_i8.npy"), "wb") as f:
        np.lib.format.write_array(f, np.arange(4, dtype="<i8"), version=(2, 0))


def fnv(data):
    h = 1469598103934665603
    for c in data:
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def shm_header(typestr, shape, itemsize, persist=False):
    ndim = len(shape)
    nbytes = itemsize
    for n in shape:
        nbytes *= n
    head = b"NOCOPYSA" + struct.pack("<IIQQ", 1, 80 + 8 * ndim, 4096, nbytes)
    head += typestr.encode().ljust(8, b"\0") + struct.pack("<IIqQQ", ndim, int(persist), 4242, 7, 0)
    shp = b"".join(struct.pack("<q", n) for n in shape)
    return head + struct.pack("<Q", fnv(head + shp)) + shp, 4096 + nbytes


def shm_seeds():
    out = os.path.join(HERE, "corpus", "shm_header")
    for name, args in {
        "f4_2x3": ("<f4", (2, 3), 4),
        "u1_scalar": ("|u1", (), 1),
        "i8_persist": ("<i8", (5, 0, 2), 8, True),
    }.items():
        header, size = shm_header(*args)
        extra = size - len(header)
        with open(os.path.join(out, name), "wb") as f:
            f.write(header + struct.pack("<Q", extra << 1 | 1))


def jpeg_seeds():
    """Small JPEGs (first byte: the DCT scale choice) of each kind the decoder handles."""
    import io

    from PIL import Image

    out = os.path.join(HERE, "corpus", "jpeg_decode")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (24, 19, 3), dtype=np.uint8)
    kinds = {
        "rgb420": (Image.fromarray(rgb), dict(subsampling=2)),
        "rgb444": (Image.fromarray(rgb), dict(subsampling=0)),
        "rgb422_progressive": (Image.fromarray(rgb), dict(subsampling=1, progressive=True)),
        "gray": (Image.fromarray(rgb[..., 0]), {}),
        "cmyk": (Image.fromarray(np.dstack([rgb, rgb[..., :1]]), "CMYK"), {}),
    }
    for i, (name, (im, kw)) in enumerate(kinds.items()):
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=75, **kw)
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes([i % 4]) + buf.getvalue())


def manifest_seeds():
    """ImageSet manifests as pack_images writes them (raw, JPEG, non-ASCII names)."""
    import json

    out = os.path.join(HERE, "corpus", "manifest")
    os.makedirs(out, exist_ok=True)
    seeds = {
        "raw": {"format_version": 1, "num_images": 3, "classes": ["cat", "dog"],
                "skipped": [{"path": "a.png", "error": "truncated"}]},
        "jpeg": {"format_version": 1, "num_images": 0, "storage": "jpeg", "classes": None,
                 "quality": 90, "kept_originals": 2},
        "unicode": {"format_version": 1, "num_images": 12, "classes": ["\u20ac", "caf\u00e9"],
                    "skipped": [{"path": "\u00e9t\u00e9.jpg", "error": {"code": 3}}]},
    }
    for name, m in seeds.items():
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(m, f, ensure_ascii=name != "unicode")


def video_manifest_seeds():
    """VideoSet manifests as pack_videos writes them, and an ImageSet one it must refuse."""
    import json

    out = os.path.join(HERE, "corpus", "video_set_manifest")
    os.makedirs(out, exist_ok=True)
    seeds = {
        "folder": {"format_version": 1, "kind": "video", "num_videos": 3, "num_frames": 70,
                   "num_classes": 2, "classes": ["cats", "dogs"], "codecs": ["h264", "vp9"],
                   "data_bytes": 40000, "skipped": [{"path": "x.mp4", "error": "bad"}]},
        "csv": {"format_version": 1, "kind": "video", "num_videos": 1, "num_frames": 5,
                "classes": None, "codecs": ["mpeg4"]},
        "image": {"format_version": 1, "num_images": 3, "classes": ["cat", "dog"]},
    }
    for name, m in seeds.items():
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(m, f)


def jpeg_index_seed():
    """A valid JPEG ImageSet index for image_set_fuzzer (mode byte bit 7: JPEG records of
    H, W, C, offset, length)."""
    records = [(4, 4, 3, 0, 30), (2, 2, 3, 30, 50)]
    data = struct.pack("<HB", 100, 0x80) + b"".join(struct.pack("<5q", *r) for r in records)
    with open(os.path.join(HERE, "corpus", "image_set", "two_jpeg"), "wb") as f:
        f.write(data)


def video_seeds():
    """Tiny videos (under the fuzz runs' 4096-byte inputs; first byte: the frame to decode) of
    each codec and container the video decoder is tested with, encoded with PyAV."""
    from fractions import Fraction

    import av

    out = os.path.join(HERE, "corpus", "video_decode")
    os.makedirs(out, exist_ok=True)
    kinds = {
        "h264_bframes.mp4": ("libx264", "mp4", {"preset": "veryfast", "bframes": "2"}),
        "h264.mkv": ("libx264", "matroska", {"preset": "ultrafast"}),
        "vp9.webm": ("libvpx-vp9", "webm", {"deadline": "realtime", "cpu-used": "8"}),
        "mpeg4.mkv": ("mpeg4", "matroska", {}),
    }
    for i, (name, (codec, container, options)) in enumerate(kinds.items()):
        buf = io.BytesIO()
        with av.open(buf, "w", format=container) as c:
            s = c.add_stream(codec, rate=10, options=options)
            s.width, s.height, s.pix_fmt = 16, 16, "yuv420p"
            s.codec_context.gop_size = 3
            for k in range(6):
                a = np.full((16, 16, 3), 40 * k, np.uint8)
                a[k:k + 4, 2:9] = 200
                for p in s.encode(av.VideoFrame.from_ndarray(a, format="rgb24")):
                    c.mux(p)
            for p in s.encode():
                c.mux(p)
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes([i + 1]) + buf.getvalue())


if __name__ == "__main__":
    npy_seeds()
    shm_seeds()
    jpeg_seeds()
    manifest_seeds()
    video_manifest_seeds()
    jpeg_index_seed()
    video_seeds()
