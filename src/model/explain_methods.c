/*
 * explain_methods.c - attribution methods over explain.c's passes:
 * saliency, gradient x input, SmoothGrad, integrated gradients (in the input
 * space and in a layer's output space), Grad-CAM, occlusion, and the scalar
 * itself.
 *
 * The methods that need many passes per sample (SmoothGrad's noisy copies,
 * integrated gradients' path points, occlusion's patches) lay all of them
 * out as rows 0 .. N * per - 1, row r standing for sample r / per, and run
 * them in batches of the target's batch_size: the steps of one sample share
 * a batch whenever they fit.
 */
#include "model/explain_internal.h"

#include <math.h>
#include <string.h>

/* |g| (abs) or x * g of the input gradient. */
static dc_status grad_map(dc_model *m, const char *where, const dc_tensor *x, const dc_explain_target *t, int times_x,
                          dc_tensor **out)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(t);
    DC_CHECK_NULL(out);
    *out = NULL;
    dc_tensor *g;
    dc_status st = dc_xp_input_gradient(m, where, x, t, &g);
    if (st != DC_OK)
        return st;
    for (size_t i = 0; i < g->size; i++)
        g->data[i] = times_x ? g->data[i] * x->data[i] : fabsf(g->data[i]);
    *out = g;
    return DC_OK;
}

dc_status dc_explain_saliency(dc_model *m, const dc_tensor *x, const dc_explain_target *t, dc_tensor **out)
{
    return grad_map(m, "saliency", x, t, 0, out);
}

dc_status dc_explain_grad_x_input(dc_model *m, const dc_tensor *x, const dc_explain_target *t, dc_tensor **out)
{
    return grad_map(m, "grad_x_input", x, t, 1, out);
}

/* What a path method makes row r of (sample r / per, point r % per). */
typedef void (*row_fn)(void *ctx, int sample, int k, float *dst);

/* Runs rows 0 .. n * per - 1 made by make (into the input, or into `sub`'s
 * value when sub is not NULL, the input then holding the sample's x) and
 * adds each row's gradient (the input's, or sub's) into acc[sample]. */
static dc_status run_rows(dc_xp *s, const dc_tensor *x, int n, int per, dc_node *sub, row_fn make, void *ctx,
                          float *acc)
{
    dc_model *m = s->m;
    size_t per_x = x->size / (size_t)x->shape[0];
    size_t width = sub ? dc_node_sample_size(sub) : per_x;
    float *vals = sub ? dc_malloc(sizeof(float) * width * (size_t)s->batch) : NULL;
    float *cap = sub ? dc_malloc(sizeof(float) * width * (size_t)s->batch) : NULL;
    if (sub && (!vals || !cap)) {
        free(vals);
        free(cap);
        return dc_fail(DC_ERR_NOMEM, "%s: out of memory for a batch of %d", s->where, s->batch);
    }
    dc_status st = DC_OK;
    size_t total = (size_t)n * (size_t)per;
    for (size_t r0 = 0; r0 < total && st == DC_OK; r0 += (size_t)s->batch) {
        int b = total - r0 < (size_t)s->batch ? (int)(total - r0) : s->batch;
        for (int j = 0; j < b; j++)
            s->idx[j] = (int)((r0 + (size_t)j) / (size_t)per);
        if (sub)
            dc_xp_gather(s, x, b);
        for (int j = 0; j < b; j++) {
            size_t r = r0 + (size_t)j;
            make(ctx, (int)(r / (size_t)per), (int)(r % (size_t)per),
                 sub ? vals + (size_t)j * width : m->input->val + (size_t)j * per_x);
        }
        st = dc_xp_pass(s, b, sub, vals, sub, cap, 1, NULL);
        const float *g = sub ? cap : m->input->grad;
        for (int j = 0; st == DC_OK && j < b; j++) {
            float *a = acc + (size_t)s->idx[j] * width;
            const float *gj = g + (size_t)j * width;
            for (size_t i = 0; i < width; i++)
                a[i] += gj[i];
        }
    }
    free(vals);
    free(cap);
    return st;
}

/* ---- SmoothGrad ---- */

typedef struct noise_ctx {
    const dc_tensor *x;
    size_t per;
    float *sd; /* per sample: noise * (max - min) */
    dc_rng rng;
} noise_ctx;

static void noise_row(void *vc, int sample, int k, float *dst)
{
    (void)k;
    noise_ctx *c = vc;
    const float *xs = c->x->data + (size_t)sample * c->per;
    for (size_t i = 0; i < c->per; i++)
        dst[i] = xs[i] + c->sd[sample] * dc_rng_normal(&c->rng);
}

