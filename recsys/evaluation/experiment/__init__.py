"""Experiment runner: one TOML file names the data, split, models and metrics; one call fits,
evaluates and compares every model and writes results and a report a person reads.

``recsys evaluate experiment.toml [--output DIR]`` runs :func:`run_experiment`. Every key
(relative paths are resolved against the directory of the file)::

    name = "demo shop"            # report title (default: the file name)
    seed = 42                     # split, validation split, random search, bootstrap
    output = "out/demo"           # result directory; --output DIR overrides it
    metrics = ["ndcg", "recall", "precision", "map", "mrr", "hit_rate"]
    k = [5, 10, 20]               # every metric at every k
    report_k = 10                 # k of the tables and plots (default: 10 if listed, else max)
    n_bootstrap = 1000            # resamples of users for the 95% CIs
    baseline = "Popularity"       # model the others are tested against (default: the first)
    beyond = true                 # novelty, ARP, diversity, Gini, personalization

    [dataset]
    name = "demo"                 # "demo" | "movielens-100k"; or leave out and give a file:
    path = "ratings.csv"          # movielens-100k: its folder; else a .csv/.parquet file
    columns = {user = "user_id", item = "item_id", weight = "rating", timestamp = "ts"}
    sep = ","                     # CSV only

    [filters]
    min_weight = 4.0              # keep entries with weight >= min_weight (ratings 4-5)
    min_user = 5                  # iterated k-core: users and items with fewer entries go
    min_item = 5

    [split]
    method = "random"             # random (test_size) | temporal (test_size, per_user)
    test_size = 0.2               # | leave_last (n) | kfold (n_folds)

    [[models]]
    class = "ItemKNN"             # any class in recsys.models.base.registered_models()
    name = "ItemKNN-bm25"         # unique label (default: the class name)
    params = {similarity = "bm25"}
    [models.tune]                 # optional: search on a validation split carved from train
    space = {k = [20, 50, 100]}
    n_trials = 2                  # random search over the grid; every combination if omitted
    sampler = "random"            # grid | random | optuna (extra "tune"; ranges allowed:
                                  #   space = {k = {low = 10, high = 200, log = true}})
    prune = true                  # optuna: stop iterative trials below the median
    metric = "ndcg"
    k = 10
    valid_size = 0.2

    [[models]]                    # rs.auto: the families race on a validation split carved
    name = "auto"                 # from train (no class, no params); default name "auto"
    [models.auto]
    budget_s = 60                 # seconds of search per fold
    families = ["EASE", "ALS"]    # default: every family of recsys.evaluation.spaces
    ensemble = true               # fuse the best three families in a Hybrid (rs.auto)
    metric = "ndcg"
    k = 10
    valid_size = 0.2

Errors name the key path and its line: a malformed file gets tomllib's line and column, a
bad value or unknown key its path (``models[2].params.factors``, 0-based) and the line where
it is written; a model parameter of the wrong type is caught when the file is loaded. ``recsys
evaluate --set models[1].params.factors=64`` overrides a value (an error in it names the
option). A model that fails to fit or evaluate is reported with its error; :func:`main`
(``recsys evaluate``) then skips the models after it unless ``keep_going`` and returns 1.
"""


from recsys.evaluation.experiment.config import (
    ExperimentConfig,
    ModelSpec,
    load_config,
    parse_config,
)
from recsys.evaluation.experiment.errors import ExperimentError, locate
from recsys.evaluation.experiment.output import format_summary
from recsys.evaluation.experiment.results import ExperimentResult, ModelRun
from recsys.evaluation.experiment.runner import main, run_experiment

__all__ = ["ExperimentConfig", "ExperimentError", "ExperimentResult", "ModelRun", "ModelSpec",
           "format_summary", "load_config", "locate", "main", "parse_config", "run_experiment"]
