/*
 * npy.c - NumPy's .npy format (numpy.lib.format), versions 1.0 to 3.0.
 *
 * A file is: the magic "\x93NUMPY", a major and a minor version byte, the
 * header length (uint16 little endian in 1.0, uint32 in 2.0 and 3.0), the
 * header - a Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and ended by '\n' - and then the raw elements.
 *
 * The reader takes the whole file as bytes and never reads past them: every
 * length is checked against what is there before it is used, the dict must
 * hold exactly the three keys (each once), the shape's numbers must fit an
 * int and their product the address space, and the body must be exactly as
 * long as the shape says.  Anything else is an error naming the file, the
 * offset or key, what was found and what was expected.
 *
 * The writer produces the bytes NumPy 1.24 writes for the same array
 * (version 1.0, the dict keys sorted, 21 - len(str(shape[0])) spare spaces
 * for growth, padding to a multiple of 64 bytes), so its files are
 * byte-for-byte NumPy's.  It writes atomically (dc_file_write_atomic): a
 * failed save leaves the previous file whole.
 */
#include "core/core.h"
#include "data/dataset_internal.h"
#include "data/readall.h"
#include "io/file.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

enum { MAGIC_LEN = 6, ALIGN = 64, GROWTH_DIGITS = 21, MAX_HEADER = 1 << 20 };

static const char MAGIC[MAGIC_LEN] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

static const struct {
    const char *name, *descr;
    size_t size;
} DTYPES[DC_DTYPE_COUNT] = {
    [DC_DTYPE_FLOAT32] = {"float32", "<f4", 4},
    [DC_DTYPE_FLOAT64] = {"float64", "<f8", 8},
    [DC_DTYPE_INT32] = {"int32", "<i4", 4},
    [DC_DTYPE_INT64] = {"int64", "<i8", 8},
    [DC_DTYPE_UINT8] = {"uint8", "|u1", 1},
};

const char *dc_dtype_name(dc_dtype t) { return (unsigned)t < DC_DTYPE_COUNT ? DTYPES[t].name : "unknown"; }
size_t dc_dtype_size(dc_dtype t) { return (unsigned)t < DC_DTYPE_COUNT ? DTYPES[t].size : 0; }

/* Elements of shape (dimensions may be 0); 0 with *ok = 0 on overflow. */
static size_t shape_elems(int ndim, const int *shape, size_t itemsize, int *ok)
{
    size_t n = 1;
    *ok = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (shape[i] && n > SIZE_MAX / itemsize / (size_t)shape[i])) {
            *ok = 0;
            return 0;
        }
        n *= (size_t)shape[i];
    }
    return n;
}

dc_array *dc_array_new(dc_dtype dtype, int ndim, const int *shape)
{
    if (ndim > 0 && !shape)
        return dc_fail_null(DC_ERR_ARG, "%s: shape is NULL", __func__);
    char buf[96];
    if ((unsigned)dtype >= DC_DTYPE_COUNT)
        return dc_fail_null(DC_ERR_ARG, "array: unknown dtype %d", (int)dtype);
    if (ndim < 0 || ndim > DC_MAX_DIMS || (ndim && !shape))
        return dc_fail_null(DC_ERR_SHAPE, "array: %d dimensions, expected 0 to %d", ndim, DC_MAX_DIMS);
    int ok;
    size_t size = shape_elems(ndim, shape, DTYPES[dtype].size, &ok);
    if (!ok)
        return dc_fail_null(DC_ERR_SHAPE, "array: shape %s has a negative dimension or is too large",
                            dc_shape_str(ndim, shape, buf, sizeof buf));
    dc_array *a = dc_calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->data = dc_calloc(size ? size : 1, DTYPES[dtype].size);
    if (!a->data) {
        free(a);
        return NULL;
    }
    a->dtype = dtype;
    a->ndim = ndim;
    if (ndim)
        memcpy(a->shape, shape, (size_t)ndim * sizeof(int));
    a->size = size;
    return a;
}

void dc_array_free(dc_array *a)
{
    if (!a)
        return;
    free(a->data);
    free(a);
}

/* ------------------------------------------------------------ header */

