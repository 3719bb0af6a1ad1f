"""The installed wheel needs no library outside itself beyond the manylinux policy's allowed
ones: nothing is removed from the system, but `auditwheel show`, `ldd` (LD_LIBRARY_PATH unset)
and /proc/self/maps of an interpreter that imported nocopy prove that libjpeg-turbo and FFmpeg
come from the wheel's nocopy.libs/, not from the system's -dev / runtime packages."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from importlib import resources
from pathlib import Path

import pytest

import nocopy._nocopy

SITE = Path(sysconfig.get_path("platlib")).resolve()
LIBS = SITE / "nocopy.libs"
EXTENSION = Path(nocopy._nocopy.__file__).resolve()
# Libraries that must come from the wheel: the JPEG codec, FFmpeg's, the codecs they link.
BUNDLED_FAMILIES = re.compile(r"^lib(jpeg|avcodec|avformat|avutil|swscale|swresample|x26[45]|"
                              r"vpx|dav1d|aom)\b")


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}


def wheel_tag(wheel_file: Path) -> str:
    return wheel_file.name.removesuffix(".whl").split("-")[-1]


@pytest.fixture(scope="module")
def allowed(wheel_file) -> set[str]:
    """The sonames the wheel's manylinux policy lets it take from the system."""
    tag = wheel_tag(wheel_file)
    policies = json.loads((resources.files("auditwheel") / "policy" / "manylinux-policy.json")
                          .read_text())
    name = tag.removesuffix("_x86_64")
    (policy,) = [p for p in policies if p["name"] == name or name in p.get("aliases", [])]
    return set(policy["lib_whitelist"])


def test_auditwheel_show_reports_the_wheels_own_tag_and_no_external_library(wheel_file):
    out = subprocess.run([sys.executable, "-m", "auditwheel", "show", str(wheel_file)],
                         capture_output=True, text=True, check=True, env=clean_env()).stdout
    text = " ".join(out.split())
    tag = wheel_tag(wheel_file)
    assert f'consistent with the following platform tag: "{tag}"' in text
    assert "external shared libraries are required" not in text


def needed(path: Path) -> list[str]:
    """The DT_NEEDED sonames of an ELF file."""
    out = subprocess.run(["readelf", "-d", "-W", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def test_ldd_resolves_every_library_inside_the_wheel_or_the_policy(allowed):
    # ldd: where the dynamic loader finds each library, LD_LIBRARY_PATH unset
    out = subprocess.run(["ldd", str(EXTENSION)], capture_output=True, text=True, check=True,
                         env=clean_env()).stdout
    resolved = {}
    for line in out.splitlines():
        assert "not found" not in line, line
        m = re.match(r"\s*(\S+)\s+=>\s+(\S+)", line) or re.match(r"\s*((/\S+))\s+\(", line)
        if m:
            resolved[Path(m[1]).name] = Path(m[2]).resolve()
    # Walk DT_NEEDED from the extension: every library it or a bundled library needs is either
    # in nocopy.libs/ (walked further) or one the policy lets the system provide (whose own
    # dependencies are the system's business, as in auditwheel's rule).
    outside, bundled, todo, seen = {}, [], [EXTENSION], set()
    while todo:
        elf = todo.pop()
        for soname in needed(elf):
            path = resolved.get(soname)
            assert path is not None, f"{elf.name} needs {soname}, which ldd does not resolve"
            if path.is_relative_to(LIBS):
                bundled.append(soname)
                if path not in seen:
                    seen.add(path)
                    todo.append(path)
            elif soname not in allowed and not soname.startswith("ld-linux"):  # glibc's loader
                outside[soname] = f"{path} (needed by {elf.name})"
    assert not outside, f"libraries from outside the wheel and the policy: {outside}"
    for family in ("libjpeg", "libavcodec", "libavformat", "libavutil", "libswscale"):
        assert any(name.startswith(family + "-") for name in bundled), (family, bundled)


def test_the_loaded_codec_libraries_are_the_bundled_ones():
    code = "import nocopy._nocopy; print(open('/proc/self/maps').read())"
    maps = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env=clean_env()).stdout
    mapped = {Path(line.split()[-1]) for line in maps.splitlines()
              if len(line.split()) >= 6 and line.split()[-1].startswith("/")}
    codecs = [path for path in mapped if BUNDLED_FAMILIES.match(path.name)]
    from_system = [str(path) for path in codecs if not path.resolve().is_relative_to(LIBS)]
    assert not from_system, f"codec libraries loaded from the system: {from_system}"
    names = {path.name.split("-")[0] for path in codecs}
    assert {"libjpeg", "libavcodec", "libavformat", "libavutil", "libswscale"} <= names
