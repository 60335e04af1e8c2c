#!/usr/bin/env bash
# tools/digests.sh BUILD_DIR - prints a hash of the final parameters of every
# model and graph that each test and each example's short run frees
# (DEEPC_DIGEST=1, src/graph/graph.c), one thread, seeded.  Run it on two
# builds and diff the outputs: a refactoring that keeps training bit for bit
# the same prints the same lines.
#   tools/digests.sh build > before.txt; ...; tools/digests.sh build > after.txt; diff before.txt after.txt
set -uo pipefail
B=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
export DEEPC_DIGEST=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
# deepc.sh's rule: name the AVX-512 core only where the CPU has AVX-512
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
    export OPENBLAS_CORETYPE=SkylakeX
fi
run() { # run NAME command...
    local name=$1; shift
    (cd "$B" && "$@" 2>&1) | grep '^deepc digest:' | sed "s|^deepc digest:|$name|"
}
for t in "$B"/test_*; do
    [ -x "$t" ] || continue
    n=$(basename "$t")
    case $n in *_mpi) continue ;; esac
    run "$n" "$t"
done
E=(
  "mnist_mlp --epochs 1 --threads 1"
  "mnist_cnn --epochs 1 --threads 1"
  "cnn --epochs 1 --threads 1"
  "cnn --epochs 1 --threads 1 --fashion"
  "spam_lstm --epochs 1 --threads 1"
  "spam_lstm --conv1d --epochs 1 --threads 1"
  "spam_bow --epochs 1 --threads 1 --out $B/digest_spam_bow"
  "resnet --epochs 1 --threads 1 --train 2000 --test 500"
  "autoencoder --epochs 1 --threads 1"
  "siamese --epochs 1 --threads 1 --pairs 2000 --out $B/digest_siamese.png"
  "addition_rnn --digits 2 --samples 2000 --epochs 2 --threads 1"
  "seq_tagging --epochs 2 --threads 1"
  "linear_regression --epochs 20 --out $B/digest_linreg.png"
  "logistic_regression --epochs 5 --out $B/digest_logreg"
  "decision_boundary --epochs 5 --threads 1 --out $B/digest_db.png"
  "iris_csv $SRC/tests/fixtures/csv/iris.csv --epochs 20"
  "own_loop --epochs 1 --threads 1"
  "from_scratch"
  "save_resume $B"
)
for e in "${E[@]}"; do
    set -- $e
    [ -x "$B/$1" ] || { echo "$1 missing"; continue; }
    run "$(echo "$e" | tr ' ' '_' | sed "s|$B|B|g; s|$SRC|S|g")" "$B/$@"
done
