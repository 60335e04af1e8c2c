/*
 * graph.c - building, planning and running the op graph.
 *
 * Build: dc_input / dc_param / op constructors append nodes (see graph.h).
 * Compile: parameters get one flat buffer (values) and another (gradients);
 * every other buffer is planned for the largest batch in one arena.
 * Run: forward walks the ancestors of a target in creation order; backward
 * zeroes the gradients it will write, seeds d(loss)/d(loss) = 1 and walks the
 * same nodes in reverse, each op adding into its inputs' gradients.
 */
#include "graph/graph.h"
#include "core/checked.h"

#include <math.h>
#include <stdio.h>
#include <omp.h>
#include <string.h>

dc_graph *dc_graph_new(void)
{
    dc_graph *g = dc_calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->batch = 1;
    const char *prof = getenv("DEEPC_PROFILE");
    g->profile = prof && *prof && strcmp(prof, "0") != 0;
    return g;
}

/* DEEPC_PROFILE=1: time per op kind, printed to stderr when the graph is freed. */
static void print_profile(const dc_graph *g)
{
    double total = 0;
    for (int i = 0; i < g->n_nodes; i++)
        total += g->nodes[i]->time_fwd + g->nodes[i]->time_bwd;
    if (total <= 0)
        return;
    fprintf(stderr, "deepc profile: %.3f s in ops\n%-24s %10s %10s %6s\n", total, "node", "forward s", "backward s", "share");
    for (int i = 0; i < g->n_nodes; i++) {
        const dc_node *n = g->nodes[i];
        double t = n->time_fwd + n->time_bwd;
        if (t > 0.001 * total)
            fprintf(stderr, "%-24s %10.3f %10.3f %5.1f%%\n", n->name, n->time_fwd, n->time_bwd, 100 * t / total);
    }
}

static double seconds(void) { return omp_get_wtime(); }

/* DEEPC_DIGEST=1: a 64-bit FNV-1a hash of the parameter buffer, printed to
 * stderr when the graph is freed.  tools/digests.sh compares these across
 * builds to show that a change leaves training bit for bit the same. */
static void print_digest(const dc_graph *g)
{
    const char *env = getenv("DEEPC_DIGEST");
    if (!env || !*env || !strcmp(env, "0") || !g->params || !g->n_params)
        return;
    uint64_t h = 1469598103934665603ULL;
    const unsigned char *p = (const unsigned char *)g->params;
    for (size_t i = 0; i < g->n_params * sizeof(float); i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    fprintf(stderr, "deepc digest: %zu params %016llx\n", g->n_params, (unsigned long long)h);
}

void dc_graph_free(dc_graph *g)
{
    if (!g)
        return;
    if (g->profile)
        print_profile(g);
    print_digest(g);
    for (int i = 0; i < g->n_nodes; i++)
        free(g->nodes[i]);
    free(g->nodes);
    if (!g->params_borrowed)
        dc_free_aligned(g->params);
    dc_free_aligned(g->grads);
    dc_free_aligned(g->arena);
    free(g);
}

size_t dc_node_numel(const dc_node *n)
{
    size_t s = 1;
    for (int i = 0; i < n->ndim; i++)
        s *= (size_t)n->shape[i];
    return s;
}

size_t dc_node_sample_size(const dc_node *n)
{
    size_t s = 1;
    for (int i = n->batched ? 1 : 0; i < n->ndim; i++)
        s *= (size_t)n->shape[i];
    return s;
}

int dc_node_cols(const dc_node *n) { return n->ndim ? n->shape[n->ndim - 1] : 1; }

size_t dc_node_rows(const dc_node *n) { return dc_node_numel(n) / (size_t)dc_node_cols(n); }

dc_status dc_node_check_size(const dc_node *n)
{
    char sn[128];
    int lead = n->batched ? 1 : 0;
    for (int i = 0; i < n->ndim; i++)
        if (n->shape[i] < 0)
            return dc_fail(DC_ERR_SHAPE, "%s: output has a negative dimension %d on axis %d", n->name, n->shape[i], i);
    if (dc_size_prod(n->ndim - lead, n->shape + lead) > (size_t)DC_NUMEL_LIMIT)
        return dc_fail(DC_ERR_SHAPE, "%s: %s %s has more than %d values%s", n->name, lead ? "output" : "shape",
                       (lead ? dc_batch_shape_str : dc_shape_str)(n->ndim, n->shape, sn, sizeof sn), DC_NUMEL_LIMIT,
                       lead ? " per sample" : "");
    if (n->work_per_sample == SIZE_MAX || n->work_fixed == SIZE_MAX)
        return dc_fail(DC_ERR_SHAPE, "%s: the scratch size of output %s overflows", n->name,
                       (lead ? dc_batch_shape_str : dc_shape_str)(n->ndim, n->shape, sn, sizeof sn));
    return DC_OK;
}

static dc_status append(dc_graph *g, dc_node *n)
{
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 32;
        dc_node **nodes = realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes)
            return dc_fail(DC_ERR_NOMEM, "graph: out of memory adding a node");
        g->nodes = nodes;
        g->cap_nodes = cap;
    }
    n->id = g->n_nodes;
    g->nodes[g->n_nodes++] = n;
    return DC_OK;
}

