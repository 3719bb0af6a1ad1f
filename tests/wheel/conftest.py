"""The checks of the wheel as users get it (`make wheel-check`): they run in the fresh
virtualenv that `make wheel-venv` made, with NOCOPY_WHEEL_DIST naming the folder of the built
wheel and sdist; without it (the dev venv) they are skipped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DIST = os.environ.get("NOCOPY_WHEEL_DIST")


def pytest_collection_modifyitems(items):
    if not DIST:
        skip = pytest.mark.skip(reason="run by `make wheel-check` in the wheel's virtualenv")
        for item in items:
            item.add_marker(skip)


def _one(pattern: str) -> Path:
    found = sorted(Path(DIST).glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {DIST}, found {found}"
    return found[0]


@pytest.fixture(scope="session")
def wheel_file() -> Path:
    """The repaired wheel in dist/."""
    return _one("nocopy-*.whl")


@pytest.fixture(scope="session")
def sdist_file() -> Path:
    """The sdist in dist/."""
    return _one("nocopy-*.tar.gz")
