/*
 * dataset_prefetch.c - the page-cache prefetcher of a pipe over a
 * per-sample file source (image folders: ds->paths): a few plain threads
 * that walk the epoch's files a window ahead of the batch the reader is on
 * and ask the kernel to read each one that is not in the page cache yet,
 * so that the reader's open() and read() find the file (its dentry, inode
 * and data) in memory instead of waiting on the disk.
 *
 * Why: when the training team fills the batches itself (dataset_pipe.c,
 * team_fill_alone), every file that is not cached stalls training on the
 * disk's latency, one file after another: ~60-90 us a file on this VM's
 * disk, 13.6 s for an MNIST epoch of 60,000 PNGs that takes 7.5 s in
 * memory.  Several threads, each blocked in its own open(), give the disk a
 * queue; the reads overlap each other and training.
 *
 * A file is touched with open(O_RDONLY | O_NONBLOCK | O_CLOEXEC) (the
 * open itself reads the directory blocks and the inode), fstat (a regular
 * file only: a FIFO is never read), a one-byte preadv2(RWF_NOWAIT) that
 * fails with EAGAIN when the data is not cached - then, and only then,
 * posix_fadvise(POSIX_FADV_WILLNEED), which starts the read and returns -
 * and close.  A file that cannot be opened is skipped: the reader's own
 * read reports the error.  Nothing the prefetcher does reaches a batch:
 * the batches, and so training, are the same with it, without it, and
 * whatever it manages to read ahead.
 *
 * Adaptive, so that a cached dataset costs nothing: the threads are
 * started only when the reader finds PF_SLOW_FILLS fills of one batch slow
 * (more than PF_SLOW_ROW_S a row of wall time, dc_prefetch_note: one slow
 * fill is more likely a thread preempted on a busy machine; two vDSO clock
 * reads a chunk are all the warm case pays), and they touch files only up to
 * `active_until`, which that reader's note sets to PF_AHEAD files past the
 * reader's batch and each file found uncached pushes to PF_AHEAD files past
 * itself.  So on a cold dataset the window rolls on by itself, never more
 * than PF_AHEAD files ahead of the reader (beyond, the cache could drop
 * them before they are used), and once PF_AHEAD files in a row were cached
 * the threads sleep again, and the reader's notes are ignored for the next
 * PF_QUIET files (a fill slow for another reason - a preempted thread,
 * large images - must not keep the threads touching cached files).
 * Measured on this 2-core VM: a cached file costs the prefetcher ~2.5 us
 * of CPU, an uncached one ~10 us (most of it the kernel's I/O work, which
 * the reader would otherwise pay itself, ~27 us a file read cold in turn).
 *
 * text_dataset_from_directory, which reads its files into memory one after
 * another, uses the same threads over its file list (dc_prefetch_files:
 * groups of files in place of batches).
 *
 * DEEPC_PREFETCH=off disables it, =on keeps it touching every file from the
 * start (tests; a dataset known to be cold); dc_loader.io_prefetch does the
 * same from code.  DEEPC_PREFETCH_STATS=1 prints each pipe's counts (files
 * touched, found uncached, windows, the threads' CPU time) to stderr when
 * it stops.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* preadv2, RWF_NOWAIT */
#endif
#include "data/dataset_internal.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PF_THREADS 4
#define PF_AHEAD 512          /* files ahead of the reader's batch at most */
#define PF_QUIET 1024         /* files the reader's notes are ignored for after a cached window */
#define PF_SLOW_ROW_S 30e-6   /* a fill slower than this a row: the reader waited on the disk ... */
#define PF_SLOW_FILLS 4       /* ... when as many of one batch's fills were */

struct dc_prefetch {
    char *const *paths;  /* the files, by sample */
    int n;
    const int *order;
    const dc_batch_job *jobs; /* NULL: dc_prefetch_files (position = sample) */
    int n_jobs;
    int *pos0;          /* pos0[j]: the position (in the pipe's reading order) of job j's first row; n_jobs + 1 */
    int total;          /* positions: every job's rows of this process */
    int always;         /* DEEPC_PREFETCH=on */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t threads[PF_THREADS];
    int n_threads;      /* started (atomic: read by the reader without the lock) */
    int cancel;
    int reader;         /* the reader's position: its batch's first row */
    int next;           /* the next position to touch */
    int job;            /* the job holding `next` (advances with it) */
    int active_until;   /* atomic: positions below it are to be touched */
    int quiet_until;    /* atomic: the reader's notes are ignored while it is below this */
    long long slow;     /* atomic: job * 256 + the slow fills noted in it (approximate: two threads may race) */
    long touched, uncached, windows;
    double cpu_s;
};

