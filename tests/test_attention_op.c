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
 * test_fused_matches_unfused: with DC_ATTENTION_EMPTY_ROWS_ZERO (the flag
 * MultiHeadAttention uses) the op gives what batched_matmul + the boolean
 * masked softmax give (Keras 3), wholly masked rows included.
 * test_kernel_blocks: the same comparison at sizes that end the AVX-512
 * kernels' blocks and tiles partway, with the op writing its inputs' whole
 * gradients (grad_set).
 */
#include "testutil.h"

#include "graph/graph.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
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
    assert_null(dc_attention(g, q, k, v, NULL, 4, 1.0f));
    assert_errmsg_contains("flags 4");
    assert_null(dc_attention(g, NULL, k, v, NULL, 0, 1.0f));
    assert_errmsg_contains("q is NULL");
    assert_null(dc_attention(NULL, q, k, v, NULL, 0, 1.0f));
    assert_errmsg_contains("g is NULL");
    assert_non_null(dc_attention(g, q, k, v, NULL, 1, 0.5f));
    dc_graph_free(g);
}

/* ---- fused vs unfused, as MultiHeadAttention's mha_core uses them ---- */

enum { FB = 2, FTQ = 70, FTK = 150, FH = 2, FDK = 8, FDV = 6 };

/* Uniform values in [-1, 1) from a fixed LCG. */
static void fill(float *x, size_t n, unsigned *seed)
{
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        x[i] = (float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

typedef struct fu_data {
    float q[FB * FTQ * FH * FDK], k[FB * FTK * FH * FDK], v[FB * FTK * FH * FDV], r[FB * FTQ * FH * FDV];
    float qm[FB * FTQ], vm[FB * FTK], am[FB * FTQ * FTK];
} fu_data;

typedef struct fu_result {
    float out[FB * FTQ * FH * FDV], dq[FB * FTQ * FH * FDK], dk[FB * FTK * FH * FDK], dv[FB * FTK * FH * FDV];
} fu_result;

/* softmax(scale q k^T) v per (batch, head) as permutes, batched_matmul and
 * the boolean masked softmax (mask broadcasting to (B, H, Tq, Tk), or
 * NULL). */
static dc_node *unfused_attention(dc_graph *g, dc_node *q, dc_node *k, dc_node *v, dc_node *mask, float scale)
{
    const int perm[3] = {1, 0, 2}; /* the axes after the first: (T, H, D) <-> (H, T, D) */
    dc_node *s = dc_batched_matmul(g, dc_permute(g, q, 3, perm), dc_permute(g, k, 3, perm), 0, 1);
    if (scale != 1.0f)
        s = dc_scale(g, s, scale);
    dc_node *p = dc_softmax_axis(g, s, -1, mask, DC_SOFTMAX_MASK_BOOL);
    return dc_permute(g, dc_batched_matmul(g, p, dc_permute(g, v, 3, perm), 0, 0), 3, perm);
}

/* loss = sum(out * r), the graph compiled for it. */
static dc_node *compiled_loss(dc_graph *g, dc_node *out, dc_node *r)
{
    assert_non_null(out);
    dc_node *loss = dc_sum(g, dc_mul(g, out, r));
    assert_non_null(loss);
    dc_rng rng;
    dc_rng_seed(&rng, 1);
    assert_int_equal(dc_graph_compile(g, 1, &rng), DC_OK);
    return loss;
}

/* out = attention of q, k, v under the query mask, value mask and
 * attention mask (and causal), fused (dc_attention with
 * DC_ATTENTION_EMPTY_ROWS_ZERO) or as permutes + batched_matmul + boolean
 * masked softmax; the gradients of sum(out * r). */
static void run_mha_core(const fu_data *d, int fused, int causal, fu_result *res)
{
    dc_graph *g = dc_graph_new();
    assert_non_null(g);
    dc_init z = {DC_INIT_ZEROS, 0, 0};
    dc_node *q = dc_param(g, 4, (int[]){FB, FTQ, FH, FDK}, z, NULL);
    dc_node *k = dc_param(g, 4, (int[]){FB, FTK, FH, FDK}, z, NULL);
    dc_node *v = dc_param(g, 4, (int[]){FB, FTK, FH, FDV}, z, NULL);
    assert_non_null(v);
    q->init_values = d->q;
    k->init_values = d->k;
    v->init_values = d->v;
    dc_node *qm = dc_input(g, 0, 2, (int[]){FB, FTQ}, NULL), *vm = dc_input(g, 0, 2, (int[]){FB, FTK}, NULL);
    dc_node *am = dc_input(g, 0, 3, (int[]){FB, FTQ, FTK}, NULL), *r = dc_input(g, 0, 4, (int[]){FB, FTQ, FH, FDV}, NULL);
    dc_node *out;
    if (fused) {
        dc_node *mask = dc_attention_mask(g, qm, vm, NULL, am, FTQ, FTK, 0);
        out = dc_attention(g, q, k, v, mask, (causal ? DC_ATTENTION_CAUSAL : 0) | DC_ATTENTION_EMPTY_ROWS_ZERO, 1.0f);
    } else {
        dc_node *mask = dc_attention_mask(g, qm, vm, NULL, am, FTQ, FTK, causal);
        assert_non_null(mask);
        mask = mask->batched ? dc_reshape(g, mask, 3, (int[]){1, FTQ, FTK})
                             : dc_reshape(g, mask, 4, (int[]){FB, 1, FTQ, FTK});
        out = unfused_attention(g, q, k, v, mask, 1.0f);
    }
    dc_node *loss = compiled_loss(g, out, r);
    memcpy(qm->val, d->qm, sizeof d->qm);
    memcpy(vm->val, d->vm, sizeof d->vm);
    memcpy(am->val, d->am, sizeof d->am);
    memcpy(r->val, d->r, sizeof d->r);
    assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
    assert_int_equal(dc_graph_backward(g, loss), DC_OK);
    memcpy(res->out, out->val, sizeof res->out);
    memcpy(res->dq, q->grad, sizeof res->dq);
    memcpy(res->dk, k->grad, sizeof res->dk);
    memcpy(res->dv, v->grad, sizeof res->dv);
    dc_graph_free(g);
}

static void close_to_largest(const float *got, const float *want, size_t n, const char *what)
{
    assert_close(got, want, n, 0.0, 1e-5 * max_abs(want, n), what);
}

/* The fused path of MultiHeadAttention gives what its unfused path gives
 * (Keras 3's Softmax(mask=)) with padding masks, an explicit attention mask
 * and causal, including wholly masked query rows: all-zero output rows and
 * no gradient from them. */
static void test_fused_matches_unfused(void **state)
{
    (void)state;
    fu_data *d = calloc(1, sizeof *d);
    fu_result *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    assert_non_null(d);
    assert_non_null(a);
    assert_non_null(b);
    unsigned seed = 7;
    fill(d->q, FB * FTQ * FH * FDK, &seed);
    fill(d->k, FB * FTK * FH * FDK, &seed);
    fill(d->v, FB * FTK * FH * FDV, &seed);
    fill(d->r, FB * FTQ * FH * FDV, &seed);
    for (int i = 0; i < FB * FTQ; i++)
        d->qm[i] = i % FTQ < FTQ - 5 - 9 * (i / FTQ) ? 3.0f : 0.0f; /* padded tails of queries */
    for (int i = 0; i < FB * FTK; i++)
        d->vm[i] = i % FTK < FTK - 20 - 40 * (i / FTK) ? 1.0f : 0.0f; /* and of keys */
    for (int i = 0; i < FB * FTQ * FTK; i++) {
        int row = (i / FTK) % FTQ, col = i % FTK;
        d->am[i] = row == 11 || row == 64 ? 0.0f : ((row * 7 + col * 3) % 5 != 0 ? 1.0f : 0.0f);
    }
    d->am[(size_t)(1 * FTQ + 3) * FTK + 0] = 1.0f; /* sample 1, query 3: only key 0, which causal allows */
    for (int c = 0; c < FTK; c++)
        d->am[(size_t)(1 * FTQ + 4) * FTK + c] = c < 40 ? 0.0f : 1.0f; /* query 4: keys only above the diagonal */
    for (int causal = 0; causal < 2; causal++) {
        run_mha_core(d, 1, causal, a);
        run_mha_core(d, 0, causal, b);
        char what[64];
        snprintf(what, sizeof what, "fused vs unfused (causal %d): out", causal);
        close_to_largest(a->out, b->out, FB * FTQ * FH * FDV, what);
        snprintf(what, sizeof what, "fused vs unfused (causal %d): dq", causal);
        close_to_largest(a->dq, b->dq, FB * FTQ * FH * FDK, what);
        snprintf(what, sizeof what, "fused vs unfused (causal %d): dk", causal);
        close_to_largest(a->dk, b->dk, FB * FTK * FH * FDK, what);
        snprintf(what, sizeof what, "fused vs unfused (causal %d): dv", causal);
        close_to_largest(a->dv, b->dv, FB * FTK * FH * FDV, what);
        /* wholly masked rows: query 11 (attention mask), the padded queries,
         * and with causal query 4 of sample 1: exactly 0 with no gradient */
        int rows[3] = {11, FTQ - 1, 4};
        for (int bi = 0; bi < FB; bi++)
            for (int ri = 0; ri < (causal && bi == 1 ? 3 : 2); ri++)
                for (int e = 0; e < FH * FDV; e++) {
                    size_t o = ((size_t)bi * FTQ + rows[ri]) * FH * FDV + e;
                    assert_true(a->out[o] == 0.0f && b->out[o] == 0.0f);
                }
        for (int e = 0; e < FH * FDK; e++)
            assert_true(a->dq[(size_t)11 * FH * FDK + e] == 0.0f);
        /* and a row that has allowed keys is not all zero */
        float any = 0.0f;
        for (int e = 0; e < FH * FDV; e++)
            any += fabsf(a->out[(size_t)(FTQ + 3) * FH * FDV + e]);
        assert_true(any > 0.0f);
    }
    free(d);
    free(a);
    free(b);
}

/* ---- the kernels' blocks: sizes that cross and leave partial every block ---- */

typedef struct kb_case {
    int tq, tk, dk, dv, causal, masked;
} kb_case;

/* out and the gradients of sum(out * r) with respect to q, k, v (params):
 * fused, on q, k, v passed through dc_scale (so the op is their one reader
 * and writes their whole gradient: grad_set), backward run twice with the
 * second run's q, k, v gradients first filled with NaN, which every row's
 * write must replace; or unfused (batched_matmul + boolean softmax). */
static void run_blocks(const kb_case *c, const float *const in[5], const float *am, int fused, float *res[4])
{
    enum { B = 2, H = 2 };
    dc_graph *g = dc_graph_new();
    assert_non_null(g);
    dc_init z = {DC_INIT_ZEROS, 0, 0};
    dc_node *qp = dc_param(g, 4, (int[]){B, c->tq, H, c->dk}, z, NULL);
    dc_node *kp = dc_param(g, 4, (int[]){B, c->tk, H, c->dk}, z, NULL);
    dc_node *vp = dc_param(g, 4, (int[]){B, c->tk, H, c->dv}, z, NULL);
    assert_non_null(vp);
    qp->init_values = in[0];
    kp->init_values = in[1];
    vp->init_values = in[2];
    dc_node *r = dc_input(g, 0, 4, (int[]){B, c->tq, H, c->dv}, NULL);
    dc_node *amn = c->masked ? dc_input(g, 0, 3, (int[]){B, c->tq, c->tk}, NULL) : NULL;
    dc_node *out, *q = qp, *k = kp, *v = vp;
    float scale = 1.0f / sqrtf((float)c->dk);
    if (fused) {
        q = dc_scale(g, qp, 1.0f);
        k = dc_scale(g, kp, 1.0f);
        v = dc_scale(g, vp, 1.0f);
        dc_node *mask = amn ? dc_attention_mask(g, NULL, NULL, NULL, amn, c->tq, c->tk, 0) : NULL;
        out = dc_attention(g, q, k, v, mask, (c->causal ? DC_ATTENTION_CAUSAL : 0) | DC_ATTENTION_EMPTY_ROWS_ZERO,
                           scale);
    } else {
        dc_node *mask = amn || c->causal ? dc_attention_mask(g, NULL, NULL, NULL, amn, c->tq, c->tk, c->causal) : NULL;
        if (amn)
            mask = dc_reshape(g, mask, 4, (int[]){B, 1, c->tq, c->tk});
        out = unfused_attention(g, qp, kp, vp, mask, scale);
    }
    dc_node *loss = compiled_loss(g, out, r);
    memcpy(r->val, in[3], dc_node_numel(r) * sizeof(float));
    if (amn)
        memcpy(amn->val, am, dc_node_numel(amn) * sizeof(float));
    for (int run = 0; run < (fused ? 2 : 1); run++) {
        dc_node *qkv[3] = {q, k, v};
        for (int i = 0; run && i < 3; i++)
            for (size_t e = 0; e < dc_node_numel(qkv[i]); e++)
                qkv[i]->grad[e] = NAN;
        assert_int_equal(dc_graph_forward(g, loss, 1), DC_OK);
        assert_int_equal(dc_graph_backward(g, loss), DC_OK);
    }
    memcpy(res[0], out->val, dc_node_numel(out) * sizeof(float));
    memcpy(res[1], qp->grad, dc_node_numel(qp) * sizeof(float));
    memcpy(res[2], kp->grad, dc_node_numel(kp) * sizeof(float));
    memcpy(res[3], vp->grad, dc_node_numel(vp) * sizeof(float));
    dc_graph_free(g);
}

/* The fused op against the unfused ops where the AVX-512 kernels' blocks
 * (128 keys, 128 queries, 12-query output tiles, 3-query score bands, the
 * 64-key halves of the backward's bands) end partway, with head dims of 16
 * to 96 (both tile shapes of the products, partial panels), causal with
 * more keys than queries (key blocks no query reaches: their gradients
 * must come out zero), and masks with wholly masked rows. */
static void test_kernel_blocks(void **state)
{
    (void)state;
    static const kb_case cases[] = {
        {150, 200, 32, 32, 0, 0}, {131, 131, 64, 40, 1, 0}, {70, 300, 16, 96, 1, 1},
        {133, 129, 32, 32, 0, 1}, {5, 3, 7, 5, 0, 1},      {140, 140, 32, 32, 1, 0},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const kb_case *c = &cases[ci];
        size_t n[4] = {(size_t)2 * c->tq * 2 * c->dk, (size_t)2 * c->tk * 2 * c->dk, (size_t)2 * c->tk * 2 * c->dv,
                       (size_t)2 * c->tq * 2 * c->dv};
        size_t nres[4] = {n[3], n[0], n[1], n[2]}, nm = (size_t)2 * c->tq * c->tk;
        float *in[4], *am = malloc(nm * sizeof(float)), *a[4], *b[4];
        unsigned seed = 11 + (unsigned)ci;
        assert_non_null(am);
        for (int i = 0; i < 4; i++) {
            in[i] = malloc(n[i] * sizeof(float));
            a[i] = malloc(nres[i] * sizeof(float));
            b[i] = malloc(nres[i] * sizeof(float));
            assert_non_null(in[i]);
            assert_non_null(a[i]);
            assert_non_null(b[i]);
            fill(in[i], n[i], &seed);
        }
        for (size_t i = 0; i < n[0]; i++) /* spread scores, so the softmax is not near uniform */
            in[0][i] *= 3.0f;
        for (size_t i = 0; i < nm; i++) {
            int row = (int)(i / (size_t)c->tk) % c->tq, col = (int)(i % (size_t)c->tk);
            am[i] = row % 17 == 3 ? 0.0f : ((row * 5 + col * 3) % 7 != 0 ? 1.0f : 0.0f);
        }
        const float *const cin[5] = {in[0], in[1], in[2], in[3], NULL};
        run_blocks(c, cin, am, 1, a);
        run_blocks(c, cin, am, 0, b);
        const char *names[4] = {"out", "dq", "dk", "dv"};
        for (int i = 0; i < 4; i++) {
            char what[96];
            snprintf(what, sizeof what, "blocks Tq %d Tk %d Dk %d Dv %d causal %d mask %d: %s", c->tq, c->tk, c->dk,
                     c->dv, c->causal, c->masked, names[i]);
            close_to_largest(a[i], b[i], nres[i], what);
            free(in[i]);
            free(a[i]);
            free(b[i]);
        }
        free(am);
    }
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
        cmocka_unit_test(test_fused_matches_unfused),
        cmocka_unit_test(test_kernel_blocks),
    };
    return cmocka_run_group_tests(tests, setup, fx_teardown);
}
