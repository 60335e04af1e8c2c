/*
 * onnx_internal.h - what the ONNX writer (export*.c) and reader (import*.c)
 * share: the message types protobuf-c generates from the onnx.proto that
 * libonnx-dev ships (onnx.pb-c.h, in the build tree; CMakeLists.txt), named
 * Onnx__ModelProto, Onnx__NodeProto ...
 *
 * Files are parsed and written by protobuf-c's runtime only: no hand-written
 * wire format.  Each side adds its own declarations in its section below.
 */
#ifndef DC_ONNX_INTERNAL_H
#define DC_ONNX_INTERNAL_H

#include "onnx.pb-c.h"

/* The operator-set version files are written with unless the caller asks
 * for another, and the newest the reader accepts. */
#define DC_ONNX_OPSET_DEFAULT 17
/* IR version 8 is the one onnx 1.12 (Debian 12's python3-onnx) writes
 * for opset 17. */
#define DC_ONNX_IR_VERSION 8

/* ---- writer (export*.c) ----
 * The export walks the model's graph (dc_model_walk: every node the output
 * depends on, in creation order, each with the layer call that made it) and
 * writes each node as ONNX nodes with the writer below; the per-op table
 * is export_ops.c, the recurrent op export_rnn.c.  Tensors keep deepc's
 * layout (NHWC, NWC): an op that ONNX defines channels-first (Conv, pooling,
 * BatchNormalization, Resize) is wrapped in Transposes, so every tensor has
 * the shape of the deepc node it stands for and the file's inputs and
 * output are the arrays deepc takes and gives. */

#include "model/model.h"

/* Calls fn(ctx, n, call) for every node the model's output depends on, in
 * creation (topological) order, the model's inputs (m->inputs[k]) and the
 * weights included; call is the index in m->calls of the layer call whose
 * build made n (a merge's mask, made just before its call, counts as that
 * call's), -1 for the inputs.  Stops at the first status other than DC_OK.
 * The model must be built.  Reusable by any walk over a model's ops. */
typedef dc_status (*dc_walk_fn)(void *ctx, const dc_node *n, int call);
dc_status dc_model_walk(const dc_model *m, dc_walk_fn fn, void *ctx);

/* The writer: the graph's lists (every allocation recorded in owned[] and
 * freed by dc_ox_free).  An allocation that fails sets `failed`: the
 * functions then return "" names and do nothing, and the export ends with
 * DC_ERR_NOMEM, so exporters need not check each call. */
typedef struct dc_ox {
    Onnx__NodeProto **nodes;
    size_t n_nodes, cap_nodes;
    Onnx__TensorProto **inits;
    size_t n_inits, cap_inits;
    void **owned;
    size_t n_owned, cap_owned;
    int failed;
    int opset;
    const char *prefix;   /* the layer (call) being written: "<prefix>/<op>_<k>" names */
    unsigned counter;     /* makes every generated name unique */
    const char **names;   /* per graph node id: the ONNX tensor standing for it, or NULL */
    Onnx__NodeProto *last; /* the node dc_ox_op made last: the dc_ox_attr_* calls set its attributes */
} dc_ox;

/* An owned, zeroed block / formatted string ("" when out of memory). */
void *dc_ox_alloc(dc_ox *w, size_t n);
const char *dc_ox_str(dc_ox *w, const char *fmt, ...) DC_PRINTF(2, 3);
/* A new unique tensor name "<prefix>/<hint>_<k>". */
const char *dc_ox_fresh(dc_ox *w, const char *hint);
/* Appends node op_type(in[0..n_in)) with n_out fresh outputs (in[i] ""
 * for an absent optional input) and returns its first output's name; the
 * node is w->last.  dc_ox_output(w, i): w->last's output i. */
const char *dc_ox_op(dc_ox *w, const char *op_type, int n_in, const char *const *in, int n_out);
const char *dc_ox_output(dc_ox *w, int i);
/* Shortcuts for one and two inputs. */
const char *dc_ox_op1(dc_ox *w, const char *op_type, const char *a);
const char *dc_ox_op2(dc_ox *w, const char *op_type, const char *a, const char *b);
/* Attributes of w->last. */
void dc_ox_attr_int(dc_ox *w, const char *name, int64_t v);
void dc_ox_attr_ints(dc_ox *w, const char *name, int n, const int64_t *v);
void dc_ox_attr_float(dc_ox *w, const char *name, float v);
void dc_ox_attr_str(dc_ox *w, const char *name, const char *v);
void dc_ox_attr_strs(dc_ox *w, const char *name, int n, const char *const *v);
/* Initializers: float data of dims[0..ndim) copied (name NULL: a fresh
 * one), a 1-D int64 tensor, a float scalar (shape ()). */
