"""nc.pack_images and `python -m nocopy pack` against a hostile or failing file system: an OUT
taken by another process while the pack runs is never replaced (FileExistsError), overwrite
replaces only an ImageSet folder and only by an atomic exchange (through a symbolic link OUT,
the folder it names); a full file system is OSError(ENOSPC) with no temporary left (pack,
create_npy, SharedArray.create on a small /dev/shm), never a SIGBUS; symbolic link loops are
walked once; FIFOs never block; skipped names are escaped when printed.

Tests that could hang or crash on a regression run the pack in a subprocess with a timeout; the
full-file-system tests mount a 1 MiB tmpfs in a private mount namespace (`unshare -m`, root)."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import nocopy as nc
from nocopy import _nocopy

Image = pytest.importorskip("PIL.Image")

HANG_LIMIT_S = 120  # far above the second a pack of these few images takes


def make_tree(root, n=2, size=(6, 5), classes=("a",), seed=0):
    """root/<class>/<k>.png: random PNGs; returns {path: array}."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for cls in classes:
        os.makedirs(os.path.join(root, cls), exist_ok=True)
        for k in range(n):
            a = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            path = os.path.join(root, cls, f"{k}.png")
            Image.fromarray(a).save(path)
            arrays[path] = a
    return arrays


def hidden(folder):
    """Entries of ``folder`` whose names start with a dot: a pack's temporary leftovers."""
    return [n for n in os.listdir(folder) if n.startswith(".")]


def run_python(code, timeout=HANG_LIMIT_S, prefix=()):
    """Runs ``code`` in a fresh interpreter (under ``prefix``, e.g. unshare) and returns the
    CompletedProcess; a run past ``timeout`` is a failure (a hang), not a stuck test suite."""
    try:
        return subprocess.run([*prefix, sys.executable, "-c", textwrap.dedent(code)],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"did not finish in {timeout} s (hung):\n{code}")


# --- 1. OUT taken while the pack runs ----------------------------------------------------------
def _take_out_during_pack(monkeypatch, action):
    """Calls ``action`` once, in the middle of the pack (at its first np.save, after the
    pixels are written and before the folder is moved into place)."""
    real_save = np.save
    done = []

    def save(*args, **kwargs):
        if not done:
            done.append(True)
            action()
        return real_save(*args, **kwargs)

    monkeypatch.setattr(np, "save", save)


@pytest.mark.parametrize("what", ["folder with a file", "empty folder", "file", "dangling link"])
def test_out_created_while_packing_is_kept_and_the_pack_fails(tmp_path, monkeypatch, what):
    make_tree(str(tmp_path / "src"))
    out = tmp_path / "out"

    def create():
        if what == "folder with a file":
            (out / "mine").mkdir(parents=True)
            (out / "mine" / "results.csv").write_text("epoch,loss\n1,0.5\n")
        elif what == "empty folder":
            out.mkdir()
        elif what == "file":
            out.write_text("mine")
        else:
            os.symlink("nowhere", out)

    _take_out_during_pack(monkeypatch, create)
    with pytest.raises(FileExistsError) as info:
        nc.pack_images(tmp_path / "src", out)
    assert info.value.errno == errno.EEXIST and info.value.filename == str(out)
    monkeypatch.undo()
    if what == "folder with a file":
        assert (out / "mine" / "results.csv").read_text() == "epoch,loss\n1,0.5\n"
    elif what == "empty folder":
        assert out.is_dir() and os.listdir(out) == []
    elif what == "file":
        assert out.read_text() == "mine"
    else:
        assert os.readlink(out) == "nowhere"
    assert hidden(tmp_path) == []  # the pack's temporary folder is gone


def test_two_packs_to_one_out_one_fails_and_the_other_is_intact(tmp_path, monkeypatch):
    make_tree(str(tmp_path / "src"), size=(8, 8))
    out = tmp_path / "out"
    # A second pack runs to completion while the first is between its check and its rename.
    _take_out_during_pack(monkeypatch, lambda: nc.pack_images(tmp_path / "src", out, max_side=3))
    with pytest.raises(FileExistsError):
        nc.pack_images(tmp_path / "src", out)
    monkeypatch.undo()
    ds = nc.ImageSet.open(out)
    assert len(ds) == 2 and ds.shapes[:, :2].max() == 3  # the second pack's folder, whole
    assert hidden(tmp_path) == []


