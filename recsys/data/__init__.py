"""Ingestion: interactions, id maps, side features, weighting."""

from recsys.data.dataset import Dataset
from recsys.data.features import Features
from recsys.data.ids import IdIndex
from recsys.data.interactions import Interactions
from recsys.data.weighting import bm25, log_confidence, tfidf

__all__ = ["Dataset", "Features", "IdIndex", "Interactions", "bm25", "log_confidence", "tfidf"]
