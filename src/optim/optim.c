/*
 * optim.c - SGD (momentum, Nesterov), Adam, AdamW, RMSprop, Adagrad, Nadam,
 * Adamax, Adadelta and Lion with Keras 3's defaults and update rules
 * (keras/src/optimizers/), in float32 as Keras computes them.
 *
 * Every parameter of a model lives in one flat buffer and every gradient in
 * another, so a step is one vectorised loop over one buffer.  Differences
 * from PyTorch worth knowing: Adam's epsilon is added after the bias
 * correction is folded into the step size (Keras), RMSprop and Adagrad take
 * epsilon inside the square root (Keras 3).  Nadam's running product of
 * the momentum schedule (u_product) is a function of the step count alone,
 * so a resumed optimiser recomputes it from `iterations`, bit for bit.
 */
#include "optim/optim.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

struct dc_optimizer {
    dc_optimizer_config cfg;
    size_t count;
    long iterations;
    float *m; /* momentum / first moment / accumulator / Adadelta's accumulated_grad */
    float *v; /* second moment (Adam, AdamW, Nadam), Adamax's norm, Adadelta's accumulated_delta_var */
    float u_product; /* Nadam: product of beta_1 (1 - 0.5 * 0.96^t) over the steps so far */
    float *clipped;  /* the clipped gradients, when a clipping argument is set */
    int n_vars;      /* variables for clipnorm: var_start[i] .. var_start[i + 1] (or count) */
    size_t *var_start;
};

dc_optimizer_config dc_optimizer_defaults(dc_opt_kind kind)
{
    dc_optimizer_config c = {0};
    c.kind = kind;
    c.learning_rate = kind == DC_OPT_SGD ? 0.01f : 0.001f;
    c.beta_1 = 0.9f;
    c.beta_2 = kind == DC_OPT_LION ? 0.99f : 0.999f;
    c.epsilon = 1e-7f;
    c.rho = kind == DC_OPT_ADADELTA ? 0.95f : 0.9f;
    c.initial_accumulator_value = 0.1f;
    c.weight_decay = kind == DC_OPT_ADAMW ? 0.004f : 0.0f;
    return c;
}

dc_status dc_optimizer_parse(const char *name, dc_optimizer_config *out)
{
    DC_CHECK_NULL(name);
    DC_CHECK_NULL(out);
    /* Keras' optimizers.get lower-cases the name: "Adam" and "adam" alike */
    static const char *const names[DC_OPT_COUNT] = {"sgd",   "adam",   "adamw",    "rmsprop", "adagrad",
                                                    "nadam", "adamax", "adadelta", "lion"};
    for (int i = 0; name && i < DC_OPT_COUNT; i++)
        if (strcasecmp(name, names[i]) == 0) {
            *out = dc_optimizer_defaults((dc_opt_kind)i);
            return DC_OK;
        }
    return dc_fail(DC_ERR_ARG, "unknown optimizer \"%s\"; expected sgd, adam, adamw, rmsprop, adagrad, nadam, "
                               "adamax, adadelta or lion (any case)",
                   name ? name : "(null)");
}

