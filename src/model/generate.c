/*
 * generate.c - incremental decoding with a key/value cache for a trained
 * decoder-only Transformer, and sampling with temperature and top-k.
 *
 * The model is the Keras examples' causal language model, built by user code
 * with the functional API and trained with fit:
 *     h = Embedding(V, dim)(x) + PositionEmbedding(T)(...)
 *     per block:  a = MultiHeadAttention(H, Dk, causal)(h, h)
 *                 h = LayerNorm(h + a);  h = LayerNorm(h + Dense(dim)(act(Dense(F)(h))))
 *     logits = Dense(V)(h)
 * A dc_decoder copies those layers' weights out of the model once (found by
 * the layer names in a dc_decoder_spec) and then runs one position at a
 * time: a step embeds one token at position t, computes its query, key and
 * value in every block, appends the key and value to the block's cache, and
 * attends over the t + 1 cached positions, so generating n tokens costs
 * O(n) projections and O(n^2 / 2) dot products instead of a whole forward
 * pass over the context per token.  The cache holds T positions (the
 * position embedding's rows); reset starts a new sequence.  The arithmetic
 * is the layers' own (float32, scores scaled by 1/sqrt(Dk), exact softmax),
 * so a step's logits equal the model's prediction at that position to
 * rounding (tests compare them).
 *
 * Layout: every weight lives in one allocation (d->buf); the caches are
 * (T, H, Dk) and (T, H, Dv) per block.
 */
#include "core/core.h"
#include "ops/gelu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct dec_block {
    const float *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo; /* (dim, H, Dk) ... (H, Dv, dim), (dim) */
    const float *g1, *be1, *w1, *b1, *w2, *b2, *g2, *be2;
    float *kc, *vc; /* caches (T, H, Dk), (T, H, Dv) */
} dec_block;

struct dc_decoder {
    int vocab, dim, heads, dk, dv, ff, max_len, n_blocks, len;
    dc_act act;
    float eps;
    const float *tok, *pos, *wout, *bout;
    dec_block blocks[DC_DECODER_MAX_BLOCKS];
    float *buf;     /* the weights, then the caches */
    float *scratch; /* h, q, k, v, o, a, f, scores */
};

/* The layer's weight `index` copied to *dst (advanced); its shape checked
 * against want[0..nd) (-1: any, then stored in want). */
static dc_status take(dc_model *m, const char *layer, int index, int nd, int *want, float **dst, const float **out)
{
    int li = dc_model_layer_index(m, layer);
    if (li < 0)
        return dc_fail(DC_ERR_ARG, "decoder: the model has no layer \"%s\"", layer);
    dc_tensor *t = NULL;
    dc_status st = dc_model_get_weight(m, li, index, &t);
    if (st != DC_OK)
        return st;
    int ok = t->ndim == nd;
    for (int i = 0; ok && i < nd; i++) {
        if (want[i] < 0)
            want[i] = t->shape[i];
        ok = t->shape[i] == want[i];
    }
    if (!ok) {
        char got[96];
        dc_shape_str(t->ndim, t->shape, got, sizeof got);
        dc_tensor_free(t);
        return dc_fail(DC_ERR_SHAPE, "decoder: weight %d of layer \"%s\" has shape %s, not what a decoder block needs",
                       index, layer, got);
    }
    if (*dst) {
        memcpy(*dst, t->data, t->size * sizeof(float));
        *out = *dst;
        *dst += t->size;
    }
    dc_tensor_free(t);
    return DC_OK;
}

