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
    dc.activation = "relu";
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

static void test_fit_matches_reference(void **state)
{
    (void)state;
    fx_file *f = fx_load("train.txt");
    dc_model *m = reference_model();
    fit_vs_fixture(m, f, 10); /* 2 conv, 2 dense, 4 batch norm, 2 dense_1 */
    dc_model_free(m);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
