"""Offline evaluation: metric kernels, full-ranking evaluation, plots."""

from recsys.evaluation import metrics
from recsys.evaluation.auto import AutoResult, auto
from recsys.evaluation.compare import compare, format_comparison
from recsys.evaluation.cross_validate import CrossValidationResult, cross_validate
from recsys.evaluation.evaluate import EvaluationResult, evaluate
from recsys.evaluation.hybrid_weights import fit_weights
from recsys.evaluation.online import compare_online, read_impressions
from recsys.evaluation.stream import StreamResult, evaluate_stream
from recsys.evaluation.tune import TuneResult, tune

__all__ = ["AutoResult", "CrossValidationResult", "EvaluationResult", "StreamResult",
           "TuneResult", "auto", "compare", "compare_online", "cross_validate", "evaluate",
           "evaluate_stream", "fit_weights", "format_comparison", "metrics", "read_impressions",
           "tune"]
