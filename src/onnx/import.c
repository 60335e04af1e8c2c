/*
 * import.c - dc_model_load_onnx: an ONNX file (a PyTorch export, say) into
 * a compiled functional deepc model made of deepc layers, whose weights are
 * trainable (predict, fit and dc_model_save work on it).
 *
 * This file reads and checks the file and drives the translation:
 * - the bytes are read with dc_file_read_all (a regular file only, at most
 *   the configured size) and parsed by protobuf-c's generated
 *   onnx__model_proto__unpack, never by hand, through an allocator that
 *   counts bytes: a hostile file cannot make the parser allocate more than
 *   a budget (a multiple of its size, at most cfg->max_parse_bytes);
 * - the operator set must be the default domain's, version 7 to
 *   DC_ONNX_OPSET_DEFAULT; every tensor's shape is checked (dims >= 0, each
 *   value counted with the checked helpers of core/checked.h) against the
 *   data it holds; external data is read only from a file inside the
 *   model's folder (no absolute path, no "..", no symbolic link out);
 * - the nodes are ordered topologically (Kahn), so a cycle or an input that
 *   no node, initializer or graph input produces is an error naming it;
 * - each node goes to its op type's translator (import_ops.c) over the
 *   value map (onnx_internal.h); an op without one is an error naming the
 *   op type, the node and the supported list;
 * - the model is built and its planned activations checked against the
 *   load budget (DC_LOAD_MAX_BYTES convention), then compiled and the
 *   weights copied in.  Any failure frees everything: nothing half-made
 *   reaches the caller.
 */
#include "onnx/onnx_internal.h"

#include "io/file.h"
#include "model/model.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------- counting allocator */

typedef struct budget {
    size_t used, limit;
} budget;

static void *budget_alloc(void *data, size_t size)
{
    budget *b = data;
    size_t total = dc_size_add(size, sizeof(max_align_t));
    if (total == SIZE_MAX || dc_size_add(b->used, total) > b->limit)
        return NULL;
    max_align_t *p = malloc(total);
    if (!p)
        return NULL;
    *(size_t *)p = total;
    b->used += total;
    return p + 1;
}

static void budget_free(void *data, void *ptr)
{
    if (!ptr)
        return;
    budget *b = data;
    max_align_t *p = (max_align_t *)ptr - 1;
    b->used -= *(size_t *)p;
    free(p);
}

/* ------------------------------------------------------------- value map */

static size_t out_slot(const dc_onnx_importer *im, const char *name);

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

dc_onnx_value *dc_onnx_find(dc_onnx_importer *im, const char *name)
{
    if (!name || !name[0] || !im->table_size)
        return NULL;
    for (size_t i = hash_str(name) & (im->table_size - 1);; i = (i + 1) & (im->table_size - 1)) {
        int k = im->table[i];
        if (!k)
            return NULL;
        if (!strcmp(im->vals[k - 1].name, name))
            return &im->vals[k - 1];
    }
}

dc_onnx_value *dc_onnx_define(dc_onnx_importer *im, const char *name)
{
    if (!name || !name[0]) {
        dc_fail(DC_ERR_FORMAT, "a value has an empty name");
        return NULL;
    }
    if (dc_onnx_find(im, name)) {
        dc_fail(DC_ERR_FORMAT, "value '%s' is defined twice", name);
        return NULL;
    }
    if (im->n_vals == im->cap_vals) { /* sized up front (run_import): every name counted */
        dc_fail(DC_ERR_FORMAT, "more values than the graph names");
        return NULL;
    }
    dc_onnx_value *v = &im->vals[im->n_vals++];
    memset(v, 0, sizeof *v);
    v->name = name;
    v->ref = -1;
    v->reader = -1;
    int p = dc_onnx_producer(im, name);
    if (p >= 0) { /* a node output: its uses were counted by name */
        const dc_onnx_slot *sl = &im->out_tab[out_slot(im, name)];
        v->uses = sl->uses;
        v->reader = sl->reader;
    }
    size_t i = hash_str(name) & (im->table_size - 1);
    while (im->table[i])
        i = (i + 1) & (im->table_size - 1);
    im->table[i] = im->n_vals;
    return v;
}

size_t dc_onnx_numel(const dc_onnx_value *v)
{
    size_t n = 1;
    for (int i = 0; i < v->ndim; i++)
        n = dc_size_mul(n, v->dims[i] > 0 ? (size_t)v->dims[i] : 0);
    return n;
}

