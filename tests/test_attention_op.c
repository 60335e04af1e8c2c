/*
 * test_attention_op.c - the fused attention op (src/ops/ops_attention.c)
 * against PyTorch, and its error paths.
 *
 * tests/fixtures/attention_op/attention_op.txt (make_fixtures.py there)
 * holds four cases in float64: cross attention with Tq != Tk, causal
 * self-attention, a 0/1 mask with wholly masked rows, mask + causal; their
 * sizes cross the op's query and key blocks and leave partial ones.  Each
 * case runs twice: with q, k, v as parameters (output and the gradients of
 * sum(out * r)), and with q, k, v, mask as batched inputs (output only, the
 * per-sample scratch path), each within 1e-5 of the array's largest
 * magnitude; then with one thread and with two, which must agree bit for bit
 * (each (batch, head) is one task: no reduction order depends on threads).
 */
#include "testutil.h"

#include "graph/graph.h"

#include <math.h>
#include <omp.h>
#include <string.h>

static const char *const CASES[] = {"cross", "causal", "masked", "masked_causal"};
static const int CAUSAL[] = {0, 1, 0, 1};

static float max_abs(const float *x, size_t n)
{
    float m = 0.0f;
    for (size_t i = 0; i < n; i++)
        m = fabsf(x[i]) > m ? fabsf(x[i]) : m;
    return m;
}

static void assert_close_to_largest(const float *got, const fx_array *want, const char *what)
{
    assert_close(got, want->data, want->size, 0.0, 1e-5 * max_abs(want->data, want->size), what);
}

static dc_node *leaf(dc_graph *g, const fx_array *a, int batched)
{
    if (batched)
        return dc_input(g, 1, a->ndim - 1, a->shape + 1, NULL);
    dc_node *p = dc_param(g, a->ndim, a->shape, (dc_init){DC_INIT_ZEROS, 0, 0}, NULL);
    if (p)
        p->init_values = a->data;
    return p;
}

/* Runs case c; batched: q, k, v, mask as batched inputs (no gradients).
 * Copies the output into out_copy when given. */
static void run_case(const fx_file *f, int c, int batched, float *out_copy)
{
    char what[96];
    const char *name = CASES[c];
    const fx_array *q = fx_get_part(f, name, "q"), *k = fx_get_part(f, name, "k"), *v = fx_get_part(f, name, "v");
    const fx_array *r = fx_get_part(f, name, "r"), *want = fx_get_part(f, name, "out");
    const fx_array *mask = NULL;
    char mname[64];
    snprintf(mname, sizeof mname, "%s.mask", name);
    for (int i = 0; i < f->count; i++)
        if (!strcmp(f->arrays[i].name, mname))
            mask = &f->arrays[i];
    dc_graph *g = dc_graph_new();
    dc_node *nq = leaf(g, q, batched), *nk = leaf(g, k, batched), *nv = leaf(g, v, batched);
    dc_node *nm = mask ? dc_input(g, batched, batched ? 2 : 3, batched ? mask->shape + 1 : mask->shape, NULL) : NULL;
    dc_node *out = dc_attention(g, nq, nk, nv, nm, CAUSAL[c], 1.0f / sqrtf((float)q->shape[3]));
    assert_non_null(out);
    dc_node *nr = dc_input(g, batched, batched ? 3 : 4, batched ? r->shape + 1 : r->shape, NULL);
    dc_node *loss = batched ? out : dc_sum(g, dc_mul(g, out, nr));
    assert_non_null(loss);
    dc_rng rng;
    dc_rng_seed(&rng, 1);
    assert_int_equal(dc_graph_compile(g, q->shape[0], &rng), DC_OK);
    assert_int_equal(dc_graph_set_batch(g, q->shape[0]), DC_OK);
    if (batched) {
        memcpy(nq->val, q->data, q->size * sizeof(float));
        memcpy(nk->val, k->data, k->size * sizeof(float));
        memcpy(nv->val, v->data, v->size * sizeof(float));
    }
    if (nm)
        memcpy(nm->val, mask->data, mask->size * sizeof(float));
    memcpy(nr->val, r->data, r->size * sizeof(float));
    assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
    snprintf(what, sizeof what, "%s%s: out", name, batched ? " (batched inputs)" : "");
    assert_int_equal(dc_node_numel(out), want->size);
    assert_close_to_largest(out->val, want, what);
    if (out_copy)
        memcpy(out_copy, out->val, want->size * sizeof(float));
    if (!batched) {
        assert_int_equal(dc_graph_backward(g, loss), DC_OK);
        const char *gname[3] = {"dq", "dk", "dv"};
        dc_node *p[3] = {nq, nk, nv};
        for (int i = 0; i < 3; i++) {
            snprintf(what, sizeof what, "%s: %s", name, gname[i]);
            assert_close_to_largest(p[i]->grad, fx_get_part(f, name, gname[i]), what);
        }
    }
    dc_graph_free(g);
}

