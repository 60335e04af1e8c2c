/*
 * ops_rnn.c - the recurrent layers as fused whole-sequence ops: SimpleRNN,
 * LSTM and GRU ("rnn") and the final state of one ("rnn_state").
 *
 * One op runs the whole time loop.  Forward: the input projection of every
 * step is ONE GEMM, x (B*T, F) W (F, G*U) + b, into Z; then each step adds
 * h_prev R (one small GEMM over the batch, written straight into the strided
 * rows of Z) and applies the gates, saving what backward needs (activated
 * gates, states entering and leaving every step).  Backward runs through time
 * in reverse, writing dZ per step; the weight gradients are then three GEMMs
 * over all steps at once (dW = X^T dZ, dR = Hprev^T dZ, dx = dZ W^T).
 *
 * Keras' layouts: LSTM gates i, f, c, o (kernel (F, 4U), recurrent (U, 4U),
 * bias (4U)); GRU gates z, r, h with reset_after (bias (2, 3U): input and
 * recurrent rows) or reset before (bias (3U)); SimpleRNN one gate.
 *
 * Masking (the optional 5th input: the token ids feeding the Embedding, a
 * step masked where the id is 0): a masked step leaves h and c unchanged and
 * outputs the carried h (Keras' zero_output_for_mask=False), or zeros when
 * the flag ZERO_MASKED is set (what Keras' Bidirectional asks for).
 *
 * Dropout (training only): one input mask per sample (B, F) and one
 * recurrent mask per sample (B, U), shared by every gate and time step; the
 * recurrent mask multiplies h_prev where it enters the recurrent kernel only
 * (a GRU's blend z*h_prev + (1-z)*hh uses the undropped h_prev), as in
 * Keras' GRUCell/LSTMCell.  Masks come from the run's RNG, or from a fixed
 * hash of the position when there is none (graph API, gradient checks).
 *
 * Threads: the batch is split between the threads once per call; each runs
 * the whole time loop on its rows with single-threaded BLAS, so the steps
 * need no synchronisation.
 */
#include "graph/graph.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

/* attr.rnn.flags */
enum { F_SEQ = 1, F_BACKWARDS = 2, F_RESET_AFTER = 4, F_REVERSE_OUT = 8, F_ZERO_MASKED = 16 };

static int gates_of(int kind) { return kind == DC_RNN_LSTM ? 4 : kind == DC_RNN_GRU ? 3 : 1; }

/* ---- activations with the derivative from the output ----
 * exp by range reduction and a degree-6 polynomial (relative error ~2e-7),
 * written so the gate loops vectorise; tanh from it, with a Taylor series
 * near 0 where 1 - e^(-2|x|) would cancel. */

static inline float fast_exp(float x)
{
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    float r = (x * 1.44269504f + 12582912.0f) - 12582912.0f; /* round(x / ln 2) */
    float f = x - r * 0.693145751953125f - r * 1.428606765330187e-06f;
    float p = 1.0f + f * (1.0f + f * (0.5f + f * (1.0f / 6 + f * (1.0f / 24 + f * (1.0f / 120 + f * (1.0f / 720))))));
    /* NaN passes the clamp above: keep the int conversion defined (p carries the NaN on). */
    int32_t bits = ((int32_t)(r == r ? r : 0.0f) + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline float fast_tanh(float x)
{
    float a = fabsf(x), e = fast_exp(-2.0f * a), x2 = x * x;
    float big = (1.0f - e) / (1.0f + e);
    float small = a * (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315))));
    return copysignf(a < 0.0625f ? small : big, x);
}

static inline float act_f(int a, float x)
{
    switch (a) {
    case DC_ACT_SIGMOID: return 1.0f / (1.0f + fast_exp(-x));
    case DC_ACT_TANH: return fast_tanh(x);
    case DC_ACT_RELU: return x > 0 ? x : 0;
    default: return x;
    }
}

static inline float act_d(int a, float y)
{
    switch (a) {
    case DC_ACT_SIGMOID: return y * (1.0f - y);
    case DC_ACT_TANH: return 1.0f - y * y;
    case DC_ACT_RELU: return y > 0 ? 1.0f : 0.0f;
    default: return 1.0f;
    }
}

int dc_rnn_act_supported(dc_act a)
{
    return a == DC_ACT_LINEAR || a == DC_ACT_SIGMOID || a == DC_ACT_TANH || a == DC_ACT_RELU;
}

/* ---- work layout: every block is [B][T][...] or [B][...], batch-major ---- */