int dc_onnx_apply(dc_onnx_importer *im, const Onnx__NodeProto *node, dc_layer *layer, int n, const int *refs)
{
    int r = n == 1 ? dc_model_apply(im->m, layer, refs[0]) : dc_model_merge(im->m, layer, n, refs);
    if (r < 0) {
        dc_err_prefix(node->name && node->name[0] ? node->name : node->op_type);
        return -1;
    }
    im->n_layers++;
    return r;
}

dc_status dc_onnx_weight_add(dc_onnx_importer *im, int index, float *data, size_t n)
{
    if (!data)
        return DC_ERR_NOMEM;
    if (im->n_weights == im->cap_weights) {
        int cap = im->cap_weights ? 2 * im->cap_weights : 16;
        dc_onnx_weight *w = realloc(im->weights, (size_t)cap * sizeof *w);
        if (!w) {
            free(data);
            return dc_fail(DC_ERR_NOMEM, "out of memory");
        }
        im->weights = w;
        im->cap_weights = cap;
    }
    im->weights[im->n_weights++] = (dc_onnx_weight){im->n_layers - 1, index, data, n};
    return DC_OK;
}

/* ---------------------------------------------------------------- tensors */

/* Element size and kind of the data types the reader takes. */
static int elem_size(int type, int *is_int)
{
    *is_int = 1;
    switch (type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: *is_int = 0; return 4;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: *is_int = 0; return 8;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return 8;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return 4;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT16: return 2;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return 1;
    default: return 0;
    }
}

