"""Every docstring example in the package runs and prints what it says.

Examples that need the network are marked ``# doctest: +SKIP`` in the docstring itself.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import recsys

# Modules whose import needs an optional extra that may be absent.
OPTIONAL = {"recsys.models.lightfm": "lightfm", "recsys.serving.app": "fastapi"}


def _modules() -> list[str]:
    names = [recsys.__name__]
    for info in pkgutil.walk_packages(recsys.__path__, prefix="recsys."):
        if not info.name.endswith("__main__"):  # importing it runs the command
            names.append(info.name)
    return sorted(names)


MODULES = _modules()


def test_the_walk_finds_the_package():
    assert "recsys.evaluation.metrics" in MODULES and "recsys.cli" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    if name in OPTIONAL:
        pytest.importorskip(OPTIONAL[name])
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    flags = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
    result = doctest.testmod(module, optionflags=flags, report=True)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
