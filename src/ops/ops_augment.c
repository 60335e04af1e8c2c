/*
 * ops_augment.c - Keras' image augmentation as graph ops: random in training,
 * the identity at inference (no draws), channels last (B, H, W, C).
 *
 * random_flip: attr.flip.mode (DC_FLIP_HORIZONTAL | DC_FLIP_VERTICAL).  As
 * Keras 3's RandomFlip, one uniform u per image; the image is flipped when
 * u <= 0.5 (with both bits, one draw flips both axes together).  The draw is
 * kept per image (scratch) for the backward, which flips the gradient back.
 *
 * random_affine: output pixel (x, y) reads the input at the source point
 * (a0 x + a1 y + a2, b0 x + b1 y + b2) of a per-image 2x3 transform drawn in
 * the forward (Keras' affine_transform, pixel indices as coordinates).
 * attr.affine: kind (dc_affine_kind: the transform of RandomTranslation,
 * RandomRotation or RandomZoom, see affine_make), fill mode (dc_fill_mode),
 * bilinear or nearest, zoom_same: no width range (zoom: the height's zoom on
 * both axes); the height range (rotation: the factor range), the width
 * range, the fill value.
 * Points outside the image follow the fill mode as TensorFlow's
 * ImageProjectiveTransform (which Keras' tutorials ran on): reflect, wrap and
 * nearest map the source coordinate into the image first; constant reads
 * fill_value for every neighbour outside.  The backward scatters each output
 * gradient into the input pixels with the sampling weights.
 *
 * Without a run RNG (the graph API) the draws are dc_fixed_uniform of the
 * image index, so gradient checks see one fixed transform.
 */
#include "graph/graph.h"

#include <math.h>
#include <string.h>

/* Checks for (B, H, W, C) and copies the shape; n->work_per_sample, set
 * before, is the per-image scratch. */
static dc_status image_shape(dc_node *n, const char *op)
{
    const dc_node *x = n->in[0];
    if (x->ndim != 4) {
        char sx[96];
        return dc_fail(DC_ERR_SHAPE, "%s: input %s, expected (batch, height, width, channels)", op,
                       dc_batch_shape_str(x->ndim, x->shape, sx, sizeof sx));
    }
    n->batched = x->batched;
    if (!x->batched) { /* a fixed stack of images (the graph API): scratch for each */
        n->work_fixed = n->work_per_sample * (size_t)x->shape[0];
        n->work_per_sample = 0;
    }
    n->ndim = 4;
    memcpy(n->shape, x->shape, sizeof n->shape);
    return DC_OK;
}

/* One uniform in [0, 1) per draw: the run's RNG, or fixed by position. */
static float draw(const dc_run *run, size_t i) { return run->rng ? dc_rng_uniform(run->rng) : dc_fixed_uniform(i); }

/* ---- random_flip ---- */

static dc_status flip_infer(dc_node *n)
{
    if (n->attr.flip.mode < 1 || n->attr.flip.mode > 3)
        return dc_fail(DC_ERR_ARG, "random_flip: mode %d, expected 1 (horizontal), 2 (vertical) or 3 (both)",
                       n->attr.flip.mode);
    n->work_per_sample = 1; /* 1: this image is flipped */
    return image_shape(n, "random_flip");
}

/* dst = src of one image (h, w, c) flipped per `mode`; adds into dst when acc. */
static void flip_image(const float *src, float *dst, int h, int w, int c, int mode, int acc)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int sy = mode & DC_FLIP_VERTICAL ? h - 1 - y : y, sx = mode & DC_FLIP_HORIZONTAL ? w - 1 - x : x;
            const float *s = src + ((size_t)sy * w + sx) * c;
            float *d = dst + ((size_t)y * w + x) * c;
            for (int k = 0; k < c; k++)
                d[k] = acc ? d[k] + s[k] : s[k];
        }
}