/* Reads (dst NULL: only checks and sizes) every weight the spec names. */
static dc_status take_all(dc_decoder *d, dc_model *m, const dc_decoder_spec *s, float **dst)
{
    int V, D, T, H = -1, Dk = -1, Dv = -1, F = -1, ts[2] = {-1, -1};
    dc_status st = take(m, s->token_embedding, 0, 2, ts, dst, &d->tok);
    if (st)
        return st;
    V = ts[0], D = ts[1];
    int ps[2] = {-1, D};
    if ((st = take(m, s->position_embedding, 0, 2, ps, dst, &d->pos)))
        return st;
    T = ps[0];
    for (int b = 0; b < s->n_blocks; b++) {
        const dc_decoder_block_names *n = &s->blocks[b];
        dec_block *k = &d->blocks[b];
        int qs[3] = {D, H, Dk};
        if ((st = take(m, n->attention, 0, 3, qs, dst, &k->wq)))
            return st;
        H = qs[1], Dk = qs[2];
        int vs[3] = {D, H, Dv};
        int os[3] = {H, -1, D}, f1[2] = {D, F};
        st = take(m, n->attention, 1, 2, (int[]){H, Dk}, dst, &k->bq);
        if (!st)
            st = take(m, n->attention, 2, 3, (int[]){D, H, Dk}, dst, &k->wk);
        if (!st)
            st = take(m, n->attention, 3, 2, (int[]){H, Dk}, dst, &k->bk);
        if (!st)
            st = take(m, n->attention, 4, 3, vs, dst, &k->wv);
        Dv = vs[2];
        if (!st)
            st = take(m, n->attention, 5, 2, (int[]){H, Dv}, dst, &k->bv);
        os[1] = Dv;
        if (!st)
            st = take(m, n->attention, 6, 3, os, dst, &k->wo);
        if (!st)
            st = take(m, n->attention, 7, 1, (int[]){D}, dst, &k->bo);
        if (!st)
            st = take(m, n->norm1, 0, 1, (int[]){D}, dst, &k->g1);
        if (!st)
            st = take(m, n->norm1, 1, 1, (int[]){D}, dst, &k->be1);
        if (!st)
            st = take(m, n->ffn_in, 0, 2, f1, dst, &k->w1);
        F = f1[1];
        if (!st)
            st = take(m, n->ffn_in, 1, 1, (int[]){F}, dst, &k->b1);
        if (!st)
            st = take(m, n->ffn_out, 0, 2, (int[]){F, D}, dst, &k->w2);
        if (!st)
            st = take(m, n->ffn_out, 1, 1, (int[]){D}, dst, &k->b2);
        if (!st)
            st = take(m, n->norm2, 0, 1, (int[]){D}, dst, &k->g2);
        if (!st)
            st = take(m, n->norm2, 1, 1, (int[]){D}, dst, &k->be2);
        if (st)
            return st;
    }
    st = take(m, s->head, 0, 2, (int[]){D, V}, dst, &d->wout);
    if (!st)
        st = take(m, s->head, 1, 1, (int[]){V}, dst, &d->bout);
    if (st)
        return st;
    d->vocab = V, d->dim = D, d->max_len = T, d->heads = H, d->dk = Dk, d->dv = Dv, d->ff = F;
    return DC_OK;
}

dc_decoder *dc_decoder_new(dc_model *m, const dc_decoder_spec *spec)
{
    DC_CHECK_NULL_OR(m, NULL);
    DC_CHECK_NULL_OR(spec, NULL);
    if (spec->n_blocks < 1 || spec->n_blocks > DC_DECODER_MAX_BLOCKS)
        return dc_fail_null(DC_ERR_ARG, "decoder: n_blocks %d, expected 1..%d", spec->n_blocks, DC_DECODER_MAX_BLOCKS);
    if (!(spec->norm_epsilon > 0.0f))
        return dc_fail_null(DC_ERR_ARG, "decoder: norm_epsilon %g, expected > 0", (double)spec->norm_epsilon);
    if (!spec->token_embedding || !spec->position_embedding || !spec->head)
        return dc_fail_null(DC_ERR_ARG, "decoder: the spec names no token embedding, position embedding or head");
    for (int b = 0; b < spec->n_blocks; b++) {
        const dc_decoder_block_names *n = &spec->blocks[b];
        if (!n->attention || !n->norm1 || !n->ffn_in || !n->ffn_out || !n->norm2)
            return dc_fail_null(DC_ERR_ARG, "decoder: block %d: a layer name is NULL", b);
    }
    dc_decoder *d = dc_calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->n_blocks = spec->n_blocks;
    d->act = spec->ffn_activation;
    d->eps = spec->norm_epsilon;
    float *none = NULL;
    if (take_all(d, m, spec, &none) != DC_OK) { /* sizes only */
        free(d);
        return NULL;
    }
    size_t weights = (size_t)dc_model_param_count(m); /* at least what the named layers hold */
    size_t cache = (size_t)d->n_blocks * d->max_len * d->heads * ((size_t)d->dk + d->dv);
    size_t scratch = 4 * (size_t)d->dim + (size_t)d->heads * (2 * (size_t)d->dk + 2 * d->dv) + d->ff + d->max_len;
    d->buf = dc_malloc((weights + cache + scratch) * sizeof(float));
    if (!d->buf) {
        free(d);
        return NULL;
    }
    float *at = d->buf;
    if (take_all(d, m, spec, &at) != DC_OK) {
        dc_decoder_free(d);
        return NULL;
    }
    for (int b = 0; b < d->n_blocks; b++) {
        d->blocks[b].kc = at;
        at += (size_t)d->max_len * d->heads * d->dk;
        d->blocks[b].vc = at;
        at += (size_t)d->max_len * d->heads * d->dv;
    }
    d->scratch = at;
    return d;
}

