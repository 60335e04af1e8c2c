/*
 * mlp.c - a program of a deepc user, built against the installed library by
 * tests/install/check.sh: the tutorial's MLP (Flatten, Dense 128 relu,
 * Dense 10 softmax) trained for one epoch on 256 random 28 x 28 images with
 * random labels.  Prints the epoch's loss; fails unless it is finite.
 */
#include <deepc.h>

#include <math.h>
#include <stdio.h>

enum { N = 256, SIDE = 28, CLASSES = 10 };

int main(void)
{
    dc_rng rng;
    dc_rng_seed(&rng, 1);
    dc_tensor *x = dc_tensor_new4(3, N, SIDE, SIDE, 0);
    dc_tensor *y = dc_tensor_new4(1, N, 0, 0, 0);
    dc_model *model = dc_sequential_new(2, (int[]){SIDE, SIDE});
    dc_history *history = NULL;
    int rc = 1;
    if (!x || !y || !model)
        goto done;
    dc_rng_fill_uniform(&rng, x->data, x->size);
    for (int i = 0; i < N; i++)
        y->data[i] = (float)dc_rng_below(&rng, CLASSES);

    dc_model_set_seed(model, 1);
    if (dc_model_add(model, dc_layer_flatten()) || dc_model_add(model, dc_layer_dense(128, "relu")) ||
        dc_model_add(model, dc_layer_dense(CLASSES, "softmax")) ||
        dc_model_compile(model, "adam", "sparse_categorical_crossentropy", NULL, 0))
        goto done;
    dc_fit_config cfg = dc_fit_defaults();
    cfg.verbose = 0;
    if (dc_model_fit(model, x, y, &cfg, &history))
        goto done;
    double loss = dc_history_get(history, "loss")[0];
    printf("mlp: loss after 1 epoch %.4f\n", loss);
    rc = isfinite(loss) ? 0 : 1;
done:
    if (rc)
        fprintf(stderr, "mlp: %s\n", dc_errmsg());
    dc_history_free(history);
    dc_model_free(model);
    dc_tensor_free(x);
    dc_tensor_free(y);
    return rc;
}
