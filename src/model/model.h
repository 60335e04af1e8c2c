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
    /* from here on the metrics read the output (probabilities), never logits */
    DC_METRIC_PRECISION,
    DC_METRIC_RECALL,
    DC_METRIC_AUC,
    DC_METRIC_TOP_K,        /* one-hot targets */
    DC_METRIC_SPARSE_TOP_K, /* integer labels */
    DC_METRIC_RMSE,
    DC_METRIC_LOSS_ROW,     /* a loss of loss_rows.h as a metric: hinge, kl_divergence ... */
    DC_METRIC_COSINE,       /* +cos, Keras' CosineSimilarity metric */
} dc_metric_kind;

#define DC_AUC_THRESHOLDS 200
enum { DC_CM_TP, DC_CM_FP, DC_CM_TN, DC_CM_FN };

/* A metric's state is nothing but sums: sum and count (every mean metric),
 * and the confusion counts cm[tp|fp|tn|fn][threshold] (precision and recall
 * use threshold 0, AUC all 200).  Two states of the same metric, each
 * accumulated over part of the data, combine into the state of all of it by
 * adding every double elementwise (dc_metric_merge): the data-parallel
 * training sums them across processes.  Unused entries stay 0. */
typedef struct dc_metric {
    dc_metric_kind kind;
    char name[40];   /* as the user named it: "accuracy", "mae" ... */
    int k;           /* top-k: k (5) */
    float threshold; /* binary accuracy, precision, recall: positive when p > threshold (0.5) */
    dc_loss_kind row_loss; /* DC_METRIC_LOSS_ROW, DC_METRIC_COSINE: the loss row */
    int weighted;    /* compile's weighted_metrics: updated with the sample weights */
    double sum, count;
    double cm[4][DC_AUC_THRESHOLDS];
} dc_metric;

/* Resolves a Keras metric name for a loss ("accuracy" depends on the loss and
 * the output width, as in Keras) with its arguments (args NULL or 0 fields:
 * Keras' defaults); refuses a metric that cannot apply to the output
 * (out_cols values per row) or the loss, naming both, and an argument out of
 * range or one the metric does not take, naming the value. */
dc_status dc_metric_resolve(const char *name, const dc_metric_args *args, dc_loss_kind loss, int out_cols,
                            dc_metric *out);
/* Whether the metric's arguments differ from Keras' defaults. */
int dc_metric_has_args(const dc_metric *m);
void dc_metric_reset(dc_metric *m);
/* Adds from's state into into's (same metric): see dc_metric above. */
void dc_metric_merge(dc_metric *into, const dc_metric *from);
/* The state as the doubles that add across processes (the data-parallel
 * combine): their number (at most DC_METRIC_STATE_MAX), now - before into
 * out, and adding such a delta. */
#define DC_METRIC_STATE_MAX (2 + 4 * DC_AUC_THRESHOLDS)
int dc_metric_state_len(const dc_metric *m);
void dc_metric_state_diff(const dc_metric *now, const dc_metric *before, double *out);
void dc_metric_state_add(dc_metric *m, const double *delta);
/* Accumulates a batch: `pred` is the output, or the logits when `logits`
 * (only the accuracies accept logits); rows x cols, targets as the loss sees
 * them; `mask` (one id per row, or NULL) leaves out the rows whose id is 0;
 * `weights` (one per row, or NULL for all 1) weighs every row's values and
 * its count (Keras' sample_weight; a row of weight 0 is left out). */
void dc_metric_update(dc_metric *m, const float *pred, int logits, const float *target, const float *mask,
                      const float *weights, size_t rows, int cols);
/* The first index of the largest of v[0..n). */
int dc_argmax(const float *v, int n);
/* Row r's weight: 0 when the mask leaves it out (id 0), else weights[r]
 * (1 when weights is NULL). */
double dc_metric_row_weight(const float *mask, const float *weights, size_t r);
/* The metrics from DC_METRIC_PRECISION on (metrics_confusion.c), same contract. */
void dc_metric_update_more(dc_metric *m, const float *pred, const float *target, const float *mask,
                           const float *weights, size_t rows, int cols);
double dc_metric_value_more(const dc_metric *m);
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
/* Appends an epoch from logs: keys new to h get a column (NaN for the
 * earlier epochs), h's keys absent from logs get NaN. */
dc_status dc_history_record(dc_history *h, const dc_logs *logs);

/* ---- callbacks (callbacks.c) ---- */

typedef enum {
    DC_CB_TRAIN_BEGIN,
    DC_CB_TRAIN_END,
    DC_CB_EPOCH_BEGIN,
    DC_CB_EPOCH_END,
    DC_CB_BATCH_BEGIN,
    DC_CB_BATCH_END,
} dc_cb_event;