/* Checks n_in against op and each input against its slot. */
static dc_status check_inputs(const dc_graph *g, const dc_op *op, int n_in, dc_node *const *inputs)
{
    if (n_in != op->n_inputs || n_in > DC_MAX_INPUTS)
        return dc_fail(DC_ERR_ARG, "%s: got %d inputs, expected %d", op->name, n_in, op->n_inputs);
    for (int i = 0; i < n_in; i++) {
        if (!inputs[i] && !(op->optional & DC_OPTIONAL(i)))
            return dc_fail(DC_ERR_ARG, "%s: input %d is NULL (did an earlier call fail?)", op->name, i);
        if (inputs[i] && inputs[i]->graph != g)
            return dc_fail(DC_ERR_ARG, "%s: input %d belongs to another graph", op->name, i);
    }
    return DC_OK;
}

dc_node *dc_node_make(dc_graph *g, const dc_op *op, int n_in, dc_node *const *inputs, const dc_attr *attr)
{
    if (!g)
        return dc_fail_null(DC_ERR_ARG, "%s: graph is NULL", op->name);
    if (g->compiled)
        return dc_fail_null(DC_ERR_STATE, "%s: the graph is compiled; nodes cannot be added", op->name);
    if (check_inputs(g, op, n_in, inputs) != DC_OK)
        return NULL;
    dc_node *n = dc_calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->op = op;
    n->graph = g;
    n->n_in = n_in;
    for (int i = 0; i < n_in; i++) {
        n->in[i] = inputs[i];
        if (!inputs[i])
            continue;
        n->requires_grad |= inputs[i]->requires_grad;
        if (!n->batch_mult && inputs[i]->batched)
            n->batch_mult = inputs[i]->batch_mult; /* the infer of time_fold / time_unfold may change it */
    }
    if (attr)
        n->attr = *attr;
    snprintf(n->name, sizeof n->name, "%s_%d", op->name, g->n_nodes);
    if (op->infer) {
        dc_status st = op->infer(n);
        if (st == DC_OK)
            st = dc_node_check_size(n);
        if (st != DC_OK) {
            free(n);
            return NULL;
        }
    }
    if (append(g, n) != DC_OK) {
        free(n);
        return NULL;
    }
    for (int i = 0; i < n_in; i++)
        if (inputs[i])
            inputs[i]->n_consumers++;
    return n;
}

static dc_node *make_leaf(dc_graph *g, const dc_op *op, int batched, int ndim, const int *shape, const char *name)
{
    char buf[96];
    int lead = batched ? 1 : 0;
    if (ndim < 0 || ndim + lead > DC_MAX_DIMS || (ndim == 0 && !batched))
        return dc_fail_null(DC_ERR_SHAPE, "%s: %d dimensions, expected 1 to %d", op->name, ndim, DC_MAX_DIMS - lead);
    for (int i = 0; i < ndim; i++)
        if (shape[i] <= 0)
            return dc_fail_null(DC_ERR_SHAPE, "%s: shape %s has a non-positive dimension", op->name,
                                dc_shape_str(ndim, shape, buf, sizeof buf));
    dc_node *n = dc_node_make(g, op, 0, NULL, NULL);
    if (!n)
        return NULL;
    n->batched = batched;
    n->ndim = ndim + lead;
    if (batched)
        n->shape[0] = g->batch;
    memcpy(n->shape + lead, shape, (size_t)ndim * sizeof(int));
    if (name)
        snprintf(n->name, sizeof n->name, "%s", name);
    if (dc_node_check_size(n) != DC_OK) { /* the last node: made just now, read by nothing */
        g->n_nodes--;
        free(n);
        return NULL;
    }
    return n;
}