static dc_status flip_forward(dc_node *n, const dc_run *run)
{
    const float *x = n->in[0]->val;
    int b = n->shape[0], h = n->shape[1], w = n->shape[2], c = n->shape[3];
    size_t per = (size_t)h * w * c;
    if (!run->training) {
        memcpy(n->val, x, dc_node_numel(n) * sizeof(float));
        return DC_OK;
    }
    dc_run_rng_skip(run, 1, b, 1);
    for (int i = 0; i < b; i++)
        n->work[i] = draw(run, (size_t)i) <= 0.5f ? 1.0f : 0.0f;
    dc_run_rng_skip(run, 1, b, 0);
#pragma omp parallel for if (dc_worth_parallel((double)dc_node_numel(n)))
    for (int i = 0; i < b; i++)
        flip_image(x + i * per, n->val + i * per, h, w, c, n->work[i] != 0.0f ? n->attr.flip.mode : 0, 0);
    return DC_OK;
}

static void flip_backward(dc_node *n, const dc_run *run)
{
    int b = n->shape[0], h = n->shape[1], w = n->shape[2], c = n->shape[3];
    size_t per = (size_t)h * w * c;
    float *gx = n->in[0]->grad;
#pragma omp parallel for if (dc_worth_parallel((double)dc_node_numel(n)))
    for (int i = 0; i < b; i++) { /* a flip is its own inverse */
        int mode = run->training && n->work[i] != 0.0f ? n->attr.flip.mode : 0;
        flip_image(n->grad + i * per, gx + i * per, h, w, c, mode, 1);
    }
}

const dc_op dc_op_random_flip = {.name = "random_flip", .n_inputs = 1, .infer = flip_infer, .forward = flip_forward,
                                 .backward = flip_backward};

dc_node *dc_random_flip(dc_graph *g, dc_node *x, int mode)
{
    return dc_node_make(g, &dc_op_random_flip, 1, &x, &(dc_attr){.flip = {mode}});
}

/* ---- random_affine ---- */

#define AFFINE_DRAWS 2 /* uniforms per image */

static dc_status affine_infer(dc_node *n)
{
    const dc_affine_attr *at = &n->attr.affine;
    if (at->kind < DC_AFFINE_TRANSLATE || at->kind > DC_AFFINE_ZOOM)
        return dc_fail(DC_ERR_ARG, "random_affine: unknown kind %d", at->kind);
    if (at->fill < 0 || at->fill >= DC_FILL_COUNT)
        return dc_fail(DC_ERR_ARG, "random_affine: unknown fill mode %d", at->fill);
    for (int a = 0; a < 2; a++) {
        const float *f = a ? at->width : at->height;
        if (!(f[0] <= f[1]) || !isfinite(f[0]) || !isfinite(f[1]))
            return dc_fail(DC_ERR_ARG, "random_affine: %s range (%g, %g), expected finite lower <= upper",
                           a ? "width" : "height", (double)f[0], (double)f[1]);
    }
    n->work_per_sample = 6; /* the image's 2x3 transform */
    return image_shape(n, "random_affine");
}

/* The transform of one image from its draws u (AFFINE_DRAWS values in
 * [0, 1)), in double, as Keras 3 builds it: RandomTranslation's shift,
 * RandomRotation's _compute_affine_matrix about the centre ((W-1)/2, (H-1)/2)
 * (angle uniform(lo, hi) * 2 pi, positive counter-clockwise), RandomZoom's
 * scale 1 + uniform(lo, hi) per axis about the same centre (zoom_same: the
 * width zoom is the height zoom, Keras' width_factor=None). */