/* Calls the hook for `ev` of every callback in order; the first error wins. */
dc_status dc_callbacks_run(dc_callback *const *cbs, int n, dc_model *m, dc_cb_event ev, int index, dc_logs *logs);
/* logs holds exactly keys[0..n) and values[0..n) (copied); n <= DC_LOGS_MAX,
 * keys shorter than DC_LOGS_KEY_LEN. */
void dc_logs_reset(dc_logs *logs, int n, const char *const *keys, const double *values);
/* Python's pattern.format(epoch=epoch, **logs) for {name} and {name:spec}
 * fields with specs like 02d, .4f (ModelCheckpoint's filepath). */
dc_status dc_format_filepath(const char *pattern, int epoch, const dc_logs *logs, char *out, size_t size);

/* ---- the model (model.c; saved and loaded by io/model_io.c) ---- */

/* Every count of metrics comes from DC_COMPILE_METRICS (deepc.h). */
#define DC_MODEL_METRICS (2 * DC_COMPILE_METRICS) /* metrics and weighted metrics: the unweighted first */
#define DC_MODEL_REPORTS (1 + DC_MODEL_METRICS)   /* what a model reports: the loss, then the metrics */
#define DC_FIT_KEYS (2 * DC_MODEL_REPORTS)         /* fit's epoch logs: the reports, then their val_ forms */
#define DC_METRIC_NAME_LEN 44                      /* a reported name, "val_" + it fits a logs key */

/* One call of a layer in the model's graph (Keras' node): which of the
 * layer's calls it is (0: the first, which made its weights; a shared
 * layer has more) and the references it takes; the build sets the rest.
 * A Sequential model calls each layer once, in order. */
typedef struct dc_class_count dc_class_count;

typedef struct dc_call {
    dc_layer *layer;
    int node;
    int n_in;
    int in_refs[DC_MERGE_MAX];
    dc_layer_call made;       /* what its build made (layer.h): the output, its pre-activation, the mask that
                               * follows it, the weights (the first call's are the layer's, for summary and save) */
    int nodes_from, nodes_to; /* the graph nodes its build made: g->nodes[from..to) */
} dc_call;

struct dc_model {
    int functional;      /* made by dc_functional_new: layers form a graph (functional.c) */
    char broken[1024];   /* why an earlier add (Sequential) or apply / merge (functional) failed:
                          * build, compile, fit ... then refuse, naming it */
    dc_status broken_status; /* Sequential: the first failed add's status, which they return */
    int in_ndim;                /* the shape x takes: the input's, or with several */
    int in_shape[DC_MAX_DIMS];  /* inputs (functional) their packed (columns,) */
    int n_inputs;               /* 1; a functional model's dc_model_input adds more */
    int input_ndim[DC_MODEL_MAX_INPUTS];
    int input_shape[DC_MODEL_MAX_INPUTS][DC_MAX_DIMS];
    dc_node *inputs[DC_MODEL_MAX_INPUTS]; /* after build: input k (a view of `input` when several) */
    dc_layer **layers;           /* each layer once, in order of its first call */
    int n_layers, cap_layers;
    dc_layer **kept;             /* layers given to a call that failed: owned, freed with the model */
    int n_kept, cap_kept;
    struct dc_class_count {      /* layers of each class so far, for Keras' names dense, dense_1 ... */
        const dc_layer_class *cls;
        int n;
    } *class_count;
    int n_classes, cap_classes;
    dc_call *calls;              /* the graph: reference n_inputs + j is calls[j]'s output */
    int n_calls, cap_calls;
    dc_rng rng;
    uint64_t seed;
    int threads;
    int no_fuse; /* the graph's compile leaves BatchNormalization -> ReLU unfused (tests that compare) */
    const dc_graph *share_params; /* dc_model_slice (explain.c): the weights are this graph's */

    dc_graph *g;
    dc_node *input, *output, *target, *loss, *total;
    dc_node *output_mask; /* token ids masking the output's steps (mask_zero), or NULL */
    dc_node *weights;     /* sample weights, one per row of the loss (sample_weight.c) */
    dc_node *metric_src; /* output, or logits when the loss is fused */
    int metric_on_logits;
    int built, compiled;

    dc_loss_kind loss_kind; /* as the user asked */
    dc_loss_args loss_args; /* label_smoothing, huber_delta as compiled (0 = default) */
    dc_optimizer *opt;
    dc_metric metrics[DC_MODEL_METRICS]; /* metrics, then weighted metrics (.weighted) */
    int n_metrics;                        /* both */
    char names[DC_MODEL_REPORTS][DC_METRIC_NAME_LEN]; /* "loss", then as reported */
    const char *name_ptrs[DC_MODEL_REPORTS]; /* names[i], as the progress bar takes them */

