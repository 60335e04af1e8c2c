/*
 * export_c.c - dc_model_export_c: a compiled model as two C99 files,
 * <name>.h and <name>.c, that need nothing but libm: no allocation, no
 * mutable global (every weight is a static const array; the caller passes a
 * scratch buffer of <NAME>_SCRATCH_BYTES), one call per sample.
 *
 * The walk: the graph is set to a batch of one, the ancestors of the output
 * are marked (the inference path: no loss, no metric), and the nodes are
 * visited in graph order, which is the order of the layer calls (Sequential
 * or functional) that made them.  Each node's op has an emitter
 * (export_c_ops.c) that writes one call of a small helper with the layer's
 * name and shapes in a comment; a node whose op has none refuses the export
 * naming its layer.  A BatchNormalization read only by the Conv2D / Dense
 * before it is folded into that layer's kernel and bias.
 *
 * The scratch plan: each value the predict function computes gets a slice
 * of the scratch, taken first-fit among the slices still live and given
 * back after its last reader (aliases such as Flatten share their input's
 * slice and keep it live).  The files are written with the project's atomic
 * writer (io/file.h).
 */
#include "export/export_c.h"
#include "io/file.h"
#include "quant/quant.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void xc_printf(xc_str *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int k = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->failed = 1;
            return;
        }
        if (b->s && (size_t)k < room) {
            b->len += (size_t)k;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len <= (size_t)k)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->failed = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

