#!/usr/bin/env bash
# Side-by-side benchmark of the tutorials' CNNs: deepc vs PyTorch (tuned).
#
#   cnn1 (seed 002): Conv2D(32, 3x3, relu, valid) -> Flatten -> Dense(10, softmax)
#   cnn2 (seed 003): Conv2D(32, 3x3, relu) -> MaxPool(2x2) -> Conv2D(64, 3x3, relu)
#                    -> MaxPool(2x2) -> Flatten -> Dense(128, relu) -> Dense(10, softmax)
# then seed 003's two convolutions alone (bench_conv): GFLOP/s against the
# machine's measured sgemm peak.
#   Adam(1e-3, eps 1e-7), sparse categorical cross-entropy, MNIST train set
#   (28x28x1 in [0,1]), batch 32, reshuffled per epoch.
#
# Usage: bench/run_cnn.sh            (from anywhere; paths are relative to the repo root)
# Environment knobs:
#   DEEPC_CACHE  cache root, MNIST goes to $DEEPC_CACHE/mnist (default ~/.cache/deepc)
#   BUILD        deepc build folder holding bench_train (default build)
#   MODELS       models to compare (default "cnn1 cnn2")
#   BATCH        batch size (default 32)
#   EPOCHS       epochs per run; the median epoch time is reported (default 1)
#   THREADS      threads for both frameworks (default 2)
#   PYTHON       interpreter with PyTorch 1.13 (default /usr/bin/python3)
#   DEEPC_ENV    extra VAR=value assignments for the deepc run (default: the same
#                OPENBLAS_CORETYPE=SkylakeX the PyTorch run gets, as ./deepc.sh sets it)
#   TORCH_ARGS   extra arguments for bench/torch_cnn.py, e.g. --bare to time the
#                training step alone, or --max-steps 300 for a quick extrapolated run
#   DEEPC_ARGS   extra arguments for bench_train (e.g. --max-steps 300)
#
# PyTorch is run at its best on this machine (see shared DATA.md): its OpenBLAS
# single-threaded under torch's own 2-thread pool, AVX-512 kernels forced,
# huge pages for malloc, and the faster memory layout per model (NCHW for cnn1,
# channels_last for cnn2; see bench/torch_cnn.py). Its defaults are 3-5x slower
# here; comparing against those would prove nothing. deepc runs in the plain
# inherited environment. Raw logs go to bench/results/ (git-ignored).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. bench/lib.sh

CACHE=${DEEPC_CACHE:-$HOME/.cache/deepc}
DATA=$CACHE/mnist
BUILD=${BUILD:-build}
MODELS=${MODELS:-cnn1 cnn2}
BATCH=${BATCH:-32}
EPOCHS=${EPOCHS:-1}
THREADS=${THREADS:-2}
PYTHON=${PYTHON:-/usr/bin/python3}
DEEPC_BIN=$BUILD/bench_train
LOGDIR=bench/results/cnn-$(date +%Y%m%d-%H%M%S)
mkdir -p "$LOGDIR"

# ---- (a) MNIST in the cache ------------------------------------------------
ensure_mnist "$DATA"

# ---- (b) PyTorch reference, tuned --------------------------------------------
for m in $MODELS; do
    echo "== torch   $m batch $BATCH ($EPOCHS epochs, $THREADS threads)"
    # shellcheck disable=SC2086  # TORCH_ARGS is a list of words
    env OPENBLAS_NUM_THREADS=1 GLIBC_TUNABLES=glibc.malloc.hugetlb=1 $AVX512_CORE \
        "$PYTHON" bench/torch_cnn.py --data "$DATA" --model "$m" --batch "$BATCH" \
        --epochs "$EPOCHS" --threads "$THREADS" ${TORCH_ARGS:-} | tee "$LOGDIR/torch_$m.log"
done

# ---- (c) deepc ---------------------------------------------------------------
have_deepc=0
if [ -x "$DEEPC_BIN" ]; then
    have_deepc=1
    for m in $MODELS; do
        echo "== deepc   $m batch $BATCH ($EPOCHS epochs, $THREADS threads)"
        # shellcheck disable=SC2086  # DEEPC_ENV / DEEPC_ARGS are lists of words
        env ${DEEPC_ENV:-$AVX512_CORE} "$DEEPC_BIN" --data "$DATA" --model "$m" \
            --batch "$BATCH" --epochs "$EPOCHS" --threads "$THREADS" ${DEEPC_ARGS:-} \
            | tee "$LOGDIR/deepc_$m.log"
    done
else
    echo "== deepc: $DEEPC_BIN not found (build it first, or set BUILD=...); torch numbers only"
fi

# ---- table -------------------------------------------------------------------
echo
echo "tutorial CNNs, MNIST 60k, batch $BATCH, $EPOCHS epochs, $THREADS threads, median s/epoch (logs: $LOGDIR)"
printf '%-6s %14s %14s %12s %14s %14s %10s %10s\n' \
    model "deepc s/epoch" "torch s/epoch" "torch/deepc" "deepc peak MB" "torch peak MB" \
    "deepc acc" "torch acc"
for m in $MODELS; do
    ts=$(value median_epoch_seconds "$LOGDIR/torch_$m.log")
    tm=$(value peak_rss_mb "$LOGDIR/torch_$m.log")
    ta=$(value test_acc "$LOGDIR/torch_$m.log")
    ds=- dm=- da=-
    if [ "$have_deepc" = 1 ]; then
        ds=$(value median_epoch_seconds "$LOGDIR/deepc_$m.log")
        dm=$(value peak_rss_mb "$LOGDIR/deepc_$m.log")
        da=$(value test_acc "$LOGDIR/deepc_$m.log")
    fi
    printf '%-6s %14s %14s %12s %14s %14s %10s %10s\n' \
        "$m" "$ds" "$ts" "$(ratio "$ts" "$ds")" "$dm" "$tm" "$da" "$ta"
done
echo "(torch/deepc > 1 means deepc is faster; acc is test accuracy, - when not measured)"

# ---- the convolutions alone, against the sgemm peak -----------------------------
if [ "$have_deepc" = 1 ] && [ -x "$BUILD/bench_conv" ]; then
    echo
    echo "seed 003's convolutions alone (batch $BATCH, $THREADS threads), GFLOP/s against OpenBLAS sgemm 1024^3:"
    # shellcheck disable=SC2086
    env ${DEEPC_ENV:-$AVX512_CORE} "$BUILD/bench_conv" --threads "$THREADS" --batch "$BATCH" \
        | tee "$LOGDIR/deepc_conv.log"
fi
