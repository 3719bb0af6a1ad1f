"""Shared arrays across processes: create/attach, zero-copy exports, pickling by reference with
fork / spawn / ProcessPoolExecutor, lifetime and unlink rules, permissions, corrupt segments,
a full /dev/shm, and the `python -m nocopy shm` CLI."""

import concurrent.futures
import errno
import fcntl
import multiprocessing as mp
import os
import pickle
import signal
import stat
import struct
import subprocess
import sys
import time
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
    with pytest.raises(FileNotFoundError, match="no shared array") as info:
        nc.SharedArray.attach(name)
    assert info.value.errno == errno.ENOENT and info.value.filename == name
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
        with pytest.raises(FileExistsError, match="already exists") as info:
            nc.SharedArray.create(4, "uint8", name=name)
        assert info.value.filename == name
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
    for bad in ["a\x00b", "/a\x00"]:
        with pytest.raises(ValueError, match="NUL"):
            nc.SharedArray.create(4, "uint8", name=bad)
        with pytest.raises(ValueError, match="NUL"):
            nc.SharedArray.attach(bad)
        with pytest.raises(ValueError, match="NUL"):
            nc._nocopy._shm_remove(os.fsencode(bad))


def test_full_dev_shm_is_an_error_not_sigbus():
    st = os.statvfs(SHM)
    free = st.f_bavail * st.f_frsize
    n = free + 2**30
    with pytest.raises(OSError) as info:
        nc.SharedArray.create((n,), "uint8")
    assert info.value.errno == errno.ENOSPC
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
        name, offset, shape, strides, dtype, ro, device, inode = args
        assert (device, inode) == sa._handle.identity
        bad = [(name, -4, shape, strides, dtype, ro), (name, 36, (5,), strides, dtype, ro),
               (name, 0, (11,), (4,), dtype, ro), (name, 4, (3,), (-4,), dtype, ro),
               (name, 0, (2,), (3,), dtype, ro)]
        for args in bad:
            with pytest.raises(ValueError):
                nc._storage._view_from_reference(*args)
        ok = nc._storage._view_from_reference(name, 8, (3,), (-4,), dtype, ro)
        np.asarray(sa)[:] = np.arange(10)
        np.testing.assert_array_equal(np.asarray(ok), [2, 1, 0])


def _total(v) -> float:
    return float(np.asarray(v).sum())


def test_a_reference_to_a_removed_or_reused_name_is_refused():
    # A reference names the segment; the sender checks that the name is still its segment and
    # the receiver that it attached the same one (device and inode), so a removed name is an
    # error in the sender (a multiprocessing.Pool once lost the task and hung) and a reused
    # name is never read in place of the sender's data.
    name = unique()
    owner = nc.SharedArray.create((4,), "f4", name=name)
    np.asarray(owner)[:] = 1
    mine = nc.SharedArray.attach(name)
    early_view, early_array = pickle.dumps(mine.view[1:3]), pickle.dumps(mine)
    owner.close()  # the creator (standing for another process) removes the name
    for obj in (mine.view, mine.view[1:3], mine):
        with pytest.raises(ValueError, match=f"'{name}' is no longer under its name"):
            pickle.dumps(obj)
    with mp.get_context("fork").Pool(1) as pool:
        with pytest.raises(ValueError, match="no longer under its name"):
            pool.apply_async(_total, (mine.view,)).get(timeout=60)
    newer = nc.SharedArray.create((4,), "f4", name=name)  # the name reused
    try:
        np.asarray(newer)[:] = 99
        with pytest.raises(ValueError, match="no longer under its name"):
            pickle.dumps(mine.view)
        for data in (early_view, early_array):
            with pytest.raises(ValueError, match=f"'{name}' now names another segment"):
                pickle.loads(data)
        assert np.asarray(mine).tolist() == [1, 1, 1, 1]  # the attacher's own data is intact
        assert pickle.loads(pickle.dumps(newer.view)).shape == (4,)  # the new one travels
    finally:
        newer.close()
        mine.close()


