"""Helpers shared by the test files: the CLI as a user runs it, and benchmark scripts as modules.

Imported as ``from helpers import ...`` (each test file puts ``tests/`` on ``sys.path``)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def cli(
    *args: str | Path, cwd: Path = ROOT, env: dict | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    """``notsofar ARGS...`` in a fresh interpreter (text output captured, never raises on a
    non-zero exit: the tests look at ``returncode`` and ``stderr``)."""
    return subprocess.run(
        [sys.executable, "-m", "notsofar.cli.main", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def load_benchmark(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` as a module (benchmarks are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module
