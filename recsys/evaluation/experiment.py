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
    metric = "ndcg"
    k = 10
    valid_size = 0.2

    [[models]]                    # rs.auto: the families race on a validation split carved
    name = "auto"                 # from train (no class, no params); default name "auto"
    [models.auto]
    budget_s = 60                 # seconds of search per fold
    families = ["EASE", "ALS"]    # default: every family of recsys.evaluation.spaces
    metric = "ndcg"
    k = 10
    valid_size = 0.2

Errors name the key path and its line: a malformed file gets tomllib's line and column, a
bad value or unknown key its path (``models[2].params.factors``, 0-based) and the line where
it is written. A model that fails to fit or evaluate is reported with its error; the others
still run.
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import platform
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm.auto import tqdm

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, as a package
    import tomli as tomllib  # type: ignore[no-redef]

from recsys import datasets, split
from recsys.data.dataset import Dataset
from recsys.data.features import Features
from recsys.data.interactions import Interactions
from recsys.data.summary import describe, item_counts
from recsys.errors import ConfigError
from recsys.evaluation.auto import auto
from recsys.evaluation.compare import _paired_tests, bootstrap_ci, holm
from recsys.evaluation.evaluate import ACCURACY_METRICS, evaluate
from recsys.evaluation.metrics import BEYOND_METRICS
from recsys.evaluation.spaces import SPACES
from recsys.evaluation.tune import tune
from recsys.models.base import Recommender, registered_models

logger = logging.getLogger("recsys")

DATASET_NAMES = ("demo", "movielens-100k")
SPLIT_PARAMS = {
    "random": {"test_size": 0.2},
    "temporal": {"test_size": 0.1, "per_user": True},
    "leave_last": {"n": 1},
    "kfold": {"n_folds": 5},
}
TOP_KEYS = ("name", "seed", "output", "metrics", "k", "report_k", "n_bootstrap", "baseline",
            "beyond", "dataset", "filters", "split", "models")
DATASET_KEYS = ("name", "path", "columns", "sep")
COLUMN_KEYS = ("user", "item", "weight", "timestamp")
FILTER_KEYS = ("min_weight", "min_user", "min_item")
MODEL_KEYS = ("class", "name", "params", "tune", "auto")
AUTO_KEYS = ("budget_s", "families", "metric", "k", "valid_size")
TUNE_KEYS = ("space", "n_trials", "metric", "k", "valid_size")
PER_USER_BEYOND = BEYOND_METRICS  # the per-user columns evaluate(beyond=True) adds
GLOBAL_BEYOND = ("coverage", "gini", "personalization")

Key = tuple[str | int, ...]


# --------------------------------------------------------------------------- errors


class ExperimentError(ConfigError):
    """A malformed or invalid experiment file; names the file, the line and the key path.

    Attributes
    ----------
    key : str or None
        Key path such as ``models[2].params.factors`` (list positions are 0-based).
    line : int or None
        1-based line of the file where the key (or the syntax error) is.
    """

    def __init__(self, message: str, key: str | None = None, line: int | None = None,
                 source: str | None = None) -> None:
        self.key, self.line, self.source = key, line, source
        where = ", ".join(p for p in (source, f"line {line}" if line else None) if p)
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}{key + ': ' if key else ''}{message}")


def _format_key(key: Key) -> str:
    out = ""
    for part in key:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGN = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")


def _split_dotted(text: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in text.split("."))


def locate(text: str, key: Key) -> int | None:
    """Best-effort 1-based line of ``key`` in TOML ``text``: the line that assigns it (also
    inside an inline table or array), else the line of its closest enclosing table."""
    counters: dict[tuple[str, ...], int] = {}
    header: Key = ()
    best_line, best_depth = None, 0

    def resolve(parts: tuple[str, ...]) -> Key:
        out: list[str | int] = []
        for i, part in enumerate(parts):
            out.append(part)
            if parts[: i + 1] in counters:
                out.append(counters[parts[: i + 1]])
        return tuple(out)

    for number, line in enumerate(text.splitlines(), start=1):
        match = _HEADER.match(line)
        if match:
            parts = _split_dotted(match.group(2))
            if match.group(1) == "[[":
                counters[parts] = counters.get(parts, -1) + 1
            header = resolve(parts)
            path = header
        else:
            assign = _ASSIGN.match(line)
            if not assign:
                continue
            path = header + _split_dotted(assign.group(1))
        depth = len(path)
        if path == key[:depth] and depth > best_depth:
            best_line, best_depth = number, depth
            if depth == len(key):
                return number
            # The rest of the key may sit inline on this line: params = {factors = 64}.
            last = key[-1]
            if not match and isinstance(last, str) and re.search(
                    rf"[{{,\s]{re.escape(last)}\s*=", line[assign.end():]):
                return number
    return best_line


