"""The JPEG decoder against Pillow: both use libjpeg-turbo with its defaults (the accurate integer
IDCT, JDCT_ISLOW, and fancy upsampling), so a full decode equals Pillow's
``Image.open(...).convert("RGB")`` exactly, a DCT-scaled decode equals Pillow's ``draft()``
decode at the same scale exactly, windows equal slices of those, grayscale and CMYK come out
as Pillow's RGB conversion, and corrupt or truncated data is a ValueError, never a crash."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
from PIL import Image

from nocopy import _nocopy

pytestmark = pytest.mark.skipif(not _nocopy.jpeg_available(),
                                reason="nocopy built without libjpeg")


def pattern(rng, h, w, channels):
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * (c + 2) + y * (3 - c)) % 256 for c in range(channels)], axis=-1)
    noise = rng.integers(0, 64, (h, w, channels))
    return ((base // 2 + noise) % 256).astype(np.uint8)


def encode(a, mode, **kw):
    buf = io.BytesIO()
    im = Image.fromarray(a[..., 0] if mode == "L" else a, "L" if mode == "L" else
                         ("CMYK" if mode == "CMYK" else "RGB"))
    im.save(buf, "JPEG", quality=kw.pop("quality", 90), **kw)
    return buf.getvalue()


def pillow_rgb(data, scale=1):
    im = Image.open(io.BytesIO(data))
    if scale > 1:
        w, h = im.size
        im.draft(im.mode if im.mode in ("L", "CMYK") else "RGB", (w // scale, h // scale))
        assert im.size == (-(-w // scale), -(-h // scale)), "Pillow chose another scale"
    return np.asarray(im.convert("RGB"))


CASES = [("RGB", dict(subsampling=0)), ("RGB", dict(subsampling=1)),
         ("RGB", dict(subsampling=2)), ("RGB", dict(subsampling=2, progressive=True)),
         ("RGB", dict(subsampling=2, quality=50)), ("L", {}), ("CMYK", {})]


@pytest.mark.parametrize("mode,kw", CASES)
@pytest.mark.parametrize("shape", [(37, 53), (300, 451), (1, 1), (17, 8)])
def test_full_decode_equals_pillow(mode, kw, shape):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    data = encode(pattern(rng, *shape, 4 if mode == "CMYK" else 3), mode, **dict(kw))
    h, w, comps = _nocopy.jpeg_info(data)
    assert (h, w) == shape and comps == {"RGB": 3, "L": 1, "CMYK": 4}[mode]
    ours = np.asarray(_nocopy.jpeg_decode(data))
    np.testing.assert_array_equal(ours, pillow_rgb(data))


@pytest.mark.parametrize("mode,kw", CASES)
@pytest.mark.parametrize("scale", [2, 4, 8])
def test_scaled_decode_equals_pillow_draft(mode, kw, scale):
    rng = np.random.default_rng(scale)
    data = encode(pattern(rng, 203, 317, 4 if mode == "CMYK" else 3), mode, **dict(kw))
    ours = np.asarray(_nocopy.jpeg_decode(data, scale=scale))
    assert ours.shape == (-(-203 // scale), -(-317 // scale), 3)
    np.testing.assert_array_equal(ours, pillow_rgb(data, scale))


def test_scaled_decode_is_close_to_a_resized_full_decode():
    # DCT scaling is a different filter than a resize: the tolerance here is what a smooth
    # photo-like image shows (mean under 2 levels), not an exact match.
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:400, 0:480]
    smooth = np.stack([128 + 100 * np.sin(x / 23 + c) * np.cos(y / 31) for c in range(3)], -1)
    data = encode((smooth + rng.normal(0, 2, smooth.shape)).clip(0, 255).astype(np.uint8), "RGB")
    full = Image.open(io.BytesIO(data)).convert("RGB")
    for scale in (2, 4):
        ours = np.asarray(_nocopy.jpeg_decode(data, scale=scale)).astype(float)
        ref = np.asarray(full.resize((480 // scale, 400 // scale), Image.BILINEAR,
                                     reducing_gap=None)).astype(float)
        assert np.abs(ours - ref).mean() < 2.0


@pytest.mark.parametrize("mode,kw", CASES)
def test_windows_equal_slices_of_pillow(mode, kw):
    rng = np.random.default_rng(5)
    data = encode(pattern(rng, 150, 211, 4 if mode == "CMYK" else 3), mode, **dict(kw))
    for scale in (1, 2, 4, 8):
        ref = pillow_rgb(data, scale)
        sh, sw = ref.shape[:2]
        for _ in range(12):
            top, left = int(rng.integers(0, sh)), int(rng.integers(0, sw))
            hh, ww = int(rng.integers(1, sh - top + 1)), int(rng.integers(1, sw - left + 1))
            ours = np.asarray(_nocopy.jpeg_decode(data, scale=scale, window=(top, left, hh, ww)))
            np.testing.assert_array_equal(ours, ref[top:top + hh, left:left + ww],
                                          err_msg=f"scale {scale} window {top, left, hh, ww}")


def test_corrupt_and_truncated_data_is_value_error():
    rng = np.random.default_rng(2)
    data = encode(pattern(rng, 64, 64, 3), "RGB")
    # (a file missing only its final EOI marker decodes: every row is there, as in Pillow)
    for bad in (b"", b"not a jpeg", data[:2], data[:200], data[:len(data) // 2]):
        with pytest.raises(ValueError, match="JPEG"):
            _nocopy.jpeg_decode(bad)
    corrupt = bytearray(data)
    corrupt[len(data) // 2:len(data) // 2 + 50] = b"\xff" * 50
    with pytest.raises(ValueError, match="corrupt JPEG"):
        _nocopy.jpeg_decode(bytes(corrupt))
    with pytest.raises(ValueError, match="outside the image"):
        _nocopy.jpeg_decode(data, window=(60, 0, 5, 5))
    with pytest.raises(ValueError, match="1, 2, 4 or 8"):
        _nocopy.jpeg_decode(data, scale=3)
    np.testing.assert_array_equal(np.asarray(_nocopy.jpeg_decode(data)), pillow_rgb(data))


# --- JPEG ImageSets: pack --format jpeg|keep, open, decode, corrupt folders -------------------

def make_folder(root, rng, sizes=((40, 60), (75, 33), (20, 20), (64, 48))):
    import os
    paths = []
    for k, (h, w) in enumerate(sizes):
        d = root / f"class{k % 2}"
        d.mkdir(parents=True, exist_ok=True)
        p = d / f"img{k}.jpg"
        if k == 2:
            Image.fromarray(pattern(rng, h, w, 3)[..., 0], "L").save(p, quality=90)
        elif k == 3:
            p = d / f"img{k}.png"
            Image.fromarray(pattern(rng, h, w, 3)).save(p)
        else:
            Image.fromarray(pattern(rng, h, w, 3)).save(p, quality=85)
        paths.append(os.fspath(p))
    return paths


def test_pack_jpeg_round_trip(tmp_path):
    import nocopy as nc
    rng = np.random.default_rng(0)
    paths = make_folder(tmp_path / "src", rng)
    summary = nc.pack_images(tmp_path / "src", tmp_path / "out.nc", format="jpeg", quality=90)
    assert summary.images == 4
    ds = nc.ImageSet.open(tmp_path / "out.nc")
    assert isinstance(ds, nc.ImageSet) and ds.storage == "jpeg" and len(ds) == 4
    order = sorted(paths)  # ImageFolder order: class folders, then file names
    for i, p in enumerate(order):
        expect = Image.open(p).convert("RGB")
        assert tuple(ds.shapes[i]) == (expect.height, expect.width, 3)
        data = bytes(np.asarray(ds.encoded(i)))
        # the stored bytes are Pillow's encoding at quality 90; ds[i] is their exact decode
        np.testing.assert_array_equal(np.asarray(ds[i]), pillow_rgb(data))
        # and close to the source (lossy: the pattern's noise is hard on 4:2:0 chroma)
        assert np.abs(np.asarray(ds[i]).astype(int) - np.asarray(expect)).mean() < 16
    assert ds.labels.tolist() == [0, 0, 1, 1] and ds.classes == ["class0", "class1"]
    # zero copy: encoded(i) is a view of jpeg.npy's mapping
    whole = np.asarray(ds.encoded_bytes)
    assert np.shares_memory(np.asarray(ds.encoded(1)), whole)
    assert ds.nbytes == int(ds.lengths.sum()) == summary.bytes
    with pytest.raises(TypeError, match="encoded bytes"):
        ds.pixels


def test_pack_keep_keeps_jpeg_files_that_need_no_resize(tmp_path):
    import json

    import nocopy as nc
    rng = np.random.default_rng(1)
    paths = make_folder(tmp_path / "src", rng)
    nc.pack_images(tmp_path / "src", tmp_path / "keep.nc", format="keep")
    ds = nc.ImageSet.open(tmp_path / "keep.nc")
    for i, p in enumerate(sorted(paths)):
        original = open(p, "rb").read()
        same = bytes(np.asarray(ds.encoded(i))) == original
        assert same == p.endswith(".jpg"), p  # the PNG is re-encoded, the JPEGs kept
        np.testing.assert_array_equal(np.asarray(ds[i]), pillow_rgb(bytes(np.asarray(ds.encoded(i)))))
    manifest = json.load(open(tmp_path / "keep.nc" / "manifest.json"))
    assert manifest["storage"] == "jpeg" and manifest["kept_originals"] == 3
    # with a resize every image is re-encoded
    nc.pack_images(tmp_path / "src", tmp_path / "small.nc", format="keep", max_side=30)
    small = nc.ImageSet.open(tmp_path / "small.nc")
    assert max(small.shapes[:, :2].max(axis=1)) <= 30
    assert json.load(open(tmp_path / "small.nc" / "manifest.json"))["kept_originals"] == 1


def test_pack_cli_format_and_bad_options(tmp_path):
    import nocopy as nc
    from nocopy._cli.pack import main
    make_folder(tmp_path / "src", np.random.default_rng(2))
    assert main([str(tmp_path / "src"), str(tmp_path / "cli.nc"), "--format", "jpeg",
                 "--quality", "75", "--quiet"]) == 0
    assert nc.ImageSet.open(tmp_path / "cli.nc").storage == "jpeg"
    with pytest.raises(ValueError, match="format 'png'"):
        nc.pack_images(tmp_path / "src", tmp_path / "x.nc", format="png")
    with pytest.raises(ValueError, match="quality 0"):
        nc.pack_images(tmp_path / "src", tmp_path / "x.nc", format="jpeg", quality=0)


def test_corrupt_jpeg_sample_is_value_error_naming_it(tmp_path):
    import nocopy as nc
    make_folder(tmp_path / "src", np.random.default_rng(3))
    out = tmp_path / "c.nc"
    nc.pack_images(tmp_path / "src", out, format="jpeg")
    ds = nc.ImageSet.open(out)
    off, n = int(ds.offsets[2]), int(ds.lengths[2])
    del ds
    jpeg = np.load(out / "jpeg.npy", mmap_mode="r+")
    jpeg[off + n // 2: off + n // 2 + 30] = 0xFF
    jpeg.flush()
    del jpeg
    ds = nc.ImageSet.open(out)
    np.asarray(ds[1])  # the others decode
    with pytest.raises(ValueError, match=r"c\.nc: sample 2: corrupt JPEG"):
        ds[2]
    with pytest.raises(IndexError):
        ds[4]


def test_corrupt_jpeg_index_is_value_error_naming_the_file(tmp_path):
    import nocopy as nc
    make_folder(tmp_path / "src", np.random.default_rng(4))
    out = tmp_path / "i.nc"
    nc.pack_images(tmp_path / "src", out, format="jpeg")
    lengths = np.load(out / "lengths.npy")
    total = np.load(out / "jpeg.npy", mmap_mode="r").shape[0]
    for name, bad, match in [
            ("lengths.npy", lambda a: a.__setitem__(3, total), r"offsets\.npy: sample 3 bytes"),
            ("lengths.npy", lambda a: a.__setitem__(0, 0), r"lengths\.npy: sample 0 has length 0"),
            ("offsets.npy", lambda a: a.__setitem__(1, -5), r"offsets\.npy: sample 1"),
            ("shapes.npy", lambda a: a.__setitem__((2, 2), 1), r"shapes\.npy: sample 2 has shape")]:
        a = np.load(out / name)
        saved = a.copy()
        bad(a)
        np.save(out / name, a)
        with pytest.raises(ValueError, match=match):
            nc.ImageSet.open(out)
        np.save(out / name, saved)
    np.save(out / "lengths.npy", lengths[:3])
    with pytest.raises(ValueError, match="lengths"):
        nc.ImageSet.open(out)


def test_one_imageset_class_every_member_has_a_meaning_per_format(tmp_path):
    import nocopy as nc
    make_folder(tmp_path / "src", np.random.default_rng(5))
    nc.pack_images(tmp_path / "src", tmp_path / "j.nc", format="jpeg")
    ds = nc.ImageSet.open(tmp_path / "j.nc")
    assert type(ds) is nc.ImageSet and ds.format == ds.storage == "jpeg"
    assert ds.dtype == np.uint8 and ds.channels == 3 and len(ds.offsets) == len(ds.lengths) == 4
    assert ds.nbytes == np.asarray(ds.encoded_bytes).nbytes
    a, b = np.asarray(ds[1]), np.asarray(ds[1])
    assert not np.shares_memory(a, b) and np.array_equal(a, b)  # a decode: new memory each time
    with pytest.raises(TypeError, match=r"pixels: a JPEG ImageSet stores encoded bytes, not "
                                        r"pixels: use ds\[i\] \(decodes\)"):
        ds.pixels
    assert "format=jpeg" in repr(ds) and "4 images" in repr(ds)
    raw = nc.ImageSet.from_arrays([np.asarray(ds[i]) for i in range(len(ds))])
    assert raw.format == raw.storage == "raw" and "format=raw" in repr(raw)
    for member, get in [("encoded\\(i\\)", lambda: raw.encoded(0)),
                        ("encoded_bytes", lambda: raw.encoded_bytes),
                        ("lengths", lambda: raw.lengths)]:
        with pytest.raises(TypeError, match=member + ": a raw ImageSet stores pixels, not "
                                                     "encoded bytes"):
            get()


def _child_decodes(blob, q):
    ds = pickle.loads(blob)
    q.put((ds.format, ds.is_shared, [np.asarray(ds[i]).tobytes() for i in range(len(ds))],
           ds.labels.tolist(), ds.classes))


@pytest.mark.parametrize("shared", [False, True], ids=["folder", "to_shared"])
def test_jpeg_sets_pickle_by_reference_and_decode_in_another_process(tmp_path, shared):
    import multiprocessing as mp

    import nocopy as nc
    make_folder(tmp_path / "src", np.random.default_rng(6))
    nc.pack_images(tmp_path / "src", tmp_path / "j.nc", format="jpeg")
    ds = nc.ImageSet.open(tmp_path / "j.nc")
    if shared:
        ds = ds.to_shared()  # one copy of the encoded bytes, in shared memory
        folder = nc.ImageSet.open(tmp_path / "j.nc")
        assert ds.is_shared and ds.format == "jpeg" and ds.nbytes == folder.nbytes
        assert not np.shares_memory(np.asarray(ds.encoded_bytes), np.asarray(folder.encoded_bytes))
        np.testing.assert_array_equal(ds.lengths, folder.lengths)
        assert bytes(np.asarray(ds.encoded(3))) == bytes(np.asarray(folder.encoded(3)))
    blob = pickle.dumps(ds)
    assert len(blob) < 1000  # a path or segment names, not the images
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child_decodes, args=(blob, q))
    p.start()
    fmt, is_shared, images, labels, classes = q.get(timeout=120)
    p.join(60)
    assert (fmt, is_shared, labels, classes) == ("jpeg", shared, ds.labels.tolist(), ds.classes)
    assert images == [np.asarray(ds[i]).tobytes() for i in range(len(ds))]
    # The loader reads a shared JPEG set as it reads the folder.
    kw = dict(batch_size=2, crop=16, crop_mode="random_resized", seed=1, output="numpy")
    got = [np.asarray(x) for x, _ in nc.Loader(ds, **kw)]
    want = [np.asarray(x) for x, _ in nc.Loader(nc.ImageSet.open(tmp_path / "j.nc"), **kw)]
    assert all(np.array_equal(a, b) for a, b in zip(got, want)) and len(got) == 2


# --- nc.Loader over JPEG ImageSets: decode fused into the workers' sample pipeline ----------

def jpeg_set(tmp_path, sizes, smooth=False, name="set.nc"):
    import nocopy as nc
    rng = np.random.default_rng(len(sizes))
    src = tmp_path / "src" / "a"
    src.mkdir(parents=True, exist_ok=True)
    for k, (h, w) in enumerate(sizes):
        if smooth:
            y, x = np.mgrid[0:h, 0:w]
            a = np.stack([128 + 90 * np.sin(x / (17 + 5 * c) + c) * np.cos(y / 23)
                          for c in range(3)], -1).astype(np.uint8)
        else:
            a = pattern(rng, h, w, 3)
        Image.fromarray(a).save(src / f"{k:03d}.png")
    nc.pack_images(tmp_path / "src", tmp_path / name, format="jpeg")
    ds = nc.ImageSet.open(tmp_path / name)
    # The reference: the same images, decoded whole (exactly Pillow's decode), as raw pixels.
    raw = nc.ImageSet.from_arrays([np.asarray(ds[i]) for i in range(len(ds))], labels=ds.labels)
    return ds, raw


def batches(ds, **kw):
    import nocopy as nc
    kw.setdefault("output", "numpy")
    ld = nc.Loader(ds, **kw)
    return [(np.asarray(x), np.asarray(y)) for x, y in ld], ld


@pytest.mark.parametrize("mode,extra", [("random_resized", {}), ("resize_center", {"resize": 28}),
                                        ("random", {}), ("center", {})])
def test_loader_batches_equal_the_raw_set_of_the_same_decodes(tmp_path, mode, extra):
    # Windows under 4x the crop decode at full scale: bit-identical to the raw ImageSet of the
    # whole decoded images, so plan(i) reproduces them as for raw sets (test_loader_images.py).
    rng = np.random.default_rng(0)
    sizes = [tuple(int(v) for v in rng.integers(30, 81, 2)) for _ in range(11)]
    ds, raw = jpeg_set(tmp_path, sizes)
    kw = dict(batch_size=4, crop=(24, 24), crop_mode=mode, mirror=0.5, seed=5, num_threads=2,
              mean=(0.5, 0.4, 0.3), std=(0.2, 0.3, 0.25), **extra)
    got, ld = batches(ds, **kw)
    want, ref = batches(raw, **kw)
    assert len(got) == len(want) == 3
    for (x, y), (xr, yr) in zip(got, want):
        np.testing.assert_array_equal(x, xr)
        np.testing.assert_array_equal(y, yr)
    for i in range(len(ld)):
        assert all(np.array_equal(a, b) for a, b in zip(ld.plan(i), ref.plan(i)))


def test_loader_dct_scaling_stays_close_to_the_full_decode(tmp_path):
    # Large windows (>= 4x the crop) decode DCT-scaled by 1/2..1/8: a different filter than
    # the antialiased resize of the full decode, so close rather than equal (mean under 2
    # levels of 255 on smooth photo-like content, every sample under 6).
    ds, raw = jpeg_set(tmp_path, [(420, 380), (500, 333), (300, 480), (460, 460)], smooth=True)
    kw = dict(batch_size=4, crop=(32, 32), crop_mode="resize_center", resize=36, mirror=0.0,
              scale=1.0, layout="HWC", shuffle=False)
    (x, _), = batches(ds, **kw)[0]
    (xr, _), = batches(raw, **kw)[0]
    diff = np.abs(x - xr)
    assert diff.mean() < 2.0 and diff.reshape(4, -1).mean(axis=1).max() < 6, diff.mean()
    kw = dict(kw, crop_mode="random_resized", area=(0.9, 1.0), resize=None)
    (x, _), = batches(ds, **kw)[0]
    (xr, _), = batches(raw, **kw)[0]
    assert np.abs(x - xr).mean() < 2.0


def marker_offset(data, markers):
    """Offset of the first marker segment of a JPEG among `markers` (its length follows)."""
    k = 2
    while k + 4 <= len(data):
        assert data[k] == 0xFF, "not at a marker"
        marker, seglen = data[k + 1], int.from_bytes(data[k + 2:k + 4], "big")
        if marker in markers:
            return k
        k += 2 + seglen
    raise AssertionError(f"no marker {markers}")


def sof_offset(data):
    return marker_offset(data, (0xC0, 0xC1, 0xC2))


def entropy_offset(data):
    """Where the first scan's entropy-coded data starts (after the SOS segment)."""
    k = marker_offset(data, (0xDA,))
    return k + 2 + int.from_bytes(data[k + 2:k + 4], "big")