const char *dc_ox_floats(dc_ox *w, const char *name, int ndim, const int64_t *dims, const float *data);
const char *dc_ox_int64s(dc_ox *w, const char *hint, int n, const int64_t *v);
const char *dc_ox_scalar(dc_ox *w, float v);
/* The tensor for input k of n: its mapped name, or, for a weight (a
 * parameter or a view of one), an initializer named after it. */
const char *dc_ox_in(dc_ox *w, const dc_node *n, int k);
/* The values of a weight (a parameter, or a reshape of one), or NULL. */
const float *dc_ox_const_values(const dc_node *n);
/* An initializer holding weight p's values with its axes permuted (perm
 * NULL: as they are; y's axis i is p's axis perm[i]), named
 * "<parameter>/<suffix>"; made once per name (a shared layer's later calls
 * find it). */
const char *dc_ox_weight(dc_ox *w, const char *suffix, const dc_node *p, const int *perm);
/* The same, the initializer given dims out_dims[0..out_nd) (as many values:
 * the permuted array seen in another shape, e.g. a depthwise kernel (C, M,
 * kh, kw) as ONNX's (C*M, 1, kh, kw)); out_dims NULL: the permuted shape. */
const char *dc_ox_weight_as(dc_ox *w, const char *suffix, const dc_node *p, const int *perm, int out_nd,
                            const int64_t *out_dims);
/* x transposed by perm[0..n). */
const char *dc_ox_transpose(dc_ox *w, const char *x, int n, const int *perm);
/* x reshaped to node n's shape, the batch axis (when n has one) -1. */
const char *dc_ox_reshape_as(dc_ox *w, const char *x, const dc_node *n);
/* x through activation a (alpha: leaky_relu's slope, elu's alpha). */
const char *dc_ox_act(dc_ox *w, const char *x, dc_act a, float alpha);

/* Writes node n (export_ops.c): *out is the name of the tensor standing
 * for it.  An op the table lacks, or one it cannot write, is an error
 * (DC_ERR_UNSUPPORTED) saying why; the caller names the layer. */
dc_status dc_ox_export_node(dc_ox *w, const dc_node *n, const char **out);
/* The recurrent op (export_rnn.c). */
dc_status dc_ox_export_rnn(dc_ox *w, const dc_node *n, const char **out);
/* The attention ops (export_attn.c): batched_matmul, softmax over an axis
 * with its mask, attention_mask, mul_scalar, additive_score,
 * position_embedding, l2_normalize, log_softmax. */
dc_status dc_ox_export_bmm(dc_ox *w, const dc_node *n, const char **out);
dc_status dc_ox_export_softmax(dc_ox *w, const dc_node *n, const char **out);
dc_status dc_ox_export_attn_mask(dc_ox *w, const dc_node *n, const char **out);
dc_status dc_ox_export_mul_scalar(dc_ox *w, const dc_node *n, const char **out);
dc_status dc_ox_export_additive_score(dc_ox *w, const dc_node *n, const char **out);
dc_status dc_ox_export_posemb(dc_ox *w, const dc_node *n, const char **out);
dc_status dc_ox_export_l2_normalize(dc_ox *w, const dc_node *n, const char **out);
dc_status dc_ox_export_log_softmax(dc_ox *w, const dc_node *n, const char **out);
/* The fused attention op (ops_attention.c), MultiHeadAttention's core. */
dc_status dc_ox_export_attention(dc_ox *w, const dc_node *n, const char **out);

/* ---- reader (import*.c) ----
 *
 * import.c reads and checks the file and walks the graph in topological
 * order; import_ops.c holds one translator per ONNX op type.  Both work on
 * a value map: every ONNX value name (graph input, initializer, node
 * output) maps to a dc_onnx_value, either
 * - a constant (a folded tensor: initializers, Constant, and everything
 *   computed from constants only, e.g. the Shape -> Gather -> Unsqueeze ->
 *   Concat chains that make Reshape targets), held as doubles; a shape
 *   value may hold DC_ONNX_BATCH (the batch size, known only at run time);
 * - or a dynamic value: the output of a deepc layer in the functional model
 *   being built (a reference), with its ONNX ("logical") shape and where
 *   each logical axis sits in the stored deepc tensor (`pos`).  The batch
 *   is always stored first.  Transpose only changes pos; an op that needs a
 *   given order (Flatten, Reshape, Gemm, Conv's channels-last) asks for it
 *   and gets a Permute layer only when the stored order differs.  A logical
 *   axis of size 1 may be virtual (pos -1: not stored), as the num_directions
 *   axis of LSTM outputs or the 1 x 1 of GlobalAveragePool. */
