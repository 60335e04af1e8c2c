/*
 * parity_cnn.c - deepc's half of a training-parity check against PyTorch
 * (bench/parity_cnn.py holds the other half; bench/run_parity.sh runs both).
 *
 * Seed 003's CNN is trained for STEPS steps of batch 32 on the first
 * STEPS * 32 Fashion-MNIST (or MNIST) training images, in order (no
 * shuffling), one thread, with Keras' Adam.  The initial and the final
 * weights are saved as safetensors and every step's loss is printed, so the
 * PyTorch script can start from the same weights, take the same steps and
 * say how far apart the two trajectories end.  Accuracy differences between
 * the frameworks that survive this check cannot come from the arithmetic.
 *
 * Usage: parity_cnn OUTDIR [STEPS] [SEED] [--mnist]
 * Prints "step S loss L" lines (the batch's own loss, not a running mean).
 * PARITY_THREADS=N in the environment trains on N threads instead of one
 * (1 and 2 threads agree bitwise for the first 10 steps, then drift apart by
 * rounding as two PyTorch layouts do).
 */
#include "deepc.h"

#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double prev_sum; /* running mean * steps so far, to recover each batch's loss */
} loss_log;

static dc_status print_batch_loss(void *user, dc_model *m, int batch, dc_logs *logs)
{
    (void)m;
    loss_log *l = user;
    const double *mean = dc_logs_get(logs, "loss");
    double sum = *mean * (batch + 1); /* every batch is full: the mean weighs them equally */
    printf("step %d loss %.9g\n", batch + 1, sum - l->prev_sum);
    l->prev_sum = sum;
    return DC_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUTDIR [STEPS] [SEED] [--mnist]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    int steps = argc > 2 ? atoi(argv[2]) : 200, seed = argc > 3 ? atoi(argv[3]) : 42;
    int mnist = argc > 4 && strcmp(argv[4], "--mnist") == 0;
    dc_dataset d;
    if ((mnist ? dc_mnist_load(NULL, &d) : dc_fashion_mnist_load(NULL, &d)) != DC_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], dc_errmsg());
        return 1;
    }
    int n = steps * 32;
    if (steps < 1 || n > d.x_train->shape[0]) {
        fprintf(stderr, "%s: STEPS must be 1 to %d\n", argv[0], d.x_train->shape[0] / 32);
        return 2;
    }
    dc_tensor *xa = dc_tensor_from_u8(d.x_train, 1.0f / 255.0f), *ya = dc_tensor_from_u8(d.y_train, 1.0f);
    dc_tensor *x = dc_tensor_from(4, (int[]){n, 28, 28, 1}, xa->data), *y = dc_tensor_from(1, (int[]){n}, ya->data);
    dc_model *m = dc_sequential_new(3, (int[]){28, 28, 1});
    dc_model_set_seed(m, (uint64_t)seed);
    const char *th = getenv("PARITY_THREADS");
    dc_model_set_threads(m, th ? atoi(th) : 1);
    bench_add_cnn2_body(m);
    dc_model_add(m, dc_layer_dense(10, "softmax"));
    char path[4096];
    dc_status st = dc_model_compile(m, "adam", "sparse_categorical_crossentropy", NULL, 0);
    snprintf(path, sizeof path, "%s/init.safetensors", dir);
    if (st == DC_OK)
        st = dc_model_save_weights(m, path);
    loss_log log = {0};
    dc_callback cb = {.user = &log, .on_batch_end = print_batch_loss}, *cbs[1] = {&cb};
    dc_fit_config fc = dc_fit_defaults();
    fc.shuffle = 0;
    fc.verbose = 0;
    fc.callbacks = cbs;
    fc.n_callbacks = 1;
    if (st == DC_OK)
        st = dc_model_fit(m, x, y, &fc, NULL);
    snprintf(path, sizeof path, "%s/final.safetensors", dir);
    if (st == DC_OK)
        st = dc_model_save_weights(m, path);
    if (st != DC_OK)
        fprintf(stderr, "%s: %s\n", argv[0], dc_errmsg());
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(xa);
    dc_tensor_free(ya);
    dc_dataset_free(&d);
    return st == DC_OK ? 0 : 1;
}
