#!/usr/bin/env bash
# Regenerate requirements.lock (exact versions with hashes) from pyproject.toml, or check it.
#
#   bash scripts/lock.sh           # re-resolve; keeps existing pins that still fit, prints what changed
#   bash scripts/lock.sh --upgrade # re-resolve everything to the newest allowed versions
#   bash scripts/lock.sh --check   # exit 1 (and say why) when the lock is stale for pyproject.toml
#
# pip-tools runs in its own throwaway venv (.cache/lockenv), never in the project's .venv.
# torch comes from the CPU build that pip finds on this machine's disk (see README, design notes).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
LOCK=requirements.lock

if [ "${1:-}" = "--check" ]; then
  exec "$PY" scripts/lockcheck.py "$LOCK"
fi

ENV=.cache/lockenv
[ -x "$ENV/bin/pip-compile" ] || { "$PY" -m venv "$ENV" && "$ENV/bin/pip" install -q "pip-tools==7.7.0"; }
old=$(mktemp); new=$(mktemp); trap 'rm -f "$old" "$new"' EXIT
[ -f "$LOCK" ] && grep -E '^[A-Za-z0-9_.-]+==' "$LOCK" | sed 's/ .*//' | sort > "$old" || true
extra=()
[ "${1:-}" = "--upgrade" ] && extra+=(--upgrade)
# pip-compile builds some sdists for their metadata, and their setuptools warnings are noise:
# its stderr is shown only when it fails
log=$(mktemp); trap 'rm -f "$old" "$new" "$log"' EXIT
"$ENV/bin/pip-compile" -q --extra dev --generate-hashes --strip-extras --allow-unsafe \
  --no-emit-index-url --no-emit-find-links --no-header "${extra[@]}" -o "$LOCK" pyproject.toml \
  2> "$log" || { grep -v -E 'is ignored: it is neither' "$log" >&2; exit 1; }
"$PY" scripts/lockcheck.py --stamp "$LOCK"
grep -E '^[A-Za-z0-9_.-]+==' "$LOCK" | sed 's/ .*//' | sort > "$new"
if cmp -s "$old" "$new"; then
  echo "requirements.lock: no version changed"
else
  echo "requirements.lock: changes (- old, + new):"
  diff "$old" "$new" | grep -E '^[<>]' | sed 's/^</  -/; s/^>/  +/' || true
fi
