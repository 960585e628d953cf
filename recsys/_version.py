"""The version of recsys, in a module of its own so that the package's modules can read it
without importing the top-level package."""

__version__ = "0.1.0"
