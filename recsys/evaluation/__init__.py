"""Offline evaluation: metric kernels, full-ranking evaluation, plots."""

from recsys.evaluation import metrics
from recsys.evaluation.evaluate import EvaluationResult, evaluate

__all__ = ["EvaluationResult", "evaluate", "metrics"]
