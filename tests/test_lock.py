"""The committed lock file matches pyproject.toml, and the staleness check can tell when not."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("lockcheck", ROOT / "scripts" / "lockcheck.py")
lockcheck = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lockcheck)


def test_committed_lock_is_current():
    assert lockcheck.check(ROOT / "requirements.lock") == []


def test_every_pin_has_a_hash_and_torch_is_the_cpu_build():
    text = (ROOT / "requirements.lock").read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", text.split("\n", 1)[1])
    assert len(blocks) > 50
    for block in blocks:
        assert "--hash=sha256:" in block, block.splitlines()[0]
    assert re.search(r"^torch==2\.13\.0\+cpu ", text, re.M)


def test_stale_lock_is_reported(tmp_path):
    pyproject = (ROOT / "pyproject.toml").read_text()
    lock = (ROOT / "requirements.lock").read_text()
    # a new dependency: the stamp no longer matches and the package is not pinned
    added = tmp_path / "added.toml"
    added.write_text(
        pyproject.replace('"psutil>=5.9",', '"psutil>=5.9",\n    "tqdm-nonexistent>=1",')
    )
    problems = lockcheck.check(ROOT / "requirements.lock", added)
    assert any("dependencies changed" in p for p in problems)
    assert any("tqdm-nonexistent" in p and "not pinned" in p for p in problems)
    # a pin that no longer satisfies its range
    bumped = tmp_path / "requirements.lock"
    bumped.write_text(re.sub(r"^numpy==\S+", "numpy==1.20.0", lock, flags=re.M))
    assert any("numpy==1.20.0" in p for p in lockcheck.check(bumped))


def test_satisfies():
    assert lockcheck._satisfies("2.13.0+cpu", "==2.13.0")
    assert lockcheck._satisfies("80.10.2", "<81")
    assert not lockcheck._satisfies("81.0", "<81")
    assert lockcheck._satisfies("1.26.4", ">=1.26")
    assert not lockcheck._satisfies("1.25.0", ">=1.26")