/* A cursor over the header text [p, end); `base` is its offset in the file. */
typedef struct hdr {
    const char *name;
    const char *start, *p, *end;
    size_t base;
} hdr;

static size_t at(const hdr *h) { return h->base + (size_t)(h->p - h->start); }

static void skip_ws(hdr *h)
{
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t'))
        h->p++;
}

static dc_status expect(hdr *h, char c, const char *what)
{
    skip_ws(h);
    if (h->p == h->end || *h->p != c)
        return dc_fail(DC_ERR_FORMAT, "%s: header byte %zu: expected '%c' %s, found %s%.1s%s", h->name, at(h),
                       c, what, h->p == h->end ? "the end of the header" : "'", h->p == h->end ? "" : h->p,
                       h->p == h->end ? "" : "'");
    h->p++;
    return DC_OK;
}

/* A quoted Python string ('...' or "...", no escapes) into out. */
static dc_status parse_string(hdr *h, char *out, size_t cap, const char *what)
{
    skip_ws(h);
    if (h->p == h->end || (*h->p != '\'' && *h->p != '"'))
        return dc_fail(DC_ERR_FORMAT, "%s: header byte %zu: expected a quoted string (%s)", h->name, at(h), what);
    char q = *h->p++;
    const char *s = h->p;
    while (h->p < h->end && *h->p != q && *h->p != '\\')
        h->p++;
    if (h->p == h->end || *h->p != q)
        return dc_fail(DC_ERR_FORMAT, "%s: header byte %zu: unterminated or escaped string (%s)", h->name, at(h), what);
    size_t n = (size_t)(h->p - s);
    h->p++;
    if (n >= cap)
        return dc_fail(DC_ERR_UNSUPPORTED, "%s: %s \"%.16s...\" is longer than %zu characters", h->name, what, s,
                       cap - 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return DC_OK;
}

static dc_status parse_descr(hdr *h, dc_dtype *out)
{
    char d[32];
    skip_ws(h);
    if (h->p < h->end && *h->p == '[')
        return dc_fail(DC_ERR_UNSUPPORTED, "%s: 'descr' is a list: structured (record) arrays are not supported; "
                                           "save a plain numeric array",
                       h->name);
    dc_status st = parse_string(h, d, sizeof d, "'descr'");
    if (st != DC_OK)
        return st;
    for (int t = 0; t < DC_DTYPE_COUNT; t++)
        if (strcmp(d, DTYPES[t].descr) == 0 || (t == DC_DTYPE_UINT8 && strcmp(d, "<u1") == 0)) {
            *out = (dc_dtype)t;
            return DC_OK;
        }
    if (d[0] == '>')
        return dc_fail(DC_ERR_UNSUPPORTED, "%s: dtype '%s' is big-endian; only little-endian data is supported "
                                           "(in NumPy: a.astype(a.dtype.newbyteorder('<')))",
                       h->name, d);
    return dc_fail(DC_ERR_UNSUPPORTED, "%s: dtype '%s' is not supported; expected one of '<f4' (float32), '<f8' "
                                       "(float64), '<i4' (int32), '<i8' (int64), '|u1' (uint8)",
                   h->name, d);
}

static dc_status parse_bool(hdr *h, int *out)
{
    skip_ws(h);
    size_t left = (size_t)(h->end - h->p);
    if (left >= 4 && memcmp(h->p, "True", 4) == 0) {
        h->p += 4;
        *out = 1;
    } else if (left >= 5 && memcmp(h->p, "False", 5) == 0) {
        h->p += 5;
        *out = 0;
    } else {
        return dc_fail(DC_ERR_FORMAT, "%s: header byte %zu: 'fortran_order' must be True or False", h->name, at(h));
    }
    return DC_OK;
}

/* A tuple of non-negative ints: (), (3,), (3, 4) or (3, 4,). */
static dc_status parse_shape(hdr *h, int *ndim, int *shape)
{
    dc_status st = expect(h, '(', "to open 'shape'");
    if (st != DC_OK)
        return st;
    *ndim = 0;
    for (;;) {
        skip_ws(h);
        if (h->p < h->end && *h->p == ')') {
            h->p++;
            break;
        }
        if (h->p == h->end || *h->p < '0' || *h->p > '9')
            return dc_fail(DC_ERR_FORMAT, "%s: header byte %zu: expected a non-negative integer or ')' in 'shape'",
                           h->name, at(h));
        long long v = 0;
        while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
            v = v * 10 + (*h->p++ - '0');
            if (v > INT_MAX)
                return dc_fail(DC_ERR_UNSUPPORTED, "%s: 'shape' dimension %d is larger than %d", h->name, *ndim,
                               INT_MAX);
        }
        if (*ndim == DC_MAX_DIMS)
            return dc_fail(DC_ERR_UNSUPPORTED, "%s: 'shape' has more than %d dimensions", h->name, DC_MAX_DIMS);
        shape[(*ndim)++] = (int)v;
        skip_ws(h);
        if (h->p < h->end && *h->p == ',') {
            h->p++;
        } else if (h->p < h->end && *h->p == ')') {
            if (*ndim == 1)
                return dc_fail(DC_ERR_FORMAT, "%s: header byte %zu: a 1-d 'shape' is written (n,), with a comma",
                               h->name, at(h));
            h->p++;
            break;
        } else {
            return dc_fail(DC_ERR_FORMAT, "%s: header byte %zu: expected ',' or ')' in 'shape'", h->name, at(h));
        }
    }
    return DC_OK;
}

