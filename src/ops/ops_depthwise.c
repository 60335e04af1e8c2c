/*
 * ops_depthwise.c - depthwise 2D convolution (Keras' DepthwiseConv2D, the
 * first half of SeparableConv2D), channels-last, with Keras' output sizes and
 * "same" padding (ops_conv.c's geometry).
 *
 * depthwise_conv2d: x (B, H, W, C), kernel (kh, kw, C, M), bias (C*M) optional
 * -> (B, OH, OW, C*M), M the depth multiplier:
 *     y[b, oy, ox, c*M + m] = bias[c*M + m]
 *         + sum over taps (i, j) of x[b, oy*sh - ph + i*dh, ox*sw - pw + j*dw, c] * k[i, j, c, m]
 * (a grouped convolution with C groups of one channel and M filters each;
 * the kernel's memory is the grouped kernel (kh, kw, 1, C*M)).
 *
 * Each output value costs kh*kw multiply-adds over values the neighbouring
 * pixels also read, so the op is bound by memory: it reads x and writes y
 * about once.  It runs directly on the image, CB = 16 channels (one 512-bit
 * vector, GCC's vector extension: AVX-512 under -march=native, narrower
 * registers or plain C elsewhere) at a time, output rows split over the
 * threads.  With M = 1 (MobileNet's case) and whole blocks of 16 channels
 * (row_m1): the kernel's tap vectors are read in place, and pixels whose
 * windows lie inside the image's width go 4 at a time, each kernel vector
 * loaded once for the 4; for each pixel group every channel block in turn,
 * so the image and the output are walked in memory order.  Otherwise
 * (row_block: M > 1, or the last channels of a C not a multiple of 16) the
 * block's kernel vectors for one m are copied into the thread's scratch
 * and each pixel sums its taps in one accumulator, the output written with
 * stride M.
 *
 * Backward (adds into the gradients present): gx splits over (image, block
 * of channels); with M = 1 and a whole block (gx_block_m1) each input pixel
 * gathers gy * k over the outputs covering it in registers and adds into
 * gx once (4 pixels at a time at stride 1), else gy * k is scattered into
 * gx (gx_block).  gK and the bias gradient split over (block of channels,
 * m), each summing over every image in a fixed order in its own scratch
 * (M = 1: per tap, dot products along each output row), so the result does
 * not depend on the number of threads.
 *
 * Attributes: attr.conv (strides, same, dilations; slots set by infer).
 */
#include "ops/conv_internal.h"
#include "core/checked.h"

#include <omp.h>
#include <string.h>

typedef dc_conv_geom geom;

#define CB 16

/* CB floats: one v16 (ops/vec16.h). */
#include "ops/vec16.h"

/* Output pixels per block of the multiplier-1 forward: PB independent sums
 * hide the FMA latency of each pixel's chain over its taps. */
#define PB 4
/* The forward's: 8 sums in flight keep both of Zen 5's FMA pipes busy (measured: 4 left the stride-2 case
 * at half PyTorch's speed). */
#define FPB 8

/* A node's geometry (its infer passed): g.c the input channels, g.f = C*M. */
static int dw_geom(const dc_node *n, geom *g)
{
    const dc_node *k = n->in[1];
    return dc_conv_node_geom(n, k->shape[2] * k->shape[3], g, "depthwise_conv2d");
}

/* A thread's scratch: the block's kernel taps (kh*kw x CB), the block's
 * kernel-gradient sums (kh*kw x CB) and bias-gradient sums (CB), then the
 * input gradient's tables (w*kw + kh ints, gx_block_m1). */
static size_t slot_floats(const geom *g)
{
    size_t taps = dc_size_mul((size_t)g->kh, (size_t)g->kw);
    size_t sums = dc_size_add(dc_size_mul(2 * (size_t)CB, taps), CB);
    return dc_size_add(sums, dc_size_add(dc_size_mul((size_t)g->w, (size_t)g->kw), (size_t)g->kh));
}