def corrupt_sample(folder, k, how):
    """Damages sample k of a packed JPEG ImageSet in place, keeping its index valid."""
    offsets, lengths = np.load(folder / "offsets.npy"), np.load(folder / "lengths.npy")
    off, n = int(offsets[k]), int(lengths[k])
    jpeg = np.load(folder / "jpeg.npy", mmap_mode="r+")
    data = bytes(jpeg[off:off + n])
    # Damage to the entropy-coded data sits in its first MCU rows, which every window's decode
    # passes (a window decode never reads the data below its last row).
    if how == "truncated":  # the stream ends inside the entropy-coded data
        lengths[k] = entropy_offset(data) + 16
        np.save(folder / "lengths.npy", lengths)
    elif how == "entropy":  # garbage (marker bytes) inside the entropy-coded segment
        e = off + entropy_offset(data)
        jpeg[e + 4:e + 34] = 0xFF
    elif how == "sof_zero_height":  # the frame header says 0 rows
        s = off + sof_offset(data)
        jpeg[s + 5:s + 7] = 0
    elif how == "sof_components":  # the frame header says 9 components
        jpeg[off + sof_offset(data) + 9] = 9
    elif how == "sof_size_mismatch":  # a valid header, but not the size the index records
        s = off + sof_offset(data)
        jpeg[s + 5:s + 7] = np.frombuffer((int.from_bytes(data[s - off + 5:s - off + 7], "big")
                                           + 8).to_bytes(2, "big"), np.uint8)
    elif how == "no_soi":
        jpeg[off:off + 2] = 0
    jpeg.flush()


