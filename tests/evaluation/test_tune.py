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


# --------------------------------------------------------------------------- Optuna


def test_optuna_sampler_finds_a_trial_that_is_really_best(split):
    pytest.importorskip("optuna")
    train, valid = split
    space = {"similarity": ["cosine", "tfidf"], "k": {"low": 5, "high": 200, "log": True}}
    result = rs.tune(rs.ItemKNN, space, train, valid, sampler="optuna", n_trials=6, seed=0,
                     show_progress=False)
    assert len(result.trials) == 6 and set(result.trials["state"]) == {"complete"}
    assert 5 <= result.best_params["k"] <= 200 and isinstance(result.best_params["k"], int)
    assert result.best_score == result.trials["ndcg@10"].max()
    direct = rs.evaluate(rs.ItemKNN(**result.best_params).fit(train), valid).summary["ndcg@10"]
    assert direct == pytest.approx(result.best_score)
    again = rs.tune(rs.ItemKNN, space, train, valid, sampler="optuna", n_trials=6, seed=0,
                    show_progress=False)
    assert again.best_params == result.best_params  # seeded


def test_optuna_prunes_iterative_trials_below_the_median(split):
    pytest.importorskip("optuna")
    from recsys.evaluation.tune_optuna import budgets

    train, valid = split

    def als(**params):
        return rs.ALS(**{"iterations": 8, "seed": 0, **params})  # the budget may be overridden

    result = rs.tune(als, {"factors": [2, 48]}, train, valid, sampler="optuna", n_trials=6,
                     seed=0, show_progress=False)
    trials = result.trials
    pruned, complete = trials[trials["state"] == "pruned"], trials[trials["state"] == "complete"]
    assert len(pruned) >= 1 and len(complete) >= 2
    assert set(pruned["budget"]) <= set(budgets(8)[:-1])  # stopped before the full budget
    assert set(complete["budget"]) == {8}
    assert pruned["ndcg@10"].isna().all()
    assert result.best_params == {"factors": 48}  # 2 factors cannot compete


def test_optuna_runs_lightfm_with_epochs_resolved_at_fit(split):
    # LightFM's default epochs="auto" cannot be cut into budgets: its trials run in full.
    pytest.importorskip("optuna")
    pytest.importorskip("lightfm")
    train, valid = split

    def lightfm(**params):
        return rs.LightFM(**{"components": 4, "seed": 0, "threads": 1, **params})

    result = rs.tune(lightfm, {"learning_rate": [0.05, 0.1]}, train, valid, sampler="optuna",
                     n_trials=2, seed=0, show_progress=False)
    assert set(result.trials["state"]) == {"complete"}
    assert result.trials["ndcg@10"].notna().all()
    assert result.best_score > 0


def test_optuna_space_errors_are_named(split):
    pytest.importorskip("optuna")
    train, valid = split
    with pytest.raises(ConfigError, match=r"space\['k'\]: a range needs low and high"):
        rs.tune(rs.ItemKNN, {"k": {"low": 5}}, train, valid, sampler="optuna")
    with pytest.raises(ConfigError, match="sampler"):
        rs.tune(rs.ItemKNN, {"k": [5]}, train, valid, sampler="bayes")


def test_the_runner_accepts_an_optuna_tuning_table(tmp_path):
    pytest.importorskip("optuna")
    from recsys.evaluation.experiment import parse_config, run_experiment

    text = """
        k = [10]
        n_bootstrap = 20
        beyond = false
        metrics = ["ndcg"]
        [dataset]
        name = "demo"
        [[models]]
        class = "ItemKNN"
        [models.tune]
        sampler = "optuna"
        n_trials = 3
        space = { k = { low = 10, high = 100 } }
        """
    config = parse_config(text)
    assert config.models[0].tune["sampler"] == "optuna" and config.models[0].tune["prune"]
    result = run_experiment(config, write=False, show_progress=False)
    assert result.runs[0].ok and len(result.runs[0].trials) == 3
    assert 10 <= result.runs[0].best_params[0]["k"] <= 100
    with pytest.raises(ConfigError, match=r"models\[0\]\.tune\.space\.k.*range"):
        parse_config(text.replace('sampler = "optuna"', 'sampler = "grid"'))


def test_default_space_carved_validation_and_refit_on_all_of_train(split):
    from recsys.evaluation.spaces import default_space

    train, _ = split
    result = rs.tune(rs.EASE, train=train, show_progress=False)
    # By hand: the split tune carves (20% per user, seed 0) and EASE's default space on it.
    fit, valid = rs.split.random(train, test_size=0.2, seed=0)
    expected = default_space("EASE", fit)
    assert len(result.trials) == len(expected)
    scores = [rs.evaluate(rs.EASE(**params).fit(fit), valid).summary["ndcg@10"]
              for params in expected]
    assert result.best_score == pytest.approx(max(scores))
    assert result.best_params == expected[scores.index(max(scores))]
    # The best candidate refitted on all of train, with the parameters found.
    best = result.best_model
    assert best.user_items_.nnz == train.nnz
    assert {k: best.get_params()[k] for k in result.best_params} == result.best_params


def test_given_validation_keeps_the_best_trials_model_and_candidate_lists(split):
    train, valid = split
    candidates = [{"k": 5}, {"k": 100, "similarity": "cosine"}]
    result = rs.tune(rs.ItemKNN, candidates, train, valid, show_progress=False)
    assert [{k: v for k, v in row.items() if k in ("k", "similarity") and v == v}
            for row in result.trials.sort_values("k").to_dict("records")] == candidates
    assert result.best_model.user_items_.nnz == train.nnz
    assert result.best_model.get_params()["k"] == result.best_params["k"]
    assert rs.tune(rs.ItemKNN, candidates, train, valid, show_progress=False,
                   refit=False).best_model is None


@pytest.mark.parametrize("kwargs, words", [
    ({"space": None}, "no default space"),
    ({"space": []}, "non-empty list of parameter dicts"),
    ({"space": [{"k": 5}, 5]}, "list of parameter dicts"),
    ({"space": "k"}, "list of parameter dicts"),
    ({"space": [{"k": 5}], "sampler": "optuna"}, "optuna"),
    ({"space": {"k": [5]}, "valid_size": 1.5}, "valid_size"),
    ({"space": {"k": [5]}, "train": None}, "train="),
])
def test_tune_arguments_are_named(split, kwargs, words):
    train, _ = split
    model = rs.Hybrid if kwargs.get("space", 1) is None else rs.ItemKNN
    with pytest.raises(ConfigError, match=words):
        rs.tune(model, **{"train": train, **kwargs})


def test_a_dataset_without_validation_is_refused():
    ds = rs.datasets.demo()
    with pytest.raises(ConfigError, match="valid="):
        rs.tune(rs.ItemKNN, {"k": [5]}, ds)