/* Where slot_floats' tables start in a slot. */
static int *slot_tables(float *slot, const geom *g)
{
    return (int *)(void *)(slot + 2 * (size_t)CB * g->kh * g->kw + CB);
}

static dc_status dw_infer(dc_node *n)
{
    const char *op = "depthwise_conv2d";
    dc_status st = dc_conv_check_image(n, op);
    if (st != DC_OK)
        return st;
    const dc_node *x = n->in[0], *k = n->in[1];
    const dc_conv_attr *a = &n->attr.conv;
    char sk[96];
    int c = x->shape[3], out;
    if (k->ndim != 4 || k->shape[2] != c || k->shape[3] < 1)
        return dc_fail(DC_ERR_SHAPE, "%s: kernel %s does not fit an input with %d channels; expected (kh, kw, %d, "
                       "depth_multiplier)", op, dc_shape_str(k->ndim, k->shape, sk, sizeof sk), c, c);
    if (dc_ckd_mul(&out, c, k->shape[3]))
        return dc_fail(DC_ERR_SHAPE, "%s: %d channels x depth multiplier %d overflows", op, c, k->shape[3]);
    if (n->in[2] && (n->in[2]->ndim != 1 || n->in[2]->shape[0] != out))
        return dc_fail(DC_ERR_SHAPE, "%s: bias has %d values, expected %d (channels x depth multiplier)", op,
                       n->in[2]->shape[0], out);
    if (a->dilation_h < 1 || a->dilation_w < 1)
        return dc_fail(DC_ERR_ARG, "%s: dilation %dx%d, expected >= 1", op, a->dilation_h, a->dilation_w);
    geom g;
    if (dw_geom(n, &g))
        return dc_last_status();
    if ((st = dc_conv_set_output(n, &g, op)) != DC_OK || (st = dc_node_check_size(n)) != DC_OK)
        return st;
    n->attr.conv.slots = omp_get_max_threads();
    n->work_fixed = dc_size_mul((size_t)n->attr.conv.slots, slot_floats(&g));
    return DC_OK;
}

/* Threads for `units` independent parts of the op's work. */
static int team(const dc_node *n, const geom *g, int units)
{
    int nt = omp_get_max_threads();
    nt = nt < n->attr.conv.slots ? nt : n->attr.conv.slots;
    nt = nt < units ? nt : units;
    double flops = 2.0 * g->b * g->oh * g->ow * g->kh * g->kw * g->f;
    return nt > 1 && dc_worth_parallel(flops) ? nt : 1;
}

/* kv (kh*kw x CB): k[i, j, c0 + q, m] for q < width. */
static void block_taps(const geom *g, const float *k, int dm, int c0, int width, int m, float *kv)
{
    int taps = g->kh * g->kw;
    for (int t = 0; t < taps; t++)
        for (int q = 0; q < width; q++)
            kv[(size_t)t * CB + q] = k[((size_t)t * g->c + (size_t)(c0 + q)) * dm + m];
}

/*
 * Output row oy of one image, columns [ox0, ox1), channels c0 .. c0 + width, multiplier m:
 * y[ox, (c0 + q)*dm + m] = bias + sum over the taps inside the image of
 * x[iy, ix, c0 + q] * kv[tap, q].  Called with constant width and dm for
 * the common cases, so the inner loop is one vector.
 */