static double raw_value(const uint8_t *p, int type)
{
    switch (type) { /* little-endian, as ONNX stores raw_data */
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: {
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: {
        uint64_t u = 0;
        for (int i = 7; i >= 0; i--)
            u = u << 8 | p[i];
        if (type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
            return (double)(int64_t)u;
        double d;
        memcpy(&d, &u, 8);
        return d;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: {
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        return (double)(int32_t)u;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT16: return (double)(int16_t)(uint16_t)(p[0] | p[1] << 8);
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: return (double)(int8_t)p[0];
    default: return (double)p[0];
    }
}

/* The external file `location` inside im->dir: refused when absolute, with
 * a ".." component, or resolving (symbolic links followed) outside it. */
static dc_status external_path(const dc_onnx_importer *im, const char *tname, const char *location, char *out,
                               size_t size)
{
    if (!location || !location[0])
        return dc_fail(DC_ERR_FORMAT, "tensor '%s': external data without a location", tname);
    if (location[0] == '/')
        return dc_fail(DC_ERR_FORMAT, "tensor '%s': external data location '%s' is an absolute path; only files "
                                      "beside the model are read", tname, location);
    for (const char *p = location; *p;) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return dc_fail(DC_ERR_FORMAT, "tensor '%s': external data location '%s' leaves the model's folder "
                                          "(\"..\"); only files beside the model are read", tname, location);
        p += len + (e != NULL);
    }
    char joined[PATH_MAX], dir_real[PATH_MAX], file_real[PATH_MAX];
    if ((size_t)snprintf(joined, sizeof joined, "%s/%s", im->dir, location) >= sizeof joined)
        return dc_fail(DC_ERR_FORMAT, "tensor '%s': external data location is too long", tname);
    if (!realpath(im->dir, dir_real) || !realpath(joined, file_real))
        return dc_fail(DC_ERR_IO, "tensor '%s': external data file '%s': %s", tname, joined, strerror(errno));
    size_t n = strlen(dir_real);
    if (strncmp(file_real, dir_real, n) != 0 || (file_real[n] != '/' && strcmp(dir_real, "/") != 0))
        return dc_fail(DC_ERR_FORMAT, "tensor '%s': external data '%s' resolves to '%s', outside the model's folder "
                                      "'%s'", tname, location, file_real, dir_real);
    if ((size_t)snprintf(out, size, "%s", file_real) >= size)
        return dc_fail(DC_ERR_FORMAT, "tensor '%s': external data path is too long", tname);
    return DC_OK;
}

static dc_status parse_u64(const char *tname, const char *key, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!s[0] || *end || errno || s[0] == '-')
        return dc_fail(DC_ERR_FORMAT, "tensor '%s': external data %s '%s' is not a number", tname, key, s);
    *out = v;
    return DC_OK;
}

/* Reads `bytes` bytes of tensor t's external data into *out (new). */
static dc_status read_external(dc_onnx_importer *im, const Onnx__TensorProto *t, size_t bytes, uint8_t **out)
{
    const char *tname = t->name ? t->name : "";
    const char *location = NULL;
    uint64_t offset = 0, length = bytes;
    int has_length = 0;
    dc_status st = DC_OK;
    for (size_t i = 0; i < t->n_external_data && st == DC_OK; i++) {
        const Onnx__StringStringEntryProto *e = t->external_data[i];
        if (!e->key || !e->value)
            continue;
        if (!strcmp(e->key, "location"))
            location = e->value;
        else if (!strcmp(e->key, "offset"))
            st = parse_u64(tname, "offset", e->value, &offset);
        else if (!strcmp(e->key, "length"))
            st = parse_u64(tname, "length", e->value, &length), has_length = 1;
    }
    char path[PATH_MAX];
    if (st == DC_OK && !im->dir[0])
        st = dc_fail(DC_ERR_FORMAT, "tensor '%s': external data, but this model was given in memory", tname);
    if (st == DC_OK)
        st = external_path(im, tname, location, path, sizeof path);
    if (st != DC_OK)
        return st;
    if (has_length && length != bytes)
        return dc_fail(DC_ERR_FORMAT, "tensor '%s': external data length %llu, its shape needs %zu bytes", tname,
                       (unsigned long long)length, bytes);
    int fd;
    size_t fsize;
    if ((st = dc_file_open_read(path, "ONNX external data", &fd, &fsize)) != DC_OK)
        return st;
    if (offset > fsize || bytes > fsize - offset) {
        close(fd);
        return dc_fail(DC_ERR_FORMAT, "tensor '%s': external data needs bytes %llu to %llu of '%s', which has %zu",
                       tname, (unsigned long long)offset, (unsigned long long)(offset + bytes), path, fsize);
    }
    uint8_t *buf = malloc(bytes ? bytes : 1);
    size_t got = 0;
    while (buf && got < bytes) {
        ssize_t r = pread(fd, buf + got, bytes - got, (off_t)(offset + got));
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!buf)
        return dc_fail(DC_ERR_NOMEM, "tensor '%s': out of memory for %zu bytes", tname, bytes);
    if (got < bytes) {
        free(buf);
        return dc_fail(DC_ERR_IO, "tensor '%s': reading '%s' failed", tname, path);
    }
    *out = buf;
    return DC_OK;
}

dc_status dc_onnx_tensor(dc_onnx_importer *im, const Onnx__TensorProto *t, dc_onnx_value *v)
{
    const char *tname = t->name && t->name[0] ? t->name : v->name;
    int is_int, esize = elem_size(t->data_type, &is_int);
    if (!esize)
        return dc_fail(DC_ERR_FORMAT, "tensor '%s': data type %d is not supported (float, double, int8 to int64, "
                                      "uint8, bool)", tname, t->data_type);
    if (t->n_dims > DC_ONNX_MAX_RANK)
        return dc_fail(DC_ERR_FORMAT, "tensor '%s': %zu dimensions, at most %d", tname, t->n_dims, DC_ONNX_MAX_RANK);
    v->kind = DC_ONNX_CONST;
    v->ndim = (int)t->n_dims;
    v->is_int = is_int;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0 || t->dims[i] > (int64_t)DC_ONNX_MAX_CONST)
            return dc_fail(DC_ERR_FORMAT, "tensor '%s': dimension %zu is %lld (0 to %zu)", tname, i,
                           (long long)t->dims[i], DC_ONNX_MAX_CONST);
        v->dims[i] = t->dims[i];
    }
    size_t n = dc_onnx_numel(v);
    if (n > DC_ONNX_MAX_CONST)
        return dc_fail(DC_ERR_FORMAT, "tensor '%s': %zu values, more than the %zu a constant may hold", tname, n,
                       DC_ONNX_MAX_CONST);
    size_t bytes = dc_size_mul(n, (size_t)esize);
    uint8_t *ext = NULL;
    const uint8_t *raw = NULL;
    size_t have;
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        dc_status st = read_external(im, t, bytes, &ext);
        if (st != DC_OK)
            return st;
        raw = ext;
        have = n;
    } else if (t->has_raw_data) {
        raw = t->raw_data.data;
        have = t->raw_data.len / (size_t)esize;
        if (t->raw_data.len % (size_t)esize)
            return dc_fail(DC_ERR_FORMAT, "tensor '%s': raw data of %zu bytes is not a whole number of %d-byte values",
                           tname, t->raw_data.len, esize);
    } else {
        switch (t->data_type) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: have = t->n_float_data; break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: have = t->n_double_data; break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: have = t->n_int64_data; break;
        default: have = t->n_int32_data; break;
        }
    }
    if (have != n) {
        free(ext);
        return dc_fail(DC_ERR_FORMAT, "tensor '%s': holds %zu values, its shape needs %zu", tname, have, n);
    }
    v->data = malloc(dc_size_mul(n ? n : 1, sizeof(double)));
    if (!v->data) {
        free(ext);
        return dc_fail(DC_ERR_NOMEM, "tensor '%s': out of memory for %zu values", tname, n);
    }
    for (size_t i = 0; i < n; i++) {
        if (raw)
            v->data[i] = raw_value(raw + i * (size_t)esize, t->data_type);
        else if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
            v->data[i] = t->float_data[i];
        else if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
            v->data[i] = t->double_data[i];
        else if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
            v->data[i] = (double)t->int64_data[i];
        else
            v->data[i] = t->int32_data[i];
    }
    free(ext);
    return DC_OK;
}

