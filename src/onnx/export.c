/*
 * export.c - dc_model_save_onnx: the model's inference graph as an ONNX
 * file; the writer the per-op exporters share; the walk over a model's ops.
 *
 * The export walks the nodes the model's output depends on
 * (dc_model_walk), in creation order, which is a topological order, and
 * hands each to export_ops.c's table, which appends ONNX nodes through the
 * writer here (dc_ox_*: nodes, attributes, initializers, fresh names).
 * Every tensor keeps the shape of the deepc node it stands for, so the
 * graph's inputs and output are the arrays deepc's predict takes and gives.
 * Naming: each graph input is a model input ("input_layer" ...), the
 * output the last layer ("dense_1"), each layer call's output tensor and
 * main node the layer's name (a later call of a shared layer adds
 * "_call<k>"), the nodes a layer needs around its main one
 * "<layer>/<op>_<k>", weights "<layer>/<variable>" as deepc saves them.
 *
 * The messages are protobuf-c's generated structs (onnx.pb-c.h), every
 * block the writer allocates is recorded and freed at the end; the bytes
 * come from onnx__model_proto__pack and go to the file through
 * dc_file_write_atomic.
 */
#include "onnx/onnx_internal.h"

#include "io/file.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- the writer ---- */

void *dc_ox_alloc(dc_ox *w, size_t n)
{
    if (w->failed)
        return NULL;
    if (w->n_owned == w->cap_owned) {
        size_t cap = w->cap_owned ? 2 * w->cap_owned : 256;
        void **p = realloc(w->owned, cap * sizeof *p);
        if (!p) {
            w->failed = 1;
            return NULL;
        }
        w->owned = p;
        w->cap_owned = cap;
    }
    void *b = calloc(1, n ? n : 1);
    if (!b) {
        w->failed = 1;
        return NULL;
    }
    w->owned[w->n_owned++] = b;
    return b;
}

static char *vstr(dc_ox *w, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int len = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    char *s = len >= 0 ? dc_ox_alloc(w, (size_t)len + 1) : NULL;
    if (!s)
        return NULL;
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    return s;
}

const char *dc_ox_str(dc_ox *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = vstr(w, fmt, ap);
    va_end(ap);
    return s ? s : "";
}

const char *dc_ox_fresh(dc_ox *w, const char *hint)
{
    return dc_ox_str(w, "%s/%s_%u", w->prefix ? w->prefix : "graph", hint, w->counter++);
}

/* Appends p to the array *arr of *n (capacity *cap). */
static int push(dc_ox *w, void ***arr, size_t *n, size_t *cap, void *p)
{
    if (w->failed || !p)
        return 0;
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        void **a = realloc(*arr, c * sizeof *a);
        if (!a) {
            w->failed = 1;
            return 0;
        }
        *arr = a;
        *cap = c;
    }
    (*arr)[(*n)++] = p;
    return 1;
}

const char *dc_ox_op(dc_ox *w, const char *op_type, int n_in, const char *const *in, int n_out)
{
    Onnx__NodeProto *node = dc_ox_alloc(w, sizeof *node);
    char **ins = dc_ox_alloc(w, (size_t)(n_in > 0 ? n_in : 1) * sizeof *ins);
    char **outs = dc_ox_alloc(w, (size_t)n_out * sizeof *outs);
    w->last = NULL;
    if (!node || !ins || !outs)
        return "";
    onnx__node_proto__init(node);
    for (int i = 0; i < n_in; i++)
        ins[i] = (char *)(in[i] ? in[i] : "");
    for (int i = 0; i < n_out; i++)
        outs[i] = (char *)dc_ox_fresh(w, op_type);
    node->n_input = (size_t)n_in;
    node->input = ins;
    node->n_output = (size_t)n_out;
    node->output = outs;
    node->op_type = (char *)op_type;
    node->name = (char *)dc_ox_fresh(w, op_type);
    if (!push(w, (void ***)&w->nodes, &w->n_nodes, &w->cap_nodes, node))
        return "";
    w->last = node;
    return outs[0];
}

const char *dc_ox_output(dc_ox *w, int i)
{
    return w->last && (size_t)i < w->last->n_output ? w->last->output[i] : "";
}

const char *dc_ox_op1(dc_ox *w, const char *op_type, const char *a) { return dc_ox_op(w, op_type, 1, &a, 1); }