def test_overwrite_keeps_a_folder_that_replaced_the_image_set_meanwhile(tmp_path, monkeypatch):
    make_tree(str(tmp_path / "src"))
    out = tmp_path / "out"
    nc.pack_images(tmp_path / "src", out)

    def replace():  # the user moves the ImageSet away and puts their own folder there
        os.rename(out, tmp_path / "moved.nc")
        (out / "mine").mkdir(parents=True)
        (out / "mine" / "results.csv").write_text("keep")

    _take_out_during_pack(monkeypatch, replace)
    with pytest.raises(FileExistsError, match="not an ImageSet"):
        nc.pack_images(tmp_path / "src", out, overwrite=True)
    monkeypatch.undo()
    assert (out / "mine" / "results.csv").read_text() == "keep"
    assert len(nc.ImageSet.open(tmp_path / "moved.nc")) == 2
    assert hidden(tmp_path) == []


def test_overwrite_swaps_back_when_out_changes_between_check_and_swap(tmp_path, monkeypatch):
    make_tree(str(tmp_path / "src"))
    out = tmp_path / "out"
    nc.pack_images(tmp_path / "src", out)
    real_exchange = _nocopy._exchange_paths

    def exchange(a, b):  # OUT becomes the user's folder just before the swap
        if not (tmp_path / "moved.nc").exists():
            os.rename(out, tmp_path / "moved.nc")
            out.mkdir()
            (out / "thesis.txt").write_text("keep")
        return real_exchange(a, b)

    monkeypatch.setattr(_nocopy, "_exchange_paths", exchange)
    with pytest.raises(FileExistsError, match="changed while packing"):
        nc.pack_images(tmp_path / "src", out, overwrite=True, max_side=2)
    monkeypatch.undo()
    assert os.listdir(out) == ["thesis.txt"] and (out / "thesis.txt").read_text() == "keep"
    assert len(nc.ImageSet.open(tmp_path / "moved.nc")) == 2
    assert hidden(tmp_path) == []


def test_overwrite_without_atomic_exchange_still_replaces_only_an_image_set(tmp_path,
                                                                          monkeypatch):
    # A file system without RENAME_EXCHANGE (EINVAL): the old set is moved aside and checked.
    make_tree(str(tmp_path / "src"))
    out = tmp_path / "out"
    nc.pack_images(tmp_path / "src", out)

    def no_exchange(a, b):
        raise OSError(errno.EINVAL, "cannot exchange", b)

    monkeypatch.setattr(_nocopy, "_exchange_paths", no_exchange)
    nc.pack_images(tmp_path / "src", out, overwrite=True, max_side=2)
    assert nc.ImageSet.open(out).shapes[:, :2].max() == 2 and hidden(tmp_path) == []
    _take_out_during_pack(monkeypatch, lambda: (shutil.rmtree(out), out.mkdir(),
                                                (out / "thesis.txt").write_text("keep")))
    with pytest.raises(FileExistsError, match="not an ImageSet"):
        nc.pack_images(tmp_path / "src", out, overwrite=True)
    assert (out / "thesis.txt").read_text() == "keep" and hidden(tmp_path) == []


