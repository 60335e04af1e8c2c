/*
 * conv_blocked.c - direct convolution for layers of a few dozen channels
 * (C and F multiples of 16), one image at a time, on the image itself.
 *
 * im2col + GEMM is a poor fit there: a 3x3 convolution from 16 to 16
 * channels does 144 multiply-adds per output value, and its im2col matrix
 * (one 144-float row per pixel, written, then packed again by sgemm) moves
 * about as many bytes as the GEMM does flops; measured at 15% of the sgemm
 * peak.  Here every pass keeps its sums in vector registers:
 *
 *   forward  y[p, o]  = sum over taps t, channels c of x[p + t, c] K[t, c, o]:
 *            NP pixels x NV vectors of 16 filters, the image value
 *            broadcast, the kernel vector loaded once per NP pixels;
 *   gK       gK[t, c, o] += sum over pixels p of x[p + t, c] gy[p, o]:
 *            EB channels x NV vectors of 16 filters over a whole image;
 *   gx       with stride 1 and about as many pixels as outputs ("same"),
 *            the forward's kernel on gy padded, with the kernel flipped
 *            and each tap transposed; otherwise
 *            gx[p + t, c] += sum over filters o of gy[p, o] K[t, c, o]:
 *            for each tap, NP pixels x NV vectors of 16 channels, then
 *            added into the image (this form takes any stride).
 *
 * Padding is made real: an image that needs it is copied into the thread's
 * scratch with its zero border (and its gradient gathered there), so every
 * pixel has every tap and no loop tests a bound.  The vectors are GCC's
 * vector extension, each one AVX-512 register: the path is taken only in
 * builds for AVX-512 (dc_conv_blocked_fits).
 */
#include "ops/conv_internal.h"

#include <string.h>

#include "ops/vec16.h"

#define NP_MAX 14 /* pixels per block: NP x NV sums stay in 14 of the 32 registers */

/* The blocks are sized for AVX-512's 32 registers of 16 floats.  Built for
 * narrower vectors (DEEPC_NATIVE=OFF, or a CPU without AVX-512) the same
 * sums take 2-4 registers each and spill: a 32-channel layer measured 40x
 * slower than im2col + GEMM there, so such builds keep im2col + GEMM. */
int dc_conv_blocked_fits(const dc_conv_geom *g)
{
#if defined(__AVX512F__)
    return g->c % 16 == 0 && g->f % 16 == 0;
#else
    (void)g;
    return 0;
#endif
}

/* The rows and columns a padded copy needs: the leading pad, the image, and
 * whatever the last window reaches past it. */
static void padded_size(const dc_conv_geom *g, int *hp, int *wp)
{
    int needh = (g->oh - 1) * g->sh + g->dh * (g->kh - 1) + 1;
    int needw = (g->ow - 1) * g->sw + g->dw * (g->kw - 1) + 1;
    *hp = g->h + g->ph > needh ? g->h + g->ph : needh;
    *wp = g->w + g->pw > needw ? g->w + g->pw : needw;
}

static int needs_copy(const dc_conv_geom *g)
{
    int hp, wp;
    padded_size(g, &hp, &wp);
    return g->ph > 0 || g->pw > 0 || hp > g->h || wp > g->w;
}

/* The input gradient of a stride-1 convolution is itself a stride-1
 * convolution: of gy, padded by the window's reach less the forward's pad,
 * with the kernel flipped and each tap transposed, onto the image.  It
 * multiplies the padding's zeros too, every image pixel taking every tap:
 * free for "same" padding (as many pixels as outputs), but 40% more work for
 * seed 003's 3x3 "valid" convolution of a 13x13 image (169 pixels, 121
 * outputs), measured 13% slower there than the scatter form.  So it is
 * taken where the image has at most 10% more pixels than the output. */
static int gather_form(const dc_conv_geom *g)
{
    return g->sh == 1 && g->sw == 1 && (size_t)g->h * g->w * 10 <= (size_t)g->oh * g->ow * 11;
}

