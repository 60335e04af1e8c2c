#!/usr/bin/env bash
# Side-by-side benchmark of the small residual CNN of examples/resnet.c (the
# model is examples/resnet_model.h; bench/torch_cnn.py --model resnet builds the
# same one in PyTorch, with --init keras: glorot_uniform kernels, zero biases,
# BN gamma 1 / beta 0, BN momentum 0.99 Keras = 0.01 PyTorch, epsilon 1e-3):
#   Conv2D(16)-BN-ReLU, blocks of 16, 32 (stride 2), 64 (stride 2) filters
#   (Conv-BN-ReLU-Conv-BN + shortcut, 1x1 projection where the shape changes,
#   ReLU), GlobalAveragePooling2D, Dense(10, softmax).
#   Adam(1e-3, eps 1e-7), sparse categorical cross-entropy, MNIST train set
#   (28x28x1 in [0,1]; the speed does not depend on the digits), batch 64 as
#   the example trains, reshuffled every epoch; median epoch time, test
#   accuracy, peak RSS.
#
# Usage: bench/run_resnet.sh
# Environment knobs: DEEPC_CACHE, BUILD (default build), BATCH (64), EPOCHS (2),
# THREADS (2), PYTHON (/usr/bin/python3), DEEPC_ENV (default
# OPENBLAS_CORETYPE=SkylakeX, which the PyTorch run gets too), TORCH_ARGS and
# DEEPC_ARGS (extra arguments, e.g. --max-steps 300 for both: a quick run
# extrapolated to the full epoch, no test accuracy from PyTorch then).
# PyTorch runs tuned as in bench/run_cnn.sh (shared DATA.md), in its faster
# layout here (channels_last, see bench/torch_cnn.py); logs go to
# bench/results/ (git-ignored).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. bench/lib.sh

BATCH=${BATCH:-64}
EPOCHS=${EPOCHS:-2}
bench_setup resnet

echo "== torch   resnet batch $BATCH ($EPOCHS epochs, $THREADS threads)"
# shellcheck disable=SC2086  # TORCH_ARGS / DEEPC_ARGS are lists of words
run_torch "$LOGDIR/torch.log" bench/torch_cnn.py --data "$DATA" --model resnet --init keras --batch "$BATCH" \
    --epochs "$EPOCHS" --threads "$THREADS" ${TORCH_ARGS:-}
echo "== deepc   resnet batch $BATCH ($EPOCHS epochs, $THREADS threads)"
# shellcheck disable=SC2086
run_deepc "$LOGDIR/deepc.log" --data "$DATA" --model resnet --batch "$BATCH" --epochs "$EPOCHS" \
    --threads "$THREADS" ${DEEPC_ARGS:-}

echo
echo "residual CNN, MNIST 60k, batch $BATCH, $EPOCHS epochs, $THREADS threads, median s/epoch (logs: $LOGDIR)"
printf '%14s %14s %12s %14s %14s %10s %10s\n' "deepc s/epoch" "torch s/epoch" "torch/deepc" \
    "deepc peak MB" "torch peak MB" "deepc acc" "torch acc"
ds=$(value median_epoch_seconds "$LOGDIR/deepc.log")
ts=$(value median_epoch_seconds "$LOGDIR/torch.log")
printf '%14s %14s %12s %14s %14s %10s %10s\n' "$ds" "$ts" "$(ratio "$ts" "$ds")" \
    "$(value peak_rss_mb "$LOGDIR/deepc.log")" "$(value peak_rss_mb "$LOGDIR/torch.log")" \
    "$(value test_acc "$LOGDIR/deepc.log")" "$(value test_acc "$LOGDIR/torch.log")"
echo "(torch/deepc > 1 means deepc is faster; acc is test accuracy, - when not measured)"
