"""One run of examples/demo.toml shared by the experiment and report tests (it fits six
models; running it once keeps the suite lean on a small machine)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / "examples" / "demo.toml"


@pytest.fixture(scope="session")
def demo_experiment(tmp_path_factory):
    from recsys.evaluation.experiment import run_experiment

    output = tmp_path_factory.mktemp("demo-experiment")
    return run_experiment(DEMO_CONFIG, output=output, show_progress=False)
