/*
 * idx.c - reads IDX files, the format MNIST and Fashion-MNIST ship in.
 *
 * An IDX file is a 4-byte big-endian magic (two zero bytes, an element-type
 * byte, a dimension count), one big-endian uint32 size per dimension, then
 * the elements.  Files may be gzip'd; zlib's gzread reads plain files
 * unchanged, so one path serves both.  Every header field is checked before
 * it is used, the body buffer grows as bytes actually arrive (a header that
 * promises terabytes costs nothing until the data is there), and a short or
 * over-long body is an error, never silently accepted.  Only a regular file
 * is opened (dc_file_open_read), and a gzip'd body may inflate to at most
 * DC_INFLATE_MAX_BYTES.
 */
#include "core/core.h"
#include "data/readall.h"
#include "io/file.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

enum {
    IDX_TYPE_UBYTE = 0x08,
    GZ_BUFFER = 1 << 17,      /* zlib's input buffer; the default 8 KiB is slow */
    FIRST_CHUNK = 1 << 20,    /* the body buffer starts here and doubles */
    MAX_READ = 1 << 30,       /* gzread takes an unsigned count; stay well inside */
};

/* The element types the IDX format defines (only 0x08 is supported). */
static const char *idx_type_name(int type)
{
    switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return NULL;
    }
}

/* Reads up to n bytes; *got is how many arrived (fewer only at end of file). */
static dc_status read_some(gzFile gz, const char *path, uint8_t *buf, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        size_t want = n - *got < (size_t)MAX_READ ? n - *got : (size_t)MAX_READ;
        int r = gzread(gz, buf + *got, (unsigned)want);
        if (r < 0) {
            int zerr;
            const char *zmsg = gzerror(gz, &zerr);
            if (zerr == Z_ERRNO)
                return dc_fail(DC_ERR_IO, "%s: read error: %s", path, strerror(errno));
            if (zerr == Z_MEM_ERROR)
                return dc_fail(DC_ERR_NOMEM, "%s: out of memory in zlib while reading", path);
            return dc_fail(DC_ERR_FORMAT, "%s: corrupt gzip data: %s", path, zmsg);
        }
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return DC_OK;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Parses and checks the header into a->ndim / a->shape / a->size. */
static dc_status read_header(gzFile gz, const char *path, dc_u8array *a)
{
    uint8_t head[4], dims[4 * DC_MAX_DIMS];
    size_t got;
    dc_status st = read_some(gz, path, head, sizeof head, &got);
    if (st)
        return st;
    if (got < sizeof head)
        return dc_fail(DC_ERR_FORMAT, "%s: not an IDX file (only %zu bytes; an IDX header starts with a 4-byte magic)",
                       path, got);
    uint32_t magic = be32(head);
    int type = head[2], ndim = head[3];
    if (head[0] != 0 || head[1] != 0)
        return dc_fail(DC_ERR_FORMAT,
                       "%s: not an IDX file (magic 0x%08x; expected two zero bytes, a type byte and a "
                       "dimension count, like 0x00000803)",
                       path, (unsigned)magic);
    if (!idx_type_name(type))
        return dc_fail(DC_ERR_FORMAT, "%s: not an IDX file (magic 0x%08x has unknown element type 0x%02x)", path,
                       (unsigned)magic, type);
    if (type != IDX_TYPE_UBYTE)
        return dc_fail(DC_ERR_UNSUPPORTED,
                       "%s: IDX element type 0x%02x (%s) is not supported; deepc reads only unsigned-byte IDX (0x08)",
                       path, type, idx_type_name(type));
    if (ndim < 1 || ndim > DC_MAX_DIMS)
        return dc_fail(ndim == 0 ? DC_ERR_FORMAT : DC_ERR_UNSUPPORTED,
                       "%s: IDX header (magic 0x%08x) has %d dimensions, expected 1 to %d", path, (unsigned)magic,
                       ndim, DC_MAX_DIMS);
    st = read_some(gz, path, dims, 4 * (size_t)ndim, &got);
    if (st)
        return st;
    if (got < 4 * (size_t)ndim)
        return dc_fail(DC_ERR_FORMAT, "%s: truncated IDX header: %d dimensions need %d bytes of sizes, file has %zu",
                       path, ndim, 4 * ndim, got);
    a->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        uint32_t d = be32(dims + 4 * i);
        if (d == 0 || d > INT_MAX)
            return dc_fail(DC_ERR_FORMAT, "%s: IDX dimension %d is %lu, expected 1 to %d", path, i,
                           (unsigned long)d, INT_MAX);
        a->shape[i] = (int)d;
    }
    a->size = dc_shape_size(ndim, a->shape);
    if (a->size == 0) {
        char buf[128];
        return dc_fail(DC_ERR_FORMAT, "%s: IDX shape %s holds more bytes than memory can address", path,
                       dc_shape_str(ndim, a->shape, buf, sizeof buf));
    }
    return DC_OK;
}

