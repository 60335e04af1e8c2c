/*
 * dataset_pipe.c - batches read ahead of the step that needs them: worker
 * threads (pthreads) fill a ring of `depth` batch buffers while the caller
 * trains on the one before, so decoding images overlaps training and memory
 * stays at depth batches whatever the dataset's size.
 *
 * Jobs are numbered in the order the caller reads them and started in that
 * order: job j may start only when j < consumed + depth, i.e. when its
 * buffer j % depth was released by job j - depth.  The reader waits for job
 * `consumed` to be ready, uses it, and releases it (consumed + 1).  So
 * batches reach the reader in job order whatever order the work finishes
 * in, and the result is the same for any number of workers.
 *
 * Per-sample sources (image folders, tensors, .npy) are shared out by
 * chunks of a few rows, not by whole batches, and the reader's own threads
 * help: when the batch the reader needs is not ready, it claims the rows no
 * worker has claimed and fills them with its OpenMP team (the training
 * threads, idle until the batch is there) in one parallel region, then
 * waits only for the chunks workers hold.  The workers run under
 * SCHED_IDLE: they get a core only when nothing else wants it (the second
 * core while one thread trains; never a training thread's), so they fill
 * the gaps training leaves and never preempt a training thread - which
 * would stall the other training threads at their next barrier too.  A
 * worker fills its chunk into its own buffer and copies it into the batch
 * under the lock; if it has not finished a chunk the reader is waiting for
 * within a few chunk-times (a busy machine can leave a SCHED_IDLE thread
 * off the CPU for long), the reader revokes the chunk and fills those rows
 * itself, and the worker's copy is dropped.  So the reader never waits on a
 * starved worker, and a batch costs the training threads its decoding time
 * divided among them at worst.
 *
 * When the training team has every core (fit with as many threads as
 * cores), per-sample sources start no worker at all and the team fills
 * every batch in its own parallel region (team_fill_alone: rows claimed
 * with an atomic add, no lock): measured on 2 cores, a
 * SCHED_IDLE worker then cost 0.5-1 s of CPU an MNIST epoch beyond its
 * decoding (CFS still gives an idle-policy thread a slice now and then; a
 * training thread it displaces leaves the other spinning at its barrier),
 * while the team decodes a batch of 32 PNGs in ~0.15 ms.
 *
 * A source read from files (image folders: ds->paths) also gets a page-cache
 * prefetcher (dataset_prefetch.c): the team times its fills (two vDSO clock
 * reads a chunk) and a batch with several slow ones - files waited for on
 * the disk - wakes a few plain threads that open the epoch's next files,
 * up to 512 ahead of the batch being read, and ask the kernel for those
 * not cached (posix_fadvise WILLNEED), so the team's own reads find them in
 * memory.  It never writes a batch; it runs while it keeps finding
 * uncached files and sleeps again after a window of cached ones; it is
 * stopped and joined by dc_pipe_stop, before the workers' buffers go.
 *
 * Batch sources (callbacks) are filled whole, by one normal-priority worker,
 * in order, as the user's callback expects; the reader only waits for them.
 *
 * A chunk's error is kept in its batch (status and message, since messages
 * are per thread; the error of the lowest failing row wins) and returned by
 * dc_pipe_next when the reader reaches that job.  dc_pipe_stop sets
 * `cancel`, wakes everyone and joins: a worker finishes the chunk it is
 * filling and takes no more.
 */
/* SCHED_IDLE is Linux's (sched.h declares it under _GNU_SOURCE) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "data/dataset_internal.h"
#include "core/core.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct pipe_slot {
    dc_tensor *x, *y;
    int job;      /* the job it holds, -1 none */
    int ready;
    int rows;     /* the batch's rows (a callback's own count) */
    int next;     /* the next unit to claim: a row (off .. off + len), or 0 / 1 for a whole batch */
    int done;     /* units filled (or failed) */
    int err_unit; /* the lowest unit whose chunk failed; INT_MAX none */
    dc_status st;
    char msg[1024];
} pipe_slot;

typedef struct pipe_worker {
    struct dc_pipe *p;
    pthread_t thread;
    dc_tensor x, y;    /* views of xbuf / ybuf: a chunk's rows */
    float *xbuf, *ybuf;
    int job, u0, u1;   /* the chunk in hand (job -1: none) */
    int revoked;       /* the reader filled that chunk itself: drop this copy */
} pipe_worker;

