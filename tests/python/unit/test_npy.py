"""Memory-mapped .npy files: open_npy / create_npy against NumPy (np.save, np.load with
mmap_mode), modes, lifetimes, advise, a sparse 32 GB file with small RSS, and a table of
corrupt or hostile headers."""

import errno
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nocopy as nc

DTYPES = ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
          "float16", "float32", "float64", "complex64", "complex128"]


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


@pytest.mark.parametrize("dtype", DTYPES)
def test_create_npy_agrees_with_numpy(tmp_path, dtype):
    path = tmp_path / "a.npy"
    shape = (3, 5, 2)
    v = nc.create_npy(path, shape, dtype)
    assert v.shape == shape and not v.readonly and v.data_ptr % 64 == 0
    a = np.asarray(v)
    assert a.ctypes.data == v.data_ptr
    ref = (np.arange(30).reshape(shape) % 7).astype(dtype)
    a[...] = ref
    del a, v
    loaded = np.load(path, mmap_mode="r")
    assert loaded.dtype == np.dtype(dtype) and loaded.shape == shape
    np.testing.assert_array_equal(loaded, ref)
    # NumPy's own reader agrees on where the data starts (64-byte aligned offset).
    assert loaded.offset % 64 == 0
    np.testing.assert_array_equal(np.asarray(nc.open_npy(path)), ref)


@pytest.mark.parametrize("shape", [(), (0,), (4, 0, 3), (1,), (7,)])
def test_edge_shapes_round_trip(tmp_path, shape):
    path = tmp_path / "e.npy"
    v = nc.create_npy(path, shape, "float32")
    np.asarray(v)[...] = 1.5
    loaded = np.load(path)
    assert loaded.shape == shape and (loaded == 1.5).all()
    w = nc.open_npy(path)
    assert w.shape == shape


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(0, 6), min_size=0, max_size=4),
       dtype=st.sampled_from(DTYPES), fortran=st.booleans(), version=st.sampled_from([1, 2, 3]))
def test_open_npy_matches_np_load(tmp_path_factory, shape, dtype, fortran, version):
    path = tmp_path_factory.mktemp("h") / "x.npy"
    ref = (np.arange(int(np.prod(shape))).reshape(shape) % 5).astype(dtype)
    if fortran:
        ref = np.asfortranarray(ref)
    with open(path, "wb") as f:
        np.lib.format.write_array(f, ref, version=(version, 0))
    v = nc.open_npy(path)
    mm = np.load(path, mmap_mode="r")
    a = np.asarray(v)
    assert a.shape == mm.shape and a.dtype == mm.dtype and a.strides == mm.strides
    np.testing.assert_array_equal(a, ref)


def test_paths_may_be_str_pathlike_or_bytes(tmp_path):
    path = tmp_path / "p.npy"
    np.save(path, np.arange(6, dtype=np.int16))
    for p in (path, str(path), os.fsencode(path)):
        assert np.asarray(nc.open_npy(p)).tolist() == list(range(6))


def test_modes(tmp_path):
    path = tmp_path / "m.npy"
    np.save(path, np.arange(10, dtype=np.int32))
    r = nc.open_npy(path)
    assert r.readonly and not np.asarray(r).flags.writeable
    c = nc.open_npy(path, mode="c")
    np.asarray(c)[0] = -1
    assert np.asarray(r)[0] == 0 and np.load(path)[0] == 0  # private
    w = nc.open_npy(path, mode="r+")
    np.asarray(w)[1] = 99
    assert np.asarray(r)[1] == 99 and np.load(path)[1] == 99  # shared with the file
    with pytest.raises(ValueError, match="mode 'w'"):
        nc.open_npy(path, mode="w")


def test_view_outlives_file_and_handle(tmp_path):
    path = tmp_path / "l.npy"
    np.save(path, np.arange(1000, dtype=np.float64))
    v = nc.open_npy(path)[100:110]
    os.unlink(path)
    np.testing.assert_array_equal(np.asarray(v), np.arange(100, 110))
    t = np.asarray(v)
    del v
    np.testing.assert_array_equal(t, np.arange(100, 110))


def test_advise(tmp_path):
    path = tmp_path / "adv.npy"
    np.save(path, np.ones((64, 1024), np.float32))
    v = nc.open_npy(path)
    for advice in ("sequential", "random", "willneed", "dontneed", "normal"):
        v[10:20].advise(advice)
    assert float(np.asarray(v).sum()) == 64 * 1024  # dontneed on a file mapping keeps data
    with pytest.raises(ValueError, match="advice 'fast'"):
        v.advise("fast")
    with pytest.raises(ValueError, match="memory-mapped"):
        nc.view(np.zeros(10)).advise("random")
    with pytest.raises(ValueError, match="copy-on-write"):
        nc.open_npy(path, mode="c").advise("dontneed")
    with nc.SharedArray.create((10, 10), "uint8") as sa:
        sa.view[2:5].advise("willneed")


