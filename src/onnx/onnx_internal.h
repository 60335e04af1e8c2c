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

/* ---- reader (import*.c) ---- */

#endif /* DC_ONNX_INTERNAL_H */
