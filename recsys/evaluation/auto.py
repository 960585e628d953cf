"""One call from training data to a tuned model: ``rs.auto(train, budget_s=60)``.

A validation split is carved from the training data; every family's default and a few
neighbours (:mod:`recsys.evaluation.spaces`) race by successive halving, each rung training
on a larger share of the users; the leading candidates of the best families are fused by a
:class:`~recsys.Hybrid` whose weights are fitted on the same split, and the winner (that
fusion, or one member alone when the weights say so) is refitted on all of the training data.
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
from recsys.evaluation.hybrid_weights import fit_weights
from recsys.evaluation.spaces import SPACES, default_space
from recsys.evaluation.tune import tune
from recsys.models.base import Recommender
from recsys.models.hybrid import Hybrid
from recsys.split import random as random_split

# Successive halving: each rung keeps the best 1/ETA of the candidates and trains them on
# ETA times more users, up to all of them.
ETA = 3
# Share of the users the first rung trains on (rungs: 1/9, 1/3, 1 of the users).
FIRST_SHARE = 1.0 / ETA**2
# Families whose leading candidates the final Hybrid fuses.
ENSEMBLE = 3


@dataclass
class AutoResult:
    """Outcome of :func:`auto`.

    Attributes
    ----------
    model : Recommender
        The winner, refitted on all of the training data.
    family : str
        The winner's family, or "Hybrid" when a fusion won.
    params : dict
        The winner's parameters beyond its family's defaults (``{}``: the defaults won); for
        a Hybrid, ``{"members": {family: params}, "weights": {family: weight}}``.
    trials : pandas.DataFrame
        One row per trial: ``family``, ``params`` (as text), ``rung``, ``users`` (share of
        the training users it was fitted on), the validation score, ``seconds``, ``error``
        and ``winner`` (the trials of the winning candidate). The fusion of the leaders is
        the last row (family "Hybrid", the weights it chose as ``params``).
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
                      fit, valid, metric=metric, k=k, show_progress=False, refit=False)
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
    ensemble: bool = True,
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
    of the highest rung reached leads. Then (``ensemble``, and budget left) the best three
    families (highest rung reached, then score) take part, with their defaults, in a
    :class:`~recsys.Hybrid` whose weights are fitted on the same validation split
    (:func:`recsys.fit_weights`): each member alone is among the trials, and the most
    balanced weights within one standard error of the best are kept; when one member takes
    all the weight it is the winner alone. Without the fusion the race's leader wins. The
    winner is refitted on all of ``train`` (that fit is not counted in the budget).

    Why fuse, and why the defaults: the race fits on less data than the final fit, and
    which family or setting leads changes with the amount of data. On MovieLens 100K
    (``benchmarks/defaults.py``, NDCG@10 on test) the race put ALS first (validation 0.290
    vs EASE 0.275) and auto returned ALS, 0.440, where EASE's default scores 0.453; on
    groceries it returned ALS with alpha x 15, 0.242 against the best default's 0.243.
    Fusing the leaders' own candidates scored 0.449 and 0.237 (EASE's l2 x 3 and that ALS
    led on samples); fusing the families' defaults scored 0.454 and 0.244, and 0.376 /
    0.313 on the demo and Steam data (best defaults 0.372 / 0.309).

    Parameters
    ----------
    train : Interactions
        Training data; the test data must not be in it.
    budget_s : float
        Seconds the search may take (a trial that has started is finished).
    families : list of str, optional
        Families to race (default: all of ``recsys.evaluation.spaces.SPACES``).
    ensemble : bool
        Fuse the leaders of the best families (see above); False: the race's leader wins.
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
    >>> result.family in ("ItemKNN", "Popularity", "Hybrid")
    True
    """
    budget = check_real("budget_s", budget_s, strict=True)
    check_choice("metric", metric, ACCURACY_METRICS)
    k = check_int("k", k)
    threads = check_int("threads", threads, minimum=0)
    seed = check_int("seed", seed, minimum=0)
    if not isinstance(ensemble, bool):
        raise ConfigError(f"ensemble must be True or False, got {ensemble!r}")
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
    # family -> (rung, score, params) of its leading candidate
    leaders: dict[str, tuple[int, float, dict]] = {}
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
                if (rung, score) > leaders.get(name, (-1, -math.inf, {}))[:2]:
                    leaders[name] = (rung, score, params)
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
    ranked = sorted(leaders, key=lambda name: leaders[name][:2], reverse=True)[:ENSEMBLE]
    if ensemble and len(ranked) > 1 and time.perf_counter() - started <= budget:
        # The fusion takes each family's defaults, not its leading candidate: parameters that
        # led the race on a sample of the users did not carry to test (see the docstring).
        fused = _fuse(ranked, train, fit, valid, metric=metric, k=k, threads=threads,
                      seed=seed)
        rows.append({"family": "Hybrid", "params": _label(fused.weights),
                     "rung": rung + 1, "users": 1.0, column: fused.score,
                     "seconds": fused.seconds, "error": ""})
        model, family, params = fused.model, fused.family, fused.params
    else:
        model = _factory(family, threads, seed)(**params).fit(train)
    trials = pd.DataFrame(rows)
    label = _label(params["weights"] if family == "Hybrid" else params)
    trials["winner"] = (trials["family"] == family) & (trials["params"] == label)
    return AutoResult(model, family, params, trials)


@dataclass
class _Fusion:
    model: Recommender
    family: str  # "Hybrid", or the one member that took all the weight
    params: dict
    weights: dict[str, float]
    score: float  # validation metric of the chosen weights
    seconds: float


def _fuse(names: list[str], train: Interactions, fit: Interactions, valid: Interactions, *,
          metric: str, k: int, threads: int, seed: int) -> _Fusion:
    """A Hybrid of the families' defaults with its weights fitted on auto's validation split
    (``fit``, ``valid``), refitted on ``train``; one member alone when it takes all the
    weight."""
    started = time.perf_counter()
    members = [_factory(name, threads, seed)() for name in names]
    search = fit_weights(Hybrid([m.clone() for m in members], weights=None).fit(fit), valid,
                         metric=metric, k=k)
    trials = np.asarray(search.weight_search_)
    chosen = np.flatnonzero((trials[:, :len(names)] == search.weights_).all(axis=1))[0]
    score = float(trials[chosen, len(names)])
    weights = [float(w) for w in search.weights_]
    named = dict(zip(names, [round(w, 3) for w in weights], strict=True))
    if max(weights) == 1.0:
        alone = weights.index(1.0)
        return _Fusion(members[alone].fit(train), names[alone], {}, named, score,
                       time.perf_counter() - started)
    model = Hybrid(members, weights=weights).fit(train)
    return _Fusion(model, "Hybrid", {"members": {name: {} for name in names},
                                     "weights": named}, named, score,
                   time.perf_counter() - started)
