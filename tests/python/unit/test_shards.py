"""Sharded datasets: pack_images / pack_videos with shard_size, parallel parts merged by
nc.merge_shards, the index's hashes, ShardedImageSet / ShardedVideoSet against the same input
packed as one set, token shards, and the CLI flags."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import nocopy as nc
from nocopy import _nocopy
from nocopy._shards_format import parse_size

Image = pytest.importorskip("PIL.Image")

CLASSES = ("ant", "bee", "cat")


def _ceil64(n):
    return -(-np.asarray(n, np.int64) // 64) * 64


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """An ImageFolder tree of odd-sized RGB, grayscale and 1-pixel-wide images."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(7)
    for c, cls in enumerate(CLASSES):
        (root / cls).mkdir()
        for k in range(5 + c):
            h, w = int(rng.integers(1, 40)), int(rng.integers(1, 40))
            if k == 0:
                w = 1
            shape = (h, w) if k == 1 else (h, w, 3)
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(
                root / cls / f"{k:02d}.png")
    return root


@pytest.fixture(scope="module")
def single(tree, tmp_path_factory):
    """The reference: the tree packed as one ImageSet, raw and JPEG."""
    base = tmp_path_factory.mktemp("single")
    nc.pack_images(tree, base / "raw.nc", threads=2)
    nc.pack_images(tree, base / "jpeg.nc", threads=2, format="jpeg")
    return {"raw": nc.ImageSet.open(base / "raw.nc"), "jpeg": nc.ImageSet.open(base / "jpeg.nc")}


def _same_samples(sharded, ref):
    assert isinstance(sharded, nc.ShardedImageSet)
    assert len(sharded) == len(ref)
    np.testing.assert_array_equal(sharded.labels, ref.labels)
    np.testing.assert_array_equal(sharded.shapes, ref.shapes)
    assert sharded.classes == ref.classes == list(CLASSES)
    for i in range(len(ref)):
        np.testing.assert_array_equal(np.asarray(sharded[i]), np.asarray(ref[i]))
        k, j = sharded.shard_of(i)
        np.testing.assert_array_equal(np.asarray(sharded.shards[k][j]), np.asarray(ref[i]))


# --- shard_size -----------------------------------------------------------------------------
@pytest.mark.parametrize("text, size", [
    ("256MB", 256 * 10**6), ("1.5GiB", 3 * 2**29), ("512KiB", 512 * 2**10), ("4096", 4096),
    (" 2 kb ", 2000), ("1B", 1), ("3TiB", 3 * 2**40), (4096, 4096), (np.int64(7), 7)])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "MB", "12 parsecs", "-5MB", "0", "1.5.2GB", "0.1B",
                                  "5 M B", 0, -1])
def test_bad_shard_size_texts(text, tree, tmp_path):
    with pytest.raises(ValueError, match="shard_size"):
        parse_size(text)
    with pytest.raises(ValueError, match="shard_size"):
        nc.pack_images(tree, tmp_path / "x", shard_size=text)
    assert not os.path.exists(tmp_path / "x")


@pytest.mark.parametrize("value", [1.5, None, True, [1]])
def test_shard_size_types(value):
    with pytest.raises(TypeError, match="shard_size"):
        parse_size(value)


@pytest.mark.parametrize("fmt", ["raw", "jpeg"])
@pytest.mark.parametrize("size", [1, 2000, 6000, "1GB"])
def test_shard_boundaries_and_samples(tree, single, tmp_path, fmt, size):
    out = tmp_path / "s.nc"
    summary = nc.pack_images(tree, out, threads=2, format=fmt, shard_size=size)
    ds = nc.ImageSet.open(out)
    ref = single[fmt]
    _same_samples(ds, ref)
    limit = parse_size(size)
    per = _ceil64(ref.shapes.prod(axis=1)) if fmt == "raw" else ref.lengths
    assert summary.shards == len(ds.shards) and summary.images == len(ref)
    start = 0
    for k, shard in enumerate(ds.shards):
        n = len(shard)
        data = int(per[start:start + n].sum())
        assert n == 1 or data <= limit                # never past shard_size unless alone
        if start + n < len(ref):                      # ... and closed only when it had to
            assert data + int(per[start + n]) > limit
        stored = shard.nbytes
        assert stored == data
        start += n
    assert start == len(ref)
    if limit >= 10**9:
        assert len(ds.shards) == 1
    if limit == 1:
        assert [len(s) for s in ds.shards] == [1] * len(ref)


