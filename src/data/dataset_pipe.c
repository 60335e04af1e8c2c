/*
 * dataset_pipe.c - batches read ahead of the step that needs them: worker
 * threads (pthreads) fill a ring of `depth` batch buffers while the caller
 * trains on the one before, so decoding images overlaps training and memory
 * stays at depth batches whatever the dataset's size.
 *
 * Jobs are numbered in the order the caller reads them.  A worker claims
 * the next unclaimed job j only when j < consumed + depth, i.e. when the
 * buffer j % depth was released by job j - depth; it fills that buffer
 * outside the lock and marks it ready.  The reader waits for job
 * `consumed` to be ready, uses it, and releases it (consumed + 1), which
 * frees its buffer for job consumed + depth.  So batches reach the reader
 * in job order whatever order the workers finish in, and the result is the
 * same for any number of workers.  A worker's error is kept in its buffer
 * (status and message, since messages are per thread) and returned by
 * dc_pipe_next when the reader reaches that job.  dc_pipe_stop sets
 * `cancel`, wakes everyone and joins: a worker finishes the batch it is
 * filling and takes no more.
 */
#include "data/dataset_internal.h"
#include "core/core.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pipe_slot {
    dc_tensor *x, *y;
    int job;       /* the job it holds, -1 none */
    int ready;
    int rows;
    dc_status st;
    char msg[1024];
} pipe_slot;

struct dc_pipe {
    const dc_loader *ds;
    const int *order;
    const dc_batch_job *jobs;
    int n_jobs, depth;
    pipe_slot *slots;
    int next_job, consumed, cancel;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t *threads;
    int n_threads;
};

static void *worker(void *arg)
{
    dc_pipe *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->cancel && p->next_job < p->n_jobs && p->next_job >= p->consumed + p->depth)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->cancel || p->next_job >= p->n_jobs)
            break;
        int j = p->next_job++;
        pipe_slot *s = &p->slots[j % p->depth];
        pthread_mutex_unlock(&p->mu);
        const dc_batch_job *jb = &p->jobs[j];
        int rows = 0;
        dc_status st = dc_loader_fill(p->ds, p->order, jb->first, jb->b, jb->off, jb->len, jb->index, s->x, s->y,
                                       &rows);
        pthread_mutex_lock(&p->mu);
        s->st = st;
        if (st != DC_OK)
            snprintf(s->msg, sizeof s->msg, "%s", dc_errmsg());
        s->rows = rows;
        s->job = j;
        s->ready = 1;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void free_slots(dc_pipe *p)
{
    for (int i = 0; p->slots && i < p->depth; i++) {
        dc_tensor_free(p->slots[i].x);
        dc_tensor_free(p->slots[i].y);
    }
    free(p->slots);
    free(p->threads);
}

dc_status dc_pipe_start(const dc_loader *ds, const int *order, const dc_batch_job *jobs, int n_jobs, dc_pipe **out)
{
    *out = NULL;
    dc_pipe *p = calloc(1, sizeof *p);
    if (!p)
        return dc_fail(DC_ERR_NOMEM, "%s: out of memory starting the reader threads", ds->kind);
    p->ds = ds;
    p->order = order;
    p->jobs = jobs;
    p->n_jobs = n_jobs;
    /* no more buffers than jobs: an evaluation of 2 batches needs 2 */
    p->depth = ds->depth < n_jobs ? ds->depth : (n_jobs > 0 ? n_jobs : 1);
    int workers = ds->workers < p->depth ? ds->workers : p->depth;
    p->slots = calloc((size_t)p->depth, sizeof *p->slots);
    p->threads = calloc((size_t)workers, sizeof *p->threads);
    if (!p->slots || !p->threads) {
        free_slots(p);
        free(p);
        return dc_fail(DC_ERR_NOMEM, "%s: out of memory starting the reader threads", ds->kind);
    }
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
            free_slots(p);
            free(p);
            return dc_last_status();
        }
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (int i = 0; i < workers; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            dc_pipe_stop(p);
            return dc_fail(DC_ERR_NOMEM, "%s: could not start reader thread %d of %d", ds->kind, i + 1, workers);
        }
        p->n_threads++;
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
    pipe_slot *s = &p->slots[p->consumed % p->depth];
    while (!(s->ready && s->job == p->consumed))
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
    p->consumed++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void dc_pipe_stop(dc_pipe *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->cancel = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free_slots(p);
    free(p);
}
