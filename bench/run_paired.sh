#!/usr/bin/env bash
# Paired before/after benchmark of two deepc builds in one window: deepc
# against deepc, for a change that must not slow anything down.
#
# Usage: bench/run_paired.sh BEFORE_BUILD AFTER_BUILD
# Environment knobs:
#   ROUNDS     alternating rounds (before, after, before, after ...) (default 3)
#   STEPS      training steps timed per epoch (--max-steps) (default 150)
#   THREADS    threads (default 2)
#   MODELS     bench_train models (default "mlp cnn1 cnn2 autoencoder resnet")
# Prints, per workload, the median and the fastest over rounds of each
# build's median epoch seconds (bench_train, scaled from STEPS steps) or ms
# per step (bench_lstm), and after/before for both (< 1: the after build is
# faster).  On a machine with noisy neighbours the fastest round is the
# steadier estimate of what the code costs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BEFORE=${1:?usage: $0 BEFORE_BUILD AFTER_BUILD}
AFTER=${2:?usage: $0 BEFORE_BUILD AFTER_BUILD}
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-150}
THREADS=${THREADS:-2}
MODELS=${MODELS:-mlp cnn1 cnn2 autoencoder resnet}
# shellcheck source=bench/lib.sh
. bench/lib.sh
DATA=${DEEPC_CACHE:-$HOME/.cache/deepc}/mnist
ensure_mnist "$DATA" >/dev/null

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }'; }
fastest() { sort -n | head -1; }
ratio_of() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

# one BUILD WORKLOAD: one timing of WORKLOAD (a bench_train model, or lstm)
one() {
    # shellcheck disable=SC2086  # AVX512_CORE is one word or none
    if [ "$2" = lstm ]; then
        env $AVX512_CORE "$1/bench_lstm" --threads "$THREADS" --epochs 3 | awk '$1 == "median_ms_per_step" { print $2 }'
    else
        env $AVX512_CORE "$1/bench_train" --data "$DATA" --model "$2" --epochs 3 --max-steps "$STEPS" \
            --threads "$THREADS" | awk '$1 == "median_epoch_seconds" { print $2 }'
    fi
}

printf '%-12s %10s %10s %8s %10s %10s %8s\n' workload "before med" "after med" ratio "before min" "after min" ratio
for w in $MODELS lstm; do
    b=() a=()
    for _ in $(seq "$ROUNDS"); do
        b+=("$(one "$BEFORE" "$w")")
        a+=("$(one "$AFTER" "$w")")
    done
    mb=$(printf '%s\n' "${b[@]}" | median) ma=$(printf '%s\n' "${a[@]}" | median)
    fb=$(printf '%s\n' "${b[@]}" | fastest) fa=$(printf '%s\n' "${a[@]}" | fastest)
    printf '%-12s %10s %10s %8s %10s %10s %8s   (before: %s; after: %s)\n' "$w" "$mb" "$ma" "$(ratio_of "$ma" "$mb")" \
        "$fb" "$fa" "$(ratio_of "$fa" "$fb")" "${b[*]}" "${a[*]}"
done
