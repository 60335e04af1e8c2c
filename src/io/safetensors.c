/*
 * safetensors.c - a checked reader and an atomic writer for safetensors.
 *
 * The reader trusts nothing: the header length is checked against the file
 * and the 100 MB limit before the JSON is parsed, every tensor entry must
 * have exactly a known dtype, a shape of non-negative integers whose product
 * (checked for overflow) times the element size equals end - begin, and
 * offsets inside the buffer; sorted by offset, the tensors must tile the
 * buffer with no hole and no overlap.  Duplicate names are rejected by the
 * JSON parser.  Data pointers point into the caller's buffer; no tensor
 * bytes are copied.
 */
#include "io/safetensors.h"

#include "io/file.h"

#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "deepc's safetensors code assumes a little-endian host"
#endif

static const struct {
    const char *name;
    int size;
} dtypes[] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},
    {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4},     {"F64", 8},     {"I64", 8}, {"U64", 8},
};

static int dtype_size(const char *name)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(name, dtypes[i].name) == 0)
            return dtypes[i].size;
    return 0;
}

void dc_st_free(dc_st_file *f)
{
    if (!f)
        return;
    dc_json_free(f->header);
    free(f->tensors);
    free(f->by_name);
    free(f);
}

static dc_status parse_entry(const char *where, const char *name, const dc_json *e, uint64_t buf_len, dc_st_tensor *t)
{
    if (e->type != DC_JSON_OBJECT)
        return dc_fail(DC_ERR_FORMAT, "%s: tensor \"%s\": entry is %s, expected an object with dtype, shape and data_offsets",
                       where, name, dc_json_type_name(e->type));
    const dc_json *dt = dc_json_get(e, "dtype"), *sh = dc_json_get(e, "shape"), *off = dc_json_get(e, "data_offsets");
    if (e->len != 3 || !dt || !sh || !off)
        return dc_fail(DC_ERR_FORMAT, "%s: tensor \"%s\": entry must have exactly the keys dtype, shape and data_offsets",
                       where, name);
    if (dt->type != DC_JSON_STRING || !(t->elem_size = dtype_size(dt->str)))
        return dc_fail(DC_ERR_FORMAT, "%s: tensor \"%s\": unknown dtype %s%s%s", where, name,
                       dt->type == DC_JSON_STRING ? "\"" : "(", dt->type == DC_JSON_STRING ? dt->str : dc_json_type_name(dt->type),
                       dt->type == DC_JSON_STRING ? "\"" : ")");
    t->name = name;
    t->dtype = dt->str;
    if (sh->type != DC_JSON_ARRAY || sh->len > DC_ST_MAX_DIMS)
        return dc_fail(DC_ERR_FORMAT, "%s: tensor \"%s\": shape must be an array of at most %d integers", where, name,
                       DC_ST_MAX_DIMS);
    t->ndim = (int)sh->len;
    t->count = 1;
    int overflow = 0;
    for (int i = 0; i < t->ndim; i++) {
        if (!dc_json_is_int(&sh->items[i], 0, 9007199254740992.0))
            return dc_fail(DC_ERR_FORMAT, "%s: tensor \"%s\": shape[%d] is not a non-negative integer", where, name, i);
        t->shape[i] = (uint64_t)sh->items[i].num;
        if (t->shape[i] && t->count > UINT64_MAX / t->shape[i])
            overflow = 1;
        else
            t->count *= t->shape[i];
    }
    if (off->type != DC_JSON_ARRAY || off->len != 2 || !dc_json_is_int(&off->items[0], 0, 9007199254740992.0) ||
        !dc_json_is_int(&off->items[1], 0, 9007199254740992.0))
        return dc_fail(DC_ERR_FORMAT, "%s: tensor \"%s\": data_offsets must be [begin, end], two non-negative integers",
                       where, name);
    t->begin = (uint64_t)off->items[0].num;
    t->end = (uint64_t)off->items[1].num;
    if (t->end < t->begin || t->end > buf_len)
        return dc_fail(DC_ERR_FORMAT,
                       "%s: tensor \"%s\": data_offsets [%llu, %llu] lie outside the %llu-byte data buffer", where, name,
                       (unsigned long long)t->begin, (unsigned long long)t->end, (unsigned long long)buf_len);
    if (overflow || t->count > UINT64_MAX / (uint64_t)t->elem_size ||
        t->count * (uint64_t)t->elem_size != t->end - t->begin)
        return dc_fail(DC_ERR_FORMAT,
                       "%s: tensor \"%s\": shape and dtype %s need %s%llu bytes, data_offsets give %llu", where, name,
                       t->dtype, overflow || t->count > UINT64_MAX / (uint64_t)t->elem_size ? "more than " : "",
                       overflow ? (unsigned long long)UINT64_MAX
                                : (unsigned long long)(t->count * (uint64_t)t->elem_size),
                       (unsigned long long)(t->end - t->begin));
    return DC_OK;
}

