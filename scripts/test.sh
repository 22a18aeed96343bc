#!/usr/bin/env bash
# The test command: set up (if needed), lint, then the test suite. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The report tests drive a real headless Chromium (Debian's package) and run the Nu HTML
# checker with Java: install them once where they are missing (as root, quietly).
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium chromium-driver)
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test: installing ${need[*]} for the browser and HTML tests" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"; } \
    >/dev/null 2>&1 || echo "test: could not install ${need[*]}; those tests will skip" >&2
fi
bash scripts/lock.sh --check
. .venv/bin/activate
ruff check notsofar tests benchmarks scripts
ruff format --check notsofar tests benchmarks scripts
python -m pytest -m "not slow" "$@"
