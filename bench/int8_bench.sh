#!/bin/sh
# int8_bench.sh [BUILD] - int8 against float (docs/benchmarks.md, "int8 and
# the generated C"): build/int8_bench on the MNIST test set, one thread, CPU
# time, OpenBLAS on its SkylakeX kernels (an AVX-512 CPU it may misdetect),
# the load average printed before and after.  Extra arguments go to
# int8_bench (--models cnn, --reps 9, --no-c ...).
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
cmake --build "$build" --target int8_bench > /dev/null
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# from the build folder: int8_bench finds tests/export_c/latency_main.c relative to its source, as compiled there
(cd "$build" && OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 ./int8_bench --threads 1 --dir int8_bench_out "$@")
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
