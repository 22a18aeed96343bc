"""Interface conventions shared by every command: help, options, stdout vs stderr.

The CLI runs as a subprocess, as a user runs it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str | Path, cwd: Path = ROOT, env: dict | None = None, timeout: int = 300):
    return subprocess.run(
        [sys.executable, "-m", "notsofar.cli.main", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def commands() -> list[str]:
    from notsofar.cli.main import COMMANDS

    return [name for name, _, _ in COMMANDS]


# ---------------------------------------------------------------------------- help


@pytest.mark.parametrize("command", ["", *commands(), "models"])
def test_help_is_plain_and_h_is_help_except_for_score(command):
    args = [command] if command else []
    long = cli(*args, "--help")
    assert long.returncode == 0, long.stderr
    text = long.stdout
    assert text.startswith("Usage: notsofar")
    # no Python types or Typer's {required} braces in the help
    for python in ("<bool>", "<path>", "<list[", "<int>", "<float>", "<str>", "{", "}"):
        assert python not in text, (command, python)
    assert not re.search(r"\blist\[|\bbool\b|\bNoneType\b", text)
    short = cli(*args, "-h")
    if command == "score":  # -h is the hypothesis, as in meeteval-wer
        assert short.returncode == 2
        assert "requires an argument" in short.stderr
        assert "-h, --hyp PATH" in text
        assert "-h, --help" not in text and "--help " in text
    else:
        assert short.returncode == 0, short.stderr
        assert short.stdout == text
        assert "-h, --help" in text


def test_required_options_are_marked():
    text = cli("transcribe", "--help").stdout
    assert re.search(r"-o, --out PATH\s+Output folder\.\s+\[required\]", text)
    assert "Usage: notsofar transcribe [OPTIONS] INPUTS..." in text
    assert re.search(r"INPUTS\.\.\.\s+Audio file.*\n?.*\[required\]", text)
    score = cli("score", "--help").stdout
    assert re.search(r"-r, --ref PATH[^\[]*\[required\]", score)
    # flags take no value and show none
    assert re.search(r"--force\s+Redo", text)