static inline void row_block(const geom *g, const float *img, int oy, int ox0, int ox1, int c0, int width, int dm,
                             int m, const float *kv, const float *bias, float *yrow)
{
    int y0 = oy * g->sh - g->ph;
    size_t ostride = (size_t)g->c * dm;
    for (int ox = ox0; ox < ox1; ox++) {
        float acc[CB];
        for (int q = 0; q < width; q++)
            acc[q] = bias ? bias[(size_t)(c0 + q) * dm + m] : 0.0f;
        int x0 = ox * g->sw - g->pw;
        for (int i = 0; i < g->kh; i++) {
            int iy = y0 + i * g->dh;
            if (iy < 0 || iy >= g->h)
                continue;
            const float *xr = img + (size_t)iy * g->w * g->c + c0, *kr = kv + (size_t)i * g->kw * CB;
            for (int j = 0; j < g->kw; j++) {
                int ix = x0 + j * g->dw;
                if (ix < 0 || ix >= g->w)
                    continue;
                const float *restrict xp = xr + (size_t)ix * g->c, *restrict kp = kr + (size_t)j * CB;
#pragma omp simd
                for (int q = 0; q < width; q++)
                    acc[q] += xp[q] * kp[q];
            }
        }
        float *out = yrow + (size_t)ox * ostride + (size_t)c0 * dm + m;
        for (int q = 0; q < width; q++)
            out[(size_t)q * dm] = acc[q];
    }
}

/* Output columns [*lo, *hi) whose windows lie inside the image's width. */
static void interior_cols(const geom *g, int *lo, int *hi)
{
    *lo = (g->pw + g->sw - 1) / g->sw;
    int last = g->w - 1 - (g->kw - 1) * g->dw + g->pw; /* the largest window start x0 + pw */
    *hi = last < 0 ? 0 : last / g->sw + 1;
    if (*hi > g->ow)
        *hi = g->ow;
    if (*lo > *hi)
        *lo = *hi;
}

/* np (FPB or PB, a constant once inlined) output pixels of one row whose
 * windows lie inside the image's width, channels c0 .. c0 + CB, M = 1:
 * out[p*C ..] = b + the taps' sums, each kernel vector loaded once for np. */
static inline __attribute__((always_inline)) void pixels_m1(const geom *g, const float *img, int y0, int x0, int c0,
                                                            int np, const float *k, v16 b, float *out)
{
    size_t c = (size_t)g->c, step = (size_t)g->sw * c;
    v16 a[FPB];
    for (int p = 0; p < np; p++)
        a[p] = b;
    for (int i = 0; i < g->kh; i++) {
        int iy = y0 + i * g->dh;
        if (iy < 0 || iy >= g->h)
            continue;
        const float *xr = img + ((size_t)iy * g->w + (size_t)x0) * c + c0, *kr = k + (size_t)i * g->kw * c + c0;
        for (int j = 0; j < g->kw; j++) {
            v16 kv = load16(kr + (size_t)j * c);
            const float *xp = xr + (size_t)j * g->dw * c;
            for (int p = 0; p < np; p++)
                a[p] += load16(xp + (size_t)p * step) * kv;
        }
    }
    for (int p = 0; p < np; p++)
        store16(out + (size_t)p * c, a[p]);
}

/*
 * row_block for M = 1 over the channel blocks [0, blocks), columns [ox0, ox1): the kernel's tap
 * vectors are read in place (k + tap*C + c0), and the pixels whose windows
 * lie inside the image's width [lo, hi) go FPB (or PB) at a time, each tap's
 * kernel vector serving them all; for each pixel group every block in turn, so
 * the image and the output are walked in memory order.  The same sums in
 * the same order as row_block.
 */
