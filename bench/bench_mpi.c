/*
 * bench_mpi.c - what the data-parallel combine costs: the MNIST MLP
 * (Flatten, Dense 128 relu, Dense 10 softmax; Adam; global batch 32) timed
 * per epoch, either as one process with T threads or as R MPI ranks
 * (a dc_mpi collective) with T threads each:
 *
 *   mpirun -np 1 ./build/bench_mpi --threads 2      # 1 process x 2 threads
 *   mpirun -np 2 ./build/bench_mpi --threads 1      # 2 ranks x 1 thread
 *
 * With one rank no collective is installed (the plain single-process path).
 * Rank 0 prints one line per epoch:
 *   bench_mpi ranks=R threads=T batch=B samples=N epoch=E seconds=S loss=L
 * and, with more than one rank, what the combine alone costs per step (500
 * repetitions over the model's flat gradient buffer):
 *   bench_mpi ranks=R combine floats=F microseconds=U steps_per_epoch=S seconds_per_epoch=E
 * Needs MNIST in the cache (run ./deepc.sh main once).
 *
 * Usage: bench_mpi [--threads N] [--epochs N] [--batch N] [--samples N]
 */
#include <mpi.h>

#include <deepc_mpi.h>

#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int threads = 1, epochs = 2, batch = 32, samples = 60000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc)
            epochs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--samples") && i + 1 < argc)
            samples = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--threads N] [--epochs N] [--batch N] [--samples N]\n", argv[0]);
            MPI_Finalize();
            return 2;
        }
    }
    dc_mpi *mpi = dc_mpi_new(MPI_COMM_WORLD);
    dc_dataset d;
    if (!mpi || dc_mnist_load(NULL, &d) != DC_OK) {
        fprintf(stderr, "bench_mpi: %s\n", dc_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    int rank = dc_mpi_rank(mpi), size = dc_mpi_size(mpi);
    dc_tensor *x = dc_tensor_from_u8(d.x_train, 1.0f / 255.0f), *y = dc_tensor_from_u8(d.y_train, 1.0f);
    dc_dataset_free(&d);
    if (samples > 0 && samples < x->shape[0]) {
        x->shape[0] = y->shape[0] = samples; /* the first rows only */
        x->size = (size_t)samples * 28 * 28;
        y->size = (size_t)samples;
    }
    dc_model *m = dc_sequential_new(2, (int[]){28, 28});
    const char *metrics[] = {"accuracy"};
    if (m) {
        dc_model_set_seed(m, 42);
        dc_model_set_threads(m, threads);
    }
    if (!m || dc_model_add(m, dc_layer_flatten()) || dc_model_add(m, dc_layer_dense(128, "relu")) ||
        dc_model_add(m, dc_layer_dense(10, "softmax")) ||
        dc_model_compile(m, "adam", "sparse_categorical_crossentropy", metrics, 1)) {
        fprintf(stderr, "bench_mpi: %s\n", dc_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (size > 1)
        dc_model_set_collective(m, dc_mpi_collective(mpi));
    for (int e = 1; e <= epochs; e++) {
        dc_fit_config cfg = dc_fit_defaults();
        cfg.epochs = e;
        cfg.initial_epoch = e - 1;
        cfg.batch_size = batch;
        cfg.verbose = 0;
        dc_history *h = NULL;
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = bench_now();
        if (dc_model_fit(m, x, y, &cfg, &h) != DC_OK) {
            fprintf(stderr, "bench_mpi: %s\n", dc_errmsg());
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        double dt = bench_now() - t0;
        if (rank == 0)
            printf("bench_mpi ranks=%d threads=%d batch=%d samples=%d epoch=%d seconds=%.3f loss=%.4f\n", size, threads,
                   batch, x->shape[0], e, dt, dc_history_get(h, "loss")[0]);
        dc_history_free(h);
    }
    if (size > 1) { /* the combine alone: one float sum over the flat gradient buffer, one of a few doubles */
        const dc_collective *c = dc_mpi_collective(mpi);
        size_t n;
        float *g = dc_graph_grads(dc_model_graph(m), &n);
        double d[16] = {0};
        int reps = 500;
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = bench_now();
        for (int i = 0; i < reps; i++)
            if (c->sum_f32(g, n, c->user) != DC_OK || c->sum_f64(d, 16, c->user) != DC_OK)
                MPI_Abort(MPI_COMM_WORLD, 1);
        double dt = (bench_now() - t0) / reps;
        if (rank == 0)
            printf("bench_mpi ranks=%d combine floats=%zu microseconds=%.1f steps_per_epoch=%d seconds_per_epoch=%.3f\n",
                   size, n, dt * 1e6, (x->shape[0] + batch - 1) / batch, dt * ((x->shape[0] + batch - 1) / batch));
    }
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_mpi_free(mpi);
    MPI_Finalize();
    return 0;
}