    int epoch;              /* epochs completed (fit, or restored by load) */
    int stop_training;      /* set by a callback: fit ends after this batch / epoch */
    int has_schedule;
    dc_lr_schedule schedule; /* learning rate per optimiser step, when has_schedule */

    int has_collective;      /* a collective is installed (replica.c); without one, coll is
                              * the single process: rank 0 of 1, whose combine does nothing */
    dc_collective coll;
    /* The state before a step (step.c): the non-trainable part of the flat
     * parameter buffer, g->params[n_trainable, n_params) (sized by compile),
     * which a non-finite loss puts back and the combine takes its changes
     * from; and the metrics, the combine's baseline for theirs. */
    float *step_buf;
    dc_metric step_metrics[DC_MODEL_METRICS];

    int quantized; /* dc_model_quantize succeeded (quant/quantize.c): inference only */
};

/* A new model with no layers; errors name `where` (model.c). */
dc_model *dc_model_new_as(const char *where, int ndim, const int *input_shape);
/* Calls `layer` on the references in_refs[0..n_in): a new layer is
 * appended (owned, freed on failure) and named the Keras way; a layer of
 * the model already is called again, sharing its weights (model.c). */
dc_status dc_model_append(dc_model *m, const char *where, dc_layer *layer, int n_in, const int *in_refs);
/* What the first call of m's layer l made (functional.c): its output and
 * weights, which summary, get_weight and save take as the layer's (all
 * zero before a build). */
const dc_layer_call *dc_model_first_call(const dc_model *m, const dc_layer *l);
/* Whether `layer` is one of m's layers. */
int dc_model_has_layer(const dc_model *m, const dc_layer *layer);
/* The ownership rule for failed calls: a layer given to add, apply or merge
 * is the model's from then on, also when the call fails.  A failed call
 * keeps it here (not freed) so that the same pointer passed again - a
 * shared layer in a chain of calls checked once at the end - finds a live
 * layer and a broken model, and it is freed with the model.  A layer of
 * another model is left alone. */
dc_status dc_model_keep_layer(dc_model *m, dc_layer *layer);
/* Before a build: a functional model whose apply / merge failed is refused,
 * as is one where a layer's output goes nowhere (functional.c). */
dc_status dc_functional_check(const dc_model *m);
/* "input_layer", "input_layer_1" ... or the layer's name: reference r (functional.c). */
const char *dc_model_ref_name(const dc_model *m, int r, char *buf, size_t size);
/* A built layer's output shape as summary prints it, "(None, 3)", or
 * "multiple" when a shared layer's calls differ (tf-keras) (model.c). */
const char *dc_model_layer_shape(const dc_model *m, const dc_layer *l, char *buf, size_t size);
/* Which call of its layer reference r is (Keras' node index; 0 for an input). */
int dc_model_ref_node(const dc_model *m, int r);
/* Whether the graph is not a chain: several inputs, a merge or a shared layer (functional.c). */
int dc_functional_branches(const dc_model *m);

/* Resolves compile's metrics, then its weighted_metrics, for the fused loss
 * `loss` into m->metrics / m->names (compile_metrics.c): Keras' names;
 * errors start "compile: " (weighted: "compile: weighted_metrics[i]: "). */
dc_status dc_model_compile_metrics(dc_model *m, const dc_compile_config *cfg, dc_loss_kind loss);
/* Copies rows idx[start..start+b) (or start..start+b when idx is NULL) of t
 * into node (model.c). */
void dc_model_gather(dc_node *node, const dc_tensor *t, const int *idx, int start, int b);
/* Copies rows idx[start..start+b) (idx NULL: start..start+b) of x, y and
 * the weights w (NULL: every weight 1) into the model's inputs (model.c). */
void dc_model_gather_batch(dc_model *m, const dc_tensor *x, const dc_tensor *y, const dc_tensor *w, const int *idx,
                           int start, int b);
/* fit's / evaluate's sample_weight or class_weight (sample_weight.c),
 * checked against y and the model: *out a new (N, rows per sample) tensor
 * of the loss's row weights for dc_model_gather_batch, or NULL when
 * neither is given.  The message names `where`. */
dc_status dc_sample_weights(const dc_model *m, const char *where, const dc_tensor *y, const dc_tensor *sample_weight,
                            const float *class_weight, int n_class_weight, dc_tensor **out);
/* Accumulates the batch just run into every metric (model.c). */
void dc_model_update_metrics(dc_model *m, const dc_run *run);
/* The mask node of a per-step output, or NULL (model.c). */
dc_node *dc_model_step_mask(const dc_model *m);

/* ---- data parallelism over the model's dc_collective (replica.c) ----
 * A global batch of b rows is split into one contiguous slice per rank;
 * slices differ by at most one row and rank 0's is never empty when b > 0. */

