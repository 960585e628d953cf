"""rs.auto: successive halving over the default spaces, refit of the winner, report and plot."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.figure import Figure

import recsys as rs
from recsys.errors import ConfigError
from recsys.evaluation.spaces import default_space

FAST = ["EASE", "RP3beta", "ItemKNN", "Popularity"]


@pytest.fixture(scope="module")
def demo_train():
    train, _ = rs.split.random(rs.datasets.demo().interactions, test_size=0.2, seed=42)
    return train


@pytest.fixture(scope="module")
def raced(demo_train):
    return rs.auto(demo_train, budget_s=1e6, families=FAST, ensemble=False)


@pytest.fixture(scope="module")
def fused(demo_train):
    return rs.auto(demo_train, budget_s=1e6, families=FAST)


def test_successive_halving_keeps_a_third_per_rung(raced, demo_train):
    trials = raced.trials
    fit, _ = rs.split.random(demo_train, test_size=0.2, seed=0)
    first = trials[trials["rung"] == 0]
    assert len(first) == sum(len(default_space(f, fit)) for f in FAST)
    assert first.groupby("family", sort=False).size().index.tolist() == FAST
    for rung in range(trials["rung"].max()):
        here, there = trials[trials["rung"] == rung], trials[trials["rung"] == rung + 1]
        assert len(there) == max(1, len(here) // 3)
        # The promoted candidates are the best of the rung below.
        best = here.nlargest(len(there), "ndcg@10")
        assert set(zip(there["family"], there["params"], strict=True)) == set(
            zip(best["family"], best["params"], strict=True))
    assert trials["users"].tolist()[-1] == 1.0
    assert sorted(trials["users"].unique().tolist()) == pytest.approx([1 / 9, 1 / 3, 1.0])


def test_winner_is_the_best_of_the_last_rung_refitted_on_all_of_train(raced, demo_train):
    last = raced.trials[raced.trials["rung"] == raced.trials["rung"].max()]
    top = last.loc[last["ndcg@10"].idxmax()]
    assert top["winner"] and top["family"] == raced.family
    assert raced.trials.loc[raced.trials["winner"], "params"].nunique() == 1
    assert type(raced.model).__name__ == raced.family
    assert raced.model.user_items_.nnz == demo_train.nnz
    for name, value in raced.params.items():
        assert raced.model.get_params()[name] == value


def test_the_best_three_families_are_fused_with_their_defaults(fused, demo_train):
    trials = fused.trials
    race, last = trials.iloc[:-1], trials.iloc[-1]
    assert last["family"] == "Hybrid" and last["rung"] == race["rung"].max() + 1
    # The leaders, recomputed from the race: highest rung reached, then best score there.
    top = (race.sort_values(["rung", "ndcg@10"], ascending=False)
           .drop_duplicates("family")["family"].tolist()[:3])
    # The same fusion by hand: defaults, fitted on auto's validation split, rs.fit_weights.
    fit, valid = rs.split.random(demo_train, test_size=0.2, seed=0)
    by_hand = rs.fit_weights(rs.Hybrid([rs.evaluation.spaces.SPACES[f][0]() for f in top],
                                       weights=None).fit(fit), valid)
    weights = dict(zip(top, by_hand.weights_.round(3).tolist(), strict=True))
    assert last["params"] == ", ".join(f"{f}={w!r}" for f, w in weights.items())
    if max(weights.values()) == 1.0:
        assert fused.family == max(weights, key=weights.get) and fused.params == {}
    else:
        assert fused.family == "Hybrid" and bool(last["winner"])
        assert fused.params == {"members": {f: {} for f in top}, "weights": weights}
        assert [type(m).__name__ for m in fused.model.models] == top
        np.testing.assert_allclose(fused.model.weights_, by_hand.weights_)
    assert fused.model.user_items_.nnz == demo_train.nnz


def test_a_spent_budget_stops_after_the_first_trial(demo_train):
    result = rs.auto(demo_train, budget_s=1e-9, families=["RP3beta", "Popularity"])
    assert len(result.trials) == 1
    assert (result.family, result.params) == ("RP3beta", {})
    assert result.model.n_users == demo_train.n_users


def test_plot_draws_every_trial(raced):
    fig = raced.plot()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    drawn = sum(len(c.get_offsets()) for c in ax.collections)
    assert drawn == len(raced.trials) + raced.trials["winner"].sum()
    assert "ndcg@10" in ax.get_ylabel()
    png = io.BytesIO()
    fig.savefig(png, format="png")
    assert png.getvalue().startswith(b"\x89PNG")


def test_bad_arguments_are_named(demo_train):
    with pytest.raises(ConfigError, match="families"):
        rs.auto(demo_train, families=["NoSuchModel"])
    with pytest.raises(ConfigError, match="budget_s"):
        rs.auto(demo_train, budget_s=0)
    with pytest.raises(ConfigError, match="ensemble"):
        rs.auto(demo_train, ensemble="yes")
