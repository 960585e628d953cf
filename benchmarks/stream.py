"""Streaming benchmark: ``model.update`` against a full refit, per family.

For each family the model is fitted on the first ``--start`` share of the events (in time
order) and the rest arrives in chunks of ``--step`` events. Two runs of
:func:`recsys.evaluate_stream` (prequential: each chunk is scored before it is learned):

* **update**: every chunk is learned by ``model.update(chunk)``;
* **refit** (the anchor): every chunk is learned by a full fit on everything so far.

Printed per family: the learning time per chunk (median over chunks) of each run, their ratio,
the cost of update per event, and the prequential NDCG@10 / recall@10 of both runs over the
whole stream (means over the scored users), with the gap update - refit. Wall times on a
shared machine are indicative; the quality figures are deterministic for a seed.

Run ``python benchmarks/stream.py`` (the embedded demo data, a few seconds per family) or
``--data ml-100k`` (MovieLens 100K from ../shared/data; ratings as weights).
"""

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import recsys as rs
from recsys.errors import RecsysWarning

FAMILIES = {
    "Popularity": lambda: rs.Popularity(),
    "ItemKNN": lambda: rs.ItemKNN(),
    "RP3beta": lambda: rs.RP3beta(),
    "EASE": lambda: rs.EASE(),
    "ALS": lambda: rs.ALS(factors=64, iterations=15, threads=1),
    "AssociationRules": lambda: rs.AssociationRules(min_support=0.005, basket_column=None),
}


def events(name: str) -> pd.DataFrame:
    if name == "demo":
        frame = rs.datasets.demo().interactions.to_pandas()
        frame = frame.rename(columns={"user": "user_id", "item": "item_id"})
    else:
        shared = Path(os.environ.get("RECSYS_SHARED_DATA",
                                     Path(__file__).resolve().parents[1].parent / "shared"
                                     / "data"))
        frame = pd.read_csv(shared / "ml-100k" / "u.data", sep="\t",
                            names=["user_id", "item_id", "weight", "timestamp"])
    return frame.sort_values("timestamp", kind="stable", ignore_index=True)


def run(family: str, frame: pd.DataFrame, start: float, step: int, chunks: int) -> dict:
    cut = int(len(frame) * start)
    train = rs.Interactions.from_pandas(frame.iloc[:cut], weight="weight",
                                        timestamp="timestamp")
    stream = frame.iloc[cut:cut + step * chunks]
    model = FAMILIES[family]().fit(train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecsysWarning)  # new items: said once per family
        updated = rs.evaluate_stream(model, stream, k=10, step=step)
        refitted = rs.evaluate_stream(model, stream, k=10, step=step, refit_every=1,
                                      train=train)
    update_s = float(np.median(updated.chunks["learn_seconds"]))
    refit_s = float(np.median(refitted.chunks["learn_seconds"]))
    u, r = updated.summary, refitted.summary
    return {"family": family, "update s/chunk": update_s, "refit s/chunk": refit_s,
            "refit / update": refit_s / update_s, "update us/event": 1e6 * update_s / step,
            "ndcg update": u["ndcg@10"], "ndcg refit": r["ndcg@10"],
            "ndcg gap": u["ndcg@10"] - r["ndcg@10"], "recall update": u["recall@10"],
            "recall refit": r["recall@10"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("demo", "ml-100k"), default="demo")
    parser.add_argument("--start", type=float, default=0.8,
                        help="share of the events (by time) fitted before the stream")
    parser.add_argument("--step", type=int, default=1000, help="events per chunk")
    parser.add_argument("--chunks", type=int, default=5)
    parser.add_argument("--families", nargs="*", default=list(FAMILIES))
    args = parser.parse_args()
    frame = events(args.data)
    rows = [run(f, frame, args.start, args.step, args.chunks) for f in args.families]
    table = pd.DataFrame(rows).set_index("family")
    print(f"{args.data}: fitted on the first {args.start:.0%} of {len(frame):,} events, then "
          f"{args.chunks} chunks of {args.step} events")
    with pd.option_context("display.width", 250, "display.max_columns", 20,
                           "display.float_format", "{:.4f}".format):
        print(table)


if __name__ == "__main__":
    main()
