/*
 * test_replica.c - the data-parallel hook of the core (dc_collective), in
 * every build, MPI or not: argument errors, a collective of one rank (the
 * replica path end to end, whose fit must equal the plain path's within
 * float rounding), and a failing collective whose error reaches the caller.
 * The multi-rank behaviour is tested under mpiexec by test_mpi.c.
 */
#include "testutil.h"

#include "core/core.h"
#include "replica_util.h"

/* One rank: a sum is the buffer itself, a broadcast nothing. */
static dc_status one_sum_f32(float *buf, size_t n, void *user)
{
    (void)buf, (void)n;
    int *calls = user;
    calls[0]++;
    return DC_OK;
}

static dc_status one_sum_f64(double *buf, size_t n, void *user)
{
    (void)buf, (void)n;
    int *calls = user;
    calls[1]++;
    return DC_OK;
}

static dc_status one_bcast_f32(float *buf, size_t n, int root, void *user)
{
    (void)buf, (void)n, (void)root;
    int *calls = user;
    calls[2]++;
    return DC_OK;
}

static dc_status broken_sum_f64(double *buf, size_t n, void *user)
{
    (void)buf, (void)n, (void)user;
    return dc_fail(DC_ERR_IO, "link down");
}

static dc_status broken_sum_f32(float *buf, size_t n, void *user)
{
    (void)buf, (void)n, (void)user;
    return dc_fail(DC_ERR_IO, "link down");
}

static void test_set_collective_errors(void **state)
{
    (void)state;
    int calls[3] = {0};
    dc_collective c = {.rank = 0, .size = 1, one_sum_f32, one_sum_f64, one_bcast_f32, calls};
    dc_model *m = replica_mlp(1);
    assert_int_equal(dc_model_set_collective(NULL, &c), DC_ERR_ARG);
    assert_errmsg_contains("model is NULL");
    c.size = 0;
    assert_int_equal(dc_model_set_collective(m, &c), DC_ERR_ARG);
    assert_errmsg_contains("rank 0 of size 0");
    c.size = 2;
    c.rank = 2;
    assert_int_equal(dc_model_set_collective(m, &c), DC_ERR_ARG);
    assert_errmsg_contains("0 <= rank < size");
    c.rank = 1;
    c.sum_f64 = NULL;
    assert_int_equal(dc_model_set_collective(m, &c), DC_ERR_ARG);
    assert_errmsg_contains("sum_f64 is NULL");
    assert_int_equal(dc_model_set_collective(m, NULL), DC_OK);
    dc_model_free(m);
}

/* A collective of one rank runs the replica path: same History and weights
 * as the plain path up to rounding (w * g / w), one float and one double
 * sum per step, one broadcast of the weights and one of each of Adam's two
 * slots per fit. */
static void test_one_rank_matches_plain_fit(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    replica_data(45, 3, (int[]){6, 6, 1}, 3, 21, &x, &y);
    int calls[3] = {0};
    dc_collective c = {.rank = 0, .size = 1, one_sum_f32, one_sum_f64, one_bcast_f32, calls};
    dc_model *ref = replica_cnn(2, 1), *rep = replica_cnn(2, 1);
    assert_int_equal(dc_model_set_collective(rep, &c), DC_OK);
    dc_fit_config cfg = replica_fit_config(2, 16, 0.2f); /* 36 training rows: 3 steps an epoch */
    dc_history *href = NULL, *hrep = NULL;
    assert_int_equal(dc_model_fit(ref, x, y, &cfg, &href), DC_OK);
    assert_int_equal(dc_model_fit(rep, x, y, &cfg, &hrep), DC_OK);
    replica_assert_history(hrep, href, 1e-5, 1e-6);
    replica_assert_weights(rep, ref, 1e-5, 1e-6);
    assert_int_equal(calls[0], 2 * 3);
    assert_int_equal(calls[2], 1 + 2);
    double want[2], got[2];
    dc_tensor *pwant = NULL, *pgot = NULL;
    assert_int_equal(dc_model_evaluate(ref, x, y, 10, 0, want, 2), DC_OK);
    assert_int_equal(dc_model_evaluate(rep, x, y, 10, 0, got, 2), DC_OK);
    assert_true(fabs(got[0] - want[0]) < 1e-5 && got[1] == want[1]);
    assert_int_equal(dc_model_predict(ref, x, 10, &pwant), DC_OK);
    assert_int_equal(dc_model_predict(rep, x, 10, &pgot), DC_OK);
    assert_close(pgot->data, pwant->data, pwant->size, 1e-5, 1e-6, "predict");
    dc_tensor_free(pwant);
    dc_tensor_free(pgot);
    dc_history_free(href);
    dc_history_free(hrep);
    dc_model_free(ref);
    dc_model_free(rep);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static void test_failing_collective_reaches_caller(void **state)
{
    (void)state;
    dc_tensor *x, *y, *p = NULL;
    replica_data(20, 1, (int[]){6}, 3, 22, &x, &y);
    int calls[3] = {0};
    dc_collective c = {.rank = 0, .size = 1, one_sum_f32, broken_sum_f64, one_bcast_f32, calls};
    dc_model *m = replica_mlp(3);
    assert_int_equal(dc_model_set_collective(m, &c), DC_OK);
    dc_fit_config cfg = replica_fit_config(1, 8, 0.0f);
    assert_int_equal(dc_model_fit(m, x, y, &cfg, NULL), DC_ERR_IO);
    assert_errmsg_contains("data-parallel sum of doubles");
    assert_errmsg_contains("link down");
    double r[2];
    assert_int_equal(dc_model_evaluate(m, x, y, 8, 0, r, 2), DC_ERR_IO);
    assert_errmsg_contains("link down");
    /* predict combines its rows with a float sum */
    c.sum_f64 = one_sum_f64;
    c.sum_f32 = broken_sum_f32;
    assert_int_equal(dc_model_set_collective(m, &c), DC_OK);
    assert_int_equal(dc_model_predict(m, x, 8, &p), DC_ERR_IO);
    assert_null(p);
    assert_errmsg_contains("data-parallel sum of floats");
    dc_model_free(m);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_collective_errors),
        cmocka_unit_test(test_one_rank_matches_plain_fit),
        cmocka_unit_test(test_failing_collective_reaches_caller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