/* ------------------------------------------------------------ graph input */

/* A graph input becomes a model input: the first axis is the batch, the
 * others must be fixed.  An input that a Conv, a pooling or a
 * BatchNormalization reads directly is (N, C, H, W) or (N, C, L) by ONNX's
 * definition: it is stored channels last, (N, H, W, C) or (N, L, C), the
 * only layout change an NCHW model needs (every later value follows through
 * pos).  Any other input is stored as it is: a model exported from an NHWC
 * framework (deepc, Keras), whose graph starts with a Transpose to NCHW,
 * keeps its NHWC input, and that Transpose costs nothing. */
static dc_status add_input(dc_onnx_importer *im, const Onnx__ValueInfoProto *vi, int spatial, const int *fixed)
{
    const char *name = vi->name;
    const Onnx__TypeProto *type = vi->type;
    if (!type || type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !type->tensor_type)
        return dc_fail(DC_ERR_FORMAT, "input '%s': not a tensor", name);
    const Onnx__TypeProto__Tensor *tt = type->tensor_type;
    int is_int;
    if (!elem_size(tt->elem_type, &is_int))
        return dc_fail(DC_ERR_FORMAT, "input '%s': element type %d is not supported", name, tt->elem_type);
    if (!tt->shape || tt->shape->n_dim < 2 || tt->shape->n_dim > DC_ONNX_MAX_RANK)
        return dc_fail(DC_ERR_FORMAT, "input '%s': needs a shape of 2 to %d axes, the first the batch", name,
                       DC_ONNX_MAX_RANK);
    dc_onnx_value *v = dc_onnx_define(im, name);
    if (!v)
        return dc_last_status();
    v->kind = DC_ONNX_DYN;
    v->ndim = (int)tt->shape->n_dim;
    v->is_int = is_int;
    v->dims[0] = -1;
    for (int i = 1; i < v->ndim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        if (fixed && fixed[i] != 0) {
            if (fixed[i] < 1 || fixed[i] > DC_DIM_LIMIT)
                return dc_fail(DC_ERR_ARG, "input '%s': input_shape[%d] is %d; expected 1 to %d (0: the file's)",
                               name, i, fixed[i], DC_DIM_LIMIT);
            if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && d->dim_value != fixed[i])
                return dc_fail(DC_ERR_ARG, "input '%s': input_shape[%d] is %d but the file fixes axis %d at %lld",
                               name, i, fixed[i], i, (long long)d->dim_value);
            v->dims[i] = fixed[i];
            continue;
        }
        if (d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE || d->dim_value < 1 ||
            d->dim_value > DC_DIM_LIMIT)
            return dc_fail(DC_ERR_FORMAT, "input '%s': axis %d is %s%lld; deepc needs a fixed size of 1 to %d after "
                                          "the batch axis", name, i,
                           d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM ? "the dynamic " : "",
                           d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                               ? (long long)d->dim_value : 0LL, DC_DIM_LIMIT);
        v->dims[i] = d->dim_value;
    }
    for (int i = 0; i < v->ndim; i++)
        v->pos[i] = i;
    if (spatial && v->ndim >= 3) /* channels last */
        for (int i = 1; i < v->ndim; i++)
            v->pos[i] = i == 1 ? v->ndim - 1 : i - 1;
    int shape[DC_ONNX_MAX_RANK];
    for (int i = 1; i < v->ndim; i++)
        shape[v->pos[i] - 1] = (int)v->dims[i];
    if (!im->m) {
        im->m = dc_functional_new(v->ndim - 1, shape);
        if (!im->m)
            return dc_last_status() != DC_OK ? dc_last_status() : dc_fail(DC_ERR_NOMEM, "out of memory");
        v->ref = DC_MODEL_INPUT;
    } else if ((v->ref = dc_model_input(im->m, v->ndim - 1, shape)) < 0) {
        dc_err_prefix(name);
        return dc_last_status();
    }
    return DC_OK;
}

/* ---------------------------------------------------------- the whole run */

