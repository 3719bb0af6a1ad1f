"""nc.pack_images and `python -m nocopy pack`: ImageFolder trees and CSVs packed into ImageSet
folders whose pixels equal Pillow's decode (and Pillow's antialiased resize for --max-side);
unreadable files skipped and listed, or failing with nothing left behind; existing outputs
never destroyed without --overwrite, and only ImageSet folders ever replaced."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import nocopy as nc

Image = pytest.importorskip("PIL.Image")


def make_folder(root, sizes=((30, 40), (17, 9), (64, 50)), classes=("cat", "dog", "emu")):
    """SRC/<class>/<image>: PNGs of random pixels (lossless, so packs can be checked exactly)."""
    rng = np.random.default_rng(0)
    arrays = {}
    for ci, cls in enumerate(classes):
        os.makedirs(os.path.join(root, cls), exist_ok=True)
        for k, (h, w) in enumerate(sizes):
            a = rng.integers(0, 256, (h + ci, w + k, 3), dtype=np.uint8)
            path = os.path.join(root, cls, f"img{k}.png")
            Image.fromarray(a).save(path)
            arrays[path] = (a, ci)
    return arrays


def test_image_folder_pack_equals_pillow_decode(tmp_path):
    arrays = make_folder(str(tmp_path / "src"))
    # A grayscale JPEG and a palette PNG come out as RGB, like Pillow's convert("RGB").
    Image.fromarray(np.full((12, 20), 90, np.uint8)).save(tmp_path / "src" / "dog" / "z.jpg")
    summary = nc.pack_images(tmp_path / "src", tmp_path / "out.nc", threads=2)
    assert summary.images == 10 and summary.classes == 3 and summary.skipped == []
    ds = nc.ImageSet.open(tmp_path / "out.nc")
    assert ds.classes == ["cat", "dog", "emu"] and len(ds) == 10
    order = sorted(arrays) [:3] + sorted(p for p in arrays if "/dog/" in p) + [None] + \
        sorted(p for p in arrays if "/emu/" in p)
    for i, path in enumerate(order):
        if path is None:  # the JPEG, decoded by Pillow
            want = np.asarray(Image.open(tmp_path / "src" / "dog" / "z.jpg").convert("RGB"))
            assert ds.labels[i] == 1
        else:
            want, label = arrays[path]
            assert ds.labels[i] == label
        np.testing.assert_array_equal(np.asarray(ds[i]), want)
    manifest = json.load(open(tmp_path / "out.nc" / "manifest.json"))
    assert manifest["format_version"] == 1 and manifest["num_images"] == 10
    assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []  # no temporary left


def test_max_side_shrinks_with_pillows_antialiased_filter(tmp_path):
    arrays = make_folder(str(tmp_path / "src"), sizes=((100, 60), (20, 10)), classes=("a",))
    nc.pack_images(tmp_path / "src", tmp_path / "out", max_side=32)
    ds = nc.ImageSet.open(tmp_path / "out")
    big, small = (arrays[p][0] for p in sorted(arrays))
    assert tuple(ds.shapes[0]) == (32, 19, 3)     # 101 x 60 -> longer side 32, round(60 * 32/101)
    want = np.asarray(Image.fromarray(big).resize((19, 32), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(np.asarray(ds[0]), want)
    np.testing.assert_array_equal(np.asarray(ds[1]), small)  # already small: unchanged


def _corrupt_tree(root):
    make_folder(root, sizes=((8, 8),), classes=("a", "b"))
    with open(os.path.join(root, "a", "bad.png"), "wb") as f:
        f.write(b"not an image")
    buf = io.BytesIO()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8) + 200).save(buf, "JPEG")
    with open(os.path.join(root, "b", "cut.jpg"), "wb") as f:
        f.write(buf.getvalue()[:300])  # the header parses; decoding fails half way


def test_on_error_skip_lists_what_was_left_out(tmp_path):
    _corrupt_tree(str(tmp_path / "src"))
    summary = nc.pack_images(tmp_path / "src", tmp_path / "out", on_error="skip")
    skipped = sorted(os.path.basename(s["path"]) for s in summary.skipped)
    assert skipped == ["bad.png", "cut.jpg"] and summary.images == 2
    ds = nc.ImageSet.open(tmp_path / "out")
    assert sorted(os.path.basename(s["path"]) for s in ds.skipped) == skipped
    assert ds.labels.tolist() == [0, 1]
    assert "skipped 2 files" in str(summary)


def test_on_error_fail_leaves_nothing(tmp_path):
    _corrupt_tree(str(tmp_path / "src"))
    with pytest.raises(ValueError, match="bad.png: cannot read image"):
        nc.pack_images(tmp_path / "src", tmp_path / "out")
    assert sorted(os.listdir(tmp_path)) == ["src"]       # no OUT, no temporary folder
    os.remove(tmp_path / "src" / "a" / "bad.png")
    with pytest.raises(ValueError, match="cut.jpg"):      # a failure while decoding
        nc.pack_images(tmp_path / "src", tmp_path / "out")
    assert sorted(os.listdir(tmp_path)) == ["src"]


def test_existing_output_is_kept_unless_overwrite(tmp_path):
    make_folder(str(tmp_path / "src"), sizes=((5, 5),), classes=("a",))
    nc.pack_images(tmp_path / "src", tmp_path / "out")
    with pytest.raises(FileExistsError):
        nc.pack_images(tmp_path / "src", tmp_path / "out")
    nc.pack_images(tmp_path / "src", tmp_path / "out", overwrite=True, max_side=2)
    assert tuple(nc.ImageSet.open(tmp_path / "out").shapes[0]) == (2, 2, 3)
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "thesis.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not an ImageSet"):
        nc.pack_images(tmp_path / "src", tmp_path / "precious", overwrite=True)
    assert (tmp_path / "precious" / "thesis.txt").read_text() == "keep me"


def test_csv_with_names_or_integer_labels(tmp_path):
    rng = np.random.default_rng(3)
    (tmp_path / "img").mkdir()
    a = [rng.integers(0, 256, (4 + k, 6, 3), dtype=np.uint8) for k in range(3)]
    for k, x in enumerate(a):
        Image.fromarray(x).save(tmp_path / "img" / f"{k}.png")
    (tmp_path / "names.csv").write_text("path,label\nimg/0.png,zebra\nimg/1.png,ant\n"
                                        "img/2.png,zebra\n")
    nc.pack_images(tmp_path / "names.csv", tmp_path / "n")
    ds = nc.ImageSet.open(tmp_path / "n")
    assert ds.classes == ["ant", "zebra"] and ds.labels.tolist() == [1, 0, 1]
    np.testing.assert_array_equal(np.asarray(ds[2]), a[2])
    (tmp_path / "ints.csv").write_text("img/2.png,7\nimg/0.png,3\n")
    nc.pack_images(tmp_path / "ints.csv", tmp_path / "i")
    ds = nc.ImageSet.open(tmp_path / "i")
    assert ds.classes is None and ds.labels.tolist() == [7, 3]
    (tmp_path / "bad.csv").write_text("img/0.png,1,extra\n")
    with pytest.raises(ValueError, match=r"bad.csv:1: expected 'path,label'"):
        nc.pack_images(tmp_path / "bad.csv", tmp_path / "b")
    (tmp_path / "huge.csv").write_text("img/0.png,3\nimg/1.png,99999999999999999999\n")
    with pytest.raises(ValueError, match=r"huge.csv:2: label 99999999999999999999 is too large"):
        nc.pack_images(tmp_path / "huge.csv", tmp_path / "h")
    with pytest.raises(ValueError, match=r"0.png: not a CSV of 'path,label' rows in UTF-8"):
        nc.pack_images(tmp_path / "img" / "0.png", tmp_path / "p")  # an image, not a CSV
    r = subprocess.run([sys.executable, "-m", "nocopy", "pack", str(tmp_path / "huge.csv"),
                        str(tmp_path / "h")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "huge.csv:2: label" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "h").exists() and not (tmp_path / "p").exists()


def test_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError):
        nc.pack_images(tmp_path / "missing", tmp_path / "out")
    make_folder(str(tmp_path / "src"), sizes=((5, 5),), classes=("a",))
    with pytest.raises(ValueError, match="on_error"):
        nc.pack_images(tmp_path / "src", tmp_path / "out", on_error="ignore")
    with pytest.raises(ValueError, match="max_side"):
        nc.pack_images(tmp_path / "src", tmp_path / "out", max_side=0)
    for bad in (True, 2.5, "8"):
        with pytest.raises(TypeError, match="max_side must be an integer"):
            nc.pack_images(tmp_path / "src", tmp_path / "out", max_side=bad)
    for bad, err in ((0, ValueError), (-1, ValueError), (2.5, TypeError), (True, TypeError)):
        with pytest.raises(err, match="threads"):
            nc.pack_images(tmp_path / "src", tmp_path / "out", threads=bad)
    summary = nc.pack_images(tmp_path / "src", tmp_path / "np", max_side=np.int64(3),
                             threads=np.int8(1))  # NumPy integers are integers
    assert nc.ImageSet.open(tmp_path / "np").shapes[:, :2].max() <= 3 and summary.images == 1
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no class folders"):
        nc.pack_images(tmp_path / "empty", tmp_path / "out")


def test_command_line(tmp_path):
    make_folder(str(tmp_path / "src"), sizes=((6, 7), (3, 3)), classes=("a", "b"))
    cmd = [sys.executable, "-m", "nocopy", "pack", str(tmp_path / "src"), str(tmp_path / "out"),
           "--threads", "2", "--max-side", "5"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "packed 4 images, 2 classes" in r.stdout
    assert nc.ImageSet.open(tmp_path / "out").shapes[:, :2].max() <= 5
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "exists" in r.stderr
    r = subprocess.run(cmd + ["--overwrite"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