dc_status dc_explain_smoothgrad(dc_model *m, const dc_tensor *x, const dc_explain_target *t, int samples, float noise,
                                uint64_t seed, dc_tensor **out)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(t);
    DC_CHECK_NULL(out);
    *out = NULL;
    if (samples < 1)
        return dc_fail(DC_ERR_ARG, "smoothgrad: samples is %d, expected >= 1", samples);
    if (!(noise >= 0.0f) || !isfinite(noise))
        return dc_fail(DC_ERR_ARG, "smoothgrad: noise is %g, expected a finite value >= 0", (double)noise);
    dc_xp s;
    dc_status st = dc_xp_begin(&s, m, "smoothgrad", x, t, t->batch_size ? t->batch_size : (samples > 32 ? samples : 32));
    int n = x->shape[0];
    noise_ctx c = {.x = x, .per = x->size / (size_t)(n > 0 ? n : 1)};
    dc_tensor *acc = NULL;
    if (st == DC_OK) {
        c.sd = dc_malloc(sizeof(float) * (size_t)n);
        acc = dc_tensor_new(x->ndim, x->shape);
        if (!c.sd || !acc)
            st = dc_fail(DC_ERR_NOMEM, "smoothgrad: out of memory");
    }
    if (st == DC_OK) {
        for (int i = 0; i < n; i++) {
            const float *xs = x->data + (size_t)i * c.per;
            float lo = xs[0], hi = xs[0];
            for (size_t j = 1; j < c.per; j++) {
                lo = xs[j] < lo ? xs[j] : lo;
                hi = xs[j] > hi ? xs[j] : hi;
            }
            c.sd[i] = noise * (hi - lo);
        }
        dc_rng_seed(&c.rng, seed);
        st = run_rows(&s, x, n, samples, NULL, noise_row, &c, acc->data);
    }
    dc_xp_end(&s);
    free(c.sd);
    if (st != DC_OK) {
        dc_tensor_free(acc);
        return st;
    }
    for (size_t i = 0; i < acc->size; i++)
        acc->data[i] /= (float)samples;
    *out = acc;
    return DC_OK;
}

/* ---- integrated gradients ---- */

typedef struct path_ctx {
    const float *to;   /* (N, per): x, or the layer's output for x */
    const float *from; /* the baseline: per values, or N * per (from_each) */
    int from_each;
    size_t per;
    int steps;
} path_ctx;

static const float *path_from(const path_ctx *c, int sample)
{
    return c->from_each ? c->from + (size_t)sample * c->per : c->from;
}

static void path_row(void *vc, int sample, int k, float *dst)
{
    const path_ctx *c = vc;
    float a = ((float)k + 0.5f) / (float)c->steps; /* the midpoint rule */
    const float *to = c->to + (size_t)sample * c->per, *from = path_from(c, sample);
    for (size_t i = 0; i < c->per; i++)
        dst[i] = from[i] + a * (to[i] - from[i]);
}

/* The baseline: NULL (zeros: *zeros allocated), (shape), (1, shape) or
 * (n, shape); anything else is an error naming the shapes. */
static dc_status baseline_of(const char *where, const dc_tensor *baseline, int n, int ndim, const int *shape,
                             size_t per, path_ctx *c, float **zeros)
{
    char sb[96], se[96];
    *zeros = NULL;
    if (!baseline) {
        *zeros = dc_calloc(per, sizeof(float));
        if (!*zeros)
            return dc_fail(DC_ERR_NOMEM, "%s: out of memory for the baseline", where);
        c->from = *zeros;
        return DC_OK;
    }
    int lead = baseline->ndim - ndim;
    int ok = (lead == 0 || lead == 1) && memcmp(baseline->shape + lead, shape, (size_t)ndim * sizeof(int)) == 0 &&
             (lead == 0 || baseline->shape[0] == 1 || baseline->shape[0] == n);
    if (!ok)
        return dc_fail(DC_ERR_SHAPE, "%s: the baseline has shape %s, expected %s for all samples, or (1 or %d, ...)",
                       where, dc_shape_str(baseline->ndim, baseline->shape, sb, sizeof sb),
                       dc_shape_str(ndim, shape, se, sizeof se), n);
    c->from = baseline->data;
    c->from_each = lead == 1 && baseline->shape[0] == n && n > 1;
    return DC_OK;
}

