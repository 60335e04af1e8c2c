/*
 * md5.c - MD5 message digest (RFC 1321), self-contained, for verifying the
 * dataset files deepc downloads.  The block function follows the RFC's
 * four rounds of sixteen steps, driven by the usual tables of shift amounts
 * and sine-derived constants rather than sixty-four written-out steps.
 */
#include "md5.h"

#include "core/core.h"
#include "io/file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Per-step left-rotation amounts, four per round. */
static const uint8_t shifts[64] = {
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
    5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
};

/* K[i] = floor(abs(sin(i + 1)) * 2^32). */
static const uint32_t K[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static uint32_t rotl(uint32_t x, unsigned s) { return (x << s) | (x >> (32 - s)); }

/* Mixes one 64-byte block into the state. */
static void md5_block(uint32_t state[4], const uint8_t *p)
{
    uint32_t w[16];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
               (uint32_t)p[4 * i + 3] << 24;
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g;
        if (i < 16) {
            f = (b & c) | (~b & d);
            g = i;
        } else if (i < 32) {
            f = (d & b) | (~d & c);
            g = (5 * i + 1) % 16;
        } else if (i < 48) {
            f = b ^ c ^ d;
            g = (3 * i + 5) % 16;
        } else {
            f = c ^ (b | ~d);
            g = (7 * i) % 16;
        }
        uint32_t next = b + rotl(a + f + K[i] + w[g], shifts[i]);
        a = d;
        d = c;
        c = b;
        b = next;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
}

void dc_md5_init(dc_md5 *m)
{
    m->state[0] = 0x67452301;
    m->state[1] = 0xefcdab89;
    m->state[2] = 0x98badcfe;
    m->state[3] = 0x10325476;
    m->length = 0;
    m->used = 0;
}

void dc_md5_update(dc_md5 *m, const void *data, size_t n)
{
    const uint8_t *p = data;
    m->length += n;
    if (m->used) {
        size_t take = 64 - m->used < n ? 64 - m->used : n;
        memcpy(m->block + m->used, p, take);
        m->used += take;
        p += take;
        n -= take;
        if (m->used < 64)
            return;
        md5_block(m->state, m->block);
        m->used = 0;
    }
    for (; n >= 64; p += 64, n -= 64)
        md5_block(m->state, p);
    memcpy(m->block, p, n);
    m->used = n;
}

void dc_md5_final(dc_md5 *m, char hex[33])
{
    static const char digits[] = "0123456789abcdef";
    uint64_t bits = m->length * 8;
    uint8_t pad[72] = {0x80};
    /* Pad with 0x80 and zeros to 56 bytes mod 64, then the bit length. */
    size_t padlen = m->used < 56 ? 56 - m->used : 120 - m->used;
    uint8_t len_le[8];
    for (int i = 0; i < 8; i++)
        len_le[i] = (uint8_t)(bits >> (8 * i));
    dc_md5_update(m, pad, padlen);
    dc_md5_update(m, len_le, 8);
    for (int i = 0; i < 16; i++) {
        uint8_t byte = (uint8_t)(m->state[i / 4] >> (8 * (i % 4)));
        hex[2 * i] = digits[byte >> 4];
        hex[2 * i + 1] = digits[byte & 15];
    }
    hex[32] = '\0';
}

void dc_md5_buffer(const void *data, size_t n, char hex[33])
{
    dc_md5 m;
    dc_md5_init(&m);
    dc_md5_update(&m, data, n);
    dc_md5_final(&m, hex);
}

dc_status dc_md5_file(const char *path, char hex[33])
{
    enum { CHUNK = 1 << 16 };
    int fd;
    dc_status st = dc_file_open_read(path, "for checksumming", &fd, NULL);
    if (st != DC_OK)
        return st;
    uint8_t *buf = dc_malloc(CHUNK);
    if (!buf) {
        close(fd);
        return DC_ERR_NOMEM;
    }
    dc_md5 m;
    dc_md5_init(&m);
    ssize_t n;
    while ((n = read(fd, buf, CHUNK)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        dc_md5_update(&m, buf, (size_t)n);
    }
    int saved_errno = errno;
    free(buf);
    close(fd);
    if (n < 0)
        return dc_fail(DC_ERR_IO, "%s: read error while checksumming: %s", path, strerror(saved_errno));
    dc_md5_final(&m, hex);
    return DC_OK;
}
