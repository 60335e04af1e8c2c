/*
 * export_c_helpers.c - the C source of the helpers a generated file may
 * contain (see export_c_ops.c), each written once and only when used.
 *
 * They are plain C99 for one sample, on channels-last data, with the
 * shapes in a comment; they follow deepc's ops (src/ops) in what they
 * compute and, where it changes the result, in the order they compute it.
 */
#include "export/export_c.h"

static const char conv_geom_src[] =
    "/* A convolution's geometry: input (h, w, c), output (oh, ow, f), kernel\n"
    " * (kh, kw, c, f), strides, dilations, the leading pads, a fused ReLU. */\n"
    "typedef struct conv_geom {\n"
    "    int h, w, c, oh, ow, f, kh, kw, sh, sw, dh, dw, ph, pw, relu;\n"
    "} conv_geom;\n\n";

static const char dense_src[] =
    "/* y (rows, u) = x (rows, k) w (k, u) + b (u); b may be NULL; relu: max(y, 0).  The\n"
    " * inputs are summed in blocks of 128 (partial sums added at the end of each block),\n"
    " * so rounding grows with k / 128 + 128 rather than with k. */\n"
    "static void dense(const float *x, const float *w, const float *b, float *y, size_t rows, int k, int u, int relu)\n"
    "{\n"
    "    float part[64];\n"
    "    size_t r;\n"
    "    int i, i0, j, j0, nj, ni;\n"
    "    for (r = 0; r < rows; r++) {\n"
    "        const float *xr = x + r * (size_t)k;\n"
    "        float *yr = y + r * (size_t)u;\n"
    "        for (j0 = 0; j0 < u; j0 += 64) {\n"
    "            nj = u - j0 < 64 ? u - j0 : 64;\n"
    "            for (j = 0; j < nj; j++)\n"
    "                yr[j0 + j] = b ? b[j0 + j] : 0.0f;\n"
    "            for (i0 = 0; i0 < k; i0 += 128) {\n"
    "                ni = k - i0 < 128 ? k - i0 : 128;\n"
    "                for (j = 0; j < nj; j++)\n"
    "                    part[j] = 0.0f;\n"
    "                for (i = i0; i < i0 + ni; i++) {\n"
    "                    const float v = xr[i], *wr = w + (size_t)i * u + j0;\n"
    "                    for (j = 0; j < nj; j++)\n"
    "                        part[j] += v * wr[j];\n"
    "                }\n"
    "                for (j = 0; j < nj; j++)\n"
    "                    yr[j0 + j] += part[j];\n"
    "            }\n"
    "            if (relu)\n"
    "                for (j = 0; j < nj; j++)\n"
    "                    yr[j0 + j] = yr[j0 + j] < 0.0f ? 0.0f : yr[j0 + j];\n"
    "        }\n"
    "    }\n"
    "}\n\n";

static const char conv2d_src[] =
    "/* Conv2D, one image: x (h, w, c) -> y (oh, ow, f); taps in the padding read 0. */\n"
    "static void conv2d(const conv_geom *g, const float *x, const float *k, const float *b, float *y)\n"
    "{\n"
    "    int oy, ox, i, j, ch, f;\n"
    "    for (oy = 0; oy < g->oh; oy++)\n"
    "        for (ox = 0; ox < g->ow; ox++) {\n"
    "            float *yo = y + ((size_t)oy * g->ow + ox) * g->f;\n"
    "            for (f = 0; f < g->f; f++)\n"
    "                yo[f] = b ? b[f] : 0.0f;\n"
    "            for (i = 0; i < g->kh; i++) {\n"
    "                int iy = oy * g->sh - g->ph + i * g->dh;\n"
    "                if (iy < 0 || iy >= g->h)\n"
    "                    continue;\n"
    "                for (j = 0; j < g->kw; j++) {\n"
    "                    int ix = ox * g->sw - g->pw + j * g->dw;\n"
    "                    const float *xp, *kp;\n"
    "                    if (ix < 0 || ix >= g->w)\n"
    "                        continue;\n"
    "                    xp = x + ((size_t)iy * g->w + ix) * g->c;\n"
    "                    kp = k + (size_t)(i * g->kw + j) * g->c * g->f;\n"
    "                    for (ch = 0; ch < g->c; ch++) {\n"
    "                        const float v = xp[ch], *kr = kp + (size_t)ch * g->f;\n"
    "                        for (f = 0; f < g->f; f++)\n"
    "                            yo[f] += v * kr[f];\n"
    "                    }\n"
    "                }\n"
    "            }\n"
    "            if (g->relu)\n"
    "                for (f = 0; f < g->f; f++)\n"
    "                    yo[f] = yo[f] < 0.0f ? 0.0f : yo[f];\n"
    "        }\n"
    "}\n\n";