static void row_m1(const geom *g, const float *img, int oy, int ox0, int ox1, int blocks, const float *k,
                   const float *bias, int lo, int hi, float *yrow)
{
    size_t c = (size_t)g->c;
    int y0 = oy * g->sh - g->ph;
    hi = hi < ox1 ? hi : ox1; /* pixel groups stay inside [ox0, ox1) */
    for (int ox = ox0; ox < ox1;) {
        int x0 = ox * g->sw - g->pw, whole = ox < lo ? 0 : ox + FPB <= hi ? FPB : ox + PB <= hi ? PB : 0;
        for (int c0 = 0; c0 < blocks * CB; c0 += CB) {
            v16 b = bias ? load16(bias + c0) : (v16){0};
            if (whole) {
                if (whole == FPB)
                    pixels_m1(g, img, y0, x0, c0, FPB, k, b, yrow + (size_t)ox * c + c0);
                else
                    pixels_m1(g, img, y0, x0, c0, PB, k, b, yrow + (size_t)ox * c + c0);
                continue;
            }
            v16 a = b;
            for (int i = 0; i < g->kh; i++) {
                int iy = y0 + i * g->dh;
                if (iy < 0 || iy >= g->h)
                    continue;
                for (int j = 0; j < g->kw; j++) {
                    int ix = x0 + j * g->dw;
                    if (ix >= 0 && ix < g->w)
                        a += load16(img + ((size_t)iy * g->w + (size_t)ix) * c + c0) *
                             load16(k + ((size_t)i * g->kw + (size_t)j) * c + c0);
                }
            }
            store16(yrow + (size_t)ox * c + c0, a);
        }
        ox += whole ? whole : 1;
    }
}

/* Parts each output row's columns are split into for the forward: 1, unless
 * there are too few rows (over the batch) to share out evenly over the
 * threads (the last stages of a network at batch 1); then enough parts of
 * at least 8 pixels for about 8 units per thread.  Each pixel's sum is the
 * same whichever part computes it. */
static int row_parts(const geom *g, int rows)
{
    int nt = omp_get_max_threads(), want = 8 * nt;
    if (nt < 2 || rows >= want)
        return 1;
    int parts = (want + rows - 1) / rows, most = g->ow / 8;
    parts = parts < most ? parts : most;
    return parts > 1 ? parts : 1;
}

static dc_status dw_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    geom g;
    dw_geom(n, &g);
    const float *x = n->in[0]->val, *k = n->in[1]->val, *bias = n->in[2] ? n->in[2]->val : NULL;
    int dm = n->in[1]->shape[3], rows = g.b * g.oh, parts = row_parts(&g, rows), lo, hi;
    size_t img = (size_t)g.h * g.w * g.c, yr = (size_t)g.ow * g.f;
    interior_cols(&g, &lo, &hi);
#pragma omp parallel num_threads(team(n, &g, rows * parts))
    {
        float *kv = n->work + (size_t)omp_get_thread_num() * slot_floats(&g);
#pragma omp for schedule(static)
        for (int u = 0; u < rows * parts; u++) {
            int r = u / parts, ox0 = (int)((long long)g.ow * (u % parts) / parts),
                ox1 = (int)((long long)g.ow * (u % parts + 1) / parts);
            const float *im = x + (size_t)(r / g.oh) * img;
            float *yrow = n->val + (size_t)r * yr;
            int full = dm == 1 ? g.c / CB : 0; /* blocks row_m1 takes */
            if (full)
                row_m1(&g, im, r % g.oh, ox0, ox1, full, k, bias, lo, hi, yrow);
            for (int c0 = full * CB; c0 < g.c; c0 += CB) {
                int width = g.c - c0 < CB ? g.c - c0 : CB;
                for (int m = 0; m < dm; m++) {
                    block_taps(&g, k, dm, c0, width, m, kv);
                    if (width == CB)
                        row_block(&g, im, r % g.oh, ox0, ox1, c0, CB, dm, m, kv, bias, yrow);
                    else
                        row_block(&g, im, r % g.oh, ox0, ox1, c0, width, dm, m, kv, bias, yrow);
                }
            }
        }
    }
    return DC_OK;
}

