#!/bin/sh
# dataset_run.sh - seed 003's CNN on MNIST from the IDX files in memory and
# from 70,000 PNG files (image_dataset_from_directory + fit over a
# dc_loader), paired (IDX, folder, IDX, folder ...) in the same window, each
# under /usr/bin/time -v for its peak memory (max RSS).  Prints every run's
# epoch times, test accuracy and max RSS.
#
# Usage: bench/dataset_run.sh [BUILD_DIR] [EPOCHS] [PAIRS]   (THREADS=n: training threads, default all)
# Needs ~/.cache/deepc/mnist_png (bench/dataset_mnist_png.py writes it).
set -eu
build=${1:-build}
epochs=${2:-1}
pairs=${3:-1}
threads=${THREADS:-0}
png=${DEEPC_MNIST_PNG:-$HOME/.cache/deepc/mnist_png}
[ -d "$png/training" ] || /usr/bin/python3 "$(dirname "$0")/dataset_mnist_png.py"
: "${OPENBLAS_CORETYPE:=SkylakeX}"
export OPENBLAS_CORETYPE
for i in $(seq "$pairs"); do
    for mode in idx folder; do
        if [ $mode = idx ]; then args=--idx; else args="--folder $png"; fi
        echo "== pair $i: $mode"
        /usr/bin/time -v "$build/dataset_mnist" $args --epochs "$epochs" --seed 42 --threads "$threads" 2>"/tmp/dataset_run_$mode.time" |
            grep -E "^epoch|Test accuracy|total"
        grep -E "Maximum resident|User time|System time|Elapsed" "/tmp/dataset_run_$mode.time"
    done
done