def test_index_sizes_and_hashes_equal_hashlib(tree, tmp_path):
    out = tmp_path / "s.nc"
    nc.pack_images(tree, out, shard_size=3000)
    index = json.loads((out / "index.json").read_text())
    assert index["format_version"] == 1 and index["kind"] == "image"
    assert index["classes"] == list(CLASSES) and index["skipped"] == []
    assert sorted(os.listdir(out)) == sorted(["index.json", "shapes.npy", "labels.npy"]
                                             + [s["name"] for s in index["shards"]])
    # The per-sample arrays beside the index, listed with their hashes, equal the shards'.
    for name in ("shapes.npy", "labels.npy"):
        data = (out / name).read_bytes()
        assert index["files"][name] == {"bytes": len(data),
                                        "sha256": hashlib.sha256(data).hexdigest()}
        joined = np.concatenate([np.load(out / s["name"] / name) for s in index["shards"]])
        np.testing.assert_array_equal(np.load(out / name), joined)
    assert [s["name"] for s in index["shards"]] == [f"shard-{k:05d}"
                                                    for k in range(len(index["shards"]))]
    assert index["num_samples"] == sum(s["num_samples"] for s in index["shards"])
    for s in index["shards"]:
        folder = out / s["name"]
        assert sorted(s["files"]) == sorted(os.listdir(folder))
        for name, e in s["files"].items():
            data = (folder / name).read_bytes()
            assert e == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        assert s["bytes"] == sum(e["bytes"] for e in s["files"].values())
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["classes"] == list(CLASSES) and manifest["num_classes"] == 3
        assert manifest["num_images"] == s["num_samples"]
        assert len(nc.ImageSet._open_one(str(folder))) == s["num_samples"]


def test_image_sources_contract(tree, tmp_path):
    nc.pack_images(tree, tmp_path / "s.nc", shard_size=4000)
    ds = nc.ImageSet.open(tmp_path / "s.nc")
    sources = ds.__nocopy_image_sources__()
    assert isinstance(sources, list) and len(sources) == len(ds.shards) > 1
    assert all(isinstance(h, _nocopy._ImageSet) for h in sources)
    assert [len(h) for h in sources] == [len(s) for s in ds.shards]
    assert all(h is s.__nocopy_image_set__() for h, s in zip(sources, ds.shards))
    assert ds.format == "raw" and "ShardedImageSet" in repr(ds) and "shards" in repr(ds)
    import pickle
    again = pickle.loads(pickle.dumps(ds))
    assert len(again) == len(ds)


def test_shard_of_and_indexing(tree, single, tmp_path):
    nc.pack_images(tree, tmp_path / "s.nc", shard_size=2500)
    ds = nc.ImageSet.open(tmp_path / "s.nc")
    n = len(ds)
    starts = np.cumsum([0] + [len(s) for s in ds.shards])
    for i in range(-n, n):
        k, j = ds.shard_of(i)
        assert starts[k] + j == i % n and 0 <= j < len(ds.shards[k])
    with pytest.raises(IndexError):
        ds.shard_of(n)
    with pytest.raises(IndexError):
        ds[-n - 1]
    with pytest.raises(TypeError):
        ds[1.0]
    np.testing.assert_array_equal(np.asarray(ds[-1]), np.asarray(single["raw"][n - 1]))


# --- parts and merge ------------------------------------------------------------------------
def _pack_parts(tree, out, n, **kw):
    for i in range(n):
        nc.pack_images(tree, out, num_shards=n, shard_index=i, threads=1, **kw)
    return nc.merge_shards(out)