/* Parses the dict into a's dtype and shape. */
static dc_status parse_dict(hdr *h, dc_dtype *dtype, int *ndim, int *shape)
{
    int seen[3] = {0, 0, 0}, fortran = 0;
    static const char *const KEYS[3] = {"descr", "fortran_order", "shape"};
    dc_status st = expect(h, '{', "to open the header dict");
    while (st == DC_OK) {
        skip_ws(h);
        if (h->p < h->end && *h->p == '}') {
            h->p++;
            break;
        }
        char key[32];
        if ((st = parse_string(h, key, sizeof key, "a key")) || (st = expect(h, ':', "after a key")))
            break;
        int k = 0;
        while (k < 3 && strcmp(key, KEYS[k]) != 0)
            k++;
        if (k == 3)
            return dc_fail(DC_ERR_FORMAT, "%s: header has an unknown key '%s'; expected 'descr', 'fortran_order' and "
                                          "'shape'",
                           h->name, key);
        if (seen[k]++)
            return dc_fail(DC_ERR_FORMAT, "%s: header has the key '%s' twice", h->name, key);
        st = k == 0 ? parse_descr(h, dtype) : k == 1 ? parse_bool(h, &fortran) : parse_shape(h, ndim, shape);
        if (st != DC_OK)
            break;
        skip_ws(h);
        if (h->p < h->end && *h->p == ',')
            h->p++;
        else if (h->p == h->end || *h->p != '}')
            st = dc_fail(DC_ERR_FORMAT, "%s: header byte %zu: expected ',' or '}' after '%s'", h->name, at(h), key);
    }
    if (st != DC_OK)
        return st;
    for (int k = 0; k < 3; k++)
        if (!seen[k])
            return dc_fail(DC_ERR_FORMAT, "%s: header has no '%s' key", h->name, KEYS[k]);
    skip_ws(h);
    if (h->p != h->end)
        return dc_fail(DC_ERR_FORMAT, "%s: header byte %zu: unexpected text after the dict", h->name, at(h));
    if (fortran)
        return dc_fail(DC_ERR_UNSUPPORTED, "%s: the array is in Fortran (column-major) order; only C order is "
                                           "supported (in NumPy: np.save(path, np.ascontiguousarray(a)))",
                       h->name);
    return DC_OK;
}

/* The header of a .npy file held in bytes[0..n): its type, shape and where
 * its data starts, every check of dc_npy_parse made (the data's length
 * too), nothing copied.  Also used by the memory-mapped dataset
 * (src/data/dataset_npy.c, declared in data/dataset_internal.h). */
