#!/usr/bin/env bash
# Side-by-side benchmark of a training step of the text model: deepc vs
# PyTorch (tuned).
#
#   Embedding(10000, 64) -> LSTM(64) -> Dense(1, sigmoid), Adam, binary
#   cross-entropy, random token ids, sequences of length 100, batch 32.
#
# Usage: bench/run_lstm.sh            (from anywhere; paths are relative to the repo root)
# Environment knobs:
#   BUILD      deepc build folder holding bench_lstm (default build)
#   STEPS      training steps per timed epoch (default 50)
#   EPOCHS     timed epochs; the median ms/step is reported (default 5)
#   THREADS    threads for both frameworks (default 2)
#   PYTHON     interpreter with PyTorch 1.13 (default /usr/bin/python3)
#   DEEPC_ENV  extra VAR=value assignments for the deepc run (default
#              OPENBLAS_CORETYPE=SkylakeX, as ./deepc.sh sets it)
#
# PyTorch runs at its best on this machine (shared DATA.md): OpenBLAS
# single-threaded under torch's own thread pool, AVX-512 kernels forced, huge
# pages for malloc.  Raw logs go to bench/results/ (git-ignored).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. bench/lib.sh

BUILD=${BUILD:-build}
STEPS=${STEPS:-50}
EPOCHS=${EPOCHS:-5}
THREADS=${THREADS:-2}
PYTHON=${PYTHON:-/usr/bin/python3}
LOGDIR=bench/results/lstm-$(date +%Y%m%d-%H%M%S)
mkdir -p "$LOGDIR"
ARGS=(--steps "$STEPS" --epochs "$EPOCHS" --threads "$THREADS" --batch 32 --seq 100)

echo "== torch   ($EPOCHS x $STEPS steps, $THREADS threads)"
env OPENBLAS_NUM_THREADS=1 GLIBC_TUNABLES=glibc.malloc.hugetlb=1 $AVX512_CORE \
    "$PYTHON" bench/torch_lstm.py "${ARGS[@]}" | tee "$LOGDIR/torch.log"
if [ -x "$BUILD/bench_lstm" ]; then
    echo "== deepc   ($EPOCHS x $STEPS steps, $THREADS threads)"
    # shellcheck disable=SC2086  # DEEPC_ENV is a list of VAR=value words
    env ${DEEPC_ENV:-$AVX512_CORE} "$BUILD/bench_lstm" "${ARGS[@]}" | tee "$LOGDIR/deepc.log"
else
    echo "== deepc: $BUILD/bench_lstm not found (build it first, or set BUILD=...); torch numbers only"
fi

t=$(value median_ms_per_step "$LOGDIR/torch.log")
d=$(value median_ms_per_step "$LOGDIR/deepc.log")
echo
echo "Embedding(10000,64)-LSTM(64)-Dense(1), seq 100, batch 32, $THREADS threads, median ms/step (logs: $LOGDIR)"
printf '%-12s %-12s %s\n' "deepc ms" "torch ms" "torch/deepc"
printf '%-12s %-12s %s\n' "$d" "$t" "$(ratio "$t" "$d")"
echo "(torch/deepc > 1 means deepc is faster)"