CORRUPTIONS = ["truncated", "entropy", "sof_zero_height", "sof_components", "sof_size_mismatch",
               "no_soi"]


@pytest.mark.parametrize("how", CORRUPTIONS)
def test_loader_corrupt_jpeg_is_loader_error_naming_the_sample(tmp_path, how):
    import nocopy as nc
    ds, _ = jpeg_set(tmp_path, [(40, 40)] * 6)
    del ds
    corrupt_sample(tmp_path / "set.nc", 4, how)
    ds = nc.ImageSet.open(tmp_path / "set.nc")
    for shuffle in (False, True):
        ld = nc.Loader(ds, batch_size=2, crop=(16, 16), crop_mode="random_resized",
                       shuffle=shuffle, seed=3, num_threads=2, output="numpy")
        where = next(i for i in range(len(ld)) if 4 in ld.plan(i).indices)
        with pytest.raises(nc.LoaderError, match=r"sample 4 .*JPEG") as info:
            list(ld)
        assert (info.value.sample, info.value.batch, info.value.epoch) == (4, where, 0)
        assert isinstance(info.value, RuntimeError)
        assert ld.state_dict()["batch"] == where  # the position stays at the failing batch
        with pytest.raises(nc.LoaderError):
            ld.next_batch()  # a retry fails the same way, and nothing crashed
        assert ld.num_skipped == 0


