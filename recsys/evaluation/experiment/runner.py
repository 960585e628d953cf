"""Running an experiment: load and filter the data, split, fit, tune and evaluate every
model, then compare them and write the results."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

import recsys.datasets as datasets
import recsys.split as split
from recsys._progress import progress
from recsys.data.dataset import Dataset
from recsys.data.features import Features
from recsys.data.interactions import Interactions
from recsys.data.summary import describe, item_counts
from recsys.evaluation.auto import auto
from recsys.evaluation.evaluate import evaluate
from recsys.evaluation.experiment.config import ExperimentConfig, ModelSpec, load_config
from recsys.evaluation.experiment.output import _write_csv, _write_json, format_summary
from recsys.evaluation.experiment.report import write_report
from recsys.evaluation.experiment.results import ExperimentResult, ModelRun
from recsys.evaluation.experiment.stats import _compare, _curves
from recsys.evaluation.tune import tune
from recsys.models.base import Recommender

logger = logging.getLogger("recsys")


def _load_dataset(config: ExperimentConfig, show_progress: bool) -> Dataset:
    cfg = config.dataset
    if cfg["name"] == "demo":
        return datasets.demo(cfg["path"])
    if cfg["name"] == "movielens-100k":
        return datasets.movielens_100k(cfg["path"], show_progress=show_progress)
    path, columns = cfg["path"], cfg["columns"]
    if path.suffix.lower() == ".csv":
        inter = Interactions.read_csv(path, sep=cfg["sep"], **columns)
    else:
        inter = Interactions.read_parquet(path, **columns)
    return Dataset(inter)


def _align(features: Features | None, index) -> Features | None:
    """Features re-indexed to the (filtered) interactions' items or users."""
    if features is None or features.index == index:
        return features
    rows = features.index.to_index(index.ids, missing="ignore")
    matrix = features.matrix[np.maximum(rows, 0)]
    matrix = sp.diags((rows >= 0).astype(np.float32)) @ matrix  # ids without a row: zeros
    return Features(matrix, features.names.tolist(), index, features.encoding)


def _prepare(config: ExperimentConfig, dataset: Dataset) -> tuple[Dataset, dict]:
    inter = dataset.interactions
    filters = config.filters
    if "min_weight" in filters:
        threshold = float(filters["min_weight"])
        inter = inter.select(inter.matrix.data >= threshold, step="filter",
                             reason=f"entries with weight < {threshold} removed")
    if filters.get("min_user", 1) > 1 or filters.get("min_item", 1) > 1:
        inter = inter.filter(min_user=filters.get("min_user", 1),
                             min_item=filters.get("min_item", 1))
    elif "min_weight" in filters:
        inter = inter.filter(min_user=1, min_item=1)  # drop users/items left empty
    prepared = Dataset(inter, item_features=_align(dataset.item_features, inter.items),
                       user_features=_align(dataset.user_features, inter.users),
                       items=dataset.items, users=dataset.users)
    stats = describe(inter)
    data = {"source": config.dataset["name"] or str(config.dataset["path"]),
            "path": str(config.dataset["path"]) if config.dataset["path"] else None,
            "users": int(stats["users"]), "items": int(stats["items"]),
            "interactions": int(stats["interactions"]), "density": float(stats["density"]),
            "head20_share": float(stats["head20_share"]),
            "raw_interactions": int(dataset.interactions.nnz), "filters": dict(filters)}
    return prepared, data


def _split(config: ExperimentConfig, inter: Interactions) -> list[tuple[Interactions,
                                                                        Interactions]]:
    cfg = config.split
    method = cfg["method"]
    if method == "random":
        return [split.random(inter, test_size=cfg["test_size"], seed=config.seed)]
    if method == "temporal":
        return [split.temporal(inter, test_size=cfg["test_size"], per_user=cfg["per_user"])]
    if method == "leave_last":
        return [split.leave_last(inter, n=cfg["n"])]
    return list(split.kfold(inter, n_folds=cfg["n_folds"], seed=config.seed))