/* gx[b, ..., c0 .. c0 + width) += sum over m of gy[b, ..., (c0 + q)*dm + m] (*) k: one image, one block. */
static void gx_block(const geom *g, const float *k, int dm, const float *gy, int c0, int width, float *kv, float *gimg)
{
    for (int m = 0; m < dm; m++) {
        block_taps(g, k, dm, c0, width, m, kv);
        for (int oy = 0; oy < g->oh; oy++) {
            int y0 = oy * g->sh - g->ph;
            for (int ox = 0; ox < g->ow; ox++) {
                const float *gp = gy + ((size_t)oy * g->ow + ox) * g->f + (size_t)c0 * dm + m;
                float gv[CB];
                for (int q = 0; q < width; q++)
                    gv[q] = gp[(size_t)q * dm];
                int x0 = ox * g->sw - g->pw;
                for (int i = 0; i < g->kh; i++) {
                    int iy = y0 + i * g->dh;
                    if (iy < 0 || iy >= g->h)
                        continue;
                    for (int j = 0; j < g->kw; j++) {
                        int ix = x0 + j * g->dw;
                        if (ix < 0 || ix >= g->w)
                            continue;
                        float *restrict dst = gimg + ((size_t)iy * g->w + ix) * g->c + c0;
                        const float *restrict kp = kv + (size_t)(i * g->kw + j) * CB;
#pragma omp simd
                        for (int q = 0; q < width; q++)
                            dst[q] += gv[q] * kp[q];
                    }
                }
            }
        }
    }
}

/* ka (kh*kw x CB) += x (*) gy and ba (CB) += gy over every image, for channels c0 .. c0 + width and multiplier m. */
static void gk_block(const geom *g, const float *x, int dm, const float *gy, int c0, int width, int m, float *ka,
                     float *ba)
{
    size_t img = (size_t)g->h * g->w * g->c;
    for (int b = 0; b < g->b; b++)
        for (int oy = 0; oy < g->oh; oy++) {
            int y0 = oy * g->sh - g->ph;
            for (int ox = 0; ox < g->ow; ox++) {
                const float *gp = gy + (((size_t)b * g->oh + oy) * g->ow + ox) * g->f + (size_t)c0 * dm + m;
                float gv[CB];
                for (int q = 0; q < width; q++)
                    gv[q] = gp[(size_t)q * dm];
#pragma omp simd
                for (int q = 0; q < width; q++)
                    ba[q] += gv[q];
                int x0 = ox * g->sw - g->pw;
                for (int i = 0; i < g->kh; i++) {
                    int iy = y0 + i * g->dh;
                    if (iy < 0 || iy >= g->h)
                        continue;
                    for (int j = 0; j < g->kw; j++) {
                        int ix = x0 + j * g->dw;
                        if (ix < 0 || ix >= g->w)
                            continue;
                        const float *restrict xp = x + (size_t)b * img + ((size_t)iy * g->w + ix) * g->c + c0;
                        float *restrict a = ka + (size_t)(i * g->kw + j) * CB;
#pragma omp simd
                        for (int q = 0; q < width; q++)
                            a[q] += xp[q] * gv[q];
                    }
                }
            }
        }
}

/*
 * gx_block for M = 1 and a whole block, as a gather: each input pixel sums
 * gy * k over the output pixels whose windows cover it (output row oy
 * covers input row iy through tap i when iy + ph - i*dh = oy*sh), in
 * registers, then adds the sum into gx once.  `cols` (w x kw, then kh)
 * says for each input column and tap j the output column covering it, or
 * -1 (made once per call), then for each tap row the output row covering
 * the current input row (once per row): no division in the pixel loop.  The taps' products go into one
 * sum per kernel row (up to 4, added at the end): independent chains.
 */
