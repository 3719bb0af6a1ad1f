"""The tests import the installed wheel, not the source tree, and every version agrees."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import nocopy
import nocopy._nocopy

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(sysconfig.get_path("platlib")).resolve()


def test_runs_in_a_fresh_virtualenv():
    assert sys.prefix != sys.base_prefix
    assert Path(sys.prefix).resolve() != (ROOT / ".venv").resolve()


def test_nocopy_is_imported_from_this_environment():
    for module in (nocopy, nocopy._nocopy):
        path = Path(module.__file__).resolve()
        assert path.is_relative_to(SITE), f"{module.__name__} imported from {path}, not {SITE}"
        assert not path.is_relative_to(ROOT / "src")


def test_the_source_package_is_not_on_sys_path():
    # pytest runs from build/wheel-tests: neither the repository root nor src/ is importable.
    for entry in sys.path:
        resolved = Path(entry or ".").resolve()
        assert resolved not in (ROOT, ROOT / "src"), f"{entry!r} on sys.path"


def test_numpy_is_the_fresh_environments():
    import numpy

    assert Path(numpy.__file__).resolve().is_relative_to(SITE)


def test_installed_from_the_wheel(wheel_file):
    dist = importlib.metadata.distribution("nocopy")
    assert Path(dist.locate_file("nocopy/__init__.py")).resolve().is_relative_to(SITE)
    wheel_text = dist.read_text("WHEEL")
    tag = wheel_file.name.removesuffix(".whl").split("-", 2)[2]
    assert f"Tag: {tag}" in wheel_text
    assert re.search(r"manylinux_\d+_\d+_x86_64", tag)


def test_versions_agree(wheel_file):
    version = nocopy.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert importlib.metadata.version("nocopy") == version
    assert wheel_file.name.startswith(f"nocopy-{version}-")
    cli = subprocess.run([sys.executable, "-m", "nocopy", "--version"], capture_output=True,
                         text=True, check=True)
    assert cli.stdout.strip() == f"nocopy {version}"
    config = Path(nocopy.cmake_dir()) / "nocopyConfigVersion.cmake"
    assert re.search(rf'set\(PACKAGE_VERSION "{re.escape(version)}"\)', config.read_text())


def test_console_script_matches():
    script = Path(sys.prefix) / "bin" / "nocopy"
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"nocopy {nocopy.__version__}"


def test_metadata():
    meta = importlib.metadata.metadata("nocopy")
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta.get_all("Requires-Dist")[0].startswith("numpy")
    extras = set(meta.get_all("Provides-Extra"))
    assert {"torch", "tf", "jax", "video", "remote"} <= extras
    assert any(c.startswith("Operating System :: POSIX :: Linux")
               for c in meta.get_all("Classifier"))
