#!/usr/bin/env bash
# onnx_predict.sh - predict at batch 1 and batch 1000 for seed 003's CNN and
# MLP: deepc against ONNX Runtime (onnxruntime-node, CPU) on the same ONNX
# file (written by deepc's dc_model_save_onnx), the same inputs and the same
# thread count, side by side.  Each number is the median of R runs after a
# warm-up run, in one process per side (bench/onnx_predict.c for deepc,
# tests/onnx/ort_run.js --repeat for ORT).
#
#   bench/onnx_predict.sh [BUILD]        BUILD: a Release build folder (build)
#   THREADS="1 2" ROUNDS=3 bench/onnx_predict.sh
#
# Prints a markdown table (times in ms, ORT/deepc > 1: deepc is faster); the
# rounds alternate deepc and ORT, and the table keeps each side's fastest round.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
THREADS=${THREADS:-"1 2"}
ROUNDS=${ROUNDS:-3}
NODE_PATH=${NODE_PATH:-$(sh "$ROOT/tests/onnx/install_ort.sh")}
export NODE_PATH
# OpenBLAS 0.3.21 takes Zen 4/5 for Haswell (half-speed kernels); name the
# right core where the CPU has AVX-512, as deepc.sh does, unless the user did.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
    export OPENBLAS_CORETYPE=SkylakeX
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
[ -x "$BUILD/onnx_predict" ] || { echo "error: $BUILD/onnx_predict not built (cmake --build $BUILD --target onnx_predict)" >&2; exit 1; }

# best OLD NEW: the smaller of two numbers ("" counts as none)
best() { if [ -z "$1" ]; then echo "$2"; else awk -v a="$1" -v b="$2" 'BEGIN { print (b < a) ? b : a }'; fi; }

echo "| model | batch | threads | deepc ms | ORT ms | ORT/deepc |"
echo "|---|---|---|---|---|---|"
for model in mlp cnn; do
    for t in $THREADS; do
        declare -A dc=() ort=()
        for r in $(seq "$ROUNDS"); do
            while read -r _ _ _ b _ s; do dc[$b]=$(best "${dc[$b]:-}" "$s"); done \
                < <(OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$BUILD/onnx_predict" "$model" "$OUT" --threads "$t")
            for b in 1 1000; do
                reps=300; [ "$b" = 1000 ] && reps=10
                s=$(node "$ROOT/tests/onnx/ort_run.js" "$OUT/$model.onnx" "$OUT/ort_" "$OUT/${model}_b$b.f32:${b}x28x28x1" \
                    --threads "$t" --repeat "$reps" | awk '/^seconds_per_run/ { print $2 }')
                ort[$b]=$(best "${ort[$b]:-}" "$s")
            done
        done
        for b in 1 1000; do
            awk -v m="$model" -v b="$b" -v t="$t" -v d="${dc[$b]}" -v o="${ort[$b]}" \
                'BEGIN { printf "| %s | %d | %d | %.3f | %.3f | %.2f |\n", m, b, t, d * 1e3, o * 1e3, o / d }'
        done
        unset dc ort
    done
done