static int cmp_begin(const void *a, const void *b)
{
    const dc_st_tensor *x = *(dc_st_tensor *const *)a, *y = *(dc_st_tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Sorted by offset, the tensors must tile [0, buf_len) exactly. */
static dc_status check_tiling(const char *where, dc_st_file *f, uint64_t buf_len)
{
    dc_st_tensor **order = dc_malloc((f->n ? f->n : 1) * sizeof *order);
    if (!order)
        return DC_ERR_NOMEM;
    for (size_t i = 0; i < f->n; i++)
        order[i] = &f->tensors[i];
    qsort(order, f->n, sizeof *order, cmp_begin);
    uint64_t at = 0;
    dc_status st = DC_OK;
    for (size_t i = 0; i < f->n && st == DC_OK; i++) {
        const dc_st_tensor *t = order[i];
        if (t->begin < at)
            st = dc_fail(DC_ERR_FORMAT, "%s: tensor \"%s\" (bytes %llu..%llu) overlaps tensor \"%s\" (ending at %llu)",
                         where, t->name, (unsigned long long)t->begin, (unsigned long long)t->end, order[i - 1]->name,
                         (unsigned long long)at);
        else if (t->begin > at)
            st = dc_fail(DC_ERR_FORMAT, "%s: hole in the data buffer: bytes %llu..%llu belong to no tensor", where,
                         (unsigned long long)at, (unsigned long long)t->begin);
        at = t->end;
    }
    if (st == DC_OK && at != buf_len)
        st = dc_fail(DC_ERR_FORMAT, "%s: the data buffer is %llu bytes but the tensors cover %llu (%s)", where,
                     (unsigned long long)buf_len, (unsigned long long)at,
                     at < buf_len ? "trailing bytes belong to no tensor" : "truncated file");
    free(order);
    return st;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(const dc_st_tensor *const *)a)->name, (*(const dc_st_tensor *const *)b)->name);
}

/* The tensors sorted by name, so a lookup is a binary search: a file of
 * n tensors is checked against a model in O(n log n), not O(n^2). */
static dc_status index_names(dc_st_file *f)
{
    if (!(f->by_name = dc_malloc((f->n ? f->n : 1) * sizeof *f->by_name)))
        return DC_ERR_NOMEM;
    for (size_t i = 0; i < f->n; i++)
        f->by_name[i] = &f->tensors[i];
    qsort(f->by_name, f->n, sizeof *f->by_name, cmp_name);
    return DC_OK;
}

static dc_status parse_metadata(const char *where, const dc_json *m)
{
    if (m->type != DC_JSON_OBJECT)
        return dc_fail(DC_ERR_FORMAT, "%s: __metadata__ is %s, expected an object of strings", where,
                       dc_json_type_name(m->type));
    for (size_t i = 0; i < m->len; i++)
        if (m->items[i].type != DC_JSON_STRING)
            return dc_fail(DC_ERR_FORMAT, "%s: __metadata__ value \"%s\" is %s, expected a string", where, m->keys[i],
                           dc_json_type_name(m->items[i].type));
    return DC_OK;
}

