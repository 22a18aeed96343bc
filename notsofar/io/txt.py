"""The ``.txt`` format for :mod:`notsofar.io` (implemented in :mod:`notsofar.io.text`)."""

from notsofar.io.text import dump, dumps, load, loads

__all__ = ["dump", "dumps", "load", "loads"]
