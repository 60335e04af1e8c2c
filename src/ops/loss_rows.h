/*
 * loss_rows.h - the per-row Keras losses that are not cross-entropies
 * (Huber, LogCosh, Hinge, SquaredHinge, KLDivergence, Poisson,
 * CosineSimilarity): the value of one row (one sample, or one step of a
 * per-step output) and its gradient.  The loss op (ops_loss.c) averages rows
 * over the batch; the metrics (metrics_confusion.c) reuse the same rows.
 */
#ifndef DC_LOSS_ROWS_H
#define DC_LOSS_ROWS_H

#include "core/core.h"

/* Whether kind is one of the losses computed row by row here. */
int dc_loss_is_row_kind(dc_loss_kind k);
/* Keras' convert_binary_labels_to_hinge: 1 when every target of the batch
 * (n values) is 0 or 1, so that they are used as 2t - 1; always 0 for the
 * losses other than the hinges. */
int dc_hinge_converts(dc_loss_kind k, const float *t, size_t n);
/* The row's loss (the mean over the row, or the sum for KLDivergence and
 * CosineSimilarity, as Keras reduces the last axis); delta: Huber's (1.0
 * by default), unused by the others. */
double dc_loss_row(dc_loss_kind k, const float *p, const float *t, int cols, int convert, double delta);
/* Adds scale * d(row loss)/dp to g[0..cols). */
void dc_loss_row_grad(dc_loss_kind k, const float *p, const float *t, int cols, int convert, double delta, float scale,
                      float *g);

#endif
