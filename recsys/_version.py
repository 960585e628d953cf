"""The version of the package, in a module of its own so that code inside the package can
read it without importing the top-level package."""

__version__ = "0.1.0"
