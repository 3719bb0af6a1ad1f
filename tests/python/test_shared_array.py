"""Shared arrays across processes: create/attach, zero-copy exports, pickling by reference with
fork / spawn / ProcessPoolExecutor, lifetime and unlink rules, permissions, corrupt segments,
a full /dev/shm, and the `python -m nocopy shm` CLI."""

import concurrent.futures
import multiprocessing as mp
import os
import pickle
import signal
import stat
import struct
import subprocess
import sys
import uuid

import numpy as np
import pytest

import nocopy as nc
from nocopy._cli import shm as shm_cli

SHM = "/dev/shm"


def exists(name: str) -> bool:
    return os.path.exists(os.path.join(SHM, name))


def unique(prefix="nocopy-pytest") -> str:
    return f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:12]}"


# --- workers (module level so spawn can import them) -----------------------------------------
def _write_row_by_name(name: str, row: int) -> int:
    sa = nc.SharedArray.attach(name)
    a = np.asarray(sa)
    a[row] = np.arange(a.shape[1], dtype=a.dtype) + row * 1000
    sa.close()
    return os.getpid()


def _write_into_view(v, value) -> int:
    a = np.asarray(v)
    a[...] = value
    return os.getpid()


def _sum_view(v) -> float:
    return float(np.asarray(v).sum())


def _readonly_check(v) -> bool:
    return bool(np.asarray(v).flags.writeable)


# --- basics ------------------------------------------------------------------------------------
def test_create_attach_share_memory():
    with nc.SharedArray.create((4, 5), np.float32) as sa:
        assert sa.is_creator and sa.name.startswith(f"nocopy-{os.getpid()}-")
        assert sa.shape == (4, 5) and sa.dtype == np.float32 and sa.nbytes == 80
        a = np.asarray(sa)
        assert a.ctypes.data == sa.view.data_ptr and a.ctypes.data % 4096 == 0
        assert not a.any()  # starts zeroed
        a[2, 3] = 1.5
        sb = nc.SharedArray.attach(sa.name)
        assert not sb.is_creator
        b = np.asarray(sb)
        assert b[2, 3] == 1.5 and b.ctypes.data != a.ctypes.data  # a second mapping
        b[0] = 7
        np.testing.assert_array_equal(a[0], 7)
        v = nc.view(sa)
        assert v.shape == (4, 5) and v.data_ptr == a.ctypes.data
        assert v._owner_kind == "shm" and len(pickle.dumps(v)) < 512  # still a shm view
        assert nc.shares_memory(sa, a) and nc.shares_memory(nc.crop(sa, 1, 1, 2, 2, axes=(0, 1)), a)
        d = np.from_dlpack(sa)
        assert d.ctypes.data == a.ctypes.data and d[2, 3] == 1.5
        assert np.asarray(sa[1:3, ::2]).ctypes.data == a[1:3, ::2].ctypes.data
        sb.close()
    assert not exists(sa.name)


def test_torch_shares_shared_array():
    torch = pytest.importorskip("torch")
    with nc.SharedArray.create((3, 4), np.int64) as sa:
        t = torch.from_dlpack(sa)
        t[1, 2] = 42
        assert np.asarray(sa)[1, 2] == 42
        assert t.data_ptr() == sa.view.data_ptr


def test_readonly_attach():
    with nc.SharedArray.create(10, "uint8") as sa:
        ro = nc.SharedArray.attach(sa.name, readonly=True)
        a = np.asarray(ro)
        assert ro.readonly and not a.flags.writeable
        with pytest.raises(ValueError):
            a[0] = 1
        np.asarray(sa)[0] = 9
        assert a[0] == 9
        ro.close()


def test_close_keeps_views_and_removes_name():
    sa = nc.SharedArray.create((100,), np.int32)
    name = sa.name
    v = sa.view[10:20]
    a = np.asarray(sa)
    a[:] = np.arange(100)
    sa.close()
    assert sa.closed and not exists(name)
    np.testing.assert_array_equal(np.asarray(v), np.arange(10, 20))  # still mapped
    np.testing.assert_array_equal(a[95:], np.arange(95, 100))
    with pytest.raises(ValueError, match="closed"):
        sa.view
    with pytest.raises(ValueError, match="no shared array named"):
        nc.SharedArray.attach(name)
    sa.close()  # idempotent
    assert "closed" in repr(sa)