/* The output-name table (im->out_tab): slot = node index + 1 and output
 * index, by name hash. */
static size_t out_slot(const dc_onnx_importer *im, const char *name)
{
    const Onnx__GraphProto *g = im->graph;
    size_t h = hash_str(name) & (im->out_size - 1);
    for (; im->out_tab[h].node; h = (h + 1) & (im->out_size - 1)) {
        const Onnx__NodeProto *q = g->node[im->out_tab[h].node - 1];
        if (!strcmp(q->output[im->out_tab[h].k], name))
            break;
    }
    return h;
}

int dc_onnx_producer(const dc_onnx_importer *im, const char *name)
{
    if (!name[0] || !im->out_size)
        return -1;
    return im->out_tab[out_slot(im, name)].node - 1;
}

const dc_onnx_slot *dc_onnx_slot_of(const dc_onnx_importer *im, const char *name)
{
    if (!name[0] || !im->out_size)
        return NULL;
    const dc_onnx_slot *s = &im->out_tab[out_slot(im, name)];
    return s->node ? s : NULL;
}

static const char *node_label(const Onnx__NodeProto *n) { return n->name && n->name[0] ? n->name : "(unnamed)"; }

/* Kahn's order over the nodes: order[] gets every node index once, inputs
 * first.  A node input that nothing defines, or a cycle, is an error. */
static dc_status topo_order(dc_onnx_importer *im, int *order)
{
    const Onnx__GraphProto *g = im->graph;
    size_t n = g->n_node, n_out = 0, n_in = 0;
    for (size_t i = 0; i < n; i++) {
        n_out = dc_size_add(n_out, g->node[i]->n_output);
        n_in = dc_size_add(n_in, g->node[i]->n_input);
    }
    if (n_in > INT_MAX / 2 || n_out > INT_MAX / 4 || n > INT_MAX / 2)
        return dc_fail(DC_ERR_FORMAT, "the graph has too many nodes (%zu)", n);
    im->out_size = 16;
    while (im->out_size < 2 * n_out + 2)
        im->out_size *= 2;
    im->out_tab = calloc(im->out_size, sizeof *im->out_tab);
    int *missing = calloc(n + 1, sizeof(int)); /* inputs not yet available, per node */
    int *queue = malloc((n + 1) * sizeof(int));
    int *cons_start = calloc(n + 2, sizeof(int)), *fill = calloc(n + 1, sizeof(int));
    int *cons = malloc((n_in + 1) * sizeof(int)); /* CSR: the nodes reading each node's outputs */
    dc_status st = DC_OK;
    if (!im->out_tab || !missing || !queue || !cons_start || !fill || !cons)
        st = dc_fail(DC_ERR_NOMEM, "out of memory ordering %zu nodes", n);
    for (size_t i = 0; i < n && st == DC_OK; i++)
        for (size_t k = 0; k < g->node[i]->n_output && st == DC_OK; k++) {
            const char *o = g->node[i]->output[k];
            if (!o[0])
                continue;
            size_t h = out_slot(im, o);
            if (im->out_tab[h].node || dc_onnx_find(im, o))
                st = dc_fail(DC_ERR_FORMAT, "node '%s' (%s): output '%s' is already defined", node_label(g->node[i]),
                             g->node[i]->op_type, o);
            else
                im->out_tab[h] = (dc_onnx_slot){(int)i + 1, (int)k, 0, -1};
        }
    for (int pass = 0; pass < 2 && st == DC_OK; pass++) {
        for (size_t i = 0; i < n && st == DC_OK; i++) {
            const Onnx__NodeProto *nd = g->node[i];
            for (size_t k = 0; k < nd->n_input && st == DC_OK; k++) {
                const char *in = nd->input[k];
                if (!in[0] || dc_onnx_find(im, in))
                    continue;
                int p = dc_onnx_producer(im, in);
                if (p < 0)
                    st = dc_fail(DC_ERR_FORMAT, "node '%s' (%s): input '%s' is produced by no node, initializer or "
                                                "graph input", node_label(nd), nd->op_type, in);
                else if (pass == 0) {
                    missing[i]++;
                    cons_start[p + 1]++;
                } else
                    cons[cons_start[p] + fill[p]++] = (int)i;
            }
        }
        if (pass == 0)
            for (size_t i = 0; i < n; i++)
                cons_start[i + 1] += cons_start[i];
    }
    if (st == DC_OK) {
        size_t head = 0, tail = 0, done = 0;
        for (size_t i = 0; i < n; i++)
            if (!missing[i])
                queue[tail++] = (int)i;
        while (head < tail) {
            int i = queue[head++];
            order[done++] = i;
            for (int c = cons_start[i]; c < cons_start[i + 1]; c++)
                if (--missing[cons[c]] == 0)
                    queue[tail++] = cons[c];
        }
        if (done < n) {
            size_t i = 0;
            while (!missing[i])
                i++;
            st = dc_fail(DC_ERR_FORMAT, "the graph has a cycle: node '%s' (%s) waits on its own output",
                         node_label(g->node[i]), g->node[i]->op_type);
        }
    }
    free(missing);
    free(queue);
    free(cons_start);
    free(fill);
    free(cons);
    return st;
}

