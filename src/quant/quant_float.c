/*
 * quant_float.c - the float convolution a quantized model runs where a
 * small Conv2D stays float before its int8 layers (quantize.c's DQ_MIN_K),
 * and the float Dense where one is too small to pack (at the end):
 * the generated C's conv2d helper (export/export_c_helpers.c) statement for
 * statement: the bias, then each tap in order adding v * k over the output
 * channels, then the fused ReLU.  Compiled with -ffp-contract=off
 * (CMakeLists.txt), as ISO C compiles the generated file, so both give the
 * same bits and the int8 layer after it quantizes the same values (deepc's
 * own conv2d sums in another order: equal to rounding only).  Vectorising
 * the channel loop keeps every output's order.
 */
#include "quant/quant.h"

#include <string.h>

/* 16 floats as one value (GCC / clang vector extension: one AVX-512
 * register here, split into narrower ones elsewhere; lane by lane the same
 * float operations). */
typedef float dq_v16 __attribute__((vector_size(64)));

static dc_status no_infer(dc_node *n)
{
    return dc_fail(DC_ERR_STATE, "%s: a quantized op is made by dc_model_quantize only", n->name);
}

static void no_backward(dc_node *n, const dc_run *run)
{
    (void)n;
    (void)run;
}

/* acc[c] += v * kr[16 c .. 16 c + 15] for the nc vectors of outputs: a
 * product, then a sum (no fused multiply-add in this file). */
static inline void add_tap(dq_v16 acc[4], int nc, float v, const float *kr)
{
    for (int c = 0; c < 4; c++)
        if (c < nc) {
            dq_v16 kv;
            memcpy(&kv, kr + 16 * c, sizeof kv);
            acc[c] = acc[c] + v * kv;
        }
}

/* One image: x (H, W, C) -> y (OH, OW, F), kernel (KH, KW, C, F). */
static void conv_image(const dc_node *n, const float *x, float *y)
{
    const dc_node *in = n->in[0], *kn = n->in[1], *bn = n->in[2];
    const dc_conv_attr *a = &n->attr.conv;
    int H = in->shape[1], W = in->shape[2], C = in->shape[3], OH = n->shape[1], OW = n->shape[2], F = n->shape[3];
    int KH = kn->shape[0], KW = kn->shape[1];
    int th = (OH - 1) * a->stride_h + (KH - 1) * a->dilation_h + 1 - H;
    int tw = (OW - 1) * a->stride_w + (KW - 1) * a->dilation_w + 1 - W;
    int ph = a->same && th > 0 ? th / 2 : 0, pw = a->same && tw > 0 ? tw / 2 : 0;
    const float *k = kn->val, *b = bn ? bn->val : NULL;
    int T = KH * KW * C;
    if (F % 16 == 0 && F <= 64 && T <= 64) { /* up to 64 outputs summed in vector registers (each output's order unchanged) */
        int nc = F / 16;
        size_t off[64]; /* tap t = (i KW + j) C + ch: its input offset from the window's first pixel */
        for (int i = 0, t = 0; i < KH; i++)
            for (int j = 0; j < KW; j++)
                for (int ch = 0; ch < C; ch++, t++)
                    off[t] = ((size_t)i * a->dilation_h * W + (size_t)j * a->dilation_w) * C + ch;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                dq_v16 acc[4];
                for (int c = 0; c < 4; c++)
                    if (c < nc) {
                        if (b)
                            memcpy(&acc[c], b + 16 * c, sizeof acc[c]);
                        else
                            memset(&acc[c], 0, sizeof acc[c]);
                    }
                int iy0 = oy * a->stride_h - ph, ix0 = ox * a->stride_w - pw;
                if (iy0 >= 0 && iy0 + (KH - 1) * a->dilation_h < H && ix0 >= 0 && ix0 + (KW - 1) * a->dilation_w < W) {
                    /* the whole window inside: every tap in order, no checks */
                    const float *xw = x + ((size_t)iy0 * W + ix0) * C;
                    for (int t = 0; t < T; t++)
                        add_tap(acc, nc, xw[off[t]], k + (size_t)t * F);
                } else { /* at the border: the taps inside only, in order */
                    for (int i = 0; i < KH; i++) {
                        int iy = oy * a->stride_h - ph + i * a->dilation_h;
                        if (iy < 0 || iy >= H)
                            continue;
                        for (int j = 0; j < KW; j++) {
                            int ix = ox * a->stride_w - pw + j * a->dilation_w;
                            if (ix < 0 || ix >= W)
                                continue;
                            const float *xp = x + ((size_t)iy * W + ix) * C, *kp = k + (size_t)(i * KW + j) * C * F;
                            for (int ch = 0; ch < C; ch++)
                                add_tap(acc, nc, xp[ch], kp + (size_t)ch * F);
                        }
                    }
                }
                float *yo = y + ((size_t)oy * OW + ox) * F;
                for (int c = 0; c < 4; c++)
                    if (c < nc)
                        memcpy(yo + 16 * c, &acc[c], sizeof acc[c]);
                if (a->relu)
                    for (int f = 0; f < F; f++)
                        yo[f] = yo[f] < 0.0f ? 0.0f : yo[f];
            }
        return;
    }
    for (int oy = 0; oy < OH; oy++)
        for (int ox = 0; ox < OW; ox++) {
            float *yo = y + ((size_t)oy * OW + ox) * F;
            for (int f = 0; f < F; f++)
                yo[f] = b ? b[f] : 0.0f;
            for (int i = 0; i < KH; i++) {
                int iy = oy * a->stride_h - ph + i * a->dilation_h;
                if (iy < 0 || iy >= H)
                    continue;
                for (int j = 0; j < KW; j++) {
                    int ix = ox * a->stride_w - pw + j * a->dilation_w;
                    if (ix < 0 || ix >= W)
                        continue;
                    const float *xp = x + ((size_t)iy * W + ix) * C, *kp = k + (size_t)(i * KW + j) * C * F;
                    for (int ch = 0; ch < C; ch++) {
                        const float v = xp[ch], *kr = kp + (size_t)ch * F;
                        for (int f = 0; f < F; f++)
                            yo[f] += v * kr[f];
                    }
                }
            }
            if (a->relu)
                for (int f = 0; f < F; f++)
                    yo[f] = yo[f] < 0.0f ? 0.0f : yo[f];
        }
}