/* The gather form's geometry, seen as a forward. */
static dc_conv_geom gather_geom(const dc_conv_geom *g)
{
    dc_conv_geom t = *g;
    t.h = g->oh;
    t.w = g->ow;
    t.c = g->f;
    t.f = g->c;
    t.oh = g->h;
    t.ow = g->w;
    t.ph = g->dh * (g->kh - 1) - g->ph;
    t.pw = g->dw * (g->kw - 1) - g->pw;
    return t;
}

size_t dc_conv_blocked_scratch(const dc_conv_geom *g)
{
    int hp, wp;
    padded_size(g, &hp, &wp);
    /* the padded image, then its gradient (scatter form) */
    size_t own = needs_copy(g) ? 2 * (size_t)hp * wp * g->c : 0;
    if (!gather_form(g))
        return own;
    dc_conv_geom t = gather_geom(g); /* or the padded gy (gather form), after gK is done with the image */
    padded_size(&t, &hp, &wp);
    size_t gather = needs_copy(&t) ? (size_t)hp * wp * t.c : 0;
    return own > gather ? own : gather;
}

/* The image as the kernels read it: img itself, or its padded copy in pad. */
static const float *padded_image(const dc_conv_geom *g, const float *img, float *pad, int *wp)
{
    int hp;
    padded_size(g, &hp, wp);
    if (!needs_copy(g)) {
        *wp = g->w;
        return img;
    }
    size_t row = (size_t)g->w * g->c;
    memset(pad, 0, (size_t)hp * *wp * g->c * sizeof(float));
    for (int y = 0; y < g->h; y++)
        memcpy(pad + ((size_t)(y + g->ph) * *wp + g->pw) * g->c, img + y * row, row * sizeof(float));
    return pad;
}

/* Splits n pixels into blocks of at most most, as even as possible: block i
 * starts at *start and has the returned size. */
static int block_size(int n, int most, int i, int *start)
{
    int blocks = (n + most - 1) / most, base = n / blocks, extra = n % blocks;
    *start = i * base + (i < extra ? i : extra);
    return base + (i < extra);
}

static int block_count(int n, int most) { return (n + most - 1) / most; }

/* ---- forward ---- */

/* np output pixels of row oy from column ox, filters o0 .. o0 + 16 nv.
 * Always inlined with constant np and nv, so the sums are registers. */
static inline __attribute__((always_inline)) void fwd_block(const dc_conv_geom *g, const float *xp, int wp, int oy,
                                                            int ox, const float *k, int o0, const float *bias,
                                                            int mode, float *yrow, const int np, const int nv,
                                                            const size_t pstep)
{
    v16 acc[NP_MAX][2];
    for (int p = 0; p < np; p++)
        for (int v = 0; v < nv; v++)
            acc[p][v] = (v16){0};
    for (int i = 0; i < g->kh; i++)
        for (int j = 0; j < g->kw; j++) {
            const float *xs = xp + (((size_t)oy * g->sh + (size_t)i * g->dh) * wp + (size_t)ox * g->sw +
                                    (size_t)j * g->dw) * g->c;
            const float *ks = k + (size_t)(i * g->kw + j) * g->c * g->f + o0;
            for (int ch = 0; ch < g->c; ch++, ks += g->f) {
                v16 k0 = load16(ks), k1 = nv > 1 ? load16(ks + 16) : k0;
#pragma GCC unroll 14
                for (int p = 0; p < np; p++) {
                    float xv = xs[p * pstep + ch];
                    acc[p][0] += xv * k0;
                    if (nv > 1)
                        acc[p][1] += xv * k1;
                }
            }
        }
    for (int p = 0; p < np; p++)
        for (int v = 0; v < nv; v++) {
            float *out = yrow + (size_t)(ox + p) * g->f + o0 + 16 * v;
            v16 s = acc[p][v];
            if (bias)
                s += load16(bias + o0 + 16 * v);
            if (mode == DC_CONV_ADD)
                s += load16(out);
            store16(out, s);
            if (mode == DC_CONV_RELU)
                for (int o = 0; o < 16; o++)
                    out[o] = out[o] < 0.0f ? 0.0f : out[o]; /* keeps NaN */
        }
}