dc_node *dc_input(dc_graph *g, int batched, int ndim, const int *shape, const char *name)
{
    DC_CHECK_NULL_OR(shape, NULL);
    return make_leaf(g, &dc_op_input, batched, ndim, shape, name);
}

dc_node *dc_param(dc_graph *g, int ndim, const int *shape, dc_init init, const char *name)
{
    return dc_param_ex(g, ndim, shape, init, name, 1);
}

dc_node *dc_param_ex(dc_graph *g, int ndim, const int *shape, dc_init init, const char *name, int trainable)
{
    DC_CHECK_NULL_OR(shape, NULL);
    dc_node *n = make_leaf(g, &dc_op_param, 0, ndim, shape, name);
    if (!n)
        return NULL;
    n->init = init;
    n->is_param = 1;
    n->trainable = trainable;
    n->requires_grad = trainable;
    return n;
}

static void set_batch_shapes(dc_graph *g, int batch)
{
    g->batch = batch;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->batched)
            g->nodes[i]->shape[0] = batch * (g->nodes[i]->batch_mult > 0 ? g->nodes[i]->batch_mult : 1);
}

dc_status dc_graph_reserve(dc_graph *g, int max_batch)
{
    if (!g->compiled)
        return dc_fail(DC_ERR_STATE, "graph: reserve before compile");
    if (max_batch <= g->max_batch)
        return DC_OK;
    int saved = g->batch;
    for (int i = 0; i < g->n_nodes; i++) { /* a batch axis holds batch * batch_mult rows, an int */
        int rows;
        if (g->nodes[i]->batched && dc_ckd_mul(&rows, max_batch, g->nodes[i]->batch_mult > 0 ? g->nodes[i]->batch_mult : 1))
            return dc_fail(DC_ERR_SHAPE, "graph: batch %d x %d rows per sample of %s overflows", max_batch,
                           g->nodes[i]->batch_mult, g->nodes[i]->name);
    }
    set_batch_shapes(g, max_batch);
    /* Sizes first, then one allocation, then hand out 64-byte aligned slices. */
    size_t total = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t off = 0;
        for (int i = 0; i < g->n_nodes; i++) {
            dc_node *n = g->nodes[i];
            size_t numel = dc_node_numel(n);
            size_t rows = (size_t)max_batch * (size_t)(n->batch_mult > 0 ? n->batch_mult : 1);
            size_t work = dc_size_add(n->work_fixed, dc_size_mul(n->work_per_sample, rows));
            size_t need[3] = {0, 0, work};
            int aliases = n->op->flags & DC_OP_ALIASES_INPUT;
            if (!n->is_param && !aliases) {
                need[0] = numel;
                need[1] = n->requires_grad ? numel : 0;
            }
            float **dst[3] = {&n->val, &n->grad, &n->work};
            for (int k = 0; k < 3; k++) {
                if (pass == 1)
                    *dst[k] = need[k] ? g->arena + off : (k == 2 ? NULL : *dst[k]);
                off = dc_size_add(off, dc_size_add(need[k], 15) & ~(size_t)15);
            }
            if (pass == 0 && dc_size_mul(off, sizeof(float)) == SIZE_MAX) {
                set_batch_shapes(g, saved);
                return dc_fail(DC_ERR_SHAPE, "graph: the buffers up to %s for batch %d overflow a size_t", n->name,
                               max_batch);
            }
            if (pass == 1 && aliases) {
                n->val = n->in[0]->val;
                n->grad = n->in[0]->grad;
            }
        }
        if (pass == 0) {
            total = off;
            float *arena = dc_malloc_aligned((total ? total : 16) * sizeof(float));
            if (!arena) {
                set_batch_shapes(g, saved);
                return dc_fail(DC_ERR_NOMEM, "graph: out of memory planning %zu floats for batch %d", total, max_batch);
            }
            memset(arena, 0, (total ? total : 16) * sizeof(float));
            dc_free_aligned(g->arena);
            g->arena = arena;
            g->arena_size = total;
        }
    }
    g->max_batch = max_batch;
    set_batch_shapes(g, saved <= max_batch ? saved : max_batch);
    return DC_OK;
}

void dc_compute_fans(int ndim, const int *shape, int *fan_in, int *fan_out)
{
    if (ndim < 1) {
        *fan_in = *fan_out = 1;
    } else if (ndim == 1) {
        *fan_in = *fan_out = shape[0];
    } else if (ndim == 2) {
        *fan_in = shape[0];
        *fan_out = shape[1];
    } else {
        int receptive = 1;
        for (int i = 0; i < ndim - 2; i++)
            receptive *= shape[i];
        *fan_in = shape[ndim - 2] * receptive;
        *fan_out = shape[ndim - 1] * receptive;
    }
}

