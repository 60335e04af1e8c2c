#!/bin/sh
# dataset_ab.sh - two builds of deepc (A, B: e.g. before and after a change)
# compared on the folder-training benchmark, interleaved in one window:
# each round runs A's in-memory and folder epochs, then B's, and prints each
# build's folder / IDX ratio with the load average.  Short epochs
# (SAMPLES, default 32000 = 1,000 steps) so rounds fit between other jobs.
#
# Usage: bench/dataset_ab.sh BUILD_A BUILD_B [ROUNDS]
#   THREADS=n (default 2), SAMPLES=m (0: all 60,000), WRAP=cmd (e.g. "chrt -f 1";
#   see bench/dataset_run.sh)
set -eu
a=$1
b=$2
rounds=${3:-3}
t=${THREADS:-2}
s=${SAMPLES:-32000}
png=${DEEPC_MNIST_PNG:-$HOME/.cache/deepc/mnist_png}
: "${OPENBLAS_CORETYPE:=SkylakeX}"
export OPENBLAS_CORETYPE
epoch() { # epoch BUILD ARGS...: the last epoch's seconds
    b=$1
    shift
    ${WRAP:-} "$b/dataset_mnist" "$@" --threads "$t" --samples "$s" | grep '^epoch' | tail -1 |
        sed 's/.*: \([0-9.]*\) s/\1/'
}
echo "threads=$t samples=$s wrap=\"${WRAP:-}\""
for r in $(seq "$rounds"); do
    for build in "$a" "$b"; do
        load=$(cut -d' ' -f1 /proc/loadavg)
        i=$(epoch "$build" --idx)
        f=$(epoch "$build" --folder "$png")
        echo "round $r $build: IDX $i s, folder $f s, folder / IDX $(awk -v f="$f" -v i="$i" 'BEGIN { printf "%.3f", f / i }') (load $load)"
    done
done