typedef struct layout {
    int B, T, F, U, G, GU, kind, flags, act, ract, masked;
    int drop, rdrop; /* dropout active in this run */
    float *Z, *DZ, *REC, *DREC, *HP, *HD, *CP, *CS, *HS, *RH, *XD;
    float *DMASK, *RMASK, *DH, *DC, *TMP, *TMP2, *DSTATE;
} layout;

/* Floats of work per sample; with `n` compiled, also the block pointers. */
static size_t plan(const dc_node *n, int B, int training, layout *L)
{
    const dc_node *x = n->in[0];
    memset(L, 0, sizeof *L);
    L->B = B;
    L->T = x->shape[1];
    L->F = x->shape[2];
    const dc_rnn_attr *a = &n->attr.rnn;
    L->kind = a->kind;
    L->U = a->units;
    L->flags = a->flags;
    L->act = a->act;
    L->ract = a->recurrent_act;
    L->G = gates_of(L->kind);
    L->GU = L->G * L->U;
    L->masked = n->in[4] != NULL;
    L->drop = training && a->dropout > 0;
    L->rdrop = training && a->recurrent_dropout > 0;
    int gru_after = L->kind == DC_RNN_GRU && (L->flags & F_RESET_AFTER);
    int gru_before = L->kind == DC_RNN_GRU && !(L->flags & F_RESET_AFTER);
    int lstm = L->kind == DC_RNN_LSTM;
    size_t T = (size_t)L->T, U = (size_t)L->U, GU = (size_t)L->GU;
    /* sizes per sample; always planned for the worst case (dropout on) */
    /* saturating (core/checked.h): infer refuses a plan that saturated */
    size_t TGU = dc_size_mul(T, GU), TU = dc_size_mul(T, U);
    size_t sz[17] = {TGU, TGU, gru_after ? TGU : 0, gru_after ? TGU : 0, TU,
                     a->recurrent_dropout > 0 ? TU : 0, lstm ? TU : 0, lstm ? TU : 0, TU,
                     gru_before ? TU : 0,
                     a->dropout > 0 ? dc_size_mul(T, (size_t)L->F) : 0, (size_t)L->F, U, U, U, U, U};
    size_t dstate = 2 * U;
    float **dst[17] = {&L->Z, &L->DZ, &L->REC, &L->DREC, &L->HP, &L->HD, &L->CP, &L->CS, &L->HS, &L->RH, &L->XD,
                       &L->DMASK, &L->RMASK, &L->DH, &L->DC, &L->TMP, &L->TMP2};
    size_t off = 0;
    for (int i = 0; i < 17; i++) {
        if (n->work)
            *dst[i] = sz[i] ? n->work + off : NULL;
        off = dc_size_add(off, dc_size_mul(sz[i], (size_t)B));
    }
    if (n->work)
        L->DSTATE = n->work + off;
    if (n->work && !L->rdrop)
        L->HD = L->HP;
    if (n->work && !L->drop)
        L->XD = x->val;
    size_t per = 0;
    for (int i = 0; i < 17; i++)
        per = dc_size_add(per, sz[i]);
    return dc_size_add(per, dstate);
}

/* Input time of processing step k. */
static inline int time_of(const layout *L, int k) { return (L->flags & F_BACKWARDS) ? L->T - 1 - k : k; }

/* Output slot of input time t (return_sequences). */
static inline int out_slot(const layout *L, int t)
{
    return ((L->flags & F_BACKWARDS) && !(L->flags & F_REVERSE_OUT)) ? L->T - 1 - t : t;
}

static inline int step_on(const dc_node *n, const layout *L, int b, int t)
{
    return !L->masked || n->in[4]->val[(size_t)b * L->T + t] != 0.0f;
}

/* ---- shape inference ---- */

