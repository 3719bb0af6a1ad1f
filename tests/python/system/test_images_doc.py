"""docs/IMAGES.md's runnable examples run (each ```python block on its own, in a fresh folder)."""

import pathlib
import re

import pytest

PAGE = pathlib.Path(__file__).resolve().parents[3] / "docs" / "IMAGES.md"


def blocks():
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)


@pytest.mark.parametrize("index", range(len(blocks())))
def test_images_doc_example_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks()[index], f"docs/IMAGES.md block {index}", "exec"), {})
