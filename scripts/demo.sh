#!/usr/bin/env bash
# The main job: transcribe the shipped example meeting, then score it against its reference.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
notsofar transcribe examples/meeting/meeting.wav -o out/example "$@"
notsofar score -r examples/meeting/meeting.ref.seglst.json -h out/example/meeting.seglst.json \
  --metric tcpwer,cpwer,der