def test_sparse_32gb_file_small_rss(tmp_path):
    path = tmp_path / "huge.npy"
    shape = (32 * 1024, 1024, 1024)  # 32 GiB of uint8
    try:
        v = nc.create_npy(path, shape, "uint8", sparse=True)
    except OSError as exc:  # a filesystem without sparse files or 32 GiB files
        pytest.skip(f"filesystem cannot hold a sparse 32 GiB file: {exc}")
    st_ = os.stat(path)
    assert st_.st_size > 32 * 2**30 and st_.st_blocks * 512 < 2**20  # sparse on disk
    np.asarray(v[5, 7])[:16] = np.arange(16)
    np.asarray(v[-1, -1])[-4:] = 9
    del v
    before = rss_bytes()
    w = nc.open_npy(path)
    assert w.shape == shape and w.nbytes == 32 * 2**30
    a = np.asarray(w)
    np.testing.assert_array_equal(a[5, 7, :16], np.arange(16))
    assert (a[-1, -1, -4:] == 9).all()
    total = 0
    for i in range(0, shape[0], 4096):  # a few slices across the file
        total += int(a[i, ::256, ::256].sum())
    assert total == 0
    grown = rss_bytes() - before
    assert grown < 64 * 2**20, f"RSS grew by {grown} bytes"
    mm = np.load(path, mmap_mode="r")
    assert mm.shape == shape and mm[5, 7, 3] == 3


def _npy(text: str, data: bytes = b"", version=1) -> bytes:
    h = text.encode("latin1")
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + data
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<I", len(h)) + h + data


OK = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n"
CORRUPT = [
    ("empty", b"", "at least 10"),
    ("not npy", b"PK\x03\x04" + b"\0" * 60, "magic"),
    ("version 4", b"\x93NUMPY\x04\x00" + b"\x10\x00" + b" " * 16, "version 4.0"),
    ("header past end", b"\x93NUMPY\x01\x00\xff\xff" + b" " * 20, "runs past the end"),
    ("header too large", b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**31) + b" " * 64,
     "exceeds the limit"),
    ("no newline", _npy(OK[:-1] + " ", b"\0" * 8), "newline"),
    ("missing shape", _npy("{'descr': '<f4', 'fortran_order': False}\n"), "missing key 'shape'"),
    ("extra key", _npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}\n"),
     "unexpected key"),
    ("duplicate key", _npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
                           "'shape': (2,)}\n"), "duplicate"),
    ("big-endian", _npy(OK.replace("<f4", ">f4"), b"\0" * 8), "big-endian"),
    ("object", _npy(OK.replace("'<f4'", "'|O'"), b"\0" * 16), "object"),
    ("structured", _npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}\n"),
     "structured"),
    ("string dtype", _npy(OK.replace("<f4", "<U4"), b"\0" * 32), "not a supported dtype"),
    ("negative dim", _npy(OK.replace("(2,)", "(-2,)")), "negative"),
    ("int overflow", _npy(OK.replace("(2,)", "(" + "9" * 30 + ",)")), "int64"),
    ("bad bool", _npy(OK.replace("False", "None"), b"\0" * 8), "True or False"),
    ("not a tuple", _npy(OK.replace("(2,)", "(2)"), b"\0" * 8), "not a tuple"),
    ("code injection", _npy("{'descr': __import__('os').system('x'), 'fortran_order': False, "
                            "'shape': (2,)}\n"), "quoted string"),
    ("truncated data", _npy(OK, b"\0" * 7), "truncated"),
]


@pytest.mark.parametrize("what,content,fragment", CORRUPT, ids=[c[0] for c in CORRUPT])
def test_corrupt_headers_raise_clear_errors(tmp_path, what, content, fragment):
    path = tmp_path / "bad.npy"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=fragment) as info:
        nc.open_npy(path)
    assert "bad.npy" in str(info.value)


def test_size_overflow_is_overflow_error(tmp_path):
    path = tmp_path / "o.npy"
    path.write_bytes(_npy(OK.replace("(2,)", "(4611686018427387904, 4)")))
    with pytest.raises(OverflowError):
        nc.open_npy(path)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash(tmp_path_factory, blob):
    path = tmp_path_factory.mktemp("r") / "r.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00" + blob)
    try:
        nc.open_npy(path)
    except (ValueError, OverflowError):
        pass


def test_create_errors(tmp_path):
    with pytest.raises(ValueError, match="negative"):
        nc.create_npy(tmp_path / "n.npy", (-1,), "float32")
    with pytest.raises(OverflowError):
        nc.create_npy(tmp_path / "n.npy", (2**62, 16), "float32")
    with pytest.raises(ValueError, match="bfloat16"):
        nc.create_npy(tmp_path / "n.npy", (1,), "bfloat16")
    with pytest.raises(FileNotFoundError, match="no_such_dir") as info:
        nc.create_npy(tmp_path / "no_such_dir" / "n.npy", (1,), "float32")
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == str(tmp_path / "no_such_dir" / "n.npy")
    with pytest.raises(FileNotFoundError, match="missing.npy") as info:
        nc.open_npy(tmp_path / "missing.npy")
    assert info.value.errno == errno.ENOENT and info.value.filename == str(tmp_path / "missing.npy")
    with pytest.raises(IsADirectoryError) as info:
        nc.open_npy(tmp_path)
    assert info.value.filename == str(tmp_path)
    locked = tmp_path / "locked.npy"
    np.save(locked, np.zeros(3))
    locked.chmod(0)
    if os.geteuid() != 0:  # root reads anything
        with pytest.raises(PermissionError):
            nc.open_npy(locked)
    with pytest.raises(OSError) as info:
        nc.create_npy(tmp_path / ("x" * 300 + ".npy"), (1,), "uint8")
    assert info.value.errno == errno.ENAMETOOLONG


