#!/usr/bin/env bash
# Create .venv and install notsofar (+ dev tools) into it. Idempotent: re-runs only when
# pyproject.toml changed. Needs Python 3.11 and the package registries, nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
VENV=${NOTSOFAR_VENV:-.venv}
stamp="$VENV/.notsofar-installed"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# torch first, pinned: the CPU build (no CUDA download); everything else then sees it satisfied.
"$VENV/bin/python" -m pip install -q "torch==2.13.0"
"$VENV/bin/python" -m pip install -q -e ".[dev]"
echo "$want" > "$stamp"