dc_status dc_st_parse(const uint8_t *buf, size_t len, const char *where, dc_st_file **out)
{
    *out = NULL;
    if (len < 8)
        return dc_fail(DC_ERR_FORMAT, "%s: truncated safetensors file: %zu bytes, the header length alone takes 8",
                       where, len);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | buf[i];
    if (n > len - 8)
        return dc_fail(DC_ERR_FORMAT, "%s: header length %llu is larger than the %zu bytes that follow it "
                                      "(truncated or not a safetensors file)",
                       where, (unsigned long long)n, len - 8);
    if (n > DC_ST_MAX_HEADER)
        return dc_fail(DC_ERR_FORMAT, "%s: header length %llu exceeds the format's limit of %u bytes", where,
                       (unsigned long long)n, DC_ST_MAX_HEADER);
    if (n < 2 || buf[8] != '{')
        return dc_fail(DC_ERR_FORMAT, "%s: the header must be a JSON object starting with '{'", where);
    dc_st_file *f = dc_calloc(1, sizeof *f);
    if (!f)
        return DC_ERR_NOMEM;
    dc_status st = dc_json_parse((const char *)buf + 8, (size_t)n, where, &f->header);
    if (st != DC_OK) {
        dc_st_free(f);
        return st;
    }
    if (f->header->type != DC_JSON_OBJECT)
        st = dc_fail(DC_ERR_FORMAT, "%s: the header is %s, expected an object", where,
                     dc_json_type_name(f->header->type));
    const uint8_t *data = buf + 8 + n;
    uint64_t buf_len = len - 8 - n;
    if (st == DC_OK && !(f->tensors = dc_calloc(f->header->len ? f->header->len : 1, sizeof *f->tensors)))
        st = DC_ERR_NOMEM;
    for (size_t i = 0; st == DC_OK && i < f->header->len; i++) {
        const char *name = f->header->keys[i];
        const dc_json *e = &f->header->items[i];
        if (strcmp(name, "__metadata__") == 0) {
            f->metadata = e;
            st = parse_metadata(where, e);
            continue;
        }
        dc_st_tensor *t = &f->tensors[f->n];
        st = parse_entry(where, name, e, buf_len, t);
        if (st == DC_OK) {
            t->data = data + t->begin;
            f->n++;
        }
    }
    if (st == DC_OK)
        st = check_tiling(where, f, buf_len);
    if (st == DC_OK)
        st = index_names(f);
    if (st != DC_OK) {
        dc_st_free(f);
        return st;
    }
    *out = f;
    return DC_OK;
}

const dc_st_tensor *dc_st_find(const dc_st_file *f, const char *name)
{
    size_t lo = 0, hi = f->n; /* binary search of the names, sorted by index_names */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->by_name[mid]->name, name);
        if (c == 0)
            return f->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *dc_st_meta(const dc_st_file *f, const char *key)
{
    const dc_json *v = dc_json_get(f->metadata, key);
    return v && v->type == DC_JSON_STRING ? v->str : NULL;
}

dc_status dc_st_write(const char *path, const dc_st_entry *e, size_t n, const char *const *meta, size_t n_meta)
{
    dc_jw w;
    dc_jw_init(&w);
    dc_jw_object(&w, NULL);
    if (n_meta) {
        dc_jw_object(&w, "__metadata__");
        for (size_t i = 0; i < n_meta; i++)
            dc_jw_str(&w, meta[2 * i], meta[2 * i + 1]);
        dc_jw_end(&w);
    }
    size_t offset = 0;
    for (size_t i = 0; i < n; i++) {
        size_t bytes = dc_shape_size(e[i].ndim, e[i].shape) * sizeof(float);
        dc_jw_object(&w, e[i].name);
        dc_jw_str(&w, "dtype", "F32");
        dc_jw_ints(&w, "shape", e[i].ndim, e[i].shape);
        dc_jw_array(&w, "data_offsets");
        dc_jw_int(&w, NULL, (long long)offset);
        dc_jw_int(&w, NULL, (long long)(offset + bytes));
        dc_jw_end(&w);
        dc_jw_end(&w);
        offset += bytes;
    }
    dc_jw_end(&w);
    /* Pad the header with spaces to a multiple of 8, as the reference writer does. */
    dc_jw_pad(&w, 8);
    size_t hlen;
    char *header = dc_jw_take(&w, &hlen);
    if (!header)
        return DC_ERR_NOMEM;
    uint8_t lenbuf[8];
    for (int i = 0; i < 8; i++)
        lenbuf[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    size_t n_parts = 2 + n;
    const void **parts = dc_malloc(n_parts * sizeof *parts);
    size_t *sizes = dc_malloc(n_parts * sizeof *sizes);
    dc_status st = parts && sizes ? DC_OK : DC_ERR_NOMEM;
    if (st == DC_OK) {
        parts[0] = lenbuf;
        sizes[0] = 8;
        parts[1] = header;
        sizes[1] = hlen;
        for (size_t i = 0; i < n; i++) {
            parts[2 + i] = e[i].data;
            sizes[2 + i] = dc_shape_size(e[i].ndim, e[i].shape) * sizeof(float);
        }
        st = dc_file_write_atomic(path, (const void *const *)parts, sizes, (int)n_parts);
    }
    free(parts);
    free(sizes);
    free(header);
    return st;
}