def test_garbage_collection_removes_name_after_last_view():
    sa = nc.SharedArray.create((8,), np.float64)
    name = sa.name
    v = sa.view
    del sa
    assert exists(name)  # the creator's view still holds it
    del v
    assert not exists(name)
    v = nc.SharedArray.create((8,), np.float64).view  # temporary handle: the view keeps the name
    name = nc._nocopy._shm_reference(v)[0]
    assert exists(name)
    assert pickle.loads(pickle.dumps(v)).shape == (8,)
    del v
    assert not exists(name)


def test_persist_and_cli_list_rm():
    name = unique()
    sa = nc.SharedArray.create((2, 3), "int16", name=name, persist=True)
    assert sa.persist and sa.name == name
    sa.close()
    assert exists(name)
    out = subprocess.run([sys.executable, "-m", "nocopy", "shm", "list"], capture_output=True,
                         text=True, check=True).stdout
    line = next(l for l in out.splitlines() if l.startswith(name))
    assert "int16" in line and "(2, 3)" in line and str(os.getpid()) in line
    rows = {r["name"]: r for r in shm_cli.list_segments()}
    assert rows[name]["persist"] and rows[name]["alive"] and rows[name]["shape"] == (2, 3)
    res = subprocess.run([sys.executable, "-m", "nocopy", "shm", "rm", name],
                         capture_output=True, text=True)
    assert res.returncode == 0 and not exists(name)
    res = subprocess.run([sys.executable, "-m", "nocopy", "shm", "rm", name],
                         capture_output=True, text=True)
    assert res.returncode == 1 and name in res.stderr


def test_cli_gc_removes_dead_creators_segments():
    code = ("import os, nocopy as nc\n"
            "sa = nc.SharedArray.create((16,), 'uint8')\n"
            "print(sa.name, flush=True)\n"
            "os._exit(0)\n")  # dies without any cleanup
    name = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert exists(name)
    with nc.SharedArray.create((4,), "uint8") as mine:
        row = {r["name"]: r for r in shm_cli.list_segments()}[name]
        assert row["alive"] is False
        out = subprocess.run([sys.executable, "-m", "nocopy", "shm", "gc"], capture_output=True,
                             text=True, check=True).stdout
        assert f"removed {name}" in out
        assert not exists(name) and exists(mine.name)


def test_interpreter_exit_removes_creators_names():
    code = ("import numpy as np, nocopy as nc\n"
            "sa = nc.SharedArray.create((16,), 'uint8')\n"
            "keep = [sa.view, np.asarray(sa)]\n"
            "print(sa.name, flush=True)\n")
    name = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert name and not exists(name)


def test_permissions_default_0600_and_mode():
    with nc.SharedArray.create(4, "uint8") as sa:
        assert stat.S_IMODE(os.stat(os.path.join(SHM, sa.name)).st_mode) == 0o600
    old = os.umask(0o077)
    try:
        with nc.SharedArray.create(4, "uint8", mode=0o644) as sa:
            assert stat.S_IMODE(os.stat(os.path.join(SHM, sa.name)).st_mode) == 0o644
    finally:
        os.umask(old)
    with pytest.raises(ValueError):
        nc.SharedArray.create(4, "uint8", mode=0o10000)


def test_bad_arguments():
    name = unique()
    with nc.SharedArray.create(4, "uint8", name="/" + name) as sa:
        assert sa.name == name
        with pytest.raises(ValueError, match="already exists"):
            nc.SharedArray.create(4, "uint8", name=name)
    with pytest.raises(ValueError, match="negative"):
        nc.SharedArray.create((-1, 2), "uint8")
    with pytest.raises(OverflowError):
        nc.SharedArray.create((2**62, 8), "float64")
    with pytest.raises(ValueError):
        nc.SharedArray.create(4, "object")
    with pytest.raises(ValueError, match="'/'"):
        nc.SharedArray.attach("a/b")
    with pytest.raises(TypeError):
        nc.SharedArray(None)


def test_full_dev_shm_is_an_error_not_sigbus():
    st = os.statvfs(SHM)
    free = st.f_bavail * st.f_frsize
    n = free + 2**30
    with pytest.raises(RuntimeError) as info:
        nc.SharedArray.create((n,), "uint8")
    msg = str(info.value)
    assert "/dev/shm" in msg and "free" in msg and str(n + 4096) in msg