static dc_status check_steps(const char *where, int steps)
{
    if (steps < 1)
        return dc_fail(DC_ERR_ARG, "%s: steps is %d, expected >= 1 (50 is common)", where, steps);
    return DC_OK;
}

/* attributions = (to - from) * acc / steps, in place in acc. */
static void ig_finish(const path_ctx *c, int n, float *acc)
{
    for (int i = 0; i < n; i++) {
        const float *to = c->to + (size_t)i * c->per, *from = path_from(c, i);
        float *a = acc + (size_t)i * c->per;
        for (size_t j = 0; j < c->per; j++)
            a[j] = (to[j] - from[j]) * a[j] / (float)c->steps;
    }
}

static int ig_batch(const dc_explain_target *t, int steps)
{
    return t->batch_size ? t->batch_size : (steps < 32 ? 32 : steps > 256 ? 256 : steps);
}

/* Integrated gradients from baseline to `to` (x itself, or the layer's
 * output for x when at is not NULL: the path then replaces at's value). */
static dc_status ig_run(dc_model *m, const char *where, const dc_tensor *x, const dc_tensor *to, dc_node *at,
                        const dc_tensor *baseline, int steps, const dc_explain_target *t, dc_tensor **out)
{
    dc_xp s;
    dc_status st = dc_xp_begin(&s, m, where, x, t, ig_batch(t, steps));
    int n = x->shape[0];
    path_ctx c = {.to = to->data, .per = to->size / (size_t)n, .steps = steps};
    float *zeros = NULL;
    dc_tensor *acc = NULL;
    if (st == DC_OK)
        st = baseline_of(where, baseline, n, to->ndim - 1, to->shape + 1, c.per, &c, &zeros);
    if (st == DC_OK && !(acc = dc_tensor_new(to->ndim, to->shape)))
        st = dc_last_status();
    if (st == DC_OK)
        st = run_rows(&s, x, n, steps, at, path_row, &c, acc->data);
    dc_xp_end(&s);
    if (st == DC_OK)
        ig_finish(&c, n, acc->data);
    free(zeros);
    if (st != DC_OK) {
        dc_tensor_free(acc);
        return st;
    }
    *out = acc;
    return DC_OK;
}

dc_status dc_explain_integrated_gradients(dc_model *m, const dc_tensor *x, const dc_tensor *baseline, int steps,
                                          const dc_explain_target *t, dc_tensor **out)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(t);
    DC_CHECK_NULL(out);
    *out = NULL;
    dc_status st = check_steps("integrated_gradients", steps);
    if (st != DC_OK)
        return st;
    return ig_run(m, "integrated_gradients", x, x, NULL, baseline, steps, t, out);
}

dc_status dc_explain_integrated_gradients_layer(dc_model *m, const dc_tensor *x, const char *layer,
                                                const dc_tensor *baseline, int steps, const dc_explain_target *t,
                                                dc_tensor **out)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(layer);
    DC_CHECK_NULL(t);
    DC_CHECK_NULL(out);
    *out = NULL;
    const char *where = "integrated_gradients_layer";
    dc_status st = check_steps(where, steps);
    if (st != DC_OK)
        return st;
    dc_tensor *a = NULL; /* the layer's output for x: the path's end */
    if ((st = dc_xp_layer_run(m, where, x, layer, t, 0, &a, NULL)) != DC_OK)
        return st;
    st = ig_run(m, where, x, a, dc_xp_layer_node(m, where, layer, NULL), baseline, steps, t, out);
    dc_tensor_free(a);
    return st;
}

/* ---- Grad-CAM ---- */

