/*
 * graph.h - internal definition of the op graph (nodes, ops, the registry).
 *
 * A node is the output of one op applied to up to DC_MAX_INPUTS input nodes.
 * Nodes are created in topological order (an op's inputs exist before it), so
 * the creation order is a valid forward order and its reverse a valid backward
 * order.  Each op declares, side by side:
 *   infer    - checks the inputs and sets the node's shape and scratch size;
 *   forward  - computes n->val from the inputs' values;
 *   backward - ADDS d(loss)/d(input) into each input's grad that needs one.
 * All ops are listed in dc_op_registry (ops/registry.c); the gradient-check
 * test walks that table, so an op cannot be added without a check.
 *
 * An op's attributes are its family's member of the node's dc_attr union
 * (op_attr.h).  Inputs sit in fixed slots; an op may declare some optional
 * (dc_op.optional), and a node lacking one holds NULL in that slot.
 *
 * Buffers: dc_graph_compile puts every parameter in one flat buffer (and its
 * gradient in another) and plans every activation, gradient and scratch
 * buffer for the largest batch in one arena.  Nothing is allocated per step.
 */
#ifndef DC_GRAPH_H
#define DC_GRAPH_H

#include "core/checked.h"
#include "core/core.h"
#include "graph/op_attr.h"

#define DC_MAX_INPUTS 6

/* Per-run state the ops may read. */
typedef struct dc_run {
    int training; /* dropout and batch-norm behave differently */
    dc_rng *rng;  /* the owner's RNG, for dropout masks */
    /* Data parallelism: this replica runs rows [shard_offset, shard_offset +
     * batch) of a global batch of shard_total rows (0: not sharded).  Ops
     * that draw per-row random numbers skip the other replicas' draws, so
     * every replica's RNG advances as for the whole global batch and each
     * row gets the mask a single process would give it. */
    int shard_offset, shard_total;
} dc_run;

/* Advances run->rng past the draws of the global batch's rows before this
 * replica's slice (before != 0) or after its `rows` rows (before == 0),
 * `per_row` draws each.  Does nothing when not sharded or without an RNG. */
void dc_run_rng_skip(const dc_run *run, size_t per_row, int rows, int before);

/* Bit i of dc_op.optional: input i may be NULL. */
#define DC_OPTIONAL(i) (1u << (i))

/* dc_op.flags: what an op is, for the graph's planning. */
enum {
    DC_OP_ALIASES_INPUT = 1u << 0, /* the node shares its input 0's value and gradient buffers (reshape) */
};

typedef struct dc_op {
    const char *name;
    int n_inputs;      /* input slots (leaves: 0) */
    unsigned optional; /* DC_OPTIONAL(i) for each slot i that may hold NULL */
    unsigned flags;    /* DC_OP_* */
    /* Validates inputs and sets ndim/shape/batched/work_per_sample/work_fixed. */
    dc_status (*infer)(dc_node *n);
    /* Computes n->val. May fail only on bad data (e.g. a label out of range). */
    dc_status (*forward)(dc_node *n, const dc_run *run);
    /* Adds gradients into inputs that have requires_grad.  NULL: no inputs. */
    void (*backward)(dc_node *n, const dc_run *run);
    /* Whether n's backward, told so by its input `input`'s grad_set, writes
     * every value of that input's gradient instead of adding to it (so
     * backward need not zero it first).  NULL: never. */
    int (*writes_input_grad)(const dc_node *n, int input);
} dc_op;

struct dc_node {
    const dc_op *op;
    dc_graph *graph;
    int id;
    int n_in;                 /* op->n_inputs */
    dc_node *in[DC_MAX_INPUTS]; /* NULL in an optional slot left empty */

    int batched;              /* shape[0] is the batch axis, set per run */
    int batch_mult;           /* batched: shape[0] = batch * batch_mult (0 means 1; TimeDistributed's time_fold) */
    int ndim;
    int shape[DC_MAX_DIMS];   /* current shape */
    int requires_grad;        /* a parameter, or depends on one */
    int is_param;
    int trainable;            /* parameters: updated by the optimiser */