def test_mode_is_an_integer_in_range():
    for bad, err in ((2**40, ValueError), (-1, ValueError), (2**70, OverflowError),
                     (1.5, TypeError), (True, TypeError), ("600", TypeError)):
        with pytest.raises(err, match="mode"):
            nc.SharedArray.create(4, "uint8", mode=bad)
    with nc.SharedArray.create(4, "uint8", mode=np.int16(0o640)) as sa:
        assert stat.S_IMODE(os.stat(os.path.join(SHM, sa.name)).st_mode) == 0o640


def test_a_directory_under_the_name_is_is_a_directory_error():
    name = unique()
    os.mkdir(os.path.join(SHM, name))
    try:
        for readonly in (True, False):
            with pytest.raises(IsADirectoryError):
                nc.SharedArray.attach(name, readonly=readonly)
        with pytest.raises(IsADirectoryError):
            nc.SharedArray.adopt(name)
        assert os.path.isdir(os.path.join(SHM, name))  # and nothing removed it
    finally:
        os.rmdir(os.path.join(SHM, name))


def test_cli_rm_removes_a_name_that_is_not_utf8():
    name = unique()
    with nc.SharedArray.create((3,), "uint8", name=name) as sa:
        odd = os.fsencode(name) + b"-\xff"
        with open(os.path.join(SHM, name), "rb") as src, \
                open(os.path.join(os.fsencode(SHM), odd), "wb") as dst:
            dst.write(src.read())  # a valid segment under a name with an undecodable byte
        try:
            res = subprocess.run([sys.executable, "-m", "nocopy", "shm", "rm", odd],
                                 capture_output=True, text=True)
            assert res.returncode == 0, res.stderr
            assert "removed" in res.stdout and "\\xff" in res.stdout
            assert not os.path.exists(os.path.join(os.fsencode(SHM), odd))
        finally:
            if os.path.exists(os.path.join(os.fsencode(SHM), odd)):
                os.remove(os.path.join(os.fsencode(SHM), odd))
        assert exists(sa.name)


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


# --- FIFOs under a segment's name never block (they used to hang forever) ---------------------
def _run_with_timeout(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=60)


