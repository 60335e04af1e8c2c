/*
 * loss_rows.c - Keras 3's regression, hinge and probabilistic losses
 * (keras/src/losses/losses.py), one row at a time, forward and backward
 * side by side.  The loss op in ops_loss.c reduces the rows as Keras does
 * (sum over the unmasked rows / their count).
 *
 * Per row of predictions p and targets y (cols values, e = p - y):
 *   huber          mean(0.5 e^2 where |e| <= d else d |e| - 0.5 d^2)  (delta d, 1.0)
 *   log_cosh       mean(e + softplus(-2 e) - log 2)      d/dp = tanh(e)
 *   hinge          mean(max(1 - y p, 0))
 *   squared_hinge  mean(max(1 - y p, 0)^2)
 *                  when every target of the batch is 0 or 1, y = 2 t - 1
 *                  (convert_binary_labels_to_hinge)
 *   kl_divergence  sum(y log(y / p)), y and p clipped to [1e-7, 1]
 *   poisson        mean(p - y log(p + 1e-7))
 *   cosine         -sum(ny * np), nx = x * min(1/|x|, 1e7) (ops.normalize)
 * Values are computed in double from the float inputs.
 */
#include "ops/loss_rows.h"

#include <math.h>

#define KEPS 1e-7

int dc_loss_is_row_kind(dc_loss_kind k) { return k >= DC_LOSS_HUBER && k < DC_LOSS_COUNT; }

int dc_hinge_converts(dc_loss_kind k, const float *t, size_t n)
{
    if (k != DC_LOSS_HINGE && k != DC_LOSS_SQUARED_HINGE)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (t[i] != 0.0f && t[i] != 1.0f)
            return 0;
    return 1;
}

static double clip01(double x) { return x < KEPS ? KEPS : (x > 1.0 ? 1.0 : x); }

/* min(1 / |x|, 1e7), Keras' inverse norm in ops.normalize */
static double inv_norm(const float *x, int n)
{
    double ss = 0;
    for (int j = 0; j < n; j++)
        ss += (double)x[j] * x[j];
    double r = ss > 0 ? 1.0 / sqrt(ss) : INFINITY;
    return r < 1.0 / KEPS ? r : 1.0 / KEPS;
}

double dc_loss_row(dc_loss_kind k, const float *p, const float *t, int cols, int convert, double delta)
{
    double s = 0;
    if (k == DC_LOSS_COSINE_SIMILARITY) {
        double rp = inv_norm(p, cols), rt = inv_norm(t, cols);
        for (int j = 0; j < cols; j++)
            s -= (double)t[j] * rt * ((double)p[j] * rp);
        return s;
    }
    for (int j = 0; j < cols; j++) {
        double x = p[j], y = t[j], e = x - y, a = fabs(e);
        switch (k) {
        case DC_LOSS_HUBER: s += a <= delta ? 0.5 * e * e : delta * a - 0.5 * delta * delta; break;
        case DC_LOSS_LOG_COSH: /* e + softplus(-2e) - log 2, softplus stable */
            s += e + (-2.0 * e > 0 ? -2.0 * e : 0.0) + log1p(exp(-fabs(2.0 * e))) - log(2.0);
            break;
        case DC_LOSS_HINGE:
        case DC_LOSS_SQUARED_HINGE: {
            double m = 1.0 - (convert ? 2.0 * y - 1.0 : y) * x;
            m = m > 0 ? m : 0.0;
            s += k == DC_LOSS_HINGE ? m : m * m;
            break;
        }
        case DC_LOSS_KL_DIVERGENCE: {
            double yc = clip01(y);
            s += yc * log(yc / clip01(x));
            break;
        }
        case DC_LOSS_POISSON: s += x - y * log(x + KEPS); break;
        default: break;
        }
    }
    return k == DC_LOSS_KL_DIVERGENCE ? s : s / cols;
}

void dc_loss_row_grad(dc_loss_kind k, const float *p, const float *t, int cols, int convert, double delta, float scale,
                      float *g)
{
    if (k == DC_LOSS_COSINE_SIMILARITY) {
        /* L = -sum(ny_j p_j) r with r = 1/|p|: dL/dp_j = -(ny_j r - (ny . p) r^3 p_j); r clamped: -ny_j r */
        double rp = inv_norm(p, cols), rt = inv_norm(t, cols), dot = 0;
        int clamped = rp >= 1.0 / KEPS;
        for (int j = 0; j < cols; j++)
            dot += (double)t[j] * rt * p[j];
        for (int j = 0; j < cols; j++) {
            double ny = (double)t[j] * rt;
            double d = clamped ? -ny * rp : -(ny * rp - dot * rp * rp * rp * p[j]);
            g[j] += scale * (float)d;
        }
        return;
    }
    const double per = k == DC_LOSS_KL_DIVERGENCE ? 1.0 : 1.0 / cols;
    for (int j = 0; j < cols; j++) {
        double x = p[j], y = t[j], e = x - y, d = 0;
        switch (k) {
        case DC_LOSS_HUBER: d = fabs(e) <= delta ? e : (e > 0 ? delta : -delta); break;
        case DC_LOSS_LOG_COSH: d = tanh(e); break;
        case DC_LOSS_HINGE:
        case DC_LOSS_SQUARED_HINGE: {
            double yy = convert ? 2.0 * y - 1.0 : y, m = 1.0 - yy * x;
            d = m > 0 ? (k == DC_LOSS_HINGE ? -yy : -2.0 * m * yy) : 0.0;
            break;
        }
        case DC_LOSS_KL_DIVERGENCE: /* the clip of p passes no gradient outside [1e-7, 1] */
            d = x >= KEPS && x <= 1.0 ? -clip01(y) / x : 0.0;
            break;
        case DC_LOSS_POISSON: d = 1.0 - y / (x + KEPS); break;
        default: break;
        }
        g[j] += scale * (float)(d * per);
    }
}