static void affine_make(const dc_node *n, const float *u, float *t)
{
    const dc_affine_attr *at = &n->attr.affine;
    const float *fh = at->height, *fw = at->width;
    double h = n->shape[1], w = n->shape[2], cx = 0.5 * (w - 1), cy = 0.5 * (h - 1);
    double ru = fh[0] + (double)(fh[1] - fh[0]) * u[0], cu = fw[0] + (double)(fw[1] - fw[0]) * u[1];
    double m[6] = {1, 0, 0, 0, 1, 0};
    if (at->kind == DC_AFFINE_TRANSLATE) {
        m[2] = -cu * w;
        m[5] = -ru * h;
    } else if (at->kind == DC_AFFINE_ROTATE) {
        double a = ru * 2.0 * 3.14159265358979323846, c = cos(a), sn = sin(a);
        double mm[6] = {c, -sn, cx - cx * c + cy * sn, sn, c, cy - cx * sn - cy * c};
        memcpy(m, mm, sizeof m);
    } else { /* zoom */
        double zy = 1.0 + ru, zx = at->zoom_same ? zy : 1.0 + cu;
        double mm[6] = {zx, 0, cx * (1.0 - zx), 0, zy, cy * (1.0 - zy)};
        memcpy(m, mm, sizeof m);
    }
    for (int k = 0; k < 6; k++)
        t[k] = (float)m[k];
}

/* A source coordinate mapped into [0, len - 1] per the fill mode (TF's
 * map_coord); constant leaves it as is. */
static float map_coord(float v, int len, int fill)
{
    float sz = (float)len, sz2 = 2.0f * sz;
    if (fill == DC_FILL_CONSTANT)
        return v;
    if (fill == DC_FILL_REFLECT) {
        if (len <= 1)
            return 0.0f;
        if (v < 0) {
            if (v < -sz2)
                v += sz2 * (float)(int)(-v / sz2);
            v = v < -sz ? v + sz2 : -v - 1.0f;
        } else if (v > sz - 1) {
            if (v >= sz2)
                v -= sz2 * (float)(int)(v / sz2);
            if (v >= sz)
                v = sz2 - v - 1.0f;
        }
    } else if (fill == DC_FILL_WRAP) {
        if (len <= 1)
            return 0.0f;
        if (v < 0)
            v += sz * (float)((int)(-v / sz) + 1);
        else if (v > sz - 1)
            v -= sz * (float)(int)(v / sz);
    }
    return v < 0 ? 0.0f : (v > sz - 1 ? sz - 1 : v);
}

/* The up-to-4 input pixels (index into the image, -1: outside, reads the
 * fill value) and weights of the sample at source point (sx, sy). */
static int affine_taps(float sx, float sy, int h, int w, int fill, int bilinear, int *idx, float *wt)
{
    sx = map_coord(sx, w, fill);
    sy = map_coord(sy, h, fill);
    if (!bilinear) {
        int x = (int)roundf(sx), y = (int)roundf(sy);
        idx[0] = x >= 0 && x < w && y >= 0 && y < h ? y * w + x : -1;
        wt[0] = 1.0f;
        return 1;
    }
    float fx = floorf(sx), fy = floorf(sy), ax = sx - fx, ay = sy - fy;
    int x0 = (int)fx, y0 = (int)fy;
    for (int k = 0; k < 4; k++) {
        int x = x0 + (k & 1), y = y0 + (k >> 1);
        idx[k] = x >= 0 && x < w && y >= 0 && y < h ? y * w + x : -1;
        wt[k] = ((k & 1) ? ax : 1.0f - ax) * ((k >> 1) ? ay : 1.0f - ay);
    }
    return 4;
}

static dc_status affine_forward(dc_node *n, const dc_run *run)
{
    const float *x = n->in[0]->val;
    int b = n->shape[0], h = n->shape[1], w = n->shape[2], c = n->shape[3];
    int fill = n->attr.affine.fill, bilinear = n->attr.affine.bilinear;
    float fv = n->attr.affine.fill_value;
    size_t per = (size_t)h * w * c;
    if (!run->training) {
        memcpy(n->val, x, dc_node_numel(n) * sizeof(float));
        return DC_OK;
    }
    dc_run_rng_skip(run, AFFINE_DRAWS, b, 1);
    for (int i = 0; i < b; i++) {
        float u[AFFINE_DRAWS];
        for (int k = 0; k < AFFINE_DRAWS; k++)
            u[k] = draw(run, (size_t)i * AFFINE_DRAWS + k);
        affine_make(n, u, n->work + 6 * (size_t)i);
    }
    dc_run_rng_skip(run, AFFINE_DRAWS, b, 0);
#pragma omp parallel for if (dc_worth_parallel(8.0 * (double)dc_node_numel(n)))
    for (int i = 0; i < b; i++) {
        const float *t = n->work + 6 * (size_t)i, *src = x + i * per;
        float *dst = n->val + i * per;
        for (int y = 0; y < h; y++)
            for (int xx = 0; xx < w; xx++) {
                int idx[4];
                float wt[4], *d = dst + ((size_t)y * w + xx) * c;
                int taps = affine_taps(t[0] * xx + t[1] * y + t[2], t[3] * xx + t[4] * y + t[5], h, w, fill, bilinear,
                                       idx, wt);
                for (int k = 0; k < c; k++) {
                    float s = 0.0f;
                    for (int q = 0; q < taps; q++)
                        s += wt[q] * (idx[q] >= 0 ? src[(size_t)idx[q] * c + k] : fv);
                    d[k] = s;
                }
            }
    }
    return DC_OK;
}

