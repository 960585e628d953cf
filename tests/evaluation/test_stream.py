"""evaluate_stream: prequential scores worked by hand, refits, the plot really drawn."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

import recsys as rs
from recsys.errors import ColumnError, ConfigError


@pytest.fixture()
def tiny():
    train = rs.Interactions.from_arrays(["u1", "u2", "u3"], ["a", "a", "b"],
                                        timestamps=[0, 0, 0])
    events = pd.DataFrame({"user_id": ["u1", "u4", "u4", "u1"],
                           "item_id": ["b", "c", "a", "a"],
                           "timestamp": [1, 2, 3, 4]}).iloc[::-1]  # sorted by the function
    return train, events


def test_scores_worked_by_hand(tiny):
    train, events = tiny
    model = rs.Popularity().fit(train)
    result = rs.evaluate_stream(model, events, k=3, step=2)
    # Chunk 0: u1 (seen a) gets [b] and takes b: hit at rank 1. u4 is unknown (the
    # fallback [a, b]) and takes c, an item the model does not know yet: a miss.
    # Chunk 1 (after learning chunk 0): counts a 2, b 2, c 1; u4 (seen c) gets [a, b] and
    # takes a: hit at rank 1. u1 takes a, which it had: not a target.
    chunks = result.chunks
    assert chunks["users"].tolist() == [2, 1]
    np.testing.assert_allclose(chunks["ndcg"], [0.5, 1.0])
    np.testing.assert_allclose(chunks["recall"], [0.5, 1.0])
    assert chunks["learn"].tolist() == ["update", "update"]
    assert result.summary["ndcg@3"] == pytest.approx((0.5 * 2 + 1.0) / 3)
    assert model.n_users == 3  # the caller's model is not changed


def test_periodic_refit_of_an_exact_update_scores_the_same(tiny):
    train = rs.datasets.demo().interactions
    frame = train.to_pandas().rename(columns={"user": "user_id", "item": "item_id"})
    frame = frame.sort_values("timestamp", kind="stable")
    start = rs.Interactions.from_pandas(frame.iloc[:40000], weight="weight",
                                        timestamp="timestamp")
    stream = frame.iloc[40000:44000]
    model = rs.Popularity().fit(start)
    updated = rs.evaluate_stream(model, stream, k=10, step=1000)
    refitted = rs.evaluate_stream(model, stream, k=10, step=1000, refit_every=2, train=start)
    assert refitted.chunks["learn"].tolist() == ["update", "refit", "update", "refit"]
    # Popularity's update is exact: a refit changes the scores in nothing, only the item
    # order (a fresh index) that breaks ties among equal counts.
    np.testing.assert_allclose(updated.chunks["ndcg"][:2], refitted.chunks["ndcg"][:2])
    np.testing.assert_allclose(updated.chunks["ndcg"], refitted.chunks["ndcg"], atol=1e-3)
    assert (updated.chunks["users"] > 0).all()


def test_the_plot_is_drawn(tiny):
    train, events = tiny
    result = rs.evaluate_stream(rs.Popularity().fit(train), events, k=3, step=2,
                                refit_every=2, train=train)
    figure = result.plot(label="Popularity")
    lines = figure.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["Popularity ndcg@3",
                                                     "Popularity recall@3", "refit"]
    np.testing.assert_allclose(lines[0].get_ydata(), result.chunks["ndcg"])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_input_is_named(tiny):
    train, events = tiny
    model = rs.Popularity().fit(train)
    with pytest.raises(ColumnError, match="timestamp"):
        rs.evaluate_stream(model, events.drop(columns="timestamp"))
    with pytest.raises(ConfigError, match="train="):
        rs.evaluate_stream(model, events, refit_every=1)
    with pytest.raises(rs.errors.DataError, match=r"'item_id'.*row"):
        rs.evaluate_stream(model, events.assign(item_id=["a", None, "b", "c"]))


def test_refits_of_families_fitted_on_item_features_are_refused_up_front(tiny):
    train, events = tiny
    items = pd.DataFrame({"genre": ["x", "y", "x"]}, index=["a", "b", "c"])
    model = rs.ContentBased(categorical_columns=["genre"]).fit(
        rs.Dataset(train, items=items))
    with pytest.raises(ConfigError, match="ContentBased is fitted on a Dataset with item "
                                          "features.*refit_every=None"):
        rs.evaluate_stream(model, events, step=2, refit_every=1, train=train)
    # Updates only work: every chunk is scored, then learned (c, new, warned about).
    with pytest.warns(rs.errors.RecsysWarning, match="1 new item"):
        result = rs.evaluate_stream(model, events, k=3, step=2)
    assert result.chunks["learn"].tolist() == ["update", "update"]
    assert result.chunks["users"].tolist() == [2, 1]