static dc_status rnn_infer(dc_node *n)
{
    dc_node *x = n->in[0], *w = n->in[1], *r = n->in[2], *b = n->in[3];
    char sx[96], sw[96];
    const dc_rnn_attr *a = &n->attr.rnn;
    int kind = a->kind, U = a->units;
    if (kind < 0 || kind >= DC_RNN_COUNT || U < 1)
        return dc_fail(DC_ERR_ARG, "rnn: kind %d, units %d", kind, U);
    if (x->ndim != 3)
        return dc_fail(DC_ERR_SHAPE, "rnn: input %s has %d axes, expected 3: (batch, timesteps, features)",
                       dc_batch_shape_str(x->ndim, x->shape, sx, sizeof sx), x->ndim);
    int GU, F = x->shape[2];
    if (dc_ckd_mul(&GU, gates_of(kind), U))
        return dc_fail(DC_ERR_SHAPE, "rnn: %d gates x units %d overflows", gates_of(kind), U);
    if (w->ndim != 2 || w->shape[0] != F || w->shape[1] != GU)
        return dc_fail(DC_ERR_SHAPE, "rnn: kernel has shape %s, expected (%d, %d)",
                       dc_shape_str(w->ndim, w->shape, sw, sizeof sw), F, GU);
    if (r->ndim != 2 || r->shape[0] != U || r->shape[1] != GU)
        return dc_fail(DC_ERR_SHAPE, "rnn: recurrent kernel has shape %s, expected (%d, %d)",
                       dc_shape_str(r->ndim, r->shape, sw, sizeof sw), U, GU);
    int two = kind == DC_RNN_GRU && (a->flags & F_RESET_AFTER);
    if (two ? (b->ndim != 2 || b->shape[0] != 2 || b->shape[1] != GU) : (b->ndim != 1 || b->shape[0] != GU))
        return dc_fail(DC_ERR_SHAPE, "rnn: bias has shape %s, expected %s(%d%s)",
                       dc_shape_str(b->ndim, b->shape, sw, sizeof sw), two ? "(2, " : "", GU, two ? ")" : ",");
    if (n->in[4]) {
        dc_node *ids = n->in[4];
        if (ids->ndim != 2 || ids->shape[0] != x->shape[0] || ids->shape[1] != x->shape[1])
            return dc_fail(DC_ERR_SHAPE, "rnn: mask ids have shape %s, expected (batch, %d)",
                           dc_shape_str(ids->ndim, ids->shape, sw, sizeof sw), x->shape[1]);
    }
    if (!dc_rnn_act_supported((dc_act)a->act) || !dc_rnn_act_supported((dc_act)a->recurrent_act))
        return dc_fail(DC_ERR_ARG, "rnn: activations %s / %s: recurrent layers support linear, sigmoid, tanh, relu",
                       dc_act_name((dc_act)a->act), dc_act_name((dc_act)a->recurrent_act));
    n->batched = x->batched;
    n->shape[0] = x->shape[0];
    if (a->flags & F_SEQ) {
        n->ndim = 3;
        n->shape[1] = x->shape[1];
        n->shape[2] = U;
    } else {
        n->ndim = 2;
        n->shape[1] = U;
    }
    layout L;
    size_t per = plan(n, 1, 1, &L);
    if (x->batched)
        n->work_per_sample = per;
    else
        n->work_fixed = dc_size_mul(per, (size_t)x->shape[0]);
    return DC_OK;
}

/* ---- dropout masks ---- */

static uint32_t hash32(uint32_t v)
{
    v ^= v >> 16;
    v *= 0x7feb352dU;
    v ^= v >> 15;
    v *= 0x846ca68bU;
    v ^= v >> 16;
    return v;
}

/* Keeps with probability 1 - rate, scaled by 1 / (1 - rate): rows x per_row
 * values (a replica of a sharded batch skips the other replicas' draws). */
static void draw_mask(float *m, int rows, size_t per_row, float rate, const dc_run *run, uint32_t salt)
{
    float scale = 1.0f / (1.0f - rate);
    size_t count = (size_t)rows * per_row;
    dc_rng *rng = run->rng;
    dc_run_rng_skip(run, per_row, rows, 1);
    for (size_t i = 0; i < count; i++) {
        float u = rng ? dc_rng_uniform(rng) : (float)(hash32((uint32_t)i * 2654435761U + salt) >> 8) / 16777216.0f;
        m[i] = u >= rate ? scale : 0.0f;
    }
    dc_run_rng_skip(run, per_row, rows, 0);
}

/* ---- forward ---- */

/* Gates of one sample at one step; z holds the input projection plus the
 * recurrent one (for GRU: rec separately).  Writes activated gates back. */
#define DC_INLINE static inline __attribute__((always_inline))

