#!/bin/sh
# tests/install/check.sh PREFIX - builds and runs a user's programs (mlp.c,
# plot.c) against the deepc installed in PREFIX (`cmake --install build
# --prefix PREFIX`), the two ways a user would:
#   pkg-config   cc prog.c $(pkg-config --cflags --libs deepc), shared, and
#                with --static and the .a libraries
#   CMake        find_package(deepc) in tests/install/CMakeLists.txt, with
#                deepc::deepc, deepc::deepc_static and the deepc_plot twins
# and checks the link: the core library needs no PLplot or cairo, a program
# that does not plot neither, and a static program no libdeepc*.so.
# ./deepc.sh test runs it; any failure ends it with a non-zero status.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 PREFIX" >&2; exit 2; }
prefix=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CC=${CC:-cc}

fail() { echo "install check: $*" >&2; exit 1; }

pc=$(find "$prefix" -name deepc.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || fail "no pkgconfig/deepc.pc under $prefix"
libdir=$(dirname "$(dirname "$pc")")
export PKG_CONFIG_PATH="$libdir/pkgconfig"

# needed FILE: the libraries FILE names as DT_NEEDED, one a line.
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

# no_plplot FILE: fails if FILE needs PLplot or cairo.
no_plplot() {
    if needed "$1" | grep -E 'plplot|cairo'; then fail "$1 links PLplot"; fi
}

# static_only FILE: fails if FILE needs a shared deepc library.
static_only() {
    if needed "$1" | grep 'deepc'; then fail "$1 should link deepc statically"; fi
}

# run PROGRAM [ARGS]: runs it, shared libraries from the install first.
run() { LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" OMP_NUM_THREADS=2 "$@"; }

echo "install check: $(readelf -d "$libdir/libdeepc.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/soname \1/p'), $pc"
no_plplot "$libdir/libdeepc.so"

# pkg-config, shared libraries
$CC "$here/mlp.c" $(pkg-config --cflags --libs deepc) -o "$work/mlp"
no_plplot "$work/mlp"
run "$work/mlp"
$CC "$here/plot.c" $(pkg-config --cflags --libs deepc_plot) -o "$work/plot"
run "$work/plot" "$work/plot.png"
[ -s "$work/plot.png" ] || fail "plot wrote no $work/plot.png"

# pkg-config, static libraries: -l:libdeepc.a names the archive where
# -ldeepc would take the shared library; --static adds what it needs.
static_libs() { pkg-config --static --libs "$1" | sed -E 's/-l(deepc[a-z_]*)/-l:lib\1.a/g'; }
$CC "$here/mlp.c" $(pkg-config --cflags deepc) $(static_libs deepc) -o "$work/mlp_static"
static_only "$work/mlp_static"
no_plplot "$work/mlp_static"
OMP_NUM_THREADS=2 "$work/mlp_static"
$CC "$here/plot.c" $(pkg-config --cflags deepc_plot) $(static_libs deepc_plot) -o "$work/plot_static"
static_only "$work/plot_static"
rm -f "$work/plot.png"
"$work/plot_static" "$work/plot.png"
[ -s "$work/plot.png" ] || fail "plot_static wrote no $work/plot.png"

# CMake: find_package(deepc) (the build tree's RPATH finds the libraries)
cmake -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cmake" >/dev/null
no_plplot "$work/cmake/mlp"
static_only "$work/cmake/mlp_static"
static_only "$work/cmake/plot_static"
OMP_NUM_THREADS=2 "$work/cmake/mlp"
OMP_NUM_THREADS=2 "$work/cmake/mlp_static"
rm -f "$work/plot.png"
"$work/cmake/plot" "$work/plot.png"
"$work/cmake/plot_static" "$work/plot.png"
echo "install check: passed"