/* Keras' truncated normal: redraw values beyond two standard deviations. */
static float truncated_normal(dc_rng *rng)
{
    float z;
    do
        z = dc_rng_normal(rng);
    while (fabsf(z) > 2.0f);
    return z;
}

dc_status dc_init_fill(const dc_init *init, float *dst, size_t count, int fan_in, int fan_out, dc_rng *rng,
                       const dc_graph_options *opts, const char *what)
{
    /* Keras' variance-scaling family; truncated normals are corrected by
     * .87962566103423978 (the std of a unit normal truncated at 2). */
    double limit = 0, stddev = 0;
    int normal = 0;
    int is_random = init->kind != DC_INIT_ZEROS && init->kind != DC_INIT_ONES && init->kind != DC_INIT_CONSTANT &&
                    init->kind != DC_INIT_UNIT_FORGET_BIAS;
    if (is_random && !rng) { /* no RNG given: random initialisers leave zeros */
        memset(dst, 0, count * sizeof(float));
        return DC_OK;
    }
    switch (init->kind) {
    case DC_INIT_ZEROS:
        memset(dst, 0, count * sizeof(float));
        return DC_OK;
    case DC_INIT_ONES:
        for (size_t i = 0; i < count; i++)
            dst[i] = 1.0f;
        return DC_OK;
    case DC_INIT_CONSTANT:
        for (size_t i = 0; i < count; i++)
            dst[i] = init->a;
        return DC_OK;
    case DC_INIT_RANDOM_NORMAL:
        for (size_t i = 0; i < count; i++)
            dst[i] = init->a + init->b * dc_rng_normal(rng);
        return DC_OK;
    case DC_INIT_RANDOM_UNIFORM:
        for (size_t i = 0; i < count; i++)
            dst[i] = init->a + (init->b - init->a) * dc_rng_uniform(rng);
        return DC_OK;
    case DC_INIT_UNIT_FORGET_BIAS: /* (4u): zeros, the forget gate's quarter ones */
        for (size_t i = 0; i < count; i++)
            dst[i] = i >= count / 4 && i < count / 2 ? 1.0f : 0.0f;
        return DC_OK;
    case DC_INIT_ORTHOGONAL: /* flattened to (prod(shape[:-1]), shape[-1]) = (fan_in, count / fan_in) */
        return dc_init_orthogonal(dst, fan_in, (int)(count / (size_t)fan_in), rng, opts, what);
    case DC_INIT_GLOROT_UNIFORM: limit = sqrt(6.0 / (fan_in + fan_out)); break;
    case DC_INIT_HE_UNIFORM: limit = sqrt(6.0 / fan_in); break;
    case DC_INIT_LECUN_UNIFORM: limit = sqrt(3.0 / fan_in); break;
    case DC_INIT_GLOROT_NORMAL: stddev = sqrt(2.0 / (fan_in + fan_out)); normal = 1; break;
    case DC_INIT_HE_NORMAL: stddev = sqrt(2.0 / fan_in); normal = 1; break;
    case DC_INIT_LECUN_NORMAL: stddev = sqrt(1.0 / fan_in); normal = 1; break;
    default:
        memset(dst, 0, count * sizeof(float));
        return DC_OK;
    }
    if (normal) {
        double s = stddev / .87962566103423978;
        for (size_t i = 0; i < count; i++)
            dst[i] = (float)(s * truncated_normal(rng));
    } else {
        for (size_t i = 0; i < count; i++)
            dst[i] = (float)(limit * (2.0 * dc_rng_uniform(rng) - 1.0));
    }
    return DC_OK;
}

/* The rewrite passes, before any buffer is planned: a fused-away node
 * must not get buffers of its own. */
static void fuse(dc_graph *g)
{
    for (int i = 0; !g->opts.no_fuse && i < g->n_nodes; i++) { /* BatchNormalization -> ReLU, Dense -> GELU */
        dc_batchnorm_fuse_relu(g->nodes[i]);
        dc_dense_fuse_gelu(g->nodes[i]);
    }
}

/* Compile with opts.share_params: every parameter is the shared graph's
 * one of the same name, shape and trainability, in its buffer. */
