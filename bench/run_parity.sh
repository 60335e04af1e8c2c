#!/usr/bin/env bash
# Does deepc train seed 003's CNN the way PyTorch does, step for step?
#
#   1. build/parity_cnn trains it for STEPS steps (batch 32, the first
#      STEPS*32 Fashion-MNIST training images in order, Keras' Adam, one
#      thread), saving the initial and final weights and every step's loss;
#   2. bench/parity_cnn.py starts PyTorch from deepc's initial weights, takes
#      the same steps with Keras' Adam, and prints the per-step loss
#      differences and the final weight differences, once per memory layout,
#      then the difference between its own two layouts: two PyTorch runs
#      that differ only in rounding, the yardstick for "the same".
#
# Usage: bench/run_parity.sh   (env: BUILD=build STEPS=200 SEED=42 PYTHON=/usr/bin/python3)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
STEPS=${STEPS:-200}
SEED=${SEED:-42}
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
# shellcheck source=bench/lib.sh
. bench/lib.sh
DATA=$(fashion_dir)

echo "== deepc: $STEPS steps, seed $SEED"
"$BUILD/parity_cnn" "$OUT" "$STEPS" "$SEED" > "$OUT/deepc.log"
for layout in nhwc nchw; do
    echo "== PyTorch ($layout) from deepc's initial weights, against deepc"
    OPENBLAS_NUM_THREADS=1 "$PYTHON" bench/parity_cnn.py --data "$DATA" --out "$OUT" --deepc-log "$OUT/deepc.log" \
        --steps "$STEPS" --layout "$layout" --dump "$OUT/torch_$layout.log"
done
echo "== per-step loss, relative difference: deepc vs PyTorch nhwc, and PyTorch nhwc vs PyTorch nchw"
"$PYTHON" - "$OUT" "$STEPS" <<'PY'
import sys
out, steps = sys.argv[1], int(sys.argv[2])
def losses(name):
    return {int(f[1]): float(f[3]) for f in (l.split() for l in open("%s/%s.log" % (out, name))) if f and f[0] == "step"}
d, a, b = losses("deepc"), losses("torch_nhwc"), losses("torch_nchw")
for t in [1, 5, 10, 15, 20, 25, 30, 40, 50, 60, 80, 100, 150, 200, 500, 1000, 1875]:
    if t <= steps:
        print("step %5d   deepc-torch %.1e   torch-torch %.1e" % (t, abs(d[t] - a[t]) / a[t], abs(a[t] - b[t]) / a[t]))
PY
