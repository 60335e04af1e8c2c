/*
 * explain_internal.h - the passes of explain.c shared with the attribution
 * methods (explain_methods.c).  A session (dc_xp) holds the target, the
 * output node its scalar reads, the batch's buffers and, for the predicted
 * class, every row's unit; dc_xp_begin asks the graph for the input's
 * gradient and dc_xp_end gives it back (call it after a failed begin too).
 */
#ifndef DC_EXPLAIN_INTERNAL_H
#define DC_EXPLAIN_INTERNAL_H

#include "model/model.h"

typedef struct dc_xp {
    dc_model *m;
    const dc_explain_target *t;
    const char *where;
    dc_node *out;   /* the output, or the logits */
    int rps, cols;  /* out's rows per sample, units of its last axis */
    int batch;      /* rows per pass */
    int *idx;       /* batch row -> the sample it stands for (batch) */
    float *seed;    /* d f / d out for a batch (batch * rps * cols) */
    int *cls;       /* DC_EXPLAIN_PREDICTED: each sample's rows' units (N * rps) */
    int grad_on;
} dc_xp;

dc_status dc_xp_begin(dc_xp *s, dc_model *m, const char *where, const dc_tensor *x, const dc_explain_target *t,
                      int batch);
void dc_xp_end(dc_xp *s);
/* Copies x's rows s->idx[0..b) into the input. */
void dc_xp_gather(dc_xp *s, const dc_tensor *x, int b);
/* One pass over the b rows in the input (their samples in s->idx): forward
 * (sub's value replaced by sub_vals when sub is not NULL), scores[r] = f of
 * row r when scores is not NULL (the loss target: scores[0] the batch's
 * mean loss), then backward when asked: the input's gradient in
 * m->input->grad, capture's (when not NULL) in capture_out. */
dc_status dc_xp_pass(dc_xp *s, int b, dc_node *sub, const float *sub_vals, dc_node *capture, float *capture_out,
                     int backward, float *scores);
/* The output node of the layer called `layer` (its first call), and the
 * layer in *out (may be NULL); NULL with a message naming where. */
dc_node *dc_xp_layer_node(dc_model *m, const char *where, const char *layer, const dc_layer **out);
/* A new (n, shape...) tensor. */
dc_tensor *dc_xp_tensor(const char *where, int n, int ndim, const int *shape);
/* A node's shape without the batch axis; returns its rank. */
int dc_xp_sample_shape(const dc_node *n, int *shape);
/* dc_model_input_gradient, its messages naming where. */
dc_status dc_xp_input_gradient(dc_model *m, const char *where, const dc_tensor *x, const dc_explain_target *t,
                               dc_tensor **grad);
/* The layer's output (*out) and, when backward, the target's gradient with
 * respect to it (*grad, NULL to skip), for every sample of x. */
dc_status dc_xp_layer_run(dc_model *m, const char *where, const dc_tensor *x, const char *layer,
                          const dc_explain_target *t, int backward, dc_tensor **out, dc_tensor **grad);

#endif
