/*
 * readall.c - a whole file into memory through zlib, so gzip'd files (the
 * scikit-learn data ships some) read the same as plain ones.  The file is
 * opened with dc_file_open_read (a regular file only: a FIFO or /dev/zero
 * would block or never end).  A plain file is read at its size; gzip'd data
 * into a buffer that doubles as bytes arrive, up to DC_INFLATE_MAX_BYTES.
 * A read or decompression error is reported with the path, never a silent
 * short read.
 */
#include "core/core.h"
#include "data/readall.h"
#include "io/file.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

enum { FIRST_CHUNK = 1 << 16, MAX_READ = 1 << 30 };

dc_status dc_read_all(const char *path, char **buf, size_t *len)
{
    return dc_read_all_limit(path, DC_INFLATE_MAX_BYTES, buf, len);
}

dc_status dc_read_all_limit(const char *path, size_t max_inflate, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    int fd;
    size_t size;
    dc_status st = dc_file_open_read(path, NULL, &fd, &size);
    if (st != DC_OK)
        return st;
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return dc_fail(DC_ERR_NOMEM, "%s: out of memory opening the file with zlib", path);
    }
    /* gzip'd: up to the inflate cap; plain: the file's size, one byte more
     * only to notice a file that grows while it is read. */
    int plain = gzdirect(gz);
    size_t limit = plain ? size : max_inflate;
    size_t cap = plain ? size + 1 : limit < FIRST_CHUNK ? limit + 1 : FIRST_CHUNK, n = 0;
    char *b = dc_malloc(cap + 1);
    st = b ? DC_OK : DC_ERR_NOMEM;
    while (st == DC_OK) {
        if (n > limit) {
            st = plain ? dc_fail(DC_ERR_IO, "%s: the file grew while it was read (%zu bytes at the start)", path, size)
                       : dc_fail(DC_ERR_FORMAT,
                                 "%s: the gzip'd data inflates to more than %zu bytes, the most deepc inflates from "
                                 "one file (DC_INFLATE_MAX_BYTES in src/data/readall.h); unpack it and read the "
                                 "plain file",
                                 path, limit);
            break;
        }
        if (n == cap) {
            size_t grown = cap > (limit + 1) / 2 ? limit + 1 : 2 * cap;
            char *nb = realloc(b, grown + 1);
            if (!nb) {
                st = dc_fail(DC_ERR_NOMEM, "%s: out of memory after reading %zu bytes", path, n);
                break;
            }
            b = nb;
            cap = grown;
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
