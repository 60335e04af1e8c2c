/*
 * model.h - internal pieces of the Sequential model shared by its files:
 * metrics (metrics.c), the progress bar (progress.c), history (history.c).
 */
#ifndef DC_MODEL_H
#define DC_MODEL_H

#include "layers/layer.h"

/* ---- metrics ---- */

typedef enum {
    DC_METRIC_SPARSE_ACC,
    DC_METRIC_CATEGORICAL_ACC,
    DC_METRIC_BINARY_ACC,
    DC_METRIC_MAE,
    DC_METRIC_MSE,
} dc_metric_kind;

typedef struct dc_metric {
    dc_metric_kind kind;
    char name[32]; /* as the user named it: "accuracy", "mae" ... */
    double sum, count;
} dc_metric;

/* Resolves a Keras metric name for a loss ("accuracy" depends on the loss and
 * the output width, as in Keras). */
dc_status dc_metric_resolve(const char *name, dc_loss_kind loss, int out_cols, dc_metric *out);
void dc_metric_reset(dc_metric *m);
/* Accumulates a batch: `pred` is the output, or the logits when `logits`
 * (only the accuracies accept logits); rows x cols, targets as the loss sees them. */
void dc_metric_update(dc_metric *m, const float *pred, int logits, const float *target, size_t rows, int cols);
double dc_metric_value(const dc_metric *m);

/* ---- progress bar (Keras 2 layout) ---- */

typedef struct dc_progress {
    FILE *out;
    int verbose;   /* 1 bar, 2 one line at the end */
    int tty;       /* redraw in place */
    int target;    /* steps */
    double start, last_draw;
    int last_len;
} dc_progress;

double dc_now(void);
void dc_progress_begin(dc_progress *p, FILE *out, int verbose, int target);
/* Draws step `current` with the named values; final = end of the epoch. */
void dc_progress_update(dc_progress *p, int current, const char *const *names, const double *values, int n, int final);
/* "Epoch 3/5" when epochs > 1. */
void dc_progress_epoch(FILE *out, int verbose, int epoch, int epochs);

/* ---- history ---- */

dc_history *dc_history_new(int n_keys, const char *const *keys);
dc_status dc_history_append(dc_history *h, const double *values);

#endif