/*
 * Each block is instantiated for every pixel count (so that each is fully
 * unrolled) and, for the common distances between the pixels' values (16,
 * 32 or 64 floats), with that distance a constant: the loads then take
 * fixed displacements instead of one register per pixel, of which GCC runs
 * short and spills (13% slower forward on a 16-channel layer).  The caller
 * picks the instance for its distance once per image.
 */
#define BLOCK_CASES(CASE, S)                                                                                           \
    CASE(1, S) CASE(2, S) CASE(3, S) CASE(4, S) CASE(5, S) CASE(6, S) CASE(7, S) CASE(8, S) CASE(9, S) CASE(10, S)     \
        CASE(11, S) CASE(12, S) CASE(13, S) CASE(14, S)

#define FWD_PARAMS                                                                                                     \
    const dc_conv_geom *g, const float *xp, int wp, int oy, int ox, int np, int nv, const float *k, int o0,           \
        const float *bias, int mode, float *yrow
#define FWD_CASE(n, S)                                                                                                 \
    case n:                                                                                                            \
        if (nv == 2)                                                                                                   \
            fwd_block(g, xp, wp, oy, ox, k, o0, bias, mode, yrow, n, 2, S);                                            \
        else                                                                                                           \
            fwd_block(g, xp, wp, oy, ox, k, o0, bias, mode, yrow, n, 1, S);                                            \
        break;
#define FWD_FOR_STEP(name, S)                                                                                          \
    static void name(FWD_PARAMS) { switch (np) { BLOCK_CASES(FWD_CASE, S) } }

FWD_FOR_STEP(fwd_step16, 16)
FWD_FOR_STEP(fwd_step32, 32)
FWD_FOR_STEP(fwd_step64, 64)
FWD_FOR_STEP(fwd_any_step, (size_t)g->sw * g->c)

typedef void (*fwd_fn)(FWD_PARAMS);

/* The instance for pixels `step` floats apart. */
static fwd_fn fwd_for(int step)
{
    return step == 16 ? fwd_step16 : step == 32 ? fwd_step32 : step == 64 ? fwd_step64 : fwd_any_step;
}

/* Two vectors of filters (or channels) where they divide evenly. */
static int vectors(int n) { return n % 32 == 0 ? 2 : 1; }

int dc_conv_blocked_row_blocks(const dc_conv_geom *g) { return block_count(g->ow, NP_MAX / vectors(g->f)); }

void dc_conv_blocked_forward_blocks(const dc_conv_geom *g, const float *img, const float *k, const float *bias,
                                    int mode, float *scratch, float *y, int u0, int u1)
{
    int wp, nv = vectors(g->f), most = NP_MAX / nv, blocks = block_count(g->ow, most);
    const float *xp = padded_image(g, img, scratch, &wp);
    fwd_fn block = fwd_for(g->sw * g->c);
    for (int u = u0; u < u1; u++) {
        int oy = u / blocks, ox, np = block_size(g->ow, most, u % blocks, &ox);
        float *yrow = y + (size_t)oy * g->ow * g->f;
        for (int o0 = 0; o0 < g->f; o0 += 16 * nv)
            block(g, xp, wp, oy, ox, np, nv, k, o0, bias, mode, yrow);
    }
}

void dc_conv_blocked_forward(const dc_conv_geom *g, const float *img, const float *k, const float *bias, int mode,
                             float *scratch, float *y)
{
    dc_conv_blocked_forward_blocks(g, img, k, bias, mode, scratch, y, 0, g->oh * dc_conv_blocked_row_blocks(g));
}

/* ---- kernel gradient ---- */

#define EB_MAX 16 /* channels per block: EB x NV = 16 sums */

/* gk[t, c0 .. c0 + eb, o0 .. o0 + 16 nv] += sums over every pixel of the
 * image of x[p + t, c] gy[p, o]; xt is the image at tap t's offset. */
