/*
 * dataset_npy.c - a dataset over memory-mapped .npy files: x (N, ...) and
 * optionally y (N, ...), float32 or uint8 (read as 0..255 floats), C
 * order.  The files are mapped read-only (mmap), so only the pages of the
 * rows a batch reads come into memory, and the kernel may drop them again:
 * an array larger than memory trains in bounded memory.  The header is
 * checked by npy.c's dc_npy_header (the same checks as dc_npy_load: magic,
 * version, dict, a data length that matches the shape exactly).
 */
#include "data/dataset_internal.h"
#include "core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct npy_map {
    void *base;
    size_t len;
    const unsigned char *data;
    dc_dtype dtype;
    int ndim, shape[DC_MAX_DIMS];
} npy_map;

typedef struct npy_source {
    npy_map x, y;
    int has_y;
} npy_source;

static void unmap(npy_map *m)
{
    if (m->base)
        munmap(m->base, m->len);
    memset(m, 0, sizeof *m);
}

static dc_status map_npy(const char *path, npy_map *m)
{
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return dc_fail(DC_ERR_IO, "dc_loader_from_npy: cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0) {
        close(fd);
        return dc_fail(DC_ERR_IO, "dc_loader_from_npy: %s is not a non-empty regular file", path);
    }
    m->len = (size_t)sb.st_size;
    m->base = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m->base == MAP_FAILED) {
        m->base = NULL;
        return dc_fail(DC_ERR_IO, "dc_loader_from_npy: cannot map %s: %s", path, strerror(errno));
    }
    size_t off;
    dc_status st = dc_npy_header(m->base, m->len, path, &m->dtype, &m->ndim, m->shape, &off);
    if (st == DC_OK && m->dtype != DC_DTYPE_FLOAT32 && m->dtype != DC_DTYPE_UINT8)
        st = dc_fail(DC_ERR_UNSUPPORTED, "dc_loader_from_npy: %s holds %s; expected float32 or uint8", path,
                     dc_dtype_name(m->dtype));
    if (st == DC_OK && (m->ndim < 1 || m->shape[0] < 1))
        st = dc_fail(DC_ERR_SHAPE, "dc_loader_from_npy: %s needs a first (sample) axis with at least one sample",
                     path);
    if (st != DC_OK) {
        unmap(m);
        return st;
    }
    m->data = (const unsigned char *)m->base + off;
    return DC_OK;
}

static void read_rows(const npy_map *m, size_t per, int i, float *out)
{
    if (m->dtype == DC_DTYPE_UINT8) {
        const unsigned char *p = m->data + (size_t)i * per;
        for (size_t k = 0; k < per; k++)
            out[k] = p[k];
    } else {
        memcpy(out, m->data + (size_t)i * per * sizeof(float), per * sizeof(float));
    }
}

static dc_status npy_row(const dc_loader *ds, int i, float *x, float *y)
{
    const npy_source *s = ds->source;
    read_rows(&s->x, ds->x_per, i, x);
    if (y)
        read_rows(&s->y, ds->y_per, i, y);
    return DC_OK;
}

static void npy_free(dc_loader *ds)
{
    npy_source *s = ds->source;
    if (s) {
        unmap(&s->x);
        unmap(&s->y);
        free(s);
    }
}

dc_status dc_loader_from_npy(const char *x_path, const char *y_path, int batch_size, int shuffle, dc_loader **out)
{
    DC_CHECK_NULL(x_path);
    DC_CHECK_NULL(out);
    *out = NULL;
    npy_source *s = calloc(1, sizeof *s);
    if (!s)
        return dc_fail(DC_ERR_NOMEM, "dc_loader_from_npy: out of memory");
    dc_status st = map_npy(x_path, &s->x);
    if (st == DC_OK && y_path) {
        s->has_y = 1;
        st = map_npy(y_path, &s->y);
        if (st == DC_OK && s->y.shape[0] != s->x.shape[0])
            st = dc_fail(DC_ERR_SHAPE, "dc_loader_from_npy: %s has %d samples but %s has %d", x_path, s->x.shape[0],
                         y_path, s->y.shape[0]);
    }
    dc_loader *ds = NULL;
    if (st == DC_OK) {
        ds = dc_loader_alloc("dc_loader_from_npy", batch_size, s->x.ndim - 1, s->x.shape + 1,
                              s->has_y ? s->y.ndim - 1 : -1, s->has_y ? s->y.shape + 1 : NULL);
        if (!ds)
            st = dc_last_status();
    }
    if (st != DC_OK) {
        unmap(&s->x);
        unmap(&s->y);
        free(s);
        return st;
    }
    ds->source = s;
    ds->free_source = npy_free;
    ds->fill_row = npy_row;
    ds->n = s->x.shape[0];
    ds->shuffle = shuffle != 0;
    *out = ds;
    return DC_OK;
}
