"""examples/cpp built against the installed C++ package: the nocopy_stats program and the
inplace_ext Python extension, checked against NumPy, and the nocopy_image_set program, checked
against Pillow's decode of the same JPEG files and the raw set's pixels.

`make cpp-examples` installs the core, builds both examples and runs this file with
NOCOPY_CPP_EXAMPLES pointing at their build directory; without it these tests are skipped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nocopy as nc

BUILD = os.environ.get("NOCOPY_CPP_EXAMPLES")
pytestmark = pytest.mark.skipif(not BUILD, reason="built and run by `make cpp-examples`")
ROOT = Path(__file__).resolve().parents[3]
LINE = re.compile(r"^(?P<label>.+?): shape=(?P<shape>\(.*?\)) dtype=(?P<dtype>\w+) "
                  r"count=(?P<count>\d+) mean=(?P<mean>\S+) min=(?P<min>\S+) max=(?P<max>\S+) "
                  r"shares=(?P<shares>yes|no)$")


def run_stats(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(BUILD) / "consumer" / "nocopy_stats"), *args],
                          capture_output=True, text=True, timeout=60)


def parse(stdout: str) -> dict[str, dict]:
    rows = {}
    for line in stdout.splitlines():
        m = LINE.match(line)
        assert m, f"unexpected output line: {line!r}"
        rows[m["label"]] = m.groupdict()
    return rows


def assert_stats(row: dict, ref: np.ndarray) -> None:
    """The program's numbers for one view equal NumPy's for the same elements."""
    assert eval(row["shape"]) == ref.shape  # noqa: S307 - a tuple literal we printed
    assert row["dtype"] == ref.dtype.name
    assert int(row["count"]) == ref.size
    assert float(row["mean"]) == pytest.approx(float(ref.astype(np.float64).mean()), rel=1e-7)
    assert float(row["min"]) == float(ref.min())
    assert float(row["max"]) == float(ref.max())
    assert row["shares"] == "yes"


# --- the C++ program --------------------------------------------------------------------------

def test_program_views_of_its_own_data_match_numpy():
    out = run_stats()
    assert out.returncode == 0, out.stderr
    rows = parse(out.stdout)
    a = np.arange(4 * 6 * 8 * 3, dtype=np.float32).reshape(4, 6, 8, 3)  # what main.cpp builds
    expected = {
        "images": a,
        "images[1]": a[1],
        "crop(1, 2, 4, 5)": a[:, 1:5, 2:7, :],
        "center_crop(2, 2)": a[:, 2:4, 3:5, :],
        "permute(0, 3, 1, 2)": a.transpose(0, 3, 1, 2),
        "flip(2)[..., ::2]": a[:, :, ::-1, ::2],
        "channel 1 of image 3": a[3:4, :, :, 1:2],
    }
    assert set(rows) == set(expected)
    for label, ref in expected.items():
        assert_stats(rows[label], ref)


def test_program_rejects_bad_arguments():
    out = run_stats("--bogus")
    assert out.returncode == 2 and "usage" in out.stderr


@pytest.mark.parametrize("dtype,fortran", [("float32", False), ("int16", False),
                                           ("float64", True), ("uint8", False)])
def test_program_reads_npy_written_by_numpy(tmp_path, dtype, fortran):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((7, 5, 3)) * 100).astype(dtype)
    if fortran:
        a = np.asfortranarray(a)
    path = tmp_path / "data.npy"
    np.save(path, a)
    out = run_stats("--npy", str(path))
    assert out.returncode == 0, out.stderr
    rows = parse(out.stdout)
    assert_stats(rows[f"npy {path}"], a)
    assert_stats(rows["npy [::2]"], a[::2])


def test_program_attaches_shared_array_made_in_python():
    with nc.SharedArray.create((6, 10, 4), "float32") as sa:
        data = np.asarray(sa)
        data[...] = np.random.default_rng(1).standard_normal(data.shape).astype(np.float32)
        out = run_stats("--shm", sa.name)
        assert out.returncode == 0, out.stderr
        rows = parse(out.stdout)
        assert_stats(rows[f"shm {sa.name}"], data)
        assert_stats(rows["shm [1:]"], data[1:])


def test_program_reports_corrupt_npy_and_missing_shm(tmp_path):
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'")
    out = run_stats("--npy", str(bad))
    assert out.returncode == 1 and out.stderr.startswith("error:"), out
    out = run_stats("--shm", "nocopy-no-such-segment")
    assert out.returncode == 1 and "nocopy-no-such-segment" in out.stderr, out


# --- the ImageSet program -----------------------------------------------------------------------

IMAGE_LINE = re.compile(r"^(?P<i>\d+): shape=(?P<shape>\(.*?\)) sum=(?P<sum>\d+) "
                        r"weighted=(?P<weighted>\d+)$")


def run_image_set(folder) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(BUILD) / "consumer" / "nocopy_image_set"), str(folder)],
                          capture_output=True, text=True, timeout=120)


def checksums(image: np.ndarray) -> tuple[int, int]:
    """What the program prints for an image: the sum of its bytes and of (k + 1) * byte k,
    modulo 2**64."""
    b = np.ascontiguousarray(image).view(np.uint8).ravel().astype(np.uint64)
    return int(b.sum(dtype=np.uint64)), int((np.arange(1, b.size + 1, dtype=np.uint64) * b)
                                            .sum(dtype=np.uint64))


def image_folder(root, sizes):
    from PIL import Image
    rng = np.random.default_rng(4)
    for k, (h, w) in enumerate(sizes):
        d = root / f"class{k % 2}"
        d.mkdir(parents=True, exist_ok=True)
        a = rng.integers(0, 256, (h, w, 3), np.uint8)
        if k == 1:
            Image.fromarray(a[..., 0], "L").save(d / f"{k}.jpg", quality=80)  # gray: decoded RGB
        else:
            Image.fromarray(a).save(d / f"{k}.jpg", quality=85)
    return root


@pytest.mark.parametrize("fmt", ["jpeg", "raw"])
def test_image_set_program_decodes_every_image_as_pillow_does(tmp_path, fmt):
    import io

    from PIL import Image
    src = image_folder(tmp_path / "src", [(40, 60), (75, 33), (1, 1), (64, 48), (17, 200)])
    nc.pack_images(src, tmp_path / "set.nc", format="keep" if fmt == "jpeg" else "raw")
    ds = nc.ImageSet.open(tmp_path / "set.nc")
    out = run_image_set(tmp_path / "set.nc")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"format={fmt} count={len(ds)}"
    assert len(lines) == 1 + len(ds)
    for i, line in enumerate(lines[1:]):
        m = IMAGE_LINE.match(line)
        assert m and int(m["i"]) == i, line
        if fmt == "jpeg":  # Pillow's decode of the stored JPEG file
            data = bytes(np.asarray(ds.encoded(i)))
            ref = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        else:
            ref = np.asarray(ds[i])
        assert eval(m["shape"]) == ref.shape  # noqa: S307 - a tuple literal we printed
        assert (int(m["sum"]), int(m["weighted"])) == checksums(ref), f"image {i}"


def test_image_set_program_reports_a_corrupt_folder(tmp_path):
    src = image_folder(tmp_path / "src", [(40, 60), (30, 30)])
    nc.pack_images(src, tmp_path / "set.nc", format="jpeg")
    lengths = np.load(tmp_path / "set.nc" / "lengths.npy")
    lengths[1] += 10**6
    np.save(tmp_path / "set.nc" / "lengths.npy", lengths)
    out = run_image_set(tmp_path / "set.nc")
    assert out.returncode == 1 and "offsets.npy: sample 1 bytes" in out.stderr, out
    out = run_image_set(tmp_path / "missing")
    assert out.returncode == 1 and "cannot open ImageSet folder" in out.stderr, out
    assert run_image_set("").returncode in (1, 2)


# --- the Python extension ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def ext():
    sys.path.insert(0, str(Path(BUILD) / "extension"))
    try:
        import inplace_ext
    finally:
        sys.path.pop(0)
    return inplace_ext


def test_scale_numpy_strided_in_place(ext):
    a = np.random.default_rng(2).standard_normal((6, 7)).astype(np.float32)
    ref = a.copy()
    ptr = a.ctypes.data
    ext.scale(a[::2, 1::3], 2.5)
    ref[::2, 1::3] *= np.float32(2.5)
    assert a.ctypes.data == ptr
    np.testing.assert_array_equal(a, ref)


def test_scale_nocopy_view_and_capsule(ext):
    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    ref = a.copy()
    ext.scale(nc.view(a)[1:, ::2], -1.0)               # a nocopy View
    ref[1:, ::2] *= -1
    ext.scale(nc.view(a)[0].__dlpack__(max_version=(1, 1)), 3.0)   # a raw capsule
    ref[0] *= 3
    np.testing.assert_array_equal(a, ref)


def test_scale_torch_tensor_in_place(ext):
    torch = pytest.importorskip("torch")
    t = torch.arange(12, dtype=torch.float32).reshape(3, 4).T   # non-contiguous
    ref = t.clone() * 0.5
    ptr = t.data_ptr()
    ext.scale(t, 0.5)
    assert t.data_ptr() == ptr
    assert torch.equal(t, ref)
    with pytest.raises(ValueError, match="stride 0"):
        ext.scale(torch.ones(1, 4).expand(3, 4), 2.0)   # aliasing elements: refused


def test_scale_refuses_what_it_cannot_write(ext):
    ro = np.ones(5, np.float32)
    ro.flags.writeable = False
    with pytest.raises(BufferError, match="read-only"):
        ext.scale(ro, 2.0)
    with pytest.raises(BufferError, match="read-only"):
        ext.scale(nc.view(np.ones(3, np.float32)).as_readonly(), 2.0)
    np.testing.assert_array_equal(ro, 1)
    with pytest.raises(TypeError, match="float64"):
        ext.scale(np.ones(3), 2.0)
    with pytest.raises(TypeError, match="__dlpack__"):
        ext.scale([1.0, 2.0], 2.0)
    with pytest.raises(BufferError, match="negative stride"):
        ext.scale(nc.view(np.ones(4, np.float32)).flip(0), 2.0)


def test_legacy_capsules_are_read_but_never_written(ext):
    jnp = pytest.importorskip("jax.numpy")
    x = jnp.arange(4, dtype=jnp.float32)        # immutable; JAX sends a legacy capsule
    assert ext.total(x) == 6.0
    with pytest.raises(BufferError, match="legacy DLPack capsule"):
        ext.scale(x, 2.0)
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_total_reads_read_only_arrays_and_releases_them(ext):
    a = np.random.default_rng(3).standard_normal((5, 8)).astype(np.float32)
    a.flags.writeable = False
    refs = sys.getrefcount(a)
    assert ext.total(a[:, ::3]) == pytest.approx(float(a[:, ::3].astype(np.float64).sum()))
    assert ext.total(np.zeros((0, 3), np.float32)) == 0.0
    # the producer's DLPack deleter ran exactly once: no reference to `a` is left behind
    assert sys.getrefcount(a) == refs
    # nocopy exports no read-only view through __dlpack__ (torch would ignore the flag); a
    # read-only NumPy array over it carries DLPack's read-only flag and is readable
    ro = nc.view(np.ones((3, 4), np.float32)).as_readonly()
    with pytest.raises(BufferError, match="read-only"):
        ext.total(ro)
    assert ext.total(np.asarray(ro)) == 12.0


def test_views_example_uses_the_extension():
    env = dict(os.environ, PYTHONPATH=str(Path(BUILD) / "extension"))
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "views_shared_memory_and_c.py"),
                          "--small"], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert "SHARED  inplace_ext.scale" in out.stdout
