"""Shared arrays between Python and a C++ program that uses only the nocopy C++ core:
Python creates and C++ attaches, and the reverse."""

import glob
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import nocopy as nc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.fixture(scope="module")
def peer(tmp_path_factory):
    """Builds tests/peer/shm_peer.cpp against the core (the static library of `make cpp-test`
    when present, else the sources)."""
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    out = str(tmp_path_factory.mktemp("peer") / "shm_peer")
    lib = os.path.join(ROOT, "build", "cpp", "libnocopy.a")
    sources = sorted(glob.glob(os.path.join(ROOT, "cpp", "src", "**", "*.cpp"), recursive=True))
    newest_source = max(os.path.getmtime(p) for p in sources + glob.glob(
        os.path.join(ROOT, "cpp", "**", "*.hpp"), recursive=True))
    inputs = [lib] if os.path.exists(lib) and os.path.getmtime(lib) >= newest_source else sources
    cmd = [cxx, "-std=c++20", "-O1", "-I", os.path.join(ROOT, "cpp", "include"),
           "-I", os.path.join(ROOT, "cpp", "src"),
           os.path.join(ROOT, "tests", "peer", "shm_peer.cpp"), *inputs, "-pthread", "-o", out]
    subprocess.run(cmd, check=True, timeout=600)
    return out


def test_python_creates_cpp_attaches(peer):
    with nc.SharedArray.create((5, 6), np.float64) as sa:
        a = np.asarray(sa)
        a[:] = np.arange(30).reshape(5, 6)
        res = subprocess.run([peer, "attach", sa.name], capture_output=True, text=True,
                             timeout=60)
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip() == f"float64 (5, 6) {np.arange(30).sum():.1f}"
        np.testing.assert_array_equal(a, 2 * np.arange(30).reshape(5, 6))  # C++ wrote through
        assert os.path.exists(f"/dev/shm/{sa.name}")  # the C++ attacher did not unlink


def test_cpp_creates_python_attaches(peer):
    p = subprocess.Popen([peer, "create"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    try:
        name = p.stdout.readline().strip()
        sb = nc.SharedArray.attach(name)
        np.testing.assert_array_equal(np.asarray(sb), np.arange(12.0).reshape(3, 4))
        np.asarray(sb)[2, 3] = 99.5
        p.stdin.write("go\n")
        p.stdin.flush()
        assert p.stdout.readline().strip() == "99.5"
        assert p.wait(timeout=60) == 0
        assert not os.path.exists(f"/dev/shm/{name}")  # the C++ creator unlinked on exit
        assert np.asarray(sb)[2, 3] == 99.5  # our mapping outlives the name
        sb.close()
    finally:
        p.kill()
        p.stdin.close()
        p.stdout.close()
