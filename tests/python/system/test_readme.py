"""The README's runnable examples run (every ```python block marked runnable by not being the
API summary)."""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[3] / "README.md"


def runnable_blocks():
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    # The "API in a page" block is a summary, not a program; it is the one using bare `v =`.
    return [b for b in blocks if not b.lstrip().startswith("v = nc.view(obj)")]


@pytest.mark.parametrize("index", range(len(runnable_blocks())))
def test_readme_example_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(runnable_blocks()[index], f"README block {index}", "exec"), {})
