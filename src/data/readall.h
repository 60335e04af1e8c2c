/*
 * readall.h - reads a whole file into memory, plain or gzip'd (zlib detects
 * which by content).  Internal; used by the CSV and .npy readers.
 */
#ifndef DC_READALL_H
#define DC_READALL_H

#include "deepc.h"

/* *buf receives a new buffer (caller frees) of *len bytes plus a NUL after
 * them.  DC_ERR_IO names the path and the reason. */
dc_status dc_read_all(const char *path, char **buf, size_t *len);

#endif
