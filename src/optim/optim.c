/*
 * optim.c - SGD (momentum, Nesterov), Adam, AdamW, RMSprop and Adagrad with
 * Keras 3's defaults and update rules.
 *
 * Every parameter of a model lives in one flat buffer and every gradient in
 * another, so a step is one vectorised loop over one buffer.  Differences
 * from PyTorch worth knowing: Adam's epsilon is added after the bias
 * correction is folded into the step size (Keras), RMSprop and Adagrad take
 * epsilon inside the square root (Keras 3).
 */
#include "optim/optim.h"

#include <math.h>
#include <omp.h>
#include <string.h>

struct dc_optimizer {
    dc_optimizer_config cfg;
    size_t count;
    long iterations;
    float *m; /* momentum / first moment / accumulator */
    float *v; /* second moment (Adam, AdamW) */
};

dc_optimizer_config dc_optimizer_defaults(dc_opt_kind kind)
{
    dc_optimizer_config c = {0};
    c.kind = kind;
    c.learning_rate = kind == DC_OPT_SGD ? 0.01f : 0.001f;
    c.beta_1 = 0.9f;
    c.beta_2 = 0.999f;
    c.epsilon = 1e-7f;
    c.rho = 0.9f;
    c.initial_accumulator_value = 0.1f;
    c.weight_decay = kind == DC_OPT_ADAMW ? 0.004f : 0.0f;
    return c;
}

dc_status dc_optimizer_parse(const char *name, dc_optimizer_config *out)
{
    static const char *const names[DC_OPT_COUNT] = {"sgd", "adam", "adamw", "rmsprop", "adagrad"};
    for (int i = 0; name && i < DC_OPT_COUNT; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = dc_optimizer_defaults((dc_opt_kind)i);
            return DC_OK;
        }
    return dc_fail(DC_ERR_ARG, "unknown optimizer \"%s\"; expected sgd, adam, adamw, rmsprop or adagrad",
                   name ? name : "(null)");
}

dc_optimizer *dc_optimizer_new(const dc_optimizer_config *cfg, size_t count)
{
    if ((unsigned)cfg->kind >= DC_OPT_COUNT)
        return dc_fail_null(DC_ERR_ARG, "optimizer: unknown kind %d", (int)cfg->kind);
    if (!(cfg->learning_rate >= 0.0f) || !isfinite(cfg->learning_rate))
        return dc_fail_null(DC_ERR_ARG, "optimizer: learning_rate %g, expected a finite value >= 0",
                            (double)cfg->learning_rate);
    dc_optimizer *o = dc_calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->cfg = *cfg;
    o->count = count;
    size_t bytes = (count ? count : 1) * sizeof(float);
    o->m = dc_malloc_aligned(bytes);
    o->v = dc_malloc_aligned(bytes);
    if (!o->m || !o->v) {
        dc_optimizer_free(o);
        return NULL;
    }
    float init = cfg->kind == DC_OPT_ADAGRAD ? cfg->initial_accumulator_value : 0.0f;
    for (size_t i = 0; i < count; i++)
        o->m[i] = init;
    memset(o->v, 0, bytes);
    return o;
}

void dc_optimizer_free(dc_optimizer *o)
{
    if (!o)
        return;
    dc_free_aligned(o->m);
    dc_free_aligned(o->v);
    free(o);
}

void dc_optimizer_set_lr(dc_optimizer *o, float lr) { o->cfg.learning_rate = lr; }
float dc_optimizer_get_lr(const dc_optimizer *o) { return o->cfg.learning_rate; }
long dc_optimizer_iterations(const dc_optimizer *o) { return o->iterations; }

const dc_optimizer_config *dc_optimizer_config_of(const dc_optimizer *o) { return &o->cfg; }
void dc_optimizer_set_iterations(dc_optimizer *o, long iterations) { o->iterations = iterations; }

int dc_optimizer_slot_count(const dc_optimizer *o)
{
    switch (o->cfg.kind) {
    case DC_OPT_SGD: return o->cfg.momentum != 0.0f;
    case DC_OPT_ADAM:
    case DC_OPT_ADAMW: return 2;
    default: return 1;
    }
}