dc_optimizer *dc_optimizer_new(const dc_optimizer_config *cfg, size_t count)
{
    DC_CHECK_NULL_OR(cfg, NULL);
    if ((unsigned)cfg->kind >= DC_OPT_COUNT)
        return dc_fail_null(DC_ERR_ARG, "optimizer: unknown kind %d", (int)cfg->kind);
    if (!(cfg->learning_rate >= 0.0f) || !isfinite(cfg->learning_rate))
        return dc_fail_null(DC_ERR_ARG, "optimizer: learning_rate %g, expected a finite value >= 0",
                            (double)cfg->learning_rate);
    if (cfg->kind == DC_OPT_LION && !(cfg->beta_1 > 0.0f && cfg->beta_1 <= 1.0f))
        return dc_fail_null(DC_ERR_ARG, "optimizer: Lion's beta_1 %g must be in (0, 1] (Keras)", (double)cfg->beta_1);
    const float clips[3] = {cfg->clipnorm, cfg->global_clipnorm, cfg->clipvalue};
    static const char *const clip_names[3] = {"clipnorm", "global_clipnorm", "clipvalue"};
    int n_clips = 0;
    for (int i = 0; i < 3; i++) {
        if (!(clips[i] >= 0.0f) || !isfinite(clips[i]))
            return dc_fail_null(DC_ERR_ARG, "optimizer: %s %g, expected a finite value > 0 (or 0 for none)",
                                clip_names[i], (double)clips[i]);
        n_clips += clips[i] > 0.0f;
    }
    if (n_clips > 1)
        return dc_fail_null(DC_ERR_ARG, "optimizer: only one of clipnorm, clipvalue and global_clipnorm can be set "
                                        "(Keras); got clipnorm %g, clipvalue %g, global_clipnorm %g",
                            (double)cfg->clipnorm, (double)cfg->clipvalue, (double)cfg->global_clipnorm);
    dc_optimizer *o = dc_calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->cfg = *cfg;
    o->u_product = 1.0f;
    o->count = count;
    size_t bytes = (count ? count : 1) * sizeof(float);
    o->m = dc_malloc_aligned(bytes);
    o->v = dc_malloc_aligned(bytes);
    o->var_start = dc_calloc(1, sizeof *o->var_start);
    o->n_vars = 1;
    if (n_clips)
        o->clipped = dc_malloc_aligned(bytes);
    if (!o->m || !o->v || !o->var_start || (n_clips && !o->clipped)) {
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
    dc_free_aligned(o->clipped);
    free(o->var_start);
    free(o);
}

dc_status dc_optimizer_set_variables(dc_optimizer *o, int n, const size_t *starts)
{
    DC_CHECK_NULL(o);
    DC_CHECK_NULL(starts);
    if (n < 1 || !starts)
        return dc_fail(DC_ERR_ARG, "optimizer_set_variables: %d variables, expected at least 1", n);
    for (int i = 0; i < n; i++) {
        if (i == 0 ? starts[0] != 0 : starts[i] <= starts[i - 1] || starts[i] >= o->count)
            return dc_fail(DC_ERR_ARG,
                           "optimizer_set_variables: variable %d starts at %zu; starts must begin at 0 and increase, "
                           "each below the %zu parameters",
                           i, starts[i], o->count);
    }
    size_t *copy = dc_malloc((size_t)n * sizeof *copy);
    if (!copy)
        return DC_ERR_NOMEM;
    memcpy(copy, starts, (size_t)n * sizeof *copy);
    free(o->var_start);
    o->var_start = copy;
    o->n_vars = n;
    return DC_OK;
}

void dc_optimizer_set_lr(dc_optimizer *o, float lr)
{
    DC_CHECK_NULL_VOID(o);
    o->cfg.learning_rate = lr;
}
float dc_optimizer_get_lr(const dc_optimizer *o)
{
    DC_CHECK_NULL_OR(o, NAN);
    return o->cfg.learning_rate;
}
long dc_optimizer_iterations(const dc_optimizer *o)
{
    DC_CHECK_NULL_OR(o, -1);
    return o->iterations;
}

const dc_optimizer_config *dc_optimizer_config_of(const dc_optimizer *o) { return &o->cfg; }
/* Nadam's u_t = beta_1 (1 - 0.5 * 0.96^t), in float32 as Keras. */
static float nadam_u(float beta_1, long t) { return beta_1 * (1.0f - 0.5f * powf(0.96f, (float)t)); }

/* Steps after which 0.96^t is below 2^-60, so 1 - 0.5 * 0.96^t rounds to 1
 * in float32 and every later nadam_u(beta_1, t) is beta_1 * 1.0f. */
#define NADAM_U_SETTLED 1024

static uint32_t float_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* Nadam's u_product after `iterations` steps, bit for bit what the
 * step-by-step product gives.  The first NADAM_U_SETTLED factors are
 * multiplied as the steps multiply them; after that every factor is the
 * same c, and u <- u * c in float32 settles into a fixed point or a
 * two-cycle (it shrinks to a subnormal fixed point or 0, grows to
 * infinity, or flips sign with c < 0): once u repeats the value it had
 * two steps before, the rest of the product is known from the parity of
 * the steps left.  A few thousand steps for any sane beta_1. */
static float nadam_u_product(float beta_1, long iterations)
{
    float u = 1.0f;
    long t = 1;
    for (; t <= iterations && t <= NADAM_U_SETTLED; t++)
        u = u * nadam_u(beta_1, t);
    if (t > iterations)
        return u;
    const float c = nadam_u(beta_1, NADAM_U_SETTLED + 1);
    float before = 0.0f, last = u; /* u after steps t - 2 and t - 1 */
    for (int have_before = 0; t <= iterations; t++, have_before = 1) {
        u = last * c;
        if (have_before && float_bits(u) == float_bits(before)) /* u_t == u_{t-2}: period 1 or 2 from here */
            return (iterations - t) % 2 == 0 ? u : last;
        before = last;
        last = u;
    }
    return u;
}

dc_status dc_optimizer_set_iterations(dc_optimizer *o, long iterations)
{
    if (iterations < 0 || iterations > DC_OPTIMIZER_MAX_ITERATIONS)
        return dc_fail(DC_ERR_RANGE, "optimizer: %ld iterations, expected 0 to %ld", iterations,
                       (long)DC_OPTIMIZER_MAX_ITERATIONS);
    o->iterations = iterations;
    o->u_product = o->cfg.kind == DC_OPT_NADAM ? nadam_u_product(o->cfg.beta_1, iterations) : 1.0f;
    return DC_OK;
}

float dc_optimizer_nadam_u_product(const dc_optimizer *o) { return o->u_product; }

int dc_optimizer_slot_count(const dc_optimizer *o)
{
    switch (o->cfg.kind) {
    case DC_OPT_SGD: return o->cfg.momentum != 0.0f;
    case DC_OPT_RMSPROP:
    case DC_OPT_ADAGRAD:
    case DC_OPT_LION: return 1;
    default: return 2;
    }
}

const char *dc_optimizer_slot_name(const dc_optimizer *o, int slot)
{
    /* Keras' variable names */
    if (o->cfg.kind == DC_OPT_ADAM || o->cfg.kind == DC_OPT_ADAMW || o->cfg.kind == DC_OPT_NADAM)
        return slot ? "velocity" : "momentum";
    if (o->cfg.kind == DC_OPT_ADAMAX)
        return slot ? "norm" : "momentum";
    if (o->cfg.kind == DC_OPT_ADADELTA)
        return slot ? "accumulated_delta_var" : "accumulated_grad";
    if (o->cfg.kind == DC_OPT_LION)
        return "momentum";
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

/* Scalars of one step, the same for every parameter. */
typedef struct step_scalars {
    float alpha;                /* Adam: lr sqrt(1 - b2^t) / (1 - b1^t) */
    float u_t, u_t1, up, up1;   /* Nadam */
    float b1_power, b2_power;   /* beta_1^t, beta_2^t */
} step_scalars;

static void nadam_kernel(float *restrict w, const float *restrict g, float *restrict m, float *restrict v, size_t n,
                         float lr, float b1, float b2, float eps, const step_scalars *s)
{
    const float u_t = s->u_t, u_t1 = s->u_t1, up = s->up, up1 = s->up1, b2p = s->b2_power;
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        m[i] += (gi - m[i]) * (1.0f - b1);
        v[i] += (gi * gi - v[i]) * (1.0f - b2);
        float m_hat = u_t1 * m[i] / (1.0f - up1) + (1.0f - u_t) * gi / (1.0f - up);
        float v_hat = v[i] / (1.0f - b2p);
        w[i] -= m_hat * lr / (sqrtf(v_hat) + eps);
    }
}

static void adamax_kernel(float *restrict w, const float *restrict g, float *restrict m, float *restrict u, size_t n,
                          float lr, float b1, float b2, float eps, float b1p)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float gi = g[i], a = fabsf(gi), bu = b2 * u[i];
        m[i] += (gi - m[i]) * (1.0f - b1);
        u[i] = bu > a ? bu : a;
        w[i] -= lr * m[i] / ((1.0f - b1p) * (u[i] + eps));
    }
}

