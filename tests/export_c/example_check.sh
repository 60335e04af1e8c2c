#!/bin/sh
# example_check.sh - examples/export_c and export_c_main.c, as the README
# shows them: train briefly (1 epoch on 3000 images), export float and int8,
# build the tiny main against the generated files only, run it.
# Usage: example_check.sh EXPORT_C_BINARY EXPORT_C_MAIN_C WORK_DIR
# Exit 77 (skip) when the example skips (MNIST not cached, DEEPC_OFFLINE).
set -eu
bin=$1
main=$2
work=$3
rm -rf "$work"
mkdir -p "$work"
set +e
"$bin" --epochs 1 --train 3000 --threads 1 --out "$work"
rc=$?
set -e
[ $rc -eq 0 ] || exit $rc
cc -std=c99 -Wall -Wextra -Werror -pedantic -O2 -I"$work" -o "$work/classify" "$main" "$work/cnn_float.c" \
    "$work/cnn_int8.c" -lm
"$work/classify"