def _validation(config: ExperimentConfig, train: Interactions, size: float):
    """Carve a validation split out of ``train`` with the test split's own protocol, so that
    tuning sees the same kind of problem (never the test set)."""
    cfg = config.split
    if cfg["method"] == "temporal":
        return split.temporal(train, test_size=size, per_user=cfg["per_user"])
    if cfg["method"] == "leave_last":
        return split.leave_last(train, n=cfg["n"])
    return split.random(train, test_size=size, seed=config.seed)


def _with_side(dataset: Dataset, inter: Interactions) -> Dataset:
    """``inter`` with the data set's side features, for families that read them."""
    return Dataset(inter, item_features=dataset.item_features,
                   user_features=dataset.user_features, items=dataset.items)


def _run_model(spec: ModelSpec, config: ExperimentConfig, dataset: Dataset, folds: list,
               show_progress: bool) -> ModelRun:
    run = ModelRun(spec.name, spec.class_name, dict(spec.params))
    n_items = dataset.interactions.n_items
    exposure = np.zeros(n_items)
    per_user: list[pd.DataFrame] = []
    summaries: list[pd.Series] = []
    trials: list[pd.DataFrame] = []
    bar = progress(folds, desc=f"  {spec.name}", unit="fold", leave=False,
               disable=not show_progress)
    for fold, (train, test) in enumerate(bar, start=1):
        params = dict(spec.params)
        started = time.perf_counter()
        model: Recommender
        if spec.auto is not None:
            found = auto(train, **spec.auto, seed=config.seed)
            model = found.model
            run.best_params.append({"family": found.family, **found.params})
            trials.append(found.trials.assign(fold=fold))
        else:
            if spec.tune is not None:
                params.update(_tune(spec, spec.tune, config, dataset, train, trials, fold,
                                    show_progress))
                run.best_params.append(params)
                started = time.perf_counter()
            model = spec.cls(**params).fit(_with_side(dataset, train))
        run.fit_seconds += time.perf_counter() - started
        started = time.perf_counter()
        result = evaluate(model, test, k=list(config.k), metrics=list(config.metrics),
                          beyond=config.beyond, item_features=dataset.item_features)
        users = result.per_user.index.to_numpy()
        positions = model.recommend(users, k=config.report_k).positions
        run.evaluate_seconds += time.perf_counter() - started
        columns = dataset.interactions.items.to_index(model.items_.ids, missing="ignore")
        listed = positions[positions >= 0]
        np.add.at(exposure, columns[listed][columns[listed] >= 0], 1.0)
        per_user.append(result.per_user)
        summaries.append(result.summary.rename(fold))
        for key, value in result.info.items():
            run.info[key] = run.info.get(key, 0) + value
    # A user tested in several folds counts once, with the mean of their folds.
    run.per_user = pd.concat(per_user).groupby(level=0, sort=False).mean()
    run.folds = pd.DataFrame(summaries).rename_axis("fold")
    run.exposure = exposure
    run.trials = pd.concat(trials, ignore_index=True) if trials else None
    return run


def _tune(spec: ModelSpec, cfg: dict, config: ExperimentConfig, dataset: Dataset,
          train: Interactions, trials: list[pd.DataFrame], fold: int,
          show_progress: bool) -> dict:
    """Best parameters of ``spec`` on a validation split of ``train``, searched as its
    ``tune`` table ``cfg`` says; the fold's trials are appended to ``trials``."""
    fit_part, valid_part = _validation(config, train, cfg["valid_size"])
    fixed = dict(spec.params)

    def factory(**params: Any) -> Recommender:
        return spec.cls(**{**fixed, **params})

    found = tune(factory, cfg["space"], _with_side(dataset, fit_part), valid_part,
                 metric=cfg["metric"], k=cfg["k"], n_trials=cfg["n_trials"], seed=config.seed,
                 show_progress=show_progress, sampler=cfg["sampler"], prune=cfg["prune"],
                 refit=False)
    trials.append(found.trials.assign(fold=fold))
    return found.best_params