def test_overwrite_refuses_an_image_set_folder_holding_other_files(tmp_path):
    make_tree(str(tmp_path / "src"))
    out = tmp_path / "out"
    nc.pack_images(tmp_path / "src", out)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="notes.txt"):
        nc.pack_images(tmp_path / "src", out, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine" and len(nc.ImageSet.open(out)) == 2


# --- 16. OUT a symbolic link -------------------------------------------------------------------
def test_overwrite_through_a_symbolic_link_replaces_the_folder_it_names(tmp_path):
    make_tree(str(tmp_path / "src"))
    (tmp_path / "disk").mkdir()
    real = tmp_path / "disk" / "set.nc"
    nc.pack_images(tmp_path / "src", real)
    link = tmp_path / "set.nc"
    os.symlink(real, link)
    with pytest.raises(FileExistsError):
        nc.pack_images(tmp_path / "src", link)
    nc.pack_images(tmp_path / "src", link, overwrite=True, max_side=2)
    assert os.path.islink(link) and os.readlink(link) == str(real)  # the link is kept
    assert nc.ImageSet.open(real).shapes[:, :2].max() == 2          # its folder replaced
    assert hidden(tmp_path) == [] and hidden(tmp_path / "disk") == []
    os.symlink("nowhere", tmp_path / "dangling")
    with pytest.raises(FileExistsError, match="not an ImageSet"):
        nc.pack_images(tmp_path / "src", tmp_path / "dangling", overwrite=True)
    assert os.readlink(tmp_path / "dangling") == "nowhere"


# --- 2. a full file system ---------------------------------------------------------------------
def _in_private_tmpfs(mountpoint, code, size="1m"):
    """Runs ``code`` in a fresh interpreter in its own mount namespace where ``mountpoint`` is
    a tmpfs of ``size`` (nothing outside sees it, and it goes with the process). Skips where
    a mount namespace cannot be made (not root, no CAP_SYS_ADMIN)."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("unshare / mount (util-linux) are not installed")
    probe = subprocess.run(["unshare", "-m", "sh", "-c",
                            f"mount -t tmpfs -o size={size} tmpfs '{mountpoint}'"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in a private mount namespace: {probe.stderr.strip()}")
    script = f"mount -t tmpfs -o size={size} tmpfs '{mountpoint}' && exec \"$0\" \"$@\""
    return run_python(code, prefix=("unshare", "-m", "sh", "-c", script))


@pytest.mark.parametrize("format", ["raw", "jpeg"])
def test_pack_on_a_full_file_system_is_enospc_and_leaves_nothing(tmp_path, format):
    # 8 noise images of 400 x 400: 3.7 MiB of pixels, 1.1 MiB of JPEG, on 1 MiB.
    make_tree(str(tmp_path / "src"), n=8, size=(400, 400))
    small = tmp_path / "small"
    small.mkdir()
    r = _in_private_tmpfs(small, f"""
        import json, os, nocopy as nc
        try:
            nc.pack_images({str(tmp_path / "src")!r}, {str(small / "out")!r}, format={format!r})
            result = {{"error": None}}
        except OSError as exc:
            result = {{"error": type(exc).__name__, "errno": exc.errno}}
        result["left"] = os.listdir({str(small)!r})
        print(json.dumps(result))
        """)
    assert r.returncode == 0, f"exit {r.returncode} (135 is SIGBUS): {r.stderr[-2000:]}"
    result = json.loads(r.stdout.splitlines()[-1])
    assert result == {"error": "OSError", "errno": errno.ENOSPC, "left": []}


def test_create_npy_on_a_full_file_system_is_enospc_and_leaves_nothing(tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    r = _in_private_tmpfs(small, f"""
        import errno, os, numpy as np, nocopy as nc
        path = os.path.join({str(small)!r}, "x.npy")
        try:
            np.asarray(nc.create_npy(path, (4 << 20,), "uint8"))[:] = 1  # SIGBUS if sparse
            print("no error")
        except OSError as exc:
            assert exc.errno == errno.ENOSPC and exc.filename == path, exc
            assert os.listdir({str(small)!r}) == []
            v = nc.create_npy(path, (512 << 10,), "uint8")     # what fits is written whole
            np.asarray(v)[:] = 7
            print("ok", int(np.load(path, mmap_mode="r").sum()) == 7 * (512 << 10))
        """)
    assert r.returncode == 0, f"exit {r.returncode} (135 is SIGBUS): {r.stderr[-2000:]}"
    assert r.stdout.split() == ["ok", "True"]


def test_shared_array_larger_than_free_dev_shm_is_enospc(tmp_path):
    r = _in_private_tmpfs("/dev/shm", """
        import errno, os, numpy as np, nocopy as nc
        for n in (4 << 20, 1 << 40):
            try:
                nc.SharedArray.create((n,), "uint8")
                raise SystemExit("no error")
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
        a = nc.SharedArray.create((600 << 10,), "uint8")
        np.asarray(a)[:] = 1                               # every page of it, no SIGBUS
        try:
            nc.SharedArray.create((600 << 10,), "uint8")    # fits /dev/shm, not its free space
            raise SystemExit("no error")
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        print(os.listdir("/dev/shm") == [a.name])
        """)
    assert r.returncode == 0, f"exit {r.returncode} (135 is SIGBUS): {r.stderr[-2000:]}"
    assert r.stdout.split() == ["True"]


def test_create_npy_sparse_takes_no_disk_and_is_checked(tmp_path):
    v = nc.create_npy(tmp_path / "s.npy", (1 << 20,), "uint8", sparse=True)
    assert os.stat(tmp_path / "s.npy").st_blocks * 512 < 1 << 18 and v.shape == (1 << 20,)
    nc.create_npy(tmp_path / "r.npy", (1 << 20,), "uint8")
    assert os.stat(tmp_path / "r.npy").st_blocks * 512 >= 1 << 20
    with pytest.raises(TypeError, match="sparse"):
        nc.create_npy(tmp_path / "t.npy", (4,), "uint8", sparse=1)


# --- 3. symbolic link loops --------------------------------------------------------------------
def test_symbolic_link_loops_are_walked_once_and_listed(tmp_path):
    src = tmp_path / "src"
    arrays = make_tree(str(src), n=1, classes=("a", "b"))
    os.symlink(".", src / "a" / "self")         # a loop to its own folder
    os.symlink("..", src / "a" / "up")          # a loop to the root (and so to both classes)
    os.symlink("../a", src / "b" / "other")     # a second way to class a's folder
    os.link(src / "a" / "0.png", src / "b" / "same.png")  # one file under two names
    r = run_python(f"""
        import json, nocopy as nc
        s = nc.pack_images({str(src)!r}, {str(tmp_path / "out")!r}, on_error="skip")
        print(json.dumps({{"images": s.images, "skipped": s.skipped}}))
        """)
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads(r.stdout)
    assert result["images"] == len(arrays) == 2
    reasons = {os.path.relpath(s["path"], src): s["error"] for s in result["skipped"]}
    assert sorted(reasons) == ["a/self", "a/up", "b/other", "b/same.png"]
    assert "same folder as" in reasons["a/self"] and "same file as" in reasons["b/same.png"]
    ds = nc.ImageSet.open(tmp_path / "out")
    np.testing.assert_array_equal(np.asarray(ds[0]), arrays[str(src / "a" / "0.png")])
    assert ds.labels.tolist() == [0, 1]
    # Loops are not errors: with on_error="fail" the same pack succeeds, listing them.
    s = nc.pack_images(src, tmp_path / "out2")
    assert s.images == 2 and len(s.skipped) == 4


# --- 4. FIFOs ----------------------------------------------------------------------------------
@pytest.mark.parametrize("on_error", ["skip", "fail"])
@pytest.mark.parametrize("where", ["tree", "csv row"])
def test_a_fifo_input_never_blocks(tmp_path, on_error, where):
    src = tmp_path / "src"
    make_tree(str(src))
    fifo = src / "a" / "x.png"
    os.mkfifo(fifo)
    if where == "csv row":
        (tmp_path / "list.csv").write_text("src/a/0.png,1\nsrc/a/x.png,2\n")
        src = tmp_path / "list.csv"
    r = run_python(f"""
        import json, nocopy as nc
        try:
            s = nc.pack_images({str(src)!r}, {str(tmp_path / "out")!r}, on_error={on_error!r})
            print(json.dumps({{"images": s.images, "skipped": s.skipped}}))
        except ValueError as exc:
            print(json.dumps({{"error": str(exc)}}))
        """)
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads(r.stdout)
    if on_error == "skip":
        assert result["skipped"] == [{"path": str(fifo),
                                      "error": "it is a FIFO, not a regular file"}]
        assert result["images"] == (2 if where == "tree" else 1)
    else:
        assert str(fifo) in result["error"] and "FIFO" in result["error"]
        assert sorted(os.listdir(tmp_path)) == sorted(["src"] + (["list.csv"] * (where != "tree")))


def test_a_fifo_as_the_csv_is_refused_without_blocking(tmp_path):
    make_tree(str(tmp_path / "src"))
    os.mkfifo(tmp_path / "list.csv")
    r = run_python(f"""
        import nocopy as nc
        try:
            nc.pack_images({str(tmp_path / "list.csv")!r}, {str(tmp_path / "out")!r})
        except ValueError as exc:
            print(exc)
        """)
    assert r.returncode == 0 and "FIFO" in r.stdout, r.stderr[-2000:]


# --- 15. names printed by the command ----------------------------------------------------------
def test_command_escapes_file_names_it_prints(tmp_path):
    src = tmp_path / "src"
    make_tree(str(src))
    evil = "bad\npacked 999 images, forged\x1b[2J.png"
    (src / "a" / evil).write_bytes(b"not an image")
    cmd = [sys.executable, "-m", "nocopy", "pack", str(src), str(tmp_path / "out"), "--quiet"]
    fail = cmd[:5] + [str(tmp_path / "out2"), "--quiet"]
    r = subprocess.run(cmd + ["--on-error", "skip"], capture_output=True, text=True,
                       timeout=HANG_LIMIT_S)
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout and "bad\\npacked 999 images, forged\\x1b[2J.png" in r.stdout
    assert [line for line in r.stdout.splitlines() if line.startswith("packed")] == \
        [r.stdout.splitlines()[0]]                       # no forged summary line
    r = subprocess.run(fail, capture_output=True, text=True, timeout=HANG_LIMIT_S)
    assert r.returncode == 1 and "\x1b" not in r.stderr and "\\x1b[2J" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1       # one error line, not a forged one


# --- the manual's example ----------------------------------------------------------------------
def test_robustness_page_example_runs(tmp_path, monkeypatch):
    page = (Path(__file__).resolve().parents[3] / "docs" / "ROBUST.md").read_text()
    section = page[page.index("## Robustness: packing images and writing files"):]
    section = section.split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    for k, block in enumerate(blocks):
        exec(compile(block, f"ROBUST.md block {k}", "exec"), {})