#include "deepc.h"
#include "graph/graph.h"

#define DC_ONNX_MAX_RANK 6   /* DC_MAX_DIMS */
/* Folded shape entries that are not numbers known at import. */
#define DC_ONNX_BATCH (-4611686018427387904.0) /* -2^62: the batch size */
#define DC_ONNX_UNKNOWN (-2305843009213693952.0) /* -2^61: computed from the batch size */
/* The largest constant (values) the reader folds or copies. */
#define DC_ONNX_MAX_CONST ((size_t)1 << 31)

typedef enum { DC_ONNX_NONE, DC_ONNX_CONST, DC_ONNX_DYN } dc_onnx_kind;

typedef struct dc_onnx_value {
    const char *name; /* borrowed from the parsed model */
    dc_onnx_kind kind;
    int ndim;
    int64_t dims[DC_ONNX_MAX_RANK]; /* logical (ONNX) shape; a dynamic value's batch axis holds -1 */
    int uses;                       /* node inputs and graph outputs naming it */
    int reader;                     /* the last node reading it (n_node: the graph output), -1 none */
    /* constants */
    double *data; /* numel values (owned), or NULL: every value is `fill` */
    double fill;
    int is_int;   /* an integer tensor (shape arithmetic, ids) */
    /* dynamic values */
    int ref;                        /* the functional model's reference */
    int pos[DC_ONNX_MAX_RANK];      /* stored axis of each logical axis; 0 the batch; -1 virtual (size 1) */
} dc_onnx_value;

/* A weight set after compile: data (owned, n floats) into weight `index`
 * of layer `layer`. */
typedef struct dc_onnx_weight {
    int layer, index;
    float *data;
    size_t n;
} dc_onnx_weight;

typedef struct dc_onnx_slot {
    int node, k;      /* node index + 1 (0: empty), output index */
    int uses, reader; /* node inputs and graph outputs naming it; the last node reading it */
} dc_onnx_slot;

typedef struct dc_onnx_importer {
    const char *where; /* the file, for messages */
    char dir[4096];    /* its folder, for external data ("": none allowed) */
    int opset;
    Onnx__GraphProto *graph;
    dc_onnx_value *vals;
    int n_vals, cap_vals;
    int *table; /* open addressing: value index + 1, 0 empty */
    size_t table_size;
    dc_onnx_slot *out_tab; /* node outputs by name (open addressing) */
    size_t out_size;
    unsigned char *skip; /* per node: folded into an earlier node's translation */
    dc_model *m;
    int n_layers;
    dc_onnx_weight *weights;
    int n_weights, cap_weights;
    size_t fold_bytes, fold_limit; /* constants computed at import: a multiple of the file's size */
} dc_onnx_importer;

/* Reads a model held in memory; `where` names it in messages, `dir` is the
 * folder external data may come from (NULL: none allowed).  The fuzz
 * target's entry; dc_model_load_onnx_ex reads the file and calls it. */
dc_status dc_onnx_load_buffer(const uint8_t *buf, size_t len, const char *where, const char *dir,
                              const dc_onnx_import_config *cfg, dc_model **out);

/* The value called `name`, or NULL. */
dc_onnx_value *dc_onnx_find(dc_onnx_importer *im, const char *name);
/* A new value called `name` (an error if the name is already defined). */
dc_onnx_value *dc_onnx_define(dc_onnx_importer *im, const char *name);
/* The index of the node that outputs `name`, or -1 (import.c). */
int dc_onnx_producer(const dc_onnx_importer *im, const char *name);
/* The use count and reader of node output `name`, or NULL (import.c). */
const dc_onnx_slot *dc_onnx_slot_of(const dc_onnx_importer *im, const char *name);
/* Appends `layer` on input reference(s) (merge when n > 1); returns the new
 * reference or -1 with the message naming the node. */