/* Planned activation floats at compile's batch, as the model loader counts
 * them (values, gradients, scratch of the nodes that are not weights). */
static dc_status check_budget(const dc_model *m, const char *where, size_t max_bytes, int batch)
{
    size_t total = 0;
    const dc_graph *g = m->g;
    for (int i = 0; i < g->n_nodes; i++) {
        const dc_node *d = g->nodes[i];
        size_t rows = dc_size_mul((size_t)batch, (size_t)(d->batch_mult > 0 ? d->batch_mult : 1));
        size_t values = d->batched ? dc_size_mul(dc_size_prod(d->ndim - 1, d->shape + 1), rows)
                                   : dc_size_prod(d->ndim, d->shape);
        if (d->is_param || (d->op->flags & DC_OP_ALIASES_INPUT))
            values = 0;
        size_t work = dc_size_add(d->work_fixed, dc_size_mul(d->work_per_sample, rows));
        total = dc_size_add(total, dc_size_add(dc_size_mul(values, d->requires_grad ? 2 : 1), work));
    }
    if (total > max_bytes / sizeof(float))
        return dc_fail(DC_ERR_RANGE, "%s: the model would plan %zu MiB of activations at a batch of %d, more than the "
                                     "%zu MiB the load budget allows (dc_onnx_import_config.max_activation_bytes; "
                                     "compile_batch 1 plans for one input at a time)",
                       where, dc_size_mul(total, sizeof(float)) >> 20, batch, max_bytes >> 20);
    return DC_OK;
}

static dc_status check_opset(dc_onnx_importer *im, const Onnx__ModelProto *mp)
{
    im->opset = -1;
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
        if (o->domain && o->domain[0] && strcmp(o->domain, "ai.onnx") != 0)
            continue; /* another domain: refused if a node uses it */
        if (!o->has_version || o->version < 7 || o->version > DC_ONNX_OPSET_DEFAULT)
            return dc_fail(DC_ERR_FORMAT, "opset %lld of the default domain: deepc reads opsets 7 to %d%s",
                           (long long)o->version, DC_ONNX_OPSET_DEFAULT,
                           o->version > DC_ONNX_OPSET_DEFAULT ? " (newer than supported)" : "");
        im->opset = (int)o->version;
    }
    if (im->opset < 0)
        return dc_fail(DC_ERR_FORMAT, "the model imports no opset of the default ONNX domain");
    return DC_OK;
}

/* Counts the names the graph can define (for the value table) and each
 * value's uses. */
static size_t count_names(const Onnx__GraphProto *g)
{
    size_t n = dc_size_add(g->n_input, g->n_initializer);
    for (size_t i = 0; i < g->n_node; i++)
        n = dc_size_add(n, g->node[i]->n_output);
    return n;
}

