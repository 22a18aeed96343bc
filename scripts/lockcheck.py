#!/usr/bin/env python
"""Is requirements.lock up to date with pyproject.toml?  (``scripts/lock.sh --check``)

The lock's first line records a sha256 of pyproject's dependency lists. ``--check`` (default)
fails when that hash differs, or when a direct requirement is not met by the pinned version;
``--stamp`` writes the hash after pip-compile. Standard library only, so it runs before any
install.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAMP = "# pyproject-deps-sha256: "


def _deps(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    return list(project["dependencies"]) + list(project.get("optional-dependencies", {})["dev"])


def deps_hash(pyproject: Path = ROOT / "pyproject.toml") -> str:
    return hashlib.sha256(json.dumps(_deps(pyproject)).encode()).hexdigest()


def _pins(text: str) -> dict[str, str]:
    norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()  # noqa: E731 (PEP 503 name)
    return {norm(m[1]): m[2] for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M)}


def check(lock: Path, pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    if not lock.is_file():
        return [f"{lock}: missing; run bash scripts/lock.sh"]
    text = lock.read_text()
    problems = []
    if not text.startswith(STAMP) or text.splitlines()[0][len(STAMP) :] != deps_hash(pyproject):
        problems.append(f"{lock}: pyproject.toml's dependencies changed since the lock was made")
    pins = _pins(text)
    for req in _deps(pyproject):
        name = re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0]
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key not in pins:
            problems.append(f"{lock}: {name} (from pyproject.toml) is not pinned")
            continue
        spec = req[len(name) :].split(";")[0]
        spec = re.sub(r"^\[[^\]]*\]", "", spec).strip()
        if spec and not _satisfies(pins[key], spec):
            problems.append(f"{lock}: {name}=={pins[key]} does not satisfy '{spec}'")
    return problems


def _satisfies(version: str, spec: str) -> bool:
    """Simple PEP 440 check (==, >=, <=, <, >, !=) on release numbers; local labels ignored."""

    def key(v: str) -> tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", v.split("+")[0].split("rc")[0])[:4])

    ops = {
        "==": lambda a, b: a[: len(b)] == b,
        ">=": lambda a, b: a >= b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        "<": lambda a, b: a < b,
        "!=": lambda a, b: a[: len(b)] != b,
    }
    for part in filter(None, (p.strip() for p in spec.split(","))):
        m = re.match(r"(==|>=|<=|!=|<|>)\s*(\S+)", part)
        if m and not ops[m[1]](key(version), key(m[2])):
            return False
    return True


def main(argv: list[str]) -> int:
    if argv[:1] == ["--stamp"]:
        lock = Path(argv[1])
        body = [ln for ln in lock.read_text().splitlines() if not ln.startswith(STAMP)]
        lock.write_text("\n".join([STAMP + deps_hash(), *body]) + "\n")
        return 0
    lock = Path(argv[0]) if argv else ROOT / "requirements.lock"
    problems = check(lock)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(
            "the lock is stale: run bash scripts/lock.sh and commit requirements.lock",
            file=sys.stderr,
        )
        return 1
    print(f"{lock}: up to date with pyproject.toml")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