static dc_status qfconv_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const dc_node *x = n->in[0];
    int B = x->shape[0];
    size_t img = (size_t)x->shape[1] * x->shape[2] * x->shape[3], out = dc_node_numel(n) / (size_t)B;
#pragma omp parallel for schedule(static) if (B > 1 && dc_worth_parallel((double)dc_node_numel(n) * dc_node_numel(n->in[1]) / n->shape[3]))
    for (int b = 0; b < B; b++)
        conv_image(n, x->val + (size_t)b * img, n->val + (size_t)b * out);
    return DC_OK;
}

/* A small Dense left float (quantize.c: too few weights to pack): the
 * generated C's dense helper statement for statement, so the int8 model
 * and its export give the same bits (OpenBLAS sums in another order). */
static dc_status qfdense_forward(dc_node *n, const dc_run *run)
{
    (void)run;
    const float *x = n->in[0]->val, *w = n->in[1]->val, *b = n->in[2] ? n->in[2]->val : NULL;
    int k = n->in[1]->shape[0], u = n->in[1]->shape[1];
    size_t rows = dc_node_rows(n);
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * (size_t)k;
        float *yr = n->val + r * (size_t)u;
        for (int j0 = 0; j0 < u; j0 += 64) {
            int nj = u - j0 < 64 ? u - j0 : 64;
            float part[64];
            for (int j = 0; j < nj; j++)
                yr[j0 + j] = b ? b[j0 + j] : 0.0f;
            for (int i0 = 0; i0 < k; i0 += 128) { /* partial sums of 128 inputs, as the helper */
                int ni = k - i0 < 128 ? k - i0 : 128;
                for (int j = 0; j < nj; j++)
                    part[j] = 0.0f;
                for (int i = i0; i < i0 + ni; i++) {
                    const float v = xr[i], *wr = w + (size_t)i * u + j0;
                    for (int j = 0; j < nj; j++)
                        part[j] += v * wr[j];
                }
                for (int j = 0; j < nj; j++)
                    yr[j0 + j] += part[j];
            }
        }
    }
    return DC_OK;
}

const dc_op dc_op_qfdense = {.name = "qfdense", .n_inputs = 3, .optional = DC_OPTIONAL(2), .infer = no_infer,
                             .forward = qfdense_forward, .backward = no_backward};

const dc_op dc_op_qfconv2d = {.name = "qfconv2d", .n_inputs = 3, .optional = DC_OPTIONAL(2), .infer = no_infer,
                              .forward = qfconv_forward, .backward = no_backward};
