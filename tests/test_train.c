/*
 * test_train.c - fit end to end against a reference written out in PyTorch
 * (tests/fixtures/make_fixtures_train.py): a small CNN with a regularised
 * Dense and BatchNormalization, Keras' Adam, 8 steps.  Every step's loss,
 * every final weight (BatchNormalization's moving statistics included) and
 * the predictions afterwards (inference mode) must match.  The per-op
 * fixtures test the ops alone; this tests how fit puts them together.
 */
#include "modeltest.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* TOLERANCES.  Adam divides by sqrt(v), so a gradient that is small after
 * cancellation, whose relative rounding error is large, still moves its
 * weight by a visible part of a step (lr 0.01 here), and the difference
 * then spreads.  How far two correct summation orders end apart was
 * measured, on this test, for the Release and the ASan (Debug) builds with
 * OpenBLAS' Haswell and SkylakeX kernels (./deepc.sh test picks SkylakeX on
 * AVX-512 machines): per-step loss up to 1.2e-5 relative, final weights up
 * to 6.8e-5 absolute, both with SkylakeX in the Debug build (Haswell there:
 * 1e-7).  The bounds, 5e-5 and 2e-4 (2% of a step), leave a margin of 3-4;
 * a different L2 factor, BatchNorm momentum, Adam epsilon or beta_2, or
 * shuffling still fail the test. */

static dc_model *reference_model(void)
{
    dc_model *m = dc_sequential_new(3, (int[]){8, 8, 1});
    dc_dense_config dc = dc_dense_defaults(8);
    dc.activation = DC_ACT_RELU;
    dc.kernel_l2 = 0.01f;
    assert_int_equal(dc_model_add(m, dc_layer_conv2d(4, 3, 3, "relu")), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_max_pooling2d(2, 2)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_flatten()), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense_ex(&dc)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_batch_normalization()), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(3, "softmax")), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", NULL, 0), DC_OK);
    assert_int_equal(dc_model_set_lr(m, 0.01f), DC_OK);
    dc_model_set_threads(m, 1);
    return m;
}

/* Sets or checks every parameter (see TOLERANCES): 2 conv, 2 dense, 4 batch norm, 2 dense_1. */
static void params_vs_reference(dc_model *m, const fx_file *f, const char *which)
{
    assert_int_equal(params_vs_fixture(m, f, which, 1e-4, 2e-4), 10);
}

static void test_fit_matches_reference(void **state)
{
    (void)state;
    fx_file *f = fx_load("train.txt");
    const fx_array *ax = fx_get(f, "x"), *ay = fx_get(f, "y"), *axt = fx_get(f, "x_test");
    dc_tensor *x = dc_tensor_from(ax->ndim, ax->shape, ax->data), *y = dc_tensor_from(ay->ndim, ay->shape, ay->data);
    dc_tensor *xt = dc_tensor_from(axt->ndim, axt->shape, axt->data), *pred;
    dc_model *m = reference_model();
    params_vs_reference(m, f, "init");

    step_log log = {0};
    dc_callback cb = {.user = &log, .on_batch_end = record_loss}, *cbs[1] = {&cb};
    dc_fit_config fc = dc_fit_defaults();
    fc.epochs = 2;
    fc.batch_size = 4;
    fc.shuffle = 0;
    fc.verbose = 0;
    fc.callbacks = cbs;
    fc.n_callbacks = 1;
    assert_int_equal(dc_model_fit(m, x, y, &fc, NULL), DC_OK);

    const fx_array *want = fx_get(f, "loss");
    assert_int_equal(log.steps, (int)want->size);
    float got[16];
    for (int s = 0; s < log.steps; s++)
        got[s] = (float)log.loss[s];
    assert_close(got, want->data, want->size, 5e-5, 1e-6, "per-step loss");
    params_vs_reference(m, f, "final");
    assert_int_equal(dc_model_predict(m, xt, 32, &pred), DC_OK);
    const fx_array *wp = fx_get(f, "pred");
    assert_int_equal(pred->size, wp->size);
    assert_close(pred->data, wp->data, wp->size, 1e-4, 1e-5, "predict after fit (moving statistics)");

    dc_tensor_free(pred);
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_tensor_free(xt);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