DC_INLINE void cell_forward(const layout *L, int act, int ract, float *restrict z, const float *restrict hp,
                             const float *restrict cp, float *restrict c, float *restrict h)
{
    int U = L->U;
    if (L->kind == DC_RNN_SIMPLE) {
#pragma omp simd
        for (int j = 0; j < U; j++)
            h[j] = z[j] = act_f(act, z[j]);
    } else if (L->kind == DC_RNN_LSTM) {
#pragma omp simd
        for (int j = 0; j < U; j++) {
            float i = act_f(ract, z[j]), f = act_f(ract, z[U + j]);
            float g = act_f(act, z[2 * U + j]), o = act_f(ract, z[3 * U + j]);
            z[j] = i;
            z[U + j] = f;
            z[2 * U + j] = g;
            z[3 * U + j] = o;
            c[j] = f * cp[j] + i * g;
            h[j] = o * act_f(act, c[j]);
        }
    } else { /* GRU; z and r are done, hh's preactivation is complete */
#pragma omp simd
        for (int j = 0; j < U; j++) {
            float hh = act_f(act, z[2 * U + j]);
            z[2 * U + j] = hh;
            h[j] = z[j] * hp[j] + (1.0f - z[j]) * hh;
        }
    }
}

/* The time loop over rows [b0, b1). */
DC_INLINE void forward_rows(const dc_node *n, const layout *L, int b0, int b1, int act, int ract)
{
    int T = L->T, U = L->U, GU = L->GU, nb = b1 - b0;
    size_t ldz = (size_t)T * GU, ldh = (size_t)T * U;
    const float *R = n->in[2]->val, *bias = n->in[3]->val;
    int gru = L->kind == DC_RNN_GRU, after = gru && (L->flags & F_RESET_AFTER);
    if (nb <= 0)
        return;
    /* input projection of every step: one GEMM (bias first, beta 1) */
    float *Z = L->Z + (size_t)b0 * ldz;
    for (size_t row = 0; row < (size_t)nb * T; row++)
        memcpy(Z + row * GU, bias, (size_t)GU * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb * T, GU, L->F, 1.0f, L->XD + (size_t)b0 * T * L->F,
                L->F, n->in[1]->val, GU, 1.0f, Z, GU);
    int tprev = -1;
    for (int k = 0; k < T; k++) {
        int t = time_of(L, k);
        /* state entering the step */
        for (int b = b0; b < b1; b++) {
            float *hp = L->HP + b * ldh + (size_t)t * U, *hd = L->HD + b * ldh + (size_t)t * U;
            if (tprev < 0)
                memset(hp, 0, (size_t)U * sizeof(float));
            else
                memcpy(hp, L->HS + b * ldh + (size_t)tprev * U, (size_t)U * sizeof(float));
            if (L->rdrop)
                for (int j = 0; j < U; j++)
                    hd[j] = hp[j] * L->RMASK[(size_t)b * U + j];
            else if (hd != hp)
                memcpy(hd, hp, (size_t)U * sizeof(float));
            if (L->kind == DC_RNN_LSTM) {
                float *cp = L->CP + b * ldh + (size_t)t * U;
                if (tprev < 0)
                    memset(cp, 0, (size_t)U * sizeof(float));
                else
                    memcpy(cp, L->CS + b * ldh + (size_t)tprev * U, (size_t)U * sizeof(float));
            }
        }
        float *Zt = L->Z + (size_t)b0 * ldz + (size_t)t * GU;
        const float *HDt = L->HD + (size_t)b0 * ldh + (size_t)t * U;
        if (after) {
            float *RECt = L->REC + (size_t)b0 * ldz + (size_t)t * GU;
            for (int b = 0; b < nb; b++)
                memcpy(RECt + b * ldz, bias + GU, (size_t)GU * sizeof(float));
            if (tprev >= 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, GU, U, 1.0f, HDt, (int)ldh, R, GU, 1.0f,
                            RECt, (int)ldz);
            for (int b = 0; b < nb; b++) {
                float *z = Zt + b * ldz, *rec = RECt + b * ldz;
#pragma omp simd
                for (int j = 0; j < U; j++) {
                    z[j] = act_f(ract, z[j] + rec[j]);
                    z[U + j] = act_f(ract, z[U + j] + rec[U + j]);
                    z[2 * U + j] += z[U + j] * rec[2 * U + j];
                }
            }
        } else if (gru) {
            int U2 = 2 * U;
            if (tprev >= 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, U2, U, 1.0f, HDt, (int)ldh, R, GU, 1.0f, Zt,
                            (int)ldz);
            float *RHt = L->RH + (size_t)b0 * ldh + (size_t)t * U;
            for (int b = 0; b < nb; b++) {
                float *z = Zt + b * ldz, *rh = RHt + b * ldh;
                const float *hd = HDt + b * ldh;
#pragma omp simd
                for (int j = 0; j < U; j++) {
                    z[j] = act_f(ract, z[j]);
                    z[U + j] = act_f(ract, z[U + j]);
                    rh[j] = z[U + j] * hd[j];
                }
            }
            if (tprev >= 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, U, U, 1.0f, RHt, (int)ldh, R + U2, GU, 1.0f,
                            Zt + U2, (int)ldz);
        } else if (tprev >= 0) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, GU, U, 1.0f, HDt, (int)ldh, R, GU, 1.0f, Zt,
                        (int)ldz);
        }
        for (int b = b0; b < b1; b++) {
            size_t o = b * ldh + (size_t)t * U;
            float *hs = L->HS + o, *cs = L->CS ? L->CS + o : NULL;
            const float *hp = L->HP + o, *cp = L->CP ? L->CP + o : NULL;
            if (!step_on(n, L, b, t)) { /* masked: the state carries over */
                memcpy(hs, hp, (size_t)U * sizeof(float));
                if (cs)
                    memcpy(cs, cp, (size_t)U * sizeof(float));
                continue;
            }
            cell_forward(L, act, ract, L->Z + b * ldz + (size_t)t * GU, hp, cp, cs, hs);
        }
        tprev = t;
    }
}


