"""Re-ranking kernels against plain-Python greedy references, and diversity end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import recsys as rs
from recsys.ranking.rerank import cap_per_group, mmr
from recsys.ranking.topk import PAD


@st.composite
def ranked(draw):
    n_items = draw(st.integers(2, 12))
    n_queries = draw(st.integers(1, 4))
    width = draw(st.integers(1, n_items))
    rows, values = [], []
    for _ in range(n_queries):
        items = draw(st.permutations(range(n_items)))[:width]
        n_valid = draw(st.integers(0, width))
        scores = sorted(draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.5]), min_size=width,
                                      max_size=width)), reverse=True)
        rows.append([i if j < n_valid else PAD for j, i in enumerate(items)])
        values.append([s if j < n_valid else np.nan for j, s in enumerate(scores)])
    groups = np.array(draw(st.lists(st.integers(-1, 3), min_size=n_items, max_size=n_items)))
    return np.array(rows, np.int64), np.array(values, np.float64), groups


def mmr_reference(row, scores, k, lambda_, groups):
    valid = [j for j in range(len(row)) if row[j] != PAD]
    if not valid:
        return []
    lo, hi = min(scores[j] for j in valid), max(scores[j] for j in valid)
    rel = {j: (scores[j] - lo) / (hi - lo) if hi > lo else 1.0 for j in valid}
    chosen: list[int] = []
    while len(chosen) < k and len(chosen) < len(valid):
        def gain(j):
            sim = max((1.0 if groups[row[j]] >= 0 and groups[row[j]] == groups[row[c]]
                       else 0.0 for c in chosen), default=0.0)
            return lambda_ * rel[j] - (1 - lambda_) * sim
        best = max((j for j in valid if j not in chosen), key=lambda j: (gain(j), -j))
        chosen.append(best)
    return [row[j] for j in chosen]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(data=ranked(), k=st.integers(1, 6), lambda_=st.sampled_from([0.0, 0.3, 0.7, 1.0]))
def test_mmr_equals_the_greedy_reference(data, k, lambda_):
    positions, scores, groups = data
    got, _ = mmr(positions, scores, k, lambda_, groups=groups)
    for q in range(len(positions)):
        expected = mmr_reference(positions[q], scores[q], k, lambda_, groups)
        assert got[q].tolist() == expected + [PAD] * (k - len(expected))


@settings(max_examples=300, derandomize=True, deadline=None)
@given(data=ranked(), k=st.integers(1, 6), cap=st.integers(1, 3))
def test_caps_keep_rank_order_and_never_exceed_the_cap(data, k, cap):
    positions, scores, groups = data
    got, got_scores = cap_per_group(positions, scores, k, groups, cap)
    for q in range(len(positions)):
        counts: dict = {}
        expected = []
        for item in positions[q]:
            if item == PAD or len(expected) == k:
                continue
            g = groups[item]
            if g >= 0 and counts.get(g, 0) >= cap:
                continue
            counts[g] = counts.get(g, 0) + 1
            expected.append(int(item))
        assert got[q].tolist() == expected + [PAD] * (k - len(expected))


def test_mmr_with_lambda_one_keeps_the_ranking_and_vectors_spread_it():
    positions = np.array([[0, 1, 2]])
    scores = np.array([[3.0, 2.9, 1.0]])
    vectors = np.array([[1.0, 0.0], [0.99, 0.1], [0.0, 1.0]])
    assert mmr(positions, scores, 2, 1.0, vectors=vectors)[0].tolist() == [[0, 1]]
    assert mmr(positions, scores, 2, 0.3, vectors=vectors)[0].tolist() == [[0, 2]]


def test_diversity_trade_off_on_the_demo_data():
    # More diversity, less accuracy: intra-list diversity rises as lambda_ falls, and NDCG
    # pays for it (the figures are printed by benchmarks/diversity.py).
    ds = rs.datasets.demo()
    train, test = rs.split.random(ds.interactions, test_size=0.2, seed=42)
    model = rs.ItemKNN().fit(train).set_item_attributes(ds.items[["category", "brand"]])
    users = list(test.users.ids[:300])
    share = {}
    for lambda_ in (1.0, 0.9, 0.0):
        recs = model.recommend(users, k=10, diversify=rs.Diversify(by="category",
                                                                   lambda_=lambda_))
        frame = recs.to_pandas().merge(ds.items[["category"]], left_on="item",
                                       right_index=True)
        share[lambda_] = frame.groupby("user")["category"].nunique().mean()
    assert share[1.0] < share[0.9] <= share[0.0]
    capped = model.recommend(users, k=10, diversify=rs.Diversify(max_per={"brand": 1}))
    brands = capped.to_pandas().merge(ds.items[["brand"]], left_on="item", right_index=True)
    assert brands.groupby(["user", "brand"]).size().max() == 1
    plain = model.recommend(users, k=10).to_pandas()
    # The cap only removes: what is left keeps the model's order.
    first = capped.to_pandas().groupby("user")["item"].first()
    assert (first == plain.groupby("user")["item"].first()).all()
    assert isinstance(share[0.0], float) and not pd.isna(share[0.0])
