/*
 * dataset_internal.h - what the dataset files share: the dc_loader object
 * (dataset.c), its sources (tensors and callbacks in dataset.c, .npy
 * mappings in dataset_npy.c, image folders in image_dir.c), the folder
 * index with Keras' rules (dataset_index.c) and the prefetching pipeline
 * that fit_dataset.c reads batches from (dataset_pipe.c).  Internal.
 */
#ifndef DC_DATASET_INTERNAL_H
#define DC_DATASET_INTERNAL_H

#include "deepc.h"

#include <stddef.h>
#include <stdint.h>

/* ---- the dataset ---- */

typedef struct dc_loader_source dc_loader_source;

/* A source fills rows.  Per-sample sources (n > 0) fill one sample at a
 * time: fill_row(ds, i, x, y) writes sample i's x (x_per floats) and y
 * (y_per floats, y NULL without targets); it may run on several threads at
 * once.  A per-sample source may instead (or as well) give fill_rows,
 * which fills the len rows of a batch at once (row r, off <= r < off + len,
 * holds sample order[first + r], or first + r when order is NULL): a
 * source that reuses buffers from one sample to the next (image folders)
 * keeps them for a batch.  A batch source (callback) fills whole batches
 * with fill_batch, from one thread, in order. */
struct dc_loader {
    const char *kind;         /* for messages: "image_dataset_from_directory", "npy" ... */
    int n;                    /* samples; 0 for a batch source */
    int n_batches;            /* batch source: batches per pass */
    int batch_size;
    int shuffle;              /* fit reshuffles each pass */
    int x_ndim, x_shape[DC_MAX_DIMS]; /* per sample */
    int y_ndim, y_shape[DC_MAX_DIMS]; /* per sample; y_ndim < 0: no targets */
    size_t x_per, y_per;
    int workers, depth;       /* prefetch */
    int io_prefetch;          /* file sources' page-cache prefetcher: 0 adaptive (or DEEPC_PREFETCH), 1 always, -1 off */
    dc_status (*fill_row)(const dc_loader *ds, int i, float *x, float *y);
    dc_status (*fill_rows)(const dc_loader *ds, const int *order, int first, int off, int len, dc_tensor *x,
                           dc_tensor *y);
    dc_status (*fill_batch)(const dc_loader *ds, int index, dc_tensor *x, dc_tensor *y, int *rows);
    void (*free_source)(dc_loader *ds);
    void *source;
    /* folders: names and the per-sample file and label (NULL otherwise) */
    int n_classes;
    char **class_names;
    char **paths;
    int *labels;
};

/* A dataset with the shapes set and the rest zero (workers 1, depth 4);
 * NULL when out of memory. */
dc_loader *dc_loader_alloc(const char *kind, int batch_size, int x_ndim, const int *x_shape, int y_ndim,
                             const int *y_shape);
/* Whether the dataset has targets. */
static inline int dc_loader_has_y(const dc_loader *ds) { return ds->y_ndim >= 0; }
/* Batches in a pass of n samples. */
static inline int dc_loader_batches(const dc_loader *ds)
{
    return ds->n > 0 ? (ds->n - 1) / ds->batch_size + 1 : ds->n_batches;
}
/* Fills rows order[first + off .. first + off + len) of a batch into rows
 * off..off+len of x and y (tensors of batch_size rows); a batch source
 * fills batch `index` whole and sets *rows.  Errors name the sample. */
dc_status dc_loader_fill(const dc_loader *ds, const int *order, int first, int b, int off, int len, int index,
                          dc_tensor *x, dc_tensor *y, int *rows);

/* ---- folders with Keras' rules (dataset_index.c) ---- */

typedef struct dc_dir_args {
    const char *fn;           /* "image_dataset_from_directory" */
    const char *const *formats; /* ".png" ..., lower case */
    int n_formats;
    dc_label_mode label_mode;
    const int *labels;
    int n_labels;
    const char *const *class_names;
    int n_class_names;
    int shuffle;
    long long seed;
    float validation_split;
    dc_subset subset;
    int follow_links;
    int verbose;
} dc_dir_args;

/* The files of one subset: paths, labels (NULL without labels) and the
 * class names (shared by both subsets, each holds a copy). */
typedef struct dc_dir_index {
    int n;
    char **paths;
    int *labels;
    int n_classes;
    char **class_names;
} dc_dir_index;

/* Keras' check_validation_split_arg and the label checks, with its
 * messages (before anything is read). */
