"""nc.ImageSet: zero-copy images of different sizes from memory, from a folder of .npy files and
from shared memory (pickled by reference, attached in another process); every corrupt or
truncated folder is a ValueError naming the file and the sample, never a crash."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nocopy as nc


def images(rng, shapes, dtype=np.uint8):
    out = []
    for shape in shapes:
        if np.dtype(dtype).kind == "f":
            out.append(rng.random(shape, dtype=np.float32))
        else:
            out.append(rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype))
    return out


def write_folder(path, arrays, labels=None, classes=None, manifest=None):
    """An ImageSet folder written with NumPy alone (what the format promises anyone can do)."""
    os.makedirs(path, exist_ok=True)
    item = arrays[0].dtype.itemsize
    offsets, at = [], 0
    for a in arrays:
        offsets.append(at)
        at += a.size
        at = -(-at * item // 64) * 64 // item
    pixels = np.zeros(at, arrays[0].dtype)
    for a, off in zip(arrays, offsets):
        pixels[off:off + a.size] = a.ravel()
    np.save(os.path.join(path, "pixels.npy"), pixels)
    np.save(os.path.join(path, "shapes.npy"), np.array([a.shape for a in arrays], np.int64))
    np.save(os.path.join(path, "offsets.npy"), np.array(offsets, np.int64))
    if labels is not None:
        np.save(os.path.join(path, "labels.npy"), np.asarray(labels, np.int64))
    m = {"format_version": 1, "num_images": len(arrays), "classes": classes, "skipped": []}
    m.update(manifest or {})
    with open(os.path.join(path, "manifest.json"), "w") as f:
        json.dump(m, f)
    return path


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_from_arrays_holds_each_image_aligned(dtype):
    rng = np.random.default_rng(0)
    arrays = images(rng, [(3, 5, 3), (7, 2, 3), (1, 1, 3), (40, 30, 3)], dtype)
    ds = nc.ImageSet.from_arrays(arrays, labels=[3, 1, 4, 1], classes=list("abcde"))
    assert len(ds) == 4 and ds.dtype == np.dtype(dtype) and ds.channels == 3
    np.testing.assert_array_equal(ds.shapes, [a.shape for a in arrays])
    assert ds.labels.tolist() == [3, 1, 4, 1] and ds.classes == list("abcde")
    for i, a in enumerate(arrays):
        got = np.asarray(ds[i])
        np.testing.assert_array_equal(got, a)
        assert got.__array_interface__["data"][0] % 64 == 0
        assert nc.shares_memory(ds[i], ds.pixels)           # a view, not a copy
    assert not nc.shares_memory(ds[0], arrays[0])           # from_arrays copies once
    np.testing.assert_array_equal(np.asarray(ds[-1]), arrays[-1])
    assert [v.shape for v in ds] == [a.shape for a in arrays]  # iteration ends at IndexError


def test_bad_arrays_and_indices():
    with pytest.raises(ValueError, match="no images"):
        nc.ImageSet.from_arrays([])
    with pytest.raises(ValueError, match="image 1 is float32 but image 0 is uint8"):
        nc.ImageSet.from_arrays([np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2, 3), np.float32)])
    with pytest.raises(ValueError, match="sample 1 has 1 channels"):
        nc.ImageSet.from_arrays([np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2, 1), np.uint8)])
    with pytest.raises(ValueError, match=r"sample 0 has shape \(0, 2, 3\)"):
        nc.ImageSet.from_arrays([np.zeros((0, 2, 3), np.uint8)])
    with pytest.raises(ValueError, match="images are"):
        nc.ImageSet.from_arrays([np.zeros((2, 2), np.uint8)])
    with pytest.raises(ValueError, match="not supported"):
        nc.ImageSet.from_arrays([np.zeros((2, 2, 3), np.int32)])
    with pytest.raises(ValueError, match="expected"):
        nc.ImageSet.from_arrays([np.zeros((2, 2, 3), np.uint8)], labels=[1, 2])
    ds = nc.ImageSet.from_arrays([np.zeros((2, 2, 3), np.uint8)])
    with pytest.raises(IndexError, match="out of range"):
        ds[1]
    with pytest.raises(TypeError, match="integers"):
        ds[0:1]
    for big in (2**63, -2**63 - 1, 2**70):  # past int64: out of range, not a binding error
        with pytest.raises(IndexError, match="out of range"):
            ds[big]
    with pytest.raises(OverflowError, match="label 18446744073709551615 does not fit"):
        nc.ImageSet.from_arrays([np.zeros((2, 2, 3), np.uint8)],
                                labels=np.array([2**64 - 1], np.uint64))
    assert ds.labels is None and ds.classes is None
    with pytest.raises(TypeError, match="to_shared"):
        pickle.dumps(ds)


def test_open_maps_a_numpy_written_folder_without_copying(tmp_path):
    rng = np.random.default_rng(1)
    arrays = images(rng, [(5, 4, 3), (2, 9, 3), (6, 6, 3)])
    path = write_folder(str(tmp_path / "ds"), arrays, labels=[0, 2, 1], classes=["x", "y", "z"])
    ds = nc.ImageSet.open(path)
    assert len(ds) == 3 and ds.classes == ["x", "y", "z"] and ds.labels.tolist() == [0, 2, 1]
    for i, a in enumerate(arrays):
        np.testing.assert_array_equal(np.asarray(ds[i]), a)
        assert ds[i].readonly
    mapped = np.load(os.path.join(path, "pixels.npy"), mmap_mode="r")
    assert ds.pixels.nbytes == mapped.nbytes
    again = pickle.loads(pickle.dumps(ds))                 # opened sets pickle by path
    np.testing.assert_array_equal(np.asarray(again[2]), arrays[2])


def _corrupt(tmp_path, name, fn):
    arrays = [np.ones((4, 4, 3), np.uint8), np.ones((3, 5, 3), np.uint8)]
    path = write_folder(str(tmp_path / name), arrays, labels=[0, 1], classes=["a", "b"])
    fn(path)
    return path


def _save(path, name, arr):
    np.save(os.path.join(path, name), arr)


@pytest.mark.parametrize("case,fn,message", [
    ("offset-past-end", lambda p: _save(p, "offsets.npy", np.array([0, 1 << 20], np.int64)),
     r"offsets.npy: sample 1 of shape \(3, 5, 3\) at offset 1048576 runs past the end"),
    ("negative-offset", lambda p: _save(p, "offsets.npy", np.array([0, -64], np.int64)),
     r"offsets.npy: sample 1 has offset -64"),
    ("unaligned", lambda p: _save(p, "offsets.npy", np.array([0, 3], np.int64)),
     r"offsets.npy: sample 1 starts at byte 3"),
    ("huge-shape", lambda p: _save(p, "shapes.npy", np.array([[4, 4, 3], [2**62, 2**62, 3]])),
     r"sample 1 of shape \(4611686018427387904, 4611686018427387904, 3\) .* runs past the end"),
    ("zero-side", lambda p: _save(p, "shapes.npy", np.array([[4, 4, 3], [0, 5, 3]])),
     r"shapes.npy: sample 1 has shape \(0, 5, 3\)"),
    ("shape-count", lambda p: _save(p, "shapes.npy", np.array([[4, 4, 3]])),
     r"shapes.npy: shape is \(1, 3\); expected \(2, 3\)"),
    ("float-index", lambda p: _save(p, "offsets.npy", np.array([0.0, 64.0])),
     r"offsets.npy: dtype is float64"),
    ("labels-count", lambda p: _save(p, "labels.npy", np.array([0], np.int64)),
     r"labels.npy: shape is \(1,\); expected \(2,\)"),
    ("label-range", lambda p: _save(p, "labels.npy", np.array([0, 7], np.int64)),
     r"labels.npy: sample 1 has label 7, outside the 2 classes"),
    ("truncated-pixels", lambda p: open(os.path.join(p, "pixels.npy"), "r+b").truncate(100),
     r"pixels.npy"),
    ("pixels-2d", lambda p: _save(p, "pixels.npy", np.zeros((2, 64), np.uint8)),
     r"pixels.npy: must be a contiguous 1-d array"),
    ("manifest-count", lambda p: json.dump({"format_version": 1, "num_images": 5},
                                           open(os.path.join(p, "manifest.json"), "w")),
     r"manifest.json: num_images is 5 but offsets.npy holds 2"),
    ("manifest-version", lambda p: json.dump({"format_version": 9, "num_images": 2},
                                             open(os.path.join(p, "manifest.json"), "w")),
     r"manifest.json: format_version 9 is not supported"),
    ("manifest-json", lambda p: open(os.path.join(p, "manifest.json"), "w").write("{"),
     r"manifest.json: not valid JSON"),
    ("manifest-utf8", lambda p: open(os.path.join(p, "manifest.json"), "wb").write(b"{\xff}"),
     r"manifest.json: not UTF-8"),
    ("manifest-skipped", lambda p: json.dump({"format_version": 1, "num_images": 2,
                                              "skipped": 5},
                                             open(os.path.join(p, "manifest.json"), "w")),
     r"manifest.json: skipped must be a list"),
])
def test_corrupt_folders_are_value_errors_naming_file_and_sample(tmp_path, case, fn, message):
    path = _corrupt(tmp_path, case, fn)
    with pytest.raises(ValueError, match=message):
        nc.ImageSet.open(path)


def test_missing_parts_are_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        nc.ImageSet.open(tmp_path / "nothing")
    path = _corrupt(tmp_path, "missing", lambda p: os.remove(os.path.join(p, "shapes.npy")))
    with pytest.raises(FileNotFoundError, match="shapes.npy"):
        nc.ImageSet.open(path)
    path = _corrupt(tmp_path, "nolabels", lambda p: os.remove(os.path.join(p, "labels.npy")))
    assert nc.ImageSet.open(path).labels is None


@settings(max_examples=80, deadline=None)
@given(shapes=st.lists(st.tuples(st.integers(-3, 2**40), st.integers(-3, 2**40),
                                 st.integers(-1, 5)), min_size=1, max_size=4),
       offsets=st.lists(st.integers(-2**63, 2**63 - 1), min_size=1, max_size=4),
       count=st.integers(0, 4096))
def test_property_random_indexes_never_crash(tmp_path_factory, shapes, offsets, count):
    path = str(tmp_path_factory.mktemp("fuzz"))
    n = min(len(shapes), len(offsets))
    np.save(os.path.join(path, "pixels.npy"), np.zeros(count, np.uint8))
    np.save(os.path.join(path, "shapes.npy"), np.array(shapes[:n], np.int64).reshape(n, 3))
    np.save(os.path.join(path, "offsets.npy"), np.array(offsets[:n], np.int64))
    with open(os.path.join(path, "manifest.json"), "w") as f:
        json.dump({"format_version": 1, "num_images": n}, f)
    try:
        ds = nc.ImageSet.open(path)
    except ValueError:
        return
    for i in range(len(ds)):  # whatever opened is inside the pixel array
        a = np.asarray(ds[i])
        off = int(ds.offsets[i])
        assert 0 <= off and off + a.size <= count


def _child_sum(blob, q):
    ds = pickle.loads(blob)
    q.put((len(ds), [int(np.asarray(ds[i]).sum()) for i in range(len(ds))],
           ds.labels.tolist(), ds.classes))


def test_to_shared_pickles_by_reference_and_attaches_in_another_process():
    rng = np.random.default_rng(2)
    arrays = images(rng, [(30, 20, 3), (8, 50, 3)])
    ds = nc.ImageSet.from_arrays(arrays, labels=[1, 0], classes=["cat", "dog"])
    shared = ds.to_shared()
    assert shared.is_shared and not nc.shares_memory(shared[0], ds[0])
    blob = pickle.dumps(shared)
    assert len(blob) < 1000                                # names, not pixels
    local = pickle.loads(blob)
    np.testing.assert_array_equal(np.asarray(local[1]), arrays[1])
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child_sum, args=(blob, q))
    p.start()
    got = q.get(timeout=120)
    p.join(60)
    assert got == (2, [int(a.sum()) for a in arrays], [1, 0], ["cat", "dog"])
    # Writes by the creator are seen by attachers (one memory, no copy).
    np.asarray(shared._shared[0].view)[:3] = 7
    assert np.asarray(local[0]).ravel()[:3].tolist() == [7, 7, 7]
