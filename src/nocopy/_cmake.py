"""Where the C++ package (headers, libnocopy.a, nocopyConfig.cmake) lies inside the installed
Python package, for C++ users of a wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def cmake_dir() -> str:
    """The folder of the installed nocopyConfig.cmake, for ``-Dnocopy_DIR=`` (or a parent of it
    on ``CMAKE_PREFIX_PATH``) so that ``find_package(nocopy)`` gives the target ``nocopy::nocopy``.

    >>> import os
    >>> os.path.isfile(os.path.join(nc.cmake_dir(), "nocopyConfig.cmake"))
    True

    Raises FileNotFoundError when this install of nocopy has no C++ package (a source tree
    imported without being installed).
    """
    path = _PACKAGE / "lib" / "cmake" / "nocopy"
    if not (path / "nocopyConfig.cmake").is_file():
        raise FileNotFoundError(
            f"nocopy's CMake package is not installed in {_PACKAGE}: install nocopy with pip "
            "(a wheel or `pip install .`) to get its headers, libnocopy.a and nocopyConfig.cmake")
    return str(path)