@pytest.mark.parametrize("how", CORRUPTIONS)
def test_loader_skip_substitutes_the_next_good_sample_of_the_batch(tmp_path, how):
    import nocopy as nc
    ds, raw = jpeg_set(tmp_path, [(40 + 3 * k, 44 - 2 * k) for k in range(7)])
    del ds
    corrupt_sample(tmp_path / "set.nc", 4, how)
    ds = nc.ImageSet.open(tmp_path / "set.nc")
    labels = np.arange(7) * 10
    kw = dict(batch_size=3, crop=(16, 16), crop_mode="random_resized", seed=11, num_threads=2,
              mean=0.5, std=0.25)
    got, ld = batches(ds, labels=labels, on_error="skip", **kw)
    # The reference: the intact decodes as a raw set, same plan; the failed slot takes a copy
    # of the next slot (cyclically) of its batch.
    want, ref = batches(raw, labels=labels, **kw)
    seen = 0
    for i, ((x, y), (xr, yr)) in enumerate(zip(got, want)):
        idx = ld.plan(i, epoch=0).indices  # the pass is over: the loaders are in epoch 1
        assert np.array_equal(idx, ref.plan(i, epoch=0).indices)
        for k in range(len(idx)):
            j = k
            while idx[j] == 4:
                j = (j + 1) % len(idx)
            seen += idx[k] == 4
            np.testing.assert_array_equal(x[k], xr[j])
            assert y[k] == yr[j] == labels[idx[j]]
    assert seen >= 1 and ld.num_skipped == seen and ld.skipped_samples == [4]
    again, _ = batches(ds, labels=labels, on_error="skip", **kw)  # deterministic
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(got, again))