static void gx_block_m1(const geom *g, const float *k, const float *gy, int c0, int *cols, float *gimg)
{
    size_t c = (size_t)g->c;
    for (int ix = 0; ix < g->w; ix++)
        for (int j = 0; j < g->kw; j++) {
            int nx = ix + g->pw - j * g->dw;
            cols[ix * g->kw + j] = nx >= 0 && nx % g->sw == 0 && nx / g->sw < g->ow ? nx / g->sw : -1;
        }
    int *oys = cols + (size_t)g->w * g->kw; /* per tap row i: the output row covering iy, or -1 */
    for (int iy = 0; iy < g->h; iy++) {
        for (int i = 0; i < g->kh; i++) {
            int ny = iy + g->ph - i * g->dh;
            oys[i] = ny >= 0 && ny % g->sh == 0 && ny / g->sh < g->oh ? ny / g->sh : -1;
        }
        for (int ix = 0; ix < g->w; ix++) {
            /* stride 1, PB pixels whose every tap column lands inside the output: one kernel load serves PB */
            if (g->sw == 1 && ix + g->pw - (g->kw - 1) * g->dw >= 0 && ix + PB - 1 + g->pw < g->ow &&
                ix + PB <= g->w) {
                v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
                for (int i = 0; i < g->kh; i++) {
                    if (oys[i] < 0)
                        continue;
                    const float *gr = gy + ((size_t)oys[i] * g->ow + (size_t)(ix + g->pw)) * c + c0,
                                *kr = k + (size_t)i * g->kw * c + c0;
                    for (int j = 0; j < g->kw; j++) {
                        v16 kv = load16(kr + (size_t)j * c);
                        const float *gp = gr - (size_t)j * g->dw * c;
                        a0 += load16(gp) * kv;
                        a1 += load16(gp + c) * kv;
                        a2 += load16(gp + 2 * c) * kv;
                        a3 += load16(gp + 3 * c) * kv;
                    }
                }
                float *dst = gimg + ((size_t)iy * g->w + (size_t)ix) * c + c0;
                store16(dst, load16(dst) + a0);
                store16(dst + c, load16(dst + c) + a1);
                store16(dst + 2 * c, load16(dst + 2 * c) + a2);
                store16(dst + 3 * c, load16(dst + 3 * c) + a3);
                ix += PB - 1;
                continue;
            }
            v16 acc[4] = {{0}, {0}, {0}, {0}};
            const int *cj = cols + (size_t)ix * g->kw;
            for (int i = 0; i < g->kh; i++) {
                if (oys[i] < 0)
                    continue;
                const float *gr = gy + (size_t)oys[i] * g->ow * c + c0, *kr = k + (size_t)i * g->kw * c + c0;
                for (int j = 0; j < g->kw; j++)
                    if (cj[j] >= 0)
                        acc[i & 3] += load16(gr + (size_t)cj[j] * c) * load16(kr + (size_t)j * c);
            }
            float *dst = gimg + ((size_t)iy * g->w + (size_t)ix) * c + c0;
            store16(dst, load16(dst) + ((acc[0] + acc[1]) + (acc[2] + acc[3])));
        }
    }
}

/* gk_block for M = 1 and a whole block: for each output row and tap, the
 * dot product of the tap's input pixels and the row's gradients along the
 * row (4 sums, then added into the tap's vector), and the bias gradient. */
static void gk_block_m1(const geom *g, const float *x, const float *gy, int c0, float *ka, float *ba)
{
    size_t c = (size_t)g->c, img = (size_t)g->h * g->w * c;
    for (int b = 0; b < g->b; b++)
        for (int oy = 0; oy < g->oh; oy++) {
            const float *grow = gy + ((size_t)b * g->oh + oy) * g->ow * c + c0;
            v16 bs = load16(ba);
            for (int ox = 0; ox < g->ow; ox++)
                bs += load16(grow + (size_t)ox * c);
            store16(ba, bs);
            int y0 = oy * g->sh - g->ph;
            for (int i = 0; i < g->kh; i++) {
                int iy = y0 + i * g->dh;
                if (iy < 0 || iy >= g->h)
                    continue;
                const float *xr = x + (size_t)b * img + (size_t)iy * g->w * c + c0;
                for (int j = 0; j < g->kw; j++) {
                    /* output columns whose tap j lands inside the row: ox*sw - pw + j*dw in [0, w) */
                    int off = j * g->dw - g->pw, lo = off >= 0 ? 0 : (-off + g->sw - 1) / g->sw;
                    int hi = g->w - 1 - off < 0 ? 0 : (g->w - 1 - off) / g->sw + 1;
                    hi = hi < g->ow ? hi : g->ow;
                    v16 a[4] = {{0}, {0}, {0}, {0}};
                    for (int ox = lo; ox < hi; ox++)
                        a[ox & 3] += load16(xr + (size_t)(ox * g->sw + off) * c) * load16(grow + (size_t)ox * c);
                    float *kt = ka + ((size_t)i * g->kw + (size_t)j) * CB;
                    store16(kt, load16(kt) + ((a[0] + a[1]) + (a[2] + a[3])));
                }
            }
        }
}

