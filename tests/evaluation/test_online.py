"""Online A/B analysis from an impressions log and a later events log."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import recsys as rs
from recsys.errors import ConfigError, DataError
from recsys.serving.arms import bucket
from recsys.serving.impressions import ImpressionLog


def _by_hand(shown: pd.DataFrame, events: pd.DataFrame, k: int, window: float | None):
    """Per (model, user) precision and hit rate, by a plain loop over impressions."""
    rows = []
    for row in shown.itertuples():
        later = events[(events["user"] == row.user) & (events["time"] > row.time)]
        if window is not None:
            later = later[later["time"] <= row.time + window]
        wanted = set(later["item"])
        top = list(row.items)[:k]
        hits = sum(item in wanted for item in top)
        rows.append({"model": row.model, "user": row.user, "precision": hits / k,
                     "hit_rate": float(hits > 0)})
    return pd.DataFrame(rows).groupby(["model", "user"])[["precision", "hit_rate"]].mean()


def _simulated(n_users: int, lift: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Users split 50/50 by the service's hash; each sees 1-3 lists of 5 items; a user clicks
    a shown item it likes with probability 0.2 (model a) or 0.2 + lift (model b), and
    sometimes clicks unrelated items, before or after."""
    rng = np.random.default_rng(seed)
    shown, events = [], []
    catalog = [f"i{j}" for j in range(200)]
    for i in range(n_users):
        user = f"user-{i}"
        model = "a" if bucket(user, "sim") < 0.5 else "b"
        for visit in range(int(rng.integers(1, 4))):
            at = 1000.0 * visit + rng.random()
            items = list(rng.choice(catalog, 5, replace=False))
            shown.append({"time": at, "user": user, "model": model, "source": "model",
                          "items": items})
            p = 0.2 + (lift if model == "b" else 0.0)
            events += [{"user": user, "item": item, "time": at + rng.random() * 100}
                       for item in items if rng.random() < p / 5 * 3]
        events += [{"user": user, "item": str(rng.choice(catalog)),
                    "time": rng.random() * 3000} for _ in range(int(rng.integers(0, 3)))]
    return pd.DataFrame(shown), pd.DataFrame(events)


def test_metrics_equal_a_plain_loop_and_tests_equal_scipy():
    shown, events = _simulated(300, 0.0, seed=1)
    table = rs.compare_online(shown, events, k=5, window=500, metrics=["precision", "hit_rate"],
                              n_bootstrap=50)
    expected = _by_hand(shown, events, 5, window=500)
    for metric in ("precision", "hit_rate"):
        rows = table[table["metric"] == f"{metric}@5"].set_index("model")
        groups = {m: expected.loc[m, metric].to_numpy() for m in ("a", "b")}
        for model in ("a", "b"):
            assert rows.loc[model, "mean"] == pytest.approx(groups[model].mean())
            assert rows.loc[model, "users"] == len(groups[model])
        welch = stats.ttest_ind(groups["b"], groups["a"], equal_var=False).pvalue
        ranksum = stats.mannwhitneyu(groups["b"], groups["a"]).pvalue
        assert rows.loc["b", "p_ttest"] == pytest.approx(welch)
        assert rows.loc["b", "p_wilcoxon"] == pytest.approx(ranksum)
        assert rows.loc["a", "ci_low"] <= rows.loc["a", "mean"] <= rows.loc["a", "ci_high"]


def test_a_real_lift_is_found_and_an_aa_test_is_not():
    shown, events = _simulated(1500, 0.3, seed=2)
    lifted = rs.compare_online(shown, events, k=5, n_bootstrap=100).set_index(
        ["model", "metric"])
    assert lifted.loc[("b", "hit_rate@5"), "significant"]
    assert lifted.loc[("b", "hit_rate@5"), "diff"] > 0.05
    shown, events = _simulated(1500, 0.0, seed=3)
    same = rs.compare_online(shown, events, k=5, n_bootstrap=100).set_index(
        ["model", "metric"])
    assert not same.loc[("b", "hit_rate@5"), "significant"]


def test_window_and_engaged_only():
    shown = pd.DataFrame({"time": [0.0, 0.0], "user": ["u1", "u2"], "model": ["a", "a"],
                          "items": [["x", "y"], ["y"]]})
    events = pd.DataFrame({"user": ["u1", "u1"], "item": ["x", "y"], "time": [10.0, 100.0]})
    wide = rs.compare_online(shown, events, k=2, metrics=["recall"], n_bootstrap=10)
    narrow = rs.compare_online(shown, events, k=2, window=50, metrics=["recall"],
                               n_bootstrap=10)
    engaged = rs.compare_online(shown, events, k=2, metrics=["recall"], engaged_only=True,
                                n_bootstrap=10)
    assert wide["mean"].item() == pytest.approx((1.0 + 0.0) / 2)  # u2 did nothing: 0
    assert narrow["mean"].item() == pytest.approx((1.0 + 0.0) / 2)  # y was clicked too late
    assert engaged["mean"].item() == pytest.approx(1.0) and engaged["users"].item() == 1


def test_from_the_service_log_file(tmp_path):
    path = tmp_path / "impressions.jsonl"
    log = ImpressionLog(path)
    log.record([{"user": "u1", "model": "a", "source": "model",
                 "items": [{"item": "x", "score": 1.0}, {"item": "y", "score": 0.5}]},
                {"user": 7, "model": "b", "source": "fallback",
                 "items": [{"item": "y", "score": 2.0}]}])
    log.close()
    frame = rs.evaluation.read_impressions(path)
    assert frame["user"].tolist() == ["u1", 7] and frame["items"].tolist() == [["x", "y"], ["y"]]
    events = pd.DataFrame({"user": ["u1", 7], "item": ["y", "y"],
                           "time": frame["time"].to_numpy() + 1})
    table = rs.compare_online(path, events, k=2, metrics=["hit_rate"], n_bootstrap=10)
    assert table.set_index("model")["mean"].to_dict() == {"a": 1.0, "b": 1.0}


def test_bad_input_is_named(tmp_path):
    shown = pd.DataFrame({"time": [0.0], "user": ["u"], "model": ["a"], "items": [["x"]]})
    with pytest.raises(DataError, match="missing \\['time'\\]"):
        rs.compare_online(shown, pd.DataFrame({"user": ["u"], "item": ["x"]}))
    with pytest.raises(ConfigError, match="baseline 'z'"):
        rs.compare_online(shown, pd.DataFrame({"user": [], "item": [], "time": []}),
                          baseline="z")
    (tmp_path / "bad.jsonl").write_text('{"user": "u", "items": []}\n')
    with pytest.raises(DataError, match="missing"):
        rs.evaluation.read_impressions(tmp_path / "bad.jsonl")
    (tmp_path / "torn.jsonl").write_text('{"user": "u", "items": [')
    with pytest.raises(DataError, match="torn.jsonl is not an impressions log"):
        rs.evaluation.read_impressions(tmp_path / "torn.jsonl")
