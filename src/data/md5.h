/*
 * md5.h - a small MD5 (RFC 1321) used to verify downloaded data files.
 * Internal to deepc.  MD5 is used here as a checksum against corruption and
 * truncated downloads, not as a defence against tampering.
 */
#ifndef DC_MD5_H
#define DC_MD5_H

#include "deepc.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dc_md5 {
    uint32_t state[4];
    uint64_t length;    /* bytes hashed so far */
    uint8_t block[64];  /* pending input, `used` bytes of it */
    size_t used;
} dc_md5;

void dc_md5_init(dc_md5 *m);
void dc_md5_update(dc_md5 *m, const void *data, size_t n);
/* Finishes the hash and writes 32 lowercase hex digits and a NUL into hex. */
void dc_md5_final(dc_md5 *m, char hex[33]);

/* MD5 of a memory buffer, as 32 lowercase hex digits. */
void dc_md5_buffer(const void *data, size_t n, char hex[33]);
/* MD5 of a file's bytes (as stored: a .gz file is hashed compressed).
 * DC_ERR_IO with the path and the reason if it cannot be read. */
dc_status dc_md5_file(const char *path, char hex[33]);

#endif
