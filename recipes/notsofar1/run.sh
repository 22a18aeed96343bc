#!/usr/bin/env bash
# NOTSOFAR-1 dev/eval set: transcribe both tracks (single- and multi-channel), score each track.
#
#   bash recipes/notsofar1/run.sh --data /data/notsofar/dev_set --exp exp/notsofar1
#   bash recipes/notsofar1/run.sh --stage 2 --stop-stage 2      # score only
#   bash recipes/notsofar1/run.sh --set asr.model=/models/faster-whisper-large-v3 --set device=cuda
#   bash recipes/notsofar1/run.sh --workers 4                    # 4 sessions at a time here
#   bash recipes/notsofar1/run.sh --scheduler tcp://head:8786    # on a Dask cluster (shared disk)
#
# Stages: 0 check the data, 1 transcribe, 2 score. Calls `notsofar` only (icefall-style stages).
set -euo pipefail

stage=0
stop_stage=2
data=data/notsofar/dev_set
exp=exp/notsofar1
config=configs/transcribe/default.yaml
sets=()
parallel=()

while [ $# -gt 0 ]; do
  case "$1" in
    --stage) stage=$2; shift 2 ;;
    --stop-stage) stop_stage=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --exp) exp=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --set) sets+=(--set "$2"); shift 2 ;;
    --workers) parallel+=(--workers "$2"); shift 2 ;;
    --threads-per-worker) parallel+=(--threads-per-worker "$2"); shift 2 ;;
    --scheduler) parallel+=(--executor dask --scheduler "$2"); shift 2 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  if ! find "$data" -name devices.json -print -quit 2>/dev/null | grep -q .; then
    cat >&2 <<MSG
run.sh: no NOTSOFAR meetings (MTG_*/devices.json) under $data.
notsofar never downloads data. Fetch the set once with the official baseline's helper, e.g.
  python -c "from utils.azure_storage import download_meeting_subset as d; d(subset_name='dev_set', version='240415.2_dev', destination_dir='$data')"
(https://github.com/microsoft/NOTSOFAR1-Challenge), then rerun with --data pointing at it.
MSG
    exit 2
  fi
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  # multichannel/* sessions take the multi-channel path (7-mic geometry), singlechannel/* the
  # single-channel one; finished sessions are skipped, so a killed run resumes here.
  notsofar transcribe "$data" -o "$exp/hyp" --config "$config" "${sets[@]}" "${parallel[@]}"
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  for track in singlechannel multichannel; do
    if [ -d "$exp/hyp/$track" ]; then
      notsofar score -r "$data" -h "$exp/hyp/$track" -o "$exp/score/$track" \
        --metric tcpwer,cpwer,der
    fi
  done
  echo "scores: $exp/score/<track>/ (per session .csv, summary .json)"
fi
