#!/usr/bin/env bash
# Side by side: integrated gradients (50 steps) on the first 100 MNIST test
# digits with seed 003's CNN, deepc (bench/explain_ig.c) against the same
# loop in PyTorch autograd (bench/explain_ig.py) on the same weights, which
# also checks that both give the same attributions.  Median of ROUNDS each.
#
# Usage: bench/explain_ig.sh      (from anywhere)
# Environment: BUILD (build), THREADS (2), ROUNDS (3), DIGITS (100), STEPS (50),
#              PYTHON (/usr/bin/python3), DEEPC_CACHE (~/.cache/deepc)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build} THREADS=${THREADS:-2} ROUNDS=${ROUNDS:-3} DIGITS=${DIGITS:-100} STEPS=${STEPS:-50}
PYTHON=${PYTHON:-/usr/bin/python3}
CACHE=${DEEPC_CACHE:-$HOME/.cache/deepc}
OUT=bench/results
mkdir -p "$OUT"
args=(--threads "$THREADS" --rounds "$ROUNDS" --digits "$DIGITS" --steps "$STEPS")
d=$(OPENBLAS_CORETYPE=SkylakeX "$BUILD/explain_ig" --out "$OUT" "${args[@]}" | tee "$OUT/explain_ig_deepc.txt")
t=$(OPENBLAS_NUM_THREADS=1 GLIBC_TUNABLES=glibc.malloc.hugetlb=1 OPENBLAS_CORETYPE=SkylakeX \
    "$PYTHON" bench/explain_ig.py --dir "$OUT" --data "$CACHE/mnist" "${args[@]}" | tee "$OUT/explain_ig_torch.txt")
ds=$(echo "$d" | awk '/^deepc_seconds/ {print $2}')
ts=$(echo "$t" | awk '/^torch_seconds/ {print $2}')
echo "$t" | grep '^#' || true
awk -v d="$ds" -v t="$ts" -v n="$DIGITS" -v s="$STEPS" -v th="$THREADS" 'BEGIN {
    printf "integrated gradients, %d digits x %d steps, %d threads: deepc %.3f s, PyTorch %.3f s, deepc/PyTorch %.2f\n",
           n, s, th, d, t, d / t }'
