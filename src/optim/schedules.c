/*
 * schedules.c - Keras' learning-rate schedules (ExponentialDecay,
 * PiecewiseConstantDecay, CosineDecay with optional linear warmup) and the
 * model's learning-rate controls.  fit evaluates the schedule at the
 * optimiser's iteration count before every update, as Keras does.
 */
#include "model/model.h"

#include <math.h>
#include <string.h>

dc_lr_schedule dc_exponential_decay(float initial_learning_rate, long decay_steps, float decay_rate, int staircase)
{
    dc_lr_schedule s;
    memset(&s, 0, sizeof s);
    s.kind = DC_SCHEDULE_EXPONENTIAL;
    s.initial_learning_rate = initial_learning_rate;
    s.decay_steps = decay_steps;
    s.decay_rate = decay_rate;
    s.staircase = staircase;
    s.warmup_target = NAN;
    return s;
}

dc_lr_schedule dc_piecewise_constant_decay(int n_boundaries, const long *boundaries, const float *values)
{
    if (!boundaries || !values) { /* a schedule dc_model_set_lr_schedule refuses */
        dc_lr_schedule bad = {.kind = DC_SCHEDULE_PIECEWISE, .n_boundaries = -1, .warmup_target = NAN};
        dc_fail(DC_ERR_ARG, "%s: %s is NULL", __func__, boundaries ? "values" : "boundaries");
        return bad;
    }
    dc_lr_schedule s;
    memset(&s, 0, sizeof s);
    s.kind = DC_SCHEDULE_PIECEWISE;
    s.warmup_target = NAN;
    s.n_boundaries = n_boundaries;
    for (int i = 0; i <= n_boundaries && i <= DC_SCHEDULE_MAX_BOUNDARIES; i++) {
        if (i < n_boundaries && i < DC_SCHEDULE_MAX_BOUNDARIES)
            s.boundaries[i] = boundaries[i];
        s.values[i] = values[i];
    }
    return s;
}

dc_lr_schedule dc_cosine_decay(float initial_learning_rate, long decay_steps, float alpha)
{
    dc_lr_schedule s = dc_exponential_decay(initial_learning_rate, decay_steps, 0.0f, 0);
    s.kind = DC_SCHEDULE_COSINE;
    s.alpha = alpha;
    return s;
}

static double cosine(double step, double decay_steps, double from, double alpha)
{
    double decayed = 0.5 * (1.0 + cos(3.141592653589793 * step / decay_steps));
    return from * ((1.0 - alpha) * decayed + alpha);
}

float dc_lr_schedule_value(const dc_lr_schedule *s, long step)
{
    DC_CHECK_NULL_OR(s, NAN);
    double t = (double)(step < 0 ? 0 : step);
    switch (s->kind) {
    case DC_SCHEDULE_EXPONENTIAL: {
        double p = t / (double)s->decay_steps;
        return (float)(s->initial_learning_rate * pow(s->decay_rate, s->staircase ? floor(p) : p));
    }
    case DC_SCHEDULE_PIECEWISE:
        for (int i = 0; i < s->n_boundaries; i++)
            if (step <= s->boundaries[i])
                return s->values[i];
        return s->values[s->n_boundaries];
    case DC_SCHEDULE_COSINE:
        if (isnan(s->warmup_target))
            return (float)cosine(fmin(t, (double)s->decay_steps), (double)s->decay_steps, s->initial_learning_rate,
                                 s->alpha);
        t = fmin(t, (double)(s->decay_steps + s->warmup_steps));
        if (t < (double)s->warmup_steps)
            return (float)((s->warmup_target - s->initial_learning_rate) * (t / (double)s->warmup_steps) +
                           s->initial_learning_rate);
        return (float)cosine(t - (double)s->warmup_steps, (double)s->decay_steps, s->warmup_target, s->alpha);
    }
    return 0.0f;
}

dc_status dc_model_set_lr_schedule(dc_model *m, const dc_lr_schedule *s)
{
    DC_CHECK_NULL(m);
    if (!s) {
        m->has_schedule = 0;
        return DC_OK;
    }
    if ((s->kind == DC_SCHEDULE_EXPONENTIAL || s->kind == DC_SCHEDULE_COSINE) && s->decay_steps <= 0)
        return dc_fail(DC_ERR_ARG, "lr schedule: decay_steps is %ld, expected > 0", s->decay_steps);
    if (s->kind == DC_SCHEDULE_COSINE && s->warmup_steps < 0)
        return dc_fail(DC_ERR_ARG, "CosineDecay: warmup_steps is %ld, expected >= 0", s->warmup_steps);
    if (s->kind == DC_SCHEDULE_PIECEWISE) {
        if (s->n_boundaries < 0 || s->n_boundaries > DC_SCHEDULE_MAX_BOUNDARIES)
            return dc_fail(DC_ERR_ARG, "PiecewiseConstantDecay: %d boundaries, expected 0 to %d", s->n_boundaries,
                           DC_SCHEDULE_MAX_BOUNDARIES);
        for (int i = 1; i < s->n_boundaries; i++)
            if (s->boundaries[i] < s->boundaries[i - 1])
                return dc_fail(DC_ERR_ARG, "PiecewiseConstantDecay: boundaries[%d] = %ld is below boundaries[%d] = %ld",
                               i, s->boundaries[i], i - 1, s->boundaries[i - 1]);
    } else if ((unsigned)s->kind > DC_SCHEDULE_COSINE) {
        return dc_fail(DC_ERR_ARG, "lr schedule: unknown kind %d", (int)s->kind);
    }
    m->schedule = *s;
    m->has_schedule = 1;
    return DC_OK;
}

float dc_model_get_lr(const dc_model *m)
{
    DC_CHECK_NULL_OR(m, NAN);
    return m->opt ? dc_optimizer_get_lr(m->opt) : 0.0f;
}

dc_status dc_model_set_lr(dc_model *m, float lr)
{
    DC_CHECK_NULL(m);
    if (!m->opt)
        return dc_fail(DC_ERR_STATE, "set_lr: the model is not compiled");
    if (!(lr >= 0.0f) || !isfinite(lr))
        return dc_fail(DC_ERR_ARG, "set_lr: learning rate %g, expected a finite value >= 0", (double)lr);
    dc_optimizer_set_lr(m->opt, lr);
    return DC_OK;
}

void dc_model_stop_training(dc_model *m)
{
    DC_CHECK_NULL_VOID(m);
    m->stop_training = 1;
}