int dc_onnx_apply(dc_onnx_importer *im, const Onnx__NodeProto *node, dc_layer *layer, int n, const int *refs);
/* Queues weight `index` of the layer just applied (takes `data`). */
dc_status dc_onnx_weight_add(dc_onnx_importer *im, int index, float *data, size_t n);
/* Reads an initializer or Constant's tensor into v as a constant. */
dc_status dc_onnx_tensor(dc_onnx_importer *im, const Onnx__TensorProto *t, dc_onnx_value *v);
/* numel of a constant, 0 for none. */
size_t dc_onnx_numel(const dc_onnx_value *v);

/* The translator of an op type, or NULL (import_ops.c). */
typedef dc_status (*dc_onnx_translate_fn)(dc_onnx_importer *im, const Onnx__NodeProto *node);
dc_onnx_translate_fn dc_onnx_translator(const char *op_type);
/* Every op type with a translator, comma-separated (static storage). */
const char *dc_onnx_supported_ops(void);
/* Makes the value the model's output: the logical order stored (import_ops.c). */
dc_status dc_onnx_finish_output(dc_onnx_importer *im, dc_onnx_value *v);

/* Attributes (import_ops.c): the named one, or the fallback; _ints copies
 * at most max and returns the count, -1 when absent, -2 when longer. */
const Onnx__AttributeProto *dc_onnx_attr(const Onnx__NodeProto *n, const char *name);
int64_t dc_onnx_attr_int(const Onnx__NodeProto *n, const char *name, int64_t fallback);
float dc_onnx_attr_float(const Onnx__NodeProto *n, const char *name, float fallback);
const char *dc_onnx_attr_str(const Onnx__NodeProto *n, const char *name, const char *fallback, char *buf,
                             size_t size);
int dc_onnx_attr_ints(const Onnx__NodeProto *n, const char *name, int64_t *out, int max);
/* Input k of node n, or NULL when absent; _need fails unless it is there
 * (and of `kind`, 0: either). */
dc_onnx_value *dc_onnx_in(dc_onnx_importer *im, const Onnx__NodeProto *n, size_t k);
dc_status dc_onnx_need(dc_onnx_importer *im, const Onnx__NodeProto *n, size_t k, int kind, dc_onnx_value **out);
/* Defines output k of n. */
dc_onnx_value *dc_onnx_out(dc_onnx_importer *im, const Onnx__NodeProto *n, size_t k);
/* Value i of a constant; whether a folded value is DC_ONNX_BATCH / _UNKNOWN. */
double dc_onnx_at(const dc_onnx_value *v, size_t i);
/* x as a float, saturating to +-inf (no undefined conversion). */
float dc_onnx_f32(double x);
int dc_onnx_special(double x);
/* Makes v a zeroed constant of dims, within the folding budget. */
dc_status dc_onnx_const_new(dc_onnx_importer *im, dc_onnx_value *v, int ndim, const int64_t *dims, int is_int);
/* A constant's values as integers (the batch: INT64_MIN). */
dc_status dc_onnx_ints(const Onnx__NodeProto *n, const dc_onnx_value *v, int64_t *out, int max, int *count);
dc_status dc_onnx_axis(const Onnx__NodeProto *n, int64_t a, int ndim, int *out);
/* Layouts: the stored order (ord[s] = logical axis stored at s; returns the
 * stored rank); relayout to want (a pos array), the logical order
 * (canonical), or one axis last with the others kept in order. */
int dc_onnx_stored(const dc_onnx_value *v, int *ord);
dc_status dc_onnx_relayout(dc_onnx_importer *im, const Onnx__NodeProto *n, dc_onnx_value *v, const int *want);
dc_status dc_onnx_canonical(dc_onnx_importer *im, const Onnx__NodeProto *n, dc_onnx_value *v);
dc_status dc_onnx_axis_last(dc_onnx_importer *im, const Onnx__NodeProto *n, dc_onnx_value *v, int axis);
int dc_onnx_batch_axis(const dc_onnx_value *v);
void dc_onnx_set_dyn(dc_onnx_value *out, int ref, int ndim, const int64_t *dims, const int *pos);
int dc_onnx_sample_shape(const dc_onnx_value *v, int *shape);
dc_status dc_onnx_reshape_to(dc_onnx_importer *im, const Onnx__NodeProto *n, dc_onnx_value *v, int nd,
                             const int *shape, int *ref);

/* Layers on dynamic values (import_layers.c). */
dc_status dc_onnx_concat_dyn(dc_onnx_importer *im, const Onnx__NodeProto *n, int axis, const int64_t *dims);
dc_status dc_onnx_embedding(dc_onnx_importer *im, const Onnx__NodeProto *n, const dc_onnx_value *table,
                            const dc_onnx_value *ids, int axis);