struct dc_pipe {
    const dc_loader *ds;
    const int *order;
    const dc_batch_job *jobs;
    int n_jobs, depth;
    int rowwise;       /* per-sample source: chunks of rows, reader helps */
    int chunk;         /* rows a chunk */
    pipe_slot *slots;
    int started, consumed, cancel;
    double chunk_s;    /* a chunk's fill CPU time, averaged: how long to wait for a worker's */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pipe_worker *workers;
    int n_workers;
    dc_prefetch *pf;   /* file sources: the page-cache prefetcher (dataset_prefetch.c), or NULL */
};

static double mono_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* One chunk in this many has its fill timed (a thread CPU clock read is a
 * system call, ~0.2 us, twice a chunk of ~35 us); a power of two. */
#define CHUNK_TIMING_EVERY 8u

/* The calling thread's CPU time: a chunk's fill cost.  A SCHED_IDLE
 * worker's wall time also counts the time it spent off the CPU while the
 * training threads ran (milliseconds); averaged into chunk_s, that made the
 * reader wait milliseconds for a chunk it fills in ~40 us, with its idle
 * OpenMP threads spinning meanwhile. */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Units of a job: its rows of this process, or one whole batch. */
static int units_end(const dc_pipe *p, const dc_batch_job *jb) { return p->rowwise ? jb->off + jb->len : 1; }
static int units_count(const dc_pipe *p, const dc_batch_job *jb) { return p->rowwise ? jb->len : 1; }

/* Starts the next job in its slot (under the lock). */
static pipe_slot *start_job(dc_pipe *p)
{
    int j = p->started++;
    const dc_batch_job *jb = &p->jobs[j];
    pipe_slot *s = &p->slots[j % p->depth];
    s->job = j;
    s->rows = jb->b;
    s->next = p->rowwise ? jb->off : 0;
    s->done = 0;
    s->err_unit = INT_MAX;
    s->st = DC_OK;
    s->msg[0] = 0;
    s->ready = units_count(p, jb) <= 0;
    return s;
}

/* Claims the next chunk of s (under the lock): units [*u0, *u1); 0 when none is left. */
static int claim(dc_pipe *p, pipe_slot *s, int *u0, int *u1)
{
    int end = units_end(p, &p->jobs[s->job]);
    if (s->next >= end)
        return 0;
    *u0 = s->next;
    *u1 = p->rowwise && s->next + p->chunk < end ? s->next + p->chunk : end;
    s->next = *u1;
    return 1;
}

/* A filled chunk (under the lock, on the thread that filled it: the error
 * message is this thread's); the batch is ready when all its units are. */
static void finish(dc_pipe *p, pipe_slot *s, int u0, int u1, dc_status st, int rows)
{
    s->done += u1 - u0;
    if (st != DC_OK && u0 < s->err_unit) {
        s->err_unit = u0;
        s->st = st;
        snprintf(s->msg, sizeof s->msg, "%s", dc_errmsg());
    }
    if (!p->rowwise)
        s->rows = rows;
    if (s->done >= units_count(p, &p->jobs[s->job])) {
        s->ready = 1;
        pthread_cond_broadcast(&p->cv);
    }
}

/* Fills units [u0, u1) of job j straight into slot s (outside the lock). */
static dc_status fill_direct(dc_pipe *p, pipe_slot *s, int u0, int u1, int *rows)
{
    const dc_batch_job *jb = &p->jobs[s->job];
    *rows = jb->b;
    if (!p->rowwise)
        return dc_loader_fill(p->ds, p->order, jb->first, jb->b, jb->off, jb->len, jb->index, s->x, s->y, rows);
    return dc_loader_fill(p->ds, p->order, jb->first, jb->b, u0, u1 - u0, jb->index, s->x, s->y, rows);
}

/* The earliest started job with a chunk left to claim, or a new job (under the lock). */
static pipe_slot *find_work(dc_pipe *p, int *u0, int *u1)
{
    for (int j = p->consumed; j < p->started; j++) {
        pipe_slot *s = &p->slots[j % p->depth];
        if (!s->ready && claim(p, s, u0, u1))
            return s;
    }
    while (p->started < p->n_jobs && p->started < p->consumed + p->depth) {
        pipe_slot *s = start_job(p);
        if (claim(p, s, u0, u1))
            return s;
    }
    return NULL;
}

