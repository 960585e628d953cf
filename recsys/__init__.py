"""recsys: recommendation engines behind one ranking interface.

>>> import recsys as rs
>>> ds = rs.datasets.demo()
>>> train, test = rs.split.random(ds.interactions, test_size=0.2, seed=42)
>>> model = rs.ItemKNN().fit(train)
>>> recs = model.recommend(test.users.ids[:2], k=5)
>>> len(recs)
2
"""

from recsys import datasets, split
from recsys._version import __version__
from recsys.data import Dataset, Features, IdIndex, Interactions
from recsys.evaluation import (
    AutoResult,
    EvaluationResult,
    auto,
    compare,
    compare_online,
    cross_validate,
    evaluate,
    evaluate_stream,
    fit_weights,
    tune,
)
from recsys.models import (
    ALS,
    BPR,
    EASE,
    LMF,
    AssociationRules,
    ContentBased,
    Diversify,
    Hybrid,
    ItemKNN,
    LightFM,
    Popularity,
    Recommendations,
    Recommender,
    RP3beta,
    SessionKNN,
)
from recsys.serving import load, save


def __getattr__(name: str):
    # rs.plot imports matplotlib on first use: a service never pays for it (and may not
    # have it: plotting is the "report" extra).
    if name == "plot":
        try:
            from recsys.evaluation import plots
        except ModuleNotFoundError as exc:
            raise ImportError(f"rs.plot needs matplotlib ({exc}): "
                              'pip install "recsys-lab[report]"') from None
        return plots
    raise AttributeError(f"module 'recsys' has no attribute {name!r}")


__all__ = [
    "ALS", "AssociationRules", "AutoResult", "BPR", "ContentBased", "Diversify", "Hybrid", "LMF",
    "EASE", "Dataset", "EvaluationResult", "Features", "IdIndex", "Interactions", "ItemKNN",
    "LightFM", "Popularity", "RP3beta", "Recommendations", "Recommender", "SessionKNN",
    "__version__", "auto", "compare", "compare_online", "cross_validate", "datasets", "evaluate",
    "evaluate_stream", "fit_weights", "load", "save", "split", "tune",
]