static dc_status compile_shared(dc_graph *g, int max_batch)
{
    const dc_graph *s = g->opts.share_params;
    if (!s->compiled)
        return dc_fail(DC_ERR_STATE, "graph compile: the graph whose parameters are shared is not compiled");
    for (int i = 0; i < g->n_nodes; i++) {
        dc_node *n = g->nodes[i];
        if (!n->is_param)
            continue;
        const dc_node *p = NULL;
        for (int j = 0; j < s->n_nodes && !p; j++)
            if (s->nodes[j]->is_param && !strcmp(s->nodes[j]->name, n->name))
                p = s->nodes[j];
        if (!p || dc_node_numel(p) != dc_node_numel(n) || p->trainable != n->trainable)
            return dc_fail(DC_ERR_ARG, "graph compile: parameter %s %s in the graph whose parameters are shared",
                           n->name, !p ? "is not" : p->trainable != n->trainable ? "differs in trainability"
                                                                                  : "has another size");
        n->param_offset = p->param_offset;
    }
    size_t total = s->n_params;
    g->grads = dc_malloc_aligned((total ? total : 16) * sizeof(float));
    if (!g->grads)
        return dc_fail(DC_ERR_NOMEM, "graph compile: out of memory for %zu gradients", total);
    memset(g->grads, 0, (total ? total : 16) * sizeof(float));
    g->params = s->params;
    g->params_borrowed = 1;
    g->n_params = total;
    g->n_trainable = s->n_trainable;
    for (int i = 0; i < g->n_nodes; i++) {
        dc_node *n = g->nodes[i];
        if (n->is_param) {
            n->val = g->params + n->param_offset;
            n->grad = n->trainable ? g->grads + n->param_offset : NULL;
        }
    }
    g->compiled = 1;
    return dc_graph_reserve(g, max_batch);
}

dc_status dc_graph_compile(dc_graph *g, int max_batch, dc_rng *rng)
{
    if (!g)
        return dc_fail(DC_ERR_ARG, "graph compile: graph is NULL");
    if (g->compiled)
        return dc_fail(DC_ERR_STATE, "graph compile: already compiled");
    if (max_batch < 1)
        return dc_fail(DC_ERR_ARG, "graph compile: max_batch is %d, expected >= 1", max_batch);
    fuse(g);
    if (g->opts.share_params)
        return compile_shared(g, max_batch);
    /* Trainable parameters first, so the optimiser covers params[0, n_trainable). */
    size_t total = 0;
    for (int pass = 1; pass >= 0; pass--) {
        for (int i = 0; i < g->n_nodes; i++) {
            dc_node *n = g->nodes[i];
            if (!n->is_param || n->trainable != pass)
                continue;
            n->param_offset = total;
            total = dc_size_add(total, dc_size_add(dc_node_numel(n), 15) & ~(size_t)15);
        }
        if (pass == 1)
            g->n_trainable = total;
    }
    if (dc_size_mul(total, sizeof(float)) == SIZE_MAX)
        return dc_fail(DC_ERR_SHAPE, "graph compile: the parameters' sizes overflow a size_t");
    g->params = dc_malloc_aligned((total ? total : 16) * sizeof(float));
    g->grads = dc_malloc_aligned((total ? total : 16) * sizeof(float));
    dc_status st = DC_OK;
    if (!g->params || !g->grads)
        st = dc_fail(DC_ERR_NOMEM, "graph compile: out of memory for %zu parameters", total);
    else {
        memset(g->params, 0, (total ? total : 16) * sizeof(float));
        memset(g->grads, 0, (total ? total : 16) * sizeof(float));
        g->n_params = total;
    }
    for (int i = 0; st == DC_OK && i < g->n_nodes; i++) {
        dc_node *n = g->nodes[i];
        if (!n->is_param)
            continue;
        n->val = g->params + n->param_offset;
        n->grad = n->trainable ? g->grads + n->param_offset : NULL;
        int fan_in, fan_out;
        dc_compute_fans(n->ndim, n->shape, &fan_in, &fan_out);
        if (n->init_values) /* values the layer holds (Normalization's mean and variance) */
            memcpy(n->val, n->init_values, dc_node_numel(n) * sizeof(float));
        else
            st = dc_init_fill(&n->init, n->val, dc_node_numel(n), fan_in, fan_out, rng, &g->opts, n->name);
    }
    if (st != DC_OK) { /* nothing half-made stays: a later compile starts afresh */
        dc_free_aligned(g->params);
        dc_free_aligned(g->grads);
        g->params = g->grads = NULL;
        g->n_params = g->n_trainable = 0;
        for (int i = 0; i < g->n_nodes; i++)
            if (g->nodes[i]->is_param)
                g->nodes[i]->val = g->nodes[i]->grad = NULL;
        return st;
    }
    g->compiled = 1;
    return dc_graph_reserve(g, max_batch);
}