@pytest.mark.parametrize("n, size", [(1, None), (3, None), (3, 3000), (4, "5KB"), (25, None)])
def test_parts_and_merge_equal_one_sharded_pack(tree, single, tmp_path, n, size):
    index = _pack_parts(tree, tmp_path / "p.nc", n, shard_size=size)
    ds = nc.ImageSet.open(tmp_path / "p.nc")
    _same_samples(ds, single["raw"])
    total = len(single["raw"])
    # Part i holds the slice [i*n//N, (i+1)*n//N) of the listing, in its own shards.
    counts = {}
    for s in index["shards"]:
        part = int(s["name"].split("-")[1])
        counts[part] = counts.get(part, 0) + s["num_samples"]
    for i in range(n):
        assert counts.get(i, 0) == (i + 1) * total // n - i * total // n
    if size is not None:
        nc.pack_images(tree, tmp_path / "one.nc", shard_size=size)
        one = nc.ImageSet.open(tmp_path / "one.nc")
        np.testing.assert_array_equal(one.labels, ds.labels)
        assert len(one) == len(ds)
    ds.verify()


def test_merge_names_missing_parts(tree, tmp_path):
    out = tmp_path / "p.nc"
    for i in (0, 2):
        nc.pack_images(tree, out, num_shards=4, shard_index=i)
    with pytest.raises(ValueError, match=r"2 of 4 parts missing \(index\.part-00001\.json, "
                                         r"index\.part-00003\.json"):
        nc.merge_shards(out)
    assert not (out / "index.json").exists()
    with pytest.raises(ValueError, match="no partial indexes"):
        nc.merge_shards(tmp_path)
    with pytest.raises(FileNotFoundError):
        nc.merge_shards(tmp_path / "nothing")


def test_merge_refuses_parts_that_disagree(tree, tmp_path):
    out = tmp_path / "p.nc"
    _pack_parts(tree, out, 2)
    path = out / "index.part-00001.json"
    part = json.loads(path.read_text())
    part["classes"] = ["x", "y", "z"]
    path.write_text(json.dumps(part))
    with pytest.raises(ValueError, match="part 1's classes"):
        nc.merge_shards(out)
    part["classes"], part["part"]["count"] = list(CLASSES), 3
    path.write_text(json.dumps(part))
    with pytest.raises(ValueError, match="disagree on num_shards"):
        nc.merge_shards(out)


def test_parts_repeat_only_with_overwrite(tree, single, tmp_path):
    out = tmp_path / "p.nc"
    _pack_parts(tree, out, 2)
    with pytest.raises(FileExistsError, match="already there"):
        nc.pack_images(tree, out, num_shards=2, shard_index=1)
    nc.pack_images(tree, out, num_shards=2, shard_index=1, shard_size=2000, overwrite=True)
    assert not (out / "index.json").exists()  # the old merge named the replaced shards
    nc.merge_shards(out)
    _same_samples(nc.ImageSet.open(out), single["raw"])
    assert not [n for n in os.listdir(out) if n.startswith(".")]  # no temporary folder left


@pytest.mark.parametrize("kw, err, match", [
    ({"num_shards": 2}, ValueError, "go together"),
    ({"shard_index": 0}, ValueError, "go together"),
    ({"num_shards": 2, "shard_index": 2}, ValueError, "from 0 to num_shards - 1"),
    ({"num_shards": 2, "shard_index": -1}, ValueError, "from 0 to num_shards - 1"),
    ({"num_shards": 0, "shard_index": 0}, ValueError, "num_shards"),
    ({"num_shards": 2, "shard_index": 0.5}, TypeError, "shard_index")])
def test_bad_part_arguments(tree, tmp_path, kw, err, match):
    with pytest.raises(err, match=match):
        nc.pack_images(tree, tmp_path / "x", **kw)
    assert not os.path.exists(tmp_path / "x")


def test_skipped_files_listed_once(tree, tmp_path):
    src = tmp_path / "src"
    os.symlink(tree, src)
    bad = tree / "bee" / "zz_broken.png"
    bad.write_bytes(b"not a png")
    try:
        _pack_parts(src, tmp_path / "p.nc", 3, on_error="skip")
        nc.pack_images(src, tmp_path / "s.nc", shard_size=3000, on_error="skip")
    finally:
        bad.unlink()
    for name in ("p.nc", "s.nc"):
        ds = nc.ImageSet.open(tmp_path / name)
        assert [s["path"] for s in ds.skipped] == [str(src / "bee" / "zz_broken.png")]
        assert len(ds) == 18