static const char deconv2d_src[] =
    "/* Conv2DTranspose, one image: x (oh, ow, f) -> y (h, w, c), kernel (kh, kw, c, f):\n"
    " * every input pixel adds its k x^T into the window the convolution reads. */\n"
    "static void conv2d_transpose(const conv_geom *g, const float *x, const float *k, const float *b, float *y)\n"
    "{\n"
    "    int iy, ix, i, j, ch, f;\n"
    "    for (i = 0; i < g->h * g->w; i++)\n"
    "        for (ch = 0; ch < g->c; ch++)\n"
    "            y[(size_t)i * g->c + ch] = b ? b[ch] : 0.0f;\n"
    "    for (iy = 0; iy < g->oh; iy++)\n"
    "        for (ix = 0; ix < g->ow; ix++) {\n"
    "            const float *xp = x + ((size_t)iy * g->ow + ix) * g->f;\n"
    "            for (i = 0; i < g->kh; i++) {\n"
    "                int oy = iy * g->sh - g->ph + i * g->dh;\n"
    "                if (oy < 0 || oy >= g->h)\n"
    "                    continue;\n"
    "                for (j = 0; j < g->kw; j++) {\n"
    "                    int ox = ix * g->sw - g->pw + j * g->dw;\n"
    "                    float *yp;\n"
    "                    const float *kp;\n"
    "                    if (ox < 0 || ox >= g->w)\n"
    "                        continue;\n"
    "                    yp = y + ((size_t)oy * g->w + ox) * g->c;\n"
    "                    kp = k + (size_t)(i * g->kw + j) * g->c * g->f;\n"
    "                    for (ch = 0; ch < g->c; ch++) {\n"
    "                        const float *kr = kp + (size_t)ch * g->f;\n"
    "                        float acc = 0.0f;\n"
    "                        for (f = 0; f < g->f; f++)\n"
    "                            acc += xp[f] * kr[f];\n"
    "                        yp[ch] += acc;\n"
    "                    }\n"
    "                }\n"
    "            }\n"
    "        }\n"
    "}\n\n";

static const char pool2d_src[] =
    "/* Pooling's geometry: input (h, w, c), output (oh, ow), window, strides, leading pads, max or mean. */\n"
    "typedef struct pool_geom {\n"
    "    int h, w, c, oh, ow, kh, kw, sh, sw, ph, pw, is_max;\n"
    "} pool_geom;\n\n"
    "/* Max / average pooling, one image: x (h, w, c) -> y (oh, ow, c).  The padding\n"
    " * never wins a max nor counts in a mean; the first maximum wins. */\n"
    "static void pool2d(const pool_geom *g, const float *x, float *y)\n"
    "{\n"
    "    int oy, ox, i, j, ch;\n"
    "    for (oy = 0; oy < g->oh; oy++)\n"
    "        for (ox = 0; ox < g->ow; ox++) {\n"
    "            float *out = y + ((size_t)oy * g->ow + ox) * g->c;\n"
    "            int count = 0;\n"
    "            for (i = 0; i < g->kh; i++) {\n"
    "                int iy = oy * g->sh - g->ph + i;\n"
    "                if (iy < 0 || iy >= g->h)\n"
    "                    continue;\n"
    "                for (j = 0; j < g->kw; j++) {\n"
    "                    int ix = ox * g->sw - g->pw + j;\n"
    "                    const float *src;\n"
    "                    if (ix < 0 || ix >= g->w)\n"
    "                        continue;\n"
    "                    src = x + ((size_t)iy * g->w + ix) * g->c;\n"
    "                    for (ch = 0; ch < g->c; ch++) {\n"
    "                        if (count == 0)\n"
    "                            out[ch] = src[ch];\n"
    "                        else if (g->is_max)\n"
    "                            out[ch] = src[ch] > out[ch] ? src[ch] : out[ch];\n"
    "                        else\n"
    "                            out[ch] += src[ch];\n"
    "                    }\n"
    "                    count++;\n"
    "                }\n"
    "            }\n"
    "            if (!g->is_max)\n"
    "                for (ch = 0; ch < g->c; ch++)\n"
    "                    out[ch] /= (float)count;\n"
    "        }\n"
    "}\n\n";