# --- never destroy what the call did not create (issue: create_npy deleted the path) ----------
def _listing(d):
    return sorted(os.listdir(d))


def test_failed_create_keeps_the_existing_file(tmp_path):
    path = tmp_path / "x.npy"
    path.write_bytes(b"data")
    with pytest.raises((OSError, OverflowError)):
        nc.create_npy(path, (2**40, 2**20), "uint8")  # 1 EiB: sizing or mapping fails
    assert path.read_bytes() == b"data"
    assert _listing(tmp_path) == ["x.npy"]  # and no temporary file is left behind


@pytest.mark.parametrize("kind", ["fifo", "dir", "device"])
def test_create_refuses_targets_that_are_not_regular_files(tmp_path, kind):
    if kind == "fifo":
        target = tmp_path / "pipe.npy"
        os.mkfifo(target)
        error = ValueError
    elif kind == "dir":
        target = tmp_path / "d.npy"
        target.mkdir()
        (target / "inside").write_bytes(b"keep")
        error = IsADirectoryError
    else:
        target = "/dev/null"  # as root, the old code deleted it on failure
        error = ValueError
    before = os.stat(target)
    with pytest.raises(error, match="regular file|Is a directory"):
        nc.create_npy(target, (4,), "uint8")
    after = os.stat(target)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    if kind == "dir":
        assert (tmp_path / "d.npy" / "inside").read_bytes() == b"keep"
    assert _listing(tmp_path) == ([] if kind == "device" else [os.path.basename(target)])


def test_open_npy_of_a_fifo_does_not_block(tmp_path):
    fifo = tmp_path / "f.npy"
    os.mkfifo(fifo)
    code = ("import sys, nocopy as nc\n"
            "try:\n    nc.open_npy(sys.argv[1])\n"
            "except ValueError as e:\n    print('refused', e)\n")
    res = subprocess.run([sys.executable, "-c", code, str(fifo)], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.startswith("refused"), res.stderr
    assert "FIFO" in res.stdout


def test_replacing_a_mapped_file_keeps_old_views_reading_old_values(tmp_path):
    path = tmp_path / "r.npy"
    ref = np.arange(50_000, dtype=np.int64)
    np.save(path, ref)
    os.chmod(path, 0o640)
    old = nc.open_npy(path)
    old_np = np.asarray(nc.open_npy(path, mode="r+"))
    new = nc.create_npy(path, (7,), "float32")  # same path, while both mappings live
    np.asarray(new)[:] = 1.5
    np.testing.assert_array_equal(np.asarray(old), ref)  # no SIGBUS: the old file's pages
    np.testing.assert_array_equal(old_np, ref)
    np.testing.assert_array_equal(np.load(path), np.full(7, 1.5, np.float32))
    assert os.stat(path).st_mode & 0o777 == 0o640  # the replaced file's permissions are kept
    assert _listing(tmp_path) == ["r.npy"]


def test_create_through_a_symlink_replaces_the_linked_file(tmp_path):
    real = tmp_path / "real.npy"
    np.save(real, np.zeros(2))
    link = tmp_path / "link.npy"
    link.symlink_to(real)
    nc.create_npy(link, (3,), "uint8")
    assert link.is_symlink() and np.load(real).shape == (3,)


@pytest.mark.parametrize("call", ["open", "create", "open_c"])
def test_nul_byte_in_a_path_is_a_value_error(tmp_path, call):
    np.save(tmp_path / "real.npy", np.zeros(2))
    with pytest.raises(ValueError, match="NUL|null"):
        if call == "open":
            nc.open_npy(str(tmp_path / "real.npy") + "\x00junk")
        elif call == "open_c":
            nc.open_npy(str(tmp_path / "real.npy") + "\x00", mode="c")
        else:
            nc.create_npy(str(tmp_path / "data") + "\x00.npy", (2,), "uint8")
    assert _listing(tmp_path) == ["real.npy"]


@pytest.mark.parametrize("shape", [(2**63,), (3, 2**64), 2**63])
def test_shape_beyond_int64_is_overflow_error_naming_it(tmp_path, shape):
    target = tmp_path / "big.npy"
    with pytest.raises(OverflowError, match="shape"):
        nc.create_npy(target, shape, "uint8")
    assert not target.exists()
    with pytest.raises(OverflowError, match="shape"):
        nc.SharedArray.create(shape, "uint8")