static void affine_backward(dc_node *n, const dc_run *run)
{
    int b = n->shape[0], h = n->shape[1], w = n->shape[2], c = n->shape[3];
    int fill = n->attr.affine.fill, bilinear = n->attr.affine.bilinear;
    size_t per = (size_t)h * w * c;
    float *gx = n->in[0]->grad;
    if (!run->training) {
        for (size_t i = 0; i < dc_node_numel(n); i++)
            gx[i] += n->grad[i];
        return;
    }
#pragma omp parallel for if (dc_worth_parallel(8.0 * (double)dc_node_numel(n)))
    for (int i = 0; i < b; i++) { /* each image scatters into its own gradient */
        const float *t = n->work + 6 * (size_t)i, *gy = n->grad + i * per;
        float *g = gx + i * per;
        for (int y = 0; y < h; y++)
            for (int xx = 0; xx < w; xx++) {
                int idx[4];
                float wt[4];
                const float *gd = gy + ((size_t)y * w + xx) * c;
                int taps = affine_taps(t[0] * xx + t[1] * y + t[2], t[3] * xx + t[4] * y + t[5], h, w, fill, bilinear,
                                       idx, wt);
                for (int q = 0; q < taps; q++)
                    if (idx[q] >= 0)
                        for (int k = 0; k < c; k++)
                            g[(size_t)idx[q] * c + k] += wt[q] * gd[k];
            }
    }
}

const dc_op dc_op_random_affine = {.name = "random_affine", .n_inputs = 1, .infer = affine_infer,
                                   .forward = affine_forward, .backward = affine_backward};

dc_node *dc_random_affine(dc_graph *g, dc_node *x, dc_affine_kind kind, const float height[2], const float width[2],
                          dc_fill_mode fill_mode, int bilinear, float fill_value)
{
    DC_CHECK_NULL_OR(height, NULL);
    dc_attr a = {.affine = {.kind = (int)kind, .fill = (int)fill_mode, .bilinear = bilinear, .zoom_same = width == NULL,
                            .height = {height[0], height[1]},
                            .width = {width ? width[0] : 0.0f, width ? width[1] : 0.0f}, .fill_value = fill_value}};
    return dc_node_make(g, &dc_op_random_affine, 1, &x, &a);
}

/* ---- random_color: RandomBrightness (contrast 0) and RandomContrast (1) ----
 * One draw per image: d = uniform(range[0], range[1]).  Brightness adds
 * d * (hi - lo) with [lo, hi] the value range; contrast maps x to
 * (x - mean) * d + mean with the mean of each channel over the image.  Both
 * clip to [lo, hi] (Keras' value_range); the clipped values get no gradient. */

static dc_status color_infer(dc_node *n)
{
    const dc_color_attr *a = &n->attr.color;
    const float *f = a->range, *v = a->value_range;
    if (a->contrast < 0 || a->contrast > 1)
        return dc_fail(DC_ERR_ARG, "random_color: unknown kind %d", a->contrast);
    if (!(f[0] <= f[1]) || !(v[0] < v[1]) || !isfinite(f[0]) || !isfinite(f[1]) || !isfinite(v[0]) || !isfinite(v[1]))
        return dc_fail(DC_ERR_ARG, "random_color: range (%g, %g), value range (%g, %g), expected lower <= upper, low < high",
                       (double)f[0], (double)f[1], (double)v[0], (double)v[1]);
    n->work_per_sample = 1 + (size_t)n->in[0]->shape[n->in[0]->ndim - 1]; /* the draw, the channel means */
    return image_shape(n, "random_color");
}

