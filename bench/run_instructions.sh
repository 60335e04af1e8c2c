#!/usr/bin/env bash
# Instructions per training step of two deepc builds, counted by valgrind
# (callgrind): deterministic, so a small difference between a build before
# and after a change shows where wall-clock timing on a shared machine
# cannot (bench/run_paired.sh).  It measures work, not memory stalls.
#
# Usage: bench/run_instructions.sh BEFORE_BUILD AFTER_BUILD
#   MODELS  bench_train models (default "mlp cnn1 cnn2 autoencoder resnet")
#   LO, HI  the two step counts whose difference is timed (default 4 and 12)
# One thread, so OpenMP scheduling adds nothing; the setup (loading MNIST,
# compile) cancels out in the difference.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BEFORE=${1:?usage: $0 BEFORE_BUILD AFTER_BUILD}
AFTER=${2:?usage: $0 BEFORE_BUILD AFTER_BUILD}
MODELS=${MODELS:-mlp cnn1 cnn2 autoencoder resnet}
LO=${LO:-4}
HI=${HI:-12}
command -v valgrind >/dev/null || { echo "error: valgrind not found (apt-get install -y valgrind)" >&2; exit 1; }
# shellcheck source=bench/lib.sh
. bench/lib.sh
DATA=${DEEPC_CACHE:-$HOME/.cache/deepc}/mnist
ensure_mnist "$DATA" >/dev/null

# ir BUILD MODEL STEPS: instructions of one run
ir() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1/bench_train" --data "$DATA" --model "$2" \
        --epochs 1 --max-steps "$3" --threads 1 2>&1 >/dev/null | awk '/Collected :/ { print $4 }'
}

printf '%-12s %16s %16s %8s\n' workload "before instr/step" "after instr/step" after/before
for m in $MODELS; do
    b=$(( ($(ir "$BEFORE" "$m" "$HI") - $(ir "$BEFORE" "$m" "$LO")) / (HI - LO) ))
    a=$(( ($(ir "$AFTER" "$m" "$HI") - $(ir "$AFTER" "$m" "$LO")) / (HI - LO) ))
    printf '%-12s %16d %16d %8s\n' "$m" "$b" "$a" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", a / b }')"
done