static void *worker(void *arg)
{
    pipe_worker *w = arg;
    dc_pipe *p = w->p;
    if (p->rowwise) {
        /* only idle cores (see the top); where refused, a normal thread */
#ifdef SCHED_IDLE
        struct sched_param sp;
        memset(&sp, 0, sizeof sp);
        (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
#endif
    }
    unsigned n_filled = 0;
    pthread_mutex_lock(&p->mu);
    while (!p->cancel) {
        int u0, u1;
        pipe_slot *s = find_work(p, &u0, &u1);
        if (!s) {
            if (p->started >= p->n_jobs)
                break; /* every chunk is claimed */
            pthread_cond_wait(&p->cv, &p->mu);
            continue;
        }
        w->job = s->job;
        w->u0 = u0;
        w->u1 = u1;
        w->revoked = 0;
        pthread_mutex_unlock(&p->mu);
        int rows = 0;
        dc_status st;
        int timed = (n_filled++ & (CHUNK_TIMING_EVERY - 1)) == 0;
        double t0 = timed ? cpu_now() : 0;
        if (p->rowwise) {
            const dc_batch_job *jb = &p->jobs[s->job];
            /* its own buffer: the reader may revoke the chunk and fill the rows itself */
            st = dc_loader_fill(p->ds, p->order, jb->first + u0, jb->b, 0, u1 - u0, jb->index, &w->x,
                                 w->ybuf ? &w->y : NULL, &rows);
        } else {
            st = fill_direct(p, s, u0, u1, &rows);
        }
        double dt = timed ? cpu_now() - t0 : 0;
        pthread_mutex_lock(&p->mu);
        if (!w->revoked) {
            if (p->rowwise) {
                const dc_loader *ds = p->ds;
                size_t n = (size_t)(u1 - u0);
                memcpy(s->x->data + (size_t)u0 * ds->x_per, w->xbuf, n * ds->x_per * sizeof(float));
                if (s->y)
                    memcpy(s->y->data + (size_t)u0 * ds->y_per, w->ybuf, n * ds->y_per * sizeof(float));
            }
            if (timed)
                p->chunk_s = 0.8 * p->chunk_s + 0.2 * dt;
            finish(p, s, u0, u1, st, rows);
        }
        w->job = -1;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* The reader's team fills the unclaimed chunks of s (called without the lock). */
static void team_fill(dc_pipe *p, pipe_slot *s)
{
#pragma omp parallel
    {
        unsigned n_filled = 0;
        for (;;) {
            int u0, u1, rows = 0;
            pthread_mutex_lock(&p->mu);
            int got = claim(p, s, &u0, &u1);
            pthread_mutex_unlock(&p->mu);
            if (!got)
                break;
            /* chunk_s matters only to wait_workers: no clock without workers */
            int timed = p->n_workers > 0 && (n_filled++ & (CHUNK_TIMING_EVERY - 1)) == 0;
            double t0 = timed ? cpu_now() : 0, w0 = p->pf ? mono_now() : 0;
            dc_status st = fill_direct(p, s, u0, u1, &rows);
            double dt = timed ? cpu_now() - t0 : 0;
            if (p->pf)
                dc_prefetch_note(p->pf, s->job, mono_now() - w0, u1 - u0);
            pthread_mutex_lock(&p->mu);
            if (timed)
                p->chunk_s = 0.8 * p->chunk_s + 0.2 * dt;
            finish(p, s, u0, u1, st, rows);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

/* As team_fill when there are no workers: nothing but the team touches s
 * while its region runs, so the rows are claimed with an atomic add and
 * counted after the region, and the lock is taken only to record an
 * error.  No thread of the team ever sleeps on the lock: on a loaded
 * machine a thread put to sleep there (59-103 times an epoch of 9,600
 * images) came back only when the scheduler next gave it a core, while
 * its partner spun at the region's end. */
static void team_fill_alone(dc_pipe *p, pipe_slot *s)
{
    int end = units_end(p, &p->jobs[s->job]), chunk = p->chunk;
#pragma omp parallel
    {
        for (;;) {
            int u0;
#pragma omp atomic capture
            {
                u0 = s->next;
                s->next += chunk;
            }
            if (u0 >= end)
                break;
            int u1 = u0 + chunk < end ? u0 + chunk : end, rows = 0;
            double w0 = p->pf ? mono_now() : 0;
            dc_status st = fill_direct(p, s, u0, u1, &rows);
            if (p->pf) /* a slow fill (a file not in the page cache) wakes the prefetcher */
                dc_prefetch_note(p->pf, s->job, mono_now() - w0, u1 - u0);
            if (st != DC_OK) { /* as finish: the lowest failing row's message, this thread's */
                pthread_mutex_lock(&p->mu);
                if (u0 < s->err_unit) {
                    s->err_unit = u0;
                    s->st = st;
                    snprintf(s->msg, sizeof s->msg, "%s", dc_errmsg());
                }
                pthread_mutex_unlock(&p->mu);
            }
#pragma omp atomic
            s->done += u1 - u0;
        }
    }
    /* the region's end orders every row's writes before this */
    pthread_mutex_lock(&p->mu);
    s->next = end;
    if (s->done >= units_count(p, &p->jobs[s->job]))
        s->ready = 1;
    pthread_mutex_unlock(&p->mu);
}

/* Waits (under the lock) for the workers' chunks of s; one not done within
 * a few chunk-times is revoked and filled here. */
static void wait_workers(dc_pipe *p, pipe_slot *s)
{
    while (!s->ready) {
        double wait = 4.0 * p->chunk_s + 200e-6;
        double until = mono_now() + wait;
        struct timespec ts;
        ts.tv_sec = (time_t)until;
        ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        int rc = 0;
        while (!s->ready && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        if (s->ready)
            break;
        for (int i = 0; i < p->n_workers; i++) {
            pipe_worker *w = &p->workers[i];
            if (w->job != s->job || w->revoked)
                continue;
            w->revoked = 1;
            int u0 = w->u0, u1 = w->u1, rows = 0;
            pthread_mutex_unlock(&p->mu);
            dc_status st = fill_direct(p, s, u0, u1, &rows);
            pthread_mutex_lock(&p->mu);
            finish(p, s, u0, u1, st, rows);
        }
    }
}

static void free_pipe(dc_pipe *p)
{
    for (int i = 0; p->slots && i < p->depth; i++) {
        dc_tensor_free(p->slots[i].x);
        dc_tensor_free(p->slots[i].y);
    }
    for (int i = 0; p->workers && i < p->n_workers; i++) {
        free(p->workers[i].xbuf);
        free(p->workers[i].ybuf);
    }
    free(p->slots);
    free(p->workers);
    free(p);
}

dc_status dc_pipe_start(const dc_loader *ds, const int *order, const dc_batch_job *jobs, int n_jobs, dc_pipe **out)
{
    return dc_pipe_start_team(ds, order, jobs, n_jobs, 0, 0, out);
}

dc_status dc_pipe_start_team(const dc_loader *ds, const int *order, const dc_batch_job *jobs, int n_jobs, int team,
                             int cores, dc_pipe **out)
{
    *out = NULL;
    dc_pipe *p = calloc(1, sizeof *p);
    if (!p)
        return dc_fail(DC_ERR_NOMEM, "%s: out of memory starting the reader threads", ds->kind);
    p->ds = ds;
    p->order = order;
    p->jobs = jobs;
    p->n_jobs = n_jobs;
    p->rowwise = ds->fill_batch == NULL;
    /* chunks of a quarter of a team's share of 32 rows: small enough to
     * balance two threads and to redo, large enough to reuse a decoder's
     * buffers over a few images; one row for large samples */
    p->chunk = ds->x_per >= 65536 ? 1 : ds->batch_size >= 32 ? 4 : ds->batch_size >= 8 ? 2 : 1;
    /* no more buffers than jobs: an evaluation of 2 batches needs 2 */
    p->depth = ds->depth < n_jobs ? ds->depth : (n_jobs > 0 ? n_jobs : 1);
    int n_workers = ds->workers < p->depth ? ds->workers : p->depth;
    /* the training team on every core: no SCHED_IDLE worker (see the top),
     * and chunks of at most 2 rows, so the team's threads end a batch
     * within ~one image of each other (the first to run out of chunks
     * waits at the region's end for the other) */
    if (p->rowwise && team > 0 && cores > 0 && team >= cores) {
        n_workers = 0;
        if (p->chunk > 2)
            p->chunk = 2;
    }
    p->slots = calloc((size_t)p->depth, sizeof *p->slots);
    p->workers = calloc((size_t)n_workers, sizeof *p->workers);
    if (!p->slots || !p->workers) {
        free_pipe(p);
        return dc_fail(DC_ERR_NOMEM, "%s: out of memory starting the reader threads", ds->kind);
    }
    p->n_workers = n_workers;
    int shape[DC_MAX_DIMS];
    shape[0] = ds->batch_size;
    for (int i = 0; i < p->depth; i++) {
        memcpy(shape + 1, ds->x_shape, (size_t)ds->x_ndim * sizeof(int));
        p->slots[i].x = dc_tensor_new(1 + ds->x_ndim, shape);
        p->slots[i].job = -1;
        if (p->slots[i].x && dc_loader_has_y(ds)) {
            memcpy(shape + 1, ds->y_shape, (size_t)(ds->y_ndim > 0 ? ds->y_ndim : 0) * sizeof(int));
            p->slots[i].y = dc_tensor_new(1 + ds->y_ndim, shape);
        }
        if (!p->slots[i].x || (dc_loader_has_y(ds) && !p->slots[i].y)) {
            free_pipe(p);
            return dc_last_status();
        }
    }
    for (int i = 0; i < n_workers; i++) {
        pipe_worker *w = &p->workers[i];
        w->p = p;
        w->job = -1;
        if (!p->rowwise)
            continue;
        /* a chunk's rows: the views share the slots' shapes, chunk rows long */
        w->xbuf = dc_malloc((size_t)p->chunk * ds->x_per * sizeof(float));
        w->ybuf = dc_loader_has_y(ds) ? dc_malloc((size_t)p->chunk * (ds->y_per ? ds->y_per : 1) * sizeof(float))
                                       : NULL;
        if (!w->xbuf || (dc_loader_has_y(ds) && !w->ybuf)) {
            free_pipe(p);
            return dc_last_status();
        }
        w->x = *p->slots[0].x;
        w->x.data = w->xbuf;
        w->x.shape[0] = p->chunk;
        w->x.size = (size_t)p->chunk * ds->x_per;
        if (w->ybuf) {
            w->y = *p->slots[0].y;
            w->y.data = w->ybuf;
            w->y.shape[0] = p->chunk;
            w->y.size = (size_t)p->chunk * ds->y_per;
        }
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    /* before the workers: they may note slow fills */
    if (p->rowwise)
        p->pf = dc_prefetch_new(ds, order, jobs, n_jobs);
    int started = 0;
    for (int i = 0; i < n_workers; i++) {
        if (pthread_create(&p->workers[i].thread, NULL, worker, &p->workers[i]) != 0) {
            p->n_workers = started;
            dc_pipe_stop(p);
            return dc_fail(DC_ERR_NOMEM, "%s: could not start reader thread %d of %d", ds->kind, i + 1, n_workers);
        }
        started++;
    }
    *out = p;
    return DC_OK;
}

dc_status dc_pipe_next(dc_pipe *p, dc_tensor **x, dc_tensor **y, int *rows)
{
    pthread_mutex_lock(&p->mu);
    if (p->consumed >= p->n_jobs) {
        pthread_mutex_unlock(&p->mu);
        return dc_fail(DC_ERR_STATE, "%s: read past the last of %d batches", p->ds->kind, p->n_jobs);
    }
    while (p->started <= p->consumed)
        start_job(p);
    pipe_slot *s = &p->slots[p->consumed % p->depth];
    if (p->rowwise && !s->ready) {
        if (s->next < units_end(p, &p->jobs[s->job])) {
            pthread_mutex_unlock(&p->mu);
            if (p->n_workers == 0)
                team_fill_alone(p, s);
            else
                team_fill(p, s);
            pthread_mutex_lock(&p->mu);
        }
        wait_workers(p, s);
    }
    while (!s->ready)
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    if (s->st != DC_OK)
        return dc_fail(s->st, "%s", s->msg);
    *x = s->x;
    *y = s->y;
    *rows = s->rows;
    return DC_OK;
}

void dc_pipe_release(dc_pipe *p)
{
    pthread_mutex_lock(&p->mu);
    p->slots[p->consumed % p->depth].ready = 0;
    int consumed = ++p->consumed;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    dc_prefetch_reader_at(p->pf, consumed);
}

void dc_pipe_stop(dc_pipe *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->cancel = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_workers; i++)
        pthread_join(p->workers[i].thread, NULL);
    dc_prefetch_stop(p->pf);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free_pipe(p);
}

int dc_pipe_prefetch_threads(dc_pipe *p) { return p ? dc_prefetch_threads(p->pf) : 0; }
