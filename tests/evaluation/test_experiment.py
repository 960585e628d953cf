"""The experiment runner: config validation with key paths and lines, the demo config end to
end, failing models, k-fold on a CSV file, and the `recsys evaluate` command."""

from __future__ import annotations

import json
import textwrap

import pandas as pd
import pytest

import recsys as rs
from recsys.cli import main as cli
from recsys.evaluation.experiment import (
    ExperimentError,
    load_config,
    locate,
    parse_config,
    run_experiment,
)

from .conftest import DEMO_CONFIG, REPO

FILES = {"results.json", "results.csv", "report.md", "report.html", "metrics.png",
         "curves.png", "popularity_bias.png", "distributions.png", "long_tail.png"}


def small_config(tmp_path, models: str, extra: str = "", name: str = "exp.toml") -> str:
    """A quick experiment on the demo data: one k, few resamples."""
    text = textwrap.dedent(f"""\
        name = "small"
        k = [10]
        n_bootstrap = 50
        output = "from-config"
        {extra}
        [dataset]
        name = "demo"
        """) + textwrap.dedent(models)
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# --------------------------------------------------------------------------- demo config


def test_demo_config_end_to_end(demo_experiment):
    result = demo_experiment
    assert {p.name for p in result.output.iterdir()} == FILES
    names = [run.name for run in result.runs]
    assert names == ["Popularity", "ItemKNN-tfidf", "ItemKNN-tuned", "EASE", "RP3beta", "ALS"]
    assert all(run.ok for run in result.runs), [run.error for run in result.runs]

    table = pd.read_csv(result.output / "results.csv")
    assert list(table.columns[:5]) == ["model", "metric", "mean", "ci_low", "ci_high"]
    ndcg = table[table["metric"] == "ndcg@10"].set_index("model")
    assert list(ndcg.index) == names
    assert ((ndcg["ci_low"] <= ndcg["mean"]) & (ndcg["mean"] <= ndcg["ci_high"])).all()
    # every metric at every k of the file, for every model
    for k in (5, 10, 20, 50):
        for metric in ("ndcg", "recall", "precision", "map", "mrr", "hit_rate", "novelty"):
            assert len(table[table["metric"] == f"{metric}@{k}"]) == len(names)
    # collaborative filtering beats popularity, significantly (paired, Holm-corrected)
    for name in names[1:]:
        assert ndcg.loc[name, "mean"] > ndcg.loc["Popularity", "mean"]
        assert ndcg.loc[name, "significant"] and ndcg.loc[name, "p_holm"] < 0.05
    assert pd.isna(ndcg.loc["Popularity", "p_holm"])  # the baseline is not tested

    document = json.loads((result.output / "results.json").read_text())
    assert document["baseline"] == "Popularity" and document["report_k"] == 10
    assert document["dataset"]["users"] == result.interactions.n_users
    tuned = next(m for m in document["models"] if m["name"] == "ItemKNN-tuned")
    assert len(tuned["trials"]) == 4 and tuned["tuned_params"][0]["similarity"] in (
        "tfidf", "bm25", "cosine")
    assert all(m["status"] == "ok" and m["summary"]["ndcg@10"] > 0 for m in document["models"])
    # the per-user values behind the table are the ones evaluate() gives
    first = result.runs[1].per_user
    assert first["ndcg@10"].mean() == pytest.approx(ndcg.loc["ItemKNN-tfidf", "mean"])


def test_summary_is_models_by_metrics(demo_experiment):
    wide = demo_experiment.summary()
    assert list(wide.index)[0] == "Popularity"
    assert {"ndcg@10", "recall@10", "novelty@10", "gini@10", "personalization@10"} <= set(
        wide.columns)
    assert wide.loc["Popularity", "personalization@10"] < wide.loc["EASE",
                                                                  "personalization@10"]


# --------------------------------------------------------------------------- failures