class _Reader:
    """Validates the parsed TOML with errors that point back into the text."""

    def __init__(self, text: str, source: str) -> None:
        self.text, self.source = text, source

    def error(self, key: Key, message: str) -> ExperimentError:
        return ExperimentError(message, key=_format_key(key), line=locate(self.text, key),
                               source=self.source)

    def table(self, value: Any, key: Key, allowed: Sequence[str]) -> dict:
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table, got {_kind(value)}")
        for name in value:
            if name not in allowed:
                raise self.error(key + (name,), f"unknown key{_suggest(name, allowed)} "
                                                f"(expected one of {', '.join(allowed)})")
        return value

    def typed(self, table: dict, key: Key, name: str, kinds: tuple[type, ...], default: Any,
              what: str) -> Any:
        if name not in table:
            return default
        value = table[name]
        # bool is an int in Python but never a count in a config.
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise self.error(key + (name,), f"must be {what}, got {_kind(value)} {value!r}")
        return value

    def positive_int(self, table: dict, key: Key, name: str, default: Any, minimum: int = 1):
        value = self.typed(table, key, name, (int,), default, "an integer")
        if value is not None and value < minimum:
            raise self.error(key + (name,), f"must be >= {minimum}, got {value}")
        return value

    def fraction(self, table: dict, key: Key, name: str, default: float | None) -> float | None:
        value = self.typed(table, key, name, (int, float), default, "a number")
        if value is not None and not 0.0 < value < 1.0:
            raise self.error(key + (name,), f"must be strictly between 0 and 1, got {value}")
        return value


def _suggest(name: str, options: Sequence[str]) -> str:
    """"; did you mean 'x'?" for the closest option (case-insensitive), else ""."""
    lowered = {option.lower(): option for option in options}
    hint = difflib.get_close_matches(name.lower(), list(lowered), n=1)
    return f"; did you mean {lowered[hint[0]]!r}?" if hint else ""


def _kind(value: Any) -> str:
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number"}.get(type(value), type(value).__name__)


# --------------------------------------------------------------------------- config


@dataclass
class ModelSpec:
    """One ``[[models]]`` entry."""

    name: str
    class_name: str
    params: dict
    tune: dict | None = None
    auto: dict | None = None  # an rs.auto entry: its options

    @property
    def cls(self) -> type[Recommender]:
        return registered_models()[self.class_name]


@dataclass
class ExperimentConfig:
    """A validated experiment file. Build with :func:`load_config` or :func:`parse_config`."""

    name: str
    dataset: dict
    models: list[ModelSpec]
    seed: int = 42
    output: Path = Path("out/experiment")
    metrics: tuple[str, ...] = ("ndcg", "recall", "precision", "map", "mrr", "hit_rate")
    k: tuple[int, ...] = (5, 10, 20)
    report_k: int = 10
    n_bootstrap: int = 1000
    baseline: str | None = None
    beyond: bool = True
    filters: dict = field(default_factory=dict)
    split: dict = field(default_factory=lambda: {"method": "random", "test_size": 0.2})
    source: str = "<string>"
    raw: dict = field(default_factory=dict)


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate an experiment file (see the module docstring for its keys).

    Raises
    ------
    ExperimentError
        Malformed TOML (with its line and column), an unknown key or a bad value (with its
        key path and line).

    Examples
    --------
    >>> config = load_config("examples/demo.toml")  # doctest: +SKIP
    >>> [m.name for m in config.models]  # doctest: +SKIP
    ['Popularity', 'ItemKNN', ...]
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ExperimentError(f"cannot read the experiment file: {exc.strerror}",
                              source=str(path)) from None
    return parse_config(text, source=str(path), base_dir=path.parent)