static inline __attribute__((always_inline)) void gk_block(const dc_conv_geom *g, const float *xt, int wp,
                                                           const float *gy, int c0, int o0, float *gk, const int eb,
                                                           const int nv)
{
    v16 acc[EB_MAX][2];
    for (int e = 0; e < eb; e++)
        for (int v = 0; v < nv; v++)
            acc[e][v] = (v16){0};
    size_t pstep = (size_t)g->sw * g->c;
    for (int oy = 0; oy < g->oh; oy++) {
        const float *xs = xt + (size_t)oy * g->sh * wp * g->c + c0;
        const float *gr = gy + (size_t)oy * g->ow * g->f + o0;
        for (int ox = 0; ox < g->ow; ox++, xs += pstep, gr += g->f) {
            v16 g0 = load16(gr), g1 = nv > 1 ? load16(gr + 16) : g0;
#pragma GCC unroll 16
            for (int e = 0; e < eb; e++) {
                float xv = xs[e];
                acc[e][0] += xv * g0;
                if (nv > 1)
                    acc[e][1] += xv * g1;
            }
        }
    }
    for (int e = 0; e < eb; e++)
        for (int v = 0; v < nv; v++) {
            float *dst = gk + (size_t)(c0 + e) * g->f + o0 + 16 * v;
            store16(dst, load16(dst) + acc[e][v]);
        }
}

static void image_gk(const dc_conv_geom *g, const float *xp, int wp, const float *gy, float *gk)
{
    int nv = vectors(g->f), eb = nv == 2 ? 8 : 16;
    for (int i = 0; i < g->kh; i++)
        for (int j = 0; j < g->kw; j++) {
            const float *xt = xp + ((size_t)i * g->dh * wp + (size_t)j * g->dw) * g->c;
            float *gkt = gk + (size_t)(i * g->kw + j) * g->c * g->f;
            for (int c0 = 0; c0 < g->c; c0 += eb)
                for (int o0 = 0; o0 < g->f; o0 += 16 * nv) {
                    if (nv == 2)
                        gk_block(g, xt, wp, gy, c0, o0, gkt, 8, 2);
                    else
                        gk_block(g, xt, wp, gy, c0, o0, gkt, 16, 1);
                }
        }
}

/* ---- input gradient ---- */

/* For np pixels of row oy from ox and one tap (i, j): the sums over filters
 * of gy[p, o] kt[o, c] for channels c0 .. c0 + 16 nv, added into gxp at the
 * tap's pixels.  kt is the tap's kernel transposed to (F, C). */
static inline __attribute__((always_inline)) void gx_block(const dc_conv_geom *g, float *gxp, int wp,
                                                           const float *gy, int oy, int ox, int i, int j,
                                                           const float *kt, int c0, const int np, const int nv,
                                                           const size_t fstep)
{
    v16 acc[NP_MAX][2];
    for (int p = 0; p < np; p++)
        for (int v = 0; v < nv; v++)
            acc[p][v] = (v16){0};
    const float *gr = gy + ((size_t)oy * g->ow + ox) * g->f;
    const float *ks = kt + c0;
    for (int o = 0; o < g->f; o++, ks += g->c) {
        v16 k0 = load16(ks), k1 = nv > 1 ? load16(ks + 16) : k0;
#pragma GCC unroll 14
        for (int p = 0; p < np; p++) {
            float gv = gr[p * fstep + o];
            acc[p][0] += gv * k0;
            if (nv > 1)
                acc[p][1] += gv * k1;
        }
    }
    float *dst = gxp + (((size_t)oy * g->sh + (size_t)i * g->dh) * wp + (size_t)ox * g->sw + (size_t)j * g->dw) * g->c +
                 c0;
    size_t pstep = (size_t)g->sw * g->c;
    for (int p = 0; p < np; p++) /* in order: with stride 1 the pixels' taps overlap */
        for (int v = 0; v < nv; v++) {
            float *d = dst + p * pstep + 16 * v;
            store16(d, load16(d) + acc[p][v]);
        }
}

#define GX_PARAMS                                                                                                      \
    const dc_conv_geom *g, float *gxp, int wp, const float *gy, int oy, int ox, int np, int nv, int i, int j,         \
        const float *kt, int c0
