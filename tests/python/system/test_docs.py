"""The manual is tested: README.md and every docs/*.md page.

- Every ```python block runs as a program, each in a fresh namespace and its own temporary
  directory (so every block is self-contained), unless an HTML comment
  `<!-- not-run: reason -->` stands on the line before it (an API summary, a shell session).
- Every code fence names its language (`python`, `bash`, `text`, ...): nothing that looks like
  a program is left out without saying so.
- Every relative link resolves: the file or folder exists, and a `#fragment` names a heading of
  the target page.
- README.md stays a short front door that links every page, and docs/README.md indexes them.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
README_MAX_LINES = 250
LANGUAGES = {"python", "pycon", "bash", "console", "text", "cmake", "cpp", "json", "toml"}
NOT_RUN = re.compile(r"^\s*<!--\s*not-run:(.*?)-->\s*$")
OPEN_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
# Frameworks a block may need, by import name or by a loader's `output=` argument.
OPTIONAL = {"torch": "torch", "tensorflow": "tensorflow", "jax": "jax", "PIL": "PIL"}
OUTPUTS = {"torch": "torch", "tf": "tensorflow", "jax": "jax"}


@dataclass
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int  # 1-based line of the opening fence
    language: str
    code: str
    not_run: str | None  # the reason given by a not-run comment, else None

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def parse(page: Path) -> tuple[list[Block], list[str]]:
    """The page's fenced blocks, and its lines with every block's lines blanked (for links)."""
    lines = page.read_text().splitlines()
    prose = list(lines)
    blocks = []
    i = 0
    while i < len(lines):
        m = OPEN_FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m.groups()
        start = i
        before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marker = NOT_RUN.match(before)
        body = []
        i += 1
        while i < len(lines) and lines[i].strip() != fence:
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        assert i < len(lines), f"{page.name}:{start + 1}: code fence never closed"
        for j in range(start, i + 1):
            prose[j] = ""
        blocks.append(Block(page, start + 1, info.strip(), "\n".join(body) + "\n",
                            marker.group(1).strip() if marker else None))
        i += 1
    return blocks, prose


def all_blocks() -> list[Block]:
    return [b for page in PAGES for b in parse(page)[0]]


RUNNABLE = [b for b in all_blocks() if b.language == "python" and b.not_run is None]


def needed_frameworks(code: str) -> list[str]:
    """The optional frameworks a block imports or asks a loader to output."""
    found = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    found = {OPTIONAL[m] for m in found if m in OPTIONAL}
    found.update(OUTPUTS[o] for o in re.findall(r"""output\s*=\s*["'](\w+)["']""", code)
                 if o in OUTPUTS)
    return sorted(found)


@pytest.mark.parametrize("block", RUNNABLE, ids=[b.name for b in RUNNABLE])
def test_python_block_runs(block, tmp_path, monkeypatch):
    for module in needed_frameworks(block.code):
        pytest.importorskip(module, reason=f"{block.name} needs {module}")
    monkeypatch.chdir(tmp_path)
    exec(compile(block.code, block.name, "exec"), {"__name__": "__main__"})


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_fence_names_its_language_and_every_skip_says_why(page):
    blocks, _ = parse(page)
    for b in blocks:
        assert b.language in LANGUAGES, (
            f"{b.name}: fence language {b.language!r}; name one of {sorted(LANGUAGES)} "
            "(```text for output, ```pycon for an interactive session)")
        if b.not_run is not None:
            assert b.not_run, f"{b.name}: a not-run comment must give its reason"
    lines = page.read_text().splitlines()
    fences = {b.line - 1 for b in blocks}
    for k, line in enumerate(lines):
        if NOT_RUN.match(line):
            nxt = next((j for j in range(k + 1, len(lines)) if lines[j].strip()), None)
            assert nxt in fences, f"{page.name}:{k + 1}: a not-run comment must precede a block"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: link and code markup dropped, punctuation removed,
    lower case, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every #fragment that names a place in the page: its headings and explicit HTML ids."""
    _, prose = parse(page)
    seen: dict[str, int] = {}
    out = set()
    for line in prose:
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
        out.update(re.findall(r"""<a\s+(?:name|id)=["']([^"']+)["']""", line))
    return out


def links(page: Path) -> list[tuple[int, str]]:
    """(line, target) of every Markdown link and image outside code."""
    _, prose = parse(page)
    found = []
    for k, line in enumerate(prose):
        line = re.sub(r"`[^`]*`", "code", line)  # inline code is not a link
        for target in re.findall(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", line):
            found.append((k + 1, target))
    return found


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """The page's relative links that do not resolve inside `root`, each with the reason."""
    broken = []
    for line, target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: ...
            continue
        path, _, fragment = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        where = f"{page.name}:{line}: {target}"
        if not dest.exists():
            broken.append(f"{where}: no such file")
        elif root not in dest.parents and dest != root:
            broken.append(f"{where}: outside the repository")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            broken.append(f"{where}: no heading #{fragment} in {dest.name}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_relative_links_resolve(page):
    broken = broken_links(page)
    assert not broken, "\n".join(broken)


def test_readme_is_a_short_front_door():
    n = len((ROOT / "README.md").read_text().splitlines())
    assert n <= README_MAX_LINES, (
        f"README.md has {n} lines (at most {README_MAX_LINES}): move the details to docs/")


def test_readme_and_the_index_link_every_page():
    def targets(page):
        return {(page.parent / t.partition("#")[0]).resolve() for _, t in links(page)}

    pages = [p.resolve() for p in DOCS.glob("*.md") if p.name != "README.md"]
    from_readme, from_index = targets(ROOT / "README.md"), targets(DOCS / "README.md")
    assert (DOCS / "README.md").resolve() in from_readme
    assert not [p.name for p in pages if p not in from_readme], "README.md must link every page"
    assert not [p.name for p in pages if p not in from_index], "docs/README.md must index every page"


def test_the_checks_catch_what_they_should(tmp_path):
    """The parser and the link check on a page made to fail: a not-run block carries its
    reason, a fence without a language is seen, a missing file, a missing anchor and a link out
    of the tree are reported, and GitHub's slugs are matched."""
    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "PAGE.md"
    page.write_text("# Loader: `nc.Loader` (fast)\n\n[a](#loader-ncloader-fast) [b](NOPE.md)\n"
                    "[c](#nope) ![d](../../x.png) `[e](code.md)`\n\n<!-- not-run: a summary -->\n"
                    "```python\nv.shape  v.dtype\n```\n```\n[f](in-code.md)\n```\n")
    (tmp_path.parent / "x.png").touch()
    blocks, _ = parse(page)
    assert [(b.language, b.not_run) for b in blocks] == [("python", "a summary"), ("", None)]
    assert anchors(page) == {"loader-ncloader-fast"}
    assert [t for _, t in links(page)] == ["#loader-ncloader-fast", "NOPE.md", "#nope",
                                          "../../x.png"]
    assert broken_links(page, root=tmp_path) == [
        "PAGE.md:3: NOPE.md: no such file", "PAGE.md:4: #nope: no heading #nope in PAGE.md",
        "PAGE.md:4: ../../x.png: outside the repository"]
    assert slug("Views (`python bench/bench_views.py`)") == "views-python-benchbench_viewspy"
    assert needed_frameworks("import torch.nn\nfrom PIL import Image\nf(output='tf')") == [
        "PIL", "tensorflow", "torch"]
