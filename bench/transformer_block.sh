#!/usr/bin/env bash
# Side-by-side: one Transformer encoder block's training step (batch 32,
# 128 tokens, dim 128, 4 heads, feed-forward 512), deepc vs PyTorch tuned
# as shared DATA.md says (OpenBLAS single-threaded under torch's pool,
# AVX-512 kernels forced, huge pages).  deepc twice: the Keras-style layers
# (transformer_block.c) and the graph API around the fused attention op
# (transformer_block_fused.c).
#
# Usage: bench/transformer_block.sh   (THREADS, STEPS, BUILD, PYTHON as knobs)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
THREADS=${THREADS:-2}
STEPS=${STEPS:-20}
PYTHON=${PYTHON:-/usr/bin/python3}
TUNED=(OPENBLAS_NUM_THREADS=1 GLIBC_TUNABLES=glibc.malloc.hugetlb=1 OPENBLAS_CORETYPE=SkylakeX)
t=$(env "${TUNED[@]}" "$PYTHON" bench/transformer_block.py --threads "$THREADS" --steps "$STEPS" | tee /dev/stderr)
d=$(env OPENBLAS_CORETYPE=SkylakeX "$BUILD/transformer_block" --threads "$THREADS" --steps "$STEPS" | tee /dev/stderr)
f=$(env OPENBLAS_CORETYPE=SkylakeX "$BUILD/transformer_block_fused" --threads "$THREADS" --steps "$STEPS" | tee /dev/stderr)
tm=$(echo "$t" | sed 's/.*median_ms_per_step //')
dm=$(echo "$d" | sed 's/.*median_ms_per_step //')
fm=$(echo "$f" | sed 's/.*median_ms_per_step //')
echo "encoder block training step, $THREADS threads: torch $tm ms; deepc layers $dm ms (torch/deepc $(echo "$tm $dm" | awk '{printf "%.2f", $1 / $2}')x); deepc graph + fused attention $fm ms (torch/deepc $(echo "$tm $fm" | awk '{printf "%.2f", $1 / $2}')x)"
