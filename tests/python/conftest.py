"""Shared pytest fixtures: the suite must leave no nocopy shared-memory segment behind."""

import os

import pytest


def _nocopy_segments() -> set[str]:
    """Names of the segments in /dev/shm that carry nocopy's header magic."""
    out = set()
    try:
        names = os.listdir("/dev/shm")
    except OSError:
        return out
    for name in names:
        try:
            with open(os.path.join("/dev/shm", name), "rb") as f:
                if f.read(8) == b"NOCOPYSA":
                    out.add(name)
        except OSError:
            pass
    return out


@pytest.fixture(scope="session", autouse=True)
def no_leaked_shared_arrays():
    """Fails the session if any nocopy segment created while it ran is still in /dev/shm
    (segments of other programs that existed before are ignored)."""
    before = _nocopy_segments()
    yield
    leaked = _nocopy_segments() - before
    for name in leaked:  # clean up so one failure does not poison later runs
        try:
            os.unlink(os.path.join("/dev/shm", name))
        except OSError:
            pass
    assert not leaked, f"test suite leaked nocopy shared-memory segments: {sorted(leaked)}"
