"""Offline evaluation: metric kernels, full-ranking evaluation, plots."""

from recsys.evaluation import metrics
from recsys.evaluation.compare import compare, format_comparison
from recsys.evaluation.evaluate import EvaluationResult, evaluate

__all__ = ["EvaluationResult", "compare", "evaluate", "format_comparison", "metrics"]
