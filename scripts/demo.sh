#!/usr/bin/env bash
# The main job: transcribe the shipped real-voice example meeting, then score it against its
# reference (tcpWER, cpWER, DER).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
notsofar transcribe examples/real_meeting/meeting.flac -o out/example "$@"
notsofar score -r examples/real_meeting/meeting.ref.seglst.json -h out/example/meeting.seglst.json \
  --metric tcpwer,cpwer,der
