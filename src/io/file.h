/*
 * file.h - whole-file reads with a size limit, and atomic writes, internal.
 */
#ifndef DC_FILE_H
#define DC_FILE_H

#include "core/core.h"

/* Reads the regular file at path into a new buffer (freed by the caller);
 * files larger than max_bytes are refused before anything is allocated. */
dc_status dc_file_read_all(const char *path, size_t max_bytes, uint8_t **out, size_t *len);

/* Writes parts[0..n) one after another to path atomically: a temporary file
 * in the same folder is written, flushed and fsync'ed, then renamed over
 * path, and the folder is fsync'ed.  On any failure (a full disk, a write
 * error) the temporary file is removed and an existing file at path is left
 * exactly as it was. */
dc_status dc_file_write_atomic(const char *path, const void *const *parts, const size_t *sizes, int n);

#endif