dc_status dc_graph_set_batch(dc_graph *g, int batch)
{
    DC_CHECK_NULL(g);
    if (!g->compiled)
        return dc_fail(DC_ERR_STATE, "graph: set_batch before compile");
    if (batch < 1 || batch > g->max_batch)
        return dc_fail(DC_ERR_ARG, "graph: batch %d outside the planned range 1..%d", batch, g->max_batch);
    set_batch_shapes(g, batch);
    return DC_OK;
}

unsigned dc_graph_mark_ancestors(dc_graph *g, dc_node *target)
{
    unsigned mark = ++g->mark_epoch;
    target->mark = mark;
    for (int i = target->id; i >= 0; i--) {
        dc_node *n = g->nodes[i];
        if (n->mark != mark)
            continue;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k])
                n->in[k]->mark = mark;
    }
    return mark;
}

void dc_run_rng_skip(const dc_run *run, size_t per_row, int rows, int before)
{
    if (!run->rng || run->shard_total <= 0)
        return;
    int skip_rows = before ? run->shard_offset : run->shard_total - run->shard_offset - rows;
    dc_rng_skip(run->rng, (size_t)(skip_rows > 0 ? skip_rows : 0) * per_row);
}

dc_status dc_graph_forward(dc_graph *g, dc_node *target, int training)
{
    DC_CHECK_NULL(g);
    DC_CHECK_NULL(target);
    return dc_graph_forward_run(g, target, &(dc_run){.training = training, .rng = NULL});
}

dc_status dc_graph_forward_run(dc_graph *g, dc_node *target, const dc_run *run)
{
    if (!g || !target)
        return dc_fail(DC_ERR_ARG, "graph forward: NULL argument");
    if (!g->compiled)
        return dc_fail(DC_ERR_STATE, "graph forward: the graph is not compiled");
    unsigned mark = dc_graph_mark_ancestors(g, target);
    for (int i = 0; i <= target->id; i++) {
        dc_node *n = g->nodes[i];
        if (n->mark != mark || !n->op->forward)
            continue;
        double t0 = g->profile ? seconds() : 0;
        dc_status st = n->op->forward(n, run);
        if (g->profile)
            n->time_fwd += seconds() - t0;
        if (st != DC_OK)
            return st;
    }
    return DC_OK;
}

dc_status dc_graph_backward(dc_graph *g, dc_node *loss)
{
    DC_CHECK_NULL(g);
    DC_CHECK_NULL(loss);
    return dc_graph_backward_run(g, loss, &(dc_run){.training = 1, .rng = NULL});
}

/* Whether n's gradient is zeroed before a backward: an activation's that
 * this backward reaches, unless its one consumer writes all of it. */
static int needs_zero(const dc_node *n, unsigned mark)
{
    return n->mark == mark && n->grad && !n->is_param && !(n->op->flags & DC_OP_ALIASES_INPUT) && !n->grad_set;
}

/* Marks grad_set the activations whose one consumer this backward writes
 * their whole gradient (dc_op.writes_input_grad), unless opts.no_grad_set;
 * also through a chain of reshapes that share the buffer, each read once. */
static void mark_grad_set(dc_graph *g, const dc_node *loss, unsigned mark)
{
    for (int i = 0; i <= loss->id; i++) {
        g->nodes[i]->grad_set = 0;
        g->nodes[i]->live_consumers = 0;
    }
    /* consumers this backward runs: a layer may have built nodes that no
     * output reads (MultiHeadAttention's unfused path beside the fused op) */
    for (int i = 0; i <= loss->id; i++)
        for (int j = 0; g->nodes[i]->mark == mark && j < g->nodes[i]->n_in; j++)
            if (g->nodes[i]->in[j])
                g->nodes[i]->in[j]->live_consumers++;
    for (int i = 0; !g->opts.no_grad_set && i <= loss->id; i++) {
        const dc_node *c = g->nodes[i];
        if (c->mark != mark || !c->requires_grad || !c->op->writes_input_grad)
            continue;
        for (int j = 0; j < c->n_in; j++) {
            /* x, or through reshapes read by nothing else the node whose
             * gradient buffer x shares (a projection reshaped into heads) */
            dc_node *x = c->in[j], *owner = x;
            while (owner && owner->live_consumers == 1 && (owner->op->flags & DC_OP_ALIASES_INPUT))
                owner = owner->in[0];
            if (!owner || owner->live_consumers != 1 || !owner->grad || owner->is_param ||
                (owner->op->flags & DC_OP_ALIASES_INPUT) || !c->op->writes_input_grad(c, j))
                continue;
            for (dc_node *a = x; a != owner; a = a->in[0])
                a->grad_set = 1;
            owner->grad_set = 1;
        }
    }
}