    dc_attr attr;             /* the op family's attributes (op_attr.h) */

    size_t work_per_sample;   /* scratch floats per batch sample */
    size_t work_fixed;        /* scratch floats independent of the batch */
    float *work;

    float *val;               /* planned by compile */
    float *grad;              /* NULL when !requires_grad */

    dc_init init;             /* parameters only */
    const float *init_values; /* parameters only: when set, compile copies these instead (borrowed) */
    size_t param_offset;      /* parameters only: offset in the flat buffer */

    int n_consumers;          /* nodes that take this one as an input */
    int live_consumers;       /* of those, the ones the current backward runs (mark_grad_set) */
    int grad_set;             /* this backward: the one consumer writes every value of grad (no zeroing) */
    int wants_grad;           /* an input node asked for its gradient (dc_graph_input_grad) */
    int grad_from_input;      /* requires_grad set by dc_graph_input_grad, not by a parameter */
    dc_node *epilogue;        /* compile (dc_dense_fuse_gelu): the GELU this dense's training forward applies */
    unsigned mark;            /* scratch for graph walks */
    double time_fwd, time_bwd; /* seconds spent, when profiling */
    char name[64];
};

/* How a graph compiles and runs; zero is the default, so a graph made by
 * dc_graph_new has the defaults.  Set before the nodes they concern are
 * made (conv_gemm) or before compile (the others); tests that compare the
 * paths set them through this header. */
typedef struct dc_graph_options {
    int no_fuse;     /* compile leaves BatchNormalization -> ReLU unfused */
    int no_grad_set; /* backward zeroes every gradient, letting no consumer write its input's */
    int conv_gemm;   /* a Conv2D the blocked path would take runs im2col + GEMM instead */
    int fail_init_scratch; /* tests: the initialisers' scratch allocation fails, as without memory */
    /* compile: the parameters are this compiled graph's, matched by name
     * (dc_model_slice, explain.c): its flat buffer, borrowed, is this
     * graph's too; nothing is initialised.  It must outlive this graph. */
    const struct dc_graph *share_params;
} dc_graph_options;

struct dc_graph {
    dc_node **nodes;
    int n_nodes, cap_nodes;
    int compiled;
    int batch, max_batch;

    float *params, *grads;    /* flat, 64-byte aligned; trainable ones first */
    int params_borrowed;      /* params is opts.share_params' buffer, not freed here */
    size_t n_params;
    size_t n_trainable;       /* floats of params[] the optimiser updates */

    float *arena;             /* activations, gradients, scratch */
    size_t arena_size;

    unsigned mark_epoch;
    dc_graph_options opts;
    int profile;              /* DEEPC_PROFILE set: time every op */
    int capturing;            /* a backward that copies a node's gradient out (no epilogue may skip one) */
};

extern const dc_op *const dc_op_registry[];
extern const int dc_op_registry_count;

/* Every op, each defined in its src/ops file. */
/* Columns [off, off + len) of a (batch, cols) node (ops_shape.c): a packed input's parts. */
extern const dc_op dc_op_columns;
dc_node *dc_columns(dc_graph *g, dc_node *x, int off, int len);
extern const dc_op dc_op_input, dc_op_param, dc_op_matmul, dc_op_dense, dc_op_add, dc_op_sub,
    dc_op_mul, dc_op_scale, dc_op_act, dc_op_reshape, dc_op_sum, dc_op_mean, dc_op_loss,
    dc_op_regularizer, dc_op_conv2d, dc_op_pool2d, dc_op_global_pool, dc_op_batchnorm, dc_op_dropout;
/* Sequence ops (ops_embedding.c, ops_rnn.c). */
extern const dc_op dc_op_embedding, dc_op_concat, dc_op_rnn, dc_op_rnn_state;
/* Image-to-image ops (ops_image.c, ops_conv_transpose.c). */
extern const dc_op dc_op_upsample2d, dc_op_pad2d, dc_op_conv2d_transpose;
/* Depthwise and grouped convolutions (ops_depthwise.c, ops_conv_grouped.c). */
extern const dc_op dc_op_depthwise_conv2d, dc_op_conv2d_grouped;
/* dc_batchnorm with the frozen attribute: frozen != 0 normalises with the
 * moving statistics, left unchanged, in training too (ops_norm.c). */
