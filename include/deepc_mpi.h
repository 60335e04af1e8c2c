/*
 * deepc_mpi.h - data-parallel training over MPI (the optional deepc_mpi
 * library, built when CMake finds MPI for C; link with deepc_mpi).
 *
 * The caller owns MPI, as with Horovod: MPI_Init before dc_mpi_new,
 * dc_mpi_free before MPI_Finalize.  A dc_mpi is a dc_collective (see
 * "data-parallel training" in deepc.h) over a duplicate of the communicator
 * the caller passes (MPI_COMM_WORLD or a sub-communicator), so deepc's
 * messages never mix with the caller's.  Sums are reduced to rank 0 and
 * broadcast, so every rank gets bitwise identical results.
 *
 *     MPI_Init(&argc, &argv);
 *     dc_mpi *mpi = dc_mpi_new(MPI_COMM_WORLD);
 *     dc_model_set_collective(model, dc_mpi_collective(mpi));
 *     dc_model_fit(model, x, y, &cfg, &history);  // the same on every rank
 *     ...
 *     dc_model_free(model);
 *     dc_mpi_free(mpi);
 *     MPI_Finalize();
 *
 *     mpirun -np 2 ./program
 *
 * NULL arguments follow the rule at the top of deepc.h.
 */
#ifndef DEEPC_MPI_H
#define DEEPC_MPI_H

#include <mpi.h>

#include "deepc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dc_mpi dc_mpi;

/* A collective over a duplicate of comm (comm itself is not kept).  Errors
 * (NULL, message in dc_errmsg()): MPI not initialised or already finalised,
 * MPI_COMM_NULL, an MPI call failing.  Collective over comm: every rank of
 * comm must call it.  Caller frees with dc_mpi_free. */
dc_mpi *dc_mpi_new(MPI_Comm comm);
/* Frees the duplicate communicator (collective over comm; before
 * MPI_Finalize).  NULL does nothing. */
void dc_mpi_free(dc_mpi *mpi);
/* The collective to pass to dc_model_set_collective; borrowed from mpi. */
const dc_collective *dc_mpi_collective(const dc_mpi *mpi);
/* This process's rank and the number of processes in the communicator. */
int dc_mpi_rank(const dc_mpi *mpi);
int dc_mpi_size(const dc_mpi *mpi);

#ifdef __cplusplus
}
#endif

#endif