/* Reads exactly a->size body bytes into a->data, then checks the file ends. */
static dc_status read_body(gzFile gz, const char *path, dc_u8array *a)
{
    char shape[128];
    size_t cap = a->size < (size_t)FIRST_CHUNK ? a->size : (size_t)FIRST_CHUNK;
    size_t have = 0;
    a->data = dc_malloc(cap);
    if (!a->data)
        return DC_ERR_NOMEM;
    for (;;) {
        size_t got;
        dc_status st = read_some(gz, path, a->data + have, cap - have, &got);
        if (st)
            return st;
        have += got;
        if (have < cap || have == a->size)
            break;
        size_t grown = cap > a->size / 2 ? a->size : cap * 2;
        uint8_t *p = realloc(a->data, grown);
        if (!p)
            return dc_fail(DC_ERR_NOMEM, "%s: out of memory growing the IDX body buffer to %zu bytes", path, grown);
        a->data = p;
        cap = grown;
    }
    dc_shape_str(a->ndim, a->shape, shape, sizeof shape);
    if (have < a->size)
        return dc_fail(DC_ERR_FORMAT,
                       "%s: truncated IDX body: shape %s needs %zu bytes of data, got %zu (%zu missing)", path,
                       shape, a->size, have, a->size - have);
    uint8_t extra[4096];
    size_t trailing = 0, got;
    do {
        dc_status st = read_some(gz, path, extra, sizeof extra, &got);
        if (st)
            return st;
        trailing += got;
    } while (got == sizeof extra);
    if (trailing)
        return dc_fail(DC_ERR_FORMAT,
                       "%s: %zu bytes of trailing data after the IDX body (shape %s, %zu bytes); expected the file "
                       "to end there",
                       path, trailing, shape, a->size);
    return DC_OK;
}

dc_status dc_idx_load(const char *path, dc_u8array **out)
{
    if (!out)
        return dc_fail(DC_ERR_ARG, "dc_idx_load: out is NULL");
    *out = NULL;
    if (!path)
        return dc_fail(DC_ERR_ARG, "dc_idx_load: path is NULL");
    int fd;
    dc_status st = dc_file_open_read(path, "IDX file", &fd, NULL);
    if (st != DC_OK)
        return st;
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return dc_fail(DC_ERR_NOMEM, "%s: out of memory opening the file with zlib", path);
    }
    dc_u8array *a = dc_calloc(1, sizeof *a);
    st = a ? DC_OK : DC_ERR_NOMEM;
    if (!st)
        st = gzbuffer(gz, GZ_BUFFER) == 0 ? DC_OK : dc_fail(DC_ERR_NOMEM, "%s: zlib refused a %d-byte buffer", path, GZ_BUFFER);
    if (!st)
        st = read_header(gz, path, a);
    if (!st && !gzdirect(gz) && a->size > DC_INFLATE_MAX_BYTES)
        st = dc_fail(DC_ERR_FORMAT, "%s: the gzip'd IDX body would inflate to %zu bytes, more than %zu, the most "
                                    "deepc inflates from one file (DC_INFLATE_MAX_BYTES)",
                     path, a->size, DC_INFLATE_MAX_BYTES);
    if (!st)
        st = read_body(gz, path, a);
    gzclose(gz);
    if (st) {
        dc_u8array_free(a);
        return st;
    }
    *out = a;
    return DC_OK;
}
