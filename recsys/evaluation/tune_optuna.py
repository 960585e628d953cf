"""Optuna's sampler for :func:`recsys.tune`, with pruning for the iterative families.

Optuna is an optional extra (``pip install "recsys-lab[tune]"``). A trial of a family with an
``iterations`` (ALS, BPR, LMF) or ``epochs`` (LightFM) parameter is trained at growing
budgets, a quarter, a half and all of its iterations, and scored on the validation split at
each; Optuna's median pruner stops a trial whose score at a budget is below the median of
the earlier trials at that budget, as LensKit does for its iterative models.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pandas as pd

from recsys.errors import ConfigError
from recsys.models.base import Recommender

BUDGET_PARAMS = ("iterations", "epochs")
STARTUP_TRIALS = 2  # trials that run in full before the pruner judges any


def optuna_available() -> bool:
    """Whether the optional optuna package can be imported."""
    import importlib.util

    return importlib.util.find_spec("optuna") is not None


def _import_optuna() -> Any:
    try:
        import optuna
    except ModuleNotFoundError:
        raise ImportError('sampler="optuna" needs the optional optuna package: '
                          'pip install "recsys-lab[tune]"') from None
    return optuna


def check_space(space: Mapping[str, Any]) -> None:
    """Raise a :class:`~recsys.errors.ConfigError` naming a dimension Optuna cannot sample.

    A dimension is a non-empty list of values (categorical: None, bool, int, float, str) or
    a range ``{"low": ..., "high": ..., "log": false, "step": None}`` (integers when low and
    high are both ints).

    Examples
    --------
    >>> check_space({"factors": [32, 64], "regularization": {"low": 0.01, "high": 10.0,
    ...                                                      "log": True}})
    >>> check_space({"k": {"low": 5}})
    Traceback (most recent call last):
    ...
    recsys.errors.ConfigError: space['k']: a range needs low and high, got {'low': 5}
    """
    for name, values in space.items():
        if isinstance(values, Mapping):
            unknown = set(values) - {"low", "high", "log", "step"}
            if unknown or not {"low", "high"} <= set(values):
                raise ConfigError(f"space[{name!r}]: a range needs low and high, got "
                                  f"{dict(values)!r}" + (f" (unknown {sorted(unknown)})"
                                                         if unknown else ""))
            low, high = values["low"], values["high"]
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       for v in (low, high)) or low > high:
                raise ConfigError(f"space[{name!r}]: low and high must be numbers with "
                                  f"low <= high, got {low!r} and {high!r}")
        elif isinstance(values, (list, tuple)) and values:
            bad = [v for v in values if v is not None and not isinstance(v, (bool, int, float,
                                                                             str))]
            if bad:
                raise ConfigError(f"space[{name!r}]: Optuna samples None, bool, int, float "
                                  f"and str values, got {bad[0]!r}")
        else:
            raise ConfigError(f"space[{name!r}] must be a non-empty list of values or a "
                              f"range {{low, high}}; got {values!r}")


def _suggest(trial: Any, name: str, values: Any) -> Any:
    if isinstance(values, Mapping):
        low, high = values["low"], values["high"]
        log, step = bool(values.get("log", False)), values.get("step")
        if isinstance(low, int) and isinstance(high, int):
            return trial.suggest_int(name, low, high, step=step or 1, log=log)
        return trial.suggest_float(name, float(low), float(high), step=step, log=log)
    return trial.suggest_categorical(name, list(values))


def budgets(total: int) -> list[int]:
    """The iteration budgets a pruned trial is scored at: a quarter, a half, all.

    Examples
    --------
    >>> budgets(30), budgets(2)
    ([7, 15, 30], [1, 2])
    """
    return sorted({max(1, total // 4), max(1, total // 2), total})


@contextlib.contextmanager
def _quiet(optuna: Any) -> Iterator[None]:
    """Optuna logs every trial at INFO; the progress bar says enough. Restored after."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def optuna_search(
    model: Callable[..., Recommender],
    space: Mapping[str, Any],
    score: Callable[[Recommender], float],
    train: Any,
    *,
    n_trials: int,
    seed: int,
    prune: bool,
    column: str,
    bar: Any,
) -> tuple[pd.DataFrame, dict | None]:
    """Run the study: one row per trial (its parameters, ``column``: the validation score,
    NaN when pruned or failed, ``state``, the ``budget`` it reached, seconds and error), and
    the best complete trial's parameters (None when no trial completed)."""
    optuna = _import_optuna()
    check_space(space)
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=STARTUP_TRIALS) if prune
              else optuna.pruners.NopPruner())

    def objective(trial: Any) -> float:
        params = {name: _suggest(trial, name, values) for name, values in space.items()}
        try:
            candidate = model(**params)
            budget = next((p for p in BUDGET_PARAMS if p in candidate.get_params()), None)
            if not prune or budget is None:
                return score(candidate.fit(train))
            total = candidate.get_params()[budget]
            if isinstance(total, bool) or not isinstance(total, int):
                # A budget resolved at fit (LightFM's "auto" epochs) is not cut into steps.
                return score(candidate.fit(train))
            for step in budgets(total):
                value = score(model(**{**params, budget: step}).fit(train))
                trial.set_user_attr("budget", step)
                trial.report(value, step)
                if step < total and trial.should_prune():
                    raise optuna.TrialPruned()
            return value
        except optuna.TrialPruned:
            raise
        except Exception as exc:  # noqa: BLE001 - a failing trial is reported, not fatal
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
            raise

    with _quiet(optuna):
        study = optuna.create_study(direction="maximize", pruner=pruner,
                                    sampler=optuna.samplers.TPESampler(seed=seed))
        study.optimize(objective, n_trials=n_trials, catch=(Exception,),
                       callbacks=[lambda study, trial: bar.update(1)])
    rows = []
    for trial in study.trials:
        state = trial.state.name.lower()
        value = trial.value if state == "complete" else math.nan
        seconds = trial.duration.total_seconds() if trial.duration else math.nan
        rows.append({**trial.params, column: value, "state": state,
                     "budget": trial.user_attrs.get("budget"), "fit_eval_s": seconds,
                     "error": trial.user_attrs.get("error", "")})
        if not math.isnan(value):
            bar.set_postfix({column: f"{study.best_value:.4f}"})
    complete = any(trial.state.name == "COMPLETE" for trial in study.trials)
    return pd.DataFrame(rows), dict(study.best_params) if complete else None


__all__ = ["BUDGET_PARAMS", "budgets", "check_space", "optuna_available", "optuna_search"]
