"""The architecture's rules, checked on the source tree (no build needed): every C++ include and
every Python import is parsed, and a test fails as soon as a dependency points the wrong way.

C++: core <- storage <- pipeline (a layer includes only itself and the layers before it);
public headers never include the private helpers of cpp/src/internal; no Python header in the
core; the bindings never import the Python package. Python: the runtime never imports the
command-line package `_cli` (the one lazy `nc.audit` entry aside) nor a name of the package itself,
and no module of src/nocopy (runtime or `_cli`) is part of an import cycle, counting imports made
inside functions.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.MULTILINE)
LAYERS = ["core", "storage", "pipeline"]  # each may use the ones before it
PKG = ROOT / "src" / "nocopy"


def _includes(path: Path) -> list[str]:
    return INCLUDE.findall(path.read_text())


def _layer_files(layer: str) -> list[Path]:
    return sorted((ROOT / "cpp" / "include" / "nocopy" / layer).rglob("*.hpp")) + sorted(
        (ROOT / "cpp" / "src" / layer).rglob("*.[ch]pp"))


def test_every_layer_folder_exists_and_nothing_is_left_flat():
    for layer in LAYERS:
        assert _layer_files(layer), f"no sources in layer {layer}"
    flat = [p.name for p in (ROOT / "cpp" / "include" / "nocopy").glob("*.hpp")]
    assert flat == [], f"public headers outside a layer folder: {flat}"
    assert list((ROOT / "cpp" / "src").glob("*.[ch]pp")) == [], "sources outside a layer folder"


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_includes_only_itself_and_the_layers_before_it(layer):
    allowed = set(LAYERS[:LAYERS.index(layer) + 1])
    bad = []
    for path in _layer_files(layer):
        for inc in _includes(path):
            parts = inc.split("/")
            if parts[0] == "nocopy" and len(parts) >= 3 and parts[1] not in allowed:
                bad.append(f"{path.relative_to(ROOT)} includes {inc}")
            if inc in ("Python.h",) or inc.startswith("nanobind/"):
                bad.append(f"{path.relative_to(ROOT)} includes {inc} (the core is Python-free)")
    assert bad == []


def test_public_headers_never_include_private_helpers():
    bad = [f"{p.relative_to(ROOT)} includes {inc}"
           for p in (ROOT / "cpp" / "include").rglob("*.hpp") for inc in _includes(p)
           if inc.startswith("internal/") or inc.endswith("copy_kernels.hpp")]
    assert bad == []


def test_private_helpers_depend_on_nothing_of_the_layers():
    for p in (ROOT / "cpp" / "src" / "internal").glob("*.hpp"):
        assert [i for i in _includes(p) if i.startswith("nocopy/")] == [], p


def test_bindings_never_import_the_python_package():
    for p in (ROOT / "cpp" / "bindings").glob("*.[ch]pp"):
        text = p.read_text()
        assert not re.search(r'import_\(\s*"nocopy', text), f"{p.name} imports the package"
        assert "internal/" not in "".join(_includes(p)), f"{p.name} uses private core helpers"


# The extension module: a submodule of the package that is not a .py file.
EXTENSION = "nocopy._nocopy"
# The one cycle allowed while it lasts: `_jpeg_image_set` subclasses `_image_set`'s ImageSet,
# which opens JPEG sets through it. It ends when _jpeg_image_set.py is removed (one ImageSet).
PENDING_CYCLE = frozenset({"nocopy._image_set", "nocopy._jpeg_image_set"})


def _all_modules() -> dict[str, Path]:
    """Every module of src/nocopy by its dotted name (a package by its __init__.py)."""
    mods = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = ("nocopy",) + p.relative_to(PKG).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = p
    return mods


@functools.cache
def _known_modules() -> frozenset[str]:
    return frozenset(_all_modules()) | {EXTENSION}


def _runtime_modules() -> dict[str, Path]:
    """The runtime: the package less the command line (`_cli`, and `__main__` that runs it)."""
    return {name: p for name, p in _all_modules().items()
            if not name.startswith("nocopy._cli") and name != "nocopy.__main__"}


def _imports(path: Path, name: str) -> set[str]:
    """The nocopy modules that the module `name` (at `path`) imports anywhere: at module level,
    inside functions and classes, and by literal name through importlib.import_module or
    __import__. `from P import n` imports P, whose namespace it reads (for `from . import x` that
    is the package itself), and P.n too when that is a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    known = _known_modules()
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in known)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and ast.unparse(node.func) in ("importlib.import_module", "__import__")):
            out.add(node.args[0].value)
    return {m for m in out if m == "nocopy" or m.startswith("nocopy.")}


def test_the_runtime_never_imports_the_command_line_package():
    bad = []
    for name, path in _runtime_modules().items():
        for mod in _imports(path, name):
            if mod.startswith("nocopy._cli") and name != "nocopy":
                bad.append(f"{path.name} imports {mod}")
        if name != "nocopy" and "_cli" in path.read_text():
            bad.append(f"{path.name} names _cli")
    assert bad == []
    # The one entry: nc.audit, loaded by name on first use.
    init = (PKG / "__init__.py").read_text()
    assert init.count("nocopy._cli") == 1 and 'importlib.import_module("nocopy._cli.audit")' in init
    assert {m for m in _imports(PKG / "__init__.py", "nocopy")
            if m.startswith("nocopy._cli")} == {"nocopy._cli.audit"}


