#!/bin/sh
# dataset_run.sh - seed 003's CNN on MNIST from the IDX files in memory and
# from 70,000 PNG files (image_dataset_from_directory + fit over a
# dc_loader), paired (IDX, folder, IDX, folder ...) in the same window, each
# under /usr/bin/time -v for its peak memory (max RSS).  Prints every run's
# epoch times, test accuracy, CPU time and max RSS with the load average
# before it, then each pair's folder / IDX ratio of the last epoch's wall
# time and a summary (the issue's limit: 1.15).
#
# Usage: bench/dataset_run.sh [BUILD_DIR] [EPOCHS] [PAIRS]
#   THREADS=n   training threads (default: all cores)
#   SAMPLES=m   train on m samples an epoch instead of 60,000 (shorter runs,
#               same steps on both sides; the accuracy is then not the issue's)
#   WRAP=cmd    run both under cmd, e.g. WRAP="chrt -f 1" (as root: the
#               runs' threads are real-time, so a machine shared with other
#               jobs gives them its cores first, minus the kernel's 5% for
#               the rest; the folder's SCHED_IDLE reader thread still gets
#               only idle time, which the other jobs take, so this favours
#               the in-memory run, if anything)
#   COLD=1      drop the page cache (sync; echo 3 > /proc/sys/vm/drop_caches,
#               root only) before every pair, so both runs of each pair read
#               their files from the disk; COLD=first: before the first pair
#               only (then the later pairs are warm)
# The folder runs print their file prefetcher's counts (dataset_prefetch.c:
# files touched, found uncached, the threads' CPU time), one line a pipe;
# DEEPC_PREFETCH=off|on (exported) turns it off or always on.
# Needs ~/.cache/deepc/mnist_png (bench/dataset_mnist_png.py writes it).
set -eu
build=${1:-build}
epochs=${2:-1}
pairs=${3:-1}
threads=${THREADS:-0}
samples=${SAMPLES:-0}
cold=${COLD:-0}
case $cold in
0 | 1 | first) ;;
*) echo "COLD=$cold: expected 0, 1 or first" >&2; exit 2 ;;
esac
if [ "$cold" != 0 ] && [ "$(id -u)" != 0 ]; then
    echo "COLD=$cold drops the page cache, which needs root; run as root or without COLD" >&2
    exit 2
fi
png=${DEEPC_MNIST_PNG:-$HOME/.cache/deepc/mnist_png}
[ -d "$png/training" ] || /usr/bin/python3 "$(dirname "$0")/dataset_mnist_png.py"
: "${OPENBLAS_CORETYPE:=SkylakeX}"
export OPENBLAS_CORETYPE
out=${TMPDIR:-/tmp}/dataset_run.$$
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT
echo "threads=$threads epochs=$epochs pairs=$pairs samples=$samples (0: all) wrap="${WRAP:-}" cold=$cold prefetch=${DEEPC_PREFETCH:-auto} build=$build"
for i in $(seq "$pairs"); do
    if [ "$cold" = 1 ] || { [ "$cold" = first ] && [ "$i" = 1 ]; }; then
        sync
        echo 3 >/proc/sys/vm/drop_caches
        echo "== pair $i: dropped the page cache (cold files)"
    fi
    for mode in idx folder; do
        if [ $mode = idx ]; then args=--idx; else args="--folder $png"; fi
        echo "== pair $i: $mode   (load average $(cut -d' ' -f1-3 /proc/loadavg))"
        DEEPC_PREFETCH_STATS=1 ${WRAP:-} /usr/bin/time -v "$build/dataset_mnist" $args --epochs "$epochs" --seed 42 --threads "$threads" \
            --samples "$samples" 2>"$out/$mode.time" >"$out/$mode.out" || { cat "$out/$mode.time"; exit 1; }
        grep -E "^epoch|Test accuracy|total" "$out/$mode.out"
        grep "^prefetch:" "$out/$mode.time" || true
        grep -E "Maximum resident|User time|System time|Elapsed" "$out/$mode.time"
        grep "^epoch" "$out/$mode.out" | tail -1 | sed 's/.*: \([0-9.]*\) s/\1/' >"$out/$mode.$i"
    done
    echo "-- pair $i: last epoch folder / IDX = $(cat "$out/folder.$i") s / $(cat "$out/idx.$i") s = $(awk -v f="$(cat "$out/folder.$i")" -v m="$(cat "$out/idx.$i")" 'BEGIN { printf "%.3f", f / m }')"
done
echo "== summary (threads=$threads): folder epoch / in-memory epoch, each pair (limit 1.15):"
for i in $(seq "$pairs"); do
    awk -v i="$i" -v f="$(cat "$out/folder.$i")" -v m="$(cat "$out/idx.$i")" \
        'BEGIN { printf "   pair %d: %.2f s / %.2f s = %.3f%s\n", i, f, m, f / m, f / m <= 1.15 ? "" : "  (over 1.15)" }'
done