dc_node *dc_batchnorm_ex(dc_graph *g, dc_node *x, dc_node *gamma, dc_node *beta, dc_node *moving_mean,
                         dc_node *moving_var, float momentum, float epsilon, int frozen);
/* A compile pass (dc_graph_compile runs it unless opts.no_fuse): when act
 * is a plain ReLU whose input is a batchnorm read by nothing else, the
 * batchnorm applies the ReLU itself (its forward, and its backward on its
 * own gradient) and act becomes a reshape to its own shape, sharing the
 * batchnorm's buffers: the same values and gradients, two passes over the
 * data fewer.  Returns 1 if it fused them (ops_norm.c). */
int dc_batchnorm_fuse_relu(dc_node *act);
/* A compile pass (dc_graph_compile runs it unless opts.no_fuse): when act
 * is a GELU whose input is a dense read by nothing else, the dense's
 * training forward applies the GELU as its GEMM stores each tile (the
 * values into act's buffer, the derivative into act's scratch: the
 * pre-activations are never written), and a dense reading act multiplies
 * its input gradient by that derivative as it stores it, straight into the
 * first dense's gradient.  act stays in the graph (exports, inference and
 * any other path run it as before) and skips what was done for it.
 * Returns 1 if it linked them (ops_linalg.c). */
int dc_dense_fuse_gelu(dc_node *act);
/* GELU activations' state, for the dense epilogues (ops_elementwise.c):
 * the scratch that holds gelu'(x) after a training forward, whether it
 * does, and the marks that the forward, or the backward into act's input,
 * was done by a dense's epilogue (the act's own pass then skips, once). */
float *dc_gelu_deriv(const dc_node *act);
int dc_gelu_deriv_valid(const dc_node *act);
void dc_gelu_set_done(dc_node *act, int backward);
/* Normalisation, activation and noise layers' ops (ops_normact.c). */
extern const dc_op dc_op_layernorm, dc_op_prelu, dc_op_relu_ex, dc_op_normalize, dc_op_gaussian_noise,
    dc_op_spatial_dropout;
dc_node *dc_layernorm(dc_graph *g, dc_node *x, dc_node *gamma, dc_node *beta, float epsilon);
dc_node *dc_prelu(dc_graph *g, dc_node *x, dc_node *alpha);
dc_node *dc_relu_ex(dc_graph *g, dc_node *x, float max_value, float negative_slope, float threshold);
dc_node *dc_normalize(dc_graph *g, dc_node *x, dc_node *mean, dc_node *variance, int invert);
dc_node *dc_gaussian_noise(dc_graph *g, dc_node *x, float stddev, int multiplicative);
dc_node *dc_spatial_dropout(dc_graph *g, dc_node *x, float rate);
/* Dropout's helpers (ops_norm.c): a fixed value in [0, 1) for position i
 * (the mask without an RNG), and the identity when not training or the
 * rate is 0 (copies the input, returns 1). */
float dc_fixed_uniform(size_t i);
int dc_dropout_passthrough(dc_node *n, const dc_run *run);
/* out[0..n) = n uniform draws from the run's RNG, or dc_fixed_uniform(i)
 * without one (ops_norm.c). */
void dc_run_fill_uniform(const dc_run *run, float *out, size_t n);
/* Mean and population variance of column j of x (rows x cols), two passes in double. */
void dc_column_moments(const float *x, size_t rows, int cols, int j, double *mean, double *var);
/* y = scale * x + offset (the scale op with an offset: Rescaling). */
dc_node *dc_scale_offset(dc_graph *g, dc_node *x, float scale, float offset);
/* RepeatVector, Permute, Masking, TimeDistributed (ops_seq2seq.c). */
extern const dc_op dc_op_repeat, dc_op_permute, dc_op_step_mask, dc_op_mask_steps, dc_op_time_fold, dc_op_time_unfold;
/* Image augmentation (ops_augment.c). */
extern const dc_op dc_op_random_flip, dc_op_random_affine, dc_op_random_color;
/* Merge layers' ops (ops_merge.c; concat, declared above, is there too). */
extern const dc_op dc_op_maximum, dc_op_minimum;
/* Attention (ops_matmul.c, ops_softmax.c, ops_attn_misc.c). */
extern const dc_op dc_op_batched_matmul, dc_op_softmax, dc_op_attention_mask, dc_op_mul_scalar, dc_op_additive_score,
    dc_op_position_embedding, dc_op_l2_normalize;