def parse_config(text: str, source: str | None = None,
                 base_dir: str | Path | None = None) -> ExperimentConfig:
    """Validate experiment TOML ``text``; relative paths resolve against ``base_dir``.

    Examples
    --------
    >>> config = parse_config('''
    ... [dataset]
    ... name = "demo"
    ... [[models]]
    ... class = "Popularity"
    ... ''')
    >>> config.models[0].name, config.split["method"], config.report_k
    ('Popularity', 'random', 10)
    >>> parse_config('[dataset]\\nname = "demo"\\n[[models]]\\nclass = "ItemKNN"\\n'
    ...              'params = {simlarity = "bm25"}\\n')  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    recsys.evaluation.experiment.ExperimentError: line 5: models[0].params.simlarity: ...
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"line (\d+)", message)
        line = getattr(exc, "lineno", None) or (int(found.group(1)) if found else None)
        shown = ""
        if line is not None and 0 < line <= len(text.splitlines()):
            shown = f": {text.splitlines()[line - 1].strip()!r}"
        raise ExperimentError(f"malformed TOML ({message}){shown}", line=line,
                              source=source) from None
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    r = _Reader(text, source)
    r.table(raw, (), TOP_KEYS)
    default_name = Path(source).stem if source else "experiment"
    name = r.typed(raw, (), "name", (str,), default_name, "a string")
    seed = r.positive_int(raw, (), "seed", 42, minimum=0)
    output = r.typed(raw, (), "output", (str,), None, "a path string")

    metrics = r.typed(raw, (), "metrics", (list,), list(ExperimentConfig.metrics),
                      "an array of metric names")
    if not metrics:
        raise r.error(("metrics",), "must name at least one metric")
    for i, metric in enumerate(metrics):
        if metric not in ACCURACY_METRICS:
            raise r.error(("metrics", i), f"unknown metric {metric!r}; available: "
                                          f"{', '.join(ACCURACY_METRICS)}")
    ks = r.typed(raw, (), "k", (int, list), list(ExperimentConfig.k), "an integer or array")
    ks = [ks] if isinstance(ks, int) else ks
    if not ks:
        raise r.error(("k",), "must list at least one cut-off")
    for i, cutoff in enumerate(ks):
        if not isinstance(cutoff, int) or isinstance(cutoff, bool) or cutoff < 1:
            raise r.error(("k", i), f"must be an integer >= 1, got {cutoff!r}")
    ks = sorted(set(ks))
    report_k = r.positive_int(raw, (), "report_k", 10 if 10 in ks else max(ks))
    if report_k not in ks:
        raise r.error(("report_k",), f"must be one of k = {ks}, got {report_k}")
    n_bootstrap = r.positive_int(raw, (), "n_bootstrap", 1000)
    beyond = r.typed(raw, (), "beyond", (bool,), True, "true or false")

    dataset = _parse_dataset(r, raw.get("dataset"), base)
    filters = r.table(raw.get("filters", {}), ("filters",), FILTER_KEYS)
    r.typed(filters, ("filters",), "min_weight", (int, float), None, "a number")
    for key in ("min_user", "min_item"):
        r.positive_int(filters, ("filters",), key, 1, minimum=0)
    split_cfg = _parse_split(r, raw.get("split", {"method": "random"}))
    models = _parse_models(r, raw.get("models"), report_k)
    names = [m.name for m in models]
    baseline = r.typed(raw, (), "baseline", (str,), None, "a model name")
    if baseline is not None and baseline not in names:
        raise r.error(("baseline",), f"{baseline!r} is not the name of a model; models: "
                                     f"{', '.join(names)}")
    return ExperimentConfig(
        name=name, dataset=dataset, models=models, seed=seed,
        output=(base / output) if output else Path("out") / _slug(name),
        metrics=tuple(metrics), k=tuple(ks), report_k=report_k, n_bootstrap=n_bootstrap,
        baseline=baseline, beyond=beyond, filters=dict(filters), split=split_cfg,
        source=source or "<string>", raw=raw)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "experiment"


def _parse_dataset(r: _Reader, value: Any, base: Path) -> dict:
    if value is None:
        raise r.error(("dataset",), "missing: add a [dataset] table with a name "
                                    f"({', '.join(DATASET_NAMES)}) or a path")
    table = r.table(value, ("dataset",), DATASET_KEYS)
    name = r.typed(table, ("dataset",), "name", (str,), None, "a string")
    path = r.typed(table, ("dataset",), "path", (str,), None, "a path string")
    if name is not None:
        name = name.lower().replace("_", "-")
        name = {"ml-100k": "movielens-100k", "movielens100k": "movielens-100k"}.get(name, name)
        if name not in DATASET_NAMES:
            raise r.error(("dataset", "name"), f"unknown data set {name!r}; known: "
                                               f"{', '.join(DATASET_NAMES)} (or give a path)")
    elif path is None:
        raise r.error(("dataset",), "give a name or a path")
    out: dict[str, Any] = {"name": name, "path": None}
    if path is not None:
        resolved = (base / path).resolve()
        if not resolved.exists() and name != "movielens-100k":
            raise r.error(("dataset", "path"), f"{resolved} does not exist")
        if name is None and resolved.suffix.lower() not in (".csv", ".parquet", ".pq"):
            raise r.error(("dataset", "path"), "must be a .csv or .parquet file when no data "
                                               "set name is given")
        out["path"] = resolved
    columns = r.table(table.get("columns", {}), ("dataset", "columns"), COLUMN_KEYS)
    for key in columns:
        r.typed(columns, ("dataset", "columns"), key, (str,), None, "a column name")
    if columns and name is not None:
        raise r.error(("dataset", "columns"), f"only for a file path, not for the named data "
                                              f"set {name!r}")
    out["columns"] = {"user": "user_id", "item": "item_id", "weight": None,
                      "timestamp": None, **columns}
    out["sep"] = r.typed(table, ("dataset",), "sep", (str,), ",", "a string")
    return out


def _parse_split(r: _Reader, value: Any) -> dict:
    if not isinstance(value, dict):
        raise r.error(("split",), f"must be a table, got {_kind(value)}")
    method = r.typed(value, ("split",), "method", (str,), "random", "a string")
    if method not in SPLIT_PARAMS:
        raise r.error(("split", "method"), f"unknown split {method!r}; available: "
                                           f"{', '.join(SPLIT_PARAMS)}")
    r.table(value, ("split",), ("method", *SPLIT_PARAMS[method]))
    out = {"method": method, **SPLIT_PARAMS[method]}
    if "test_size" in out:
        out["test_size"] = r.fraction(value, ("split",), "test_size", out["test_size"])
    if "per_user" in out:
        out["per_user"] = r.typed(value, ("split",), "per_user", (bool,), True, "true or false")
    if "n" in out:
        out["n"] = r.positive_int(value, ("split",), "n", 1)
    if "n_folds" in out:
        out["n_folds"] = r.positive_int(value, ("split",), "n_folds", 5, minimum=2)
    return out


def _parse_models(r: _Reader, value: Any, report_k: int) -> list[ModelSpec]:
    if value is None:
        raise r.error(("models",), "missing: add at least one [[models]] table with a class")
    if not isinstance(value, list) or not value:
        raise r.error(("models",), "must be an array of tables ([[models]]), one per model")
    available = {name: cls for name, cls in registered_models().items()
                 if not name.startswith("_") and name != "FactorModel"}
    specs, names = [], set()
    for i, entry in enumerate(value):
        key: Key = ("models", i)
        table = r.table(entry, key, MODEL_KEYS)
        if "auto" in table:
            spec = _parse_auto(r, key, table, report_k)
            if spec.name in names:
                raise r.error(key + ("name",), f"two models are named {spec.name!r}; give "
                                               "each a unique name")
            names.add(spec.name)
            specs.append(spec)
            continue
        class_name = r.typed(table, key, "class", (str,), None, "a model class name")
        if class_name is None:
            raise r.error(key, "missing 'class' (the model's class name, e.g. \"ItemKNN\")")
        if class_name not in available:
            raise r.error(key + ("class",), f"unknown model class {class_name!r}"
                          f"{_suggest(class_name, list(available))} "
                          f"(available: {', '.join(sorted(available))})")
        cls = available[class_name]
        valid = cls._param_names()
        params = table.get("params", {})
        if not isinstance(params, dict):
            raise r.error(key + ("params",), f"must be a table, got {_kind(params)}")
        _check_params(r, key + ("params",), class_name, params, valid)
        name = r.typed(table, key, "name", (str,), class_name, "a string")
        if name in names:
            raise r.error(key + ("name",), f"two models are named {name!r}; give each a "
                                           "unique name")
        names.add(name)
        tune_cfg = None
        if "tune" in table:
            tune_cfg = _parse_tune(r, key + ("tune",), table["tune"], class_name, valid,
                                   report_k)
        specs.append(ModelSpec(name, class_name, dict(params), tune_cfg))
    return specs


def _parse_auto(r: _Reader, key: Key, table: dict, report_k: int) -> ModelSpec:
    for other in ("class", "params", "tune"):
        if other in table:
            raise r.error(key + (other,), f"an entry with [models.auto] takes no {other!r}: "
                                          "rs.auto chooses the family and its parameters")
    options = r.table(table["auto"], key + ("auto",), AUTO_KEYS)
    budget = r.typed(options, key + ("auto",), "budget_s", (int, float), 60.0, "a number")
    if not budget > 0:
        raise r.error(key + ("auto", "budget_s"), f"must be > 0, got {budget}")
    families = r.typed(options, key + ("auto",), "families", (list,), None,
                       "an array of family names")
    for i, family in enumerate(families or []):
        if family not in SPACES:
            raise r.error(key + ("auto", "families", i),
                          f"unknown family {family!r}{_suggest(str(family), list(SPACES))} "
                          f"(available: {', '.join(SPACES)})")
    metric = r.typed(options, key + ("auto",), "metric", (str,), "ndcg", "a metric name")
    if metric not in ACCURACY_METRICS:
        raise r.error(key + ("auto", "metric"), f"unknown metric {metric!r}; available: "
                                                f"{', '.join(ACCURACY_METRICS)}")
    cfg = {"budget_s": float(budget), "families": families, "metric": metric,
           "k": r.positive_int(options, key + ("auto",), "k", report_k),
           "valid_size": r.fraction(options, key + ("auto",), "valid_size", 0.2)}
    name = r.typed(table, key, "name", (str,), "auto", "a string")
    return ModelSpec(name, "auto", {}, auto=cfg)


def _check_params(r: _Reader, key: Key, class_name: str, params: dict, valid: list[str]):
    for param in params:
        if param not in valid:
            raise r.error(key + (param,), f"{class_name} has no parameter {param!r}"
                          f"{_suggest(param, valid)} (valid: {', '.join(valid)})")


def _parse_tune(r: _Reader, key: Key, value: Any, class_name: str, valid: list[str],
                report_k: int) -> dict:
    table = r.table(value, key, TUNE_KEYS)
    space = table.get("space")
    if not isinstance(space, dict) or not space:
        raise r.error(key + ("space",), "must be a non-empty table of parameter -> array of "
                                        "values")
    _check_params(r, key + ("space",), class_name, space, valid)
    for param, values in space.items():
        if not isinstance(values, list) or not values:
            raise r.error(key + ("space", param), f"must be a non-empty array of values, got "
                                                  f"{_kind(values)}")
    metric = r.typed(table, key, "metric", (str,), "ndcg", "a metric name")
    if metric not in ACCURACY_METRICS:
        raise r.error(key + ("metric",), f"unknown metric {metric!r}; available: "
                                         f"{', '.join(ACCURACY_METRICS)}")
    return {"space": space, "n_trials": r.positive_int(table, key, "n_trials", None),
            "metric": metric, "k": r.positive_int(table, key, "k", report_k),
            "valid_size": r.fraction(table, key, "valid_size", 0.2)}


# --------------------------------------------------------------------------- running


@dataclass
class ModelRun:
    """What happened to one model: parameters, timings, per-user values, or its error."""

    name: str
    class_name: str
    params: dict
    status: str = "ok"
    error: str = ""
    best_params: list[dict] = field(default_factory=list)  # one per fold when tuned
    trials: pd.DataFrame | None = None
    fit_seconds: float = 0.0
    evaluate_seconds: float = 0.0
    per_user: pd.DataFrame | None = None  # users x metric columns, averaged over folds
    folds: pd.DataFrame | None = None  # one row per fold: evaluate's summary
    exposure: np.ndarray | None = None  # top-report_k slots per catalog item, all folds
    info: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class ExperimentResult:
    """Everything :func:`run_experiment` computed; :mod:`recsys.evaluation.report` renders it.

    Attributes
    ----------
    table : pandas.DataFrame
        Tidy, one row per (model, metric): ``mean, ci_low, ci_high`` (95% bootstrap over the
        users every successful model was scored on), the paired tests against the baseline
        (as :func:`recsys.compare`), ``fold_std`` for k-fold, ``status`` and ``error``. A
        failed model has a single row with its error.
    curves : pandas.DataFrame
        ``model, metric, k, mean`` for every accuracy metric and k.
    """

    config: ExperimentConfig
    output: Path
    runs: list[ModelRun]
    table: pd.DataFrame
    curves: pd.DataFrame
    data: dict
    split: dict
    baseline: str | None
    item_counts: np.ndarray
    interactions: Interactions
    seconds: float = 0.0
    files: dict[str, Path] = field(default_factory=dict)

    def summary(self, k: int | None = None) -> pd.DataFrame:
        """Models x metrics at ``k`` (default: ``report_k``): the means, failed models NaN."""
        k = k or self.config.report_k
        ok = self.table[self.table["status"] == "ok"]
        wide = ok[ok["metric"].str.endswith(f"@{k}")].pivot(
            index="model", columns="metric", values="mean")
        names = [run.name for run in self.runs]
        columns = [c for c in (f"{m}@{k}" for m in (*self.config.metrics, *PER_USER_BEYOND,
                                                     *GLOBAL_BEYOND)) if c in wide.columns]
        return wide.reindex(index=names, columns=columns)


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
    return Features(matrix, features.names, index)


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
    per_user, summaries, trials = [], [], []
    bar = tqdm(folds, desc=f"  {spec.name}", unit="fold", leave=False,
               disable=not show_progress)
    for fold, (train, test) in enumerate(bar, start=1):
        params = dict(spec.params)
        started = time.perf_counter()
        if spec.auto is not None:
            found = auto(train, **spec.auto, seed=config.seed)
            model = found.model
            run.best_params.append({"family": found.family, **found.params})
            trials.append(found.trials.assign(fold=fold))
        else:
            if spec.tune is not None:
                params.update(_tune(spec, config, dataset, train, trials, fold, show_progress))
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


def _tune(spec: ModelSpec, config: ExperimentConfig, dataset: Dataset, train: Interactions,
          trials: list, fold: int, show_progress: bool) -> dict:
    cfg = spec.tune
    fit_part, valid_part = _validation(config, train, cfg["valid_size"])
    fixed = dict(spec.params)

    def factory(**params: Any) -> Recommender:
        return spec.cls(**{**fixed, **params})

    found = tune(factory, cfg["space"], _with_side(dataset, fit_part), valid_part,
                 metric=cfg["metric"], k=cfg["k"], n_trials=cfg["n_trials"], seed=config.seed,
                 show_progress=show_progress)
    trials.append(found.trials.assign(fold=fold))
    return found.best_params


def _bootstrap_cis(values: dict[str, np.ndarray], n_resamples: int, seed: int) -> dict:
    """95% percentile bootstrap CIs of the column means of every (users x models) array.

    The resampling is :func:`recsys.evaluation.compare.bootstrap_ci`'s (same generator, same
    draws), but the draws become a (resamples x users) count matrix built once and applied to
    every metric with one matrix product, instead of one fancy-indexed copy per metric.
    Arrays with NaN rows (a user without a value) fall back to ``bootstrap_ci`` on the rest.
    """
    out = {}
    clean = [name for name, v in values.items() if len(v) and not np.isnan(v).any()]
    for name, v in values.items():
        if name not in clean:
            present = v[~np.isnan(v).any(axis=1)]
            out[name] = bootstrap_ci(present, n_resamples, seed=seed) if len(present) else \
                np.full((2, v.shape[1]), np.nan)
    if not clean:
        return out
    stacked = np.hstack([values[name] for name in clean])
    n_users = len(stacked)
    rng = np.random.default_rng(seed)
    means = np.empty((n_resamples, stacked.shape[1]))
    chunk = max(1, (1 << 22) // n_users)  # bounded memory for many users
    for start in range(0, n_resamples, chunk):
        rows = min(chunk, n_resamples - start)
        draws = rng.integers(0, n_users, size=(rows, n_users))
        draws += np.arange(rows)[:, None] * n_users
        counts = np.bincount(draws.ravel(), minlength=rows * n_users).reshape(rows, n_users)
        means[start:start + rows] = counts @ stacked / n_users
    bounds = np.percentile(means, [2.5, 97.5], axis=0)
    width = values[clean[0]].shape[1]
    for i, name in enumerate(clean):
        out[name] = bounds[:, i * width:(i + 1) * width]
    return out


def _compare(runs: list[ModelRun], baseline: str | None, config: ExperimentConfig) -> tuple[
        pd.DataFrame, str | None]:
    """Tidy table with CIs and paired tests on the users every successful model was scored
    on (the statistics of :func:`recsys.compare`, applied to the runs' per-user values)."""
    ok = [run for run in runs if run.ok]
    rows: list[dict] = []
    if ok:
        names = [run.name for run in ok]
        if baseline not in names:
            baseline = names[0]
        users = ok[0].per_user.index
        for run in ok[1:]:
            users = users.intersection(run.per_user.index, sort=False)
        columns = list(ok[0].per_user.columns)
        b = names.index(baseline)
        table = {column: np.column_stack([run.per_user.loc[users, column].to_numpy(float)
                                          for run in ok]) for column in columns}
        cis = _bootstrap_cis(table, config.n_bootstrap, config.seed)
        for column in columns:
            values = table[column]
            values = values[~np.isnan(values).any(axis=1)]  # e.g. diversity of 1-item lists
            ci = cis[column]
            tested = [i for i in range(len(ok)) if i != b and len(values) > 1]
            tests = {i: _paired_tests(values[:, i] - values[:, b]) for i in tested}
            adjusted = dict(zip(tested, holm([tests[i][0] for i in tested]), strict=True))
            for i, run in enumerate(ok):
                p_t, p_w, effect = tests.get(i, (np.nan, np.nan, np.nan))
                p_holm = adjusted.get(i, np.nan)
                rows.append({
                    "model": run.name, "metric": column, "mean": values[:, i].mean(),
                    "ci_low": ci[0, i], "ci_high": ci[1, i],
                    "diff": values[:, i].mean() - values[:, b].mean(),
                    "effect_size": effect, "p_ttest": p_t, "p_wilcoxon": p_w,
                    "p_holm": p_holm, "significant": bool(p_holm < 0.05),
                    "users": len(values), "fold_std": _fold_std(run, column),
                    "status": "ok", "error": ""})
        for run in ok:  # catalog-level values: one number per model, no CI
            for column in run.folds.columns:
                if column.split("@")[0] in GLOBAL_BEYOND:
                    rows.append({"model": run.name, "metric": column,
                                 "mean": float(run.folds[column].mean()),
                                 "fold_std": _fold_std(run, column), "users": len(users),
                                 "significant": False, "status": "ok", "error": ""})
    for run in runs:
        if not run.ok:
            rows.append({"model": run.name, "metric": "", "significant": False,
                         "status": "failed", "error": run.error})
    columns = ["model", "metric", "mean", "ci_low", "ci_high", "diff", "effect_size",
               "p_ttest", "p_wilcoxon", "p_holm", "significant", "users", "fold_std",
               "status", "error"]
    frame = pd.DataFrame(rows, columns=columns)
    order = {run.name: i for i, run in enumerate(runs)}
    frame = frame.sort_values("model", key=lambda s: s.map(order), kind="stable")
    frame.attrs["baseline"] = baseline if ok else None
    return frame.reset_index(drop=True), baseline if ok else None


def _fold_std(run: ModelRun, column: str) -> float:
    if run.folds is None or len(run.folds) < 2 or column not in run.folds:
        return float("nan")
    return float(run.folds[column].std(ddof=1))


def _curves(runs: list[ModelRun], config: ExperimentConfig) -> pd.DataFrame:
    rows = []
    for run in runs:
        if not run.ok:
            continue
        for metric in config.metrics:
            for k in config.k:
                rows.append({"model": run.name, "metric": metric, "k": k,
                             "mean": float(run.per_user[f"{metric}@{k}"].mean())})
    return pd.DataFrame(rows, columns=["model", "metric", "k", "mean"])


def run_experiment(config: ExperimentConfig | str | Path, output: str | Path | None = None,
                   show_progress: bool = True, write: bool = True) -> ExperimentResult:
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
    runs = []
    for spec in tqdm(config.models, desc="models", unit="model", disable=not show_progress):
        try:
            run = _run_model(spec, config, dataset, folds, show_progress)
        except Exception as exc:  # noqa: BLE001 - one failing model must not stop the others
            run = ModelRun(spec.name, spec.class_name, dict(spec.params), status="failed",
                           error=f"{type(exc).__name__}: {exc}")
            logger.warning("model %s failed: %s", spec.name, run.error)
        runs.append(run)
    table, baseline = _compare(runs, config.baseline, config)
    result = ExperimentResult(
        config=config, output=out_dir, runs=runs, table=table, curves=_curves(runs, config),
        data=data, split=split_info, baseline=baseline,
        item_counts=item_counts(dataset.interactions), interactions=dataset.interactions)
    result.seconds = time.perf_counter() - started
    if write:
        from recsys.evaluation.report import write_report  # report imports this module

        out_dir.mkdir(parents=True, exist_ok=True)
        result.files["results.csv"] = _write_csv(result, out_dir / "results.csv")
        result.files.update(write_report(result, out_dir))
        result.seconds = time.perf_counter() - started
        result.files["results.json"] = _write_json(result, out_dir / "results.json")
    return result


# --------------------------------------------------------------------------- outputs


def _write_csv(result: ExperimentResult, path: Path) -> Path:
    result.table.to_csv(path, index=False)
    return path


def _plain(value: Any) -> Any:
    """JSON-safe: NaN/inf -> null, numpy scalars -> Python, paths -> strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def _write_json(result: ExperimentResult, path: Path) -> Path:
    import recsys

    config = result.config
    models = []
    for run in result.runs:
        entry = {"name": run.name, "class": run.class_name, "params": run.params,
                 "status": run.status, "error": run.error or None,
                 "fit_seconds": run.fit_seconds, "evaluate_seconds": run.evaluate_seconds}
        if run.best_params:
            entry["tuned_params"] = run.best_params
            entry["trials"] = run.trials.to_dict(orient="records")
        if run.ok:
            entry["summary"] = run.folds.mean().to_dict()
            entry["info"] = run.info
            if len(run.folds) > 1:
                entry["folds"] = run.folds.reset_index().to_dict(orient="records")
        models.append(entry)
    document = {
        "name": config.name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config_file": config.source,
        "config": config.raw,
        "dataset": result.data,
        "split": result.split,
        "metrics": list(config.metrics), "k": list(config.k), "report_k": config.report_k,
        "n_bootstrap": config.n_bootstrap, "seed": config.seed,
        "baseline": result.baseline,
        "models": models,
        "results": result.table.to_dict(orient="records"),
        "curves": result.curves.to_dict(orient="records"),
        "files": {role: p.name for role, p in result.files.items()},
        "runtime_seconds": result.seconds,
        "versions": {"recsys": recsys.__version__, "python": platform.python_version(),
                     "numpy": np.__version__, "pandas": pd.__version__},
    }
    path.write_text(json.dumps(_plain(document), indent=2, default=str) + "\n",
                    encoding="utf-8")
    return path


def format_summary(result: ExperimentResult) -> str:
    """The report-k table as text, failed models with their error below it."""
    k = result.config.report_k
    wide = result.summary(k)
    lines = [wide.to_string(float_format=lambda v: f"{v:.4f}", na_rep="failed")]
    for run in result.runs:
        if not run.ok:
            lines.append(f"FAILED {run.name}: {run.error}")
    return "\n".join(lines)


def main(path: str | Path, output: str | Path | None = None) -> int:
    """``recsys evaluate``: run, print the summary and the written files; exit status 0 when
    at least one model ran, 1 when every model failed."""
    result = run_experiment(path, output=output, show_progress=True)
    print(f"{result.config.name}: {result.data['users']:,} users, {result.data['items']:,} "
          f"items, {result.data['interactions']:,} interactions; split "
          f"{result.config.split['method']}; k={result.config.report_k}")
    print(format_summary(result))
    for role in ("results.json", "results.csv", "report.md", "report.html"):
        if role in result.files:
            print(f"wrote {result.files[role]}")
    print(f"done in {result.seconds:.1f} s")
    return 0 if any(run.ok for run in result.runs) else 1


__all__ = ["ExperimentConfig", "ExperimentError", "ExperimentResult", "ModelRun", "ModelSpec",
           "load_config", "locate", "main", "parse_config", "run_experiment"]
