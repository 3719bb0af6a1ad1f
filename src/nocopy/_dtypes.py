"""Dtype names: what nocopy accepts as a dtype, and the NumPy dtype of a view."""

from __future__ import annotations

import numpy as np

_SUPPORTED = (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "bfloat16", "float32", "float64", "complex64", "complex128",
)


def dtype_name(spec) -> str:
    """Canonical nocopy name of a dtype given as a string, a NumPy dtype or scalar type, a torch
    dtype or a TensorFlow/JAX dtype. Raises ValueError for types nocopy does not support."""
    if isinstance(spec, str):
        name = spec
    elif type(spec).__module__.startswith("torch"):
        name = str(spec).removeprefix("torch.")
    elif hasattr(spec, "as_numpy_dtype") and hasattr(spec, "name"):  # tf.DType
        name = spec.name
    else:
        try:
            dt = np.dtype(spec)
        except TypeError as exc:
            raise ValueError(f"unsupported dtype {spec!r}") from exc
        if dt.byteorder == ">":
            raise ValueError(f"unsupported dtype {spec!r}: nocopy arrays are native "
                             "(little-endian) byte order")
        name = dt.name
    if not isinstance(spec, str) and name not in _SUPPORTED:
        raise ValueError(f"unsupported dtype {spec!r}: nocopy supports {', '.join(_SUPPORTED)}")
    return name


def numpy_dtype(name: str):
    """NumPy dtype for a nocopy dtype name; bfloat16 needs the ml_dtypes package."""
    if name == "bfloat16":
        try:
            import ml_dtypes
        except ImportError:
            return "bfloat16"
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)