def test_loader_skip_with_every_sample_of_a_batch_failing_raises(tmp_path):
    import nocopy as nc
    ds, _ = jpeg_set(tmp_path, [(40, 40)] * 4)
    del ds
    corrupt_sample(tmp_path / "set.nc", 2, "entropy")
    corrupt_sample(tmp_path / "set.nc", 3, "truncated")
    ds = nc.ImageSet.open(tmp_path / "set.nc")
    ld = nc.Loader(ds, batch_size=2, crop=16, crop_mode="random_resized", shuffle=False,
                   on_error="skip", output="numpy")
    ld.next_batch()
    with pytest.raises(nc.LoaderError, match="every sample of the batch failed") as info:
        ld.next_batch()
    assert (info.value.sample, info.value.batch) == (2, 1)
    with pytest.raises(ValueError, match="on_error 'ignore' is not one of 'raise', 'skip'"):
        nc.Loader(ds, crop=16, on_error="ignore")
    with pytest.raises(TypeError, match="on_error must be a str"):
        nc.Loader(ds, crop=16, on_error=None)


# --- every sample decoded as by a fresh decoder, whatever its worker decoded before ---------

def without_segments(data, marker):
    """The JPEG `data` without its marker segments `marker` (0xDB: DQT, 0xC4: DHT) that come
    before the first scan."""
    out, k = bytearray(data[:2]), 2
    while data[k + 1] != 0xDA:
        end = k + 2 + int.from_bytes(data[k + 2:k + 4], "big")
        if data[k + 1] != marker:
            out += data[k:end]
        k = end
    return bytes(out + data[k:])