dc_status dc_explain_grad_cam(dc_model *m, const dc_tensor *x, const char *layer, const dc_explain_target *t,
                              dc_tensor **out)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(layer);
    DC_CHECK_NULL(t);
    DC_CHECK_NULL(out);
    *out = NULL;
    const char *where = "grad_cam";
    dc_status st = dc_model_build(m);
    if (st != DC_OK)
        return st;
    const dc_layer *l = NULL;
    dc_node *at = dc_xp_layer_node(m, where, layer, &l);
    if (!at)
        return dc_last_status();
    const char *type = l->cls->type;
    if (!strstr(type, "Conv") || strstr(type, "1D") || at->ndim != 4)
        return dc_fail(DC_ERR_ARG, "%s: layer \"%s\" is a %s; Grad-CAM takes a 2D convolution layer (Conv2D ...) "
                                   "whose output is (batch, height, width, channels)", where, layer, type);
    dc_tensor *A = NULL, *G = NULL;
    if ((st = dc_xp_layer_run(m, where, x, layer, t, 1, &A, &G)) != DC_OK)
        return st;
    int n = A->shape[0], h = A->shape[1], w = A->shape[2], k = A->shape[3];
    dc_tensor *cam = dc_tensor_new(3, (int[]){n, h, w});
    double *alpha = dc_malloc(sizeof(double) * (size_t)k);
    if (!cam || !alpha) {
        dc_tensor_free(A);
        dc_tensor_free(G);
        dc_tensor_free(cam);
        free(alpha);
        return dc_fail(DC_ERR_NOMEM, "%s: out of memory", where);
    }
    size_t hw = (size_t)h * (size_t)w;
    for (int i = 0; i < n; i++) {
        const float *a = A->data + (size_t)i * hw * (size_t)k, *g = G->data + (size_t)i * hw * (size_t)k;
        for (int c = 0; c < k; c++)
            alpha[c] = 0;
        for (size_t p = 0; p < hw; p++)
            for (int c = 0; c < k; c++)
                alpha[c] += g[p * (size_t)k + (size_t)c];
        for (int c = 0; c < k; c++)
            alpha[c] /= (double)hw;
        for (size_t p = 0; p < hw; p++) {
            double v = 0;
            for (int c = 0; c < k; c++)
                v += alpha[c] * a[p * (size_t)k + (size_t)c];
            cam->data[(size_t)i * hw + p] = v > 0 ? (float)v : 0.0f;
        }
    }
    free(alpha);
    dc_tensor_free(A);
    dc_tensor_free(G);
    *out = cam;
    return DC_OK;
}

/* ---- occlusion and the scalar ---- */

/* f for rows 0 .. n * per - 1 made by make (NULL: the samples themselves),
 * into scores[r]; no backward. */
static dc_status score_rows(dc_xp *s, const dc_tensor *x, int n, int per, row_fn make, void *ctx, float *scores)
{
    dc_model *m = s->m;
    size_t per_x = x->size / (size_t)x->shape[0], total = (size_t)n * (size_t)per;
    int loss = s->t->kind == DC_EXPLAIN_LOSS;
    int batch = loss ? 1 : s->batch; /* the loss is a batch's mean: one row each */
    dc_status st = DC_OK;
    for (size_t r0 = 0; r0 < total && st == DC_OK; r0 += (size_t)batch) {
        int b = total - r0 < (size_t)batch ? (int)(total - r0) : batch;
        for (int j = 0; j < b; j++)
            s->idx[j] = (int)((r0 + (size_t)j) / (size_t)per);
        if (make) {
            for (int j = 0; j < b; j++)
                make(ctx, (int)((r0 + (size_t)j) / (size_t)per), (int)((r0 + (size_t)j) % (size_t)per),
                     m->input->val + (size_t)j * per_x);
        } else {
            dc_xp_gather(s, x, b);
        }
        st = dc_xp_pass(s, b, NULL, NULL, NULL, NULL, 0, scores + r0);
    }
    return st;
}

dc_status dc_explain_score(dc_model *m, const dc_tensor *x, const dc_explain_target *t, dc_tensor **out)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(t);
    DC_CHECK_NULL(out);
    *out = NULL;
    dc_xp s;
    dc_status st = dc_xp_begin(&s, m, "score", x, t, t->batch_size);
    dc_tensor *f = NULL;
    if (st == DC_OK && !(f = dc_tensor_new(1, (int[]){x->shape[0]})))
        st = dc_last_status();
    if (st == DC_OK)
        st = score_rows(&s, x, x->shape[0], 1, NULL, NULL, f->data);
    dc_xp_end(&s);
    if (st != DC_OK) {
        dc_tensor_free(f);
        return st;
    }
    *out = f;
    return DC_OK;
}

typedef struct occ_ctx {
    const dc_tensor *x;
    int h, w, c, ph, pw, ny, nx, stride;
    float fill;
} occ_ctx;

/* Patch k's top-left corner: every stride pixels, the last flush with the edge. */
static int occ_pos(int k, int n, int stride, int size, int extent)
{
    return k == n - 1 ? extent - size : k * stride;
}