const char *dc_ox_op2(dc_ox *w, const char *op_type, const char *a, const char *b)
{
    const char *in[2] = {a, b};
    return dc_ox_op(w, op_type, 2, in, 1);
}

/* A new attribute of w->last, or NULL. */
static Onnx__AttributeProto *attr(dc_ox *w, const char *name, Onnx__AttributeProto__AttributeType type)
{
    Onnx__NodeProto *node = w->last;
    if (!node)
        return NULL;
    Onnx__AttributeProto *a = dc_ox_alloc(w, sizeof *a);
    Onnx__AttributeProto **list = dc_ox_alloc(w, (node->n_attribute + 1) * sizeof *list);
    if (!a || !list)
        return NULL;
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = type;
    if (node->n_attribute)
        memcpy(list, node->attribute, node->n_attribute * sizeof *list);
    list[node->n_attribute++] = a;
    node->attribute = list; /* the old list stays owned: freed at the end */
    return a;
}

void dc_ox_attr_int(dc_ox *w, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr(w, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a) {
        a->has_i = 1;
        a->i = v;
    }
}

void dc_ox_attr_ints(dc_ox *w, const char *name, int n, const int64_t *v)
{
    Onnx__AttributeProto *a = attr(w, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *copy = dc_ox_alloc(w, (size_t)n * sizeof *copy);
    if (a && copy) {
        if (n)
            memcpy(copy, v, (size_t)n * sizeof *copy);
        a->n_ints = (size_t)n;
        a->ints = copy;
    }
}

void dc_ox_attr_float(dc_ox *w, const char *name, float v)
{
    Onnx__AttributeProto *a = attr(w, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a) {
        a->has_f = 1;
        a->f = v;
    }
}

void dc_ox_attr_str(dc_ox *w, const char *name, const char *v)
{
    Onnx__AttributeProto *a = attr(w, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    if (a) {
        a->has_s = 1;
        a->s.data = (uint8_t *)v;
        a->s.len = strlen(v);
    }
}

void dc_ox_attr_strs(dc_ox *w, const char *name, int n, const char *const *v)
{
    Onnx__AttributeProto *a = attr(w, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    ProtobufCBinaryData *s = dc_ox_alloc(w, (size_t)n * sizeof *s);
    if (!a || !s)
        return;
    for (int i = 0; i < n; i++) {
        s[i].data = (uint8_t *)v[i];
        s[i].len = strlen(v[i]);
    }
    a->n_strings = (size_t)n;
    a->strings = s;
}

/* A new initializer `name` of dims[0..ndim) and data type `type`. */
static Onnx__TensorProto *tensor(dc_ox *w, const char *name, int ndim, const int64_t *dims, int32_t type)
{
    Onnx__TensorProto *t = dc_ox_alloc(w, sizeof *t);
    int64_t *d = dc_ox_alloc(w, (size_t)(ndim ? ndim : 1) * sizeof *d);
    if (!t || !d)
        return NULL;
    onnx__tensor_proto__init(t);
    if (ndim) /* a scalar has no dims (and dims may be NULL) */
        memcpy(d, dims, (size_t)ndim * sizeof *d);
    t->n_dims = (size_t)ndim;
    t->dims = d;
    t->has_data_type = 1;
    t->data_type = type;
    t->name = (char *)name;
    return push(w, (void ***)&w->inits, &w->n_inits, &w->cap_inits, t) ? t : NULL;
}

static Onnx__TensorProto *find_init(const dc_ox *w, const char *name)
{
    for (size_t i = 0; i < w->n_inits; i++)
        if (strcmp(w->inits[i]->name, name) == 0)
            return w->inits[i];
    return NULL;
}

static size_t dims_size(int ndim, const int64_t *dims)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)dims[i];
    return n;
}

const char *dc_ox_floats(dc_ox *w, const char *name, int ndim, const int64_t *dims, const float *data)
{
    if (!name)
        name = dc_ox_fresh(w, "const");
    else if (find_init(w, name)) /* a shared layer's later call: made already */
        return name;
    size_t n = dims_size(ndim, dims);
    Onnx__TensorProto *t = tensor(w, name, ndim, dims, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
    float *copy = dc_ox_alloc(w, n * sizeof *copy);
    if (!t || !copy)
        return "";
    memcpy(copy, data, n * sizeof *copy);
    t->n_float_data = n;
    t->float_data = copy;
    return name;
}

const char *dc_ox_int64s(dc_ox *w, const char *hint, int n, const int64_t *v)
{
    const char *name = dc_ox_fresh(w, hint);
    int64_t dim = n;
    Onnx__TensorProto *t = tensor(w, name, 1, &dim, ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
    int64_t *copy = dc_ox_alloc(w, (size_t)(n ? n : 1) * sizeof *copy);
    if (!t || !copy)
        return "";
    memcpy(copy, v, (size_t)n * sizeof *copy);
    t->n_int64_data = (size_t)n;
    t->int64_data = copy;
    return name;
}

const char *dc_ox_scalar(dc_ox *w, float v) { return dc_ox_floats(w, NULL, 0, NULL, &v); }

const float *dc_ox_const_values(const dc_node *n)
{
    if (n->is_param)
        return n->val;
    if (n->op == &dc_op_reshape && !n->batched)
        return dc_ox_const_values(n->in[0]);
    return NULL;
}

/* The parameter a weight node is (or views). */
static const dc_node *root_param(const dc_node *p)
{
    while (!p->is_param)
        p = p->in[0];
    return p;
}

const char *dc_ox_weight(dc_ox *w, const char *suffix, const dc_node *p, const int *perm)
{
    return dc_ox_weight_as(w, suffix, p, perm, 0, NULL);
}

const char *dc_ox_weight_as(dc_ox *w, const char *suffix, const dc_node *p, const int *perm, int out_nd,
                            const int64_t *out_dims)
{
    const float *v = dc_ox_const_values(p);
    if (!v || w->failed)
        return "";
    const char *name = dc_ox_str(w, "%s/%s", root_param(p)->name, suffix);
    if (find_init(w, name))
        return name;
    int64_t dims[DC_MAX_DIMS];
    size_t in_stride[DC_MAX_DIMS], n = dc_node_size(p);
    for (int i = 0; i < p->ndim; i++)
        dims[i] = p->shape[perm ? perm[i] : i];
    if (!perm)
        return dc_ox_floats(w, dc_ox_str(w, "%s", name), out_dims ? out_nd : p->ndim, out_dims ? out_dims : dims, v);
    float *t = malloc(n ? n * sizeof *t : 1);
    if (!t) {
        w->failed = 1;
        return "";
    }
    in_stride[p->ndim - 1] = 1;
    for (int i = p->ndim - 2; i >= 0; i--)
        in_stride[i] = in_stride[i + 1] * (size_t)p->shape[i + 1];
    for (size_t o = 0; o < n; o++) { /* o's index in y's axes, read from p's */
        size_t rem = o, src = 0;
        for (int i = p->ndim - 1; i >= 0; i--) {
            size_t idx = rem % (size_t)dims[i];
            rem /= (size_t)dims[i];
            src += idx * in_stride[perm[i]];
        }
        t[o] = v[src];
    }
    const char *r = dc_ox_floats(w, dc_ox_str(w, "%s", name), out_dims ? out_nd : p->ndim, out_dims ? out_dims : dims, t);
    free(t);
    return r;
}

const char *dc_ox_in(dc_ox *w, const dc_node *n, int k)
{
    const dc_node *x = n->in[k];
    if (!x)
        return "";
    if (w->names[x->id])
        return w->names[x->id];
    if (dc_ox_const_values(x)) {
        const dc_node *p = root_param(x);
        const char *name = x == p ? p->name : dc_ox_str(w, "%s/%d", p->name, x->ndim);
        int64_t dims[DC_MAX_DIMS];
        for (int i = 0; i < x->ndim; i++)
            dims[i] = x->shape[i];
        Onnx__TensorProto *t = find_init(w, name) ? NULL
                               : tensor(w, dc_ox_str(w, "%s", name), x->ndim, dims, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
        if (t) { /* the model's own values, packed from where they are: no copy of every weight */
            t->n_float_data = dc_node_size(x);
            t->float_data = (float *)dc_ox_const_values(x);
        }
        return w->names[x->id] = dc_ox_str(w, "%s", name);
    }
    return ""; /* not reached: the walk writes every input before its consumers */
}

const char *dc_ox_transpose(dc_ox *w, const char *x, int n, const int *perm)
{
    /* x made by a Transpose this one undoes (NCHW -> NHWC -> NCHW between
     * two convolutions): its input, with nothing written (the first
     * Transpose goes when nothing else reads it: prune below) */
    for (size_t i = w->n_nodes; i-- > 0;) {
        const Onnx__NodeProto *t = w->nodes[i];
        if (t->n_output < 1 || strcmp(t->output[0], x) != 0)
            continue;
        int undo = strcmp(t->op_type, "Transpose") == 0 && t->n_attribute == 1 && t->attribute[0]->n_ints == (size_t)n;
        for (int k = 0; undo && k < n; k++)
            undo = t->attribute[0]->ints[perm[k]] == k;
        if (undo)
            return t->input[0];
        break;
    }
    int64_t p[DC_MAX_DIMS];
    for (int i = 0; i < n; i++)
        p[i] = perm[i];
    const char *y = dc_ox_op1(w, "Transpose", x);
    dc_ox_attr_ints(w, "perm", n, p);
    return y;
}

const char *dc_ox_reshape_as(dc_ox *w, const char *x, const dc_node *n)
{
    int64_t s[DC_MAX_DIMS];
    for (int i = 0; i < n->ndim; i++)
        s[i] = n->batched && i == 0 ? -1 : n->shape[i];
    return dc_ox_op2(w, "Reshape", x, dc_ox_int64s(w, "shape", n->ndim, s));
}

/* ---- the walk ---- */

dc_status dc_model_walk(const dc_model *m, dc_walk_fn fn, void *ctx)
{
    const dc_graph *g = m->g;
    if (!m->built || !g)
        return dc_fail(DC_ERR_STATE, "walk: the model is not built");
    unsigned char *need = dc_calloc((size_t)g->n_nodes, 1);
    int *owner = dc_malloc((size_t)g->n_nodes * sizeof *owner);
    if (!need || !owner) {
        free(need);
        free(owner);
        return DC_ERR_NOMEM;
    }
    for (int i = 0, j = 0; i < g->n_nodes; i++) { /* nodes before a call's range belong to that call */
        while (j < m->n_calls && i >= m->calls[j].nodes_to)
            j++;
        owner[i] = j < m->n_calls ? j : -1;
    }
    need[m->output->id] = 1;
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        const dc_node *n = g->nodes[i];
        int is_input = 0;
        for (int k = 0; k < m->n_inputs; k++)
            is_input |= n == m->inputs[k];
        if (!need[i] || is_input)
            continue;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k])
                need[n->in[k]->id] = 1;
    }
    dc_status st = DC_OK;
    for (int i = 0; i < g->n_nodes && st == DC_OK; i++) {
        const dc_node *n = g->nodes[i];
        int call = owner[i];
        for (int k = 0; k < m->n_inputs; k++)
            if (n == m->inputs[k])
                call = -1;
        if (need[i])
            st = fn(ctx, n, call);
    }
    free(need);
    free(owner);
    return st;
}

/* ---- the model ---- */

typedef struct export_ctx {
    dc_ox *w;
    const dc_model *m;
    const dc_onnx_export_config *cfg;
    const char *in_names[DC_MODEL_MAX_INPUTS];
    int call;  /* the call being written, and whether a node of it has its name */
    int named;
} export_ctx;

/* Ops that only move or view data: a layer's name goes to another node. */
static int layout_op(const char *t)
{
    return !strcmp(t, "Transpose") || !strcmp(t, "Reshape") || !strcmp(t, "Cast") || !strcmp(t, "Squeeze") ||
           !strcmp(t, "Unsqueeze");
}

/* The name of call j's output (and main node): the layer's, "_call<k>" for a later call. */
static const char *call_name(dc_ox *w, const dc_model *m, int j)
{
    const dc_call *c = &m->calls[j];
    return c->node ? dc_ox_str(w, "%s_call%d", c->layer->name, c->node) : dc_ox_str(w, "%s", c->layer->name);
}

static dc_status export_one(void *vctx, const dc_node *n, int call)
{
    export_ctx *x = vctx;
    dc_ox *w = x->w;
    const dc_model *m = x->m;
    if (call < 0) { /* a model input */
        for (int k = 0; k < m->n_inputs; k++)
            if (n == m->inputs[k])
                w->names[n->id] = x->in_names[k];
        if (!w->names[n->id])
            return dc_fail(DC_ERR_STATE, "save_onnx: node %d (%s) belongs to no layer", n->id, n->op->name);
        return DC_OK;
    }
    if (dc_ox_const_values(n)) /* a weight: an initializer when a node reads it */
        return DC_OK;
    const dc_call *c = &m->calls[call];
    if (call != x->call) { /* a call's nodes are contiguous in the walk */
        x->call = call;
        x->named = 0;
        w->prefix = call_name(w, m, call);
    }
    size_t before = w->n_nodes;
    const char *out = NULL;
    dc_status st = dc_ox_export_node(w, n, &out);
    if (st != DC_OK) {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", dc_errmsg());
        return dc_fail(st, "save_onnx: layer %s (%s) cannot be exported: %s", c->layer->name, c->layer->cls->type,
                       buf);
    }
    int is_output = n == m->output, is_call_out = n == c->made.out;
    /* the layer's main node (its first that computes, else its last) takes its name */
    for (size_t i = before; !x->named && i < w->n_nodes; i++)
        if (!layout_op(w->nodes[i]->op_type) || (is_call_out && i + 1 == w->n_nodes)) {
            w->nodes[i]->name = (char *)w->prefix;
            x->named = 1;
        }
    if (is_output || is_call_out) { /* and its output tensor too */
        const char *want = is_output && x->cfg->output_name ? x->cfg->output_name : w->prefix;
        Onnx__NodeProto *last = w->n_nodes > before ? w->nodes[w->n_nodes - 1] : NULL;
        if (last && last->n_output >= 1 && strcmp(last->output[0], out) == 0) {
            last->output[0] = (char *)want;
        } else if (is_output) { /* nothing written (an identity at inference): name the output */
            dc_ox_op1(w, "Identity", out);
            if (w->last) {
                w->last->output[0] = (char *)want;
                if (!x->named)
                    w->last->name = (char *)w->prefix;
            }
        } else {
            want = out;
        }
        out = want;
    }
    w->names[n->id] = out;
    return w->failed ? DC_ERR_NOMEM : DC_OK;
}

/* A value info: name, float, the per-sample shape with the batch axis first. */
static Onnx__ValueInfoProto *value_info(dc_ox *w, const char *name, const dc_node *n, const dc_onnx_export_config *cfg)
{
    Onnx__ValueInfoProto *v = dc_ox_alloc(w, sizeof *v);
    Onnx__TypeProto *t = dc_ox_alloc(w, sizeof *t);
    Onnx__TypeProto__Tensor *tt = dc_ox_alloc(w, sizeof *tt);
    Onnx__TensorShapeProto *sh = dc_ox_alloc(w, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dims = dc_ox_alloc(w, (size_t)n->ndim * sizeof *dims);
    if (!v || !t || !tt || !sh || !dims)
        return NULL;
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(t);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    for (int i = 0; i < n->ndim; i++) {
        Onnx__TensorShapeProto__Dimension *d = dims[i] = dc_ox_alloc(w, sizeof *d);
        if (!d)
            return NULL;
        onnx__tensor_shape_proto__dimension__init(d);
        if (i == 0 && n->batched && cfg->batch <= 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = (char *)(cfg->batch_name ? cfg->batch_name : "batch");
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = i == 0 && n->batched ? cfg->batch : n->shape[i];
        }
    }
    sh->n_dim = (size_t)n->ndim;
    sh->dim = dims;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = sh;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    v->name = (char *)name;
    v->type = t;
    return v;
}

static void ox_free(dc_ox *w)
{
    for (size_t i = 0; i < w->n_owned; i++)
        free(w->owned[i]);
    free(w->owned);
    free(w->nodes);
    free(w->inits);
    free(w->names);
}

/* Checks cfg; the message names the field. */
static dc_status check_config(const dc_model *m, const dc_onnx_export_config *cfg)
{
    if (cfg->opset != 0 && (cfg->opset < 13 || cfg->opset > DC_ONNX_OPSET_DEFAULT))
        return dc_fail(DC_ERR_ARG, "save_onnx: opset %d; deepc writes opsets 13 to %d", cfg->opset,
                       DC_ONNX_OPSET_DEFAULT);
    if (cfg->batch < 0)
        return dc_fail(DC_ERR_ARG, "save_onnx: batch %d; expected 0 (dynamic) or a size >= 1", cfg->batch);
    for (int k = 0; k < m->n_inputs; k++) {
        const char *a = cfg->input_names[k];
        if (a && !a[0])
            return dc_fail(DC_ERR_ARG, "save_onnx: input_names[%d] is empty", k);
        for (int j = 0; j < k && a; j++)
            if (cfg->input_names[j] && strcmp(cfg->input_names[j], a) == 0)
                return dc_fail(DC_ERR_ARG, "save_onnx: input_names[%d] and [%d] are both \"%s\"", j, k, a);
        if (a && cfg->output_name && strcmp(a, cfg->output_name) == 0)
            return dc_fail(DC_ERR_ARG, "save_onnx: input_names[%d] and output_name are both \"%s\"", k, a);
    }
    if (cfg->output_name && !cfg->output_name[0])
        return dc_fail(DC_ERR_ARG, "save_onnx: output_name is empty");
    /* a graph input or the output named like a layer's tensor would be two tensors of one name */
    for (int i = 0; i < m->n_layers; i++) {
        const char *l = m->layers[i]->name;
        for (int k = 0; k < m->n_inputs; k++)
            if (cfg->input_names[k] && strcmp(cfg->input_names[k], l) == 0)
                return dc_fail(DC_ERR_ARG, "save_onnx: input_names[%d] \"%s\" is a layer's name", k, l);
        if (cfg->output_name && i + 1 < m->n_layers && strcmp(cfg->output_name, l) == 0 &&
            m->layers[i] != m->calls[m->n_calls - 1].layer)
            return dc_fail(DC_ERR_ARG, "save_onnx: output_name \"%s\" is another layer's name", l);
    }
    return DC_OK;
}

/* ---- pruning: nodes and initializers nothing reads ---- */

typedef struct name_set {
    const char **slot;
    size_t mask;
} name_set;

static size_t name_hash(const char *s)
{
    size_t h = 1469598103934665603u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211u;
    return h;
}

/* Adds s (returns 1 if it was new) or, with add 0, says whether it is in. */
static int name_set_op(name_set *set, const char *s, int add)
{
    for (size_t i = name_hash(s) & set->mask;; i = (i + 1) & set->mask) {
        if (!set->slot[i]) {
            if (add)
                set->slot[i] = s;
            return add;
        }
        if (strcmp(set->slot[i], s) == 0)
            return !add;
    }
}

/* Drops the nodes whose outputs nothing reads (a Transpose dc_ox_transpose
 * made unnecessary) and the initializers no node reads. */
static void prune(dc_ox *w, const char *output)
{
    size_t tensors = 1;
    for (size_t i = 0; i < w->n_nodes; i++)
        tensors += w->nodes[i]->n_input;
    size_t cap = 16;
    while (cap < 2 * tensors)
        cap *= 2;
    name_set used = {dc_ox_alloc(w, cap * sizeof *used.slot), cap - 1};
    if (!used.slot)
        return;
    name_set_op(&used, output, 1);
    size_t kept = w->n_nodes;
    for (size_t i = w->n_nodes; i-- > 0;) {
        Onnx__NodeProto *nd = w->nodes[i];
        int live = 0;
        for (size_t o = 0; o < nd->n_output && !live; o++)
            live = name_set_op(&used, nd->output[o], 0);
        if (!live) {
            w->nodes[i] = NULL;
            kept--;
            continue;
        }
        for (size_t k = 0; k < nd->n_input; k++)
            if (nd->input[k][0])
                name_set_op(&used, nd->input[k], 1);
    }
    size_t j = 0;
    for (size_t i = 0; i < w->n_nodes; i++)
        if (w->nodes[i])
            w->nodes[j++] = w->nodes[i];
    w->n_nodes = kept;
    j = 0;
    for (size_t i = 0; i < w->n_inits; i++)
        if (name_set_op(&used, w->inits[i]->name, 0))
            w->inits[j++] = w->inits[i];
    w->n_inits = j;
}

/* Writes the graph into w and packs the model into *bytes (new). */
static dc_status build_model(const dc_model *m, const dc_onnx_export_config *cfg, dc_ox *w, uint8_t **bytes,
                             size_t *len)
{
    export_ctx x = {.w = w, .m = m, .cfg = cfg, .call = -1};
    char buf[80];
    for (int k = 0; k < m->n_inputs; k++)
        x.in_names[k] = cfg->input_names[k] ? cfg->input_names[k]
                                            : dc_ox_str(w, "%s", dc_model_ref_name(m, k, buf, sizeof buf));
    w->names = dc_calloc((size_t)m->g->n_nodes, sizeof *w->names);
    if (!w->names)
        return DC_ERR_NOMEM;
    dc_status st = dc_model_walk(m, export_one, &x);
    if (st != DC_OK)
        return st;
    prune(w, w->names[m->output->id]);
    Onnx__ValueInfoProto *ins[DC_MODEL_MAX_INPUTS], *out;
    for (int k = 0; k < m->n_inputs; k++)
        ins[k] = value_info(w, x.in_names[k], m->inputs[k], cfg);
    out = value_info(w, w->names[m->output->id], m->output, cfg);
    Onnx__GraphProto *g = dc_ox_alloc(w, sizeof *g);
    Onnx__ModelProto *model = dc_ox_alloc(w, sizeof *model);
    Onnx__OperatorSetIdProto *ops = dc_ox_alloc(w, sizeof *ops);
    Onnx__OperatorSetIdProto **opl = dc_ox_alloc(w, sizeof *opl);
    Onnx__ValueInfoProto **inl = dc_ox_alloc(w, (size_t)m->n_inputs * sizeof *inl);
    Onnx__ValueInfoProto **outl = dc_ox_alloc(w, sizeof *outl);
    if (w->failed || !g || !model || !ops || !opl || !inl || !outl)
        return dc_fail(DC_ERR_NOMEM, "save_onnx: out of memory");
    onnx__graph_proto__init(g);
    onnx__model_proto__init(model);
    onnx__operator_set_id_proto__init(ops);
    memcpy(inl, ins, (size_t)m->n_inputs * sizeof *inl);
    outl[0] = out;
    g->name = (char *)(m->functional ? "functional" : "sequential");
    g->n_node = w->n_nodes;
    g->node = w->nodes;
    g->n_initializer = w->n_inits;
    g->initializer = w->inits;
    g->n_input = (size_t)m->n_inputs;
    g->input = inl;
    g->n_output = 1;
    g->output = outl;
    ops->domain = (char *)"";
    ops->has_version = 1;
    ops->version = w->opset;
    opl[0] = ops;
    model->has_ir_version = 1;
    model->ir_version = DC_ONNX_IR_VERSION;
    model->n_opset_import = 1;
    model->opset_import = opl;
    model->producer_name = (char *)"deepc";
    model->producer_version = (char *)DC_VERSION;
    model->doc_string = (char *)cfg->doc_string;
    model->graph = g;
    *len = onnx__model_proto__get_packed_size(model);
    if (*len > (size_t)INT32_MAX) /* protobuf's limit; ONNX puts bigger models' weights in external files */
        return dc_fail(DC_ERR_UNSUPPORTED, "save_onnx: the model takes %zu bytes, over protobuf's 2 GiB; external "
                                           "data files are not written",
                       *len);
    *bytes = dc_malloc(*len ? *len : 1);
    if (!*bytes)
        return DC_ERR_NOMEM;
    if (onnx__model_proto__pack(model, *bytes) != *len) {
        free(*bytes);
        *bytes = NULL;
        return dc_fail(DC_ERR_STATE, "save_onnx: protobuf-c packed a size other than it measured");
    }
    return DC_OK;
}

dc_status dc_model_save_onnx(dc_model *m, const char *path, const dc_onnx_export_config *cfg)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(path);
    dc_onnx_export_config defaults;
    memset(&defaults, 0, sizeof defaults);
    if (!cfg)
        cfg = &defaults;
    if (!m->compiled)
        return dc_fail(DC_ERR_STATE, "save_onnx: the model is not compiled; compile (and train) it first");
    dc_status st = check_config(m, cfg);
    if (st != DC_OK)
        return st;
    dc_ox w;
    memset(&w, 0, sizeof w);
    w.opset = cfg->opset ? cfg->opset : DC_ONNX_OPSET_DEFAULT;
    uint8_t *bytes = NULL;
    size_t len = 0;
    st = build_model(m, cfg, &w, &bytes, &len);
    if (st == DC_OK && w.failed)
        st = dc_fail(DC_ERR_NOMEM, "save_onnx: out of memory");
    ox_free(&w);
    if (st != DC_OK)
        return st;
    const void *parts[1] = {bytes};
    st = dc_file_write_atomic(path, parts, &len, 1);
    free(bytes);
    if (st != DC_OK)
        dc_err_prefix("save_onnx");
    return st;
}