# --- corrupt / hostile segments ----------------------------------------------------------------
def _fnv(data: bytes) -> int:
    h = 1469598103934665603
    for c in data:
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def _header(typestr="<f4", shape=(10,), data_bytes=None, version=1, flags=0, offset=4096,
            checksum=None):
    nbytes = np.dtype(typestr).itemsize * int(np.prod(shape)) if data_bytes is None else data_bytes
    head = b"NOCOPYSA" + struct.pack("<IIQQ", version, 80 + 8 * len(shape), offset, nbytes)
    head += typestr.encode().ljust(8, b"\0") + struct.pack("<IIqQQ", len(shape), flags, 1, 0, 0)
    shp = b"".join(struct.pack("<q", n) for n in shape)
    return head + struct.pack("<Q", _fnv(head + shp) if checksum is None else checksum) + shp


CORRUPT = [
    ("foreign", b"hello world" * 10, 8192, "magic"),
    ("empty", b"", 0, "magic"),
    ("truncated header", _header()[:50], 50, "truncated"),
    ("truncated data", _header(), 4096 + 39, "truncated"),
    ("bad checksum", _header(checksum=1), 8192, "checksum"),
    ("future version", _header(version=2), 8192, "version 2"),
    ("unknown dtype", _header(typestr="<q9", data_bytes=40), 8192, "unknown dtype"),
    ("corrupt byte", _header()[:60] + b"\x01" + _header()[61:], 8192, "checksum"),
    ("size mismatch", _header(data_bytes=12), 8192, "data size"),
    ("bad offset", _header(offset=64), 8192, "data offset"),
    ("flags", _header(flags=4), 8192, "flags"),
    ("negative dim", _header(shape=(-3,), data_bytes=0), 8192, "negative"),
]


@pytest.mark.parametrize("what,content,size,fragment", CORRUPT, ids=[c[0] for c in CORRUPT])
def test_corrupt_segments_raise_clear_errors(what, content, size, fragment):
    name = unique("nocopy-pytest-raw")
    path = os.path.join(SHM, name)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        os.ftruncate(fd, size)
        os.pwrite(fd, content[:size], 0)
        with pytest.raises(ValueError, match=fragment) as info:
            nc.SharedArray.attach(name)
        assert name in str(info.value)
    finally:
        os.close(fd)
        os.unlink(path)


def test_hostile_pickled_reference_is_refused():
    with nc.SharedArray.create((10,), "float32") as sa:
        _, args = pickle.loads(pickle.dumps(sa.view[2:5])).__reduce__()
        name, offset, shape, strides, dtype, ro = args
        bad = [(name, -4, shape, strides, dtype, ro), (name, 36, (5,), strides, dtype, ro),
               (name, 0, (11,), (4,), dtype, ro), (name, 4, (3,), (-4,), dtype, ro),
               (name, 0, (2,), (3,), dtype, ro)]
        for args in bad:
            with pytest.raises(ValueError):
                nc._storage._view_from_reference(*args)
        ok = nc._storage._view_from_reference(name, 8, (3,), (-4,), dtype, ro)
        np.asarray(sa)[:] = np.arange(10)
        np.testing.assert_array_equal(np.asarray(ok), [2, 1, 0])


# --- processes ---------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_processes_write_disjoint_rows(method):
    ctx = mp.get_context(method)
    with nc.SharedArray.create((4, 256), np.int64) as sa:
        with ctx.Pool(2) as pool:
            pids = pool.starmap(_write_row_by_name, [(sa.name, r) for r in range(4)])
        assert os.getpid() not in pids
        expect = np.arange(256)[None, :] + 1000 * np.arange(4)[:, None]
        np.testing.assert_array_equal(np.asarray(sa), expect)
        assert exists(sa.name)  # workers attached and exited: the name is intact


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_pickled_views_reach_workers_by_reference(method):
    ctx = mp.get_context(method)
    with nc.SharedArray.create((6, 1000), np.float32) as sa:
        slices = [sa.view[i : i + 2] for i in range(0, 6, 2)]
        with ctx.Pool(2) as pool:
            pool.starmap(_write_into_view, [(v, i + 1.0) for i, v in enumerate(slices)])
            flags = pool.map(_readonly_check, [sa.view.as_readonly(), sa.view])
        a = np.asarray(sa)
        np.testing.assert_array_equal(a[:, 0], [1, 1, 2, 2, 3, 3])
        assert flags == [False, True]