static void adadelta_kernel(float *restrict w, const float *restrict g, float *restrict ag, float *restrict ad,
                            size_t n, float lr, float rho, float eps)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        ag[i] = rho * ag[i] + (1.0f - rho) * (gi * gi);
        float delta = -(sqrtf(ad[i] + eps) * gi / sqrtf(ag[i] + eps));
        ad[i] = rho * ad[i] + (1.0f - rho) * (delta * delta);
        w[i] += lr * delta;
    }
}

static void lion_kernel(float *restrict w, const float *restrict g, float *restrict m, size_t n, float lr, float b1,
                        float b2)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float c = m[i] * b1 + g[i] * (1.0f - b1);
        w[i] -= lr * (float)((c > 0.0f) - (c < 0.0f));
        m[i] = m[i] * b2 + g[i] * (1.0f - b2);
    }
}

static void update_range(dc_optimizer *o, float *w, const float *g, size_t lo, size_t hi, const step_scalars *s)
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
        adam_kernel(w, g, m, v, n, s->alpha, c->beta_1, c->beta_2, c->epsilon,
                    c->kind == DC_OPT_ADAMW ? 1.0f - c->learning_rate * c->weight_decay : 1.0f);
        break;
    case DC_OPT_RMSPROP:
    case DC_OPT_ADAGRAD:
        rms_kernel(w, g, m, n, c->learning_rate, c->rho, c->epsilon, c->kind == DC_OPT_ADAGRAD);
        break;
    case DC_OPT_NADAM: nadam_kernel(w, g, m, v, n, c->learning_rate, c->beta_1, c->beta_2, c->epsilon, s); break;
    case DC_OPT_ADAMAX:
        adamax_kernel(w, g, m, v, n, c->learning_rate, c->beta_1, c->beta_2, c->epsilon, s->b1_power);
        break;
    case DC_OPT_ADADELTA: adadelta_kernel(w, g, m, v, n, c->learning_rate, c->rho, c->epsilon); break;
    case DC_OPT_LION: lion_kernel(w, g, m, n, c->learning_rate, c->beta_1, c->beta_2); break;
    default:
        break;
    }
}

