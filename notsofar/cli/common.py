"""What every command shares: error handling, config loading, the stderr console."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from notsofar.errors import EXIT_USAGE, NotsofarError

F = TypeVar("F", bound=Callable[..., Any])

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML config file (see configs/).")
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="KEY=VALUE",
        help="Override a config value: --set a.b=value (repeatable).",
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]


def console(quiet: bool = False) -> Any:
    """A rich console on stderr (stdout stays clean for data)."""
    from rich.console import Console

    return Console(stderr=True, quiet=quiet, highlight=False)


def fail(message: str, code: int = EXIT_USAGE) -> None:
    """Print ``error: message`` on stderr as one line and exit with ``code``."""
    print(f"notsofar: error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def handle_errors(fn: F) -> F:
    """Turn user errors into one line on stderr and the right exit code: never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NotsofarError as e:
            fail(str(e), e.exit_code)
        except KeyboardInterrupt:
            print("notsofar: interrupted", file=sys.stderr)
            raise typer.Exit(130) from None
        except MemoryError:
            fail("out of memory", 1)

    return wrapper  # type: ignore[return-value]


def load_stage_config(
    cls: type, config: Path | None, sets: list[str] | None, base: Any = None
) -> Any:
    from notsofar.config import load_config

    return load_config(cls, config, sets or [], base=base)


def write_resolved_config(cfg: Any, out_dir: Path, name: str) -> Path:
    """Write ``<out_dir>/<name>.config.yaml`` (the resolved config) atomically."""
    from notsofar.config import write_resolved_config as write

    return write(cfg, out_dir, name)


class Executor(StrEnum):
    local = "local"
    dask = "dask"


WorkersOption = Annotated[
    int,
    typer.Option(
        "--workers",
        "-j",
        min=1,
        help="Worker processes, one session each at a time; each loads its models once.",
    ),
]
ThreadsPerWorkerOption = Annotated[
    int | None,
    typer.Option(
        "--threads-per-worker",
        min=1,
        help="Threads of each worker (torch, BLAS, CTranslate2). Default: usable cores / workers.",
    ),
]
ExecutorOption = Annotated[
    Executor,
    typer.Option(
        "--executor", help="local: a process pool here; dask: a Dask cluster (see --scheduler)."
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Dask scheduler address (tcp://host:8786); outputs must be on shared storage. "
        "Default with --executor dask: a local cluster of --workers processes.",
    ),
]