static dc_status run_import(dc_onnx_importer *im, const Onnx__ModelProto *mp, const dc_onnx_import_config *cfg)
{
    dc_status st = check_opset(im, mp);
    if (st != DC_OK)
        return st;
    const Onnx__GraphProto *g = mp->graph;
    if (!g)
        return dc_fail(DC_ERR_FORMAT, "the model has no graph");
    im->graph = mp->graph;
    size_t names = count_names(g);
    if (names > (size_t)INT_MAX / 4)
        return dc_fail(DC_ERR_FORMAT, "the graph names %zu values, too many", names);
    im->cap_vals = (int)names;
    im->vals = calloc(names ? names : 1, sizeof *im->vals);
    im->table_size = 16;
    while (im->table_size < 2 * names + 2)
        im->table_size *= 2;
    im->table = calloc(im->table_size, sizeof(int));
    im->skip = calloc(g->n_node ? g->n_node : 1, 1);
    int *order = malloc((g->n_node ? g->n_node : 1) * sizeof(int));
    if (!im->vals || !im->table || !im->skip || !order) {
        free(order);
        return dc_fail(DC_ERR_NOMEM, "out of memory for a graph of %zu values", names);
    }
    /* initializers first (old exporters list them as inputs too) */
    for (size_t i = 0; i < g->n_initializer && st == DC_OK; i++) {
        dc_onnx_value *v = dc_onnx_define(im, g->initializer[i]->name);
        st = v ? dc_onnx_tensor(im, g->initializer[i], v) : dc_last_status();
    }
    if (st == DC_OK && g->n_output != 1)
        st = dc_fail(DC_ERR_FORMAT, "the graph has %zu outputs; deepc models have one", g->n_output);
    for (size_t i = 0; i < g->n_node && st == DC_OK; i++)
        if (!g->node[i]->op_type || !g->node[i]->n_output)
            st = dc_fail(DC_ERR_FORMAT, "node %zu ('%s'): no op type or no output", i, node_label(g->node[i]));
    for (size_t i = 0; i < g->n_input && st == DC_OK; i++)
        if (!g->input[i]->name || !g->input[i]->name[0])
            st = dc_fail(DC_ERR_FORMAT, "graph input %zu has no name", i);
    if (st == DC_OK && !g->output[0]->name)
        st = dc_fail(DC_ERR_FORMAT, "the graph output has no name");
    int n_inputs = 0;
    for (size_t i = 0; i < g->n_input && st == DC_OK; i++) {
        if (dc_onnx_find(im, g->input[i]->name))
            continue;
        int spatial = 0; /* read by an op whose input ONNX defines as (N, C, spatial...) */
        static const char *const nchw_ops[] = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool",
                                               "GlobalMaxPool", "BatchNormalization"};
        for (size_t j = 0; j < g->n_node; j++)
            for (size_t k = 0; k < sizeof nchw_ops / sizeof nchw_ops[0]; k++)
                if (!strcmp(g->node[j]->op_type, nchw_ops[k]) && g->node[j]->n_input &&
                    !strcmp(g->node[j]->input[0], g->input[i]->name))
                    spatial = 1;
        st = add_input(im, g->input[i], spatial, n_inputs == 0 ? cfg->input_shape : NULL);
        n_inputs++;
    }
    if (st == DC_OK && !n_inputs)
        st = dc_fail(DC_ERR_FORMAT, "the graph has no input that is not an initializer");
    if (st == DC_OK)
        st = topo_order(im, order);
    /* uses: every node input and the graph output; node outputs are
     * counted in their out_tab slot, copied when they are defined */
    for (size_t i = 0; i <= g->n_node && st == DC_OK; i++) {
        size_t n_in = i < g->n_node ? g->node[i]->n_input : 1;
        for (size_t k = 0; k < n_in; k++) {
            const char *name = i < g->n_node ? g->node[i]->input[k] : g->output[0]->name;
            dc_onnx_value *v = dc_onnx_find(im, name);
            int p = v ? -1 : dc_onnx_producer(im, name);
            if (v) {
                v->uses++;
                v->reader = (int)i;
            } else if (p >= 0) {
                dc_onnx_slot *sl = &im->out_tab[out_slot(im, name)];
                sl->uses++;
                sl->reader = (int)i;
            }
        }
    }
    for (size_t i = 0; i < g->n_node && st == DC_OK; i++) {
        const Onnx__NodeProto *nd = g->node[order[i]];
        if (im->skip[order[i]])
            continue;
        if (nd->domain && nd->domain[0] && strcmp(nd->domain, "ai.onnx") != 0) {
            st = dc_fail(DC_ERR_FORMAT, "node '%s': op %s of domain '%s': only the default ONNX domain is supported",
                         node_label(nd), nd->op_type, nd->domain);
            break;
        }
        dc_onnx_translate_fn fn = dc_onnx_translator(nd->op_type);
        if (!fn) {
            st = dc_fail(DC_ERR_FORMAT, "unsupported op %s (node '%s'); deepc imports: %s", nd->op_type,
                         node_label(nd), dc_onnx_supported_ops());
            break;
        }
        if ((st = fn(im, nd)) != DC_OK && strstr(dc_errmsg(), nd->op_type) == NULL) {
            char where[160];
            snprintf(where, sizeof where, "%s '%s'", nd->op_type, node_label(nd));
            dc_err_prefix(where);
        }
    }
    free(order);
    if (st != DC_OK)
        return st;
    dc_onnx_value *out = dc_onnx_find(im, g->output[0]->name);
    if (!out)
        return dc_fail(DC_ERR_FORMAT, "the graph output '%s' is produced by nothing", g->output[0]->name);
    if ((st = dc_onnx_finish_output(im, out)) != DC_OK)
        return st;
    for (int i = 0; cfg->frozen && i < dc_model_layer_count(im->m) && st == DC_OK; i++)
        st = dc_model_set_trainable(im->m, i, 0);
    if (st != DC_OK || (st = dc_model_build(im->m)) != DC_OK)
        return st;
    int batch = cfg->compile_batch > 0 ? cfg->compile_batch : DC_COMPILE_BATCH;
    if ((st = check_budget(im->m, im->where, cfg->max_activation_bytes, batch)) != DC_OK)
        return st;
    dc_compile_config cc;
    if (cfg->compile)
        cc = *cfg->compile;
    else {
        memset(&cc, 0, sizeof cc);
        cc.optimizer = dc_optimizer_defaults(DC_OPT_ADAM);
        cc.loss = DC_LOSS_MSE;
    }
    cc.max_batch = batch;
    st = dc_model_compile_ex(im->m, &cc);
    for (int i = 0; i < im->n_weights && st == DC_OK; i++) {
        const dc_onnx_weight *w = &im->weights[i];
        st = dc_model_set_weight(im->m, w->layer, w->index, w->data, w->n);
    }
    return st;
}

