"""The ``recsys`` command: ``demo``, ``info``, ``evaluate``, ``serve``, ``recommend`` and
``retrain``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

import recsys.datasets as datasets
import recsys.split as split
from recsys._progress import progress
from recsys._version import __version__
from recsys.data.dataset import Dataset
from recsys.data.interactions import Interactions
from recsys.data.summary import describe, item_counts
from recsys.errors import DataError, RecsysError
from recsys.evaluation import evaluate
from recsys.models import (
    ALS,
    EASE,
    AssociationRules,
    ContentBased,
    ItemKNN,
    LightFM,
    Popularity,
    Recommender,
    RP3beta,
)
from recsys.models.lightfm import lightfm_available
from recsys.serving.options import add_serve_arguments, model_dirs, serve_settings

# Every family with its defaults; each is fitted on the training Dataset (features included).
DEMO_MODELS: dict[str, Callable[[], Recommender]] = {
    "Popularity": Popularity,
    "ItemKNN": ItemKNN,
    "ALS": ALS,
    "EASE": EASE,
    "RP3beta": RP3beta,
    "LightFM": LightFM,
    "ContentBased": ContentBased,
    "AssociationRules": AssociationRules,
}
DEMO_COLUMNS = ["ndcg@10", "recall@10", "precision@10", "map@10", "coverage@10"]


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 66 - len(title)))


def run_demo(output: Path, seed: int = 42, k: int = 10) -> pd.DataFrame:
    """Load the demo data, split, fit every model, print and plot the comparison."""
    dataset = datasets.demo()
    inter = dataset.interactions
    _section("Demo data")
    print(describe(inter).to_string())
    train, test = split.random(inter, test_size=0.2, seed=seed)
    print(f"\nsplit: per-user random 80/20 (seed {seed}): train {train.nnz:,} / test {test.nnz:,}")
    train_data = Dataset(train, item_features=dataset.item_features,
                         user_features=dataset.user_features, items=dataset.items)
    available = {name: factory for name, factory in DEMO_MODELS.items()
                 if name != "LightFM" or lightfm_available()}

    _section(f"Models (full ranking, train items excluded, k={k})")
    rows, fitted, results = {}, {}, {}
    for name, factory in progress(available.items(), desc="models", unit="model"):
        started = time.perf_counter()
        model = factory().fit(train_data)
        fit_seconds = time.perf_counter() - started
        results[name] = evaluate(model, test, k=k)
        rows[name] = {**results[name].summary.to_dict(), "fit_s": fit_seconds}
        fitted[name] = model
    table = pd.DataFrame(rows).T[[c.replace("10", str(k)) for c in DEMO_COLUMNS] + ["fit_s"]]
    table = table.sort_values(f"ndcg@{k}", ascending=False)
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    fig = demo_chart({name: results[name] for name in table.index},
                     [c for c in table.columns if c != "fit_s"], k)
    output.mkdir(parents=True, exist_ok=True)
    chart = output / "metrics.png"
    fig.savefig(chart, dpi=110)
    print(f"\nchart: {chart}")

    best = table.index[0]
    _section(f"Example recommendations ({best})")
    _show_examples(dataset, train, test, fitted[best], n_users=2)
    _section("Cart complements (AssociationRules on the orders)")
    _show_complements(dataset, categories=("Smartphones", "Cameras", "Game consoles"))
    return table


def demo_chart(results: dict, columns: list[str], k: int):
    """The demo's chart: one panel per metric, models as dots with 95% bootstrap CIs over
    test users; coverage (a catalogue share, not a mean over users) without one."""
    return _plots().metrics(results, metrics=columns,
                            title=f"demo data, per-user random 80/20 split, k={k}: mean over "
                                  "test users with 95% bootstrap CI; coverage: share of the "
                                  "catalog in any list")


def _show_complements(dataset: Dataset, categories: Sequence[str]) -> None:
    """For the best-selling item of each category: what the order baskets say goes with it."""
    catalog = dataset.items
    if catalog is None:
        raise DataError("the data set has no item table: cannot find the items of a category")
    # fit returns the model itself, typed as the base class: keep the AssociationRules name.
    rules = AssociationRules(min_support=0.0005, min_confidence=0.1)
    rules.fit(dataset)
    print(f"{len(rules.rules_)} rules from the order baskets (lift ranks the complements)")
    sold = item_counts(dataset.interactions)
    for category in categories:
        members = dataset.interactions.items.to_index(
            catalog.index[catalog["category"] == category], missing="ignore")
        members = members[members >= 0]
        if not len(members):
            continue
        anchor = dataset.interactions.items.ids[members[sold[members].argmax()]]
        recs = rules.recommend_for_basket([anchor], k=3).to_pandas().query("score > 0")
        print(f"\nbasket: {dataset.title_of([anchor])[0]}")
        for row in recs.itertuples():
            print(f"  + {dataset.title_of([row.item])[0]}  (lift {row.score:.1f})")


def _show_examples(dataset: Dataset, train: Interactions, test: Interactions,
                   model: Recommender, n_users: int) -> None:
    test_users = test.users.ids[test.matrix.getnnz(axis=1) > 0][:n_users]
    recs = model.recommend(test_users, k=5)
    history = train.to_pandas()
    held_out = test.to_pandas()
    for user in test_users:
        seen = history.loc[history["user"] == user, "item"].tolist()
        hits = set(held_out.loc[held_out["user"] == user, "item"])
        print(f"\nuser {user} interacted with, among {len(seen)} items:")
        for title in dataset.title_of(seen[:4]):
            print(f"    - {title}")
        print("  recommended (* = in the user's held-out test items):")
        for item, title in zip(recs[user], dataset.title_of(recs[user]), strict=True):
            print(f"  {'*' if item in hits else ' '} {title}")


# Names `recsys info` (and `load_named`) accept, with an optional ":PATH" (a local copy).
NAMED = {
    "demo": lambda path: datasets.demo(path),
    "ml-100k": lambda path: datasets.movielens_100k(path),
    "ml-1m": lambda path: datasets.movielens_1m(path),
    "ml-20m": lambda path: datasets.movielens_20m(path),
    "groceries": lambda path: datasets.baskets(_needs_path("groceries", path)),
    "baskets": lambda path: datasets.baskets(_needs_path("baskets", path)),
    "lastfm": lambda path: datasets.lastfm_hetrec(_needs_path("lastfm", path)),
}
ALIASES = {"movielens-100k": "ml-100k", "movielens-1m": "ml-1m", "movielens-20m": "ml-20m"}


def _needs_path(name: str, path: str | None) -> str:
    if path is None:
        raise RecsysError(f"{name} needs the file: {name}:PATH")
    return path


def load_named(name_or_path: str) -> Dataset:
    """A data set by name or by path.

    Names: ``demo``, ``ml-100k`` (also ``movielens-100k``), ``ml-1m``, ``ml-20m`` (downloaded
    and verified when no path is given), each optionally with ``:PATH`` to a local copy;
    ``groceries:PATH`` and ``baskets:PATH`` (a basket file), ``lastfm:PATH``. Paths: a
    MovieLens 100K directory, a ``.parquet`` file, a ``.csv`` with ``user_id,item_id``
    columns, or any other text file read as baskets (one per line, or a basket_id,item table).
    """
    name, sep, rest = name_or_path.partition(":")
    key = ALIASES.get(name.lower(), name.lower())
    if key in NAMED and (sep or not Path(name_or_path).exists()):
        return NAMED[key](rest if sep else None)
    path = Path(name_or_path)
    if not path.exists():
        raise RecsysError(f"{name_or_path!r} is neither a file nor a known name; names: "
                          f"{', '.join(sorted(NAMED))} (with :PATH for a local copy)")
    if (path / "u.data").exists():
        return datasets.movielens_100k(path)
    if path.is_dir():
        raise RecsysError(f"{path} is a directory but not MovieLens 100K (no u.data in it)")
    if path.suffix in (".parquet", ".pq"):
        return Dataset(Interactions.read_parquet(path))
    # Only the header is sniffed: a basket file has rows of any length.
    with path.open(encoding="utf-8", errors="replace") as handle:
        header = handle.readline().strip().split(",")
    if {"user_id", "item_id"} <= set(header):
        return Dataset(Interactions.read_csv(path))
    return datasets.baskets(path)


def run_info(name_or_path: str, plot: Path | None) -> pd.Series:
    try:
        dataset = load_named(name_or_path)
    except RecsysError:
        raise
    except (OSError, ValueError, UnicodeError) as exc:  # unreadable file: say so, no traceback
        raise RecsysError(f"cannot read {name_or_path}: {type(exc).__name__}: {exc}") from None
    stats = describe(dataset.interactions)
    print(stats.to_string())
    if plot is not None:
        fig = _plots().long_tail(dataset.interactions, title=name_or_path)
        fig.savefig(plot, dpi=110)
        print(f"plot: {plot}")
    return stats


def read_users(path: Path) -> list:
    """User ids from a CSV: its ``user`` column, else its first column (numbers stay
    numbers, as in the model's ids)."""
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, UnicodeError) as exc:
        raise RecsysError(f"cannot read {path}: {type(exc).__name__}: {exc}") from None
    if frame.columns.empty:
        raise DataError(f"{path} has no column of user ids")
    column = "user" if "user" in frame.columns else frame.columns[0]
    return frame[column].dropna().tolist()