static void run_rows(const dc_node *n, const layout *L, double flops, int backward);

static dc_status rnn_forward(dc_node *n, const dc_run *run)
{
    int B = n->shape[0];
    layout L;
    plan(n, B, run->training, &L);
    int T = L.T, U = L.U;
    if (L.drop) {
        draw_mask(L.DMASK, B, (size_t)L.F, n->attr.rnn.dropout, run, 0x51u);
        const float *x = n->in[0]->val;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
                for (int f = 0; f < L.F; f++) {
                    size_t i = ((size_t)b * T + t) * L.F + f;
                    L.XD[i] = x[i] * L.DMASK[(size_t)b * L.F + f];
                }
    }
    if (L.rdrop)
        draw_mask(L.RMASK, B, (size_t)U, n->attr.rnn.recurrent_dropout, run, 0xa7u);
    memset(L.DSTATE, 0, (size_t)B * 2 * U * sizeof(float));
    run_rows(n, &L, 2.0 * B * T * (double)L.GU * (L.F + U), 0);
    /* outputs */
    size_t ldh = (size_t)T * U;
    int tlast = time_of(&L, T - 1);
    for (int b = 0; b < B; b++) {
        if (!(L.flags & F_SEQ)) {
            memcpy(n->val + (size_t)b * U, L.HS + b * ldh + (size_t)tlast * U, (size_t)U * sizeof(float));
            continue;
        }
        for (int t = 0; t < T; t++) {
            float *dst = n->val + b * ldh + (size_t)out_slot(&L, t) * U;
            if ((L.flags & F_ZERO_MASKED) && !step_on(n, &L, b, t))
                memset(dst, 0, (size_t)U * sizeof(float));
            else
                memcpy(dst, L.HS + b * ldh + (size_t)t * U, (size_t)U * sizeof(float));
        }
    }
    return DC_OK;
}

/* ---- backward ---- */

/* dZ (and dREC) of one sample at one step from dh (and dc); updates dc to
 * d/dc_prev and writes the part of d/dh_prev that skips R into `direct`. */
DC_INLINE void cell_backward(const layout *L, int act, int ract, const float *z, const float *rec, const float *hp, const float *cp, const float *c, const float *dh, float *dc, float *dz, float *drec,
                          float *direct)
{
    int U = L->U;
    if (L->kind == DC_RNN_SIMPLE) {
#pragma omp simd
        for (int j = 0; j < U; j++) {
            dz[j] = dh[j] * act_d(act, z[j]);
            direct[j] = 0;
        }
    } else if (L->kind == DC_RNN_LSTM) {
#pragma omp simd
        for (int j = 0; j < U; j++) {
            float i = z[j], f = z[U + j], g = z[2 * U + j], o = z[3 * U + j];
            float tc = act_f(act, c[j]);
            float dcj = dc[j] + dh[j] * o * act_d(act, tc);
            dz[j] = dcj * g * act_d(ract, i);
            dz[U + j] = dcj * cp[j] * act_d(ract, f);
            dz[2 * U + j] = dcj * i * act_d(act, g);
            dz[3 * U + j] = dh[j] * tc * act_d(ract, o);
            dc[j] = dcj * f;
            direct[j] = 0;
        }
    } else {
#pragma omp simd
        for (int j = 0; j < U; j++) {
            float zg = z[j], r = z[U + j], hh = z[2 * U + j];
            float dah = dh[j] * (1.0f - zg) * act_d(act, hh);
            dz[2 * U + j] = dah;
            dz[j] = dh[j] * (hp[j] - hh) * act_d(ract, zg);
            direct[j] = dh[j] * zg;
            if (rec) { /* reset after: r multiplies rec_h */
                drec[j] = dz[j];
                drec[2 * U + j] = dah * r;
                dz[U + j] = drec[U + j] = dah * rec[2 * U + j] * act_d(ract, r);
            } else {
                dz[U + j] = 0; /* completed by the caller, which has d(r*hd) */
            }
        }
    }
}