def test_the_runtime_uses_no_name_of_the_package_itself():
    """The package's __init__ imports every runtime module, so they reach it only for its
    submodules (`from . import _nocopy`), never for a name it defines (`from nocopy import View`,
    `import nocopy`): that would need the package half-way through its own import."""
    submodules = _known_modules()
    bad = []
    for name, path in _runtime_modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                bad += [f"{name}: import {a.name}" for a in node.names if a.name == "nocopy"]
            elif isinstance(node, ast.ImportFrom) and (
                    node.module == "nocopy" or (node.level == 1 and node.module is None)):
                bad += [f"{name}: from {node.module or '.'} import {a.name}" for a in node.names
                        if f"nocopy.{a.name}" not in submodules]
    assert bad == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out = []

    def visit(n: str) -> None:
        index[n] = low[n] = len(index)
        stack.append(n)
        for d in sorted(graph[n]):
            if d not in index:
                visit(d)
                low[n] = min(low[n], low[d])
            elif d in stack:
                low[n] = min(low[n], index[d])
        if low[n] == index[n]:
            scc = []
            while True:
                m = stack.pop()
                scc.append(m)
                if m == n:
                    break
            if len(scc) > 1:
                out.append(sorted(scc))

    for n in sorted(graph):
        if n not in index:
            visit(n)
    return out


def import_graph() -> dict[str, set[str]]:
    """Who imports whom in src/nocopy, imports inside functions included. The package's own
    __init__ is left without edges: it imports every runtime module, which reach back into it
    only for a submodule (test above), and `nc.audit` by name on first use, the one entry into
    the command line, whose modules use the runtime through the package."""
    mods = _all_modules()
    graph = {name: {m for m in _imports(path, name) if m in mods and m != name}
             for name, path in mods.items()}
    graph["nocopy"] = set()
    return graph


def test_no_import_cycle_anywhere_in_the_package():
    graph = import_graph()
    cycles = [c for c in _cycles(graph)
              if not (frozenset(c) == PENDING_CYCLE and (PKG / "_jpeg_image_set.py").exists())]
    # Each cycle shown by its imports, e.g. "nocopy.a -> nocopy.b, nocopy.b -> nocopy.a".
    assert cycles == [], "import cycles (imports inside functions count): " + "; ".join(
        ", ".join(f"{a} -> {b}" for a in c for b in sorted(graph[a]) if b in c) for c in cycles)


def test_the_cycle_check_sees_imports_inside_functions_and_from_dot_import():
    """The checker itself: a lazy import closes a cycle, and `from . import x` in a package's
    module depends on the package (its __init__ may be half-way through importing that module)."""
    graph = {"nocopy.pkg": {"nocopy.pkg.a"}, "nocopy.pkg.a": {"nocopy.pkg"}, "nocopy.b": set()}
    assert _cycles(graph) == [["nocopy.pkg", "nocopy.pkg.a"]]
    assert "nocopy._cli.audit" in _imports_of_source(
        "def f():\n    from . import registry\n", "nocopy._cli.audit.probes")
    assert "nocopy._cli.bench_imagenet" in _imports_of_source(
        'def f():\n    return __import__("nocopy._cli.bench_imagenet").main\n', "nocopy._cli.bench")
    assert _imports_of_source("from .registry import mod\n", "nocopy._cli.audit.probes") == {
        "nocopy._cli.audit.registry"}


def _imports_of_source(text: str, name: str) -> set[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "m.py"
        p.write_text(text)
        return _imports(p, name)


def test_importing_nocopy_loads_no_command_line_machinery():
    import subprocess
    import sys

    code = ("import sys, nocopy; bad = [m for m in ('nocopy._cli', 'argparse', 'subprocess') "
            "if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


# The pipeline's parts and what each may include (besides core and storage): sampling knows no
# operator, codec or engine; codecs know no engine; the engine knows only sampling (its shard
# geometry) and nothing of what goes in a slot; producers put everything together.
PIPELINE_PARTS = {
    "kernels": {"kernels"},
    "sampling": {"sampling"},
    "codecs": {"codecs", "kernels"},
    "ops": {"ops", "sampling", "kernels"},
    "sources": {"sources", "codecs", "kernels"},
    "engine": {"engine", "sampling"},
    "producers": {"producers", "engine", "sampling", "ops", "sources", "codecs", "kernels"},
}


def test_pipeline_has_only_its_part_folders():
    for root in (ROOT / "cpp" / "include" / "nocopy" / "pipeline", ROOT / "cpp" / "src" / "pipeline"):
        assert {p.name for p in root.iterdir()} == set(PIPELINE_PARTS), root
        assert not list(root.glob("*.[ch]pp")), f"files outside a part folder in {root}"


@pytest.mark.parametrize("part", sorted(PIPELINE_PARTS))
def test_a_pipeline_part_includes_only_the_parts_it_may_use(part):
    files = sorted((ROOT / "cpp" / "include" / "nocopy" / "pipeline" / part).glob("*.hpp")) + sorted(
        (ROOT / "cpp" / "src" / "pipeline" / part).glob("*.[ch]pp"))
    assert files, part
    bad = []
    for path in files:
        for inc in _includes(path):
            parts = inc.split("/")
            if parts[0] == "nocopy":
                parts = parts[1:]
            if len(parts) >= 3 and parts[0] == "pipeline" and parts[1] not in PIPELINE_PARTS[part]:
                bad.append(f"{path.relative_to(ROOT)} includes {inc}")
    assert bad == []