def run_export(args: argparse.Namespace) -> int:
    """``recsys recommend``: load the model, rank the users in chunks, write the file."""
    import json

    from recsys.serving.export import export_recommendations
    from recsys.serving.persistence import load

    where = None
    if args.where is not None:
        try:
            where = json.loads(args.where)
        except ValueError as exc:
            raise RecsysError(f"--where is not JSON: {exc}") from None
    model = load(args.model_dir)
    users = None if args.all else read_users(args.users)
    rows = export_recommendations(model, args.output, users, k=args.k, where=where,
                                  exclude_seen=not args.include_seen,
                                  chunk_users=args.chunk_users,
                                  show_progress=sys.stderr.isatty())
    print(f"{rows:,} rows written to {args.output}")
    return rows


def _plots():
    """The plotting module; matplotlib is the optional "report" extra."""
    try:
        from recsys.evaluation import plots
    except ModuleNotFoundError as exc:
        raise RecsysError(f"plots need matplotlib ({exc}): pip install \"recsys-lab[report]\""
                          ) from None
    return plots


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recsys", description=__doc__)
    parser.add_argument("--version", action="version",
                        version=f"recsys {__version__} (distribution recsys-lab)")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="fit and compare every model on the demo data")
    demo.add_argument("--output", type=Path, default=Path("out/demo"),
                      help="directory for the chart (default: out/demo)")
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--k", type=int, default=10)
    info = commands.add_parser("info", help="describe a data set")
    info.add_argument("data", help="a name (demo, ml-100k[:PATH], movielens-100k:PATH, "
                                   "groceries:PATH, ...) or a path (MovieLens 100K directory, "
                                   "CSV, Parquet, basket file)")
    info.add_argument("--plot", type=Path, default=None, help="write the long-tail plot here")
    server = commands.add_parser("serve", help="serve a saved model over HTTP (extra: serve)")
    add_serve_arguments(server)
    retrain = commands.add_parser(
        "retrain", help="fit a saved model again on its training data plus a service's "
                        "event log",
        description="Writes a new model directory that records how much of the log it holds; "
                    "a service reloading it (POST /reload) replays only later events.")
    retrain.add_argument("model_dir", help="the served model directory")
    retrain.add_argument("--events", required=True, type=Path, metavar="LOG",
                         help="the service's event log (recsys serve --events-log)")
    retrain.add_argument("--output", required=True, type=Path, metavar="NEW_DIR",
                         help="the new model directory")
    batch = commands.add_parser(
        "recommend", help="write recommendations for many users to a Parquet or CSV file")
    batch.add_argument("model_dir", help="a directory written by recsys.save")
    who = batch.add_mutually_exclusive_group(required=True)
    who.add_argument("--users", type=Path, help="a CSV of user ids (a 'user' column, or the "
                                                "first column)")
    who.add_argument("--all", action="store_true", help="every user the model knows")
    batch.add_argument("--k", type=int, default=10)
    batch.add_argument("--where", default=None, metavar="JSON",
                       help='a filter over item attributes, e.g. \'{"in_stock": true}\'')
    batch.add_argument("--output", type=Path, required=True,
                       help="recs.parquet or recs.csv (columns user, rank, item, score)")
    batch.add_argument("--chunk-users", type=int, default=10_000,
                       help="users ranked and written per step (bounds memory)")
    batch.add_argument("--include-seen", action="store_true",
                       help="also recommend items the user already interacted with")
    experiment = commands.add_parser(
        "evaluate", help="run an experiment file: fit, evaluate, compare, write a report",
        description="Exit status: 0 every model ran; 1 a model failed (the ones after it are "
                    "skipped unless --keep-going); 2 a bad file, option or data set.")
    experiment.add_argument("config", type=Path, help="experiment TOML (see examples/demo.toml)")
    experiment.add_argument("--output", type=Path, default=None,
                            help="result directory (overrides the file's output)")
    experiment.add_argument("--set", dest="overrides", action="append", default=[],
                            metavar="KEY=VALUE",
                            help="override a value of the file, e.g. "
                                 "models[1].params.factors=64 (repeatable)")
    experiment.add_argument("--keep-going", action="store_true",
                            help="after a model fails, run the others (exit status still 1)")
    experiment.add_argument("--quiet", action="store_true",
                            help="no progress bars or summary; failures only, on stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (0 ok, 1 a model failed, 2 an error)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            run_demo(args.output, seed=args.seed, k=args.k)
        elif args.command == "serve":
            from recsys.serving.server import serve  # needs the "serve" extra: imported on use

            serve(model_dirs(args), **serve_settings(args))
        elif args.command == "recommend":
            run_export(args)
        elif args.command == "retrain":
            from recsys.serving.retrain import retrain as run_retrain

            path, seq = run_retrain(args.model_dir, args.events, args.output)
            print(f"retrained on the training data and the event log through record {seq}: "
                  f"{path}")
        elif args.command == "evaluate":
            from recsys.evaluation.experiment import main as run_experiment_file

            return run_experiment_file(args.config, args.output, keep_going=args.keep_going,
                                       quiet=args.quiet, overrides=args.overrides)
        else:
            run_info(args.data, args.plot)
    except RecsysError as exc:
        print(f"recsys: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