DC_INLINE void backward_rows(const dc_node *n, const layout *L, int b0, int b1, int act, int ract)
{
    int T = L->T, U = L->U, GU = L->GU, nb = b1 - b0;
    size_t ldz = (size_t)T * GU, ldh = (size_t)T * U;
    const float *R = n->in[2]->val, *gy = n->grad;
    int gru = L->kind == DC_RNN_GRU, after = gru && (L->flags & F_RESET_AFTER), seq = L->flags & F_SEQ;
    if (nb <= 0)
        return;
    for (int b = b0; b < b1; b++) {
        memcpy(L->DH + (size_t)b * U, L->DSTATE + (size_t)b * 2 * U, (size_t)U * sizeof(float));
        memcpy(L->DC + (size_t)b * U, L->DSTATE + (size_t)b * 2 * U + U, (size_t)U * sizeof(float));
        if (!seq)
            for (int j = 0; j < U; j++)
                L->DH[(size_t)b * U + j] += gy[(size_t)b * U + j];
    }
    for (int k = T - 1; k >= 0; k--) {
        int t = time_of(L, k);
        float *DZt = L->DZ + (size_t)b0 * ldz + (size_t)t * GU;
        float *DRECt = after ? L->DREC + (size_t)b0 * ldz + (size_t)t * GU : NULL;
        for (int b = b0; b < b1; b++) {
            float *dh = L->DH + (size_t)b * U, *dc = L->DC + (size_t)b * U, *dz = L->DZ + b * ldz + (size_t)t * GU;
            float *direct = L->TMP + (size_t)b * U;
            int on = step_on(n, L, b, t);
            if (seq && (on || !(L->flags & F_ZERO_MASKED))) {
                const float *g = gy + b * ldh + (size_t)out_slot(L, t) * U;
#pragma omp simd
                for (int j = 0; j < U; j++)
                    dh[j] += g[j];
            }
            if (!on) { /* the state skipped this step: dh, dc pass through */
                memset(dz, 0, (size_t)GU * sizeof(float));
                if (after)
                    memset(L->DREC + b * ldz + (size_t)t * GU, 0, (size_t)GU * sizeof(float));
                memcpy(direct, dh, (size_t)U * sizeof(float));
                continue;
            }
            size_t o = b * ldh + (size_t)t * U;
            cell_backward(L, act, ract, L->Z + b * ldz + (size_t)t * GU, after ? L->REC + b * ldz + (size_t)t * GU : NULL,
                          L->HP + o, L->CP ? L->CP + o : NULL, L->CS ? L->CS + o : NULL, dh, dc, dz,
                          after ? L->DREC + b * ldz + (size_t)t * GU : NULL, direct);
        }
        /* d/dh_prev through the recurrent kernel, into dh (B rows of U) */
        float *DHb = L->DH + (size_t)b0 * U;
        if (gru && !after) {
            /* d(r*hd) = dZ_h R_h^T, then dr and the hd part */
            float *drh = L->TMP2 + (size_t)b0 * U;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, U, U, 1.0f, DZt + 2 * U, (int)ldz, R + 2 * U, GU,
                        0.0f, drh, U);
            for (int b = b0; b < b1; b++) {
                if (!step_on(n, L, b, t))
                    continue;
                float *dz = L->DZ + b * ldz + (size_t)t * GU, *d = L->TMP2 + (size_t)b * U;
                const float *z = L->Z + b * ldz + (size_t)t * GU, *hd = L->HD + b * ldh + (size_t)t * U;
#pragma omp simd
                for (int j = 0; j < U; j++) {
                    dz[U + j] = d[j] * hd[j] * act_d(ract, z[U + j]);
                    d[j] *= z[U + j];
                }
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, U, 2 * U, 1.0f, DZt, (int)ldz, R, GU, 1.0f, drh,
                        U);
            memcpy(DHb, drh, (size_t)nb * U * sizeof(float));
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, U, GU, 1.0f, after ? DRECt : DZt, (int)ldz, R, GU,
                        0.0f, DHb, U);
        }
        for (int b = b0; b < b1; b++) {
            float *dh = L->DH + (size_t)b * U, *direct = L->TMP + (size_t)b * U;
            if (L->rdrop)
                for (int j = 0; j < U; j++)
                    dh[j] *= L->RMASK[(size_t)b * U + j];
#pragma omp simd
            for (int j = 0; j < U; j++)
                dh[j] += direct[j];
        }
    }
}