static void *pf_thread(void *arg);
static void start_threads(dc_prefetch *f);

static int env_mode(void)
{
    const char *e = getenv("DEEPC_PREFETCH");
    if (!e)
        return 0;
    if (!strcmp(e, "off") || !strcmp(e, "0"))
        return -1;
    if (!strcmp(e, "on") || !strcmp(e, "1"))
        return 1;
    return 0;
}

/* A prefetcher over n_jobs jobs (jobs NULL: groups of `group` files in order). */
static dc_prefetch *prefetch_new(int mode, char *const *paths, int n, const int *order, const dc_batch_job *jobs,
                                 int n_jobs, int group)
{
    if (mode == 0)
        mode = env_mode();
    if (mode < 0 || !paths || n <= 0 || n_jobs <= 0)
        return NULL;
    dc_prefetch *f = calloc(1, sizeof *f);
    int *pos0 = malloc(((size_t)n_jobs + 1) * sizeof *pos0);
    if (!f || !pos0) { /* an optimisation only: run without */
        free(f);
        free(pos0);
        return NULL;
    }
    long total = 0;
    for (int j = 0; j < n_jobs; j++) {
        pos0[j] = (int)total;
        total += !jobs ? (n - total < group ? n - total : group) : jobs[j].len > 0 ? jobs[j].len : 0;
        if (total > 0x7fffffff) {
            free(f);
            free(pos0);
            return NULL;
        }
    }
    pos0[n_jobs] = (int)total;
    f->paths = paths;
    f->n = n;
    f->order = order;
    f->jobs = jobs;
    f->n_jobs = n_jobs;
    f->pos0 = pos0;
    f->total = (int)total;
    f->always = mode > 0;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    if (f->always) {
        f->active_until = f->total;
        pthread_mutex_lock(&f->mu);
        start_threads(f);
        pthread_mutex_unlock(&f->mu);
    }
    return f;
}

dc_prefetch *dc_prefetch_new(const dc_loader *ds, const int *order, const dc_batch_job *jobs, int n_jobs)
{
    return prefetch_new(ds->io_prefetch, ds->paths, ds->n, order, jobs, n_jobs, 0);
}

dc_prefetch *dc_prefetch_files(char *const *paths, int n, int group, int mode)
{
    if (group < 1 || n <= 0)
        return NULL;
    return prefetch_new(mode, paths, n, NULL, NULL, (n - 1) / group + 1, group);
}

/* The sample at position pos (under the lock; pos >= the cursor's job start). */
static int sample_at(dc_prefetch *f, int pos)
{
    if (!f->jobs)
        return pos < f->n ? pos : -1;
    while (f->job + 1 < f->n_jobs && f->pos0[f->job + 1] <= pos)
        f->job++;
    const dc_batch_job *jb = &f->jobs[f->job];
    int r = jb->first + jb->off + (pos - f->pos0[f->job]);
    int i = f->order ? f->order[r] : r;
    return i >= 0 && i < f->n ? i : -1;
}

/* Asks for path's data if it is not cached; 1 when it was not. */
static int touch(const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return 0; /* the reader reports it */
    int cold = 0;
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) {
#ifdef RWF_NOWAIT
        char c;
        struct iovec v = {&c, 1};
        cold = preadv2(fd, &v, 1, 0, RWF_NOWAIT) < 0; /* EAGAIN: not cached (an error: the reader reports it) */
#else
        cold = 1;
#endif
        if (cold)
            (void)posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
    }
    close(fd);
    return cold;
}

