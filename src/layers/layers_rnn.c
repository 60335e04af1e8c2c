/*
 * layers_rnn.c - Embedding, SimpleRNN, LSTM, GRU and Bidirectional, with
 * Keras' arguments, defaults, weight shapes and names.
 *
 * Each recurrent layer is one fused op (ops_rnn.c) over its kernel,
 * recurrent kernel and bias.  Masking: Embedding(mask_zero) sets the layer's
 * mask to its input ids; the model hands it to the next layers, and a
 * recurrent layer given one skips the steps whose id is 0.
 */
#include "layers/layer.h"

#include <string.h>

/* ---- Embedding ---- */

static dc_status embedding_build(dc_layer *l, dc_graph *g, dc_node *x)
{
    char pname[96];
    snprintf(pname, sizeof pname, "%s/embeddings", l->name);
    dc_node *table = dc_param(g, 2, (int[]){l->cfg.embedding.input_dim, l->cfg.embedding.output_dim},
                              l->cfg.embedding.init, pname);
    if (!table)
        return DC_ERR_NOMEM;
    l->params[l->n_params++] = table;
    l->out = dc_embedding(g, x, table);
    if (!l->out)
        return DC_ERR_SHAPE;
    snprintf(l->out->name, sizeof l->out->name, "%s", l->name); /* errors name the layer */
    l->out_act = DC_ACT_LINEAR;
    l->mask = l->cfg.embedding.mask_zero && x->ndim == 2 ? x : NULL;
    return DC_OK;
}

static const dc_layer_class embedding_class = {"Embedding", "embedding", embedding_build};

dc_layer *dc_layer_embedding_ex(int input_dim, int output_dim, int mask_zero, dc_init embeddings_initializer)
{
    if (input_dim < 1 || output_dim < 1)
        return dc_fail_null(DC_ERR_ARG, "Embedding: input_dim %d and output_dim %d must be >= 1", input_dim, output_dim);
    dc_layer *l = dc_layer_new(&embedding_class);
    if (l) {
        l->cfg.embedding.input_dim = input_dim;
        l->cfg.embedding.output_dim = output_dim;
        l->cfg.embedding.mask_zero = mask_zero != 0;
        l->cfg.embedding.init = embeddings_initializer;
    }
    return l;
}

dc_layer *dc_layer_embedding(int input_dim, int output_dim, int mask_zero)
{
    return dc_layer_embedding_ex(input_dim, output_dim, mask_zero, dc_init_make(DC_INIT_RANDOM_UNIFORM));
}

/* ---- SimpleRNN / LSTM / GRU ---- */

dc_rnn_config dc_rnn_defaults(dc_rnn_kind kind, int units)
{
    dc_rnn_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.units = units;
    c.activation = DC_ACT_TANH;
    c.recurrent_activation = DC_ACT_SIGMOID;
    c.reset_after = 1;
    c.kernel_initializer = dc_init_make(DC_INIT_GLOROT_UNIFORM);
    c.recurrent_initializer = dc_init_make(DC_INIT_ORTHOGONAL);
    c.bias_initializer = dc_init_make(kind == DC_RNN_LSTM ? DC_INIT_UNIT_FORGET_BIAS : DC_INIT_ZEROS);
    return c;
}

static const char *const KIND_TYPE[DC_RNN_COUNT] = {"SimpleRNN", "LSTM", "GRU"};
static const char *const KIND_SNAKE[DC_RNN_COUNT] = {"simple_rnn", "lstm", "gru"};

/* Kernel, recurrent kernel and bias named <prefix>/..., then the op. */
static dc_status build_rnn(dc_layer *l, dc_graph *g, dc_node *x, const dc_rnn_config *c, const char *prefix,
                           dc_node **out)
{
    char sx[96], pname[160];
    if (x->ndim != 3)
        return dc_fail(DC_ERR_SHAPE,
                       "%s: input %s has %d axes, expected 3: (batch, timesteps, features); token ids need an "
                       "Embedding first, a plain series a Reshape to (timesteps, 1)",
                       l->name, dc_batch_shape_str(x->ndim, x->shape, sx, sizeof sx), x->ndim);
    int G = c->kind == DC_RNN_LSTM ? 4 : c->kind == DC_RNN_GRU ? 3 : 1, GU = G * c->units;
    int two = c->kind == DC_RNN_GRU && c->reset_after;
    const char *suffix[3] = {"kernel", "recurrent_kernel", "bias"};
    int shapes[3][2] = {{x->shape[2], GU}, {c->units, GU}, {two ? 2 : GU, GU}};
    int ndims[3] = {2, 2, two ? 2 : 1};
    const dc_init *inits[3] = {&c->kernel_initializer, &c->recurrent_initializer, &c->bias_initializer};
    dc_node *p[3];
    for (int i = 0; i < 3; i++) {
        snprintf(pname, sizeof pname, "%s/%s", prefix, suffix[i]);
        p[i] = dc_param(g, ndims[i], ndims[i] == 1 ? shapes[i] + 1 : shapes[i], *inits[i], pname);
        if (!p[i])
            return DC_ERR_NOMEM;
        if (l->n_params >= DC_LAYER_MAX_PARAMS)
            return dc_fail(DC_ERR_ARG, "%s: too many parameters", l->name);
        l->params[l->n_params++] = p[i];
    }
    *out = dc_rnn(g, x, p[0], p[1], p[2], l->mask, c);
    if (!*out) {
        dc_err_prefix(l->name);
        return DC_ERR_SHAPE;
    }
    return DC_OK;
}