static const char gpool_src[] =
    "/* Global max / average pooling: x (per, c) -> y (c). */\n"
    "static void global_pool(const float *x, float *y, size_t per, int c, int is_max)\n"
    "{\n"
    "    size_t p;\n"
    "    int ch;\n"
    "    for (ch = 0; ch < c; ch++)\n"
    "        y[ch] = x[ch];\n"
    "    for (p = 1; p < per; p++)\n"
    "        for (ch = 0; ch < c; ch++) {\n"
    "            float v = x[p * (size_t)c + ch];\n"
    "            y[ch] = is_max ? (v > y[ch] ? v : y[ch]) : y[ch] + v;\n"
    "        }\n"
    "    if (!is_max)\n"
    "        for (ch = 0; ch < c; ch++)\n"
    "            y[ch] /= (float)per;\n"
    "}\n\n";

static const char softmax_src[] =
    "/* Softmax over the last axis: x (rows, cols) -> y. */\n"
    "static void softmax(const float *x, float *y, size_t rows, int cols)\n"
    "{\n"
    "    size_t r;\n"
    "    int j;\n"
    "    for (r = 0; r < rows; r++) {\n"
    "        const float *xr = x + r * (size_t)cols;\n"
    "        float *yr = y + r * (size_t)cols, mx = xr[0], sum = 0.0f, inv;\n"
    "        for (j = 1; j < cols; j++)\n"
    "            mx = xr[j] > mx ? xr[j] : mx;\n"
    "        for (j = 0; j < cols; j++)\n"
    "            sum += (yr[j] = expf(xr[j] - mx));\n"
    "        inv = 1.0f / sum;\n"
    "        for (j = 0; j < cols; j++)\n"
    "            yr[j] *= inv;\n"
    "    }\n"
    "}\n\n";

static const char batchnorm_src[] =
    "/* BatchNormalization at inference: y = gamma (x - mean) inv + beta per channel (then ReLU). */\n"
    "static void batchnorm(const float *x, float *y, size_t rows, int c, const float *gamma, const float *beta,\n"
    "                      const float *mean, const float *inv, int relu)\n"
    "{\n"
    "    size_t r;\n"
    "    int j;\n"
    "    for (r = 0; r < rows; r++)\n"
    "        for (j = 0; j < c; j++) {\n"
    "            float v = gamma[j] * (x[r * (size_t)c + j] - mean[j]) * inv[j] + beta[j];\n"
    "            y[r * (size_t)c + j] = relu && v < 0.0f ? 0.0f : v;\n"
    "        }\n"
    "}\n\n";

static const char layernorm_src[] =
    "/* LayerNormalization over the last axis: x (rows, c) -> y. */\n"
    "static void layernorm(const float *x, float *y, size_t rows, int c, const float *gamma, const float *beta, float eps)\n"
    "{\n"
    "    size_t r;\n"
    "    int j;\n"
    "    for (r = 0; r < rows; r++) {\n"
    "        const float *xr = x + r * (size_t)c;\n"
    "        float *yr = y + r * (size_t)c, s = 0.0f, s2 = 0.0f, m, iv;\n"
    "        for (j = 0; j < c; j++)\n"
    "            s += xr[j];\n"
    "        m = s / (float)c;\n"
    "        for (j = 0; j < c; j++)\n"
    "            s2 += (xr[j] - m) * (xr[j] - m);\n"
    "        iv = 1.0f / sqrtf(s2 / (float)c + eps);\n"
    "        for (j = 0; j < c; j++)\n"
    "            yr[j] = (xr[j] - m) * iv * gamma[j] + beta[j];\n"
    "    }\n"
    "}\n\n";

