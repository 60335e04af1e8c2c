#!/bin/sh
# ocr_check.sh - examples/ocr on text rendered by ImageMagick with a Debian
# CJK font (Noto Sans CJK SC, fonts-noto-cjk): every image must read back as
# exactly the text it was rendered from, line by line, in order (issue 22).
#
#   sh tests/ocr/ocr_check.sh build/ocr [WORK_DIR]
#
# Images: one line of Chinese; a line mixing Chinese, Latin letters and
# digits; a line turned by 180 degrees (the direction classifier must turn it
# back); three lines.  Then the errors: a truncated detector model, a missing
# character list, an image too small to hold a line (each must fail with a
# message saying so), and a blank image (no text, no failure).
# The models: $DEEPC_OCR_MODELS, else ~/.cache/deepc/ocr-models/package/assets
# (tests/onnx/fetch_ocr_models.sh).  Exit 77 (skipped, saying why) without
# ImageMagick, the font or the models.
set -u
ocr=$1
work=${2:-ocr_check_tmp}
models=${DEEPC_OCR_MODELS:-${HOME:-.}/.cache/deepc/ocr-models/package/assets}
font=Noto-Sans-CJK-SC
command -v convert >/dev/null 2>&1 || { echo "SKIPPED: ImageMagick's convert is not installed (apt-get install imagemagick)"; exit 77; }
convert -list font 2>/dev/null | grep -q "Font: $font\$" ||
    { echo "SKIPPED: ImageMagick does not know the font $font (apt-get install fonts-noto-cjk)"; exit 77; }
for f in ch_PP-OCRv4_det_infer.onnx ch_ppocr_mobile_v2.0_cls_infer.onnx ch_PP-OCRv4_rec_infer.onnx ppocr_keys_v1.txt; do
    [ -f "$models/$f" ] || { echo "SKIPPED: $models/$f is absent (sh tests/onnx/fetch_ocr_models.sh)"; exit 77; }
done
mkdir -p "$work" || exit 1
fail=0

# render NAME WIDTH HEIGHT [convert options...]: white, black text, 44 pt
render() {
    name=$1 w=$2 h=$3
    shift 3
    convert -size "${w}x$h" xc:white -font "$font" -pointsize 44 -fill black "$@" "$work/$name.png" ||
        { echo "FAIL: convert could not render $name"; exit 1; }
}
# expect NAME EXPECTED: the image's text must be EXPECTED (lines joined by newlines)
expect() {
    got=$("$ocr" --models "$models" "$work/$1.png" 2>"$work/$1.err")
    rc=$?
    if [ $rc -eq 0 ] && [ "$got" = "$2" ]; then
        echo "ok $1: $(echo "$got" | tr '\n' '|')"
    else
        echo "FAIL $1 (exit $rc): got [$got], expected [$2]"
        cat "$work/$1.err"
        fail=1
    fi
}
# expect_error NAME PATTERN COMMAND...: must exit 1 with PATTERN on stderr
expect_error() {
    name=$1 pattern=$2
    shift 2
    "$@" >"$work/$name.out" 2>"$work/$name.err"
    rc=$?
    if [ $rc -eq 1 ] && grep -q "$pattern" "$work/$name.err"; then
        echo "ok $name: $(cat "$work/$name.err")"
    else
        echo "FAIL $name: exit $rc (expected 1), stderr [$(cat "$work/$name.err")], expected [$pattern]"
        fail=1
    fi
}

render chinese 600 100 -annotate +20+70 '深度学习框架'
expect chinese '深度学习框架'
render mixed 900 100 -annotate +20+65 'PaddleOCR识别中文和English混排123'
expect mixed 'PaddleOCR识别中文和English混排123'
render upside_down 600 100 -annotate +20+70 '文字方向分类器' -rotate 180
expect upside_down '文字方向分类器'
render three 700 300 -annotate +30+70 '第一行文字' -annotate +30+160 '第二行有数字2024' -annotate +30+250 'Third line 三'
expect three "$(printf '第一行文字\n第二行有数字2024\nThird line 三')"

# errors
mkdir -p "$work/truncated"
for f in ch_ppocr_mobile_v2.0_cls_infer.onnx ch_PP-OCRv4_rec_infer.onnx ppocr_keys_v1.txt; do
    ln -sf "$models/$f" "$work/truncated/$f"
done
head -c 1000000 "$models/ch_PP-OCRv4_det_infer.onnx" > "$work/truncated/ch_PP-OCRv4_det_infer.onnx"
expect_error truncated_model "ch_PP-OCRv4_det_infer.onnx: not an ONNX model" \
    "$ocr" --models "$work/truncated" "$work/chinese.png"
expect_error missing_keys "nope_keys.txt: cannot open the character list" \
    "$ocr" --models "$models" --keys "$work/nope_keys.txt" "$work/chinese.png"
convert -size 6x5 xc:white "$work/tiny.png"
expect_error tiny_image "6 x 5 pixels is too small to hold a line" "$ocr" --models "$models" "$work/tiny.png"
expect_error missing_image "absent.png" "$ocr" --models "$models" "$work/absent.png"
convert -size 200x100 xc:white "$work/blank.png"
got=$("$ocr" --models "$models" "$work/blank.png" 2>"$work/blank.err")
if [ $? -eq 0 ] && [ -z "$got" ] && grep -q "no text found" "$work/blank.err"; then
    echo "ok blank: $(cat "$work/blank.err")"
else
    echo "FAIL blank: got [$got], stderr [$(cat "$work/blank.err")]"
    fail=1
fi
exit $fail