def test_failing_model_is_reported_and_the_others_run(tmp_path):
    config = small_config(tmp_path, """
        [[models]]
        class = "Popularity"
        [[models]]
        class = "ItemKNN"
        name = "broken"
        params = { similarity = "no-such-similarity" }
        [[models]]
        class = "ItemKNN"
        """)
    result = run_experiment(config, output=tmp_path / "out", show_progress=False)
    status = {run.name: run.status for run in result.runs}
    assert status == {"Popularity": "ok", "broken": "failed", "ItemKNN": "ok"}
    broken = result.table[result.table["model"] == "broken"]
    assert len(broken) == 1 and "no-such-similarity" in broken["error"].item()
    assert result.table.loc[result.table["model"] == "ItemKNN", "mean"].notna().all()
    report = (tmp_path / "out" / "report.md").read_text()
    row = next(line for line in report.splitlines() if line.startswith("| broken |"))
    assert "failed: ConfigError" in row and "no-such-similarity" in row
    assert "## Failed models" in report
    document = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [m["status"] for m in document["models"]] == ["ok", "failed", "ok"]
    assert "no-such-similarity" in document["models"][1]["error"]


def test_every_model_failing_still_writes_a_report_and_exits_1(tmp_path, capsys):
    config = small_config(tmp_path, """
        [[models]]
        class = "ItemKNN"
        params = { k = -3 }
        """)
    assert cli(["evaluate", config, "--output", str(tmp_path / "out")]) == 1
    assert "FAILED ItemKNN" in capsys.readouterr().out
    files = {p.name for p in (tmp_path / "out").iterdir()}
    assert files == {"results.json", "results.csv", "report.md", "report.html", "long_tail.png"}


# --------------------------------------------------------------------------- protocols


def test_auto_entry_races_the_families_and_reports_the_winner(tmp_path):
    config = small_config(tmp_path, """
        [[models]]
        class = "Popularity"
        [[models]]
        [models.auto]
        budget_s = 1000
        families = ["RP3beta", "ItemKNN"]
        """)
    result = run_experiment(config, output=tmp_path / "out", show_progress=False)
    run = next(run for run in result.runs if run.name == "auto")
    assert run.ok, run.error
    assert run.best_params[0]["family"] in ("RP3beta", "ItemKNN", "Hybrid")
    # The race, then the fusion of the two families (the last trial).
    assert set(run.trials["family"].iloc[:-1]) == {"RP3beta", "ItemKNN"}
    assert run.trials["family"].iloc[-1] == "Hybrid"
    assert run.trials["winner"].any() and (run.trials["fold"] == 1).all()
    document = json.loads((tmp_path / "out" / "results.json").read_text())
    entry = next(m for m in document["models"] if m["name"] == "auto")
    assert entry["tuned_params"] == run.best_params
    report = (tmp_path / "out" / "report.md").read_text()
    assert f"family={run.best_params[0]['family']!r}" in report
    table = result.table
    assert table.loc[(table["model"] == "auto") & (table["metric"] == "ndcg@10"), "mean"].item() > \
        table.loc[(table["model"] == "Popularity") & (table["metric"] == "ndcg@10"), "mean"].item()


def test_kfold_on_a_csv_file_with_column_mapping(tmp_path):
    events = rs.datasets.demo().interactions.to_pandas().rename(
        columns={"user": "customer", "item": "product", "weight": "w"})
    events.to_csv(tmp_path / "events.csv", index=False)
    config = tmp_path / "kfold.toml"
    config.write_text(textwrap.dedent("""\
        k = [5, 10]
        n_bootstrap = 50
        beyond = false
        metrics = ["ndcg", "recall"]
        [dataset]
        path = "events.csv"
        columns = { user = "customer", item = "product", weight = "w" }
        [filters]
        min_user = 3
        [split]
        method = "kfold"
        n_folds = 2
        [[models]]
        class = "Popularity"
        [[models]]
        class = "ItemKNN"
        """))
    result = run_experiment(config, write=False, show_progress=False)
    assert result.split["folds"] == 2 and not result.files
    knn = result.runs[1]
    assert list(knn.folds.index) == [1, 2]
    row = result.table[(result.table["model"] == "ItemKNN")
                       & (result.table["metric"] == "ndcg@10")].iloc[0]
    assert row["fold_std"] > 0 and row["significant"]
    assert "novelty@10" not in set(result.table["metric"])
    # a user is tested in both folds and counted once, with the mean of the two
    assert knn.per_user.index.is_unique
    assert len(knn.per_user) == result.data["users"]