static dc_status rnn_build(dc_layer *l, dc_graph *g, dc_node *x)
{
    if (l->cfg.rnn.return_state)
        return dc_fail(DC_ERR_UNSUPPORTED, "%s: return_state gives several outputs, which a Sequential model cannot "
                                           "pass on; use the graph API (dc_rnn and dc_rnn_state)",
                       l->name);
    l->out_act = DC_ACT_LINEAR;
    return build_rnn(l, g, x, &l->cfg.rnn, l->name, &l->out);
}

static const dc_layer_class rnn_classes[DC_RNN_COUNT] = {
    {"SimpleRNN", "simple_rnn", rnn_build},
    {"LSTM", "lstm", rnn_build},
    {"GRU", "gru", rnn_build},
};

static const char *check_rnn_config(const dc_rnn_config *c)
{
    if ((unsigned)c->kind >= DC_RNN_COUNT)
        return "unknown kind";
    if (c->units < 1)
        return "units must be >= 1";
    if (!dc_rnn_act_supported(c->activation) || !dc_rnn_act_supported(c->recurrent_activation))
        return "activation and recurrent_activation must be linear, sigmoid, tanh or relu";
    if (!(c->dropout >= 0 && c->dropout < 1) || !(c->recurrent_dropout >= 0 && c->recurrent_dropout < 1))
        return "dropout and recurrent_dropout must be in [0, 1)";
    return NULL;
}

dc_layer *dc_layer_rnn_ex(const dc_rnn_config *cfg)
{
    if (!cfg)
        return dc_fail_null(DC_ERR_ARG, "RNN layer: cfg is NULL");
    const char *bad = check_rnn_config(cfg);
    if (bad)
        return dc_fail_null(DC_ERR_ARG, "%s: %s (units %d)", (unsigned)cfg->kind < DC_RNN_COUNT ? KIND_TYPE[cfg->kind] : "RNN",
                            bad, cfg->units);
    dc_layer *l = dc_layer_new(&rnn_classes[cfg->kind]);
    if (l)
        l->cfg.rnn = *cfg;
    return l;
}

dc_layer *dc_layer_simple_rnn(int units)
{
    dc_rnn_config c = dc_rnn_defaults(DC_RNN_SIMPLE, units);
    return dc_layer_rnn_ex(&c);
}

dc_layer *dc_layer_lstm(int units)
{
    dc_rnn_config c = dc_rnn_defaults(DC_RNN_LSTM, units);
    return dc_layer_rnn_ex(&c);
}

dc_layer *dc_layer_gru(int units)
{
    dc_rnn_config c = dc_rnn_defaults(DC_RNN_GRU, units);
    return dc_layer_rnn_ex(&c);
}

/* ---- Bidirectional ---- */

enum { MERGE_CONCAT, MERGE_SUM, MERGE_MUL, MERGE_AVE };

static dc_status bidir_build(dc_layer *l, dc_graph *g, dc_node *x)
{
    dc_rnn_config fw = l->cfg.bidir.rnn, bw = fw;
    char prefix[160];
    if (fw.return_state)
        return dc_fail(DC_ERR_UNSUPPORTED, "%s: return_state is not supported inside Bidirectional", l->name);
    /* Keras: the backward copy flips go_backwards; its sequence is reversed
     * back to input order, and masked steps output zeros in both. */
    bw.go_backwards = !fw.go_backwards;
    if (fw.return_sequences) {
        fw.zero_output_for_mask = bw.zero_output_for_mask = 1;
        bw.reverse_output = 1;
    }
    dc_node *a, *b;
    snprintf(prefix, sizeof prefix, "%s/forward_%s", l->name, KIND_SNAKE[fw.kind]);
    dc_status st = build_rnn(l, g, x, &fw, prefix, &a);
    if (st != DC_OK)
        return st;
    snprintf(prefix, sizeof prefix, "%s/backward_%s", l->name, KIND_SNAKE[fw.kind]);
    if ((st = build_rnn(l, g, x, &bw, prefix, &b)) != DC_OK)
        return st;
    switch (l->cfg.bidir.merge) {
    case MERGE_SUM: l->out = dc_add(g, a, b); break;
    case MERGE_MUL: l->out = dc_mul(g, a, b); break;
    case MERGE_AVE: l->out = dc_scale(g, dc_add(g, a, b), 0.5f); break;
    default: l->out = dc_concat(g, a, b); break;
    }
    l->out_act = DC_ACT_LINEAR;
    return l->out ? DC_OK : DC_ERR_SHAPE;
}

static const dc_layer_class bidir_class = {"Bidirectional", "bidirectional", bidir_build};

dc_layer *dc_layer_bidirectional(dc_layer *rnn, const char *merge_mode)
{
    static const char *const modes[] = {"concat", "sum", "mul", "ave"};
    if (!rnn)
        return dc_fail_null(DC_ERR_ARG, "Bidirectional: layer is NULL (did its constructor fail? %s)", dc_errmsg());
    int is_rnn = rnn->cls == &rnn_classes[0] || rnn->cls == &rnn_classes[1] || rnn->cls == &rnn_classes[2];
    const char *type = rnn->cls->type;
    dc_rnn_config cfg = rnn->cfg.rnn;
    dc_layer_free(rnn);
    if (!is_rnn)
        return dc_fail_null(DC_ERR_ARG, "Bidirectional: wraps a SimpleRNN, LSTM or GRU layer, got %s", type);
    int merge = -1;
    for (int i = 0; i < 4; i++)
        if (!merge_mode ? i == 0 : strcmp(merge_mode, modes[i]) == 0)
            merge = i;
    if (merge < 0)
        return dc_fail_null(DC_ERR_ARG, "Bidirectional: merge_mode \"%s\", expected concat, sum, mul or ave", merge_mode);
    dc_layer *l = dc_layer_new(&bidir_class);
    if (l) {
        l->cfg.bidir.rnn = cfg;
        l->cfg.bidir.merge = merge;
    }
    return l;
}
