"""Model families behind one ranking interface (see :mod:`recsys.models.base`)."""

from recsys.models.als import ALS
from recsys.models.base import Recommendations, Recommender
from recsys.models.bpr import BPR
from recsys.models.content import ContentBased
from recsys.models.diversify import Diversify
from recsys.models.ease import EASE
from recsys.models.hybrid import Hybrid
from recsys.models.knn import ItemKNN
from recsys.models.lightfm import LightFM
from recsys.models.lmf import LMF
from recsys.models.popularity import Popularity
from recsys.models.rp3beta import RP3beta
from recsys.models.rules import AssociationRules

__all__ = ["ALS", "AssociationRules", "BPR", "ContentBased", "Diversify", "EASE", "Hybrid", "LMF",
           "ItemKNN",
           "LightFM", "Popularity", "RP3beta", "Recommendations", "Recommender"]
