"""Do the shipped defaults generalise? Default vs validation-tuned optimum on every data set.

Protocol (issue 13): per-user random 80/20 split (seed 42) of each data set, full ranking,
NDCG@10 on the test part. Tuning only ever sees a validation split (20% of each training
user's items, seed 7) carved from the training part; the chosen candidate is refitted on
the whole training part and scored on test. For every family and data set the table gives

- ``tuned``: test NDCG@10 of the candidate best on that data set's validation split;
- ``default``: test NDCG@10 of the family's shipped defaults, and ``default/tuned``;
- ``loo``: test NDCG@10 of the candidate (a constant or a rule of the data) chosen on the
  *other* data sets' validation splits (best mean share of each one's validation optimum),
  and ``loo/tuned``: a rule chosen on three data sets, scored on the fourth.

It also prints what ``weighting="auto"`` resolved to on each data set beside the validation
scores of the explicit "binary" and "log" candidates, so the decision is measured, and
``rs.auto(train, budget_s=60)`` (its winner refitted on the training part) on test beside
the best default and the best tuned model. rs.auto's result depends on the machine's speed
(what fits in the budget).

It also fits the default Hybrid (``weights="auto"``) of ALS, EASE and RP3beta on each data
set and sets it beside its best member on test: NDCG@10, coverage@10, the paired standard
error of the NDCG@10 difference and the weights chosen (``--no-hybrid`` skips it). BPR, LMF
and LightFM have small grids around their defaults (LightFM is left out, with a note, when
the optional lightfm is not installed).

``--sets`` and ``--families`` restrict a run (the leave-one-out columns then use the chosen
data sets only). Every candidate's score is cached in a JSON file (``--cache``), so a
rerun only computes what changed (the shipped defaults are always refitted).
Heavy: about half an hour on one core from an empty cache; every model runs on one thread.

    .venv/bin/python benchmarks/defaults.py [--data PATH] [--cache PATH] [--json out.json]
        [--sets ml-100k steam ...] [--families BPR LMF ...] [--no-hybrid] [--auto-budget S]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

import recsys as rs
from recsys.data.weighting import resolve_weighting
from recsys.models.ease import default_l2

Params = Callable[[rs.Interactions], dict]


def constant(**params) -> Params:
    return lambda _train: params


def ease_rule(per_user: float, weighting: str, cap: float = 500.0) -> Params:
    return lambda train: {"l2": default_l2(train.matrix, per_user=per_user, cap=cap),
                          "weighting": weighting}


def als_rule(per_density: float) -> Params:
    """ALS's alpha as ``per_density / density``: the positives' share of the total confidence
    stays the same whatever the density."""
    return lambda train: {"alpha": per_density * train.n_users * train.n_items / train.nnz}


def als_history_rule(mass: float) -> Params:
    """ALS's alpha as ``max(10, mass / mean entries per user)``: a typical user's positives
    carry at least ``mass`` confidence in total, however short the histories."""
    return lambda train: {"alpha": max(10.0, mass * train.n_users / train.nnz)}


def grid(**axes: list) -> dict[str, Params]:
    """Every combination of the axes as a named constant candidate."""
    frame = pd.MultiIndex.from_product(list(axes.values()), names=list(axes)).to_frame()
    rows = frame.to_dict(orient="records")
    return {" ".join(f"{k}={v}" for k, v in row.items()): constant(**row) for row in rows}


# family -> (factory of a model from params, candidates: label -> params of the training data)
FAMILIES: dict[str, tuple[Callable[..., rs.Recommender], dict[str, Params]]] = {
    "ItemKNN": (lambda **p: rs.ItemKNN(threads=1, **p),
                {**grid(similarity=["tfidf", "cosine"], k=[50, 100, 200, 400, 1000]),
                 **grid(k=[1000], weighting=["binary", "log"])}),
    "RP3beta": (rs.RP3beta, {**grid(alpha=[0.5, 0.75, 1.0], beta=[0.2, 0.4, 0.6]),
                             **grid(beta=[0.4], weighting=["binary", "log"]),
                             **grid(beta=["auto"])}),
    "EASE": (lambda **p: rs.EASE(threads=1, **p),
             {**grid(l2=[50.0, 100.0, 200.0, 500.0], weighting=["binary"]),
              **grid(l2=[200.0], weighting=["log"]),
              **{f"l2=min(500,{c}*users/item) weighting={w}": ease_rule(c, w)
                 for c in (3, 5, 10, 20) for w in ("binary", "log")},
              # The cap matters where items are few and popular (groceries: 210 users/item).
              **{f"l2=min({cap},{c}*users/item) weighting=binary": ease_rule(c, "binary", cap)
                 for cap in (300, 1000) for c in (5, 10, 20)}}),
    "ALS": (lambda **p: rs.ALS(threads=1, **p),
            {**grid(alpha=[3.0, 10.0, 30.0], weighting=["binary", "log"]),
             **grid(alpha=[100.0, 300.0]),
             **{f"alpha={c}/density": als_rule(c) for c in (0.25, 0.5, 1.0)},
             **{f"alpha=max(10,{c}/entries per user)": als_history_rule(c)
                for c in (100.0, 150.0, 300.0)}}),
    # The other factor families: a small grid around each default (their fits are slower).
    "BPR": (lambda **p: rs.BPR(threads=1, **p),
            grid(learning_rate=[0.01, 0.05], regularization=[0.01, 0.001])),
    "LMF": (lambda **p: rs.LMF(threads=1, **p),
            grid(learning_rate=[0.5, 1.0], regularization=[0.6, 0.1])),
    # LightFM's epochs: "auto" (early stopping on a split of the data it is given) beside
    # the fixed counts it chooses between (groceries wants about 4, the others 50-100).
    "LightFM": (lambda **p: rs.LightFM(threads=1, **p),
                {**grid(learning_rate=[0.02, 0.05], epochs=[25, 50]),
                 **grid(learning_rate=[0.02], epochs=[5, 10, 100]),
                 "epochs=auto": constant(epochs="auto")}),
}


# The default Hybrid of the hybrid table: three collaborative families with their defaults
# (the data sets here are interactions only, so no content member), weights="auto".
HYBRID_MEMBERS = ("ALS", "EASE", "RP3beta")


def hybrid_report(scores: Scores) -> pd.DataFrame:
    """A default Hybrid of HYBRID_MEMBERS beside its best member (both on test, cached): NDCG@10,
    coverage@10, the paired standard error of the NDCG@10 difference, the weights chosen."""
    rows = []
    for data, (_, _, train, test) in scores.splits.items():
        key = f"{data}|Hybrid|{'+'.join(HYBRID_MEMBERS)} weights=auto|test"
        if key not in scores.cache:
            started = time.perf_counter()
            members = [FAMILIES[f][0]() for f in HYBRID_MEMBERS]
            results = {f: rs.evaluate(m.fit(train), test, train=train, k=10)
                       for f, m in zip(HYBRID_MEMBERS, members, strict=True)}
            hybrid = rs.Hybrid([m.clone() for m in members]).fit(train)
            fused = rs.evaluate(hybrid, test, train=train, k=10)
            best = max(HYBRID_MEMBERS, key=lambda f: results[f].summary["ndcg@10"])
            gap = (fused.per_user["ndcg@10"] - results[best].per_user["ndcg@10"]).dropna()
            scores.cache[key] = {
                "hybrid": float(fused.summary["ndcg@10"]),
                "hybrid coverage": float(fused.summary["coverage@10"]),
                "best member": best,
                "member": float(results[best].summary["ndcg@10"]),
                "member coverage": float(results[best].summary["coverage@10"]),
                "paired se": float(gap.std(ddof=1) / len(gap) ** 0.5),
                "weights": " ".join(f"{f}={w:.1f}" for f, w in
                                    zip(HYBRID_MEMBERS, hybrid.weights_, strict=True)),
                "seconds": time.perf_counter() - started}
            print(f"  {data:10s} Hybrid   test  {scores.cache[key]['hybrid']:.4f} "
                  f"({scores.cache[key]['seconds']:5.1f}s) {scores.cache[key]['weights']}",
                  flush=True)
            scores.save()
        row = scores.cache[key]
        rows.append({"data": data, "hybrid": row["hybrid"], "best member": row["best member"],
                     "member": row["member"], "hybrid/member": row["hybrid"] / row["member"],
                     "paired se": row["paired se"], "hybrid coverage": row["hybrid coverage"],
                     "member coverage": row["member coverage"], "weights": row["weights"]})
    return pd.DataFrame(rows).set_index("data")


LOADERS: dict[str, Callable[[Path], rs.Interactions]] = {
    "ml-100k": lambda data: rs.datasets.movielens_100k(data / "ml-100k").interactions,
    "steam": lambda data: rs.datasets.steam_play(data / "steam-play").interactions,
    "groceries": lambda data: rs.datasets.baskets(data / "groceries" / "groceries.csv")
    .interactions,
    "demo": lambda _data: rs.datasets.demo().interactions,
}


def load(data: Path, names: list[str]) -> dict[str, rs.Interactions]:
    return {name: LOADERS[name](data) for name in names}


class Scores:
    """NDCG@10 of (data set, family, candidate, phase), computed once and cached on disk."""

    def __init__(self, path: Path, splits: dict) -> None:
        self.path = path
        self.splits = splits
        self.cache = json.loads(path.read_text()) if path.exists() else {}

    def get(self, data: str, family: str, label: str, phase: str) -> float:
        key = f"{data}|{family}|{label}|{phase}"
        # The shipped defaults change with the code: never taken from the cache.
        if key not in self.cache or label == "default":
            fit, valid, train, test = self.splits[data]
            factory, candidates = FAMILIES[family]
            on, against = (fit, valid) if phase == "valid" else (train, test)
            params = {} if label == "default" else candidates[label](on)
            started = time.perf_counter()
            model = factory(**params).fit(on)
            score = float(rs.evaluate(model, against, train=on, k=10).summary["ndcg@10"])
            self.cache[key] = score
            print(f"  {data:10s} {family:8s} {phase:5s} {score:.4f} "
                  f"({time.perf_counter() - started:5.1f}s) {label}", flush=True)
            self.save()
        return self.cache[key]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.cache, indent=0, sort_keys=True))
        tmp.replace(self.path)


def study(scores: Scores, datasets: list[str], families: list[str]) -> pd.DataFrame:
    rows = []
    for family in families:
        candidates = FAMILIES[family][1]
        valid = pd.DataFrame({d: {c: scores.get(d, family, c, "valid") for c in candidates}
                              for d in datasets})
        share = valid / valid.max()  # each candidate's share of the validation optimum
        for data in datasets:
            tuned_label = valid[data].idxmax()
            loo_label = share.drop(columns=data).mean(axis=1).idxmax()
            tuned = scores.get(data, family, tuned_label, "test")
            default = scores.get(data, family, "default", "test")
            loo = scores.get(data, family, loo_label, "test")
            rows.append({"family": family, "data": data, "tuned": tuned, "default": default,
                         "default/tuned": default / tuned, "loo": loo, "loo/tuned": loo / tuned,
                         "tuned candidate": tuned_label, "loo candidate": loo_label})
    return pd.DataFrame(rows)


def weighting_report(scores: Scores, inter: dict[str, rs.Interactions]) -> pd.DataFrame:
    """What "auto" resolves to, beside the validation scores of binary and log weights."""
    rows = []
    for data, interactions in inter.items():
        row = {"data": data,
               "auto (ALS)": resolve_weighting("auto", interactions.matrix),
               "auto (item-item)": resolve_weighting("auto", interactions.matrix,
                                                     amounts="binary")}
        for family, label in (("ItemKNN", "k=1000"), ("RP3beta", "beta=0.4"),
                              ("EASE", "l2=200.0"), ("ALS", "alpha=10.0")):
            for weighting in ("binary", "log"):
                row[f"{family} {weighting}"] = scores.get(
                    data, family, f"{label} weighting={weighting}", "valid")
        rows.append(row)
    return pd.DataFrame(rows).set_index("data")


def auto_report(scores: Scores, budget_s: float, best: pd.DataFrame) -> pd.DataFrame:
    """``rs.auto(train, budget_s)`` per data set (cached like the candidates), on test."""
    rows = []
    for data, (_, _, train, test) in scores.splits.items():
        key = f"{data}|auto|budget={budget_s:g}|test"
        if key not in scores.cache:
            started = time.perf_counter()
            found = rs.auto(train, budget_s=budget_s)
            ndcg = float(rs.evaluate(found.model, test, train=train, k=10).summary["ndcg@10"])
            scores.cache[key] = {"ndcg@10": ndcg, "family": found.family,
                                 "params": str(found.params), "trials": len(found.trials),
                                 "seconds": time.perf_counter() - started}
            print(f"  {data:10s} auto     test  {ndcg:.4f} ({scores.cache[key]['seconds']:5.1f}s)"
                  f" {found.family} {found.params}", flush=True)
            scores.save()
        row = scores.cache[key]
        rows.append({"data": data, "auto": row["ndcg@10"], "winner": row["family"],
                     "params": row["params"], "trials": row["trials"],
                     "auto/best default": row["ndcg@10"] / best.loc[data, "best_default"],
                     "auto/best tuned": row["ndcg@10"] / best.loc[data, "best_tuned"]})
    return pd.DataFrame(rows).set_index("data")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared/data")
    parser.add_argument("--cache", type=Path,
                        default=Path.home() / ".cache/recsys/benchmark-defaults.json")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--auto-budget", type=float, default=60.0,
                        help="budget_s of rs.auto on each data set (0: skip)")
    parser.add_argument("--sets", nargs="+", choices=list(LOADERS), default=list(LOADERS),
                        help="data sets to run on (the leave-one-out columns use these only)")
    parser.add_argument("--families", nargs="+", choices=list(FAMILIES),
                        default=list(FAMILIES))
    parser.add_argument("--no-hybrid", action="store_true",
                        help="skip the default Hybrid vs its best member")
    args = parser.parse_args()
    if "LightFM" in args.families and importlib.util.find_spec("lightfm") is None:
        print("LightFM left out: the optional dependency lightfm is not installed")
        args.families.remove("LightFM")
    inter = load(args.data, args.sets)
    splits = {}
    for name, interactions in inter.items():
        train, test = rs.split.random(interactions, test_size=0.2, seed=42)
        fit, valid = rs.split.random(train, test_size=0.2, seed=7)
        splits[name] = (fit, valid, train, test)
    scores = Scores(args.cache, splits)
    table = study(scores, list(inter), args.families)
    # The weighting comparison reads candidates of these four families.
    weights = (weighting_report(scores, inter)
               if {"ItemKNN", "RP3beta", "EASE", "ALS"} <= set(args.families) else None)
    hybrids = None if args.no_hybrid else hybrid_report(scores)
    pd.set_option("display.width", 200)
    print("\nNDCG@10 on test: shipped default, validation-tuned optimum, leave-one-data-set-out")
    print(table.drop(columns=["tuned candidate", "loo candidate"]).to_string(
        index=False, float_format=lambda v: f"{v:.4f}"))
    print("\nCandidates chosen (tuned on the data set's validation split / on the others')")
    print(table[["family", "data", "tuned candidate", "loo candidate"]].to_string(index=False))
    if weights is not None:
        print('\nweighting="auto" and the validation NDCG@10 of each explicit choice')
        print(weights.to_string(float_format=lambda v: f"{v:.4f}"))
    best = table.groupby("data").agg(best_tuned=("tuned", "max"), best_default=("default", "max"),
                                     best_loo=("loo", "max"))
    best["best default/best tuned"] = best["best_default"] / best["best_tuned"]
    best["best loo/best tuned"] = best["best_loo"] / best["best_tuned"]
    print(f"\nBest of the families per data set ({', '.join(args.families)})")
    print(best.to_string(float_format=lambda v: f"{v:.4f}"))
    if hybrids is not None:
        print(f"\nHybrid({'+'.join(HYBRID_MEMBERS)}), weights=\"auto\", vs its best member "
              "on test")
        print(hybrids.to_string(float_format=lambda v: f"{v:.4f}"))
    autos = None
    if args.auto_budget > 0:
        autos = auto_report(scores, args.auto_budget, best)
        print(f"\nrs.auto(train, budget_s={args.auto_budget:g}), refitted winner on test")
        print(autos.to_string(float_format=lambda v: f"{v:.4f}"))
    print("\nTargets (issue 13)")
    for column in ("default/tuned", "loo/tuned"):
        low = table[table[column] < 0.95]
        print(f"{'PASS' if low.empty else 'MISS'}  every family's {column} >= 0.95"
              + ("" if low.empty else ": " + ", ".join(
                  f"{r.family}@{r.data} {r[column]:.3f}" for _, r in low.iterrows())))
    for column in ("best default/best tuned", "best loo/best tuned"):
        low = best[best[column] < 0.98]
        print(f"{'PASS' if low.empty else 'MISS'}  {column} >= 0.98"
              + ("" if low.empty else ": " + ", ".join(
                  f"{d} {v:.3f}" for d, v in low[column].items())))
    if hybrids is not None:
        low = hybrids[hybrids["hybrid"] < hybrids["member"] - hybrids["paired se"]]
        print(f"{'PASS' if low.empty else 'MISS'}  Hybrid >= best member - 1 paired s.e."
              + ("" if low.empty else ": " + ", ".join(low.index)))
        narrow = hybrids[hybrids["hybrid coverage"] <= hybrids["member coverage"]]
        print(f"{'PASS' if narrow.empty else 'MISS'}  Hybrid coverage@10 > best member's"
              + ("" if narrow.empty else ": " + ", ".join(narrow.index)))
    if autos is not None:
        for column, floor in (("auto/best default", 1.0), ("auto/best tuned", 0.98)):
            low = autos[autos[column] < floor]
            print(f"{'PASS' if low.empty else 'MISS'}  {column} >= {floor}"
                  + ("" if low.empty else ": " + ", ".join(
                      f"{d} {v:.3f}" for d, v in low[column].items())))
    if args.json:
        args.json.write_text(json.dumps({"table": table.to_dict(orient="records"),
                                         "weighting": None if weights is None
                                         else weights.to_dict(orient="index"),
                                         "hybrid": None if hybrids is None
                                         else hybrids.to_dict(orient="index"),
                                         "best": best.to_dict(orient="index"),
                                         "auto": None if autos is None
                                         else autos.to_dict(orient="index")}, indent=2))


if __name__ == "__main__":
    main()