dc_status dc_npy_header(const void *bytes, size_t n, const char *name, dc_dtype *dtype_out, int *ndim_out,
                        int *shape_out, size_t *data_offset)
{
    const unsigned char *b = bytes;
    if (n < MAGIC_LEN + 2 || memcmp(b, MAGIC, MAGIC_LEN) != 0)
        return dc_fail(DC_ERR_FORMAT, "%s: not a .npy file (%s)", name,
                       n < MAGIC_LEN + 2 ? "shorter than the 8-byte magic and version" : "no \\x93NUMPY magic");
    int major = b[6], minor = b[7];
    if (major < 1 || major > 3 || minor != 0)
        return dc_fail(DC_ERR_UNSUPPORTED, "%s: .npy format version %d.%d; supported: 1.0, 2.0, 3.0", name, major,
                       minor);
    size_t lenbytes = major == 1 ? 2 : 4, hstart = MAGIC_LEN + 2 + lenbytes;
    if (n < hstart)
        return dc_fail(DC_ERR_FORMAT, "%s: truncated: the file ends inside the header length", name);
    size_t hlen = (size_t)b[8] | (size_t)b[9] << 8;
    if (major > 1)
        hlen |= (size_t)b[10] << 16 | (size_t)b[11] << 24;
    if (hlen > MAX_HEADER)
        return dc_fail(DC_ERR_FORMAT, "%s: header length %zu is implausible (more than %d bytes)", name, hlen,
                       MAX_HEADER);
    if (n - hstart < hlen)
        return dc_fail(DC_ERR_FORMAT, "%s: truncated: the header is %zu bytes but only %zu follow its length", name,
                       hlen, n - hstart);
    const char *text = (const char *)b + hstart;
    if (hlen == 0 || text[hlen - 1] != '\n')
        return dc_fail(DC_ERR_FORMAT, "%s: the header does not end with a newline", name);
    for (size_t i = 0; i < hlen; i++)
        if ((unsigned char)text[i] < 0x20 && text[i] != '\n' && text[i] != '\t')
            return dc_fail(DC_ERR_FORMAT, "%s: header byte %zu is a control character (0x%02x)", name, hstart + i,
                           (unsigned char)text[i]);
    hdr h = {name, text, text, text + hlen - 1, hstart};
    dc_dtype dtype = DC_DTYPE_FLOAT32;
    int ndim = 0, shape[DC_MAX_DIMS] = {0}, ok;
    dc_status st = parse_dict(&h, &dtype, &ndim, shape);
    if (st != DC_OK)
        return st;
    size_t itemsize = DTYPES[dtype].size, count = shape_elems(ndim, shape, itemsize, &ok);
    char sbuf[96];
    dc_shape_str(ndim, shape, sbuf, sizeof sbuf);
    if (!ok)
        return dc_fail(DC_ERR_FORMAT, "%s: shape %s is too large to address", name, sbuf);
    size_t need = count * itemsize, have = n - hstart - hlen;
    if (have < need)
        return dc_fail(DC_ERR_FORMAT, "%s: truncated body: shape %s of %s needs %zu bytes of data, the file has %zu",
                       name, sbuf, DTYPES[dtype].name, need, have);
    if (have > need)
        return dc_fail(DC_ERR_FORMAT, "%s: shape %s of %s does not match the data length: it needs %zu bytes, the "
                                      "file has %zu",
                       name, sbuf, DTYPES[dtype].name, need, have);
    *dtype_out = dtype;
    *ndim_out = ndim;
    memcpy(shape_out, shape, sizeof shape);
    *data_offset = hstart + hlen;
    return DC_OK;
}

dc_status dc_npy_parse(const void *bytes, size_t n, const char *name, dc_array **out)
{
    name = name ? name : "npy";
    if (!out)
        return dc_fail(DC_ERR_ARG, "%s: out is NULL", name);
    *out = NULL;
    const unsigned char *b = bytes;
    if (!b && n)
        return dc_fail(DC_ERR_ARG, "%s: bytes is NULL", name);
    dc_dtype dtype;
    int ndim, shape[DC_MAX_DIMS];
    size_t offset;
    dc_status st = dc_npy_header(b, n, name, &dtype, &ndim, shape, &offset);
    if (st != DC_OK)
        return st;
    dc_array *a = dc_array_new(dtype, ndim, shape);
    if (!a)
        return DC_ERR_NOMEM;
    memcpy(a->data, b + offset, a->size * DTYPES[dtype].size);
    *out = a;
    return DC_OK;
}

