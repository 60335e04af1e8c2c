#!/usr/bin/env bash
# Side-by-side benchmark of the tutorial MLP: deepc vs PyTorch (tuned).
#
#   Flatten(28x28) -> Dense(128, relu) -> Dense(10, softmax), Adam(1e-3),
#   sparse categorical cross-entropy, MNIST train set, reshuffled per epoch.
#
# Usage: bench/run_mlp.sh            (from anywhere; paths are relative to the repo root)
# Environment knobs:
#   DEEPC_CACHE  cache root, MNIST goes to $DEEPC_CACHE/mnist (default ~/.cache/deepc)
#   BUILD        deepc build folder holding bench_train (default build)
#   BATCHES      batch sizes to compare (default "32 128")
#   EPOCHS       epochs per run; the median epoch time is reported (default 3)
#   THREADS      threads for both frameworks (default 2)
#   PYTHON       interpreter with PyTorch 1.13 (default /usr/bin/python3)
#   DEEPC_ENV    extra VAR=value assignments for the deepc run (default: the same
#                OPENBLAS_CORETYPE=SkylakeX the PyTorch run gets, as ./deepc.sh sets it)
#   TORCH_ARGS   extra arguments for bench/torch_mlp.py, e.g. --bare to time the
#                training step alone, without Keras-style running loss/acc
#
# PyTorch is run at its best on this machine (see shared DATA.md): its OpenBLAS
# single-threaded under torch's own 2-thread pool, AVX-512 kernels forced,
# huge pages for malloc. Its defaults are 3-5x slower here; comparing against
# those would prove nothing. deepc runs in the plain inherited environment.
# Raw logs go to bench/results/ (git-ignored).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

CACHE=${DEEPC_CACHE:-$HOME/.cache/deepc}
DATA=$CACHE/mnist
BUILD=${BUILD:-build}
BATCHES=${BATCHES:-32 128}
EPOCHS=${EPOCHS:-3}
THREADS=${THREADS:-2}
PYTHON=${PYTHON:-/usr/bin/python3}
DEEPC_BIN=$BUILD/bench_train
LOGDIR=bench/results/mlp-$(date +%Y%m%d-%H%M%S)
mkdir -p "$LOGDIR"

# shellcheck source=bench/lib.sh
. bench/lib.sh
ensure_mnist "$DATA"
echo "== MNIST: $DATA"

# ---- (b) PyTorch reference, tuned --------------------------------------------
for b in $BATCHES; do
    echo "== torch   batch $b ($EPOCHS epochs, $THREADS threads)"
    # shellcheck disable=SC2086  # TORCH_ARGS is a list of words
    env OPENBLAS_NUM_THREADS=1 GLIBC_TUNABLES=glibc.malloc.hugetlb=1 $AVX512_CORE \
        "$PYTHON" bench/torch_mlp.py --data "$DATA" --batch "$b" --epochs "$EPOCHS" \
        --threads "$THREADS" --infer ${TORCH_ARGS:-} | tee "$LOGDIR/torch_b$b.log"
done

# ---- (c) deepc ---------------------------------------------------------------
have_deepc=0
if [ -x "$DEEPC_BIN" ]; then
    have_deepc=1
    infer_flag=
    # pass --infer only if the binary knows the option (its string is in the binary)
    if grep -q -a -- '--infer' "$DEEPC_BIN"; then infer_flag=--infer; fi
    for b in $BATCHES; do
        echo "== deepc   batch $b ($EPOCHS epochs, $THREADS threads)"
        # shellcheck disable=SC2086  # DEEPC_ENV is a list of VAR=value words
        env ${DEEPC_ENV:-$AVX512_CORE} "$DEEPC_BIN" --data "$DATA" --batch "$b" --epochs "$EPOCHS" \
            --threads "$THREADS" $infer_flag | tee "$LOGDIR/deepc_b$b.log"
    done
else
    echo "== deepc: $DEEPC_BIN not found (build it first, or set BUILD=...); torch numbers only"
fi

# ---- table -------------------------------------------------------------------
echo
echo "tutorial MLP, MNIST 60k, $EPOCHS epochs, $THREADS threads, median s/epoch (logs: $LOGDIR)"
printf '%-6s %14s %14s %12s %14s %14s\n' \
    batch "deepc s/epoch" "torch s/epoch" "torch/deepc" "deepc peak MB" "torch peak MB"
for b in $BATCHES; do
    ts=$(value median_epoch_seconds "$LOGDIR/torch_b$b.log")
    tm=$(value peak_rss_mb "$LOGDIR/torch_b$b.log")
    ds=- dm=- ratio=-
    if [ "$have_deepc" = 1 ]; then
        ds=$(value median_epoch_seconds "$LOGDIR/deepc_b$b.log")
        dm=$(value peak_rss_mb "$LOGDIR/deepc_b$b.log")
        if [ "$ds" != - ] && [ "$ts" != - ]; then
            ratio=$(awk -v t="$ts" -v d="$ds" 'BEGIN { if (d > 0) printf "%.2fx", t / d; else print "-" }')
        fi
    fi
    printf '%-6s %14s %14s %12s %14s %14s\n' "$b" "$ds" "$ts" "$ratio" "$dm" "$tm"
done

# inference (batch 1000 over the 10k test images), from the last batch size's runs
last=${BATCHES##* }
ti=$(value infer_images_per_second "$LOGDIR/torch_b$last.log")
di=-
[ "$have_deepc" = 1 ] && di=$(value infer_images_per_second "$LOGDIR/deepc_b$last.log")
printf 'inference images/s at batch 1000: deepc %s, torch %s\n' "$di" "$ti"
echo "(torch/deepc > 1 means deepc is faster)"