#define GX_CASE(n, S)                                                                                                  \
    case n:                                                                                                            \
        if (nv == 2)                                                                                                   \
            gx_block(g, gxp, wp, gy, oy, ox, i, j, kt, c0, n, 2, S);                                                   \
        else                                                                                                           \
            gx_block(g, gxp, wp, gy, oy, ox, i, j, kt, c0, n, 1, S);                                                   \
        break;
#define GX_FOR_STEP(name, S)                                                                                           \
    static void name(GX_PARAMS) { switch (np) { BLOCK_CASES(GX_CASE, S) } }

GX_FOR_STEP(gx_step16, 16)
GX_FOR_STEP(gx_step32, 32)
GX_FOR_STEP(gx_step64, 64)
GX_FOR_STEP(gx_any_step, (size_t)g->f)

typedef void (*gx_fn)(GX_PARAMS);

/* The instance for gy's pixels `step` floats apart. */
static gx_fn gx_for(int step)
{
    return step == 16 ? gx_step16 : step == 32 ? gx_step32 : step == 64 ? gx_step64 : gx_any_step;
}

size_t dc_conv_blocked_shared(const dc_conv_geom *g) { return (size_t)g->kh * g->kw * g->c * g->f; }

void dc_conv_blocked_gx_kernel(const dc_conv_geom *g, const float *k, float *kt)
{
    size_t taps = (size_t)g->kh * g->kw, c = (size_t)g->c, f = (size_t)g->f;
    int flip = gather_form(g); /* tap t reads the kernel's tap taps-1-t (both axes reversed) */
    for (size_t t = 0; t < taps; t++)
        for (size_t ch = 0; ch < c; ch++)
            for (size_t o = 0; o < f; o++)
                kt[(t * f + o) * c + ch] = k[((flip ? taps - 1 - t : t) * c + ch) * f + o];
}

static void image_gx(const dc_conv_geom *g, float *gxp, int wp, const float *gy, const float *kt)
{
    int nv = vectors(g->c), most = NP_MAX / nv, blocks = block_count(g->ow, most);
    gx_fn block = gx_for(g->f);
    for (int oy = 0; oy < g->oh; oy++)
        for (int b = 0; b < blocks; b++) {
            int ox, np = block_size(g->ow, most, b, &ox);
            for (int i = 0; i < g->kh; i++)
                for (int j = 0; j < g->kw; j++) {
                    const float *ktap = kt + (size_t)(i * g->kw + j) * g->f * g->c;
                    for (int c0 = 0; c0 < g->c; c0 += 16 * nv)
                        block(g, gxp, wp, gy, oy, ox, np, nv, i, j, ktap, c0);
                }
        }
}

void dc_conv_blocked_gk(const dc_conv_geom *g, const float *img, const float *gy, float *scratch, float *gk)
{
    int wp;
    const float *xp = padded_image(g, img, scratch, &wp);
    image_gk(g, xp, wp, gy, gk);
}

void dc_conv_blocked_gx(const dc_conv_geom *g, const float *kt, const float *gy, float *scratch, float *gimg)
{
    if (gather_form(g)) {
        dc_conv_geom t = gather_geom(g);
        dc_conv_blocked_forward(&t, gy, kt, NULL, DC_CONV_ADD, scratch, gimg);
        return;
    }
    int hp, wp;
    if (!needs_copy(g)) { /* no padding: straight into the image's gradient */
        image_gx(g, gimg, g->w, gy, kt);
        return;
    }
    padded_size(g, &hp, &wp);
    float *gxp = scratch + (size_t)hp * wp * g->c;
    memset(gxp, 0, (size_t)hp * wp * g->c * sizeof(float));
    image_gx(g, gxp, wp, gy, kt);
    size_t row = (size_t)g->w * g->c;
    for (int y = 0; y < g->h; y++) {
        const float *restrict src = gxp + ((size_t)(y + g->ph) * wp + g->pw) * g->c;
        float *restrict dst = gimg + y * row;
#pragma omp simd
        for (size_t q = 0; q < row; q++)
            dst[q] += src[q];
    }
}
