"""Every public function of nocopy has a docstring with a short example, and the examples of
the view API run and print what they say (doctest, with np and nc in scope)."""

from __future__ import annotations

import doctest
import importlib.util
import inspect

import numpy as np
import pytest

import nocopy as nc
from nocopy import _adapters, _views


def public_callables():
    for name in nc.__all__:
        obj = getattr(nc, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            yield name, obj


@pytest.mark.parametrize("name,obj", list(public_callables()), ids=lambda x: str(x)[:30])
def test_public_function_has_docstring_with_example(name, obj):
    doc = inspect.getdoc(obj) or ""
    assert doc.strip(), f"nocopy.{name} has no docstring"
    if inspect.isfunction(obj):
        assert ">>>" in doc, f"nocopy.{name}'s docstring has no example"


FRAMEWORK_OF = {"to_torch": "torch", "to_tf": "tensorflow", "to_jax": "jax"}
EXAMPLES = [t for module in (_views, _adapters) for t in doctest.DocTestFinder().find(module)
            if t.examples]


@pytest.mark.parametrize("test", EXAMPLES, ids=lambda t: t.name.split(".")[-1])
def test_docstring_examples_run(test):
    framework = FRAMEWORK_OF.get(test.name.split(".")[-1])
    if framework and importlib.util.find_spec(framework) is None:
        pytest.skip(f"{framework} is not installed")
    test.globs = {"np": np, "nc": nc}
    runner = doctest.DocTestRunner(verbose=False,
                                   optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    result = runner.run(test, out=report.append)
    assert result.failed == 0, "".join(report)