/* Runs the time loop forward or backward over rows [b0, b1).  Keras'
 * defaults (tanh, sigmoid) get their own copy with the activations known at
 * compile time, so the gate loops vectorise. */
static void rows(const dc_node *n, const layout *L, int b0, int b1, int backward)
{
    int common = L->act == DC_ACT_TANH && L->ract == DC_ACT_SIGMOID;
    int act = common ? DC_ACT_TANH : L->act, ract = common ? DC_ACT_SIGMOID : L->ract;
    if (backward && common)
        backward_rows(n, L, b0, b1, DC_ACT_TANH, DC_ACT_SIGMOID);
    else if (backward)
        backward_rows(n, L, b0, b1, act, ract);
    else if (common)
        forward_rows(n, L, b0, b1, DC_ACT_TANH, DC_ACT_SIGMOID);
    else
        forward_rows(n, L, b0, b1, act, ract);
}

/* The batch split between the threads (each runs every step on its rows)
 * when the work pays for a parallel region. */
static void run_rows(const dc_node *n, const layout *L, double flops, int backward)
{
    if (dc_worth_parallel(flops) && L->B > 1) {
#pragma omp parallel
        {
            size_t lo, hi;
            dc_thread_range((size_t)L->B, 1, &lo, &hi);
            rows(n, L, (int)lo, (int)hi, backward);
        }
    } else {
        rows(n, L, 0, L->B, backward);
    }
}

static void rnn_backward(dc_node *n, const dc_run *run)
{
    dc_node *x = n->in[0], *w = n->in[1], *r = n->in[2], *bias = n->in[3];
    int B = n->shape[0];
    layout L;
    plan(n, B, run->training, &L);
    int T = L.T, U = L.U, GU = L.GU, F = L.F, BT = B * T;
    run_rows(n, &L, 4.0 * B * T * (double)GU * U, 1);
    int gru_before = L.kind == DC_RNN_GRU && !(L.flags & F_RESET_AFTER);
    int after = L.kind == DC_RNN_GRU && !gru_before;
    if (w->requires_grad) /* dW (F, GU) += Xd^T dZ */
        dc_sgemm(1, 0, F, GU, BT, 1.0f, L.XD, F, L.DZ, GU, 1.0f, w->grad, GU);
    if (r->requires_grad) {
        if (gru_before) {
            dc_sgemm(1, 0, U, 2 * U, BT, 1.0f, L.HD, U, L.DZ, GU, 1.0f, r->grad, GU);
            dc_sgemm(1, 0, U, U, BT, 1.0f, L.RH, U, L.DZ + 2 * U, GU, 1.0f, r->grad + 2 * U, GU);
        } else {
            dc_sgemm(1, 0, U, GU, BT, 1.0f, L.HD, U, after ? L.DREC : L.DZ, GU, 1.0f, r->grad, GU);
        }
    }
    if (bias->requires_grad) {
        dc_add_colsums(L.DZ, (size_t)BT, GU, bias->grad);
        if (after)
            dc_add_colsums(L.DREC, (size_t)BT, GU, bias->grad + GU);
    }
    if (x->requires_grad) {
        if (!L.drop) {
            dc_sgemm(0, 1, BT, F, GU, 1.0f, L.DZ, GU, w->val, GU, 1.0f, x->grad, F);
        } else { /* dXd into the (no longer needed) XD, then through the mask */
            dc_sgemm(0, 1, BT, F, GU, 1.0f, L.DZ, GU, w->val, GU, 0.0f, L.XD, F);
            for (int b = 0; b < B; b++)
                for (int t = 0; t < T; t++)
                    for (int f = 0; f < F; f++) {
                        size_t i = ((size_t)b * T + t) * F + f;
                        x->grad[i] += L.XD[i] * L.DMASK[(size_t)b * F + f];
                    }
        }
    }
}

