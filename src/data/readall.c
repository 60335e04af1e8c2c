/*
 * readall.c - a whole file into memory through zlib, so gzip'd files (the
 * scikit-learn data ships some) read the same as plain ones.  The buffer
 * doubles as bytes arrive; a read or decompression error is reported with
 * the path, never a silent short read.
 */
#include "core/core.h"
#include "data/readall.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <zlib.h>

enum { FIRST_CHUNK = 1 << 16, MAX_READ = 1 << 30 };

dc_status dc_read_all(const char *path, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    if (!path)
        return dc_fail(DC_ERR_ARG, "read: path is NULL");
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return dc_fail(DC_ERR_IO, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    size_t cap = FIRST_CHUNK, n = 0;
    char *b = dc_malloc(cap + 1);
    dc_status st = b ? DC_OK : DC_ERR_NOMEM;
    while (st == DC_OK) {
        if (n == cap) {
            char *nb = cap > SIZE_MAX / 2 - 1 ? NULL : realloc(b, 2 * cap + 1);
            if (!nb) {
                st = dc_fail(DC_ERR_NOMEM, "%s: out of memory after reading %zu bytes", path, n);
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t want = cap - n < (size_t)MAX_READ ? cap - n : (size_t)MAX_READ;
        int r = gzread(gz, b + n, (unsigned)want);
        if (r < 0) {
            int zerr;
            const char *zmsg = gzerror(gz, &zerr);
            st = zerr == Z_ERRNO ? dc_fail(DC_ERR_IO, "%s: read error: %s", path, strerror(errno))
                                 : dc_fail(DC_ERR_FORMAT, "%s: corrupt gzip data: %s", path, zmsg);
        } else if (r == 0) {
            break;
        } else {
            n += (size_t)r;
        }
    }
    gzclose(gz);
    if (st != DC_OK) {
        free(b);
        return st;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return DC_OK;
}
