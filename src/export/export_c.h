/*
 * export_c.h - internal pieces of the standalone C export (export_c.c walks
 * the model's graph and plans the buffers; export_c_ops.c holds one emitter
 * per op and the C helpers the generated file may contain).
 *
 * The export walks the nodes of the model's inference path (the ancestors
 * of its output) in graph order, which is the order of the layer calls that
 * made them; each node's op has an emitter that appends the node's C to the
 * predict function (and its weights, once, to the file).  A node with no
 * emitter refuses the export, naming the layer that made it.  Buffers: every
 * value the predict function computes lives in the caller's scratch at an
 * offset planned here (a freed slice is reused once its last reader ran);
 * ops that only reinterpret their input (Reshape, Flatten, Dropout at
 * inference) share its buffer.
 */
#ifndef DC_EXPORT_C_H
#define DC_EXPORT_C_H

#include "model/model.h"

#include <stdarg.h>

/* A growable string (the parts of the generated file). */
typedef struct xc_str {
    char *s;
    size_t len, cap;
    int failed; /* an allocation failed: the export reports it at the end */
} xc_str;

void xc_printf(xc_str *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Where a node's values are: the input, a weight array, or the scratch. */
enum { XC_SCRATCH, XC_INPUT, XC_PARAM };

typedef struct xc_node {
    int used;        /* on the inference path */
    int where;       /* XC_* */
    size_t off;      /* floats from the start of the input / scratch */
    size_t size;     /* floats it owns in the scratch (0: shares another's) */
    int root;        /* the node whose scratch slice it lives in (itself, or what it aliases) */
    int last_step;   /* the last node (id) that reads it or an alias of it */
    int consumers;   /* nodes on the path that read it */
    int folded;      /* a BatchNormalization folded into its producer: shares its buffer */
    int emitted;     /* its weight array is written (params) */
    char var[96];    /* its C expression: "in + 3", "s + 120", "w_dense_kernel" */
} xc_node;

/* Helpers the generated file may need, emitted once each when used. */
enum {
    XH_DENSE, XH_CONV2D, XH_DECONV2D, XH_POOL2D, XH_GPOOL, XH_ACT, XH_SOFTMAX, XH_BATCHNORM, XH_LAYERNORM,
    XH_EMBEDDING, XH_RNN_BASE, XH_RNN, XH_CONCAT, XH_UPSAMPLE, XH_PAD2D, XH_REPEAT, XH_PERMUTE, XH_STEP_MASK, XH_MASK_STEPS,
    XH_QDENSE, XH_QCONV2D, XH_QEMBEDDING, XH_QRNN, XH_COUNT
};

typedef struct xc_ctx {
    const dc_model *m;
    dc_graph *g;
    const char *name;   /* the C prefix */
    xc_node *x;         /* per node id */
    const dc_layer **layer_of; /* per node id: the layer whose call made it (NULL: an input) */
    xc_str weights, body;
    int helpers[XH_COUNT];
    unsigned act_used;  /* bit per dc_act the activation helper handles */
    int n_geom;         /* geometry structs written so far */
    size_t scratch;     /* floats of scratch the plan needs */
    size_t input_size, output_size;
} xc_ctx;

/* The emitter of node n: appends its code; a status when it cannot (the
 * message names the layer). */
typedef dc_status (*xc_emit_fn)(xc_ctx *c, dc_node *n);
xc_emit_fn xc_emitter(const dc_op *op);
/* Whether op only reinterprets its input 0 at inference (shares its buffer). */
int xc_is_alias(const dc_node *n);
/* The node's C expression (its buffer); params get their array on first use. */
const char *xc_var(xc_ctx *c, dc_node *n);
/* v as a C float literal into buf (40 bytes): "0.5f", "1.0f", "-HUGE_VALF"; returns buf. */
const char *xc_flt(float v, char *buf);
/* Writes `static const float <name>[count] = {...};` with a comment line. */
void xc_array(xc_ctx *c, const char *name, const float *v, size_t count, const char *comment);
/* The layer name of node n ("dense_1"), or the node's own name. */
const char *xc_layer_name(const xc_ctx *c, const dc_node *n);
/* "(26, 26, 32)": a node's per-sample shape. */
const char *xc_shape(const dc_node *n, char *buf, size_t size);
/* The emitters of a quantized model's ops (export_c_quant.c): qdense,
 * qconv2d, or NULL; and their helpers' source. */
xc_emit_fn xc_quant_emitter(const dc_op *op);
void xc_write_quant_helpers(const xc_ctx *c, xc_str *out);
/* Writes the rnn_geom of recurrent node n (its settings) and returns its
 * number (g<id>); the heading comment too. */
int xc_rnn_geom(xc_ctx *c, dc_node *n);
/* The BatchNormalization folded into n (its only reader), or NULL. */
dc_node *xc_folded_bn(xc_ctx *c, dc_node *n);
/* The comment heading a node's code: layer name, class, what, shapes. */
void xc_heading(xc_ctx *c, dc_node *n, const char *what);
/* The helpers' C source, in order (export_c_helpers.c). */
void xc_write_helpers(const xc_ctx *c, xc_str *out);

#endif