/* w[start:start + len] on logical axis `axis` (drop: a single index, the
 * axis removed); w is updated; _take defines output 0. */
dc_status dc_onnx_take_into(dc_onnx_importer *im, const Onnx__NodeProto *n, dc_onnx_value *w, int axis, int64_t start,
                            int64_t len, int drop);
dc_status dc_onnx_take(dc_onnx_importer *im, const Onnx__NodeProto *n, const dc_onnx_value *v, int axis,
                       int64_t start, int64_t len, int drop);
/* Reshape of a dynamic value to dims (dims[0] the batch: INT64_MIN). */
dc_status dc_onnx_reshape_dyn(dc_onnx_importer *im, const Onnx__NodeProto *n, const dc_onnx_value *v, int nd,
                              const int64_t *dims);
dc_status dc_onnx_binary_dyn(dc_onnx_importer *im, const Onnx__NodeProto *n, int op, dc_onnx_value *a,
                             dc_onnx_value *b);
/* The Add / Sub / Mul / Div nodes by a scalar constant that follow output 0
 * of n, each the only reader of the one before (Div: by the constant):
 * folded into y = *scale * x + *offset (x: the value n computes, for the
 * constants' shapes), the nodes marked translated; returns the last (n
 * when none). */
const Onnx__NodeProto *dc_onnx_affine_chain(dc_onnx_importer *im, const Onnx__NodeProto *n, const dc_onnx_value *x,
                                             double *scale, double *offset);
dc_status dc_onnx_tr_pool(dc_onnx_importer *im, const Onnx__NodeProto *n);
dc_status dc_onnx_tr_global_pool(dc_onnx_importer *im, const Onnx__NodeProto *n);
dc_status dc_onnx_tr_reduce(dc_onnx_importer *im, const Onnx__NodeProto *n);
dc_status dc_onnx_tr_batchnorm(dc_onnx_importer *im, const Onnx__NodeProto *n);
dc_status dc_onnx_tr_layernorm(dc_onnx_importer *im, const Onnx__NodeProto *n);
dc_status dc_onnx_tr_conv(dc_onnx_importer *im, const Onnx__NodeProto *n);
dc_status dc_onnx_tr_conv_transpose(dc_onnx_importer *im, const Onnx__NodeProto *n);
dc_status dc_onnx_tr_dropout(dc_onnx_importer *im, const Onnx__NodeProto *n);
dc_status dc_onnx_tr_activation(dc_onnx_importer *im, const Onnx__NodeProto *n);
dc_status dc_onnx_tr_clip(dc_onnx_importer *im, const Onnx__NodeProto *n); /* also HardSigmoid */
dc_status dc_onnx_tr_softmax(dc_onnx_importer *im, const Onnx__NodeProto *n);
dc_status dc_onnx_tr_erf(dc_onnx_importer *im, const Onnx__NodeProto *n);
dc_status dc_onnx_tr_gemm(dc_onnx_importer *im, const Onnx__NodeProto *n);
dc_status dc_onnx_tr_matmul(dc_onnx_importer *im, const Onnx__NodeProto *n);
dc_status dc_onnx_tr_pad(dc_onnx_importer *im, const Onnx__NodeProto *n);
dc_status dc_onnx_tr_rnn(dc_onnx_importer *im, const Onnx__NodeProto *n);
/* Resize as UpSampling2D / UpSampling1D (import_resize.c). */
dc_status dc_onnx_tr_resize(dc_onnx_importer *im, const Onnx__NodeProto *n);

/* The ops of the layers in layers_onnx.c (LogSoftmax, Broadcast and
 * ConstantOp, Unary, ReduceMean) and the ONNX form of the last two. */
extern const dc_op dc_op_log_softmax;
extern const dc_op dc_op_broadcast_binary;
extern const dc_op dc_op_onnx_unary;
extern const dc_op dc_op_reduce_mean_last;
extern const dc_op dc_op_onnx_hard_swish;
dc_status dc_ox_export_unary(dc_ox *w, const dc_node *n, const char **out);
dc_status dc_ox_export_hard_swish(dc_ox *w, const dc_node *n, const char **out);
dc_status dc_ox_export_reduce_mean(dc_ox *w, const dc_node *n, const char **out);

#endif /* DC_ONNX_INTERNAL_H */
