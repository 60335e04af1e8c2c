/*
 * fetch.h - fetching a data file once into the cache and verifying it
 * (datasets.c), for loaders that live in their own files (spam.c).
 */
#ifndef DC_FETCH_H
#define DC_FETCH_H

#include "core/core.h"

typedef struct dc_fetch_spec {
    const char *title;    /* prefix of every message: "SpamAssassin" */
    const char *subdir;   /* the file lives in <cache>/<subdir>/ */
    const char *file;     /* its name there, and in what the steps unpack */
    const char *md5;      /* of the file */
    const char *steps[2]; /* shell commands run in a temporary directory; NULL ends */
    const char *unpacked; /* where the steps leave the file, relative to that directory */
    const char *hint;     /* what to do when fetching fails */
} dc_fetch_spec;

/* Finds <cache>/<subdir>/<file> (cache_dir NULL: $DEEPC_CACHE, else
 * ~/.cache/deepc), fetching it when absent (unless DEEPC_OFFLINE is set),
 * verifies its MD5 and writes its path. */
dc_status dc_fetch_verified(const dc_fetch_spec *spec, const char *cache_dir, char *path, size_t path_cap);

#endif