/* x * s[0], s of shape (1,): a trainable scalar factor (ops_attn_misc.c). */
dc_node *dc_mul_scalar(dc_graph *g, dc_node *x, dc_node *s);
/* q (B, Tq, D), k (B, Tk, D) -> c * sum_d w_d tanh(s (q_id + k_jd)) (B, Tq, Tk); w (D), s and c (1,) may be
 * NULL (1): AdditiveAttention's and Attention("concat")'s scores (ops_attn_misc.c). */
dc_node *dc_additive_score(dc_graph *g, dc_node *q, dc_node *k, dc_node *w, dc_node *s, dc_node *c);
/* The shape inference of add, sub, mul, maximum, minimum (ops_elementwise.c):
 * equal shapes, or for add a b without batch axis that ends a's shape (a bias). */
dc_status dc_binary_infer(dc_node *n);
/* Fused scaled dot-product attention (ops_attention.c; constructor in deepc.h). */
extern const dc_op dc_op_attention;
/* Whether a recurrent op supports the activation (derivative from the output). */
int dc_rnn_act_supported(dc_act a);

/* Creates a node applying `op` to `inputs` (n_in = op->n_inputs slots,
 * NULL only in the optional ones) and runs its shape inference.  attr (NULL:
 * all zero) is copied into the node before inference.  On failure returns
 * NULL with the message prefixed by the op name. */
dc_node *dc_node_make(dc_graph *g, const dc_op *op, int n_in, dc_node *const *inputs, const dc_attr *attr);

/* The size rule of core/checked.h for a node whose shape and scratch are
 * set: no negative axis, at most DC_NUMEL_LIMIT values per sample (all of
 * them without a batch axis) and no scratch size that saturated.
 * dc_node_make runs it after every infer; an infer may run it early, before
 * it sizes scratch from the shape it just set. */
dc_status dc_node_check_size(const dc_node *n);

/* Number of elements for the current batch, and per sample. */
size_t dc_node_numel(const dc_node *n);
size_t dc_node_sample_size(const dc_node *n);
/* Rows x cols view: cols = last axis, rows = everything before it. */
size_t dc_node_rows(const dc_node *n);
int dc_node_cols(const dc_node *n);

/* Forward/backward with an explicit run state (training flag, RNG). */
dc_status dc_graph_forward_run(dc_graph *g, dc_node *target, const dc_run *run);
dc_status dc_graph_backward_run(dc_graph *g, dc_node *loss, const dc_run *run);

/* Backward from `out` (explain.c's plumbing, dc_graph_backward_seed's
 * core): seed NULL seeds d(out)/d(out) = 1 on a scalar, else d/d(out) =
 * seed (dc_node_numel(out) floats).  capture, when not NULL, is a node this
 * backward reaches: its gradient, complete once every consumer ran and
 * before its own backward may reuse the buffer (a fused ReLU masks it in
 * place), is copied into capture_out (dc_node_numel(capture) floats). */
dc_status dc_graph_backward_from(dc_graph *g, dc_node *out, const float *seed, const dc_run *run, dc_node *capture,
                                 float *capture_out);

/* Re-plans the activation arena for batches up to max_batch (allocates). */
dc_status dc_graph_reserve(dc_graph *g, int max_batch);
/* Marks the ancestors of `target` with a new mark value and returns it. */
unsigned dc_graph_mark_ancestors(dc_graph *g, dc_node *target);

/* Inside an OpenMP parallel region: this thread's slice [*lo, *hi) of n
 * items, in multiples of `align` items. */