/* Zeroes the parameters' gradients and those of every marked activation up
 * to `loss` (backward adds into them), each thread its own slice of every
 * buffer: tens of megabytes a step for a CNN at batch 64.  An activation
 * whose one consumer writes its whole gradient is left alone (grad_set). */
static void zero_grads(dc_graph *g, const dc_node *loss, unsigned mark)
{
    mark_grad_set(g, loss, mark);
    double total = (double)g->n_params;
    for (int i = 0; i <= loss->id; i++)
        if (needs_zero(g->nodes[i], mark))
            total += (double)dc_node_numel(g->nodes[i]);
#pragma omp parallel if (dc_worth_parallel(total))
    {
        size_t lo, hi;
        dc_thread_range(g->n_params, 16, &lo, &hi);
        memset(g->grads + lo, 0, (hi - lo) * sizeof(float));
        for (int i = 0; i <= loss->id; i++) {
            dc_node *n = g->nodes[i];
            if (needs_zero(n, mark)) {
                dc_thread_range(dc_node_numel(n), 16, &lo, &hi);
                memset(n->grad + lo, 0, (hi - lo) * sizeof(float));
            }
        }
    }
}

dc_status dc_graph_backward_run(dc_graph *g, dc_node *loss, const dc_run *run)
{
    return dc_graph_backward_from(g, loss, NULL, run, NULL, NULL);
}

dc_status dc_graph_backward_from(dc_graph *g, dc_node *loss, const float *seed, const dc_run *run, dc_node *capture,
                                 float *capture_out)
{
    if (!g || !loss)
        return dc_fail(DC_ERR_ARG, "graph backward: NULL argument");
    if (!g->compiled)
        return dc_fail(DC_ERR_STATE, "graph backward: the graph is not compiled");
    if (!seed && dc_node_numel(loss) != 1)
        return dc_fail(DC_ERR_SHAPE, "graph backward: %s has %zu values, expected a scalar loss", loss->name,
                       dc_node_numel(loss));
    if (!loss->requires_grad)
        return dc_fail(DC_ERR_ARG,
                       "graph backward: %s depends on no trainable parameter and on no input whose gradient was "
                       "asked for (dc_graph_input_grad)", loss->name);
    unsigned mark = dc_graph_mark_ancestors(g, loss);
    if (capture && (capture->mark != mark || !capture->grad))
        return dc_fail(DC_ERR_ARG, "graph backward: %s %s", capture->name,
                       capture->mark != mark ? "is not an input of the backward's start" : "carries no gradient");
    zero_grads(g, loss, mark);
    g->capturing = capture != NULL;
    if (seed)
        memcpy(loss->grad, seed, dc_node_numel(loss) * sizeof(float));
    else
        loss->grad[0] = 1.0f;
    for (int i = loss->id; i >= 0; i--) {
        dc_node *n = g->nodes[i];
        if (n == capture) /* every consumer ran; its own backward has not */
            memcpy(capture_out, n->grad, dc_node_numel(n) * sizeof(float));
        if (n->mark == mark && n->requires_grad && n->op->backward) {
            double t0 = g->profile ? seconds() : 0;
            n->op->backward(n, run);
            if (g->profile)
                n->time_bwd += seconds() - t0;
        }
    }
    return DC_OK;
}

/* ---- gradients with respect to input nodes (dc_graph_input_grad) ----
 * An input asked for its gradient carries one, and so does every node that
 * depends on it (a mask made from it excepted: step_mask cuts, as for token
 * ids).  Such nodes are flagged grad_from_input, so that turning every
 * input off puts requires_grad and the gradient buffers back as a graph
 * without input gradients has them: training then does exactly the work it
 * did before. */
