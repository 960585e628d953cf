"""The header-read timeout the protocol subclass and the server share (see :mod:`._protocol`);
a module of its own so that neither imports the other."""

HEADER_TIMEOUT = 10.0
# Read by each connection: worker processes get it from their environment, set by
# ``recsys serve`` (a protocol class must be importable by name, so it takes no arguments).
HEADER_TIMEOUT_ENV = "RECSYS_HEADER_TIMEOUT"
