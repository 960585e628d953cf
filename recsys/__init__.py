"""recsys: recommendation engines behind one ranking interface.

>>> import recsys as rs
>>> ds = rs.datasets.demo()
>>> train, test = rs.split.random(ds.interactions, test_size=0.2, seed=42)
>>> model = rs.ItemKNN().fit(train)
>>> recs = model.recommend(test.users.ids[:2], k=5)
"""

# from recsys import datasets, split  (added when those land)
from recsys.data import Dataset, Features, IdIndex, Interactions
from recsys.models import ItemKNN, Popularity, Recommendations, Recommender

__version__ = "0.1.0"

__all__ = [
    "Dataset", "Features", "IdIndex", "Interactions", "ItemKNN", "Popularity",
    "Recommendations", "Recommender", "__version__", "datasets", "split",
]