static void occ_row(void *vc, int sample, int k, float *dst)
{
    const occ_ctx *c = vc;
    size_t per = (size_t)c->h * (size_t)c->w * (size_t)c->c;
    memcpy(dst, c->x->data + (size_t)sample * per, per * sizeof(float));
    int y0 = occ_pos(k / c->nx, c->ny, c->stride, c->ph, c->h), x0 = occ_pos(k % c->nx, c->nx, c->stride, c->pw, c->w);
    for (int y = y0; y < y0 + c->ph; y++)
        for (int x = x0; x < x0 + c->pw; x++)
            for (int ch = 0; ch < c->c; ch++)
                dst[((size_t)y * (size_t)c->w + (size_t)x) * (size_t)c->c + (size_t)ch] = c->fill;
}

/* Patches along an axis of `extent`: every stride, plus one flush with the end. */
static int occ_count(int extent, int size, int stride)
{
    int k = (extent - size) / stride + 1;
    return (k - 1) * stride + size < extent ? k + 1 : k;
}

dc_status dc_explain_occlusion(dc_model *m, const dc_tensor *x, const dc_explain_target *t, int patch_h, int patch_w,
                               int stride, float fill, dc_tensor **out)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(x);
    DC_CHECK_NULL(t);
    DC_CHECK_NULL(out);
    *out = NULL;
    const char *where = "occlusion";
    char sx[96];
    if (x->ndim != 4)
        return dc_fail(DC_ERR_SHAPE, "%s: x has shape %s, expected images (N, height, width, channels)", where,
                       dc_shape_str(x->ndim, x->shape, sx, sizeof sx));
    occ_ctx c = {.x = x, .h = x->shape[1], .w = x->shape[2], .c = x->shape[3], .ph = patch_h, .pw = patch_w,
                 .stride = stride, .fill = fill};
    if (patch_h < 1 || patch_w < 1 || patch_h > c.h || patch_w > c.w || stride < 1)
        return dc_fail(DC_ERR_ARG, "%s: patch %dx%d with stride %d, expected a patch of 1x1 to %dx%d and stride >= 1",
                       where, patch_h, patch_w, stride, c.h, c.w);
    if (t->kind == DC_EXPLAIN_LOSS)
        return dc_fail(DC_ERR_ARG, "%s: the loss target is not supported; occlude for a class (dc_explain_class)", where);
    c.ny = occ_count(c.h, patch_h, stride);
    c.nx = occ_count(c.w, patch_w, stride);
    int n = x->shape[0], per = c.ny * c.nx;
    dc_xp s;
    dc_status st = dc_xp_begin(&s, m, where, x, t, t->batch_size ? t->batch_size : (per < 64 ? per : 64));
    float *base = dc_malloc(sizeof(float) * (size_t)n), *sc = dc_malloc(sizeof(float) * (size_t)n * (size_t)per);
    float *cnt = dc_calloc((size_t)c.h * (size_t)c.w, sizeof(float));
    dc_tensor *map = dc_tensor_new(3, (int[]){n, c.h, c.w});
    if (st == DC_OK && (!base || !sc || !cnt || !map))
        st = dc_fail(DC_ERR_NOMEM, "%s: out of memory for %d samples' %d patches", where, n, per);
    if (st == DC_OK)
        st = score_rows(&s, x, n, 1, NULL, NULL, base);
    if (st == DC_OK)
        st = score_rows(&s, x, n, per, occ_row, &c, sc);
    dc_xp_end(&s);
    if (st == DC_OK) {
        memset(map->data, 0, map->size * sizeof(float));
        for (int k = 0; k < per; k++) {
            int y0 = occ_pos(k / c.nx, c.ny, stride, patch_h, c.h), x0 = occ_pos(k % c.nx, c.nx, stride, patch_w, c.w);
            for (int y = y0; y < y0 + patch_h; y++)
                for (int xx = x0; xx < x0 + patch_w; xx++) {
                    size_t p = (size_t)y * (size_t)c.w + (size_t)xx;
                    cnt[p] += 1.0f;
                    for (int i = 0; i < n; i++)
                        map->data[(size_t)i * (size_t)c.h * (size_t)c.w + p] += base[i] - sc[(size_t)i * per + k];
                }
        }
        for (int i = 0; i < n; i++)
            for (size_t p = 0; p < (size_t)c.h * (size_t)c.w; p++)
                map->data[(size_t)i * (size_t)c.h * (size_t)c.w + p] /= cnt[p] > 0 ? cnt[p] : 1.0f;
    }
    free(base);
    free(sc);
    free(cnt);
    if (st != DC_OK) {
        dc_tensor_free(map);
        return st;
    }
    *out = map;
    return DC_OK;
}
