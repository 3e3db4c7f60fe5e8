"""Errors raised for bad data: one type, so callers can catch every data problem at once."""


class DatasetError(ValueError):
    """A dataset file or TensorDict does not have the layout rlkit expects.

    The message names the file (when there is one), the key, and what was expected.
    """


class DatasetNotFoundError(FileNotFoundError):
    """A dataset name resolved to no local file; the message says how to build it or where to put it."""
