"""The version of nocopy: the one source that the wheel's metadata (scikit-build-core's regex
provider), ``nocopy.__version__``, ``python -m nocopy --version`` and the CMake package
(nocopyConfigVersion.cmake, parsed by CMakeLists.txt) all read. Keep it ``X.Y.Z``."""

__version__ = "0.1.0"
