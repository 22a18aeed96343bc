#!/usr/bin/env bash
# A NOTSOFAR-style simulated training set from your corpus, transfer functions and noise.
#
#   bash recipes/simulate_train/run.sh --speech /data/LibriSpeech/train-clean-100 \
#       --rirs /data/my_atfs --noise /data/noise --hours 1000 --workers 16 --out /data/sim
#   bash recipes/simulate_train/run.sh --hours 0.05 --out /tmp/sim     # embedded defaults
#
# Stages: 0 plan (dry run: shards, disk, core-hours), 1 simulate (resumable), 2 verify.
set -euo pipefail

stage=0
stop_stage=2
speech=embedded
rirs=simulated
noise=diffuse
hours=0.05
workers=1
out=exp/sim
mode=css
seed=0
extra=()

while [ $# -gt 0 ]; do
  case "$1" in
    --stage) stage=$2; shift 2 ;;
    --stop-stage) stop_stage=$2; shift 2 ;;
    --speech) speech=$2; shift 2 ;;
    --rirs) rirs=$2; shift 2 ;;
    --noise) noise=$2; shift 2 ;;
    --hours) hours=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --mode) mode=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --set) extra+=(--set "$2"); shift 2 ;;
    --executor|--scheduler|--config) extra+=("$1" "$2"); shift 2 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

args=(--speech "$speech" --rirs "$rirs" --noise "$noise" --hours "$hours" --mode "$mode"
  --seed "$seed" --workers "$workers" -o "$out" "${extra[@]}")

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  notsofar simulate "${args[@]}" --dry-run
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  # seeded and resumable: after an interruption the same command completes the missing shards
  notsofar simulate "${args[@]}"
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  notsofar simulate --verify "$out"
fi