static const char embedding_src[] =
    "/* Embedding: ids (count) -> y (count, d) rows of table (v, d); 1 when an id is not\n"
    " * an integer in [0, v). */\n"
    "static int embedding(const float *ids, size_t count, const float *table, int v, int d, float *y)\n"
    "{\n"
    "    size_t i;\n"
    "    int j;\n"
    "    for (i = 0; i < count; i++) {\n"
    "        float id = ids[i];\n"
    "        if (!(id >= 0.0f && id < (float)v) || id != floorf(id))\n"
    "            return 1;\n"
    "        for (j = 0; j < d; j++)\n"
    "            y[i * (size_t)d + j] = table[(size_t)id * d + j];\n"
    "    }\n"
    "    return 0;\n"
    "}\n\n";

static const char rnn_base_src[] =
    "/* A recurrent layer's settings (see the table of each layer below). */\n"
    "typedef struct rnn_geom {\n"
    "    int T, F, U, kind, seq, backwards, reset_after, reverse_out, zero_masked, act, ract;\n"
    "} rnn_geom;\n\n"
    "static float rnn_act(int a, float x)\n"
    "{\n"
    "    switch (a) {\n"
    "    case 1: return 1.0f / (1.0f + expf(-x));\n"
    "    case 2: return tanhf(x);\n"
    "    case 3: return x > 0.0f ? x : 0.0f;\n"
    "    default: return x;\n"
    "    }\n"
    "}\n\n"
    "/* The end of step t: the state from the gate preactivations z (GRU: z and r\n"
    " * activated, h's preactivation complete) when the step is on, and the output\n"
    " * of a layer with return_sequences. */\n"
    "static void rnn_step(const rnn_geom *g, const float *z, float *h, float *c, int on, int t, float *y)\n"
    "{\n"
    "    const int U = g->U;\n"
    "    int j;\n"
    "    if (on) {\n"
    "        for (j = 0; j < U; j++) {\n"
    "            if (g->kind == 0) {\n"
    "                h[j] = rnn_act(g->act, z[j]);\n"
    "            } else if (g->kind == 1) {\n"
    "                float ig = rnn_act(g->ract, z[j]), fg = rnn_act(g->ract, z[U + j]);\n"
    "                float gg = rnn_act(g->act, z[2 * U + j]), og = rnn_act(g->ract, z[3 * U + j]);\n"
    "                c[j] = fg * c[j] + ig * gg;\n"
    "                h[j] = og * rnn_act(g->act, c[j]);\n"
    "            } else {\n"
    "                float hh = rnn_act(g->act, z[2 * U + j]);\n"
    "                h[j] = z[j] * h[j] + (1.0f - z[j]) * hh;\n"
    "            }\n"
    "        }\n"
    "    }\n"
    "    if (g->seq) {\n"
    "        float *yo = y + (size_t)(g->backwards && !g->reverse_out ? g->T - 1 - t : t) * U;\n"
    "        for (j = 0; j < U; j++)\n"
    "            yo[j] = g->zero_masked && !on ? 0.0f : h[j];\n"
    "    }\n"
    "}\n\n";