void dc_decoder_free(dc_decoder *d)
{
    if (!d)
        return;
    free(d->buf);
    free(d);
}

void dc_decoder_reset(dc_decoder *d)
{
    DC_CHECK_NULL_VOID(d);
    d->len = 0;
}

int dc_decoder_vocab(const dc_decoder *d)
{
    DC_CHECK_NULL_OR(d, -1);
    return d->vocab;
}

int dc_decoder_max_len(const dc_decoder *d)
{
    DC_CHECK_NULL_OR(d, -1);
    return d->max_len;
}

/* y (n) = x (k) W (k x n) + b. */
static void vec_mat(const float *x, const float *w, const float *b, int k, int n, float *y)
{
    memcpy(y, b, (size_t)n * sizeof(float));
    for (int i = 0; i < k; i++) {
        float xi = x[i];
        const float *wr = w + (size_t)i * n;
#pragma omp simd
        for (int j = 0; j < n; j++)
            y[j] += xi * wr[j];
    }
}

/* h = LayerNorm(h + a) with gamma g, beta be. */
static void add_norm(float *h, const float *a, const float *g, const float *be, int n, float eps)
{
    float s = 0.0f, s2 = 0.0f;
    for (int i = 0; i < n; i++) {
        h[i] += a[i];
        s += h[i];
    }
    float m = s / (float)n;
    for (int i = 0; i < n; i++)
        s2 += (h[i] - m) * (h[i] - m);
    float inv = 1.0f / sqrtf(s2 / (float)n + eps);
    for (int i = 0; i < n; i++)
        h[i] = (h[i] - m) * inv * g[i] + be[i];
}

static float activate(dc_act act, float x)
{
    switch (act) {
    case DC_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case DC_ACT_GELU: return gelu_value(x); /* the GELU op's own (ops/gelu.h) */
    case DC_ACT_TANH: return tanhf(x);
    case DC_ACT_SWISH: return x / (1.0f + expf(-x));
    default: return x;
    }
}

