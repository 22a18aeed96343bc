"""Errors a user can cause. The CLI prints them as one line and exits with their code."""

from __future__ import annotations

from pathlib import Path

#: Exit codes (STYLE.md): 0 ok, 1 some inputs failed (batch continued), 2 usage or config error.
EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2


class NotsofarError(Exception):
    """A problem with the user's input, config or environment (not a bug in notsofar).

    Args:
        message: what is wrong, in one line.
        path: the file the problem is in, if any; it is prefixed to the message.
        line: 1-based line number in ``path``, if known.
        exit_code: process exit code the CLI uses for this error.

    >>> str(NotsofarError("end_time < start_time", path="a.stm", line=3))
    'a.stm:3: end_time < start_time'
    """

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        line: int | None = None,
        exit_code: int = EXIT_USAGE,
    ) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        self.exit_code = exit_code
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path + (f":{self.line}" if self.line is not None else "") + ": "
        return where + self.message
