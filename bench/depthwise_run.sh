#!/usr/bin/env bash
# Depthwise and grouped convolutions alone, deepc against PyTorch (tuned as
# /work/shared/DATA.md says), the same cases back to back, then again (two
# rounds: on a shared machine one round can be unlucky).
#   bench/depthwise_run.sh              (from anywhere; paths relative to the repo root)
# Environment: BUILD (deepc build folder, default build), THREADS (default 1:
# the rates use the process's CPU clock, meaningful with one thread on a
# shared machine), REPS (default 10), BW (the bandwidth to compare with, GB/s;
# default 36, one thread's triad; ~70 for two), PYTHON (default /usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build} THREADS=${THREADS:-1} REPS=${REPS:-10} BW=${BW:-36} PYTHON=${PYTHON:-/usr/bin/python3}
export OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX OMP_NUM_THREADS=$THREADS
for round in 1 2; do
    echo "== round $round: deepc"
    "$BUILD/depthwise_bench" --threads "$THREADS" --reps "$REPS" --bw "$BW"
    echo "== round $round: PyTorch"
    GLIBC_TUNABLES=glibc.malloc.hugetlb=1 "$PYTHON" bench/depthwise_torch.py --threads "$THREADS" --reps "$REPS" --bw "$BW"
done
