"""The architecture's rules, checked on the source tree (no build needed): every C++ include and
every Python import is parsed, and a test fails as soon as a dependency points the wrong way.

C++: core <- storage <- pipeline (a layer includes only itself and the layers before it);
public headers never include the private helpers of cpp/src/internal; no Python header in the
core; the bindings never import the Python package. Python: the runtime never imports the
command-line package `_cli` (the one lazy `nc.audit` entry aside), and the runtime's module-level
imports form no cycle.
"""

from __future__ import annotations

import ast
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


def _runtime_modules() -> dict[str, Path]:
    mods = {}
    for p in PKG.glob("*.py"):
        if p.stem == "__main__":  # `python -m nocopy`: the command line's entry, not the runtime
            continue
        name = "nocopy" if p.stem == "__init__" else f"nocopy.{p.stem}"
        mods[name] = p
    return mods


def _imports(path: Path, package: str, module_level_only: bool) -> set[str]:
    """Absolute names of the nocopy modules `path` imports."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    out = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names = ([mod] if node.module else []) + [f"{mod}.{a.name}" for a in node.names]
            out.update(n for n in names if n.startswith("nocopy"))
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("nocopy"))
    return out


def test_the_runtime_never_imports_the_command_line_package():
    bad = []
    for name, path in _runtime_modules().items():
        for mod in _imports(path, "nocopy", module_level_only=False):
            if mod.startswith("nocopy._cli"):
                bad.append(f"{path.name} imports {mod}")
        if name != "nocopy" and "_cli" in path.read_text():
            bad.append(f"{path.name} names _cli")
    assert bad == []
    # The one entry: nc.audit, loaded by name on first use.
    init = (PKG / "__init__.py").read_text()
    assert init.count("nocopy._cli") == 1 and 'importlib.import_module("nocopy._cli.audit")' in init


def test_runtime_module_level_imports_have_no_cycle():
    mods = _runtime_modules()
    graph = {name: {m for m in _imports(path, "nocopy", module_level_only=True) if m in mods
                    and m != name}
             for name, path in mods.items()}
    graph["nocopy"] = set()  # the package imports everything; nothing may import it back
    for name, deps in graph.items():
        assert "nocopy" not in deps or name == "nocopy", f"{name} imports the package itself"
    state: dict[str, int] = {}

    def visit(n: str, stack: list[str]) -> None:
        if state.get(n) == 1:
            raise AssertionError("import cycle: " + " -> ".join(stack + [n]))
        if state.get(n) == 2:
            return
        state[n] = 1
        for d in graph[n]:
            visit(d, stack + [n])
        state[n] = 2

    for n in graph:
        visit(n, [])


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
