#!/bin/sh
# Runs a test under mpiexec, after checking that the MPI runtime itself can
# start processes on this machine:
#   mpi_run.sh MPIEXEC NP_FLAG NP PROGRAM [ARGS...]
# If `MPIEXEC NP_FLAG NP true` fails, the machine cannot run MPI jobs at all
# (no usable network stack for OpenMPI's runtime, say): that is not deepc's
# failure, so the test is reported as SKIPPED (exit 77) with the runtime's
# own message.  Once the runtime works, whatever the test does counts.
mpiexec=$1 npflag=$2 np=$3
shift 3
if ! out=$("$mpiexec" "$npflag" "$np" true 2>&1); then
    echo "SKIPPED: the MPI runtime cannot start $np processes on this machine; its output:"
    echo "$out"
    exit 77
fi
exec "$mpiexec" "$npflag" "$np" "$@"
