"""Notebook display: HTML of recommendations (with titles), evaluation results and
comparison tables, and the query column of similar-item and basket results."""

from __future__ import annotations

import re

import numpy as np
import pytest

import recsys as rs
from recsys._display import MAX_ROWS


@pytest.fixture(scope="module")
def fitted():
    ds = rs.datasets.demo()
    train, test = rs.split.random(ds.interactions, test_size=0.2, seed=42)
    return ds, train, test, rs.ItemKNN().fit(train)


def test_similar_items_keep_their_query_item(fitted):
    ds, _, _, model = fitted
    queries = list(ds.interactions.items.ids[:3])
    recs = model.similar_items(queries, k=4)
    frame = recs.to_pandas()
    assert frame.columns.tolist() == ["query_item", "item", "score", "rank"]
    for query in queries:  # each query's rows are its own list, in rank order
        rows = frame[frame["query_item"] == query]
        assert rows["item"].tolist() == recs[query] and rows["rank"].tolist() == [1, 2, 3, 4]
        assert query not in rows["item"].tolist()


def test_basket_results_name_their_query_column(fitted):
    ds, _, _, model = fitted
    frame = model.recommend_for_basket(list(ds.interactions.items.ids[:2]), k=3).to_pandas()
    assert frame.columns.tolist() == ["basket", "item", "score", "rank"]
    assert set(frame["item"]).isdisjoint(ds.interactions.items.ids[:2])


def test_recommendations_html_shows_titles_and_scores(fitted):
    ds, _, test, model = fitted
    users = test.users.ids[:2]
    recs = model.recommend(users, k=3)
    page = recs._repr_html_()
    cells = re.findall(r"<td>(.*?)</td>", page)
    assert len(cells) == 2 * 3
    titles = ds.items["title"]
    for row, user in enumerate(users):
        assert f"<th>{user}</th>" in page
        for rank, item in enumerate(recs[user]):
            cell = cells[row * 3 + rank]
            assert titles[item] in cell and f'title="{item}"' in cell
            assert f"{recs.scores[row, rank]:.3g}" in cell


def test_recommendations_html_without_titles_and_truncated():
    inter = rs.Interactions.from_arrays([f"u{i}" for i in range(30)] * 2,
                                        ["<b>a</b>"] * 30 + ["b"] * 30)
    recs = rs.Popularity().fit(inter).recommend(list(inter.users.ids), k=2,
                                                 exclude_seen=False)
    page = recs._repr_html_()
    assert page.count("<tr>") == MAX_ROWS + 1  # header + shown rows
    assert "&lt;b&gt;a&lt;/b&gt;" in page and "<b>a</b>" not in page  # ids are escaped
    assert f"{30 - MAX_ROWS} more users" in page


def test_evaluation_and_comparison_html(fitted):
    _, train, test, model = fitted
    result = rs.evaluate(model, test, k=10)
    page = result._repr_html_()
    for metric, mean in result.summary.items():
        row = re.search(rf"<th>{re.escape(metric)}</th><td>([\d.]+)</td><td>(.*?)</td>", page)
        assert float(row.group(1)) == pytest.approx(mean, abs=1e-4)
        bounds = re.findall(r"[\d.]+", row.group(2))
        if metric in result.per_user:
            low, high = map(float, bounds)
            assert low <= mean <= high
        else:
            assert bounds == []  # coverage: a catalogue share, no CI
    table = rs.compare({"pop": rs.Popularity(), "knn": model}, train, test, n_bootstrap=100)
    page = table._repr_html_()
    best = table.loc[table.groupby("metric")["mean"].idxmax()]
    assert set(best["model"]) == {"knn"}
    bold = re.findall(r"<strong>([\d.]+)</strong>", page)
    np.testing.assert_allclose(sorted(map(float, bold)), sorted(best["mean"].round(4)),
                               atol=1e-4)
    assert type(table[table["model"] == "pop"]).__name__ == "DataFrame"  # plain when sliced