const char *dc_optimizer_slot_name(const dc_optimizer *o, int slot)
{
    if (o->cfg.kind == DC_OPT_ADAM || o->cfg.kind == DC_OPT_ADAMW)
        return slot ? "velocity" : "momentum";
    return o->cfg.kind == DC_OPT_SGD ? "momentum" : o->cfg.kind == DC_OPT_RMSPROP ? "velocity" : "accumulator";
}

float *dc_optimizer_slot(dc_optimizer *o, int slot) { return slot ? o->v : o->m; }

/* Each kernel updates w[0..n) in one vectorisable loop. */
static void sgd_kernel(float *restrict w, const float *restrict g, size_t n, float lr)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        w[i] -= lr * g[i];
}

static void momentum_kernel(float *restrict w, const float *restrict g, float *restrict m, size_t n, float lr, float mu,
                            int nesterov)
{
    if (nesterov) {
#pragma omp simd
        for (size_t i = 0; i < n; i++) {
            m[i] = mu * m[i] - lr * g[i];
            w[i] += mu * m[i] - lr * g[i];
        }
    } else {
#pragma omp simd
        for (size_t i = 0; i < n; i++) {
            m[i] = mu * m[i] - lr * g[i];
            w[i] += m[i];
        }
    }
}

static void adam_kernel(float *restrict w, const float *restrict g, float *restrict m, float *restrict v, size_t n,
                        float alpha, float b1, float b2, float eps, float decay)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        m[i] += (gi - m[i]) * (1.0f - b1);
        v[i] += (gi * gi - v[i]) * (1.0f - b2);
        w[i] = w[i] * decay - alpha * m[i] / (sqrtf(v[i]) + eps);
    }
}

static void rms_kernel(float *restrict w, const float *restrict g, float *restrict a, size_t n, float lr, float rho,
                       float eps, int adagrad)
{
    const float keep = adagrad ? 1.0f : rho, add = adagrad ? 1.0f : 1.0f - rho;
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        a[i] = keep * a[i] + add * g[i] * g[i];
        w[i] -= lr * g[i] / sqrtf(a[i] + eps);
    }
}

static void update_range(dc_optimizer *o, float *w, const float *g, size_t lo, size_t hi, float alpha)
{
    const dc_optimizer_config *c = &o->cfg;
    size_t n = hi - lo;
    float *m = o->m + lo, *v = o->v + lo;
    w += lo;
    g += lo;
    switch (c->kind) {
    case DC_OPT_SGD:
        if (c->momentum == 0.0f)
            sgd_kernel(w, g, n, c->learning_rate);
        else
            momentum_kernel(w, g, m, n, c->learning_rate, c->momentum, c->nesterov);
        break;
    case DC_OPT_ADAM:
    case DC_OPT_ADAMW:
        adam_kernel(w, g, m, v, n, alpha, c->beta_1, c->beta_2, c->epsilon,
                    c->kind == DC_OPT_ADAMW ? 1.0f - c->learning_rate * c->weight_decay : 1.0f);
        break;
    case DC_OPT_RMSPROP:
    case DC_OPT_ADAGRAD:
        rms_kernel(w, g, m, n, c->learning_rate, c->rho, c->epsilon, c->kind == DC_OPT_ADAGRAD);
        break;
    default:
        break;
    }
}

/* Buffers above this many floats are split across the threads (the
 * tutorial MLP's 102k parameters already gain from two). */
#define PAR_MIN 32768

void dc_optimizer_step(dc_optimizer *o, float *w, const float *g)
{
    const dc_optimizer_config *c = &o->cfg;
    const size_t n = o->count;
    o->iterations++;
    float alpha = 0.0f;
    if (c->kind == DC_OPT_ADAM || c->kind == DC_OPT_ADAMW) {
        double t = (double)o->iterations;
        alpha = (float)(c->learning_rate * sqrt(1.0 - pow(c->beta_2, t)) / (1.0 - pow(c->beta_1, t)));
    }
    if (n < PAR_MIN || omp_get_max_threads() == 1) {
        update_range(o, w, g, 0, n, alpha);
        return;
    }
#pragma omp parallel
    {
        size_t nt = (size_t)omp_get_num_threads(), id = (size_t)omp_get_thread_num();
        size_t chunk = ((n + nt - 1) / nt + 15) & ~(size_t)15;
        size_t lo = id * chunk < n ? id * chunk : n, hi = lo + chunk < n ? lo + chunk : n;
        update_range(o, w, g, lo, hi, alpha);
    }
}