# --- opening checks -------------------------------------------------------------------------
def test_verify_names_a_corrupted_file(tree, tmp_path):
    out = tmp_path / "s.nc"
    nc.pack_images(tree, out, shard_size=3000)
    nc.ImageSet.open(out).verify()
    victim = out / "shard-00001" / "pixels.npy"
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0xFF
    victim.write_bytes(bytes(data))
    ds = nc.ImageSet.open(out)              # sizes agree: opening does not hash
    with pytest.raises(ValueError, match=r"shard-00001/pixels\.npy: SHA-256"):
        ds.verify()


def test_open_checks_the_index(tree, tmp_path):
    out = tmp_path / "s.nc"
    nc.pack_images(tree, out, shard_size=3000)
    (out / "shard-00002" / "labels.npy").write_bytes(b"short")
    with pytest.raises(ValueError, match=r"shard-00002/labels\.npy: 5 bytes, but index\.json"):
        nc.ImageSet.open(out)
    nc.pack_images(tree, out, shard_size=3000, overwrite=True)
    os.unlink(out / "shard-00000" / "shapes.npy")
    with pytest.raises(ValueError, match=r"shard-00000/shapes\.npy: listed in index\.json but "
                                         "missing"):
        nc.ImageSet.open(out)
    nc.pack_images(tree, out, shard_size=3000, overwrite=True)
    index = json.loads((out / "index.json").read_text())
    index["shards"][0]["num_samples"] += 1
    index["num_samples"] += 1
    (out / "index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match="but index.json lists"):
        nc.ImageSet.open(out)
    index["shards"][0]["name"] = "../escape"
    (out / "index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match="valid name"):
        nc.ImageSet.open(out)
    nc.pack_images(tree, out, shard_size=3000, overwrite=True)
    with pytest.raises(ValueError, match="not a sharded video dataset"):
        nc.VideoSet.open(out)


def test_overwrite_between_sharded_and_plain(tree, single, tmp_path):
    out = tmp_path / "s.nc"
    nc.pack_images(tree, out, shard_size=3000)
    with pytest.raises(FileExistsError):
        nc.pack_images(tree, out, shard_size=3000)
    nc.pack_images(tree, out, overwrite=True)
    assert isinstance(nc.ImageSet.open(out), nc.ImageSet)
    nc.pack_images(tree, out, shard_size=5000, overwrite=True)
    _same_samples(nc.ImageSet.open(out), single["raw"])
    (out / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not part of a sharded dataset"):
        nc.pack_images(tree, out, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(os.listdir(tmp_path)) == ["s.nc"]


# --- videos ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    av = pytest.importorskip("av")
    root = tmp_path_factory.mktemp("videos")
    specs = [("a", "1.mp4", "libx264", 9, 32, 24), ("a", "2.mp4", "mpeg4", 6, 16, 16),
             ("b", "3.mkv", "libx264", 7, 24, 32), ("b", "4.mp4", "libx264", 5, 18, 14),
             ("b", "5.avi", "mpeg4", 4, 20, 12)]
    for cls, name, codec, frames, w, h in specs:
        (root / cls).mkdir(exist_ok=True)
        with av.open(str(root / cls / name), "w") as c:
            s = c.add_stream(codec, rate=10)
            s.width, s.height, s.pix_fmt = w, h, "yuv420p"
            s.codec_context.gop_size = 3
            if codec == "libx264":
                s.options = {"preset": "ultrafast"}
            y, x = np.mgrid[0:h, 0:w]
            for k in range(frames):
                img = np.stack([(x * 8 + k * 9) % 256, (y * 8) % 256,
                                np.full_like(x, k * 20)], -1).astype(np.uint8)
                for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    c.mux(p)
            for p in s.encode():
                c.mux(p)
    base = tmp_path_factory.mktemp("vsingle")
    nc.pack_videos(root, base / "one.nc", threads=2)
    return root, nc.VideoSet.open(base / "one.nc")


def _same_videos(vs, ref):
    assert isinstance(vs, nc.ShardedVideoSet) and len(vs) == len(ref)
    np.testing.assert_array_equal(vs.labels, ref.labels)
    np.testing.assert_array_equal(vs.shapes, ref.shapes)
    np.testing.assert_array_equal(vs.num_frames, ref.num_frames)
    np.testing.assert_array_equal(vs.fps, ref.fps)
    assert vs.classes == ref.classes
    decoder = getattr(_nocopy, "_video_available", lambda: False)()
    for i in range(len(ref)):
        k, j = vs.shard_of(i)
        shard = vs.shards[k]
        np.testing.assert_array_equal(np.asarray(shard.encoded(j)), np.asarray(ref.encoded(i)))
        np.testing.assert_array_equal(shard.timestamps(j), ref.timestamps(i))
        np.testing.assert_array_equal(shard.keyframes(j), ref.keyframes(i))
        assert shard.codecs[j] == ref.codecs[i] and shard.time_base(j) == ref.time_base(i)
        np.testing.assert_array_equal(np.asarray(vs.encoded(i)), np.asarray(ref.encoded(i)))
        np.testing.assert_array_equal(vs.timestamps(i), ref.timestamps(i))
        np.testing.assert_array_equal(vs.keyframes(i), ref.keyframes(i))
        if decoder:
            np.testing.assert_array_equal(vs.frames(i, [0, -1]), ref.frames(i, [0, -1]))


def test_sharded_videos_equal_one_pack(videos, tmp_path):
    root, ref = videos
    per = _ceil64([len(np.asarray(ref.encoded(i))) for i in range(len(ref))])
    limit = int(per[:2].sum())
    summary = nc.pack_videos(root, tmp_path / "v.nc", shard_size=limit)
    vs = nc.VideoSet.open(tmp_path / "v.nc")
    assert summary.shards == len(vs.shards) > 1 and summary.frames == int(ref.num_frames.sum())
    _same_videos(vs, ref)
    start = 0
    for shard in vs.shards:
        data = int(per[start:start + len(shard)].sum())
        assert len(shard) == 1 or data <= limit
        start += len(shard)
    sources = vs.__nocopy_video_sources__()
    assert [type(h) for h in sources] == [_nocopy._VideoSet] * len(vs.shards)
    assert [len(h) for h in sources] == [len(s) for s in vs.shards]
    vs.verify()
    with pytest.raises(ValueError, match="not a sharded image dataset"):
        nc.ImageSet.open(tmp_path / "v.nc")


def test_video_parts_and_merge(videos, tmp_path):
    root, ref = videos
    for i in range(3):
        nc.pack_videos(root, tmp_path / "v.nc", num_shards=3, shard_index=i, threads=1)
    index = nc.merge_shards(tmp_path / "v.nc")
    assert index["kind"] == "video" and index["num_samples"] == len(ref)
    _same_videos(nc.VideoSet.open(tmp_path / "v.nc"), ref)


# --- tokens ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint16, np.int32])
@pytest.mark.parametrize("kind", ["array", "bin", "npy"])
def test_tokens(tmp_path, dtype, kind):
    tokens = (np.arange(1001) * 7919 % 50000).astype(dtype)
    src = tokens
    if kind == "bin":
        src = tmp_path / "train.bin"
        tokens.tofile(src)
    elif kind == "npy":
        src = tmp_path / "train.npy"
        np.save(src, tokens)
    index = nc.pack_tokens(src, tmp_path / "t", dtype, shard_size=300)
    per = 300 // np.dtype(dtype).itemsize
    ext = "bin" if kind == "bin" else "npy"
    assert [s["name"] for s in index["shards"]] == [f"shard-{k:05d}.{ext}"
                                                    for k in range(-(-1001 // per))]
    assert [s["num_samples"] for s in index["shards"]][:-1] == [per] * (len(index["shards"]) - 1)
    for s in index["shards"]:
        data = (tmp_path / "t" / s["name"]).read_bytes()
        assert s["files"] == {s["name"]: {"bytes": len(data),
                                          "sha256": hashlib.sha256(data).hexdigest()}}
    views = nc.open_tokens(tmp_path / "t")
    np.testing.assert_array_equal(np.concatenate([np.asarray(v) for v in views]), tokens)
    assert all(np.dtype(v.dtype) == np.dtype(dtype) for v in views)
    loader = nc.SequenceLoader(views, seq_len=16, batch_size=4)
    assert loader is not None


def test_tokens_bad_input(tmp_path):
    with pytest.raises(ValueError, match="1-d"):
        nc.pack_tokens(np.zeros((2, 3), np.uint16), tmp_path / "a")
    with pytest.raises(TypeError, match="integers"):
        nc.pack_tokens(np.zeros(3, np.float32), tmp_path / "a")
    with pytest.raises(ValueError, match="do not fit"):
        nc.pack_tokens(np.array([70000], np.int64), tmp_path / "a", np.uint16)
    with pytest.raises(TypeError, match="dtype"):
        (tmp_path / "x.bin").write_bytes(b"\0" * 8)
        nc.pack_tokens(tmp_path / "x.bin", tmp_path / "a")
    with pytest.raises(ValueError, match="shard_size"):
        nc.pack_tokens(np.arange(4), tmp_path / "a", shard_size="lots")
    assert not (tmp_path / "a").exists()
    nc.pack_tokens(np.arange(10, dtype=np.uint8), tmp_path / "t", shard_size=4)
    (tmp_path / "t" / "shard-00001.npy").write_bytes(b"x")
    with pytest.raises(ValueError, match="shard-00001.npy: 1 bytes"):
        nc.open_tokens(tmp_path / "t")
    with pytest.raises(FileExistsError):
        nc.pack_tokens(np.arange(10, dtype=np.uint8), tmp_path / "t", shard_size=4)
    nc.pack_tokens(np.arange(10, dtype=np.uint8), tmp_path / "t", shard_size=4, overwrite=True)
    assert sum(len(v) for v in nc.open_tokens(tmp_path / "t")) == 10


# --- CLI ------------------------------------------------------------------------------------
def _cli(*args):
    return subprocess.run([sys.executable, "-m", "nocopy", "pack", *map(str, args)],
                          capture_output=True, text=True, timeout=60)


def test_cli_flags(tree, single, tmp_path):
    r = _cli(tree, tmp_path / "s.nc", "--shard-size", "3KB", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "packed 18 images" in r.stdout and "shards" in r.stdout
    _same_samples(nc.ImageSet.open(tmp_path / "s.nc"), single["raw"])
    for i in range(2):
        r = _cli(tree, tmp_path / "p.nc", "--num-shards", 2, "--shard-index", i)
        assert r.returncode == 0, r.stderr
    r = _cli("--merge", tmp_path / "p.nc")
    assert r.returncode == 0 and "merged 18 images in 2 shards" in r.stdout, r.stderr
    _same_samples(nc.ImageSet.open(tmp_path / "p.nc"), single["raw"])
    r = _cli("--merge", tmp_path / "s.nc")
    assert r.returncode == 1 and "no partial indexes" in r.stderr
    r = _cli(tree, tmp_path / "x", "--shard-size", "big")
    assert r.returncode == 1 and "shard_size 'big'" in r.stderr
    r = _cli(tree, tmp_path / "x", "--num-shards", 2)
    assert r.returncode == 2 and "go together" in r.stderr
    r = _cli("--merge", tmp_path / "p.nc", tree)
    assert r.returncode == 2
    r = _cli(tree)
    assert r.returncode == 2


@pytest.mark.parametrize("fmt", ["raw", "jpeg"])
def test_a_loader_reads_the_shards_as_the_one_set(tree, single, tmp_path, fmt):
    # The same seed over the sharded and the single set: the same bytes, batch for batch.
    nc.pack_images(tree, tmp_path / "s.nc", shard_size=2000, format=fmt)
    sharded = nc.ImageSet.open(tmp_path / "s.nc")
    assert len(sharded.shards) > 2
    kw = dict(batch_size=4, crop=12, crop_mode="random_resized", output="numpy", seed=5,
              num_threads=2)
    a, b = nc.Loader(sharded, **kw), nc.Loader(single[fmt], **kw)
    for (x, y), (rx, ry) in zip(a, b):
        np.testing.assert_array_equal(x, rx)
        np.testing.assert_array_equal(y, ry)
    mix = nc.Mixture([sharded, single[fmt]], [1, 1])  # shards inside a mixture
    ld = nc.Loader(mix, **kw)
    for i, (x, y) in enumerate(ld):
        p = ld.plan(i)
        assert np.array_equal(y, [int(sharded.labels[j]) for j in p.indices])


def test_a_video_loader_reads_the_shards_as_the_one_set(videos, tmp_path):
    if not getattr(_nocopy, "_video_available", lambda: False)():
        pytest.skip("built without the video decoder")
    root, ref = videos
    nc.pack_videos(root, tmp_path / "v.nc", shard_size=3000)
    vs = nc.VideoSet.open(tmp_path / "v.nc")
    assert len(vs.shards) > 1
    from nocopy import transforms as T
    kw = dict(batch_size=2, clip_len=3, output="numpy", seed=2,
              transforms=[T.RandomResizedCrop(8)])
    a, b = nc.Loader(vs, **kw), nc.VideoLoader(ref, **kw)
    assert isinstance(a, nc.VideoLoader)
    for (x, y), (rx, ry) in zip(a, b):
        np.testing.assert_array_equal(x, rx)
        np.testing.assert_array_equal(y, ry)


def test_block_shuffle_reads_a_few_shards_at_a_time(tree, tmp_path):
    nc.pack_images(tree, tmp_path / "b.nc", shard_size=800)
    ds = nc.ImageSet.open(tmp_path / "b.nc")
    sizes = [len(s) for s in ds.shards]
    assert len(sizes) >= 6
    starts = np.cumsum([0] + sizes)
    kw = dict(batch_size=1, crop=1, output="numpy", seed=3, drop_last=False)
    for epoch in range(2):
        ld = nc.Loader(ds, shuffle="block", block_shards=2, **kw)
        ld.set_epoch(epoch)
        order = [int(ld.plan(i).indices[0]) for i in range(len(ld))]
        assert sorted(order) == list(range(len(ds)))  # every sample once an epoch
        shard = np.searchsorted(starts, order, side="right") - 1
        # Blocks of 2 shards: consecutive runs never mix more than 2 shards.
        at = 0
        while at < len(order):
            block = set(shard[at:at + 1])
            end = at
            while end < len(order) and len(block | {shard[end]}) <= 2:
                block.add(shard[end])
                end += 1
            n = sum(sizes[k] for k in block)
            assert end - at == n or end == len(order), (at, end, block)
            at = end
    one = nc.Loader(ds, shuffle="block", **kw)
    assert [int(one.plan(i).indices[0]) for i in range(len(one))] != order
    with pytest.raises(ValueError, match="block_shards"):
        nc.Loader(ds.shards[0], block_shards=2, **kw)
    with pytest.raises(ValueError, match="block_shards"):
        nc.Loader(ds, block_shards=2, shuffle=False, **kw)
    with pytest.raises(ValueError, match="shuffle"):
        nc.Loader(ds, shuffle="blocks", **kw)


@pytest.mark.parametrize("kw", [{}, {"shard_size": 1000}])
def test_an_output_whose_folder_is_missing_says_so(tree, tmp_path, kw):
    with pytest.raises(FileNotFoundError) as e:
        nc.pack_images(tree, tmp_path / "no" / "such" / "out.nc", **kw)
    assert e.value.filename == str(tmp_path / "no" / "such")
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("cls, layout", [
    ("_ShardedImages", ([1], [8, 8, 3], "uint8", False, 2)),
    ("_ShardedVideos", ([1], [5], [8, 8, 3], 2)),
    ("_ShardedSequences", ([10], "uint16", 2)),
])
def test_the_shard_opener_and_hint_must_be_callable(cls, layout):
    make = getattr(nc._nocopy, cls)
    with pytest.raises(TypeError, match="open must be callable"):
        make("open", print, *layout)
    with pytest.raises(TypeError, match="prefetch must be callable"):
        make(print, 3, *layout)
    assert len(make(print, print, *layout)) == 1  # one shard
