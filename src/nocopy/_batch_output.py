"""Where the loaders' batches go: the `output=` names ("torch", "numpy", "jax", "tf", "view")
and the zero-copy hand-off from a batch View to that framework's array."""

from __future__ import annotations

import importlib

OUTPUTS = ("torch", "numpy", "jax", "tf", "view")
_FRAMEWORK_MODULE = {"torch": "torch", "jax": "jax", "tf": "tensorflow"}


def batch_converter(output: str):
    """The function from a batch View to the `output` framework's array, sharing memory.
    ValueError for an unknown name; ImportError when that framework is not installed (checked
    here, at the loader's construction, rather than at its first batch)."""
    if output not in OUTPUTS:
        raise ValueError(f"output {output!r} is not one of {', '.join(map(repr, OUTPUTS))}")
    if output in _FRAMEWORK_MODULE:
        try:
            importlib.import_module(_FRAMEWORK_MODULE[output])
        except ImportError as exc:
            raise ImportError(f"output={output!r} needs {_FRAMEWORK_MODULE[output]}, which is "
                              "not installed; use output='numpy' or 'view'") from exc
    from . import _adapters

    if output == "view":
        return lambda v: v
    return {"numpy": _adapters.to_numpy, "torch": _adapters.to_torch, "jax": _adapters.to_jax,
            "tf": _adapters.to_tf}[output]
