"""Offline evaluation: metric kernels, full-ranking evaluation, plots."""

from recsys.evaluation import metrics
from recsys.evaluation.compare import compare, format_comparison
from recsys.evaluation.evaluate import EvaluationResult, evaluate
from recsys.evaluation.tune import TuneResult, tune

__all__ = ["EvaluationResult", "TuneResult", "compare", "evaluate", "format_comparison",
           "metrics", "tune"]