dc_status dc_npy_read(const char *path, dc_array **out)
{
    if (out)
        *out = NULL;
    char *bytes;
    size_t n;
    dc_status st = dc_read_all(path, &bytes, &n);
    if (st != DC_OK)
        return st;
    st = dc_npy_parse(bytes, n, path, out);
    free(bytes);
    return st;
}

/* ------------------------------------------------------------ writing */

dc_status dc_npy_write(const char *path, const dc_array *a)
{
    if (!path || !a)
        return dc_fail(DC_ERR_ARG, "npy: %s is NULL", path ? "the array" : "path");
    if ((unsigned)a->dtype >= DC_DTYPE_COUNT || a->ndim < 0 || a->ndim > DC_MAX_DIMS)
        return dc_fail(DC_ERR_ARG, "%s: the array has dtype %d and %d dimensions; not a valid dc_array", path,
                       (int)a->dtype, a->ndim);
    char head[512];
    int len = snprintf(head, sizeof head, "{'descr': '%s', 'fortran_order': False, 'shape': (", DTYPES[a->dtype].descr);
    for (int i = 0; i < a->ndim; i++)
        len += snprintf(head + len, sizeof head - (size_t)len, "%d%s", a->shape[i],
                        a->ndim == 1 ? "," : i + 1 < a->ndim ? ", " : "");
    len += snprintf(head + len, sizeof head - (size_t)len, "), }");
    if (a->ndim) {
        char first[16];
        int digits = snprintf(first, sizeof first, "%d", a->shape[0]);
        for (int i = digits; i < GROWTH_DIGITS; i++)
            head[len++] = ' ';
    }
    int total = MAGIC_LEN + 2 + 2 + len + 1;
    int pad = ALIGN - total % ALIGN;
    memset(head + len, ' ', (size_t)pad);
    len += pad;
    head[len++] = '\n';
    unsigned char pre[MAGIC_LEN + 4];
    memcpy(pre, MAGIC, MAGIC_LEN);
    pre[6] = 1;
    pre[7] = 0;
    pre[8] = (unsigned char)(len & 0xff);
    pre[9] = (unsigned char)(len >> 8);
    const void *parts[] = {pre, head, a->data};
    size_t sizes[] = {sizeof pre, (size_t)len, a->size * DTYPES[a->dtype].size};
    return dc_file_write_atomic(path, parts, sizes, sizes[2] ? 3 : 2);
}

/* ------------------------------------------------- float32 tensors */

dc_status dc_npy_load(const char *path, dc_tensor **out)
{
    if (!out)
        return dc_fail(DC_ERR_ARG, "npy: out is NULL");
    *out = NULL;
    dc_array *a;
    dc_status st = dc_npy_read(path, &a);
    if (st != DC_OK)
        return st;
    int one = 1;
    dc_tensor *t = a->ndim ? dc_tensor_new(a->ndim, a->shape) : dc_tensor_new(1, &one);
    if (!t) {
        dc_err_prefix(path);
        dc_array_free(a);
        return DC_ERR_SHAPE;
    }
    for (size_t i = 0; i < a->size; i++) {
        switch (a->dtype) {
        case DC_DTYPE_FLOAT32: t->data[i] = ((const float *)a->data)[i]; break;
        case DC_DTYPE_FLOAT64: t->data[i] = (float)((const double *)a->data)[i]; break;
        case DC_DTYPE_INT32: t->data[i] = (float)((const int32_t *)a->data)[i]; break;
        case DC_DTYPE_INT64: t->data[i] = (float)((const int64_t *)a->data)[i]; break;
        default: t->data[i] = (float)((const uint8_t *)a->data)[i]; break;
        }
    }
    dc_array_free(a);
    *out = t;
    return DC_OK;
}

dc_status dc_npy_save(const char *path, const dc_tensor *t)
{
    if (!t)
        return dc_fail(DC_ERR_ARG, "npy: the tensor is NULL");
    dc_array view = {.dtype = DC_DTYPE_FLOAT32, .ndim = t->ndim, .size = t->size, .data = t->data};
    memcpy(view.shape, t->shape, sizeof view.shape);
    return dc_npy_write(path, &view);
}