def run_experiment(config: ExperimentConfig | str | Path, output: str | Path | None = None,
                   show_progress: bool = True, write: bool = True, *,
                   keep_going: bool = True) -> ExperimentResult:
    """Run an experiment file end to end and write its results and report.

    Parameters
    ----------
    config : ExperimentConfig or path
        A parsed config or the path of a TOML file (module docstring: every key).
    output : path, optional
        Result directory; overrides the file's ``output``.
    show_progress : bool
        Progress bars per model and per fold (and per tuning trial).
    write : bool
        Write ``results.json``, ``results.csv``, ``report.md`` with its PNG plots, and
        ``report.html`` into the output directory.
    keep_going : bool
        After a model fails, run the others (the default here); False stops at the first
        failure and marks the models after it "skipped" (``recsys evaluate`` without
        ``--keep-going``). Either way the results of the models that ran are written.

    Returns
    -------
    ExperimentResult
        ``files`` maps each written file's role to its path.

    Examples
    --------
    >>> result = run_experiment("examples/demo.toml", output="/tmp/demo")  # doctest: +SKIP
    >>> result.summary()  # doctest: +SKIP
    """
    started = time.perf_counter()
    if not isinstance(config, ExperimentConfig):
        config = load_config(config)
    out_dir = Path(output) if output is not None else config.output
    dataset, data = _prepare(config, _load_dataset(config, show_progress))
    folds = _split(config, dataset.interactions)
    train, test = folds[0]
    split_info = {**config.split, "seed": config.seed, "folds": len(folds),
                  "train_interactions": int(train.nnz), "test_interactions": int(test.nnz),
                  "test_users": int((np.diff(test.matrix.indptr) > 0).sum())}
    runs: list[ModelRun] = []
    for spec in progress(config.models, desc="models", unit="model", disable=not show_progress):
        stopped = next((run for run in runs if not run.ok), None)
        if stopped is not None and not keep_going:
            runs.append(ModelRun(spec.name, spec.class_name, dict(spec.params),
                                 status="skipped", error=f"not run: {stopped.name} failed "
                                 "first (--keep-going runs every model)"))
            continue
        try:
            run = _run_model(spec, config, dataset, folds, show_progress)
        except Exception as exc:  # noqa: BLE001 - one failing model must not stop the others
            run = ModelRun(spec.name, spec.class_name, dict(spec.params), status="failed",
                           error=f"{type(exc).__name__}: {exc}")
            logger.warning("model %s failed: %s", spec.name, run.error)
        runs.append(run)
    table, baseline, pairwise = _compare(runs, config.baseline, config)
    result = ExperimentResult(
        config=config, output=out_dir, runs=runs, table=table, curves=_curves(runs, config),
        pairwise=pairwise,
        data=data, split=split_info, baseline=baseline,
        item_counts=item_counts(dataset.interactions), interactions=dataset.interactions)
    result.seconds = time.perf_counter() - started
    if write:
        out_dir.mkdir(parents=True, exist_ok=True)
        result.files["results.csv"] = _write_csv(result, out_dir / "results.csv")
        result.files.update(write_report(result, out_dir))
        result.seconds = time.perf_counter() - started
        result.files["results.json"] = _write_json(result, out_dir / "results.json")
    return result



def main(path: str | Path, output: str | Path | None = None, *, keep_going: bool = False,
         quiet: bool = False, overrides: Sequence[str] = ()) -> int:
    """``recsys evaluate``: run, print the summary and the written files.

    Returns the exit status: 0 when every model ran, 1 when one failed (then, without
    ``keep_going``, the models after it are skipped). ``quiet``: no progress bars and no
    summary; only failures are printed, on stderr. A bad file raises
    :class:`~recsys.evaluation.experiment.errors.ExperimentError` (the CLI's status 2).
    """
    config = load_config(path, overrides=overrides)
    result = run_experiment(config, output=output, show_progress=not quiet,
                            keep_going=keep_going)
    failed = [run for run in result.runs if not run.ok]
    if quiet:
        for run in failed:
            print(f"{run.status.upper()} {run.name}: {run.error}", file=sys.stderr)
        return 1 if failed else 0
    print(f"{result.config.name}: {result.data['users']:,} users, {result.data['items']:,} "
          f"items, {result.data['interactions']:,} interactions; split "
          f"{result.config.split['method']}; k={result.config.report_k}")
    print(format_summary(result))
    for role in ("results.json", "results.csv", "report.md", "report.html"):
        if role in result.files:
            print(f"wrote {result.files[role]}")
    print(f"done in {result.seconds:.1f} s")
    return 1 if failed else 0