static void dw_backward(dc_node *n, const dc_run *run)
{
    (void)run;
    geom g;
    dw_geom(n, &g);
    dc_node *xn = n->in[0], *kn = n->in[1], *bn = n->in[2];
    float *gk = kn->requires_grad ? kn->grad : NULL, *gb = bn && bn->requires_grad ? bn->grad : NULL,
          *gx = xn->requires_grad ? xn->grad : NULL;
    const float *x = xn->val, *k = kn->val, *gy = n->grad;
    int dm = kn->shape[3], blocks = (g.c + CB - 1) / CB, taps = g.kh * g.kw;
    size_t slot = slot_floats(&g), img = (size_t)g.h * g.w * g.c, out = (size_t)g.oh * g.ow * g.f;
    if (gx) {
        int units = g.b * blocks;
#pragma omp parallel num_threads(team(n, &g, units))
        {
            float *kv = n->work + (size_t)omp_get_thread_num() * slot;
#pragma omp for schedule(static)
            for (int u = 0; u < units; u++) {
                int b = u / blocks, c0 = (u % blocks) * CB, width = g.c - c0 < CB ? g.c - c0 : CB;
                if (dm == 1 && width == CB)
                    gx_block_m1(&g, k, gy + (size_t)b * out, c0, slot_tables(kv, &g), gx + (size_t)b * img);
                else
                    gx_block(&g, k, dm, gy + (size_t)b * out, c0, width, kv, gx + (size_t)b * img);
            }
        }
    }
    if (gk || gb) {
        int units = blocks * dm;
#pragma omp parallel num_threads(team(n, &g, units))
        {
            float *ka = n->work + (size_t)omp_get_thread_num() * slot + (size_t)taps * CB, *ba = ka + (size_t)taps * CB;
#pragma omp for schedule(static)
            for (int u = 0; u < units; u++) {
                int c0 = (u / dm) * CB, m = u % dm, width = g.c - c0 < CB ? g.c - c0 : CB;
                memset(ka, 0, ((size_t)taps + 1) * CB * sizeof(float));
                if (dm == 1 && width == CB)
                    gk_block_m1(&g, x, gy, c0, ka, ba);
                else
                    gk_block(&g, x, dm, gy, c0, width, m, ka, ba);
                for (int t = 0; gk && t < taps; t++)
                    for (int q = 0; q < width; q++)
                        gk[((size_t)t * g.c + (size_t)(c0 + q)) * dm + m] += ka[(size_t)t * CB + q];
                for (int q = 0; gb && q < width; q++)
                    gb[(size_t)(c0 + q) * dm + m] += ba[q];
            }
        }
    }
}

const dc_op dc_op_depthwise_conv2d = {.name = "depthwise_conv2d", .n_inputs = 3, .optional = DC_OPTIONAL(2),
                                      .infer = dw_infer, .forward = dw_forward, .backward = dw_backward};

dc_node *dc_depthwise_conv2d(dc_graph *g, dc_node *x, dc_node *kernel, dc_node *bias, int stride_h, int stride_w,
                             int same, int dilation_h, int dilation_w)
{
    dc_node *in[3] = {x, kernel, bias};
    dc_attr a = {.conv = {.stride_h = stride_h, .stride_w = stride_w, .same = same, .dilation_h = dilation_h,
                          .dilation_w = dilation_w}};
    return dc_node_make(g, &dc_op_depthwise_conv2d, 3, in, &a);
}
