/*
 * mpi_collective.c - the deepc_mpi library: a dc_collective over MPI.
 *
 * MPI_Allreduce may give ranks different floating-point sums (a reduction
 * tree per rank), which would let the replicas' weights drift apart, so a
 * sum is MPI_Reduce to rank 0 then MPI_Bcast: every rank gets rank 0's
 * bits.  Errors return (MPI_ERRORS_RETURN on deepc's own duplicate of the
 * communicator) with MPI's message.  Counts above INT_MAX go in chunks.
 */
#include "deepc_mpi.h"

#include <limits.h>
#include <stdlib.h>

#include "core/core.h"

struct dc_mpi {
    MPI_Comm comm;
    dc_collective coll;
};

static dc_status mpi_fail(int rc, const char *call)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS)
        snprintf(msg, sizeof msg, "error %d", rc);
    return dc_fail(DC_ERR_IO, "MPI: %s failed: %s", call, msg);
}

/* Reduce to rank 0, then broadcast, chunk by chunk. */
static dc_status sum_type(void *buf, size_t count, size_t elem, MPI_Datatype type, const dc_mpi *mpi)
{
    int rank;
    MPI_Comm_rank(mpi->comm, &rank);
    for (size_t done = 0; done < count;) {
        int n = count - done > (size_t)INT_MAX ? INT_MAX : (int)(count - done);
        char *p = (char *)buf + done * elem;
        int rc = rank == 0 ? MPI_Reduce(MPI_IN_PLACE, p, n, type, MPI_SUM, 0, mpi->comm)
                           : MPI_Reduce(p, NULL, n, type, MPI_SUM, 0, mpi->comm);
        if (rc != MPI_SUCCESS)
            return mpi_fail(rc, "MPI_Reduce");
        if ((rc = MPI_Bcast(p, n, type, 0, mpi->comm)) != MPI_SUCCESS)
            return mpi_fail(rc, "MPI_Bcast");
        done += (size_t)n;
    }
    return DC_OK;
}

static dc_status sum_f32(float *buf, size_t count, void *user) { return sum_type(buf, count, sizeof *buf, MPI_FLOAT, user); }

static dc_status sum_f64(double *buf, size_t count, void *user)
{
    return sum_type(buf, count, sizeof *buf, MPI_DOUBLE, user);
}

static dc_status bcast_f32(float *buf, size_t count, int root, void *user)
{
    const dc_mpi *mpi = user;
    for (size_t done = 0; done < count;) {
        int n = count - done > (size_t)INT_MAX ? INT_MAX : (int)(count - done);
        int rc = MPI_Bcast(buf + done, n, MPI_FLOAT, root, mpi->comm);
        if (rc != MPI_SUCCESS)
            return mpi_fail(rc, "MPI_Bcast");
        done += (size_t)n;
    }
    return DC_OK;
}

dc_mpi *dc_mpi_new(MPI_Comm comm)
{
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (!init || fin)
        return dc_fail_null(DC_ERR_STATE, "dc_mpi_new: MPI is %s; call MPI_Init first (and dc_mpi_free before "
                                          "MPI_Finalize)", fin ? "already finalised" : "not initialised");
    if (comm == MPI_COMM_NULL)
        return dc_fail_null(DC_ERR_ARG, "dc_mpi_new: the communicator is MPI_COMM_NULL (is this process outside "
                                        "the sub-communicator?)");
    dc_mpi *mpi = dc_calloc(1, sizeof *mpi);
    if (!mpi)
        return NULL;
    int rc = MPI_Comm_dup(comm, &mpi->comm);
    if (rc != MPI_SUCCESS) {
        free(mpi);
        mpi_fail(rc, "MPI_Comm_dup");
        return NULL;
    }
    MPI_Comm_set_errhandler(mpi->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(mpi->comm, &mpi->coll.rank);
    MPI_Comm_size(mpi->comm, &mpi->coll.size);
    mpi->coll.sum_f32 = sum_f32;
    mpi->coll.sum_f64 = sum_f64;
    mpi->coll.bcast_f32 = bcast_f32;
    mpi->coll.user = mpi;
    return mpi;
}

void dc_mpi_free(dc_mpi *mpi)
{
    if (!mpi)
        return;
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin)
        MPI_Comm_free(&mpi->comm);
    free(mpi);
}

const dc_collective *dc_mpi_collective(const dc_mpi *mpi)
{
    DC_CHECK_NULL_OR(mpi, NULL);
    return &mpi->coll;
}
int dc_mpi_rank(const dc_mpi *mpi)
{
    DC_CHECK_NULL_OR(mpi, -1);
    return mpi->coll.rank;
}
/* 0 for NULL: a count */
int dc_mpi_size(const dc_mpi *mpi)
{
    DC_CHECK_NULL_OR(mpi, 0);
    return mpi->coll.size;
}
