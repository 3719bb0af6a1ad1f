"""The C++ package inside the installed wheel: a program built with find_package(nocopy) against
nocopy.cmake_dir() (headers, libnocopy.a, nocopyConfig.cmake), linked with the wheel's bundled
libjpeg-turbo and FFmpeg (nocopy.libs/), run and checked against NumPy and Pillow."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

import numpy as np
import pytest

import nocopy

CONSUMER = Path(__file__).resolve().parent / "consumer"
LIBS = Path(sysconfig.get_path("platlib")).resolve() / "nocopy.libs"


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    if shutil.which("cmake") is None or shutil.which("c++") is None:
        pytest.fail("the C++ package check needs cmake and a C++ compiler")
    build = tmp_path_factory.mktemp("consumer")
    subprocess.run(["cmake", "-S", str(CONSUMER), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                    f"-Dnocopy_DIR={nocopy.cmake_dir()}"], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(build)], check=True, capture_output=True)
    return build / "wheel_consumer"


@pytest.fixture(scope="module")
def jpeg_file(tmp_path_factory) -> Path:
    from PIL import Image

    rng = np.random.default_rng(7)
    path = tmp_path_factory.mktemp("jpeg") / "photo.jpg"
    Image.fromarray(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)).save(path, quality=90)
    return path


def test_the_package_lies_inside_the_installed_wheel():
    cmake_dir = Path(nocopy.cmake_dir())
    package = Path(nocopy.__file__).parent
    assert cmake_dir.is_relative_to(package)
    assert (package / "include" / "nocopy" / "nocopy.hpp").is_file()
    assert (package / "lib" / "libnocopy.a").is_file()


def test_program_links_the_bundled_libraries(program):
    dynamic = subprocess.run(["readelf", "-d", "-W", str(program)], capture_output=True,
                             text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)
    for stem in ("libjpeg", "libavformat", "libavcodec", "libswscale", "libavutil"):
        assert any(re.fullmatch(rf"{stem}-[0-9a-f]{{8}}\..*", n) for n in needed), (stem, needed)
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    ldd = subprocess.run(["ldd", str(program)], capture_output=True, text=True, check=True,
                         env=env).stdout
    assert "not found" not in ldd
    for line in ldd.splitlines():
        m = re.match(r"\s*(lib(?:jpeg|av\w+|sw\w+)\S*)\s+=>\s+(\S+)", line)
        if m:
            assert Path(m[2]).resolve().is_relative_to(LIBS), line


@pytest.mark.parametrize("shape,crop", [((9, 7, 3), (4, 5)), ((16, 16, 1), (16, 1)),
                                        ((5, 11, 3), (1, 1))])
def test_program_built_against_the_wheel(program, jpeg_file, tmp_path, shape, crop):
    from PIL import Image

    rng = np.random.default_rng(sum(shape))
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    np.save(tmp_path / "image.npy", image)
    out = subprocess.run([str(program), str(tmp_path / "image.npy"), *map(str, crop),
                          str(jpeg_file)], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[0] == f"version={nocopy.__version__}"
    top, left = (shape[0] - crop[0]) // 2, (shape[1] - crop[1]) // 2  # offsets round down
    want = image[top:top + crop[0], left:left + crop[1]]
    assert out[1] == f"crop shape={tuple(want.shape)} sum={int(want.sum(dtype=np.uint64))} shares=yes"
    decoded = np.asarray(Image.open(jpeg_file).convert("RGB"))
    assert out[2] == (f"jpeg height={decoded.shape[0]} width={decoded.shape[1]} "
                      f"sum={int(decoded.sum(dtype=np.uint64))}")
    assert out[3] == "video=rejected"
