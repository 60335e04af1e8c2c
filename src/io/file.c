/*
 * file.c - opening a file to read only when it is a regular one (a FIFO or a
 * device would block or never end), reading a whole untrusted file with a
 * size limit, and writing a file so that a crash or a full disk never leaves a half-written one in
 * place: write a temporary file beside it, fsync, rename, fsync the folder.
 * rename() within one folder is atomic on POSIX file systems, so a reader
 * sees either the previous file or the new one, whole.
 */
#include "io/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a file that is not regular is, for the message. */
static const char *file_kind(mode_t mode)
{
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a plain file";
}

dc_status dc_file_open_read(const char *path, const char *what, int *fd, size_t *size)
{
    *fd = -1;
    if (size)
        *size = 0;
    if (!path)
        return dc_fail(DC_ERR_ARG, "read: path is NULL");
    /* O_NONBLOCK: opening a FIFO that no one writes to would block here. */
    int f = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (f < 0)
        return dc_fail(DC_ERR_IO, "%s: cannot open%s%s: %s", path, what ? " " : "", what ? what : "", strerror(errno));
    struct stat sb;
    if (fstat(f, &sb) != 0) {
        int e = errno;
        close(f);
        return dc_fail(DC_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(f);
        return dc_fail(DC_ERR_IO, "%s: is not a regular file (%s); deepc reads only regular files", path,
                       file_kind(sb.st_mode));
    }
    int flags = fcntl(f, F_GETFL);
    if (flags < 0 || fcntl(f, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(f);
        return dc_fail(DC_ERR_IO, "%s: cannot set the descriptor's flags: %s", path, strerror(e));
    }
    if (sb.st_size < 0 || (unsigned long long)sb.st_size > SIZE_MAX) {
        close(f);
        return dc_fail(DC_ERR_FORMAT, "%s: file size %lld does not fit in memory", path, (long long)sb.st_size);
    }
    *fd = f;
    if (size)
        *size = (size_t)sb.st_size;
    return DC_OK;
}

dc_status dc_file_read_all(const char *path, size_t max_bytes, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd;
    size_t size, have = 0;
    dc_status st = dc_file_open_read(path, NULL, &fd, &size);
    if (st != DC_OK)
        return st;
    if (size > max_bytes) {
        close(fd);
        return dc_fail(DC_ERR_FORMAT, "%s: file is %zu bytes, more than the %zu this reader accepts", path, size,
                       max_bytes);
    }
    uint8_t *buf = dc_malloc(size);
    if (!buf) {
        close(fd);
        return DC_ERR_NOMEM;
    }
    while (have < size) {
        ssize_t r = read(fd, buf + have, size - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = errno;
            close(fd);
            free(buf);
            return dc_fail(DC_ERR_IO, "%s: read failed after %zu of %zu bytes: %s", path, have, size,
                           r == 0 ? "the file shrank while being read" : strerror(e));
        }
        have += (size_t)r;
    }
    close(fd);
    *out = buf;
    *len = size;
    return DC_OK;
}

static int write_full(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* fsync of the folder holding path, so the rename itself is durable. */
static int sync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

dc_status dc_file_write_atomic(const char *path, const void *const *parts, const size_t *sizes, int n)
{
    size_t plen = strlen(path);
    char *tmp = dc_malloc(plen + 16);
    if (!tmp)
        return DC_ERR_NOMEM;
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        dc_status st = dc_fail(DC_ERR_IO, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        free(tmp);
        return st;
    }
    /* mkstemp makes the file private (0600); keep the mode of the file being
     * replaced, or give a new one the usual 0644. */
    struct stat sb;
    fchmod(fd, stat(path, &sb) == 0 ? (sb.st_mode & 07777) : 0644);
    const char *step = "write";
    int failed = 0;
    for (int i = 0; i < n && !failed; i++)
        failed = write_full(fd, parts[i], sizes[i]) != 0;
    if (!failed && (step = "fsync", fsync(fd) != 0))
        failed = 1;
    int e = errno;
    if (close(fd) != 0 && !failed) {
        failed = 1;
        step = "close";
        e = errno;
    }
    if (!failed && (step = "rename", rename(tmp, path) != 0)) {
        failed = 1;
        e = errno;
    }
    if (failed) {
        unlink(tmp);
        free(tmp);
        return dc_fail(DC_ERR_IO, "%s: save failed (%s: %s); the previous file, if any, is unchanged", path, step,
                       strerror(e));
    }
    free(tmp);
    if (sync_dir(path) != 0)
        return dc_fail(DC_ERR_IO, "%s: saved, but syncing its folder failed: %s", path, strerror(errno));
    return DC_OK;
}
