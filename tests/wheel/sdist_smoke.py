"""Smoke test of nocopy installed from the sdist (`make sdist-test`), run by that virtualenv's
Python from outside the source tree: the module comes from the environment, the version agrees,
and a few core calls work (views, crops, a .npy round trip, the extension's error type)."""

from __future__ import annotations

import importlib.metadata
import sys
import sysconfig
import tempfile
from pathlib import Path

import numpy as np

import nocopy as nc


def main() -> int:
    site = Path(sysconfig.get_path("platlib")).resolve()
    for module in (nc, nc._nocopy):
        path = Path(module.__file__).resolve()
        assert path.is_relative_to(site), f"{module.__name__} imported from {path}"
    assert nc.__version__ == importlib.metadata.version("nocopy")
    images = np.arange(4 * 9 * 7 * 3, dtype=np.uint8).reshape(4, 9, 7, 3)
    crops = nc.center_crop(images, (4, 5))
    assert np.array_equal(np.asarray(crops), images[:, 2:6, 1:6])
    assert nc.shares_memory(crops, images)
    with tempfile.TemporaryDirectory() as tmp:
        array = nc.create_npy(Path(tmp) / "a.npy", (3, 5), np.float32)
        np.asarray(array)[...] = 2.5
        del array
        assert float(np.asarray(nc.open_npy(Path(tmp) / "a.npy")).sum()) == 37.5
    assert Path(nc.cmake_dir(), "nocopyConfig.cmake").is_file()
    print(f"sdist install OK: nocopy {nc.__version__} from {Path(nc.__file__).parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
