"""``recsys serve``: the app under uvicorn, in one process or several."""

from __future__ import annotations

import inspect
import ipaddress
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recsys.errors import ConfigError, DataError
from recsys.serving._protocol import HEADER_TIMEOUT
from recsys.serving.persistence import MANIFEST

logger = logging.getLogger("recsys")

MODEL_DIR_ENV = "RECSYS_MODEL_DIR"
MODEL_DIRS_ENV = "RECSYS_MODEL_DIRS"  # several models: JSON {name: directory}
WORKERS_ENV = "RECSYS_WORKERS"
SETTINGS_ENV = "RECSYS_SERVE_SETTINGS"
# Set to "public" to run uvicorn's own protocol (what the serving benchmark compares).
PROTOCOL_ENV = "RECSYS_HTTP_PROTOCOL"
WATCH_SECONDS = 2.0  # how soon every worker of a multi-process server sees a new model
# uvicorn's supervisor pings each worker and replaces one that does not answer in time (5 s by
# default); a worker imports recsys and loads and warms up the model first.
WORKER_START_SECONDS = 120
KEEP_ALIVE_SECONDS = 5


def limit_blas_threads() -> None:
    # Requests already run in parallel threads (and processes): a BLAS pool per call on top
    # would oversubscribe the cores. This is the service process, so a global limit is ours
    # to set.
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def log_to_stderr() -> None:
    # uvicorn configures only its own loggers; reloads and errors of ours should show too.
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     recsys: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def uvicorn_options(host: str, port: int, header_timeout: float) -> dict[str, Any]:
    import uvicorn

    from recsys.serving._protocol import HEADER_TIMEOUT_ENV, protocol_class

    os.environ[HEADER_TIMEOUT_ENV] = str(header_timeout)  # read by every worker's protocol

    public = os.environ.get(PROTOCOL_ENV) == "public"
    # Per-request access lines would cost more than a fast ranking; /metrics counts them.
    options: dict[str, Any] = {
        "host": host, "port": port, "access_log": False, "log_level": "info",
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "http": "auto" if public else protocol_class(),
    }
    if "timeout_worker_healthcheck" in inspect.signature(uvicorn.Config).parameters:
        options["timeout_worker_healthcheck"] = WORKER_START_SECONDS
    return options


def warn_if_open(host: str, api_key: str | None) -> None:
    """Say so when the service is reachable from other machines without an API key."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and api_key is None:
        logger.warning("serving on %s without an API key: anyone who can reach this port can "
                       "query the model and reload it; set RECSYS_API_KEY", host)


def serve(model_dir: str | os.PathLike | Mapping[str, str | os.PathLike],
          host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          **settings: Any) -> None:
    """Run the HTTP service for ``model_dir`` with uvicorn until interrupted.

    ``model_dir`` may name several directories (``{"a": DIR, "b": DIR}``): an A/B service,
    split by ``settings["split"]`` (see :mod:`recsys.serving.arms`).

    The API key, if any, comes from the environment variable ``RECSYS_API_KEY``;
    ``settings`` are the limits of :func:`recsys.serving.app.create_app` (``max_results``,
    ``models_root``, ``body_timeout``, ...) and ``header_timeout``: seconds a request head
    may take before the connection is closed.
    """
    import json

    import uvicorn

    from recsys.serving.app import API_KEY_ENV, create_app, read_api_key

    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    api_key = read_api_key(None)  # an empty key is refused here, before anything starts
    # The header timeout belongs to the connection (uvicorn's protocol), the rest to the app.
    options = uvicorn_options(host, port, settings.pop("header_timeout", HEADER_TIMEOUT))
    if workers == 1:
        app = create_app(model_dir, **settings)  # a bad directory fails here, first
        limit_blas_threads()
        log_to_stderr()
        warn_if_open(host, api_key)
        uvicorn.run(app, **options)
        return
    # Several processes: each worker builds its own app through the factory. Fail here, once,
    # with a clear error if the directory holds no model, not in every worker (a cheap check:
    # a full load here would also rebuild an ANN index only to throw it away).
    named = dict(model_dir) if isinstance(model_dir, Mapping) else {"": model_dir}
    for directory in named.values():
        if not (Path(directory) / MANIFEST).is_file():
            raise DataError(f"{directory} is not a saved model: {MANIFEST} is missing")
    log_to_stderr()
    warn_if_open(host, os.environ.get(API_KEY_ENV))
    if isinstance(model_dir, Mapping):
        os.environ[MODEL_DIRS_ENV] = json.dumps({name: str(Path(d).absolute())
                                                 for name, d in named.items()})
    else:
        os.environ[MODEL_DIR_ENV] = str(Path(model_dir).absolute())
    os.environ[WORKERS_ENV] = str(workers)
    os.environ[SETTINGS_ENV] = json.dumps(settings)
    uvicorn.run("recsys.serving.server:app_from_env", factory=True, workers=workers, **options)


def app_from_env() -> Any:
    """App factory for uvicorn worker processes, configured by :func:`serve`."""
    import json

    from recsys.serving.app import create_app

    limit_blas_threads()
    log_to_stderr()
    workers = int(os.environ.get(WORKERS_ENV, "1"))
    settings = json.loads(os.environ.get(SETTINGS_ENV) or "{}")
    several = os.environ.get(MODEL_DIRS_ENV)
    return create_app(json.loads(several) if several else os.environ[MODEL_DIR_ENV],
                      workers=workers,
                      watch_seconds=WATCH_SECONDS if workers > 1 else None, **settings)
