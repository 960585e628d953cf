"""Loaders for public data sets and the embedded demo data set.

Every loader returns a :class:`~recsys.data.Dataset` whose interactions, features and
metadata use the external ids of the source files. Downloads go to a cache (``$RECSYS_DATA``
or ``~/.cache/recsys``) and are verified by SHA-256; see :mod:`recsys.datasets.download`.

Examples
--------
>>> from recsys import datasets
>>> ds = datasets.demo()
>>> ds.items.loc[ds.interactions.items.ids[:1], "category"].size
1
"""

from recsys.datasets.baskets import baskets
from recsys.datasets.demo import demo
from recsys.datasets.lastfm import lastfm_hetrec
from recsys.datasets.movielens import movielens_1m, movielens_20m, movielens_100k
from recsys.datasets.steam import steam_play

__all__ = ["baskets", "demo", "lastfm_hetrec", "movielens_100k", "movielens_1m", "movielens_20m",
           "steam_play"]
