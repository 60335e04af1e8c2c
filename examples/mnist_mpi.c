/*
 * mnist_mpi.c - the tutorials' MNIST MLP (examples/mnist_mlp.c) trained
 * data-parallel over MPI, as Keras does with MultiWorkerMirroredStrategy or
 * Horovod: run the same program on every rank,
 *
 *   mpirun -np 2 ./build/mnist_mpi --epochs 5 --threads 1
 *
 * Every rank loads the whole data set; --batch is the GLOBAL batch, split
 * into one slice per rank; the gradients are combined every step, so the
 * weights stay identical on every rank.  Rank 0 alone prints (progress,
 * summary, test accuracy).  Rank 0 fetches MNIST first if it is not cached
 * yet, the others read it after.
 *
 * Usage: mnist_mpi [--epochs N] [--batch N] [--seed N] [--threads N] [--fashion]
 */
#include <mpi.h>

#include <deepc_mpi.h>

#include "example_util.h"

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rc = 1;
    dc_mpi *mpi = dc_mpi_new(MPI_COMM_WORLD);
    if (!mpi) {
        example_fail(argv[0], "setting up MPI");
        MPI_Finalize();
        return 1;
    }
    int rank = dc_mpi_rank(mpi);
    example_opts o = {.epochs = 5, .batch = 32, .seed = 42};
    if (example_parse(argc, argv, &o)) {
        dc_mpi_free(mpi);
        MPI_Finalize();
        return 2;
    }
    /* rank 0 downloads if needed; the others wait, then read the cache */
    dc_tensor *x_train = NULL, *y_train = NULL, *x_test = NULL, *y_test = NULL;
    int loaded = rank == 0 ? !example_load(&o, 0, &x_train, &y_train, &x_test, &y_test) : 0;
    MPI_Bcast(&loaded, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (loaded && rank != 0)
        loaded = !example_load(&o, 0, &x_train, &y_train, &x_test, &y_test);
    int all_loaded = 0;
    MPI_Allreduce(&loaded, &all_loaded, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    dc_model *model = dc_sequential_new(2, (int[]){28, 28});
    const char *metrics[] = {"accuracy"};
    if (model) { /* before compile, which draws the initial weights */
        dc_model_set_seed(model, o.seed);
        dc_model_set_threads(model, o.threads);
    }
    if (!all_loaded) {
        example_fail(argv[0], "loading the data");
    } else if (!model || dc_model_add(model, dc_layer_flatten()) || dc_model_add(model, dc_layer_dense(128, "relu")) ||
               dc_model_add(model, dc_layer_dense(10, "softmax")) ||
               dc_model_compile(model, "adam", "sparse_categorical_crossentropy", metrics, 1)) {
        example_fail(argv[0], "building the model");
    } else {
        dc_model_set_collective(model, dc_mpi_collective(mpi));
        if (rank == 0) {
            printf("Data-parallel over %d MPI ranks, global batch %d\n", dc_mpi_size(mpi), o.batch);
            dc_model_summary(model, stdout);
        }
        dc_fit_config fit = dc_fit_defaults();
        fit.epochs = o.epochs;
        fit.batch_size = o.batch;
        double results[2];
        if (dc_model_fit(model, x_train, y_train, &fit, NULL))
            example_fail(argv[0], "fit");
        else if (dc_model_evaluate(model, x_test, y_test, 32, 1, results, 2))
            example_fail(argv[0], "evaluate");
        else {
            if (rank == 0)
                printf("Test accuracy: %.4f\n", results[1]);
            rc = 0;
        }
    }
    dc_model_free(model);
    dc_tensor_free(x_train);
    dc_tensor_free(y_train);
    dc_tensor_free(x_test);
    dc_tensor_free(y_test);
    dc_mpi_free(mpi);
    MPI_Finalize();
    return rc;
}
