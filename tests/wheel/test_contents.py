"""What the wheel and the sdist hold: the extension stripped, the C++ package, the licences of
nocopy and of every bundled library; the sdist holds what a build needs and no build output."""

from __future__ import annotations

import csv
import io
import subprocess
import tarfile
import tempfile
import zipfile

import pytest


@pytest.fixture(scope="module")
def wheel_names(wheel_file) -> list[str]:
    with zipfile.ZipFile(wheel_file) as zf:
        return zf.namelist()


def test_wheel_holds_the_cpp_package(wheel_names):
    for name in ("nocopy/include/nocopy/nocopy.hpp", "nocopy/include/nocopy/core/view.hpp",
                 "nocopy/lib/libnocopy.a", "nocopy/lib/cmake/nocopy/nocopyConfig.cmake",
                 "nocopy/lib/cmake/nocopy/nocopyConfigVersion.cmake",
                 "nocopy/lib/cmake/nocopy/nocopyTargets.cmake", "nocopy/_nocopy.pyi",
                 "nocopy/py.typed"):
        assert name in wheel_names
    # nothing private or stray: no source-only headers, no build output
    assert not [n for n in wheel_names if n.startswith(("build/", "src/", ".venv", "cpp/"))]
    assert not [n for n in wheel_names if "/internal/" in n]


def test_extension_is_stripped(wheel_file, wheel_names):
    (ext,) = [n for n in wheel_names if n.startswith("nocopy/_nocopy.") and n.endswith(".so")]
    with zipfile.ZipFile(wheel_file) as zf, tempfile.NamedTemporaryFile(suffix=".so") as f:
        f.write(zf.read(ext))
        f.flush()
        sections = subprocess.run(["readelf", "-S", "-W", f.name], capture_output=True,
                                  text=True, check=True).stdout
    assert ".dynsym" in sections and ".symtab" not in sections


def test_every_bundled_library_has_its_licence(wheel_file, wheel_names):
    dist_info = next(n.split("/")[0] for n in wheel_names if n.endswith(".dist-info/METADATA"))
    assert f"{dist_info}/licenses/LICENSE" in wheel_names
    bundled = {n.split("/", 1)[1] for n in wheel_names
               if n.startswith("nocopy.libs/") and not n.endswith("/")}
    assert bundled
    with zipfile.ZipFile(wheel_file) as zf:
        index = zf.read(f"{dist_info}/licenses/bundled/INDEX.tsv").decode()
        rows = [r for r in csv.reader(io.StringIO(index), delimiter="\t")
                if r and not r[0].startswith("#")]
        assert {r[0] for r in rows} == bundled
        for library, package, version, licence in rows:
            assert package and version, library
            text = zf.read(f"{dist_info}/licenses/bundled/{licence}").decode(errors="replace")
            assert "Copyright" in text or "License" in text, licence
    packages = {r[1] for r in rows}
    assert {"libjpeg62-turbo", "libavcodec59", "libavformat59", "libavutil57",
            "libswscale6"} <= packages


def test_record_lists_every_file(wheel_file, wheel_names):
    with zipfile.ZipFile(wheel_file) as zf:
        record_name = next(n for n in wheel_names if n.endswith(".dist-info/RECORD"))
        listed = {row[0] for row in csv.reader(io.StringIO(zf.read(record_name).decode())) if row}
    assert listed == {n for n in wheel_names if not n.endswith("/")}


def test_sdist_holds_what_a_build_needs_and_no_build_output(sdist_file):
    with tarfile.open(sdist_file) as tf:
        names = [n.split("/", 1)[1] for n in tf.getnames() if "/" in n]
    for need in ("pyproject.toml", "CMakeLists.txt", "LICENSE", "README.md",
                 "cmake/nocopyConfig.cmake.in", "src/nocopy/_version.py",
                 "src/nocopy/__init__.py", "cpp/include/nocopy/core/view.hpp"):
        assert need in names, need
    assert any(n.startswith("cpp/bindings/") for n in names)
    stray = [n for n in names if n.startswith(("build/", ".venv/", "dist/", "bench/", "fuzz/"))
             or n.endswith((".so", ".whl", ".o"))]
    assert not stray, stray[:10]