def test_fifo_under_the_name_is_refused_without_blocking():
    name = unique("nocopy-pytest-fifo")
    path = os.path.join(SHM, name)
    os.mkfifo(path, 0o600)
    try:
        code = ("import sys, nocopy as nc\n"
                "for ro in (True, False):\n"
                "    try:\n        nc.SharedArray.attach(sys.argv[1], readonly=ro)\n"
                "    except ValueError as e:\n        print('refused', e)\n")
        res = _run_with_timeout(code, name)
        assert res.returncode == 0 and res.stdout.count("refused") == 2, res.stderr
        assert "FIFO" in res.stdout
        res = subprocess.run([sys.executable, "-m", "nocopy", "shm", "rm", name],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 1 and "not a regular file" in res.stderr
        res = subprocess.run([sys.executable, "-m", "nocopy", "shm", "list"],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0 and name not in res.stdout
        assert stat.S_ISFIFO(os.stat(path).st_mode)  # and nothing removed it
    finally:
        os.unlink(path)


# --- shm list prints names escaped -------------------------------------------------------------
def test_shm_list_escapes_hostile_names():
    evil = unique("nocopy-pytest-evil") + "\nfake-row 1.0 KiB uint8 (1,) 1 yes no\x1b[31m\\"
    sa = nc.SharedArray.create((1,), "uint8", name=evil)
    raw = unique("nocopy-pytest-bytes").encode() + b"\xff\xfe"
    raw_path = os.path.join(SHM.encode(), raw)
    fd = os.open(raw_path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        os.ftruncate(fd, 4096 + 40)
        os.pwrite(fd, _header(), 0)
        out = subprocess.run([sys.executable, "-m", "nocopy", "shm", "list"], capture_output=True,
                             check=True, timeout=60).stdout
        assert b"\x1b" not in out and b"\xff" not in out
        text = out.decode()
        assert not any(line.startswith("fake-row") for line in text.splitlines())
        assert shm_cli.printable(evil) in text and "\\n" in text and "\\x1b" in text
        assert "\\xff\\xfe" in text
        rows = {r["name"]: r for r in shm_cli.list_segments()}
        assert rows[evil]["alive"] and os.fsdecode(raw) in rows
    finally:
        os.close(fd)
        os.unlink(raw_path)
        sa.close()
    assert shm_cli.printable("ok-name_1.2") == "ok-name_1.2"
    assert shm_cli.printable("a\nb\\c\x07") == "a\\nb\\\\c\\x07"


# --- liveness by the owner's lock, valid across PID namespaces --------------------------------
def test_gc_keeps_a_segment_whose_owner_holds_the_lock_whatever_its_pid():
    """A segment whose header names "pid 1" (its creator runs in another PID namespace) stays
    while a process holds the owner lock on it, and is reclaimed once that process dies."""
    name = unique("nocopy-pytest-ns")
    path = os.path.join(SHM, name)
    head = bytearray(_header("<f4", (10,)))
    struct.pack_into("<qQ", head, 48, 1, 1)  # creator pid 1, start time 1: not us, not init
    struct.pack_into("<Q", head, 72, _fnv(bytes(head[:72]) + bytes(head[80:])))
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    os.ftruncate(fd, 4096 + 40)
    os.pwrite(fd, bytes(head), 0)
    os.close(fd)
    code = ("import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
            "fcntl.flock(fd, fcntl.LOCK_SH)\n"
            "print('locked', flush=True)\n"
            "time.sleep(120)\n")
    owner = subprocess.Popen([sys.executable, "-c", code, path], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert owner.stdout.readline().strip() == "locked"
        row = {r["name"]: r for r in shm_cli.list_segments()}[name]
        assert row["creator_pid"] == 1 and row["alive"] is True
        out = subprocess.run([sys.executable, "-m", "nocopy", "shm", "gc"], capture_output=True,
                             text=True, check=True, timeout=60).stdout
        assert name not in out and exists(name)
        owner.kill()
        owner.wait(timeout=30)
        assert {r["name"]: r for r in shm_cli.list_segments()}[name]["alive"] is False
        out = subprocess.run([sys.executable, "-m", "nocopy", "shm", "gc"], capture_output=True,
                             text=True, check=True, timeout=60).stdout
        assert f"removed {name}" in out and not exists(name)
    finally:
        owner.kill()
        owner.stdout.close()
        if exists(name):
            os.unlink(path)


def test_creator_holds_the_lock_for_its_lifetime():
    with nc.SharedArray.create((4,), "uint8") as sa:
        fd = os.open(os.path.join(SHM, sa.name), os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            sa.close()  # closed and unlinked; no view left: the mapping and its lock are gone
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)


def test_gc_removes_truncated_segments_of_dead_creators():
    names = []
    for content, size in [(_header()[:50], 50), (_header(), 4096 + 3), (_header(checksum=1), 8192)]:
        name = unique("nocopy-pytest-bad")
        fd = os.open(os.path.join(SHM, name), os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        os.ftruncate(fd, size)
        os.pwrite(fd, content[:size], 0)
        os.close(fd)
        names.append(name)
    rows = {r["name"]: r for r in shm_cli.list_segments()}
    assert all(rows[n]["problem"] for n in names)
    out = subprocess.run([sys.executable, "-m", "nocopy", "shm", "gc"], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    for n in names:
        assert f"removed {n}" in out and not exists(n)


# --- handing a worker's array to another process -----------------------------------------------
def _create_and_hand_off(i: int) -> str:
    sa = nc.SharedArray.create((3, 4), np.int32)
    np.asarray(sa)[:] = i
    return sa.handoff()  # the worker drops sa right after: the name survives for the adopter


def _create_and_return_view(i: int):
    sa = nc.SharedArray.create((3, 4), np.int32)
    np.asarray(sa)[:] = i
    return sa.view[1:]  # unsupported: the worker removes the name when it drops the array


def _create_and_return_handle(i: int):
    sa = nc.SharedArray.create((2,), np.int32)
    return sa


_KEPT = []



def _create_and_keep(i: int) -> tuple:
    sa = nc.SharedArray.create((1000,), np.uint8)
    _KEPT.append(sa)  # stays open until the worker ends (SIGTERM, os._exit at pool shutdown)
    return sa.name, os.getpid()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_handoff_from_pool_workers_and_adopt(method):
    ctx = mp.get_context(method)
    with ctx.Pool(2) as pool:
        names = pool.map_async(_create_and_hand_off, range(4)).get(timeout=120)
    adopted = [nc.SharedArray.adopt(n) for n in names]
    for i, sa in enumerate(adopted):
        assert sa.is_creator and sa.owns_name
        np.testing.assert_array_equal(np.asarray(sa), np.full((3, 4), i))
    v = adopted[0].view
    for sa in adopted:
        sa.close()
    assert not any(exists(n) for n in names)  # the adopter removed them
    assert np.asarray(v).sum() == 0  # views stay valid after close


def test_handoff_rules():
    with nc.SharedArray.create(2, "uint8") as sa:
        att = nc.SharedArray.attach(sa.name)
        with pytest.raises(ValueError, match="not owned"):
            att.handoff()
        att.close()
        assert sa.owns_name and sa.handoff() == sa.name and not sa.owns_name
        sa.close()
        assert exists(sa.name)  # handed off: this process no longer removes it
        b = nc.SharedArray.adopt(sa.name)
        b.close()
        assert not exists(sa.name)
    with pytest.raises(FileNotFoundError):
        nc.SharedArray.adopt(unique())


@pytest.mark.parametrize("method", ["fork", "spawn"])
@pytest.mark.parametrize("worker", [_create_and_return_view, _create_and_return_handle])
def test_returning_a_workers_own_array_is_a_clear_error_not_a_hang(method, worker):
    ctx = mp.get_context(method)
    with ctx.Pool(1) as pool:
        with pytest.raises(Exception, match="handoff") as info:
            pool.map_async(worker, [7]).get(timeout=120)  # hung forever before
        assert isinstance(info.value, (mp.pool.MaybeEncodingError, ValueError))
        assert pool.map_async(_create_and_hand_off, [1]).get(timeout=120)  # the pool still works
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as ex:
        with pytest.raises(ValueError, match="handoff"):
            ex.submit(worker, 7).result(timeout=120)  # was BrokenProcessPool
        name = ex.submit(_create_and_hand_off, 2).result(timeout=120)
    nc.SharedArray.adopt(name).close()


def _create_keep_and_wait(queue) -> None:
    kept = [nc.SharedArray.create((100,), np.uint8) for _ in range(3)]
    queue.put([sa.name for sa in kept])
    time.sleep(600)  # until SIGTERM


@pytest.mark.parametrize("method", ["fork", "spawn"])
@pytest.mark.parametrize("ending", ["sigterm", "pool_close"])
def test_segments_of_workers_are_reclaimed_by_gc(method, ending):
    """Workers stopped by SIGTERM, and fork-started Pool workers at pool shutdown (they end with
    os._exit), run no cleanup: the arrays they still held leak, and `shm gc` reclaims every one
    of them while keeping a live creator's segment."""
    ctx = mp.get_context(method)
    with nc.SharedArray.create((4,), "uint8") as mine:
        if ending == "sigterm":
            queue = ctx.Queue()
            procs = [ctx.Process(target=_create_keep_and_wait, args=(queue,)) for _ in range(2)]
            for p in procs:
                p.start()
            try:
                names = [n for _ in procs for n in queue.get(timeout=120)]
            finally:
                for p in procs:
                    p.terminate()  # SIGTERM
                    p.join(timeout=60)
            assert all(p.exitcode == -signal.SIGTERM for p in procs)
        else:
            with ctx.Pool(2) as pool:
                made = pool.map_async(_create_and_keep, range(6), chunksize=1).get(timeout=120)
                pool.close()
                pool.join()
            names = [name for name, _ in made]
        assert len(set(names)) == 6
        if ending == "sigterm" or method == "fork":
            assert all(exists(n) for n in names)  # leaked by the workers
        subprocess.run([sys.executable, "-m", "nocopy", "shm", "gc"], capture_output=True,
                       text=True, check=True, timeout=60)
        assert [n for n in names if exists(n)] == []
        assert exists(mine.name)  # a live creator's segment is kept
