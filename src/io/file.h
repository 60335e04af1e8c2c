/*
 * file.h - opening files to read without blocking, whole-file reads with a
 * size limit, and atomic writes, internal.
 *
 * The rules every reader and saver of deepc follows:
 * - a reader opens its path with dc_file_open_read (or a function here that
 *   calls it): only a regular file is read, so a FIFO, a device such as
 *   /dev/zero, a socket or a folder is an error naming the path, never a
 *   read that blocks or never ends;
 * - a saver writes with dc_file_write_atomic, so a failed save leaves the
 *   previous file whole.
 */
#ifndef DC_FILE_H
#define DC_FILE_H

#include "core/core.h"

/* Opens path for reading; *fd is the descriptor (the caller closes it) and
 * *size (when not NULL) the file's size.  The open never blocks (O_NONBLOCK, cleared once
 * the file is known to be regular), symbolic links are followed, and
 * anything but a regular file is DC_ERR_IO: "<path>: is not a regular file
 * (a FIFO)".  `what` says what the caller meant to read ("IDX file"), for
 * the message when the open fails; NULL: nothing. */
dc_status dc_file_open_read(const char *path, const char *what, int *fd, size_t *size);

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