static const char rnn_src[] =
    "/* SimpleRNN / LSTM / GRU over x (T, F), Keras' gate order (LSTM i, f, c, o;\n"
    " * GRU z, r, h): kernel W (F, G*U), recurrent R (U, G*U), bias (G*U), or (2, G*U)\n"
    " * for a GRU with reset_after.  mask (T) or NULL: a step whose mask is 0 keeps the\n"
    " * state.  y: (T, U) with return_sequences, else (U); st: h (U), c (U), then\n"
    " * scratch (U + 2 G U); h and c are the final state afterwards. */\n"
    "static void rnn(const rnn_geom *g, const float *x, const float *mask, const float *W, const float *R,\n"
    "                const float *bias, float *y, float *st)\n"
    "{\n"
    "    const int U = g->U, GU = U * (g->kind == 1 ? 4 : g->kind == 2 ? 3 : 1);\n"
    "    float *h = st, *c = st + U, *rh = st + 2 * U, *z = st + 3 * U, *rec = z + GU;\n"
    "    int k, t, i, j;\n"
    "    for (j = 0; j < U; j++)\n"
    "        h[j] = c[j] = 0.0f;\n"
    "    for (k = 0; k < g->T; k++) {\n"
    "        const float *xt;\n"
    "        int on;\n"
    "        t = g->backwards ? g->T - 1 - k : k;\n"
    "        on = !mask || mask[t] != 0.0f;\n"
    "        xt = x + (size_t)t * g->F;\n"
    "        for (j = 0; j < GU; j++) /* the input projection */\n"
    "            z[j] = bias[j];\n"
    "        for (i = 0; i < g->F; i++)\n"
    "            for (j = 0; j < GU; j++)\n"
    "                z[j] += xt[i] * W[(size_t)i * GU + j];\n"
    "        if (g->kind == 2 && g->reset_after) { /* GRU, r applied after the recurrent kernel */\n"
    "            for (j = 0; j < GU; j++)\n"
    "                rec[j] = bias[GU + j];\n"
    "            if (k > 0)\n"
    "                for (i = 0; i < U; i++)\n"
    "                    for (j = 0; j < GU; j++)\n"
    "                        rec[j] += h[i] * R[(size_t)i * GU + j];\n"
    "            for (j = 0; j < U; j++) {\n"
    "                z[j] = rnn_act(g->ract, z[j] + rec[j]);\n"
    "                z[U + j] = rnn_act(g->ract, z[U + j] + rec[U + j]);\n"
    "                z[2 * U + j] += z[U + j] * rec[2 * U + j];\n"
    "            }\n"
    "        } else if (g->kind == 2) { /* GRU, r applied to h before it */\n"
    "            if (k > 0)\n"
    "                for (i = 0; i < U; i++)\n"
    "                    for (j = 0; j < 2 * U; j++)\n"
    "                        z[j] += h[i] * R[(size_t)i * GU + j];\n"
    "            for (j = 0; j < U; j++) {\n"
    "                z[j] = rnn_act(g->ract, z[j]);\n"
    "                z[U + j] = rnn_act(g->ract, z[U + j]);\n"
    "                rh[j] = z[U + j] * h[j];\n"
    "            }\n"
    "            if (k > 0)\n"
    "                for (i = 0; i < U; i++)\n"
    "                    for (j = 0; j < U; j++)\n"
    "                        z[2 * U + j] += rh[i] * R[(size_t)i * GU + 2 * U + j];\n"
    "        } else if (k > 0) {\n"
    "            for (i = 0; i < U; i++)\n"
    "                for (j = 0; j < GU; j++)\n"
    "                    z[j] += h[i] * R[(size_t)i * GU + j];\n"
    "        }\n"
    "        rnn_step(g, z, h, c, on, t, y);\n"
    "    }\n"
    "    if (!g->seq)\n"
    "        for (j = 0; j < U; j++)\n"
    "            y[j] = h[j];\n"
    "}\n\n";

static const char concat_src[] =
    "/* Concatenate: rows of a (ca) then b (cb) -> y (rows, ca + cb). */\n"
    "static void concat(const float *a, const float *b, float *y, size_t rows, size_t ca, size_t cb)\n"
    "{\n"
    "    size_t r, j;\n"
    "    for (r = 0; r < rows; r++) {\n"
    "        for (j = 0; j < ca; j++)\n"
    "            y[r * (ca + cb) + j] = a[r * ca + j];\n"
    "        for (j = 0; j < cb; j++)\n"
    "            y[r * (ca + cb) + ca + j] = b[r * cb + j];\n"
    "    }\n"
    "}\n\n";

