/*
 * layers_rnn.c - Embedding, SimpleRNN, LSTM, GRU and Bidirectional, with
 * Keras' arguments, defaults, weight shapes and names.
 *
 * Each recurrent layer is one fused op (ops_rnn.c) over its kernel,
 * recurrent kernel and bias.  Masking: Embedding(mask_zero) sets its call's
 * mask to its input ids; the model hands it to the next layers, and a
 * recurrent layer given one skips the steps whose id is 0.
 */
#include "layers/layer.h"

#include <string.h>

/* ---- Embedding ---- */

static dc_status embedding_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    dc_node *table = dc_layer_weight(g, call, l->name, "embeddings", 2,
                                     (int[]){l->cfg.embedding.input_dim, l->cfg.embedding.output_dim},
                                     l->cfg.embedding.init, 1, 1);
    if (!table)
        return dc_last_status();
    call->out = dc_embedding(g, x, table);
    if (!call->out)
        return dc_last_status();
    snprintf(call->out->name, sizeof call->out->name, "%s", l->name); /* errors name the layer */
    call->out_act = DC_ACT_LINEAR;
    call->mask = l->cfg.embedding.mask_zero && x->ndim == 2 ? x : NULL;
    return DC_OK;
}

static void embedding_to_config(const dc_layer *l, dc_jw *w)
{
    dc_jw_int(w, "input_dim", l->cfg.embedding.input_dim);
    dc_jw_int(w, "output_dim", l->cfg.embedding.output_dim);
    dc_cfg_write_init(w, "embeddings_initializer", l->cfg.embedding.init);
    dc_jw_bool(w, "mask_zero", l->cfg.embedding.mask_zero);
}

static dc_layer *embedding_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    int in = 0, out = 0, mask = 0;
    dc_init init = dc_init_make(DC_INIT_RANDOM_UNIFORM);
    (void)cls;
    if (dc_cfg_need(cfg, "input_dim") || dc_cfg_need(cfg, "output_dim") || dc_cfg_int(cfg, "input_dim", 1, DC_DIM_LIMIT, &in) ||
        dc_cfg_int(cfg, "output_dim", 1, DC_DIM_LIMIT, &out) || dc_cfg_bool(cfg, "mask_zero", &mask) ||
        dc_cfg_init(cfg, "embeddings_initializer", &init))
        return NULL;
    return dc_layer_embedding_ex(in, out, mask, init);
}

const dc_layer_class dc_class_embedding = {.type = "Embedding", .snake = "embedding", .build = embedding_build,
                                           .to_config = embedding_to_config, .from_config = embedding_from_config};

dc_layer *dc_layer_embedding_ex(int input_dim, int output_dim, int mask_zero, dc_init embeddings_initializer)
{
    if (dc_check_dim("Embedding", "input_dim", -1, input_dim, 1) || dc_check_dim("Embedding", "output_dim", -1, output_dim, 1))
        return NULL;
    dc_layer *l = dc_layer_new(&dc_class_embedding);
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
    c.activation = "tanh";
    c.recurrent_activation = "sigmoid";
    c.reset_after = 1;
    c.kernel_initializer = dc_init_make(DC_INIT_GLOROT_UNIFORM);
    c.recurrent_initializer = dc_init_make(DC_INIT_ORTHOGONAL);
    c.bias_initializer = dc_init_make(kind == DC_RNN_LSTM ? DC_INIT_UNIT_FORGET_BIAS : DC_INIT_ZEROS);
    return c;
}

static const char *const KIND_TYPE[DC_RNN_COUNT] = {"SimpleRNN", "LSTM", "GRU"};
static const char *const KIND_SNAKE[DC_RNN_COUNT] = {"simple_rnn", "lstm", "gru"};
static const dc_layer_class *const rnn_classes[DC_RNN_COUNT] = {&dc_class_simple_rnn, &dc_class_lstm, &dc_class_gru};

static dc_rnn_kind kind_of(const dc_layer_class *cls)
{
    int k = 0;
    while (rnn_classes[k] != cls)
        k++;
    return (dc_rnn_kind)k;
}

/* Kernel, recurrent kernel and bias named <prefix>/..., then the op. */
static dc_status build_rnn(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call, const dc_rnn_config *c,
                           const char *prefix, dc_node **out)
{
    char sx[96];
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
    for (int i = 0; i < 3; i++)
        if (!(p[i] = dc_layer_weight(g, call, prefix, suffix[i], ndims[i], ndims[i] == 1 ? shapes[i] + 1 : shapes[i],
                                     *inits[i], 1, 1)))
            return dc_last_status();
    *out = dc_rnn(g, x, p[0], p[1], p[2], call->mask, c);
    if (!*out) {
        dc_err_prefix(l->name);
        return dc_last_status();
    }
    return DC_OK;
}

static dc_status rnn_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
{
    if (l->cfg.rnn.return_state)
        return dc_fail(DC_ERR_UNSUPPORTED, "%s: return_state gives several outputs, which a Sequential model cannot "
                                           "pass on; use the graph API (dc_rnn and dc_rnn_state)",
                       l->name);
    call->out_act = DC_ACT_LINEAR;
    return build_rnn(l, g, x, call, &l->cfg.rnn, l->name, &call->out);
}

