"""The options of ``recsys serve`` (kept apart from the app: the CLI reads them without
importing the "serve" extra)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from recsys.errors import ConfigError

# (flag, type, default, help): the service's limits, each passed to create_app by name.
LIMITS = (
    ("--max-results", int, 100_000, "most ranked items one request may ask for, queries x k "
                                     "(default: 100000; 422 above)"),
    ("--max-k", int, 1000, "largest k (default: 1000)"),
    ("--max-list", int, 1000, "longest id list in a request (default: 1000)"),
    ("--max-body-bytes", int, 4 << 20, "largest request body (default: 4 MiB; 413 above)"),
    ("--body-timeout", float, 30.0, "seconds a request body may take to arrive (default: 30)"),
    ("--header-timeout", float, 10.0, "seconds a request head may take (default: 10)"),
    ("--max-events", int, 10_000, "most events or items in one POST /events or /items "
                                  "(default: 10000)"),
)


def event_weights(text: str) -> dict[str, float]:
    """``view=1,cart=3,purchase=5`` as a table of event type weights."""
    table = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            table[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise argparse.ArgumentTypeError(f"{part!r} is not TYPE=WEIGHT")
    return table


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", nargs="?", default=None,
                        help="a directory written by recsys.save (or several --model)")
    parser.add_argument("--model", dest="models", action="append", default=[],
                        metavar="NAME=DIR",
                        help="serve several models (A/B test): repeat per model")
    parser.add_argument("--split", default=None, metavar="NAME:SHARE,...",
                        help="share of users per model, e.g. a:90,b:10 (default: equal)")
    parser.add_argument("--impressions", default=None, metavar="FILE",
                        help="append what /recommend shows to whom (and by which model) to "
                             "this JSON-lines file")
    parser.add_argument("--split-salt", default=None,
                        help="key of the hash assigning users to models (a new salt "
                             "reshuffles them; default: recsys)")
    parser.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1 (this machine)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="processes (default: 1)")
    parser.add_argument("--models-root", default=None,
                        help="POST /reload loads only directories under this one (default: "
                             "the model directory's parent; reload by path is off if that "
                             "is /)")
    parser.add_argument("--events-log", default=None, metavar="FILE",
                        help="event log for POST /events and /items (created if missing; "
                             "replayed on start and after each reload); default: no log, "
                             "those endpoints answer 409")
    parser.add_argument("--event-weights", type=event_weights, default=None,
                        metavar="TYPE=W,...",
                        help="weight of each event type, e.g. view=1,cart=3,purchase=5 "
                             "(other types refused); default: every type weighs 1")
    for flag, kind, default, text in LIMITS:
        parser.add_argument(flag, type=kind, default=default, help=text)


def model_dirs(args: argparse.Namespace) -> str | dict[str, str]:
    """The model directory of ``recsys serve``, or the named directories of several models."""
    if args.models and args.model_dir is not None:
        raise ConfigError("give a model directory or --model NAME=DIR options, not both")
    if not args.models:
        if args.model_dir is None:
            raise ConfigError("give the model directory (or --model NAME=DIR per model)")
        if args.split is not None:
            raise ConfigError("--split needs several --model NAME=DIR")
        return args.model_dir
    named: dict[str, str] = {}
    for given in args.models:
        name, sep, path = given.partition("=")
        if not sep or not name or not path or name in named:
            raise ConfigError(f"--model {given!r}: expected NAME=DIR, each name once")
        named[name] = path
    return named


def serve_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of ``serve`` from parsed ``recsys serve`` arguments."""
    settings: dict[str, Any] = {"host": args.host, "port": args.port, "workers": args.workers}
    if args.split is not None:
        from recsys.serving.arms import parse_split  # needs the "serve" extra

        settings["split"] = parse_split(args.split)
    if args.split_salt is not None:
        settings["split_salt"] = args.split_salt
    if args.impressions is not None:
        settings["impressions"] = str(Path(args.impressions).absolute())
    for name in ("models_root", "events_log", "event_weights"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    for flag, _, default, _ in LIMITS:
        name = flag[2:].replace("-", "_")
        if getattr(args, name) != default:  # only what was changed: defaults live in one place
            settings[name] = getattr(args, name)
    return settings
