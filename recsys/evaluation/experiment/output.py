"""The written results: ``results.csv``, ``results.json`` and the printed summary."""

from __future__ import annotations

import json
import math
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsys._version import __version__
from recsys.evaluation.experiment.results import ExperimentResult


def _write_csv(result: ExperimentResult, path: Path) -> Path:
    result.table.to_csv(path, index=False)
    return path


def _plain(value: Any) -> Any:
    """JSON-safe: NaN/inf -> null, numpy scalars -> Python, paths -> strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def _write_json(result: ExperimentResult, path: Path) -> Path:
    config = result.config
    models = []
    for run in result.runs:
        entry: dict[str, Any] = {"name": run.name, "class": run.class_name, "params": run.params,
                 "status": run.status, "error": run.error or None,
                 "fit_seconds": run.fit_seconds, "evaluate_seconds": run.evaluate_seconds}
        if run.trials is not None:
            entry["tuned_params"] = run.best_params
            entry["trials"] = run.trials.to_dict(orient="records")
        if run.ok:
            folds = run.scores.folds
            entry["summary"] = folds.mean().to_dict()
            entry["info"] = run.info
            if len(folds) > 1:
                entry["folds"] = folds.reset_index().to_dict(orient="records")
        models.append(entry)
    document = {
        "name": config.name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config_file": config.source,
        "config": config.raw,
        "dataset": result.data,
        "split": result.split,
        "metrics": list(config.metrics), "k": list(config.k), "report_k": config.report_k,
        "n_bootstrap": config.n_bootstrap, "seed": config.seed,
        "baseline": result.baseline,
        "models": models,
        "results": result.table.to_dict(orient="records"),
        "best_vs_others": result.pairwise.to_dict(orient="records"),
        "curves": result.curves.to_dict(orient="records"),
        "files": {role: p.name for role, p in result.files.items()},
        "runtime_seconds": result.seconds,
        "versions": {"recsys": __version__, "python": platform.python_version(),
                     "numpy": np.__version__, "pandas": pd.__version__},
    }
    path.write_text(json.dumps(_plain(document), indent=2, default=str) + "\n",
                    encoding="utf-8")
    return path


def format_summary(result: ExperimentResult) -> str:
    """The report-k table as text, failed models with their error below it."""
    k = result.config.report_k
    wide = result.summary(k)
    lines = [wide.to_string(float_format=lambda v: f"{v:.4f}", na_rep="failed")]
    for run in result.runs:
        if not run.ok:
            lines.append(f"{run.status.upper()} {run.name}: {run.error}")
    return "\n".join(lines)