const char *xc_shape(const dc_node *n, char *buf, size_t size)
{
    size_t at = 0;
    int from = n->batched ? 1 : 0;
    at += (size_t)snprintf(buf, size, "(");
    for (int i = from; i < n->ndim && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%d", i > from ? ", " : "", n->shape[i]);
    if (at < size)
        snprintf(buf + at, size - at, n->ndim - from == 1 ? ",)" : ")");
    return buf;
}

const char *xc_layer_name(const xc_ctx *c, const dc_node *n)
{
    const dc_layer *l = c->layer_of[n->id];
    return l ? l->name : n->name;
}

/* A C identifier from a weight's name: "conv2d_1/kernel" -> "conv2d_1_kernel". */
static void ident(const char *s, char *out, size_t size)
{
    size_t k = 0;
    for (; *s && k + 1 < size; s++)
        out[k++] = isalnum((unsigned char)*s) ? *s : '_';
    out[k] = '\0';
}

const char *xc_flt(float v, char *buf)
{
    if (isinf(v)) {
        snprintf(buf, 40, "%sHUGE_VALF", v < 0 ? "-" : "");
        return buf;
    }
    snprintf(buf, 40, "%.9g", (double)v);
    if (!strpbrk(buf, ".en"))
        strcat(buf, ".0");
    strcat(buf, "f");
    return buf;
}

void xc_array(xc_ctx *c, const char *name, const float *v, size_t count, const char *comment)
{
    xc_printf(&c->weights, "/* %s */\nstatic const float %s[%zu] = {", comment, name, count);
    for (size_t i = 0; i < count; i++)
        xc_printf(&c->weights, "%s%s,", i % 8 ? " " : "\n    ", xc_flt(v[i], (char[40]){0}));
    xc_printf(&c->weights, "\n};\n\n");
}

const char *xc_var(xc_ctx *c, dc_node *n)
{
    xc_node *x = &c->x[n->id];
    if (x->where == XC_PARAM && !x->emitted) {
        char id[80], comment[160], shp[96];
        ident(n->name, id, sizeof id);
        snprintf(x->var, sizeof x->var, "w%d_%s", n->id, id);
        snprintf(comment, sizeof comment, "%s %s", n->name, dc_shape_str(n->ndim, n->shape, shp, sizeof shp));
        xc_array(c, x->var, n->val, dc_node_numel(n), comment);
        x->emitted = 1;
    }
    return x->var;
}

/* ---- the plan ---- */

/* Floats a node needs beyond its output (the recurrent state and gates). */
static size_t extra_floats(const dc_node *n)
{
    dq_layer q;
    if ((n->op == &dc_op_qdense || n->op == &dc_op_qconv2d) && !dq_view(n->in[1]->val, &q))
        return ((size_t)q.h->Kp + 3) / 4; /* the gathered u8 row */
    if (n->op == &dc_op_rnn || n->op == &dc_op_qrnn) {
        size_t U = (size_t)n->attr.rnn.units, GU = U * (n->attr.rnn.kind == DC_RNN_LSTM ? 4 : n->attr.rnn.kind == DC_RNN_GRU ? 3 : 1);
        /* h, c, r*h, gates, recurrent gates (and qrnn's sums) */
        return 3 * U + (n->op == &dc_op_qrnn ? 3 : 2) * GU;
    }
    return 0;
}

typedef struct block {
    size_t off, size;
    int root;
} block;

/* First fit among the live blocks (sorted by offset). */
static size_t take(block *live, int *n_live, size_t size, int root, size_t *high)
{
    size_t at = 0;
    int i = 0;
    for (; i < *n_live; i++) {
        if (live[i].off >= at + size)
            break;
        if (live[i].off + live[i].size > at)
            at = live[i].off + live[i].size;
    }
    memmove(live + i + 1, live + i, (size_t)(*n_live - i) * sizeof *live);
    live[i] = (block){at, size, root};
    (*n_live)++;
    if (at + size > *high)
        *high = at + size;
    return at;
}

static int is_input(const dc_model *m, const dc_node *n) { return n == m->input; }

/* Marks the path, finds aliases, folds BatchNormalization, plans the scratch. */
static dc_status plan(xc_ctx *c, int fold_bn)
{
    dc_graph *g = c->g;
    const dc_model *m = c->m;
    unsigned mark = dc_graph_mark_ancestors(g, m->output);
    for (int i = 0; i < g->n_nodes; i++) {
        dc_node *n = g->nodes[i];
        xc_node *x = &c->x[i];
        x->used = n->mark == mark;
        x->root = i;
        if (!x->used)
            continue;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k])
                c->x[n->in[k]->id].consumers++;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        dc_node *n = g->nodes[i];
        xc_node *x = &c->x[i];
        if (!x->used)
            continue;
        if (n->is_param) {
            x->where = XC_PARAM;
            dq_layer q;
            dq_wo w; /* a packed int8 layer is no float */
            size_t total = dq_view(n->val, &q) && dq_wo_view(n->val, &w) ? dc_node_numel(n) : 0;
            for (size_t k = 0; k < total; k++)
                if (!isfinite(n->val[k]))
                    return dc_fail(DC_ERR_NAN, "export_c: weight %s of layer %s holds %g at %zu; a model with "
                                               "non-finite weights cannot be exported", n->name,
                                   xc_layer_name(c, n), (double)n->val[k], k);
        } else if (is_input(m, n)) {
            x->where = XC_INPUT;
        } else if (n->op == &dc_op_input) {
            return dc_fail(DC_ERR_ARG, "export_c: the graph reads %s, which is not the model's input", n->name);
        }
        if (fold_bn && n->op == &dc_op_batchnorm && (n->in[0]->op == &dc_op_conv2d || n->in[0]->op == &dc_op_dense) &&
            c->x[n->in[0]->id].consumers == 1 && !(n->in[0]->op == &dc_op_conv2d && n->in[0]->attr.conv.relu))
            x->folded = 1;
    }
    /* roots (aliases share their input's slice) and last readers */
    for (int i = 0; i < g->n_nodes; i++) {
        dc_node *n = g->nodes[i];
        xc_node *x = &c->x[i];
        if (!x->used || n->is_param)
            continue;
        if (x->folded || xc_is_alias(n) || n->op == &dc_op_rnn_state)
            x->root = c->x[n->in[0]->id].root;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] && !n->in[k]->is_param) {
                xc_node *r = &c->x[c->x[n->in[k]->id].root];
                r->last_step = r->last_step > i ? r->last_step : i;
            }
    }
    c->x[c->x[m->output->id].root].last_step = g->n_nodes; /* copied out at the end */
    block *live = malloc((size_t)(g->n_nodes + 1) * sizeof *live);
    if (!live)
        return dc_fail(DC_ERR_NOMEM, "export_c: out of memory planning %d nodes", g->n_nodes);
    int n_live = 0;
    size_t high = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        dc_node *n = g->nodes[i];
        xc_node *x = &c->x[i];
        if (!x->used || n->is_param || x->where == XC_INPUT)
            continue;
        if (x->root != i) { /* an alias: its root's place, maybe at an offset */
            xc_node *r = &c->x[x->root];
            size_t delta = 0;
            if (n->op == &dc_op_columns)
                delta = (size_t)n->attr.columns.off;
            else if (n->op == &dc_op_rnn_state)
                delta = dc_node_numel(n->in[0]) + (size_t)n->attr.rnn_state.which * (size_t)n->in[0]->attr.rnn.units;
            x->where = r->where;
            x->off = c->x[n->in[0]->id].off + delta;
            (void)r;
        } else {
            x->where = XC_SCRATCH;
            x->size = (dc_node_numel(n) + extra_floats(n) + 3) & ~(size_t)3;
            x->off = take(live, &n_live, x->size, i, &high);
        }
        snprintf(x->var, sizeof x->var, x->where == XC_INPUT ? "in + %zu" : "s + %zu", x->off);
        /* give back the slices whose last reader is this node */
        for (int k = 0; k < n_live;) {
            if (c->x[live[k].root].last_step <= i) {
                memmove(live + k, live + k + 1, (size_t)(n_live - k - 1) * sizeof *live);
                n_live--;
            } else {
                k++;
            }
        }
    }
    free(live);
    snprintf(c->x[m->input->id].var, sizeof c->x[m->input->id].var, "in");
    c->scratch = high;
    c->input_size = dc_node_numel(m->input);
    c->output_size = dc_node_numel(m->output);
    return DC_OK;
}

