/*
 * error.c - status strings and the per-thread error message.
 *
 * Each fallible call returns a dc_status; the detailed message lives in a
 * thread-local buffer, like dlerror(), so two threads (or two models on two
 * threads) never see each other's messages.
 */
#include "core.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static _Thread_local char errbuf[1024];
static _Thread_local dc_status errstat;

static const char *const status_strings[] = {
#define DC_X_STR(name, str) str,
    DC_STATUS_TABLE(DC_X_STR)
#undef DC_X_STR
};

const char *dc_status_str(dc_status st)
{
    if ((int)st < 0 || st >= DC_STATUS_COUNT)
        return "unknown status";
    return status_strings[st];
}

const char *dc_errmsg(void) { return errbuf; }

dc_status dc_last_status(void) { return errstat; }

static void set_message(const char *fmt, va_list ap)
{
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
}

dc_status dc_fail(dc_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_message(fmt, ap);
    va_end(ap);
    errstat = st;
    return st;
}

void *dc_fail_null(dc_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_message(fmt, ap);
    va_end(ap);
    errstat = st;
    return NULL;
}

void dc_err_prefix(const char *where)
{
    size_t w = strlen(where), len = strlen(errbuf);
    if (w + 3 >= sizeof errbuf)
        return;
    if (len > sizeof errbuf - w - 3)
        len = sizeof errbuf - w - 3;
    memmove(errbuf + w + 2, errbuf, len);
    errbuf[w + 2 + len] = '\0';
    memcpy(errbuf, where, w);
    errbuf[w] = ':';
    errbuf[w + 1] = ' ';
}

void *dc_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        dc_fail(DC_ERR_NOMEM, "out of memory allocating %zu bytes", n);
    return p;
}

void *dc_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        dc_fail(DC_ERR_NOMEM, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

/* Large buffers are 2 MiB aligned and advised to use huge pages: first
 * touch of fresh 4 KiB pages is slow on these machines. */
#define HUGE_PAGE ((size_t)2 << 20)

void *dc_malloc_aligned(size_t n)
{
    void *p = NULL;
    size_t align = n >= HUGE_PAGE ? HUGE_PAGE : 64;
    size_t rounded = (n + align - 1) & ~(align - 1);
    if (rounded < n || posix_memalign(&p, align, rounded ? rounded : align) != 0) {
        dc_fail(DC_ERR_NOMEM, "out of memory allocating %zu bytes", n);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    if (align == HUGE_PAGE)
        madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
}

void dc_free_aligned(void *p) { free(p); }

char *dc_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = dc_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

size_t dc_shape_size(int ndim, const int *shape)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] <= 0)
            return 0;
        if (n > SIZE_MAX / (size_t)shape[i])
            return 0;
        n *= (size_t)shape[i];
    }
    return n;
}
