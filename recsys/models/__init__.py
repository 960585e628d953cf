"""Model families behind one ranking interface (see :mod:`recsys.models.base`)."""

from recsys.models.base import Recommendations, Recommender
from recsys.models.knn import ItemKNN
from recsys.models.popularity import Popularity

__all__ = ["ItemKNN", "Popularity", "Recommendations", "Recommender"]