/* Keras' SimpleRNN / LSTM / GRU config keys. */
static void rnn_write(const dc_rnn_config *c, dc_jw *w)
{
    dc_jw_int(w, "units", c->units);
    dc_jw_str(w, "activation", c->activation);
    if (c->kind != DC_RNN_SIMPLE)
        dc_jw_str(w, "recurrent_activation", c->recurrent_activation);
    dc_jw_bool(w, "use_bias", 1);
    dc_jw_bool(w, "return_sequences", c->return_sequences);
    dc_jw_bool(w, "return_state", c->return_state);
    dc_jw_bool(w, "go_backwards", c->go_backwards);
    dc_jw_float(w, "dropout", c->dropout);
    dc_jw_float(w, "recurrent_dropout", c->recurrent_dropout);
    if (c->kind == DC_RNN_GRU)
        dc_jw_bool(w, "reset_after", c->reset_after);
    dc_cfg_write_init(w, "kernel_initializer", c->kernel_initializer);
    dc_cfg_write_init(w, "recurrent_initializer", c->recurrent_initializer);
    dc_cfg_write_init(w, "bias_initializer", c->bias_initializer);
}

static void rnn_to_config(const dc_layer *l, dc_jw *w) { rnn_write(&l->cfg.rnn, w); }

static dc_status rnn_read(const dc_json *cfg, dc_rnn_kind kind, dc_rnn_config *c)
{
    int units = 0;
    const dc_json *ub = dc_json_get(cfg, "use_bias");
    dc_status st = dc_cfg_need(cfg, "units");
    if (st == DC_OK)
        st = dc_cfg_int(cfg, "units", 1, DC_DIM_LIMIT, &units);
    if (st != DC_OK)
        return st;
    *c = dc_rnn_defaults(kind, units);
    if (ub && !(ub->type == DC_JSON_BOOL && ub->boolean))
        return dc_fail(DC_ERR_UNSUPPORTED, "key \"use_bias\": only true is supported");
    if (dc_cfg_act(cfg, "activation", &c->activation) || dc_cfg_act(cfg, "recurrent_activation", &c->recurrent_activation) ||
        dc_cfg_bool(cfg, "return_sequences", &c->return_sequences) || dc_cfg_bool(cfg, "return_state", &c->return_state) ||
        dc_cfg_bool(cfg, "go_backwards", &c->go_backwards) || dc_cfg_float(cfg, "dropout", &c->dropout) ||
        dc_cfg_float(cfg, "recurrent_dropout", &c->recurrent_dropout) || dc_cfg_bool(cfg, "reset_after", &c->reset_after) ||
        dc_cfg_init(cfg, "kernel_initializer", &c->kernel_initializer) ||
        dc_cfg_init(cfg, "recurrent_initializer", &c->recurrent_initializer) ||
        dc_cfg_init(cfg, "bias_initializer", &c->bias_initializer))
        return DC_ERR_FORMAT;
    return DC_OK;
}

static dc_layer *rnn_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    dc_rnn_config c;
    if (rnn_read(cfg, kind_of(cls), &c) != DC_OK)
        return NULL;
    return dc_layer_rnn_ex(&c);
}

const dc_layer_class dc_class_simple_rnn = {.type = "SimpleRNN", .snake = "simple_rnn", .build = rnn_build,
                                            .to_config = rnn_to_config, .from_config = rnn_from_config};
const dc_layer_class dc_class_lstm = {.type = "LSTM", .snake = "lstm", .build = rnn_build, .to_config = rnn_to_config,
                                      .from_config = rnn_from_config};
const dc_layer_class dc_class_gru = {.type = "GRU", .snake = "gru", .build = rnn_build, .to_config = rnn_to_config,
                                     .from_config = rnn_from_config};

/* What is wrong with c (its activation names resolved), or NULL. */
static const char *check_rnn_config(const dc_rnn_config *c)
{
    if ((unsigned)c->kind >= DC_RNN_COUNT)
        return "unknown kind";
    if (c->units < 1)
        return "units must be >= 1";
    if (!dc_rnn_act_supported(dc_layer_act(c->activation)) ||
        !dc_rnn_act_supported(dc_layer_act(c->recurrent_activation)))
        return "activation and recurrent_activation must be linear, sigmoid, tanh or relu";
    if (!(c->dropout >= 0 && c->dropout < 1) || !(c->recurrent_dropout >= 0 && c->recurrent_dropout < 1))
        return "dropout and recurrent_dropout must be in [0, 1)";
    return NULL;
}

