#!/usr/bin/env bash
# Side-by-side benchmark of the Keras blog's convolutional autoencoder
# (examples/autoencoder.c; bench/torch_autoencoder.py builds the same model in
# PyTorch with Keras' initialisers): MNIST x -> x, binary cross-entropy, Adam,
# batch 128, reshuffled every epoch; median epoch time, test loss, peak RSS.
#
# Usage: bench/run_autoencoder.sh
# Environment knobs: DEEPC_CACHE, BUILD (default build), BATCH (128),
# EPOCHS (2), THREADS (2), PYTHON (/usr/bin/python3), DEEPC_ENV (default
# OPENBLAS_CORETYPE=SkylakeX, which the PyTorch run gets too).
# PyTorch runs tuned as in bench/run_cnn.sh (shared DATA.md); logs go to
# bench/results/ (git-ignored).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. bench/lib.sh

BATCH=${BATCH:-128}
EPOCHS=${EPOCHS:-2}
bench_setup autoencoder

echo "== torch   autoencoder batch $BATCH ($EPOCHS epochs, $THREADS threads)"
run_torch "$LOGDIR/torch.log" bench/torch_autoencoder.py --data "$DATA" --batch "$BATCH" --epochs "$EPOCHS" \
    --threads "$THREADS"
echo "== deepc   autoencoder batch $BATCH ($EPOCHS epochs, $THREADS threads)"
run_deepc "$LOGDIR/deepc.log" --data "$DATA" --model autoencoder --batch "$BATCH" --epochs "$EPOCHS" \
    --threads "$THREADS"

echo
echo "convolutional autoencoder, MNIST 60k, batch $BATCH, $EPOCHS epochs, $THREADS threads, median s/epoch (logs: $LOGDIR)"
printf '%14s %14s %12s %14s %14s %15s %15s\n' "deepc s/epoch" "torch s/epoch" "torch/deepc" \
    "deepc peak MB" "torch peak MB" "deepc test loss" "torch test loss"
ds=$(value median_epoch_seconds "$LOGDIR/deepc.log")
ts=$(value median_epoch_seconds "$LOGDIR/torch.log")
printf '%14s %14s %12s %14s %14s %15s %15s\n' "$ds" "$ts" "$(ratio "$ts" "$ds")" \
    "$(value peak_rss_mb "$LOGDIR/deepc.log")" "$(value peak_rss_mb "$LOGDIR/torch.log")" \
    "$(value test_loss "$LOGDIR/deepc.log")" "$(value test_loss "$LOGDIR/torch.log")"
echo "(torch/deepc > 1 means deepc is faster)"
