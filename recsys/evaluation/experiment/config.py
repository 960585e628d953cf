"""Reading and validating an experiment file into an :class:`ExperimentConfig`.

The keys are listed in :mod:`recsys.evaluation.experiment`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, as a package
    import tomli as tomllib  # type: ignore[no-redef]

from recsys.errors import ConfigError
from recsys.evaluation.evaluate import ACCURACY_METRICS
from recsys.evaluation.experiment.errors import ExperimentError, Key, _kind, _Reader, _suggest
from recsys.evaluation.experiment.overrides import apply_overrides
from recsys.evaluation.experiment.params import check_params
from recsys.evaluation.spaces import SPACES
from recsys.evaluation.tune import SAMPLERS
from recsys.evaluation.tune_optuna import check_space
from recsys.models.base import Recommender, registered_models

DATASET_NAMES = ("demo", "movielens-100k")
SPLIT_PARAMS: dict[str, dict[str, int | float | bool]] = {  # method -> its parameters' defaults
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
AUTO_KEYS = ("budget_s", "families", "ensemble", "metric", "k", "valid_size")
TUNE_KEYS = ("space", "n_trials", "sampler", "prune", "metric", "k", "valid_size")


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


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read and validate an experiment file (see the module docstring for its keys).

    ``overrides`` are ``KEY=VALUE`` assignments applied before validation, as ``recsys
    evaluate --set`` passes them (see :mod:`recsys.evaluation.experiment.overrides`).

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
    return parse_config(text, source=str(path), base_dir=path.parent, overrides=overrides)


def parse_config(text: str, source: str | None = None, base_dir: str | Path | None = None,
                 overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Validate experiment TOML ``text``; relative paths resolve against ``base_dir``.

    Every model's parameters are checked here, against the types its constructor declares
    and by constructing it (no model is fitted), so a wrong value fails before any work.

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
    recsys.evaluation.experiment.errors.ExperimentError: line 5: models[0].params.simlarity: ...
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
    r = _Reader(text, source, apply_overrides(raw, overrides))
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
        problem = check_params(cls, params)
        if problem is not None:
            param, message = problem
            raise r.error(key + ("params",) + ((param,) if param else ()), message)
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
    ensemble = r.typed(options, key + ("auto",), "ensemble", (bool,), True, "true or false")
    cfg = {"budget_s": float(budget), "families": families, "ensemble": ensemble,
           "metric": metric,
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
    n_trials = r.positive_int(table, key, "n_trials", None)
    sampler = r.typed(table, key, "sampler", (str,), "grid" if n_trials is None else "random",
                      "a sampler name")
    if sampler not in SAMPLERS:
        raise r.error(key + ("sampler",), f"unknown sampler {sampler!r}; available: "
                                          f"{', '.join(SAMPLERS)}")
    for param, values in space.items():
        if sampler == "optuna" and isinstance(values, dict):
            try:
                check_space({param: values})
            except ConfigError as exc:
                raise r.error(key + ("space", param), str(exc)) from None
        elif not isinstance(values, list) or not values:
            ranges = " (or, with sampler = \"optuna\", a range {low, high})"
            raise r.error(key + ("space", param), f"must be a non-empty array of values"
                                                  f"{ranges}, got {_kind(values)}")
    metric = r.typed(table, key, "metric", (str,), "ndcg", "a metric name")
    if metric not in ACCURACY_METRICS:
        raise r.error(key + ("metric",), f"unknown metric {metric!r}; available: "
                                         f"{', '.join(ACCURACY_METRICS)}")
    return {"space": space, "n_trials": n_trials, "sampler": sampler,
            "prune": r.typed(table, key, "prune", (bool,), True, "true or false"),
            "metric": metric, "k": r.positive_int(table, key, "k", report_k),
            "valid_size": r.fraction(table, key, "valid_size", 0.2)}