static const char upsample_src[] =
    "/* Source row of output o and the weight of the next one (half-pixel centres). */\n"
    "static int lerp_of(int o, int scale, int size, float *t)\n"
    "{\n"
    "    float src = ((float)o + 0.5f) / (float)scale - 0.5f;\n"
    "    int i0;\n"
    "    if (src < 0.0f)\n"
    "        src = 0.0f;\n"
    "    i0 = (int)src;\n"
    "    if (i0 > size - 1)\n"
    "        i0 = size - 1;\n"
    "    *t = src - (float)i0;\n"
    "    return i0;\n"
    "}\n\n"
    "/* UpSampling2D, one image: x (h, w, c) -> y (h sh, w sw, c), nearest or bilinear. */\n"
    "static void upsample2d(const float *x, float *y, int h, int w, int c, int sh, int sw, int bilinear)\n"
    "{\n"
    "    int oy, ox, ch, oh = h * sh, ow = w * sw;\n"
    "    for (oy = 0; oy < oh; oy++)\n"
    "        for (ox = 0; ox < ow; ox++) {\n"
    "            float *dst = y + ((size_t)oy * ow + ox) * c;\n"
    "            if (!bilinear) {\n"
    "                const float *src = x + ((size_t)(oy / sh) * w + ox / sw) * c;\n"
    "                for (ch = 0; ch < c; ch++)\n"
    "                    dst[ch] = src[ch];\n"
    "            } else {\n"
    "                float ty, tx;\n"
    "                int y0 = lerp_of(oy, sh, h, &ty), x0 = lerp_of(ox, sw, w, &tx);\n"
    "                int y1 = y0 + 1 < h ? y0 + 1 : h - 1, x1 = x0 + 1 < w ? x0 + 1 : w - 1;\n"
    "                const float *a = x + ((size_t)y0 * w + x0) * c, *b = x + ((size_t)y0 * w + x1) * c;\n"
    "                const float *cc = x + ((size_t)y1 * w + x0) * c, *d = x + ((size_t)y1 * w + x1) * c;\n"
    "                for (ch = 0; ch < c; ch++) {\n"
    "                    float top = a[ch] + (b[ch] - a[ch]) * tx, bot = cc[ch] + (d[ch] - cc[ch]) * tx;\n"
    "                    dst[ch] = top + (bot - top) * ty;\n"
    "                }\n"
    "            }\n"
    "        }\n"
    "}\n\n";

static const char pad2d_src[] =
    "/* ZeroPadding2D / Cropping2D, one image: x (h, w, c) -> y (oh, ow, c), x's pixel\n"
    " * (iy, ix) at (iy + top, ix + left); zeros elsewhere. */\n"
    "static void pad2d(const float *x, float *y, int h, int w, int c, int oh, int ow, int top, int left)\n"
    "{\n"
    "    int oy, ox, ch;\n"
    "    for (oy = 0; oy < oh; oy++)\n"
    "        for (ox = 0; ox < ow; ox++) {\n"
    "            int iy = oy - top, ix = ox - left, in = iy >= 0 && iy < h && ix >= 0 && ix < w;\n"
    "            for (ch = 0; ch < c; ch++)\n"
    "                y[((size_t)oy * ow + ox) * c + ch] = in ? x[((size_t)iy * w + ix) * c + ch] : 0.0f;\n"
    "        }\n"
    "}\n\n";

static const char repeat_src[] =
    "/* RepeatVector: x (f) -> y (n, f). */\n"
    "static void repeat(const float *x, float *y, size_t f, int n)\n"
    "{\n"
    "    size_t j;\n"
    "    int r;\n"
    "    for (r = 0; r < n; r++)\n"
    "        for (j = 0; j < f; j++)\n"
    "            y[(size_t)r * f + j] = x[j];\n"
    "}\n\n";

static const char permute_src[] =
    "/* Permute: y's axis i (k axes, shape[i]) walks x with stride step[i]. */\n"
    "static void permute(const float *x, float *y, int k, const int *shape, const size_t *step)\n"
    "{\n"
    "    int idx[8] = {0}, i;\n"
    "    size_t o, total = 1, off = 0;\n"
    "    for (i = 0; i < k; i++)\n"
    "        total *= (size_t)shape[i];\n"
    "    for (o = 0; o < total; o++) {\n"
    "        y[o] = x[off];\n"
    "        for (i = k - 1; i >= 0; i--) {\n"
    "            off += step[i];\n"
    "            if (++idx[i] < shape[i])\n"
    "                break;\n"
    "            off -= step[i] * (size_t)shape[i];\n"
    "            idx[i] = 0;\n"
    "        }\n"
    "    }\n"
    "}\n\n";

static const char step_mask_src[] =
    "/* Masking: y[t] = 1 when some feature of x (rows, f) differs from mask_value, else 0. */\n"
    "static void step_mask(const float *x, float *y, size_t rows, size_t f, float mask_value)\n"
    "{\n"
    "    size_t r, j;\n"
    "    for (r = 0; r < rows; r++) {\n"
    "        y[r] = 0.0f;\n"
    "        for (j = 0; j < f; j++)\n"
    "            if (x[r * f + j] != mask_value)\n"
    "                y[r] = 1.0f;\n"
    "    }\n"
    "}\n\n";

