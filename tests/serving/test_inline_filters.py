"""Which filtered requests may rank on the event loop (``routes.extra_work``)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytest.importorskip("fastapi")

from recsys.serving.routes import INLINE_CONDITIONS, extra_work  # noqa: E402


def body(where=None, explain=False, diversify=None) -> SimpleNamespace:
    return SimpleNamespace(where=where, explain=explain, diversify=diversify)


def test_small_filters_stay_inline_and_large_ones_do_not():
    assert not extra_work(body())
    assert not extra_work(body({"in_stock": True, "price": {"lt": 500}}))
    wide = {f"c{i}": i for i in range(INLINE_CONDITIONS + 1)}
    assert extra_work(body(wide))
    assert extra_work(body({"category": {"in": [f"v{i}" for i in range(100_000)]}}))
    assert extra_work(body(explain=True)) and extra_work(body(diversify={"by": "brand"}))


def test_a_deep_filter_is_walked_without_recursion():
    deep: dict = {"in_stock": True}
    for _ in range(100_000):
        deep = {"not": deep}
    assert extra_work(body(deep))
    narrow = {"not": {"not": {"in_stock": True}}}
    assert not extra_work(body(narrow))