def replace_samples(folder, new):
    """Rewrites a packed JPEG ImageSet with sample k's bytes replaced by new[k] (same shape)."""
    offsets, lengths = np.load(folder / "offsets.npy"), np.load(folder / "lengths.npy")
    jpeg = np.load(folder / "jpeg.npy")
    parts = [new.get(k, jpeg[o:o + n].tobytes()) for k, (o, n) in enumerate(zip(offsets, lengths))]
    np.save(folder / "jpeg.npy", np.frombuffer(b"".join(parts), np.uint8))
    np.save(folder / "lengths.npy", np.array([len(p) for p in parts], np.int64))
    np.save(folder / "offsets.npy", np.cumsum([0] + [len(p) for p in parts[:-1]]).astype(np.int64))


def history_set(tmp_path, n=8):
    """A JPEG set whose even samples carry their own tables (optimized Huffman, quality 97) and
    whose odd samples leave out their (standard) Huffman tables, as motion JPEG frames do: a
    decoder keeping the last image's tables decodes the odd ones wrong."""
    import nocopy as nc
    rng = np.random.default_rng(7)
    sizes = [(40 + 4 * k, 56 - 2 * k) for k in range(n)]
    ds, _ = jpeg_set(tmp_path, sizes)
    new = {}
    for k in range(n):
        data = bytes(np.asarray(ds.encoded(k)))
        if k % 2 == 0:
            new[k] = encode(pattern(rng, *sizes[k], 3), "RGB", quality=97, optimize=True)
        else:
            new[k] = without_segments(data, 0xC4)
    del ds
    replace_samples(tmp_path / "set.nc", new)
    ds = nc.ImageSet.open(tmp_path / "set.nc")
    decodes = [pillow_rgb(new[k]) for k in range(n)]  # Pillow: a fresh decoder per image
    return ds, nc.ImageSet.from_arrays(decodes, labels=ds.labels), decodes


