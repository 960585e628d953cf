"""Serving: model persistence (``save`` / ``load``) and the HTTP app (extra ``serve``)."""

from recsys.serving.persistence import load, save

__all__ = ["load", "save"]
