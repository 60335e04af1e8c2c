/*
 * fetch.h - finding, fetching and verifying the files of a dataset (the
 * machinery of datasets.c, shared by the other loaders: sklearn.c, spam.c).
 * Internal.
 *
 * A dataset is one row of data (a dc_data_source): where its files live,
 * their MD5s, and the shell steps that fetch them.  dc_data_locate looks for
 * the files (a system directory first, if the dataset has one, else
 * <cache>/<subdir>/), fetches the missing ones into a temporary directory
 * inside the cache, verifies every file's MD5 before any byte of it is used,
 * and only then moves them into place.  DEEPC_OFFLINE turns fetching off.
 */
#ifndef DC_FETCH_H
#define DC_FETCH_H

#include "deepc.h"

enum { DC_PATH_CAP = 4096, DC_DATA_MAX_FILES = 4 };

typedef struct dc_data_file {
    const char *name;
    const char *md5; /* of the file as stored (compressed, for .gz) */
} dc_data_file;

typedef struct dc_data_source {
    const char *title;      /* "MNIST", the prefix of every message */
    const char *subdir;     /* the files live in <cache>/<subdir>/ */
    const char *system_dir; /* used instead when it holds every file; NULL if none */
    const char *reinstall;  /* what to do when a file in system_dir fails verification */
    const char *steps[3];   /* shell commands run in order in a temporary directory; NULL ends */
    const char *unpacked;   /* where the steps leave the files, relative to that directory */
    const char *hint;       /* what to do when fetching fails */
    int count[2];           /* IDX datasets: samples in the train and test splits */
    int n_files;
    dc_data_file files[DC_DATA_MAX_FILES];
} dc_data_source;

/* Finds (or fetches) every file of src and verifies it; dir receives their
 * directory.  cache_dir NULL means $DEEPC_CACHE, else ~/.cache/deepc. */
dc_status dc_data_locate(const dc_data_source *src, const char *cache_dir, char dir[DC_PATH_CAP]);
/* out = a "/" b; DC_ERR_ARG (message prefixed by title) if it does not fit. */
dc_status dc_data_join(char out[DC_PATH_CAP], const char *title, const char *a, const char *b);

#endif