dc_onnx_import_config dc_onnx_import_defaults(void)
{
    dc_onnx_import_config c = {0};
    c.max_activation_bytes = DC_LOAD_MAX_BYTES;
    c.max_file_bytes = DC_ONNX_MAX_FILE_BYTES;
    return c;
}

static dc_onnx_import_config resolve(const dc_onnx_import_config *cfg)
{
    dc_onnx_import_config c = cfg ? *cfg : dc_onnx_import_defaults();
    if (!c.max_activation_bytes)
        c.max_activation_bytes = DC_LOAD_MAX_BYTES;
    if (!c.max_file_bytes)
        c.max_file_bytes = DC_ONNX_MAX_FILE_BYTES;
    if (c.compile_batch < 0)
        c.compile_batch = 0;
    return c;
}

dc_status dc_onnx_load_buffer(const uint8_t *buf, size_t len, const char *where, const char *dir,
                              const dc_onnx_import_config *cfg, dc_model **out)
{
    *out = NULL;
    dc_onnx_import_config c = resolve(cfg);
    /* protobuf-c allocates a bounded multiple of the input (a repeated
     * field's element from one byte of input): 64 x plus 1 MiB */
    budget b = {0, dc_size_add(dc_size_mul(len, 64), (size_t)1 << 20)};
    ProtobufCAllocator alloc = {budget_alloc, budget_free, &b};
    Onnx__ModelProto *mp = onnx__model_proto__unpack(&alloc, len, buf);
    if (!mp)
        return dc_fail(DC_ERR_FORMAT, "%s: not an ONNX model (the protobuf does not parse: truncated or damaged, or "
                                      "over the parser's budget of %zu MiB)", where, b.limit >> 20);
    dc_onnx_importer *im = calloc(1, sizeof *im);
    if (!im) {
        onnx__model_proto__free_unpacked(mp, &alloc);
        return dc_fail(DC_ERR_NOMEM, "out of memory");
    }
    im->where = where;
    snprintf(im->dir, sizeof im->dir, "%s", dir ? dir : "");
    im->fold_limit = dc_size_add(dc_size_mul(len, 4), (size_t)64 << 20);
    dc_status st = run_import(im, mp, &c);
    if (st != DC_OK && strncmp(dc_errmsg(), where, strlen(where)) != 0)
        dc_err_prefix(where);
    for (int i = 0; i < im->n_vals; i++)
        free(im->vals[i].data);
    for (int i = 0; i < im->n_weights; i++)
        free(im->weights[i].data);
    free(im->vals);
    free(im->table);
    free(im->skip);
    free(im->out_tab);
    free(im->weights);
    if (st != DC_OK)
        dc_model_free(im->m);
    else
        *out = im->m;
    free(im);
    onnx__model_proto__free_unpacked(mp, &alloc);
    return st;
}

dc_status dc_model_load_onnx_ex(const char *path, const dc_onnx_import_config *cfg, dc_model **out)
{
    DC_CHECK_NULL(out);
    *out = NULL;
    DC_CHECK_NULL(path);
    dc_onnx_import_config c = resolve(cfg);
    uint8_t *buf;
    size_t len;
    dc_status st = dc_file_read_all(path, c.max_file_bytes, &buf, &len);
    if (st != DC_OK)
        return st;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    st = dc_onnx_load_buffer(buf, len, path, dir, &c, out);
    free(buf);
    return st;
}

dc_status dc_model_load_onnx(const char *path, dc_model **out) { return dc_model_load_onnx_ex(path, NULL, out); }
