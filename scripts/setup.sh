#!/usr/bin/env bash
# Create .venv and install notsofar with exactly the versions in requirements.lock (hashes
# checked), then notsofar itself (editable, no dependency resolution). Idempotent: re-installs
# only when requirements.lock or pyproject.toml changed. Needs Python 3.11 and the package
# registries, nothing else. Refresh the lock with scripts/lock.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
VENV=${NOTSOFAR_VENV:-.venv}
stamp="$VENV/.notsofar-installed"
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
"$PY" scripts/lockcheck.py requirements.lock >/dev/null || {
  echo "setup: requirements.lock is stale for pyproject.toml; run bash scripts/lock.sh" >&2
  exit 2
}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
echo "setup: installing the locked dependencies into $VENV (first run: a few minutes)" >&2
# --no-deps: the lock is complete, so pip resolves nothing and installs exactly what it lists.
# torch==2.13.0+cpu is the CPU build; pip takes it from the machine's wheel folder.
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --require-hashes --no-deps \
  -r requirements.lock 2> >(grep -v -E 'is ignored: it is neither' >&2)
# the project itself, editable, built with the locked setuptools (no isolated build env)
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation \
  -e . 2> >(grep -v -E 'is ignored: it is neither' >&2)
echo "$want" > "$stamp"