def test_ds_item_does_not_depend_on_what_was_decoded_before(tmp_path):
    ds, _, decodes = history_set(tmp_path)
    for k in range(len(ds)):
        for before in range(len(ds)):
            np.asarray(ds[before])
            np.testing.assert_array_equal(np.asarray(ds[k]), decodes[k],
                                          err_msg=f"sample {k} after sample {before}")


@pytest.mark.parametrize("mode,extra", [("random_resized", {}), ("resize_center", {"resize": 28})])
def test_loader_samples_do_not_depend_on_what_their_worker_decoded_before(tmp_path, mode, extra):
    # Each epoch shuffles the order, so each sample follows other samples in its worker; the
    # batches still equal the raw set of Pillow's decodes under the same plan (windows under 4x
    # the crop decode at full scale: bit-identical), epoch after epoch.
    ds, raw, _ = history_set(tmp_path)
    kw = dict(batch_size=3, crop=(24, 24), crop_mode=mode, seed=2, num_threads=2,
              output="numpy", **extra)
    import nocopy as nc
    ld, ref = nc.Loader(ds, **kw), nc.Loader(raw, **kw)
    for epoch in range(3):
        for i, ((x, y), (xr, yr)) in enumerate(zip(ld, ref)):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(xr),
                                          err_msg=f"epoch {epoch} batch {i}")
            assert all(np.array_equal(a, b) for a, b in zip(ld.plan(i), ref.plan(i)))


def test_jpeg_without_quantization_tables_is_refused_as_pillow_refuses_it(tmp_path):
    import nocopy as nc
    rng = np.random.default_rng(8)
    good = encode(pattern(rng, 40, 48, 3), "RGB", quality=60)
    no_dqt = without_segments(good, 0xDB)
    with pytest.raises(OSError):
        Image.open(io.BytesIO(no_dqt)).load()
    message = "Quantization table 0x00 was not defined"
    # ds[i], whatever was decoded before it
    ds, _ = jpeg_set(tmp_path, [(40, 48)] * 4)
    del ds
    replace_samples(tmp_path / "set.nc", {2: no_dqt})
    ds = nc.ImageSet.open(tmp_path / "set.nc")
    for before in (0, 1, 3):
        np.asarray(ds[before])
        with pytest.raises(ValueError, match=rf"set\.nc: sample 2: corrupt JPEG: {message}"):
            ds[2]
    # the Loader: one worker decodes sample 1 just before it
    ld = nc.Loader(ds, batch_size=4, crop=(16, 16), crop_mode="random_resized", shuffle=False,
                   num_threads=1, output="numpy")
    with pytest.raises(nc.LoaderError, match=f"sample 2 .*{message}") as info:
        list(ld)
    assert (info.value.sample, info.value.batch) == (2, 0)
    # pack --format keep: neither kept nor re-encoded (Pillow cannot read it either)
    src = tmp_path / "keep_src" / "a"
    src.mkdir(parents=True)
    (src / "0.jpg").write_bytes(good)  # one pack thread decodes this one first
    (src / "1.jpg").write_bytes(no_dqt)
    with pytest.raises(ValueError, match=r"1\.jpg: cannot read image"):
        nc.pack_images(tmp_path / "keep_src", tmp_path / "keep.nc", format="keep", threads=1)
    summary = nc.pack_images(tmp_path / "keep_src", tmp_path / "keep.nc", format="keep",
                             threads=1, on_error="skip")
    assert summary.images == 1 and [s["path"].endswith("1.jpg") for s in summary.skipped] == [True]
    kept = nc.ImageSet.open(tmp_path / "keep.nc")
    assert bytes(np.asarray(kept.encoded(0))) == good


# --- decode_scale: "auto" (DCT-scaled large windows, within the stated error) or "exact" -----