/* Buffers above this many floats are split across the threads (the
 * tutorial MLP's 102k parameters already gain from two). */
#define PAR_MIN 32768

/* Sum of squares of g[lo, hi), in double, in one fixed order (the same on
 * every thread count and every MPI rank). */
static double sum_squares(const float *g, size_t lo, size_t hi)
{
    double s = 0.0;
    for (size_t i = lo; i < hi; i++)
        s += (double)g[i] * g[i];
    return s;
}

/* Keras 3's _clip_gradients (base_optimizer.py), in float32 as it computes:
 * clipnorm g c / max(norm, c) per variable; global_clipnorm g * (c min(1 /
 * norm, 1 / c)), NaN everywhere if the norm is not finite; clipvalue
 * clamps.  Returns the clipped copy, or g when no clipping is set. */
static const float *clip_gradients(dc_optimizer *o, const float *g)
{
    const dc_optimizer_config *c = &o->cfg;
    float *out = o->clipped;
    const size_t n = o->count;
    if (c->clipnorm > 0.0f) {
        const float cn = c->clipnorm;
        for (int v = 0; v < o->n_vars; v++) {
            size_t lo = o->var_start[v], hi = v + 1 < o->n_vars ? o->var_start[v + 1] : n;
            float norm = (float)sqrt(sum_squares(g, lo, hi)), d = norm > cn ? norm : cn;
            if (isnan(norm))
                d = norm;
            for (size_t i = lo; i < hi; i++)
                out[i] = g[i] * cn / d;
        }
    } else if (c->global_clipnorm > 0.0f) {
        const float cn = c->global_clipnorm, norm = (float)sqrt(sum_squares(g, 0, n));
        const float inv = 1.0f / norm, inv_c = 1.0f / cn;
        const float scale = cn * (inv < inv_c ? inv : inv_c) + (norm - norm);
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            out[i] = g[i] * scale;
    } else if (c->clipvalue > 0.0f) {
        const float cv = c->clipvalue;
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            out[i] = g[i] < -cv ? -cv : g[i] > cv ? cv : g[i];
    } else {
        return g;
    }
    return out;
}

void dc_optimizer_step(dc_optimizer *o, float *w, const float *g)
{
    DC_CHECK_NULL_VOID(o);
    DC_CHECK_NULL_VOID(w);
    DC_CHECK_NULL_VOID(g);
    const dc_optimizer_config *c = &o->cfg;
    const size_t n = o->count;
    g = clip_gradients(o, g);
    o->iterations++;
    step_scalars s = {0};
    const long t = o->iterations;
    if (c->kind == DC_OPT_ADAM || c->kind == DC_OPT_ADAMW) {
        double td = (double)t;
        s.alpha = (float)(c->learning_rate * sqrt(1.0 - pow(c->beta_2, td)) / (1.0 - pow(c->beta_1, td)));
    }
    s.b1_power = powf(c->beta_1, (float)t);
    s.b2_power = powf(c->beta_2, (float)t);
    if (c->kind == DC_OPT_NADAM) {
        /* Keras advances u_product before the variables' updates */
        o->u_product = o->u_product * nadam_u(c->beta_1, t);
        s.u_t = nadam_u(c->beta_1, t);
        s.u_t1 = nadam_u(c->beta_1, t + 1);
        s.up = o->u_product;
        s.up1 = s.up * s.u_t1;
    }
    if (n < PAR_MIN || omp_get_max_threads() == 1) {
        update_range(o, w, g, 0, n, &s);
        return;
    }
#pragma omp parallel
    {
        size_t nt = (size_t)omp_get_num_threads(), id = (size_t)omp_get_thread_num();
        size_t chunk = ((n + nt - 1) / nt + 15) & ~(size_t)15;
        size_t lo = id * chunk < n ? id * chunk : n, hi = lo + chunk < n ? lo + chunk : n;
        update_range(o, w, g, lo, hi, &s);
    }
}