def test_process_pool_executor_spawn():
    ctx = mp.get_context("spawn")
    with nc.SharedArray.create((8, 128), np.float64) as sa:
        np.asarray(sa)[:] = np.arange(8)[:, None]
        with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as ex:
            sums = list(ex.map(_sum_view, [sa.view[i] for i in range(8)] + [sa]))
        assert sums[:8] == [128.0 * i for i in range(8)]
        assert sums[8] == float(np.asarray(sa).sum())


def test_pickle_payload_is_small_reference():
    sa = nc.SharedArray.create((4, 2**30), np.uint8)  # 4 GiB, pages reserved but untouched
    try:
        v = sa.view[1:3, ::2]
        data = pickle.dumps(v)
        assert len(data) < 512
        w = pickle.loads(data)
        assert w.shape == v.shape and w.strides == v.strides and w._dtype_name == "uint8"
        np.asarray(v)[0, 5] = 17
        assert np.asarray(w)[0, 5] == 17
        assert len(pickle.dumps(sa)) < 256
        assert pickle.loads(pickle.dumps(sa)).shape == (4, 2**30)
    finally:
        sa.close()
    with pytest.raises(ValueError, match="closed"):
        pickle.dumps(sa)
    with pytest.raises(TypeError, match="cannot be pickled by reference"):
        pickle.dumps(nc.view(np.zeros(3)))


def test_kill_9_of_attached_child_leaves_segment():
    with nc.SharedArray.create((16,), np.int32) as sa:
        code = ("import sys, time, numpy as np, nocopy as nc\n"
                "sa = nc.SharedArray.attach(sys.argv[1])\n"
                "np.asarray(sa)[3] = 77\n"
                "print('ready', flush=True)\n"
                "time.sleep(60)\n")
        p = subprocess.Popen([sys.executable, "-c", code, sa.name], stdout=subprocess.PIPE,
                             text=True)
        try:
            assert p.stdout.readline().strip() == "ready"
            os.kill(p.pid, signal.SIGKILL)
            assert p.wait(timeout=30) == -signal.SIGKILL
        finally:
            p.kill()
            p.stdout.close()
        assert exists(sa.name)
        assert nc.SharedArray.attach(sa.name).view.shape == (16,)
        assert np.asarray(sa)[3] == 77
    assert not exists(sa.name)


def test_child_that_attached_and_exited_leaves_segment():
    with nc.SharedArray.create((16,), np.int32) as sa:
        code = ("import sys, numpy as np, nocopy as nc\n"
                "sa = nc.SharedArray.attach(sys.argv[1])\n"
                "np.asarray(sa)[:] = 5\n")
        subprocess.run([sys.executable, "-c", code, sa.name], check=True)
        assert exists(sa.name)
        np.testing.assert_array_equal(np.asarray(sa), 5)


def test_forked_child_with_creator_handle_does_not_unlink():
    with nc.SharedArray.create((4,), np.int32) as sa:
        pid = os.fork()
        if pid == 0:  # the child closes the inherited creator handle and exits normally
            try:
                sa.close()
                np.asarray(nc.SharedArray.attach(sa.name))[0] = 11
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        assert exists(sa.name) and np.asarray(sa)[0] == 11


def test_header_written_by_the_format_spec_attaches():
    """A segment whose header is packed here from the documented layout attaches, so the
    format is what the header comment says (other languages can write it)."""
    name = unique("nocopy-pytest-spec")
    path = os.path.join(SHM, name)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        os.ftruncate(fd, 4096 + 6 * 2)
        os.pwrite(fd, _header("<f2", (3, 2)), 0)
        os.pwrite(fd, np.arange(6, dtype="<f2").tobytes(), 4096)
        sa = nc.SharedArray.attach(name)
        assert not sa.is_creator
        np.testing.assert_array_equal(np.asarray(sa), np.arange(6, dtype=np.float16).reshape(3, 2))
        sa.close()
        assert exists(name)  # attachers never unlink
    finally:
        os.close(fd)
        os.unlink(path)