def _bench_photos():
    """The photo generator of bench/bench_decode_scale.py, whose set docs/IMAGES.md states the
    error bound on (half smooth photos, half sharp-edged shapes)."""
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[3] / "bench" / "bench_decode_scale.py"
    spec = importlib.util.spec_from_file_location("bench_decode_scale", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.photos


# The bounds docs/IMAGES.md states for decode_scale="auto" (bilinear), in levels of 255: the
# mean difference from the full decode + resize of a (crop mode, crop) run over the smooth or
# the sharp-edged photos, and any one value's (on the smooth photos, on all).
AUTO_MEAN_BOUND, AUTO_SMOOTH_MAX_BOUND, AUTO_MAX_BOUND = 0.5, 8.0, 32.0


def test_decode_scale_auto_stays_within_the_stated_bound_and_exact_is_exact(tmp_path):
    import nocopy as nc
    src = tmp_path / "src" / "all"
    src.mkdir(parents=True)
    for k, img in enumerate(_bench_photos()(16, seed=5)):
        Image.fromarray(img).save(src / f"{k:03d}.png")
    nc.pack_images(tmp_path / "src", tmp_path / "p.nc", format="jpeg", quality=90)
    ds = nc.ImageSet.open(tmp_path / "p.nc")
    raw = nc.ImageSet.from_arrays([np.asarray(ds[i]) for i in range(len(ds))], labels=ds.labels)

    def epoch(images, **kw):
        ld = nc.Loader(images, batch_size=16, shuffle=False, mirror=0.0, scale=1.0,
                       layout="HWC", seed=3, num_threads=2, output="numpy", **kw)
        (x, _), = list(ld)
        return np.asarray(x)

    scaled = 0
    for mode in ("random_resized", "resize_center"):
        for crop in (28, 48, 64, 96):
            kw = dict(crop=crop, crop_mode=mode)
            ref = epoch(raw, **kw)
            np.testing.assert_array_equal(epoch(ds, decode_scale="exact", **kw), ref)
            d = np.abs(epoch(ds, **kw) - ref)  # "auto", the default
            smooth, edges = d[1::2], d[0::2]  # the generator's odd and even photos
            assert smooth.mean() <= AUTO_MEAN_BOUND and edges.mean() <= AUTO_MEAN_BOUND, kw
            assert smooth.max() <= AUTO_SMOOTH_MAX_BOUND and d.max() <= AUTO_MAX_BOUND, kw
            scaled += bool(d.max() > 0)
            # nearest is never DCT-scaled: it returns the full decode's pixels
            np.testing.assert_array_equal(epoch(ds, interpolation="nearest", **kw),
                                          epoch(raw, interpolation="nearest", **kw))
    assert scaled >= 6  # the small crops were DCT-scaled


def test_decode_scale_auto_resamples_the_windows_exact_place_as_pillow_does(tmp_path):
    # The reference: Pillow's DCT-scaled decode (draft), cut to the whole scaled pixels around
    # the window, resized (float, bilinear) over the window's exact box in scaled pixels.
    import nocopy as nc
    ds, _ = jpeg_set(tmp_path, [(411, 367)] * 6, smooth=True)
    data = bytes(np.asarray(ds.encoded(0)))
    crop = 20
    ld = nc.Loader(ds, batch_size=6, crop=crop, crop_mode="random_resized", area=(0.4, 1.0),
                   shuffle=False, mirror=0.0, scale=1.0, layout="HWC", seed=4, output="numpy")
    (x, _), = list(ld)
    p = ld.plan(0, epoch=0)  # the pass is over: the loader is in epoch 1
    checked = 0
    for k in range(6):
        top, left, h, w = (int(v[k]) for v in (p.top, p.left, p.height, p.width))
        d = max([q for q in (1, 2, 4, 8) if h // q >= 2 * crop and w // q >= 2 * crop])
        if d == 1:
            continue
        scaled = pillow_rgb(data, d).astype(np.float32)
        t, l = top // d, left // d
        b, r = min(-(-(top + h) // d), scaled.shape[0]), min(-(-(left + w) // d), scaled.shape[1])
        box = (left / d - l, top / d - t, left / d - l + w / d, top / d - t + h / d)
        ref = np.stack([np.asarray(Image.fromarray(scaled[t:b, l:r, c], "F").resize(
            (crop, crop), Image.BILINEAR, box=box)) for c in range(3)], -1)
        np.testing.assert_allclose(x[k], ref, atol=0.02, err_msg=f"sample {k}, 1/{d}")
        checked += 1
    assert checked >= 4


def test_decode_scale_is_checked_and_does_nothing_to_raw_images(tmp_path):
    import nocopy as nc
    images = np.random.default_rng(0).integers(0, 256, (6, 200, 220, 3), np.uint8)
    kw = dict(batch_size=6, crop=16, crop_mode="random_resized", seed=1, output="numpy")
    for source in (images, nc.ImageSet.from_arrays(list(images))):
        auto = [np.asarray(b[0] if isinstance(b, tuple) else b) for b in nc.Loader(source, **kw)]
        exact = [np.asarray(b[0] if isinstance(b, tuple) else b)
                 for b in nc.Loader(source, decode_scale="exact", **kw)]
        assert all(np.array_equal(a, e) for a, e in zip(auto, exact))
    with pytest.raises(ValueError, match="decode_scale 'fast' is not one of 'auto', 'exact'"):
        nc.Loader(images, crop=16, decode_scale="fast")
    for bad in (None, 1, True):
        with pytest.raises(TypeError, match="decode_scale must be a str"):
            nc.Loader(images, crop=16, decode_scale=bad)
