/*
 * progress.c - Keras 2's progress bar:
 *   1875/1875 [==============================] - 3s 1ms/step - loss: 0.2950 - accuracy: 0.9140
 * Redrawn in place (\r) on a terminal at most every 50 ms; when the output is
 * not a terminal only the finished line of each epoch is printed.
 */
#include "model/model.h"

#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 30

double dc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void dc_progress_epoch(FILE *out, int verbose, int epoch, int epochs)
{
    if (verbose && epochs > 1) {
        fprintf(out, "Epoch %d/%d\n", epoch, epochs);
        fflush(out);
    }
}

void dc_progress_begin(dc_progress *p, FILE *out, int verbose, int target)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->verbose = verbose;
    p->tty = isatty(fileno(out));
    p->target = target;
    p->start = dc_now();
}

static int append(char *buf, size_t size, int len, const char *fmt, ...) DC_PRINTF(4, 5);

static int append(char *buf, size_t size, int len, const char *fmt, ...)
{
    va_list ap;
    if (len < 0 || (size_t)len >= size)
        return len;
    va_start(ap, fmt);
    int n = vsnprintf(buf + len, size - (size_t)len, fmt, ap);
    va_end(ap);
    return n < 0 ? len : len + n;
}

static int format_step_time(char *buf, size_t size, int len, double per_step, const char *unit)
{
    if (per_step >= 1 || per_step == 0)
        return append(buf, size, len, " %.0fs/%s", per_step, unit);
    if (per_step >= 1e-3)
        return append(buf, size, len, " %.0fms/%s", per_step * 1e3, unit);
    return append(buf, size, len, " %.0fus/%s", per_step * 1e6, unit);
}

static int format_values(char *buf, size_t size, int len, const char *const *names, const double *values, int n)
{
    for (int i = 0; i < n; i++) {
        if (fabs(values[i]) > 1e-3)
            len = append(buf, size, len, " - %s: %.4f", names[i], values[i]);
        else
            len = append(buf, size, len, " - %s: %.4e", names[i], values[i]);
    }
    return len;
}

void dc_progress_update(dc_progress *p, int current, const char *const *names, const double *values, int n, int final)
{
    if (!p->verbose)
        return;
    double now = dc_now(), elapsed = now - p->start;
    if (!final && (!p->tty || p->verbose != 1 || now - p->last_draw < 0.05))
        return;
    p->last_draw = now;
    double per_step = current > 0 ? elapsed / current : 0;
    char buf[1024];
    int len = 0, digits = snprintf(NULL, 0, "%d", p->target);
    if (p->verbose == 2) {
        len = append(buf, sizeof buf, len, "%*d/%d - %.0fs", digits, current, p->target, elapsed);
        len = format_values(buf, sizeof buf, len, names, values, n);
        len = append(buf, sizeof buf, len, " - %.0fs/epoch", elapsed);
        len = format_step_time(buf, sizeof buf, len, per_step, "step");
        fprintf(p->out, "%s\n", buf);
        fflush(p->out);
        return;
    }
    int width = p->target > 0 ? (int)(BAR_WIDTH * (double)current / p->target) : BAR_WIDTH;
    len = append(buf, sizeof buf, len, "%*d/%d [", digits, current, p->target);
    for (int i = 0; i < BAR_WIDTH; i++)
        len = append(buf, sizeof buf, len, "%c", i < width - 1 ? '=' : i == width - 1 ? (current < p->target ? '>' : '=') : '.');
    len = append(buf, sizeof buf, len, "]");
    if (final) {
        len = append(buf, sizeof buf, len, " - %.0fs", elapsed);
        len = format_step_time(buf, sizeof buf, len, per_step, "step");
    } else {
        double eta = per_step * (p->target - current);
        if (eta > 3600)
            len = append(buf, sizeof buf, len, " - ETA: %d:%02d:%02d", (int)eta / 3600, ((int)eta % 3600) / 60, (int)eta % 60);
        else if (eta > 60)
            len = append(buf, sizeof buf, len, " - ETA: %d:%02d", (int)eta / 60, (int)eta % 60);
        else
            len = append(buf, sizeof buf, len, " - ETA: %ds", (int)eta);
    }
    len = format_values(buf, sizeof buf, len, names, values, n);
    if (p->tty) {
        /* Pad over the previous, possibly longer, line. */
        int pad = p->last_len > len ? p->last_len - len : 0;
        fprintf(p->out, "\r%s%*s", buf, pad, "");
        p->last_len = len;
        if (final)
            fputc('\n', p->out);
    } else {
        fprintf(p->out, "%s\n", buf);
    }
    fflush(p->out);
}