static void test_against_pytorch(void **state)
{
    const fx_file *f = *state;
    for (int c = 0; c < 4; c++) {
        run_case(f, c, 0, NULL);
        run_case(f, c, 1, NULL);
    }
}

static void test_threads_agree(void **state)
{
    const fx_file *f = *state;
    int saved = omp_get_max_threads();
    for (int c = 0; c < 4; c++) {
        const fx_array *want = fx_get_part(f, CASES[c], "out");
        float *one = malloc(want->size * sizeof(float)), *two = malloc(want->size * sizeof(float));
        assert_non_null(one);
        assert_non_null(two);
        omp_set_num_threads(1);
        run_case(f, c, 1, one);
        omp_set_num_threads(2);
        run_case(f, c, 1, two);
        assert_memory_equal(one, two, want->size * sizeof(float));
        free(one);
        free(two);
    }
    omp_set_num_threads(saved);
}

static dc_node *p4(dc_graph *g, int a, int b, int c, int d)
{
    return dc_param(g, 4, (int[]){a, b, c, d}, (dc_init){DC_INIT_ZEROS, 0, 0}, NULL);
}

static void test_errors(void **state)
{
    (void)state;
    dc_graph *g = dc_graph_new();
    dc_node *q = p4(g, 2, 3, 2, 4), *k = p4(g, 2, 5, 2, 4), *v = p4(g, 2, 5, 2, 3);
    assert_null(dc_attention(g, q, p4(g, 2, 5, 3, 4), v, NULL, 0, 1.0f));
    assert_errmsg_contains("heads");
    assert_null(dc_attention(g, q, p4(g, 2, 5, 2, 6), v, NULL, 0, 1.0f));
    assert_errmsg_contains("key dims");
    assert_null(dc_attention(g, q, k, p4(g, 2, 4, 2, 3), NULL, 0, 1.0f));
    assert_errmsg_contains("key steps");
    assert_null(dc_attention(g, q, p4(g, 3, 5, 2, 4), v, NULL, 0, 1.0f));
    assert_errmsg_contains("batches");
    assert_null(dc_attention(g, q, k, v, dc_param(g, 3, (int[]){2, 3, 4}, (dc_init){0}, NULL), 0, 1.0f));
    assert_errmsg_contains("mask (2, 3, 4), expected (batch, query steps, key steps) = (2, 3, 5)");
    assert_null(dc_attention(g, dc_param(g, 3, (int[]){2, 3, 8}, (dc_init){0}, NULL), k, v, NULL, 0, 1.0f));
    assert_errmsg_contains("4 axes");
    assert_null(dc_attention(g, q, k, v, NULL, 0, NAN));
    assert_errmsg_contains("scale");
    assert_null(dc_attention(g, q, k, v, NULL, 0, INFINITY));
    assert_errmsg_contains("finite");
    assert_null(dc_attention(g, NULL, k, v, NULL, 0, 1.0f));
    assert_errmsg_contains("q is NULL");
    assert_null(dc_attention(NULL, q, k, v, NULL, 0, 1.0f));
    assert_errmsg_contains("g is NULL");
    assert_non_null(dc_attention(g, q, k, v, NULL, 1, 0.5f));
    dc_graph_free(g);
}

static int setup(void **state)
{
    *state = fx_load("attention_op/attention_op.txt");
    return *state ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_pytorch),
        cmocka_unit_test(test_threads_agree),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, fx_teardown);
}
