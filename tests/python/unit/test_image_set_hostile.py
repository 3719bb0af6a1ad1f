"""Hostile ImageSet folders are refused with a ValueError naming the file, never a hang, an
unbounded read or a crash: a FIFO or a device under a file's name (manifest.json or any .npy), an
oversized or deeply nested manifest, a sparse index declaring millions of images (refused having
read next to nothing of it: peak memory stays small), and a JPEG whose header claims another size
than the index (refused before the image is allocated).

What could hang or exhaust memory runs in a child process with a timeout (and, where memory is at
stake, an address-space limit), so a regression fails the test instead of the suite or the box.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nocopy as nc
from nocopy import _nocopy

MANIFEST_CAP = 64 << 20  # the documented limit (docs/IMAGES.md)


def raw_folder(path, n=2) -> str:
    """A valid raw ImageSet folder of n small images, written with NumPy alone."""
    os.makedirs(path, exist_ok=True)
    np.save(os.path.join(path, "pixels.npy"), np.arange(64 * n, dtype=np.uint8))
    np.save(os.path.join(path, "shapes.npy"), np.array([[4, 4, 3]] * n, np.int64))
    np.save(os.path.join(path, "offsets.npy"), np.arange(n, dtype=np.int64) * 64)
    write_manifest(path, n)
    return str(path)


def write_manifest(path, n, **extra):
    with open(os.path.join(path, "manifest.json"), "w") as f:
        json.dump({"format_version": 1, "num_images": n, **extra}, f)


def run_child(code: str, timeout: float = 60) -> str:
    """Runs `code` in a fresh interpreter (nocopy and NumPy imported, `limit_memory(extra)` caps
    its address space at what it uses now plus `extra` bytes); returns its stdout. A child still
    running after `timeout` seconds fails the test (it would have hung the suite)."""
    prelude = textwrap.dedent("""
        import os, resource, sys
        import numpy as np
        import nocopy as nc

        def status(key):
            for line in open("/proc/self/status"):
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024

        def limit_memory(extra):
            cap = status("VmSize") + extra
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    """)
    try:
        out = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {timeout} s: it hangs")
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def open_error_in_child(folder, extra_memory=1 << 30) -> str:
    """The message of the ValueError ImageSet.open(folder) raises in a child process limited to
    `extra_memory` more bytes of address space ("no error" when it opens)."""
    return run_child(f"""
        limit_memory({extra_memory})
        try:
            nc.ImageSet.open({str(folder)!r})
            print("no error")
        except ValueError as e:
            print(e)
    """).strip()


# --- item 5: a FIFO or a device under a file's name; oversized and deeply nested manifests ---

def test_fifo_manifest_is_refused_not_waited_on(tmp_path):
    folder = raw_folder(tmp_path / "ds")
    os.remove(os.path.join(folder, "manifest.json"))
    os.mkfifo(os.path.join(folder, "manifest.json"))
    msg = open_error_in_child(folder)
    assert "manifest.json': it is a FIFO, not a regular file" in msg, msg


def test_manifest_linked_to_dev_zero_is_refused_not_read(tmp_path):
    folder = raw_folder(tmp_path / "ds")
    os.remove(os.path.join(folder, "manifest.json"))
    os.symlink("/dev/zero", os.path.join(folder, "manifest.json"))
    msg = open_error_in_child(folder)
    assert "manifest.json': it is a character device, not a regular file" in msg, msg


def test_oversized_manifest_is_refused_before_it_is_read(tmp_path):
    folder = raw_folder(tmp_path / "ds")
    with open(os.path.join(folder, "manifest.json"), "r+b") as f:
        f.truncate(MANIFEST_CAP + 1)  # sparse: no disk used
    with pytest.raises(ValueError, match=rf"manifest.json: is {MANIFEST_CAP + 1} bytes; a "
                                         rf"manifest is at most {MANIFEST_CAP} bytes"):
        nc.ImageSet.open(folder)


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000,
                                  '{"a":' * 100_000 + "1" + "}" * 100_000],
                         ids=["arrays", "objects"])
def test_deeply_nested_manifest_is_value_error(tmp_path, text):
    folder = raw_folder(tmp_path / "ds")
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        f.write(text)
    with pytest.raises(ValueError, match="manifest.json: not valid JSON for a manifest "
                                         r"\(nested deeper than 64 levels\)"):
        nc.ImageSet.open(folder)


@pytest.mark.parametrize("name", ["pixels.npy", "shapes.npy", "offsets.npy", "labels.npy"])
def test_fifo_or_device_npy_is_refused_not_waited_on(tmp_path, name):
    folder = raw_folder(tmp_path / "fifo")
    path = os.path.join(folder, name)
    if os.path.exists(path):
        os.remove(path)
    os.mkfifo(path)
    msg = open_error_in_child(folder)
    assert f"{name}': it is a FIFO, not a regular file" in msg, msg
    folder = raw_folder(tmp_path / "device")
    path = os.path.join(folder, name)
    if os.path.exists(path):
        os.remove(path)
    os.symlink("/dev/zero", path)
    msg = open_error_in_child(folder)
    assert f"{name}': it is a character device, not a regular file" in msg, msg


def test_missing_and_misplaced_paths_are_os_errors_naming_them(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        nc.ImageSet.open(tmp_path / "missing")
    assert info.value.filename == str(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        nc.ImageSet.open(tmp_path / "file")
    folder = raw_folder(tmp_path / "ds")
    os.remove(os.path.join(folder, "shapes.npy"))
    os.mkdir(os.path.join(folder, "shapes.npy"))
    with pytest.raises(IsADirectoryError) as info:
        nc.ImageSet.open(folder)
    assert info.value.filename == os.path.join(folder, "shapes.npy")


def test_dangling_labels_link_is_an_error_not_missing_labels(tmp_path):
    folder = raw_folder(tmp_path / "ds")
    os.symlink(os.path.join(folder, "gone.npy"), os.path.join(folder, "labels.npy"))
    with pytest.raises(FileNotFoundError, match="labels.npy"):
        nc.ImageSet.open(folder)


# --- item 6: a sparse index declaring millions of images --------------------------------------

N_HUGE = 10_000_000  # 320 MB of index in sparse files that take a few KB on disk


def sparse_index_folder(path, n, pixel_bytes, num_images):
    """shapes.npy / offsets.npy of n rows, all zeros but a valid sample 0 (sparse files), a
    sparse pixels.npy of pixel_bytes and a manifest saying num_images."""
    os.makedirs(path)
    pixels = np.lib.format.open_memmap(os.path.join(path, "pixels.npy"), "w+", np.uint8,
                                       (pixel_bytes,))
    shapes = np.lib.format.open_memmap(os.path.join(path, "shapes.npy"), "w+", np.int64, (n, 3))
    shapes[0] = (4, 4, 3)
    offsets = np.lib.format.open_memmap(os.path.join(path, "offsets.npy"), "w+", np.int64, (n,))
    for a in (pixels, shapes, offsets):
        a.flush()
    del pixels, shapes, offsets
    write_manifest(path, num_images)
    return str(path)


@pytest.mark.parametrize("pixel_bytes,num_images,message", [
    # the manifest disagrees: refused from the .npy headers alone
    (4096, 2, rf"manifest.json: num_images is 2 but offsets.npy holds {N_HUGE}"),
    # N images cannot fit in the pixel array: refused from the headers alone
    (4096, N_HUGE, rf"offsets.npy: {N_HUGE} images need at least 64 \* \(N - 1\) \+ 1 bytes of "
                   r"pixels .* but .*pixels.npy holds 4096 bytes"),
    # room for N images (sparse too): the index is read in place and fails at sample 1
    (64 * N_HUGE, N_HUGE, r"shapes.npy: sample 1 has shape \(0, 0, 0\)"),
], ids=["manifest-count", "pixel-bound", "read-in-place"])
def test_sparse_huge_index_fails_fast_in_bounded_memory(tmp_path, pixel_bytes, num_images,
                                                        message):
    folder = sparse_index_folder(tmp_path / "ds", N_HUGE, pixel_bytes, num_images)
    out = run_child(f"""
        before = status("VmHWM")
        try:
            nc.ImageSet.open({folder!r})
            print("no error")
        except ValueError as e:
            print(e)
        print(status("VmHWM") - before)
    """)
    msg, growth = out.strip().rsplit("\n", 1)
    assert __import__("re").search(message, msg), msg
    # Copies of the index would be 320 MB (and reading it whole as much again, in page cache
    # mapped pages); refusing it touches a page or two.
    assert int(growth) < 32 << 20, f"peak RSS grew by {int(growth) >> 20} MiB"


# --- item 8: a JPEG whose header says another size than the index -----------------------------

def jpeg_bytes(h, w) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.full((h, w, 3), 90, np.uint8)).save(buf, "JPEG", quality=50)
    return buf.getvalue()


def with_frame_size(data: bytes, h: int, w: int) -> bytes:
    """The JPEG with its frame header (SOF0) rewritten to say h x w."""
    k = data.index(b"\xff\xc0")
    return data[:k + 5] + h.to_bytes(2, "big") + w.to_bytes(2, "big") + data[k + 9:]


def jpeg_folder(path, files, shapes) -> str:
    os.makedirs(path)
    lengths = np.array([len(f) for f in files], np.int64)
    np.save(os.path.join(path, "jpeg.npy"), np.frombuffer(b"".join(files), np.uint8))
    np.save(os.path.join(path, "lengths.npy"), lengths)
    np.save(os.path.join(path, "offsets.npy"), np.concatenate([[0], np.cumsum(lengths)[:-1]]))
    np.save(os.path.join(path, "shapes.npy"), np.array(shapes, np.int64))
    write_manifest(path, len(files), storage="jpeg")
    return str(path)


needs_jpeg = pytest.mark.skipif(not _nocopy.jpeg_available(), reason="built without libjpeg")


@needs_jpeg
def test_jpeg_header_of_another_size_than_the_index_is_value_error(tmp_path):
    good, big = jpeg_bytes(40, 48), jpeg_bytes(1024, 1024)
    ds = nc.ImageSet.open(jpeg_folder(tmp_path / "ds", [good, big],
                                      [(40, 48, 3), (40, 48, 3)]))
    assert np.asarray(ds[0]).shape == (40, 48, 3)
    with pytest.raises(ValueError, match=r"ds: sample 1: JPEG is 1024 x 1024 but the index says "
                                         r"40 x 48"):
        ds[1]
    with pytest.raises(ValueError, match=r"sample 1: JPEG is 1024 x 1024"):
        ds[-1]


@needs_jpeg
def test_jpeg_header_claiming_a_huge_image_is_refused_before_allocating(tmp_path):
    # 65500 x 65500 x 3 would be 12.9 GB; the child may use 1 GiB more address space than it has.
    huge = with_frame_size(jpeg_bytes(40, 48), 65500, 65500)
    folder = jpeg_folder(tmp_path / "ds", [huge], [(40, 48, 3)])
    out = run_child(f"""
        ds = nc.ImageSet.open({folder!r})
        limit_memory(1 << 30)
        try:
            ds[0]
            print("no error")
        except ValueError as e:
            print(e)
    """)
    assert "sample 0: JPEG is 65500 x 65500 but the index says 40 x 48" in out, out
