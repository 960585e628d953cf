"""One call from training data to a tuned model: ``rs.auto(train, budget_s=60)``.

A validation split is carved from the training data; every family's default and a few
neighbours (:mod:`recsys.evaluation.spaces`) race by successive halving, each rung training
on a larger share of the users; the winner is refitted on all of the training data.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recsys._checks import check_choice, check_int, check_real
from recsys.data.interactions import Interactions
from recsys.errors import ConfigError
from recsys.evaluation.evaluate import ACCURACY_METRICS
from recsys.evaluation.spaces import SPACES, default_space
from recsys.evaluation.tune import tune
from recsys.models.base import Recommender
from recsys.split import random as random_split

# Successive halving: each rung keeps the best 1/ETA of the candidates and trains them on
# ETA times more users, up to all of them.
ETA = 3
# Share of the users the first rung trains on (rungs: 1/9, 1/3, 1 of the users).
FIRST_SHARE = 1.0 / ETA**2


@dataclass
class AutoResult:
    """Outcome of :func:`auto`.

    Attributes
    ----------
    model : Recommender
        The winner, refitted on all of the training data.
    family : str
    params : dict
        The winner's parameters beyond its family's defaults (``{}``: the defaults won).
    trials : pandas.DataFrame
        One row per trial: ``family``, ``params`` (as text), ``rung``, ``users`` (share of
        the training users it was fitted on), the validation score, ``seconds``, ``error``
        and ``winner`` (the trials of the winning candidate).
    """

    model: Recommender
    family: str
    params: dict
    trials: pd.DataFrame

    def plot(self) -> Any:
        """Validation score of every trial by rung, one colour per family; the winner's
        trials are circled.

        Returns
        -------
        matplotlib.figure.Figure
        """
        score = next(column for column in self.trials.columns if "@" in column)
        from matplotlib.figure import Figure  # the "report" extra: imported on use

        fig = Figure(figsize=(7, 4))
        ax = fig.subplots()
        for family, rows in self.trials.groupby("family", sort=False):
            ax.scatter(rows["users"], rows[score], label=family, alpha=0.8)
        won = self.trials[self.trials["winner"]]
        ax.scatter(won["users"], won[score], s=160, facecolors="none", edgecolors="black",
                   label=f"winner: {self.family} {_label(self.params)}")
        ax.set_xscale("log")
        ax.set_xlabel("share of training users fitted on (rung)")
        ax.set_ylabel(f"validation {score}")
        ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        return fig


def _label(params: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items()) or "defaults"


def _factory(family: str, threads: int, seed: int):
    cls = SPACES[family][0]
    accepted = inspect.signature(cls).parameters
    fixed = {name: value for name, value in (("threads", threads), ("seed", seed))
             if name in accepted}
    return lambda **params: cls(**{**fixed, **params})


def _trial(family: str, params: dict, fit: Interactions, valid: Interactions, *, metric: str,
           k: int, threads: int, seed: int) -> tuple[float, float, str]:
    """One candidate scored through :func:`recsys.tune`: (score, seconds, error text)."""
    started = time.perf_counter()
    try:
        result = tune(_factory(family, threads, seed), {p: [v] for p, v in params.items()},
                      fit, valid, metric=metric, k=k, show_progress=False)
    except ConfigError as exc:  # tune's "every trial failed": the one trial's error
        return float("nan"), time.perf_counter() - started, str(exc)
    trial = result.trials.iloc[0]
    return float(trial[f"{metric}@{k}"]), float(trial["fit_eval_s"]), str(trial["error"])


def _users_sample(fit: Interactions, valid: Interactions, share: float,
                  seed: int) -> tuple[Interactions, Interactions]:
    """The entries of a random ``share`` of the users, in both parts (same ids)."""
    if share >= 1.0:
        return fit, valid
    keep = np.random.default_rng(seed).random(fit.n_users) < share
    parts = []
    for part in (fit, valid):
        rows = np.repeat(np.arange(part.n_users), np.diff(part.matrix.indptr))
        parts.append(part.select(keep[rows], step="auto", reason=f"{share:.0%} of the users"))
    return parts[0], parts[1]


def auto(
    train: Interactions,
    budget_s: float = 60.0,
    *,
    families: Sequence[str] | None = None,
    metric: str = "ndcg",
    k: int = 10,
    valid_size: float = 0.2,
    threads: int = 1,
    seed: int = 0,
) -> AutoResult:
    """Pick and fit a recommender for ``train`` within a time budget.

    A validation split (``valid_size`` of each user's entries) is carved from ``train``. The
    candidates are every family's shipped default and a few neighbours around it
    (:func:`recsys.evaluation.spaces.default_space`). They race by successive halving: the
    first rung fits all of them on a ninth of the users, the best third go on to a third of
    the users, the best third of those to all of them; each trial is one call of
    :func:`recsys.tune`. When the budget runs out no new trial starts and the best candidate
    of the highest rung reached wins. The winner is refitted on all of ``train`` (that fit
    is not counted in the budget).

    Parameters
    ----------
    train : Interactions
        Training data; the test data must not be in it.
    budget_s : float
        Seconds the search may take (a trial that has started is finished).
    families : list of str, optional
        Families to race (default: all of ``recsys.evaluation.spaces.SPACES``).
    metric, k : str, int
        What the validation split is scored by (``metric@k``).
    valid_size : float
        Share of each user's entries held out for validation.
    threads : int
        Threads of every model (``0``: every core).
    seed : int
        Seed of the validation split, the user samples and the models.

    Returns
    -------
    AutoResult
        The refitted winner, what was tried (``trials``) and a plot (``plot()``).

    Examples
    --------
    >>> import recsys as rs
    >>> train = rs.datasets.demo().interactions
    >>> result = rs.auto(train, budget_s=5, families=["ItemKNN", "Popularity"])
    >>> result.model.n_users == train.n_users
    True
    """
    budget = check_real("budget_s", budget_s, strict=True)
    check_choice("metric", metric, ACCURACY_METRICS)
    k = check_int("k", k)
    threads = check_int("threads", threads, minimum=0)
    seed = check_int("seed", seed, minimum=0)
    names = list(SPACES) if families is None else list(families)
    if not names:
        raise ConfigError("families must name at least one family")
    for name in names:
        check_choice("families", name, SPACES)
    started = time.perf_counter()
    fit, valid = random_split(train, test_size=valid_size, seed=seed)
    column = f"{metric}@{k}"
    alive = [(name, params) for name in names for params in default_space(name, fit)]
    rows: list[dict[str, Any]] = []
    share, rung = FIRST_SHARE, 0
    while True:
        part_fit, part_valid = _users_sample(fit, valid, share, seed + rung)
        scored = []
        for name, params in alive:
            if rows and time.perf_counter() - started > budget:
                break
            score, seconds, error = _trial(name, params, part_fit, part_valid, metric=metric,
                                           k=k, threads=threads, seed=seed)
            rows.append({"family": name, "params": _label(params), "rung": rung,
                         "users": share, column: score, "seconds": seconds, "error": error})
            if not math.isnan(score):
                scored.append((score, name, params))
        scored.sort(key=lambda entry: -entry[0])
        out_of_time = time.perf_counter() - started > budget
        if share >= 1.0 or out_of_time or len(scored) <= 1:
            break
        alive = [(name, params) for _, name, params in scored[:max(1, len(scored) // ETA)]]
        share, rung = min(1.0, share * ETA), rung + 1
    if not scored:
        raise ConfigError(f"auto: every trial failed or none fitted within {budget:g} s; "
                          f"first error: {rows[0]['error'] if rows else 'no trial ran'}")
    _, family, params = scored[0]
    model = _factory(family, threads, seed)(**params).fit(train)
    trials = pd.DataFrame(rows)
    trials["winner"] = (trials["family"] == family) & (trials["params"] == _label(params))
    return AutoResult(model, family, params, trials)