/* Whether a collective is installed. */
int dc_replica_on(const dc_model *m);
/* The single process's collective: rank 0 of 1 (set by dc_model_new_as). */
void dc_replica_single(dc_model *m);
/* Whether this process writes files and prints: rank 0, or no collective. */
int dc_replica_chief(const dc_model *m);
/* This rank's slice [*off, *off + *len) of a global batch of b rows. */
void dc_replica_slice(const dc_model *m, int b, int *off, int *len);
/* Checks that every rank passed the same values[0..n) (fails on every rank
 * alike, naming `where` and `what`), with one sum of doubles; a single
 * process agrees with itself. */
dc_status dc_replica_agree(dc_model *m, const char *where, const char *what, const double *values, int n);
/* Start of fit: broadcasts the weights, the optimiser's state (slots, step
 * count, learning rate) and the RNG state from rank 0 (a single process:
 * nothing). */
dc_status dc_replica_fit_begin(dc_model *m);
/* A step's combine, after this rank ran its slice of a global batch of b
 * rows forward (backward too when `training`) into the metrics, with loss
 * `local` (step.c): one sum over the ranks, after which the trainable part
 * of the flat gradient buffer holds the global batch's gradient, the
 * non-trainable parameters the slice-weighted mean of every rank's change
 * from m->step_buf (moving statistics), the metrics m->step_metrics plus
 * every rank's change, *loss the global batch's loss and (training) the RNG
 * rank 0's state.  A single process: *loss = local, nothing else. */
dc_status dc_replica_combine(dc_model *m, int b, int training, float local, float *loss);
/* Combines predict's output: each rank filled its slices' rows of a zeroed
 * out, the sum gives every rank all rows (a single process: nothing). */
dc_status dc_replica_gather_output(dc_model *m, dc_tensor *out);

/* ---- one step, the same for a single process and a collective (step.c) ---- */

/* One optimiser step on rows idx[start..start+b) (idx NULL: start..start+b)
 * of x, y and the sample weights w (NULL: all 1): saves the state before it
 * (step_buf, step_metrics), runs this process's slice forward, backward and
 * into the metrics, combines (dc_replica_combine), then, if the combined
 * loss is finite, the schedule's learning rate and the update; else puts
 * the non-trainable parameters back and applies nothing.  *loss is the
 * batch's loss, maybe non-finite. */
dc_status dc_model_train_step(dc_model *m, const dc_tensor *x, const dc_tensor *y, const dc_tensor *w, const int *idx,
                              int start, int b, float *loss);
/* Rows start..start+b forward in inference mode: *loss the batch's loss,
 * the metrics accumulated, combined likewise. */
dc_status dc_model_eval_step(dc_model *m, const dc_tensor *x, const dc_tensor *y, const dc_tensor *w, int start, int b,
                             float *loss);

/* Checks y (N, ...) against the compiled model's output and loss
 * (targets.c): the shape per sample, and every label of a sparse loss; the
 * message names both shapes, or the (sample, step) of a bad label. */
dc_status dc_check_targets(const dc_model *m, const char *where, const dc_tensor *y);

/* Builds input -> layers -> output (no loss); used by summary and compile. */
dc_status dc_model_build(dc_model *m);
/* Frees the graph of a model not compiled and clears what build set in the
 * layers, so the next build starts afresh (weights.c). */
void dc_model_unbuild(dc_model *m);

/* The batch compile plans buffers for (fit, evaluate and predict reserve
 * more when they are given a larger one). */
#define DC_COMPILE_BATCH 32
/* The largest tensor a loaded model may have, in floats at compile's batch:
 * what the kernels' int indices reach. */
#define DC_LOAD_MAX_TENSOR_FLOATS ((size_t)INT32_MAX)

/* Loads a model file held in memory (io/model_io.c); `where` names it in
 * messages; models planning more than max_bytes of activations at compile's
 * batch (see dc_model_load_ex), or a tensor above DC_LOAD_MAX_TENSOR_FLOATS,
 * are refused before anything is allocated (the fuzzers set a small
 * limit). */
dc_status dc_model_load_buffer(const uint8_t *buf, size_t len, const char *where, size_t max_bytes, dc_model **out);

/* ---- int8 quantization (quant/quantize.c) ---- */
/* DC_OK for a float model; for a quantized one, DC_ERR_STATE with a message
 * naming `what` and the reason: its int8 layers live in their kernels'
 * storage (packed, not floats) and its activation scales were calibrated
 * on the weights as they were, so training, saving, loading weights and
 * setting weights are refused. */
dc_status dc_model_refuse_quantized(const dc_model *m, const char *what);
/* DC_OK unless p (a weight of m) holds a packed int8 layer, which as floats
 * is garbage: then DC_ERR_STATE naming `what` and the weight. */
dc_status dc_model_refuse_packed(const dc_model *m, const dc_node *p, const char *what);

#endif
