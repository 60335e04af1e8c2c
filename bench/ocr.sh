#!/usr/bin/env bash
# ocr.sh - PaddleOCR's PP-OCRv4 detector (per image) and recogniser (per
# line): deepc (bench/ocr_bench.c) against ONNX Runtime (bench/ocr_ort.js,
# onnxruntime-node, CPU) on the same ONNX file, the same prepared input and
# the same thread count, side by side (issue 22).
#
#   bench/ocr.sh [BUILD]                 BUILD: a Release build folder (build)
#   THREADS="1 2" ROUNDS=3 REPEAT=10 bench/ocr.sh
#
# Inputs, rendered by ImageMagick with Noto Sans CJK SC: a 800 x 600 page of
# eight lines (the detector's input: 608 x 800), and one line, 深度学习框架
# (the recogniser's input: 48 x 320).  Each number is the median of REPEAT
# runs after a warm-up, in one process per side; the rounds alternate deepc
# and ORT and the table keeps each side's fastest round.  Also the CPU
# seconds per run (user + system), steadier than wall time on a loaded
# machine.  Prints a markdown table (ms; ORT/deepc > 1: deepc is faster).
# OMP_WAIT_POLICY is passive unless set (OpenMP's spinning waits cost
# deepc's two threads dearly on a machine busy with other work; ORT's own
# thread pool is left as it is).  On a machine whose cores are free, set
# OMP_WAIT_POLICY=active: deepc's recogniser at two threads took 10.6 ms
# spinning against 16.0 passive (docs/benchmarks.md, two threads at batch 1).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
THREADS=${THREADS:-"1 2"}
ROUNDS=${ROUNDS:-3}
REPEAT=${REPEAT:-10}
NODE_PATH=${NODE_PATH:-$(sh "$ROOT/tests/onnx/install_ort.sh")}
export NODE_PATH
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
MODELS=${DEEPC_OCR_MODELS:-$(sh "$ROOT/tests/onnx/fetch_ocr_models.sh")}
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
    export OPENBLAS_CORETYPE=SkylakeX
fi
[ -x "$BUILD/ocr_bench" ] || { echo "error: $BUILD/ocr_bench not built (cmake --build $BUILD --target ocr_bench)" >&2; exit 1; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
font=Noto-Sans-CJK-SC
convert -size 800x600 xc:white -font "$font" -pointsize 36 -fill black \
    -annotate +30+60 '深度学习框架' -annotate +30+130 'PaddleOCR识别中文和English混排123' \
    -annotate +30+200 '第一行文字' -annotate +30+270 '第二行有数字2024' -annotate +30+340 'Third line 三' \
    -annotate +30+410 '文字方向分类器' -annotate +30+480 '卷积神经网络' -annotate +30+550 'ONNX Runtime 1.20' "$OUT/page.png"
convert -size 400x60 xc:white -font "$font" -pointsize 40 -fill black -annotate +10+45 '深度学习框架' "$OUT/line.png"

best() { if [ -z "$1" ]; then echo "$2"; else awk -v a="$1" -v b="$2" 'BEGIN { print (b < a) ? b : a }'; fi; }
value() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
ms() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1000 }'; }

echo "| model | input | threads | deepc ms | ORT ms | ORT/deepc | deepc CPU ms | ORT CPU ms | deepc import s |"
echo "|---|---|---|---|---|---|---|---|---|"
for what in det rec; do
    img=$OUT/page.png model=$MODELS/ch_PP-OCRv4_det_infer.onnx
    [ $what = rec ] && img=$OUT/line.png model=$MODELS/ch_PP-OCRv4_rec_infer.onnx
    for t in $THREADS; do
        dw="" ow="" dcpu="" ocpu="" imp=""
        for _ in $(seq "$ROUNDS"); do
            OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$BUILD/ocr_bench" $what "$img" "$MODELS" "$OUT/in.f32" \
                --threads "$t" --repeat "$REPEAT" > "$OUT/dc.txt"
            shape=$(value input "$OUT/dc.txt")
            node "$ROOT/bench/ocr_ort.js" "$model" "$OUT/in.f32" "$shape" --threads "$t" --repeat "$REPEAT" > "$OUT/ort.txt"
            dw=$(best "$dw" "$(value seconds_per_run "$OUT/dc.txt")")
            dcpu=$(best "$dcpu" "$(value cpu_seconds_per_run "$OUT/dc.txt")")
            imp=$(best "$imp" "$(value import_seconds "$OUT/dc.txt")")
            ow=$(best "$ow" "$(value seconds_per_run "$OUT/ort.txt")")
            ocpu=$(best "$ocpu" "$(value cpu_seconds_per_run "$OUT/ort.txt")")
        done
        ratio=$(awk -v o="$ow" -v d="$dw" 'BEGIN { printf "%.2fx", o / d }')
        echo "| $what | $shape | $t | $(ms "$dw") | $(ms "$ow") | $ratio | $(ms "$dcpu") | $(ms "$ocpu") | $imp |"
    done
done
echo
echo "OMP_WAIT_POLICY=$OMP_WAIT_POLICY; load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
