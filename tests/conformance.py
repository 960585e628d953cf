"""The conformance suite (:mod:`recsys.testing`) run on every family.

A new family joins with one line in ``CASES``.
"""

from __future__ import annotations

import pytest

import recsys as rs
from recsys.testing import CHECKS, Case, block_items

CASES = [
    Case(rs.Popularity, personalized=False),
    Case(lambda: rs.Popularity(by="weight"), personalized=False),
    Case(lambda: rs.ItemKNN(similarity="cosine", k=20)),
    Case(lambda: rs.ItemKNN(similarity="bm25", k=20)),
    Case(lambda: rs.ItemKNN(similarity="tfidf", k=20)),
    Case(lambda: rs.EASE(l2=10.0, threads=1)),
    Case(lambda: rs.EASE(threads=1)),
    Case(lambda: rs.RP3beta(k=20, weighting="log")),
    Case(lambda: rs.RP3beta(k=20)),
    Case(lambda: rs.LightFM(components=16, epochs=10, seed=0, threads=1)),
    Case(lambda: rs.LightFM(components=16, seed=0, threads=1)),  # epochs="auto"
    Case(lambda: rs.ALS(factors=8, iterations=15, seed=0, threads=1)),
    Case(lambda: rs.ALS(factors=8, iterations=15, seed=0, threads=1, index="hnsw",
                        index_params={"M": 8, "ef_search": 64})),
    Case(lambda: rs.BPR(factors=8, iterations=100, seed=0, threads=1)),
    Case(lambda: rs.LMF(factors=4, iterations=30, seed=0, threads=1)),
    Case(lambda: rs.AssociationRules(min_support=0.05, min_confidence=0.2, max_len=3)),
    Case(lambda: rs.ContentBased(categorical_columns=["category"]), data=block_items),
    Case(lambda: rs.Hybrid([rs.ItemKNN(similarity="cosine", k=20), rs.ContentBased(
        categorical_columns=["category"])], fallback=rs.Popularity()), data=block_items),
]


@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_conformance(case: Case, check: str) -> None:
    CHECKS[check](case)
