#!/bin/sh
# tests/check_globals.sh NM LIBRARY.a... - the "no global mutable state" rule
# of docs/ARCHITECTURE.md, checked on the built static libraries.
#
# Lists every symbol that lives in writable data: the sections .data, .bss
# (nm's D/d, B/b) and their thread-local twins .tdata and .tbss, which count
# too (a per-thread setting is still a hidden switch).  Read-only data is not
# listed: const tables, and tables of pointers in .data.rel.ro, which the
# loader relocates and then makes read-only (nm calls those 'd' as well).
# Fails on any symbol not in the allowlist below, printing it.
#
# A static local variable appears as name.N; the .N is dropped.  ctest runs
# this (test check_globals) in every build but the sanitizer ones, whose
# instrumentation adds globals of its own.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 NM LIBRARY.a..." >&2; exit 2; }
NM=$1
shift
for lib in "$@"; do
    [ -f "$lib" ] || { echo "$0: no $lib" >&2; exit 2; }
done

# object (source file) and symbol of what may stay, and why.  Add a line only
# for state that is per-thread by design, or made once and only read after,
# or the state of a process-wide library that deepc cannot make per-model.
allowlist='
error.c errbuf     thread-local: the calling thread'"'"'s last error message (dc_errmsg), as errno
error.c errstat    thread-local: the status that goes with that message (dc_last_status)
text.c  utf8_loc   the C.UTF-8 locale, made once (pthread_once) and only read after
text.c  utf8_once  the pthread_once flag of utf8_loc
json.c  c_loc      the "C" locale for number text (dc_strtod_c, dc_fmt_double), made once
json.c  c_once       (pthread_once) and only read after; c_once is its pthread_once flag
plot.c  plot_lock  PLplot is one process-wide, non-reentrant library with one exit handler; its
plot.c  plot_jump    session state is process-wide too, and read or written only under
plot.c  plot_active  plot_lock (where the exit handler jumps back to, whether a plot runs,
plot.c  plot_error   PLplot'"'"'s last message)
'

# writable LIBRARY.a: "object symbol section" per writable data symbol.
writable() {
    "$NM" -f sysv "$1" | awk -F'|' '
        /^Symbols from / { obj = $0; sub(/.*\[/, "", obj); sub(/\.o\]:.*$/, "", obj); next }
        NF >= 7 {
            sym = $1; sec = $7
            gsub(/ /, "", sym); gsub(/ /, "", sec)
            if (sec ~ /^\.data\.rel\.ro/) next
            if (sec !~ /^\.(t?data|t?bss)(\.|$)/ && sec != "*COM*") next
            sub(/\.[0-9]+$/, "", sym)
            print obj, sym, sec
        }'
}

report=$(for lib in "$@"; do
    [ -n "$(writable "$lib")" ] || echo "$lib: no writable data"
    writable "$lib" | while read -r obj sym sec; do
        if echo "$allowlist" | grep -Eq "^$obj +$sym( |$)"; then
            echo "$lib: allowed $obj $sym ($sec)"
        else
            echo "$lib: NOT ALLOWED $obj $sym ($sec): mutable global state; move it into a model, graph or" \
                 "context, or justify it in tests/check_globals.sh"
        fi
    done
done)
echo "$report"
case $report in
*"NOT ALLOWED"*) exit 1 ;;
esac
