#!/usr/bin/env bash
# Test accuracy of seed 003's CNN on Fashion-MNIST after 10 epochs, over
# several seeds, deepc against PyTorch with Keras' initialisers (glorot_uniform
# weights, zero biases), Adam(1e-3, eps 1e-7), batch 32: is deepc's accuracy
# distribution PyTorch's?  Slow: about 50 s per deepc run and 80 s per PyTorch
# run on 2 threads.  Prints one line per run, then each side's mean, standard
# deviation and range.
#
# Usage: bench/run_seeds.sh   (env: BUILD=build SEEDS="1 2 3 4 5" EPOCHS=10 PYTHON=/usr/bin/python3)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
SEEDS=${SEEDS:-1 2 3 4 5}
EPOCHS=${EPOCHS:-10}
PYTHON=${PYTHON:-/usr/bin/python3}
# shellcheck source=bench/lib.sh
. bench/lib.sh
DATA=$(fashion_dir)
RES=$(mktemp)
trap 'rm -f "$RES"' EXIT
for s in $SEEDS; do
    a=$(env $AVX512_CORE "$BUILD/cnn" --fashion --epochs "$EPOCHS" --seed "$s" | sed -n 's/^Test accuracy: //p')
    echo "deepc   seed $s  test accuracy $a" | tee -a "$RES"
    a=$(env OPENBLAS_NUM_THREADS=1 $AVX512_CORE "$PYTHON" bench/torch_cnn.py --data "$DATA" --model cnn2 \
        --epochs "$EPOCHS" --init keras --seed "$s" | sed -n 's/^test_acc //p')
    echo "pytorch seed $s  test accuracy $a" | tee -a "$RES"
done
"$PYTHON" - "$RES" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    f = line.split()
    runs.setdefault(f[0], []).append(float(f[-1]))
for who, acc in runs.items():
    sd = statistics.stdev(acc) if len(acc) > 1 else float("nan")
    print("%-7s %2d runs  mean %.4f  sd %.4f  min %.4f  max %.4f" % (who, len(acc), statistics.mean(acc), sd, min(acc), max(acc)))
PY