static dc_status color_forward(dc_node *n, const dc_run *run)
{
    const float *x = n->in[0]->val;
    int b = n->shape[0], c = n->shape[3];
    size_t pix = (size_t)n->shape[1] * n->shape[2], per = pix * c;
    const dc_color_attr *a = &n->attr.color;
    float lo = a->value_range[0], hi = a->value_range[1];
    if (!run->training) {
        memcpy(n->val, x, dc_node_numel(n) * sizeof(float));
        return DC_OK;
    }
    dc_run_rng_skip(run, 1, b, 1);
    for (int i = 0; i < b; i++)
        n->work[(size_t)i * (c + 1)] = a->range[0] + (a->range[1] - a->range[0]) * draw(run, (size_t)i);
    dc_run_rng_skip(run, 1, b, 0);
#pragma omp parallel for if (dc_worth_parallel(4.0 * (double)dc_node_numel(n)))
    for (int i = 0; i < b; i++) {
        float *w = n->work + (size_t)i * (c + 1), d = w[0];
        const float *src = x + i * per;
        for (int k = 0; k < c; k++) {
            double s = 0;
            for (size_t p = 0; p < pix; p++)
                s += src[p * c + k];
            w[1 + k] = (float)(s / (double)pix);
        }
        for (size_t p = 0; p < pix; p++)
            for (int k = 0; k < c; k++) {
                float v = src[p * c + k];
                v = a->contrast ? (v - w[1 + k]) * d + w[1 + k] : v + d * (hi - lo);
                n->val[i * per + p * c + k] = v < lo ? lo : (v > hi ? hi : v);
            }
    }
    return DC_OK;
}

static void color_backward(dc_node *n, const dc_run *run)
{
    int b = n->shape[0], c = n->shape[3];
    size_t pix = (size_t)n->shape[1] * n->shape[2], per = pix * c;
    const dc_color_attr *a = &n->attr.color;
    float lo = a->value_range[0], hi = a->value_range[1], *gx = n->in[0]->grad;
    if (!run->training) {
        for (size_t i = 0; i < dc_node_numel(n); i++)
            gx[i] += n->grad[i];
        return;
    }
#pragma omp parallel for if (dc_worth_parallel(4.0 * (double)dc_node_numel(n)))
    for (int i = 0; i < b; i++) {
        const float *w = n->work + (size_t)i * (c + 1), *y = n->val + i * per, *gy = n->grad + i * per;
        float d = w[0], *g = gx + i * per;
        for (int k = 0; k < c; k++) {
            double s = 0; /* sum of the passed gradient: the mean's share */
            for (size_t p = 0; p < pix; p++) {
                size_t j = p * c + k;
                float pass = y[j] > lo && y[j] < hi ? gy[j] : 0.0f;
                g[j] += a->contrast ? pass * d : pass;
                s += pass;
            }
            if (a->contrast)
                for (size_t p = 0; p < pix; p++)
                    g[p * c + k] += (float)(s * (1.0 - d) / (double)pix);
        }
    }
}

const dc_op dc_op_random_color = {.name = "random_color", .n_inputs = 1, .infer = color_infer, .forward = color_forward,
                                  .backward = color_backward};

dc_node *dc_random_color(dc_graph *g, dc_node *x, int contrast, const float range[2], const float value_range[2])
{
    DC_CHECK_NULL_OR(range, NULL);
    DC_CHECK_NULL_OR(value_range, NULL);
    dc_attr a = {.color = {contrast, {range[0], range[1]}, {value_range[0], value_range[1]}}};
    return dc_node_make(g, &dc_op_random_color, 1, &x, &a);
}
