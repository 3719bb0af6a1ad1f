"""The C++ package inside the installed wheel: a program built with find_package(nocopy) against
nocopy.cmake_dir() (headers, libnocopy.a, nocopyConfig.cmake), run and checked against NumPy."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import nocopy

CONSUMER = Path(__file__).resolve().parent / "consumer"


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    if shutil.which("cmake") is None or shutil.which("c++") is None:
        pytest.fail("the C++ package check needs cmake and a C++ compiler")
    build = tmp_path_factory.mktemp("consumer")
    subprocess.run(["cmake", "-S", str(CONSUMER), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                    f"-Dnocopy_DIR={nocopy.cmake_dir()}"], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(build)], check=True, capture_output=True)
    return build / "wheel_consumer"


def test_the_package_lies_inside_the_installed_wheel():
    cmake_dir = Path(nocopy.cmake_dir())
    package = Path(nocopy.__file__).parent
    assert cmake_dir.is_relative_to(package)
    assert (package / "include" / "nocopy" / "nocopy.hpp").is_file()
    assert (package / "lib" / "libnocopy.a").is_file()


@pytest.mark.parametrize("shape,crop", [((9, 7, 3), (4, 5)), ((16, 16, 1), (16, 1)),
                                        ((5, 11, 3), (1, 1))])
def test_program_built_against_the_wheel(program, tmp_path, shape, crop):
    rng = np.random.default_rng(sum(shape))
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    np.save(tmp_path / "image.npy", image)
    out = subprocess.run([str(program), str(tmp_path / "image.npy"), *map(str, crop)],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == f"version={nocopy.__version__}"
    top, left = (shape[0] - crop[0]) // 2, (shape[1] - crop[1]) // 2  # offsets round down
    want = image[top:top + crop[0], left:left + crop[1]]
    m = re.fullmatch(r"shape=(\(.*\)) sum=(\d+) shares=(yes|no)", out[1])
    assert m, out[1]
    assert m[1] == str(tuple(want.shape))
    assert int(m[2]) == int(want.sum(dtype=np.uint64))
    assert m[3] == "yes"