void dc_thread_range(size_t n, size_t align, size_t *lo, size_t *hi);
/* Whether work of `flops` is worth a parallel region (and threads > 1). */
int dc_worth_parallel(double flops);

/* Row-major sgemm, threaded by slicing C across the OpenMP threads. */
void dc_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
              int ldb, float beta, float *c, int ldc);
/* deepc's AVX-512 sgemm for training's tall products (gemm_avx512.c): the
 * same arguments as dc_sgemm and a bias row (n floats) added to every row
 * of C, or NULL.  Returns 1 when it computed C, 0 when it declines (a small
 * or thin product, or a build without AVX-512): the caller uses OpenBLAS. */
int dc_gemm_avx512(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                   const float *b, int ldb, float beta, float *c, int ldc, const float *bias);
/* The same, and when it computes C (returns 1) it also adds the column sums
 * of op(B) (n floats) into colsum_b unless NULL: dense's bias gradient as
 * the weight gradient X^T dY packs dY.  scratch (m n + n floats, or NULL)
 * lets a weight gradient with C of at most DC_GEMM_SPLIT_MAX floats and a
 * long reduction run as two halves of the reduction (a dense reserves it). */
#define DC_GEMM_SPLIT_MAX (512 * 512)
int dc_gemm_avx512_ex(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                      const float *b, int ldb, float beta, float *c, int ldc, const float *bias, float *colsum_b,
                      float *scratch);
/* Dense's products with an epilogue on each finished tile of C (m x n, in
 * L1 then): C = op(A) op(B) + bias (alpha 1, beta 0; A not transposed),
 * then DC_EPI_GELU: C = gelu(C) and aux = gelu'(C) before it (a dense
 * layer's GELU in its forward), or DC_EPI_MUL: C = C * aux (the gradient
 * through that GELU as the next layer's input gradient is stored).  aux
 * has C's shape and ldc.  Returns 1 when it computed C, 0 when it declines
 * (as dc_gemm_avx512): the caller runs the plain product and the pass. */
enum { DC_EPI_NONE, DC_EPI_GELU, DC_EPI_MUL };
int dc_gemm_avx512_epi(int trans_b, int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
                       int ldc, const float *bias, int epi, float *aux);
/* The same kernels for the small blocks of the fused attention: C (m x n)
 * = alpha op(A) B + beta C, B not transposed (rows ldb apart), on the
 * calling thread, nothing allocated.  Returns 0 without AVX-512. */
int dc_gemm_block_avx512(int trans_a, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                         int ldb, float beta, float *c, int ldc);
/* Whether this build has those kernels (AVX-512). */
int dc_gemm_avx512_available(void);
/* dst (cols x rows, rows ldd floats apart) = src^T (rows x cols, rows ld
 * floats apart); 16 x 16 blocks in registers on AVX-512. */
void dc_transpose(const float *src, size_t ld, int rows, int cols, float *dst, size_t ldd);
/* Copies the row v (cols) into every row of dst (rows x cols): a bias. */
void dc_broadcast_rows(const float *v, size_t rows, int cols, float *dst);
/* Adds the column sums of g (rows x cols) into acc (cols). */
void dc_add_colsums(const float *g, size_t rows, int cols, float *acc);

/* Fills `count` floats per the initialiser; fan_in/fan_out for the scaled
 * ones.  Without an RNG the random initialisers leave zeros.  Fails only
 * when the orthogonal initialiser cannot allocate its scratch (DC_ERR_NOMEM;
 * always when opts->fail_init_scratch), naming `what` (the parameter). */
dc_status dc_init_fill(const dc_init *init, float *dst, size_t count, int fan_in, int fan_out, dc_rng *rng,
                       const dc_graph_options *opts, const char *what);
/* Keras' orthogonal initialiser on a (rows, cols) matrix (init_orthogonal.c);
 * the same failure. */
dc_status dc_init_orthogonal(float *dst, int rows, int cols, dc_rng *rng, const dc_graph_options *opts,
                             const char *what);
/* Keras' fans of a kernel shape: 2D (in, out); conv (k..., in, out). */
void dc_compute_fans(int ndim, const int *shape, int *fan_in, int *fan_out);

#endif
