/*
 * transformer_block.c - one Transformer encoder block's training step,
 * the deepc side of bench/transformer_block.sh (PyTorch: transformer_block.py).
 *
 *   x (32, 128, 128) -> a = MultiHeadAttention(4, key_dim=32)(x, x)
 *   h = LayerNormalization(epsilon=1e-6)(x + a)
 *   y = LayerNormalization(epsilon=1e-6)(h + Dense(128)(Dense(512, activation="gelu")(h)))
 *   loss mse(y, random target), Adam; train_on_batch on one fixed batch.
 *
 * Prints the median ms per step over --steps steps after --warmup, wall-clock
 * and process CPU time.
 *
 * Usage: transformer_block [--threads N] [--steps N] [--warmup N]
 */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { B = 32, T = 128, DIM = 128, HEADS = 4, FF = 512 };

static dc_layer *layer_norm(void)
{
    dc_layer_norm_config c = dc_layer_norm_defaults();
    c.epsilon = 1e-6f;
    return dc_layer_layer_normalization_ex(&c);
}

/* The process's CPU time in seconds (all its threads). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    int threads = 2, steps = 20, warmup = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--steps"))
            steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--warmup"))
            warmup = atoi(argv[i + 1]);
    }
    if (steps < 1 || steps > 1000 || warmup < 0 || threads < 1) {
        fprintf(stderr, "usage: transformer_block [--threads N] [--steps 1..1000] [--warmup N]\n");
        return 2;
    }
    dc_model *m = dc_functional_new(2, (int[]){T, DIM});
    int x = DC_MODEL_INPUT;
    int a = dc_model_merge(m, dc_layer_multi_head_attention(HEADS, DIM / HEADS), 2, (int[]){x, x});
    int h = dc_model_apply(m, layer_norm(), dc_model_merge(m, dc_layer_add(), 2, (int[]){x, a}));
    int f = dc_model_apply(m, dc_layer_dense(FF, "gelu"), h);
    f = dc_model_apply(m, dc_layer_dense(DIM, NULL), f);
    dc_model_apply(m, layer_norm(), dc_model_merge(m, dc_layer_add(), 2, (int[]){h, f}));
    dc_model_set_seed(m, 1);
    dc_model_set_threads(m, threads);
    if (dc_model_compile(m, "adam", "mse", NULL, 0)) {
        fprintf(stderr, "transformer_block: %s\n", dc_errmsg());
        return 1;
    }
    dc_tensor *xb = dc_tensor_new4(3, B, T, DIM, 0), *yb = dc_tensor_new4(3, B, T, DIM, 0);
    if (!xb || !yb)
        return 1;
    dc_rng rng;
    dc_rng_seed(&rng, 2);
    for (size_t i = 0; i < xb->size; i++) {
        xb->data[i] = 2.0f * dc_rng_uniform(&rng) - 1.0f;
        yb->data[i] = 2.0f * dc_rng_uniform(&rng) - 1.0f;
    }
    double *ms = malloc(2 * (size_t)steps * sizeof *ms), *cpu = ms ? ms + steps : NULL, loss = 0.0;
    if (!ms)
        return 1;
    for (int s = 0; s < warmup + steps; s++) {
        double t0 = bench_now(), c0 = cpu_now();
        if (dc_model_train_on_batch(m, xb, yb, NULL, &loss, 1)) {
            fprintf(stderr, "transformer_block: %s\n", dc_errmsg());
            return 1;
        }
        if (s >= warmup)
        {
            ms[s - warmup] = 1e3 * (bench_now() - t0);
            cpu[s - warmup] = 1e3 * (cpu_now() - c0);
        }
    }
    qsort(ms, (size_t)steps, sizeof *ms, bench_cmp_double);
    qsort(cpu, (size_t)steps, sizeof *cpu, bench_cmp_double);
    printf("deepc encoder block B=%d T=%d dim=%d heads=%d ff=%d threads=%d loss %.4f median_ms_per_step %.2f median_cpu_ms_per_step %.2f\n", B, T,
           DIM, HEADS, FF, threads, loss, ms[steps / 2], cpu[steps / 2]);
    free(ms);
    dc_tensor_free(xb);
    dc_tensor_free(yb);
    dc_model_free(m);
    return 0;
}