static const char mask_steps_src[] =
    "/* y (rows, f) = x where mask (rows) is not 0, else 0. */\n"
    "static void mask_steps(const float *x, const float *mask, float *y, size_t rows, size_t f)\n"
    "{\n"
    "    size_t r, j;\n"
    "    for (r = 0; r < rows; r++)\n"
    "        for (j = 0; j < f; j++)\n"
    "            y[r * f + j] = mask[r] != 0.0f ? x[r * f + j] : 0.0f;\n"
    "}\n\n";

/* The activations, one small loop each (deepc's act_value). */
static void write_act(const xc_ctx *c, xc_str *out)
{
    static const struct {
        dc_act a;
        const char *expr;
    } acts[] = {
        {DC_ACT_LINEAR, "v"},
        {DC_ACT_SIGMOID, "v >= 0.0f ? 1.0f / (1.0f + expf(-v)) : expf(v) / (1.0f + expf(v))"},
        {DC_ACT_TANH, "tanhf(v)"},
        {DC_ACT_RELU, "v < 0.0f ? 0.0f : v"},
        {DC_ACT_LEAKY_RELU, "v > 0.0f ? v : alpha * v"},
        {DC_ACT_ELU, "v > 0.0f ? v : alpha * expm1f(v)"},
        {DC_ACT_SELU, "v > 0.0f ? 1.0507009873554805f * v : 1.0507009873554805f * 1.6732632423543772f * expm1f(v)"},
        {DC_ACT_GELU, "0.5f * v * (1.0f + erff(v * 0.70710678118654752f))"},
        {DC_ACT_SOFTPLUS, "(v > 0.0f ? v : 0.0f) + log1pf(expf(-fabsf(v)))"},
        {DC_ACT_SWISH, "v * (v >= 0.0f ? 1.0f / (1.0f + expf(-v)) : expf(v) / (1.0f + expf(v)))"},
    };
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        if (!(c->act_used & (1u << acts[i].a)))
            continue;
        xc_printf(out,
                  "/* %s, elementwise: y = f(x) (alpha: leaky_relu's slope, elu's alpha). */\n"
                  "static void act_%s(const float *x, float *y, size_t n, float alpha)\n{\n    size_t i;\n"
                  "    (void)alpha;\n    for (i = 0; i < n; i++) {\n        float v = x[i];\n        y[i] = %s;\n    }\n}\n\n",
                  dc_act_name(acts[i].a), dc_act_name(acts[i].a), acts[i].expr);
    }
}

void xc_write_helpers(const xc_ctx *c, xc_str *out)
{
    const char *src[XH_COUNT] = {
        [XH_DENSE] = dense_src,       [XH_CONV2D] = conv2d_src,       [XH_DECONV2D] = deconv2d_src,
        [XH_POOL2D] = pool2d_src,     [XH_GPOOL] = gpool_src,         [XH_SOFTMAX] = softmax_src,
        [XH_BATCHNORM] = batchnorm_src, [XH_LAYERNORM] = layernorm_src, [XH_EMBEDDING] = embedding_src,
        [XH_RNN_BASE] = rnn_base_src, [XH_RNN] = rnn_src,           [XH_CONCAT] = concat_src,       [XH_UPSAMPLE] = upsample_src,
        [XH_PAD2D] = pad2d_src,       [XH_REPEAT] = repeat_src,       [XH_PERMUTE] = permute_src,
        [XH_STEP_MASK] = step_mask_src, [XH_MASK_STEPS] = mask_steps_src,
    };
    if (c->helpers[XH_CONV2D] || c->helpers[XH_DECONV2D] || c->helpers[XH_QCONV2D])
        xc_printf(out, "%s", conv_geom_src);
    for (int i = 0; i < XH_COUNT; i++) {
        if (!c->helpers[i])
            continue;
        if (i == XH_ACT)
            write_act(c, out);
        else if (src[i])
            xc_printf(out, "%s", src[i]);
    }
}