# --------------------------------------------------------------------------- CLI


def test_cli_output_flag_overrides_the_config(tmp_path, capsys):
    config = small_config(tmp_path, """
        [[models]]
        class = "Popularity"
        """)
    assert load_config(config).output == tmp_path / "from-config"  # relative to the file
    assert cli(["evaluate", config, "--output", str(tmp_path / "flag")]) == 0
    out = capsys.readouterr().out
    assert "Popularity" in out and f"wrote {tmp_path / 'flag' / 'report.html'}" in out
    assert (tmp_path / "flag" / "report.md").exists()
    assert not (tmp_path / "from-config").exists()


def test_cli_names_key_and_line_of_a_bad_file(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text('[dataset]\nname = "demo"\n\n[[models]]\nclass = "ItemKNN"\n'
                    'params = { simlarity = "bm25" }\n')
    assert cli(["evaluate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "line 6" in err and "models[0].params.simlarity" in err
    assert "did you mean 'similarity'" in err


# --------------------------------------------------------------------------- config errors


def test_malformed_toml_names_the_line():
    text = 'name = "x"\n[dataset]\nname = "demo"\nfactors 64\n[[models]]\nclass = "ALS"\n'
    with pytest.raises(ExperimentError) as caught:
        parse_config(text, source="exp.toml")
    assert caught.value.line == 4
    message = str(caught.value)
    assert message.startswith("exp.toml, line 4:") and "'factors 64'" in message


def test_a_duplicate_key_is_malformed_toml_with_its_line():
    text = '[dataset]\nname = "demo"\nname = "movielens-100k"\n'
    with pytest.raises(ExperimentError, match="line 3"):
        parse_config(text)


BASE = '[dataset]\nname = "demo"\n'
MODELS = '[[models]]\nclass = "Popularity"\n\n[[models]]\nclass = "ItemKNN"\n'


@pytest.mark.parametrize(("text", "key", "line", "words"), [
    ("seeed = 3\n" + BASE + MODELS, "seeed", 1, "did you mean 'seed'"),
    ('metrics = ["ndcg", "ndgc"]\n' + BASE + MODELS, "metrics[1]", 1, "unknown metric"),
    ("k = [10, 0]\n" + BASE + MODELS, "k[1]", 1, ">= 1"),
    ("report_k = 7\nk = [5, 10]\n" + BASE + MODELS, "report_k", 1, "one of k"),
    ('baseline = "pop"\n' + BASE + MODELS, "baseline", 1, "not the name of a model"),
    ('[dataset]\nname = "netflix"\n' + MODELS, "dataset.name", 2, "unknown data set"),
    ('[dataset]\npath = "nowhere.csv"\n' + MODELS, "dataset.path", 2, "does not exist"),
    (BASE + "[split]\nmethod = \"random\"\nn_folds = 3\n" + MODELS, "split.n_folds", 5,
     "unknown key"),
    (BASE + "[split]\nmethod = \"kfold\"\nn_folds = 1\n" + MODELS, "split.n_folds", 5,
     ">= 2"),
    (BASE + "[split]\ntest_size = 1.5\n" + MODELS, "split.test_size", 4, "between 0 and 1"),
    (BASE + "[filters]\nmin_user = true\n" + MODELS, "filters.min_user", 4, "an integer"),
    (BASE + MODELS + "\n[[models]]\nclass = \"ALS\"\nparams = { factors = 8, factros = 3 }\n",
     "models[2].params.factros", 11, "ALS has no parameter 'factros'"),
    (BASE + MODELS + "\n[[models]]\nclass = \"ALS\"\n[models.params]\nfactors = 8\n"
     "regularisation = 0.1\n", "models[2].params.regularisation", 13, "no parameter"),
    (BASE + MODELS + "\n[[models]]\nclass = \"Als\"\n", "models[2].class", 10,
     "did you mean 'ALS'"),
    # a key that is not written (the default name) points at its table's header
    (BASE + MODELS + "\n[[models]]\nclass = \"ItemKNN\"\n", "models[2].name", 9,
     "two models are named 'ItemKNN'"),
    (BASE + MODELS + "[models.tune]\nspace = { k = [10, 20], shrink = [1] }\n",
     "models[1].tune.space.shrink", 9, "no parameter 'shrink'"),
    (BASE + MODELS + "[models.tune]\nspace = { k = 10 }\n", "models[1].tune.space.k", 9,
     "non-empty array"),
    (BASE + MODELS + "\n[[models]]\n[models.auto]\nfamilies = [\"EASE\", \"Ease\"]\n",
     "models[2].auto.families[1]", 11, "did you mean 'EASE'"),
    (BASE + MODELS + "\n[[models]]\nclass = \"ALS\"\n[models.auto]\nbudget_s = 5\n",
     "models[2].class", 10, "takes no 'class'"),
    (BASE + MODELS + "\n[[models]]\n[models.auto]\nbudget_s = -1\n",
     "models[2].auto.budget_s", 11, "> 0"),
    (BASE + MODELS + "\n[[models]]\n[models.auto]\nensemble = \"yes\"\n",
     "models[2].auto.ensemble", 11, "true or false"),
    (BASE, "models", None, "missing"),  # nowhere in the file: no line to name
])
def test_bad_keys_are_named_with_their_line(text, key, line, words):
    with pytest.raises(ExperimentError) as caught:
        parse_config(text, source="exp.toml")
    error = caught.value
    assert (error.key, error.line) == (key, line), str(error)
    where = f"exp.toml, line {line}" if line else "exp.toml"
    assert str(error).startswith(f"{where}: {key}: ")
    assert words in str(error)


def test_locate_finds_keys_in_tables_arrays_and_inline_tables():
    text = textwrap.dedent("""\
        k = [5, 10]
        [dataset]
        name = "demo"

        [[models]]
        class = "A"
        params = {x = 1, y = 2}

        [[models]]  # second
        class = "B"
        [models.params]
        z = 3
        """)
    assert locate(text, ("k", 1)) == 1
    assert locate(text, ("dataset", "name")) == 3
    assert locate(text, ("models", 0, "params", "y")) == 7
    assert locate(text, ("models", 1)) == 9
    assert locate(text, ("models", 1, "class")) == 10
    assert locate(text, ("models", 1, "params", "z")) == 12
    assert locate(text, ("models", 1, "params", "missing")) == 11  # its enclosing table
    assert locate(text, ("nothing",)) is None


def test_defaults_and_path_resolution(tmp_path):
    config = parse_config(BASE + MODELS, base_dir=tmp_path)
    assert config.k == (5, 10, 20) and config.report_k == 10 and config.seed == 42
    assert config.split == {"method": "random", "test_size": 0.2}
    assert [m.name for m in config.models] == ["Popularity", "ItemKNN"]
    single = parse_config("k = 20\n" + BASE + MODELS)
    assert single.k == (20,) and single.report_k == 20


def test_example_configs_are_valid():
    demo = load_config(DEMO_CONFIG)
    assert demo.dataset["name"] == "demo" and demo.output == REPO / "examples" / ".." / "out" \
        / "demo-experiment"
    movielens = load_config(REPO / "examples" / "movielens-100k.toml")
    assert movielens.dataset["path"] == (REPO.parent / "shared" / "data" / "ml-100k").resolve()
    assert movielens.split["method"] == "temporal"