dc_status dc_decoder_step(dc_decoder *d, int token, float *logits)
{
    DC_CHECK_NULL(d);
    DC_CHECK_NULL(logits);
    if (token < 0 || token >= d->vocab)
        return dc_fail(DC_ERR_RANGE, "decoder: token %d, expected in [0, %d)", token, d->vocab);
    if (d->len >= d->max_len)
        return dc_fail(DC_ERR_RANGE, "decoder: the context holds %d positions, all used; reset to start again",
                       d->max_len);
    int D = d->dim, H = d->heads, Dk = d->dk, Dv = d->dv, t = d->len;
    float *h = d->scratch, *a = h + D, *f = a + D, *o = f + d->ff, *q = o + (size_t)H * Dv, *s = q + (size_t)H * Dk;
    for (int i = 0; i < D; i++)
        h[i] = d->tok[(size_t)token * D + i] + d->pos[(size_t)t * D + i];
    float scale = 1.0f / sqrtf((float)Dk);
    for (int b = 0; b < d->n_blocks; b++) {
        dec_block *k = &d->blocks[b];
        float *kt = k->kc + (size_t)t * H * Dk, *vt = k->vc + (size_t)t * H * Dv;
        vec_mat(h, k->wq, k->bq, D, H * Dk, q);
        vec_mat(h, k->wk, k->bk, D, H * Dk, kt);
        vec_mat(h, k->wv, k->bv, D, H * Dv, vt);
        for (int hh = 0; hh < H; hh++) {
            const float *qh = q + (size_t)hh * Dk;
            float mx = -INFINITY, sum = 0.0f;
            for (int j = 0; j <= t; j++) {
                const float *kj = k->kc + ((size_t)j * H + hh) * Dk;
                float dot = 0.0f;
                for (int e = 0; e < Dk; e++)
                    dot += (qh[e] * scale) * kj[e];
                s[j] = dot;
                mx = dot > mx ? dot : mx;
            }
            for (int j = 0; j <= t; j++) {
                s[j] = expf(s[j] - mx);
                sum += s[j];
            }
            float *oh = o + (size_t)hh * Dv;
            memset(oh, 0, (size_t)Dv * sizeof(float));
            for (int j = 0; j <= t; j++) {
                const float *vj = k->vc + ((size_t)j * H + hh) * Dv;
                float p = s[j] / sum;
                for (int e = 0; e < Dv; e++)
                    oh[e] += p * vj[e];
            }
        }
        vec_mat(o, k->wo, k->bo, H * Dv, D, a);
        add_norm(h, a, k->g1, k->be1, D, d->eps);
        vec_mat(h, k->w1, k->b1, D, d->ff, f);
        for (int i = 0; i < d->ff; i++)
            f[i] = activate(d->act, f[i]);
        vec_mat(f, k->w2, k->b2, d->ff, D, a);
        add_norm(h, a, k->g2, k->be2, D, d->eps);
    }
    vec_mat(h, d->wout, d->bout, D, d->vocab, logits);
    d->len++;
    return DC_OK;
}

dc_status dc_sample_logits(const float *logits, int n, float temperature, int top_k, dc_rng *rng, int *token)
{
    DC_CHECK_NULL(logits);
    DC_CHECK_NULL(rng);
    DC_CHECK_NULL(token);
    if (n < 1)
        return dc_fail(DC_ERR_ARG, "sample: %d logits, expected at least 1", n);
    if (!(temperature > 0.0f) || isinf(temperature))
        return dc_fail(DC_ERR_ARG, "sample: temperature %g, expected a finite number > 0", (double)temperature);
    if (top_k < 0)
        return dc_fail(DC_ERR_ARG, "sample: top_k %d, expected >= 0 (0: every token)", top_k);
    int k = top_k == 0 || top_k > n ? n : top_k;
    /* the k largest logits: a partial selection, ties to the lower index */
    float kth = INFINITY;
    int kth_idx = -1, chosen = 0;
    double total = 0.0, mx = -INFINITY;
    for (int i = 0; i < n; i++) {
        if (logits[i] != logits[i])
            return dc_fail(DC_ERR_NAN, "sample: logit %d is NaN", i);
        mx = logits[i] > mx ? logits[i] : mx;
    }
    /* find the threshold: the k-th largest value (k passes over n, n small) */
    for (int r = 0; r < k; r++) {
        float best = -INFINITY;
        int bi = -1;
        for (int i = 0; i < n; i++)
            if ((logits[i] < kth || (logits[i] == kth && i > kth_idx)) && (bi < 0 || logits[i] > best)) {
                best = logits[i];
                bi = i;
            }
        kth = best;
        kth_idx = bi;
    }
    for (int i = 0; i < n; i++)
        if (logits[i] > kth || (logits[i] == kth && i <= kth_idx))
            total += exp(((double)logits[i] - mx) / temperature);
    double u = (double)dc_rng_uniform(rng) * total, acc = 0.0;
    for (int i = 0; i < n; i++) {
        if (!(logits[i] > kth || (logits[i] == kth && i <= kth_idx)))
            continue;
        acc += exp(((double)logits[i] - mx) / temperature);
        chosen = i;
        if (u < acc)
            break;
    }
    *token = chosen;
    return DC_OK;
}
