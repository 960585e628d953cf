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
from recsys.evaluation import EvaluationResult, compare, cross_validate, evaluate, tune
from recsys.models import (
    ALS,
    BPR,
    EASE,
    LMF,
    AssociationRules,
    ContentBased,
    Hybrid,
    ItemKNN,
    LightFM,
    Popularity,
    Recommendations,
    Recommender,
    RP3beta,
)
from recsys.serving import load, save

__all__ = [
    "ALS", "AssociationRules", "BPR", "ContentBased", "Hybrid", "LMF",
    "EASE", "Dataset", "EvaluationResult", "Features", "IdIndex", "Interactions", "ItemKNN",
    "LightFM", "Popularity", "RP3beta", "Recommendations", "Recommender", "__version__",
    "compare", "cross_validate", "datasets", "evaluate", "load", "save", "split", "tune",
]
