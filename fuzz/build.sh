#!/usr/bin/env bash
# fuzz/build.sh - builds the libFuzzer targets with clang, ASan and UBSan.
#   fuzz/build.sh [OUT]          build every fuzz/fuzz_*.c into OUT (build-fuzz)
#   fuzz/build.sh OUT run T S    then run target T for S seconds on its corpus
# The corpus in fuzz/corpus/T is only read; new inputs go to OUT/corpus-T.
# The normal build replays the committed corpora with gcc (ctest fuzz_replay_*).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build-fuzz}
mkdir -p "$OUT/obj" "$OUT/onnx_pb"
# src/onnx/ reads and writes ONNX through protobuf-c's code for libonnx-dev's onnx.proto (as CMakeLists.txt)
[ -f "$OUT/onnx_pb/onnx.pb-c.c" ] || protoc-c --proto_path=/usr/include/onnx --c_out="$OUT/onnx_pb" /usr/include/onnx/onnx.proto
BLAS_INC=/usr/include/x86_64-linux-gnu/openblas-openmp
BLAS_LIB=/usr/lib/x86_64-linux-gnu/openblas-openmp
CFLAGS=(-std=c11 -g -O1 -D_DEFAULT_SOURCE -Iinclude -Isrc -I"$OUT/onnx_pb" -I"$BLAS_INC" $(pkg-config --cflags plplot) -fopenmp=libgomp
        -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
# Objects older than their source or than any header are rebuilt (no
# per-file dependency tracking: a changed header rebuilds everything).
newest_header=$(find include src -name '*.h' -printf '%T@ %p\n' | sort -n | tail -1 | cut -d' ' -f2)
objs=()
for src in $(find src -name '*.c' -not -path 'src/dist/*' | sort) "$OUT/onnx_pb/onnx.pb-c.c"; do  # src/dist needs MPI, no reader does
    obj="$OUT/obj/$(echo "$src" | tr / _).o"
    if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$newest_header" -nt "$obj" ]; then
        clang "${CFLAGS[@]}" -c "$src" -o "$obj"
    fi
    objs+=("$obj")
done
for t in fuzz/fuzz_*.c; do
    name=$(basename "$t" .c)
    clang "${CFLAGS[@]}" -fsanitize=fuzzer "$t" "${objs[@]}" -o "$OUT/$name" \
        -L"$BLAS_LIB" -Wl,-rpath,"$BLAS_LIB" -lopenblas $(pkg-config --libs plplot) -lprotobuf-c -lz -ljpeg -lpthread -lm -lgomp
done
echo "fuzz targets in $OUT: $(cd "$OUT" && ls fuzz_* | tr '\n' ' ')"
if [ "${2:-}" = run ]; then
    t=$3 secs=${4:-600}
    mkdir -p "$OUT/corpus-$t"
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$OUT/$t" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 "$OUT/corpus-$t" "fuzz/corpus/$t"
fi