/* Inputs: x, kernel, recurrent kernel, bias, and optionally the token ids
 * whose zeros mask steps. */
const dc_op dc_op_rnn = {.name = "rnn", .n_inputs = 5, .optional = DC_OPTIONAL(4), .infer = rnn_infer,
                         .forward = rnn_forward, .backward = rnn_backward};

/* ---- rnn_state: the final h (which 0) or c (which 1, LSTM) ---- */

static dc_status state_infer(dc_node *n)
{
    dc_node *r = n->in[0];
    int which = n->attr.rnn_state.which;
    if (r->op != &dc_op_rnn)
        return dc_fail(DC_ERR_ARG, "rnn_state: input %s is not a recurrent op", r->name);
    if (which < 0 || which > 1 || (which == 1 && r->attr.rnn.kind != DC_RNN_LSTM))
        return dc_fail(DC_ERR_ARG, "rnn_state: state %d does not exist: 0 is h, 1 is c (LSTM only)", which);
    n->batched = r->batched;
    n->ndim = 2;
    n->shape[0] = r->shape[0];
    n->shape[1] = r->attr.rnn.units;
    return DC_OK;
}

static dc_status state_forward(dc_node *n, const dc_run *run)
{
    dc_node *r = n->in[0];
    layout L;
    plan(r, r->shape[0], run->training, &L);
    int tlast = time_of(&L, L.T - 1), U = L.U;
    const float *src = n->attr.rnn_state.which ? L.CS : L.HS;
    for (int b = 0; b < L.B; b++)
        memcpy(n->val + (size_t)b * U, src + ((size_t)b * L.T + tlast) * U, (size_t)U * sizeof(float));
    return DC_OK;
}

static void state_backward(dc_node *n, const dc_run *run)
{
    dc_node *r = n->in[0];
    layout L;
    plan(r, r->shape[0], run->training, &L);
    int U = L.U;
    for (int b = 0; b < L.B; b++)
        for (int j = 0; j < U; j++)
            L.DSTATE[(size_t)b * 2 * U + (size_t)n->attr.rnn_state.which * U + j] += n->grad[(size_t)b * U + j];
}

const dc_op dc_op_rnn_state = {.name = "rnn_state", .n_inputs = 1, .infer = state_infer, .forward = state_forward,
                               .backward = state_backward};

/* ---- constructors ---- */

dc_node *dc_rnn(dc_graph *g, dc_node *x, dc_node *kernel, dc_node *recurrent, dc_node *bias, dc_node *mask_ids,
                const dc_rnn_config *cfg)
{
    if (!cfg)
        return dc_fail_null(DC_ERR_ARG, "rnn: cfg is NULL");
    if (!(cfg->dropout >= 0 && cfg->dropout < 1) || !(cfg->recurrent_dropout >= 0 && cfg->recurrent_dropout < 1))
        return dc_fail_null(DC_ERR_ARG, "rnn: dropout %g and recurrent_dropout %g must be in [0, 1)",
                            (double)cfg->dropout, (double)cfg->recurrent_dropout);
    dc_act act = DC_ACT_TANH, rec = DC_ACT_SIGMOID; /* NULL names: Keras' defaults */
    if ((cfg->activation && dc_act_parse(cfg->activation, &act) != DC_OK) ||
        (cfg->recurrent_activation && dc_act_parse(cfg->recurrent_activation, &rec) != DC_OK)) {
        dc_err_prefix("rnn");
        return NULL;
    }
    int flags = (cfg->return_sequences ? F_SEQ : 0) | (cfg->go_backwards ? F_BACKWARDS : 0) |
                (cfg->reset_after ? F_RESET_AFTER : 0) | (cfg->reverse_output ? F_REVERSE_OUT : 0) |
                (cfg->zero_output_for_mask ? F_ZERO_MASKED : 0);
    dc_attr a = {.rnn = {(int)cfg->kind, cfg->units, flags, (int)act, (int)rec, cfg->dropout,
                         cfg->recurrent_dropout}};
    dc_node *in[5] = {x, kernel, recurrent, bias, mask_ids};
    return dc_node_make(g, &dc_op_rnn, 5, in, &a);
}

dc_node *dc_rnn_state(dc_graph *g, dc_node *rnn, int which)
{
    return dc_node_make(g, &dc_op_rnn_state, 1, &rnn, &(dc_attr){.rnn_state = {which}});
}