/* ---- the files ---- */

static int valid_name(const char *s)
{
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_') || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

static void upper(const char *s, char *out, size_t size)
{
    size_t k = 0;
    for (; *s && k + 1 < size; s++)
        out[k++] = (char)toupper((unsigned char)*s);
    out[k] = '\0';
}

static void write_header(const xc_ctx *c, xc_str *h)
{
    char up[80], shp[96];
    upper(c->name, up, sizeof up);
    xc_printf(h,
              "/*\n * %s.h - a model exported by deepc (dc_model_export_c): plain C99, libm only,\n"
              " * no allocation, no mutable global state.\n *\n"
              " * Input per sample: %s, %zu floats; output per sample: %s, %zu floats.\n"
              " * The caller passes a scratch buffer of %s_SCRATCH_BYTES bytes, aligned for a\n"
              " * float (e.g. static float scratch[%s_SCRATCH_FLOATS];); calls sharing one\n"
              " * scratch must not overlap in time.\n */\n",
              c->name, xc_shape(c->m->input, shp, sizeof shp), c->input_size,
              xc_shape(c->m->output, (char[96]){0}, 96), c->output_size, up, up);
    xc_printf(h, "#ifndef %s_H\n#define %s_H\n\n", up, up);
    xc_printf(h, "#define %s_INPUT_SIZE %zu\n#define %s_OUTPUT_SIZE %zu\n", up, c->input_size, up, c->output_size);
    xc_printf(h, "#define %s_SCRATCH_FLOATS %zu\n#define %s_SCRATCH_BYTES (%s_SCRATCH_FLOATS * sizeof(float))\n\n", up,
              c->scratch ? c->scratch : 1, up, up);
    xc_printf(h,
              "/* One sample: in (%s_INPUT_SIZE floats) -> out (%s_OUTPUT_SIZE floats).\n"
              " * Returns 0, or 1 when the input is invalid (a token id out of range). */\n"
              "int %s_predict(const float *in, float *out, void *scratch);\n\n"
              "/* n samples one after another: in (n, %s_INPUT_SIZE) -> out (n, %s_OUTPUT_SIZE).\n"
              " * Returns 0, or 1 + the index of the first invalid sample. */\n"
              "int %s_predict_batch(const float *in, float *out, int n, void *scratch);\n\n#endif\n",
              up, up, c->name, up, up, c->name);
}

static void write_source(const xc_ctx *c, xc_str *out)
{
    char up[80];
    upper(c->name, up, sizeof up);
    xc_printf(out,
              "/*\n * %s.c - a model exported by deepc (dc_model_export_c); see %s.h.\n"
              " * The weights are static const arrays; %s_predict runs the layers in\n"
              " * order, each a call of one of the helpers below on slices of the scratch.\n"
              " */\n#include \"%s.h\"\n\n#include <math.h>\n#include <stddef.h>\n%s\n",
              c->name, c->name, c->name, c->name,
              c->helpers[XH_QDENSE] || c->helpers[XH_QCONV2D] || c->helpers[XH_QEMBEDDING] || c->helpers[XH_QRNN]
                  ? "#include <stdint.h>\n"
                  : "");
    xc_write_helpers(c, out);
    xc_write_quant_helpers(c, out);
    xc_printf(out, "%s", c->weights.s ? c->weights.s : "");
    xc_printf(out, "int %s_predict(const float *in, float *out, void *scratch)\n{\n    float *s = (float *)scratch;\n",
              c->name);
    xc_printf(out, "    size_t i;\n\n%s", c->body.s ? c->body.s : "");
    xc_printf(out, "    for (i = 0; i < %s_OUTPUT_SIZE; i++)\n        out[i] = (%s)[i];\n    (void)in;\n    (void)s;\n    return 0;\n}\n\n",
              up, c->x[c->m->output->id].var);
    xc_printf(out,
              "int %s_predict_batch(const float *in, float *out, int n, void *scratch)\n{\n    int i;\n"
              "    for (i = 0; i < n; i++)\n"
              "        if (%s_predict(in + (size_t)i * %s_INPUT_SIZE, out + (size_t)i * %s_OUTPUT_SIZE, scratch))\n"
              "            return 1 + i;\n    return 0;\n}\n",
              c->name, c->name, up, up);
}

static dc_status write_file(const char *dir, const char *name, const char *ext, const xc_str *s)
{
    char path[4096];
    int k = snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    if (k < 0 || (size_t)k >= sizeof path)
        return dc_fail(DC_ERR_ARG, "export_c: the path %s/%s.%s is too long", dir, name, ext);
    const void *parts[1] = {s->s};
    size_t sizes[1] = {s->len};
    return dc_file_write_atomic(path, parts, sizes, 1);
}

dc_export_c_config dc_export_c_defaults(void)
{
    dc_export_c_config c;
    memset(&c, 0, sizeof c);
    c.fold_batchnorm = 1;
    return c;
}

dc_status dc_model_export_c(dc_model *m, const char *dir, const char *name, const dc_export_c_config *cfg)
{
    DC_CHECK_NULL(m);
    DC_CHECK_NULL(dir);
    DC_CHECK_NULL(name);
    dc_export_c_config def = dc_export_c_defaults();
    if (!cfg)
        cfg = &def;
    if (!valid_name(name))
        return dc_fail(DC_ERR_ARG, "export_c: name \"%s\" is not a C identifier of at most 64 characters "
                                   "([A-Za-z_][A-Za-z0-9_]*)", name);
    if (!m->compiled || !m->g || !m->output)
        return dc_fail(DC_ERR_STATE, "export_c: the model is not compiled; compile (or load) it first");
    if (m->output_mask)
        return dc_fail(DC_ERR_ARG, "export_c: the model's output is masked per step (mask_zero reaching the "
                                   "output), which the export does not carry");
    dc_graph *g = m->g;
    dc_status st = dc_graph_set_batch(g, 1);
    if (st != DC_OK)
        return st;
    xc_ctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.g = g;
    c.name = name;
    c.x = calloc((size_t)g->n_nodes, sizeof *c.x);
    c.layer_of = calloc((size_t)g->n_nodes, sizeof *c.layer_of);
    if (!c.x || !c.layer_of) {
        free(c.x);
        free(c.layer_of);
        return dc_fail(DC_ERR_NOMEM, "export_c: out of memory for %d nodes", g->n_nodes);
    }
    for (int j = 0; j < m->n_calls; j++)
        for (int k = m->calls[j].nodes_from; k < m->calls[j].nodes_to && k < g->n_nodes; k++)
            c.layer_of[k] = m->calls[j].layer;
    st = plan(&c, cfg->fold_batchnorm);
    for (int i = 0; st == DC_OK && i < g->n_nodes; i++) {
        dc_node *n = g->nodes[i];
        if (!c.x[i].used || n->is_param || n->op == &dc_op_input || c.x[i].folded)
            continue;
        xc_emit_fn fn = xc_emitter(n->op);
        if (!fn) {
            const dc_layer *l = c.layer_of[i];
            st = dc_fail(DC_ERR_ARG, "export_c: layer %s (%s) has no C export: its op %s is not supported",
                         l ? l->name : n->name, l ? l->cls->type : "graph node", n->op->name);
            break;
        }
        st = fn(&c, n);
    }
    xc_str h = {0}, src = {0};
    if (st == DC_OK) {
        write_header(&c, &h);
        write_source(&c, &src);
        if (h.failed || src.failed || c.weights.failed || c.body.failed)
            st = dc_fail(DC_ERR_NOMEM, "export_c: out of memory writing the C source");
    }
    if (st == DC_OK && (st = write_file(dir, name, "h", &h)) == DC_OK)
        st = write_file(dir, name, "c", &src);
    free(h.s);
    free(src.s);
    free(c.weights.s);
    free(c.body.s);
    free(c.x);
    free(c.layer_of);
    return st;
}