dc_layer *dc_layer_rnn_ex(const dc_rnn_config *cfg)
{
    if (!cfg)
        return dc_fail_null(DC_ERR_ARG, "RNN layer: cfg is NULL");
    const char *type = (unsigned)cfg->kind < DC_RNN_COUNT ? KIND_TYPE[cfg->kind] : "RNN";
    dc_rnn_config c = *cfg;
    if (dc_layer_act_name(type, cfg->activation, "tanh", &c.activation) != DC_OK ||
        dc_layer_act_name(type, cfg->recurrent_activation, "sigmoid", &c.recurrent_activation) != DC_OK)
        return NULL;
    if ((unsigned)cfg->kind < DC_RNN_COUNT && dc_check_dim(type, "units", -1, cfg->units, 1) != DC_OK)
        return NULL;
    const char *bad = check_rnn_config(&c);
    if (bad)
        return dc_fail_null(DC_ERR_ARG, "%s: %s (units %d)", type, bad, cfg->units);
    dc_layer *l = dc_layer_new(rnn_classes[cfg->kind]);
    if (l)
        l->cfg.rnn = c;
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

static dc_status bidir_build(const dc_layer *l, dc_graph *g, dc_node *x, dc_layer_call *call)
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
    dc_status st = build_rnn(l, g, x, call, &fw, prefix, &a);
    if (st != DC_OK)
        return st;
    snprintf(prefix, sizeof prefix, "%s/backward_%s", l->name, KIND_SNAKE[fw.kind]);
    if ((st = build_rnn(l, g, x, call, &bw, prefix, &b)) != DC_OK)
        return st;
    switch (l->cfg.bidir.merge) {
    case MERGE_SUM: call->out = dc_add(g, a, b); break;
    case MERGE_MUL: call->out = dc_mul(g, a, b); break;
    case MERGE_AVE: call->out = dc_scale(g, dc_add(g, a, b), 0.5f); break;
    default: call->out = dc_concat(g, a, b); break;
    }
    call->out_act = DC_ACT_LINEAR;
    return call->out ? DC_OK : dc_last_status();
}

static const char *const merge_modes[] = {"concat", "sum", "mul", "ave"};

static void bidir_to_config(const dc_layer *l, dc_jw *w)
{
    const dc_rnn_config *c = &l->cfg.bidir.rnn;
    dc_jw_object(w, "layer");
    dc_jw_str(w, "class_name", KIND_TYPE[c->kind]);
    dc_jw_object(w, "config");
    rnn_write(c, w);
    dc_jw_end(w);
    dc_jw_end(w);
    dc_jw_str(w, "merge_mode", merge_modes[l->cfg.bidir.merge]);
}

static dc_layer *bidir_from_config(const dc_layer_class *cls, const dc_json *cfg)
{
    const dc_json *inner = dc_json_get(cfg, "layer"), *mode = dc_json_get(cfg, "merge_mode");
    const dc_json *cn = dc_json_get(inner, "class_name"), *icfg = dc_json_get(inner, "config");
    (void)cls;
    int kind = -1;
    for (int i = 0; cn && cn->type == DC_JSON_STRING && i < DC_RNN_COUNT; i++)
        if (strcmp(cn->str, KIND_TYPE[i]) == 0)
            kind = i;
    if (kind < 0 || !icfg || icfg->type != DC_JSON_OBJECT)
        return dc_fail_null(DC_ERR_FORMAT, "key \"layer\" must be {\"class_name\": \"SimpleRNN\", \"LSTM\" or \"GRU\", "
                                           "\"config\": {...}}");
    if (mode && mode->type != DC_JSON_STRING)
        return dc_fail_null(DC_ERR_FORMAT, "key \"merge_mode\" must be a string");
    dc_rnn_config c;
    if (rnn_read(icfg, (dc_rnn_kind)kind, &c) != DC_OK) {
        dc_err_prefix("layer");
        return NULL;
    }
    return dc_layer_bidirectional(dc_layer_rnn_ex(&c), mode ? mode->str : NULL);
}

const dc_layer_class dc_class_bidirectional = {.type = "Bidirectional", .snake = "bidirectional", .build = bidir_build,
                                               .to_config = bidir_to_config, .from_config = bidir_from_config};

dc_layer *dc_layer_bidirectional(dc_layer *rnn, const char *merge_mode)
{
    if (!rnn)
        return dc_fail_null(DC_ERR_ARG, "Bidirectional: layer is NULL (did its constructor fail? %s)", dc_errmsg());
    int is_rnn = rnn->cls == &dc_class_simple_rnn || rnn->cls == &dc_class_lstm || rnn->cls == &dc_class_gru;
    const char *type = rnn->cls->type;
    dc_rnn_config cfg = rnn->cfg.rnn;
    dc_layer_free(rnn);
    if (!is_rnn)
        return dc_fail_null(DC_ERR_ARG, "Bidirectional: wraps a SimpleRNN, LSTM or GRU layer, got %s", type);
    int merge = -1;
    for (int i = 0; i < 4; i++)
        if (!merge_mode ? i == 0 : strcmp(merge_mode, merge_modes[i]) == 0)
            merge = i;
    if (merge < 0)
        return dc_fail_null(DC_ERR_ARG, "Bidirectional: merge_mode \"%s\", expected concat, sum, mul or ave", merge_mode);
    dc_layer *l = dc_layer_new(&dc_class_bidirectional);
    if (l) {
        l->cfg.bidir.rnn = cfg;
        l->cfg.bidir.merge = merge;
    }
    return l;
}
