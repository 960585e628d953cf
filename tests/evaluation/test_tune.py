import pytest

import recsys as rs
from recsys.errors import ConfigError


@pytest.fixture(scope="module")
def split():
    return rs.split.random(rs.datasets.demo().interactions, test_size=0.2, seed=3)


def test_grid_search_finds_the_best_trial(split):
    train, valid = split
    result = rs.tune(rs.ItemKNN, {"similarity": ["cosine", "tfidf"], "k": [5, 100]},
                     train, valid, show_progress=False)
    assert len(result.trials) == 4
    scores = {(row["similarity"], row["k"]): row["ndcg@10"]
              for row in result.trials.to_dict("records")}
    assert result.best_score == max(scores.values())
    assert scores[(result.best_params["similarity"], result.best_params["k"])] == \
        result.best_score
    direct = rs.evaluate(rs.ItemKNN(**result.best_params).fit(train), valid).summary["ndcg@10"]
    assert direct == pytest.approx(result.best_score)


def test_random_search_is_seeded_and_failing_trials_are_reported(split):
    train, valid = split
    space = {"k": [0, 10, 50, 100, 200]}  # k=0 is invalid and must fail without stopping
    first = rs.tune(rs.ItemKNN, space, train, valid, n_trials=3, seed=1, show_progress=False)
    again = rs.tune(rs.ItemKNN, space, train, valid, n_trials=3, seed=1, show_progress=False)
    assert sorted(first.trials["k"]) == sorted(again.trials["k"]) and len(first.trials) == 3
    full = rs.tune(rs.ItemKNN, space, train, valid, show_progress=False)
    failed = full.trials.set_index("k").loc[0]
    assert "k must be" in failed["error"] and failed.isna()["ndcg@10"]


def test_bad_space_is_named(split):
    train, valid = split
    with pytest.raises(ConfigError, match="space\\['k'\\]"):
        rs.tune(rs.ItemKNN, {"k": 10}, train, valid)
