/*
 * readall.h - reads a whole file into memory, plain or gzip'd (zlib detects
 * which by content).  Internal; used by the CSV and .npy readers.
 */
#ifndef DC_READALL_H
#define DC_READALL_H

#include "deepc.h"

/* The most a gzip'd input may inflate to (1 GiB): a few megabytes of gzip
 * can hold gigabytes of zeros, so what a compressed file may make deepc
 * allocate is capped; a plain file is read at its own size. */
#define DC_INFLATE_MAX_BYTES ((size_t)1 << 30)

/* *buf receives a new buffer (caller frees) of *len bytes plus a NUL after
 * them.  The path must name a regular file (dc_file_open_read); gzip'd data
 * that inflates past DC_INFLATE_MAX_BYTES is DC_ERR_FORMAT, naming the file
 * and the limit.  DC_ERR_IO names the path and the reason. */
dc_status dc_read_all(const char *path, char **buf, size_t *len);
/* The same with max_inflate in place of DC_INFLATE_MAX_BYTES. */
dc_status dc_read_all_limit(const char *path, size_t max_inflate, char **buf, size_t *len);

#endif