static void *pf_thread(void *arg)
{
    dc_prefetch *f = arg;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        if (f->cancel)
            break;
        int lo = f->next > f->reader ? f->next : f->reader, until;
#pragma omp atomic read
        until = f->active_until;
        int hi = until < f->reader + PF_AHEAD ? until : f->reader + PF_AHEAD;
        if (hi > f->total)
            hi = f->total;
        if (lo >= hi) {
            if (lo >= until && !f->always) { /* the window ran out on cached files: quiet */
                int q = until + PF_QUIET, cur;
#pragma omp atomic read
                cur = f->quiet_until;
                if (cur < q) {
#pragma omp atomic write
                    f->quiet_until = q;
                }
            }
            if (lo >= f->total)
                break;
            pthread_cond_wait(&f->cv, &f->mu);
            continue;
        }
        f->next = lo + 1;
        int i = sample_at(f, lo);
        pthread_mutex_unlock(&f->mu);
        int cold = i >= 0 && touch(f->paths[i]);
        pthread_mutex_lock(&f->mu);
        f->touched++;
        if (cold) {
            f->uncached++;
            int u = lo + 1 + PF_AHEAD < f->total ? lo + 1 + PF_AHEAD : f->total;
            /* written only under the lock: this read is current */
#pragma omp atomic read
            until = f->active_until;
            if (u > until) {
#pragma omp atomic write
                f->active_until = u;
            }
        }
    }
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    f->cpu_s += (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* Starts the threads (under the lock); fewer, or none, when refused. */
static void start_threads(dc_prefetch *f)
{
    int n = f->n_threads;
    while (n < PF_THREADS && pthread_create(&f->threads[n], NULL, pf_thread, f) == 0)
        n++;
#pragma omp atomic write
    f->n_threads = n;
}

void dc_prefetch_note(dc_prefetch *f, int job, double wall_s, int rows)
{
    if (!f || job < 0 || job >= f->n_jobs || wall_s <= PF_SLOW_ROW_S * (rows > 0 ? rows : 1))
        return;
    /* one slow fill may be a preempted thread; several in one batch are the disk */
    long long cur;
#pragma omp atomic read
    cur = f->slow;
    long long n = cur >> 8 == job ? (cur & 255) + 1 : 1;
#pragma omp atomic write
    f->slow = (long long)job << 8 | (n < 255 ? n : 255);
    if (n < PF_SLOW_FILLS)
        return;
    int pos = f->pos0[job], until, quiet;
#pragma omp atomic read
    until = f->active_until;
#pragma omp atomic read
    quiet = f->quiet_until;
    if (pos < quiet || until >= pos + PF_AHEAD / 2 || until >= f->total)
        return; /* quiet, or already running well ahead */
    /* never sleep on the lock here (a training thread): the next slow fill tries again */
    if (pthread_mutex_trylock(&f->mu) != 0)
        return;
    if (!f->cancel) {
        if (pos > f->reader)
            f->reader = pos;
        int u = pos + PF_AHEAD < f->total ? pos + PF_AHEAD : f->total;
        if (u > f->active_until) {
#pragma omp atomic write
            f->active_until = u;
            f->windows++;
        }
        if (f->n_threads == 0)
            start_threads(f);
        pthread_cond_broadcast(&f->cv);
    }
    pthread_mutex_unlock(&f->mu);
}

void dc_prefetch_reader_at(dc_prefetch *f, int job)
{
    int n = 0;
    if (f) {
#pragma omp atomic read
        n = f->n_threads;
    }
    if (n == 0 || job >= f->n_jobs)
        return; /* no thread yet: nothing to tell (a note sets the reader's position when it starts them) */
    pthread_mutex_lock(&f->mu);
    f->reader = f->pos0[job];
    int until;
#pragma omp atomic read
    until = f->active_until;
    if (until > f->next)
        pthread_cond_broadcast(&f->cv); /* a thread may wait for the reader to move on */
    pthread_mutex_unlock(&f->mu);
}

int dc_prefetch_threads(dc_prefetch *f)
{
    int n = 0;
    if (f) {
#pragma omp atomic read
        n = f->n_threads;
    }
    return n;
}

void dc_prefetch_stop(dc_prefetch *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->cancel = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    for (int i = 0; i < f->n_threads; i++)
        pthread_join(f->threads[i], NULL);
    const char *e = getenv("DEEPC_PREFETCH_STATS");
    if (e && *e && strcmp(e, "0"))
        fprintf(stderr, "prefetch: %d files, %d threads: touched %ld, uncached %ld, windows %ld, cpu %.3f s\n",
                f->total, f->n_threads, f->touched, f->uncached, f->windows, f->cpu_s);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f->pos0);
    free(f);
}
