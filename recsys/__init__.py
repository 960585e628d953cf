"""recsys: recommendation engines behind one ranking interface."""

from recsys.data import Dataset, Features, IdIndex, Interactions

__version__ = "0.1.0"

__all__ = ["Dataset", "Features", "IdIndex", "Interactions", "__version__"]