dc_status dc_dir_check_args(const dc_dir_args *a);
/* index_directory + the binary check + get_training_or_validation_split:
 * *train the subset asked for (all files for DC_SUBSET_NONE), *val the
 * validation part for DC_SUBSET_BOTH (zeroed otherwise).  `what` names
 * the files in "No <what> found" ("images", "files"). */
dc_status dc_dir_index_build(const char *directory, const dc_dir_args *a, const char *what, dc_dir_index *train,
                             dc_dir_index *val);
void dc_dir_index_free(dc_dir_index *ix);

/* NumPy's legacy RandomState(seed).shuffle of n items: the permutation
 * perm[0..n) such that shuffled[i] = original[perm[i]] (dataset_index.c). */
void dc_numpy_shuffle_perm(uint32_t seed, int *perm, int n);

/* ---- .npy (npy.c) ---- */

/* The header of a .npy held in bytes[0..n): type, shape and the offset of
 * the data, with every check dc_npy_parse makes; nothing copied. */
dc_status dc_npy_header(const void *bytes, size_t n, const char *name, dc_dtype *dtype, int *ndim, int *shape,
                        size_t *data_offset);

/* ---- the prefetching pipeline (dataset_pipe.c) ---- */

/* One batch to read: rows order[first .. first + b) of a per-sample
 * dataset (or batch `index` of a batch source), of which this process
 * reads rows off .. off + len (its slice under data parallelism). */
typedef struct dc_batch_job {
    int first, b, off, len, index;
} dc_batch_job;

typedef struct dc_pipe dc_pipe;

/* Starts ds->workers threads reading jobs[0..n_jobs) into ds->depth
 * batch buffers ahead of the reader.  order (per-sample datasets) and jobs
 * are borrowed until dc_pipe_stop. */
dc_status dc_pipe_start(const dc_loader *ds, const int *order, const dc_batch_job *jobs, int n_jobs, dc_pipe **out);
/* As dc_pipe_start, for a reader whose OpenMP team of `team` threads fills
 * the batches it waits for: a per-sample source starts no worker thread
 * when the team has every one of the `cores` (see dataset_pipe.c). */
dc_status dc_pipe_start_team(const dc_loader *ds, const int *order, const dc_batch_job *jobs, int n_jobs, int team,
                             int cores, dc_pipe **out);
/* Waits for the next job's batch: *x, *y (y NULL without targets) hold
 * its rows at 0 .. *rows (rows off..off+len of them filled); a reading
 * error is returned with its message.  Valid until dc_pipe_release. */
dc_status dc_pipe_next(dc_pipe *p, dc_tensor **x, dc_tensor **y, int *rows);
void dc_pipe_release(dc_pipe *p);
/* Stops the workers (any not yet read are dropped) and frees p (NULL: nothing). */
void dc_pipe_stop(dc_pipe *p);
/* Prefetcher threads the pipe has started so far (tests). */
int dc_pipe_prefetch_threads(dc_pipe *p);

/* ---- the page-cache prefetcher of a pipe over files (dataset_prefetch.c) ---- */

typedef struct dc_prefetch dc_prefetch;

/* A prefetcher for a pipe reading jobs[0..n_jobs) of ds in order (borrowed
 * until dc_prefetch_stop); NULL when ds is not read from files, it is
 * turned off, or out of memory (it is an optimisation only). */
dc_prefetch *dc_prefetch_new(const dc_loader *ds, const int *order, const dc_batch_job *jobs, int n_jobs);
/* A prefetcher for a reader of paths[0..n) in order, in groups of `group`
 * files (the "jobs" of dc_prefetch_note and dc_prefetch_reader_at); mode
 * as dc_loader.io_prefetch.  NULL as dc_prefetch_new. */
dc_prefetch *dc_prefetch_files(char *const *paths, int n, int group, int mode);
/* A fill of `rows` rows of job `job` took wall_s: a slow one wakes the
 * prefetcher.  Any thread; never blocks.  f NULL: nothing. */
void dc_prefetch_note(dc_prefetch *f, int job, double wall_s, int rows);
/* The reader has moved on to job `job` (f NULL: nothing). */
void dc_prefetch_reader_at(dc_prefetch *f, int job);
/* Threads started so far. */
int dc_prefetch_threads(dc_prefetch *f);
/* Stops and joins the threads and frees f (NULL: nothing). */
void dc_prefetch_stop(dc_prefetch *f);

#endif
