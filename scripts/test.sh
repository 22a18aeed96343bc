#!/usr/bin/env bash
# The test command: set up (if needed), lint, then the test suite. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/lock.sh --check
. .venv/bin/activate
ruff check notsofar tests benchmarks scripts
ruff format --check notsofar tests benchmarks scripts
python -m pytest -m "not slow" "$@"
