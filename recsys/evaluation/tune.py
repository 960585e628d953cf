"""Hyperparameter search on a validation split: grid, random or Optuna, with a progress bar."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recsys._checks import check_choice, check_int, check_real
from recsys._progress import progress
from recsys.data.dataset import Dataset
from recsys.data.interactions import Interactions
from recsys.errors import ConfigError
from recsys.evaluation.evaluate import ACCURACY_METRICS, evaluate
from recsys.evaluation.spaces import SPACES, default_space
from recsys.models.base import Recommender
from recsys.split import random as random_split

logger = logging.getLogger("recsys")

SAMPLERS = ("grid", "random", "optuna")


@dataclass
class TuneResult:
    """Outcome of :func:`tune`.

    Attributes
    ----------
    best_params : dict
    best_score : float
    best_model : Recommender or None
        The best candidate fitted on all of the training data (``refit=True``): refitted on
        ``train`` when the validation split was carved from it, or the best trial's model
        (fitted on ``train``) when ``valid`` was given. None with ``refit=False``.
    trials : pandas.DataFrame
        One row per trial, best first: the parameters, the score, fit seconds, and the error
        text of a trial that failed (its score is NaN; the search goes on). With
        ``sampler="optuna"`` also ``state`` ("complete", "pruned", "fail") and ``budget``
        (the iterations a pruned family's trial reached).
    """

    best_params: dict
    best_score: float
    trials: pd.DataFrame
    best_model: Recommender | None = None


def _candidates(space: Mapping[str, Sequence] | Sequence[Mapping[str, Any]],
                n_trials: int | None, seed: int) -> list[dict]:
    if not isinstance(space, Mapping):  # explicit candidates
        if isinstance(space, (str, bytes)) or not isinstance(space, Sequence) or not space \
                or not all(isinstance(c, Mapping) for c in space):
            raise ConfigError("space must be a dict name -> list of values or a non-empty "
                              f"list of parameter dicts, got {space!r}")
        grid = [dict(c) for c in space]
        if n_trials is None or n_trials >= len(grid):
            return grid
        picks = np.random.default_rng(seed).choice(len(grid), size=n_trials, replace=False)
        return [grid[i] for i in sorted(picks)]
    for name, values in space.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ConfigError(f"space[{name!r}] must be a non-empty list of values")
    grid = [dict(zip(space, combo, strict=True)) for combo in itertools.product(*space.values())]
    if n_trials is None or n_trials >= len(grid):
        return grid
    picks = np.random.default_rng(seed).choice(len(grid), size=n_trials, replace=False)
    return [grid[i] for i in sorted(picks)]


def tune(
    model: type[Recommender] | Callable[..., Recommender],
    space: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    train: Interactions | Dataset | None = None,
    valid: Interactions | None = None,
    metric: str = "ndcg",
    k: int = 10,
    n_trials: int | None = None,
    seed: int = 0,
    show_progress: bool = True,
    *,
    sampler: str | None = None,
    prune: bool = True,
    valid_size: float = 0.2,
    refit: bool = True,
) -> TuneResult:
    """Search ``space`` for the parameters that maximise ``metric@k`` on ``valid``.

    Parameters
    ----------
    model : Recommender class or callable
        Called with one candidate's parameters as keyword arguments.
    space : dict name -> list of values, list of dicts, or None
        The grid: every combination is tried, or ``n_trials`` of them drawn at random. A
        list of parameter dicts tries exactly those. With ``sampler="optuna"`` a list is a
        categorical dimension and a ``{"low": .., "high": ..}`` table a range (integers
        when both ends are ints). None: the family's default space, its shipped default and
        the neighbours :func:`recsys.auto` races
        (:func:`recsys.evaluation.spaces.default_space`; ``model`` must be one of those
        families' classes).
    train : Interactions or Dataset
        Training data (required). A Dataset, for families that read side features, needs
        ``valid``.
    valid : Interactions, optional
        Held-out interactions to score on; carve them out of the training data, never use
        the test split for tuning. None: ``valid_size`` of each user's entries of ``train``
        are held out (:func:`recsys.split.random` with ``seed``).
    metric : str
    k : int
    n_trials : int, optional
        Random search over the grid with this many distinct candidates; the number of
        Optuna trials (default 20).
    seed : int
        Seed of the random search and of Optuna's TPE sampler.
    show_progress : bool
        Progress bar whose postfix reports the best score so far.
    sampler : {"grid", "random", "optuna"}, optional
        Default: "grid" without ``n_trials``, "random" with it. "optuna": Optuna's TPE
        sampler (the ``tune`` extra), see :mod:`recsys.evaluation.tune_optuna`.
    prune : bool
        With "optuna": train families with ``iterations`` / ``epochs`` at growing budgets and
        stop trials that fall below the median of earlier ones (Optuna's median pruner). The
        budget is passed to ``model`` as a keyword, so a factory that fixes other parameters
        lets it override its own: ``lambda **p: rs.ALS(**{"iterations": 20, **p})``.
    valid_size : float
        Share held out when ``valid`` is None.
    refit : bool
        Return the best candidate fitted on all of the training data as ``best_model``
        (see :class:`TuneResult`).

    Returns
    -------
    TuneResult

    Examples
    --------
    >>> import recsys as rs
    >>> inter = rs.datasets.demo().interactions
    >>> train, valid = rs.split.random(inter, test_size=0.2, seed=1)
    >>> result = rs.tune(rs.ItemKNN, {"k": [20, 100]}, train, valid, show_progress=False)
    >>> sorted(result.trials["k"].tolist())
    [20, 100]
    >>> found = rs.tune(rs.RP3beta, train=inter, show_progress=False)  # default space
    >>> found.best_model.user_items_.nnz == inter.nnz  # refitted on all of it
    True
    """
    check_choice("metric", metric, ACCURACY_METRICS)
    k = check_int("k", k)
    column = f"{metric}@{k}"
    sampler = sampler or ("grid" if n_trials is None else "random")
    check_choice("sampler", sampler, SAMPLERS)
    if sampler == "random" and n_trials is None:
        raise ConfigError('sampler="random" needs n_trials')
    if train is None:
        raise ConfigError("tune needs train= (the training data)")
    whole = train
    if valid is None:
        if isinstance(train, Dataset):
            raise ConfigError("tune on a Dataset needs valid= (held-out interactions)")
        if not 0 < check_real("valid_size", valid_size, strict=True) < 1:
            raise ConfigError(f"valid_size must be in (0, 1), got {valid_size!r}")
        train, valid = random_split(train, test_size=valid_size, seed=seed)
    # Defaults that are rules of the data, and their neighbours, on what is fitted.
    space = _default_space(model, train) if space is None else space
    if sampler == "optuna":
        if not isinstance(space, Mapping):
            raise ConfigError('sampler="optuna" needs space as a dict name -> values or range')
        found = _tune_optuna(model, space, train, valid, metric, k, n_trials or 20, seed,
                             prune, show_progress)
        best = model(**found.best_params).fit(whole) if refit else None
        return TuneResult(found.best_params, found.best_score, found.trials, best)
    candidates = _candidates(space, n_trials if sampler == "random" else None, seed)
    rows: list[dict[str, Any]] = []
    best_score, best_params, best_fitted = -np.inf, None, None
    bar = progress(candidates, desc="tune", unit="trial", disable=not show_progress)
    for params in bar:
        started = time.perf_counter()
        fitted = None
        try:
            fitted = model(**params).fit(train)
            score = float(evaluate(fitted, valid, k=k, metrics=[metric]).summary[column])
            error = ""
        except Exception as exc:  # noqa: BLE001 - a failing trial is reported, not fatal
            score, error = float("nan"), f"{type(exc).__name__}: {exc}"
        rows.append({**params, column: score, "fit_eval_s": time.perf_counter() - started,
                     "error": error})
        logger.info("tune %s -> %s=%.5f %s", params, column, score, error)
        if score > best_score:
            best_score, best_params = score, params
            best_fitted = fitted if refit and whole is train else None
            bar.set_postfix({column: f"{score:.4f}"})
    if best_params is None:
        raise ConfigError(f"every trial failed; first error: {rows[0]['error']}")
    trials = pd.DataFrame(rows).sort_values(column, ascending=False, ignore_index=True)
    if refit and best_fitted is None:
        best_fitted = model(**best_params).fit(whole)
    return TuneResult(best_params, best_score, trials, best_fitted)


def _default_space(model: type[Recommender] | Callable[..., Recommender],
                   train: Interactions | Dataset) -> list[dict[str, Any]]:
    """The default space of the family ``model`` builds (a class named in SPACES)."""
    family = next((name for name, (cls, _) in SPACES.items() if model is cls), None)
    if family is None:
        raise ConfigError(f"no default space for {getattr(model, '__name__', model)!r}: pass "
                          f"space= (default spaces exist for {', '.join(SPACES)})")
    return default_space(family, train.interactions if isinstance(train, Dataset) else train)


def _tune_optuna(model: Callable[..., Recommender], space: Mapping[str, Any],
                 train: Interactions | Dataset, valid: Interactions, metric: str, k: int,
                 n_trials: int, seed: int, prune: bool, show_progress: bool) -> TuneResult:
    from recsys.evaluation.tune_optuna import optuna_search

    n_trials = check_int("n_trials", n_trials)
    column = f"{metric}@{k}"

    def score(fitted: Recommender) -> float:
        return float(evaluate(fitted, valid, k=k, metrics=[metric]).summary[column])

    bar = progress(total=n_trials, desc="tune (optuna)", unit="trial", disable=not show_progress)
    with bar:
        trials, best_params = optuna_search(model, space, score, train, n_trials=n_trials,
                                            seed=seed, prune=prune, column=column, bar=bar)
    if best_params is None:
        errors = trials.loc[trials["error"] != "", "error"]
        first = errors.iloc[0] if len(errors) else "every trial was pruned"
        raise ConfigError(f"no trial completed; first error: {first}")
    trials = trials.sort_values(column, ascending=False, ignore_index=True)
    return TuneResult(best_params, float(trials[column].max()), trials)