static int propagate_input_grads(dc_graph *g)
{
    int missing = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        dc_node *n = g->nodes[i];
        if (n->grad_from_input) {
            n->requires_grad = 0;
            n->grad_from_input = 0;
            if (!(n->op->flags & DC_OP_ALIASES_INPUT) || !n->in[0]->requires_grad)
                n->grad = NULL;
        }
        int want = n->wants_grad;
        for (int k = 0; !want && k < n->n_in && n->op != &dc_op_step_mask; k++)
            want = n->in[k] && n->in[k]->requires_grad;
        if (want && !n->requires_grad && !n->is_param) {
            n->requires_grad = 1;
            n->grad_from_input = 1;
            if (n->op->flags & DC_OP_ALIASES_INPUT)
                n->grad = n->in[0]->grad;
            missing |= !n->grad;
        }
    }
    return missing;
}

dc_status dc_graph_input_grad(dc_graph *g, dc_node *input, int on)
{
    DC_CHECK_NULL(g);
    DC_CHECK_NULL(input);
    if (input->graph != g || input->op != &dc_op_input)
        return dc_fail(DC_ERR_ARG, "graph input_grad: %s is not an input node of this graph", input->name);
    input->wants_grad = on != 0;
    if (!propagate_input_grads(g) || !g->compiled)
        return DC_OK;
    /* compiled: plan the arena anew with the gradient buffers now needed */
    int max_batch = g->max_batch;
    g->max_batch = 0;
    dc_status st = dc_graph_reserve(g, max_batch);
    if (st != DC_OK) { /* the old plan stays; the flags go back */
        g->max_batch = max_batch;
        input->wants_grad = 0;
        propagate_input_grads(g);
    }
    return st;
}

dc_status dc_graph_backward_seed(dc_graph *g, dc_node *out, const float *seed, size_t count, int training)
{
    DC_CHECK_NULL(g);
    DC_CHECK_NULL(out);
    if (seed && count != dc_node_numel(out))
        return dc_fail(DC_ERR_SHAPE, "graph backward: the seed has %zu values, %s holds %zu", count, out->name,
                       dc_node_numel(out));
    return dc_graph_backward_from(g, out, seed, &(dc_run){.training = training, .rng = NULL}, NULL, NULL);
}

float *dc_node_value(dc_node *n)
{
    DC_CHECK_NULL_OR(n, NULL);
    return n->val;
}
float *dc_node_grad(dc_node *n)
{
    DC_CHECK_NULL_OR(n, NULL);
    return n->grad;
}
size_t dc_node_size(const dc_node *n)
{
    DC_CHECK_NULL_OR(n, 0);
    return dc_node_numel(n);
}

int dc_node_shape(const dc_node *n, int *shape)
{
    DC_CHECK_NULL_OR(n, -1);
    DC_CHECK_NULL_OR(shape, -1);
    memcpy(shape, n->shape, (size_t)n->ndim * sizeof(int));
    return n->ndim;
}

dc_status dc_node_set(dc_node *n, const float *data, size_t count)
{
    DC_CHECK_NULL(n);
    DC_CHECK_NULL(data);
    if (!n || !n->val)
        return dc_fail(DC_ERR_STATE, "node set: the node has no buffer (compile the graph first)");
    if (count != dc_node_numel(n))
        return dc_fail(DC_ERR_SHAPE, "%s: got %zu values, node holds %zu", n->name, count, dc_node_numel(n));
    memcpy(n->val, data, count * sizeof(float));
    return DC_OK;
}

float *dc_graph_params(dc_graph *g, size_t *count)
{
    DC_CHECK_NULL_OR(g, NULL);
    if (count)
        *count = g->n_params;
    return g->params;
}

float *dc_graph_grads(dc_graph *g, size_t *count)
{
    DC_CHECK_NULL_OR(g, NULL);
    if (count)
        *count = g->n_params;
    return g->grads;
}

void dc_thread_range(size_t n, size_t align, size_t *lo, size_t *hi)
{
    size_t nt = (size_t)omp_get_num_threads(), id = (size_t)omp_get_thread_num();
    size_t chunk = (n + nt - 1) / nt;
    chunk = (chunk + align - 1) / align * align;
    *lo = id * chunk < n ? id * chunk : n;
    *hi = *lo + chunk < n ? *lo + chunk : n;
}

/* A parallel region costs a few microseconds to open and join here; below
 * this much work one thread is faster. */
#define DC_PAR_MIN_FLOPS 2e5

int dc_worth_parallel(double flops) { return flops >= DC_PAR_MIN_FLOPS && omp_get_max_threads() > 1; }

size_t dc_graph_trainable_count(const dc_graph *g)
{
    DC_CHECK_NULL_OR(g, 0);
    return g->n_trainable;
}
