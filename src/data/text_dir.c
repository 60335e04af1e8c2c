/*
 * text_dir.c - text_dataset_from_directory: a folder of class sub-folders
 * of .txt files (Keras 3's keras/src/utils/text_dataset_utils.py) read
 * into memory in Keras' order, for the Tokenizer / TextVectorization path
 * (src/data/text.c, text_vec.c).  The files, labels and split follow
 * dataset_index.c (Keras' index_directory, formats (".txt",)); max_length
 * cuts each text as Keras' tf.strings.substr(x, 0, max_length) does (in
 * bytes: Keras' default unit for substr is "BYTE").  The files are read in
 * turn; when reads turn slow (files not in the page cache), the prefetcher
 * of dataset_prefetch.c opens the next ones ahead on a few threads.
 */
#include "data/dataset_internal.h"
#include "data/readall.h"
#include "core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const TEXT_FORMATS[] = {".txt"};

dc_text_dir_config dc_text_dir_defaults(void)
{
    dc_text_dir_config c;
    memset(&c, 0, sizeof c);
    c.label_mode = DC_LABEL_INT;
    c.shuffle = 1;
    c.seed = DC_SEED_NONE;
    c.verbose = 1;
    return c;
}

void dc_text_files_free(dc_text_files *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n; i++) {
        if (t->texts)
            free(t->texts[i]);
        if (t->file_paths)
            free(t->file_paths[i]);
    }
    for (int i = 0; i < t->n_classes && t->class_names; i++)
        free(t->class_names[i]);
    free(t->texts);
    free(t->file_paths);
    free(t->labels);
    free(t->class_names);
    free(t);
}

/* Reads the texts of one subset into a new dc_text_files (taking ix over). */
static dc_status read_texts(dc_dir_index *ix, const dc_text_dir_config *c, dc_text_files **out)
{
    *out = NULL;
    dc_text_files *t = calloc(1, sizeof *t);
    if (!t)
        return dc_fail(DC_ERR_NOMEM, "text_dataset_from_directory: out of memory");
    t->n = ix->n;
    t->file_paths = ix->paths;
    t->labels = ix->labels;
    t->label_mode = ix->labels ? c->label_mode : DC_LABEL_NONE;
    t->n_classes = ix->n_classes;
    t->class_names = ix->class_names;
    memset(ix, 0, sizeof *ix);
    t->texts = calloc((size_t)(t->n ? t->n : 1), sizeof(char *));
    if (!t->texts) {
        dc_text_files_free(t);
        return dc_fail(DC_ERR_NOMEM, "text_dataset_from_directory: out of memory for %d texts", t->n);
    }
    /* groups of 32 files stand for batches (a slow read in 4 of a group wakes it) */
    dc_prefetch *pf = dc_prefetch_files(t->file_paths, t->n, 32, 0);
    for (int i = 0; i < t->n; i++) {
        if (pf && i % 32 == 0)
            dc_prefetch_reader_at(pf, i / 32);
        struct timespec t0;
        if (pf)
            clock_gettime(CLOCK_MONOTONIC, &t0);
        /* O_NONBLOCK and a regular-file check: a FIFO named *.txt must not block */
        int fd = open(t->file_paths[i], O_RDONLY | O_NONBLOCK);
        struct stat sb;
        if (fd >= 0 && (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))) {
            close(fd);
            fd = -1;
            errno = EINVAL;
        }
        FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
        if (!f) {
            if (fd >= 0)
                close(fd);
            dc_status st = dc_fail(DC_ERR_IO, "text_dataset_from_directory: cannot open %s: %s", t->file_paths[i],
                                   errno == EINVAL ? "not a regular file" : strerror(errno));
            dc_prefetch_stop(pf);
            dc_text_files_free(t);
            return st;
        }
        size_t cap = 4096, len = 0, got;
        char *buf = dc_malloc(cap);
        while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
            len += got;
            if (c->max_length > 0 && len >= (size_t)c->max_length) {
                len = (size_t)c->max_length;
                break;
            }
            if (cap - len - 1 == 0) {
                char *nb = realloc(buf, cap * 2);
                if (!nb) {
                    free(buf);
                    buf = NULL;
                    dc_fail(DC_ERR_NOMEM, "text_dataset_from_directory: out of memory reading %s", t->file_paths[i]);
                    break;
                }
                buf = nb;
                cap *= 2;
            }
        }
        int bad = ferror(f);
        fclose(f);
        if (!buf || bad) {
            dc_status st = !buf ? dc_last_status()
                                : dc_fail(DC_ERR_IO, "text_dataset_from_directory: error reading %s", t->file_paths[i]);
            free(buf);
            dc_prefetch_stop(pf);
            dc_text_files_free(t);
            return st;
        }
        buf[len] = 0;
        t->texts[i] = buf;
        if (pf) {
            struct timespec t1;
            clock_gettime(CLOCK_MONOTONIC, &t1);
            dc_prefetch_note(pf, i / 32, (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec), 1);
        }
    }
    dc_prefetch_stop(pf);
    *out = t;
    return DC_OK;
}

dc_status dc_text_dataset_from_directory(const char *directory, const dc_text_dir_config *cfg, dc_text_files **out,
                                         dc_text_files **validation)
{
    DC_CHECK_NULL(directory);
    DC_CHECK_NULL(out);
    *out = NULL;
    if (validation)
        *validation = NULL;
    const char *fn = "text_dataset_from_directory";
    dc_text_dir_config c = cfg ? *cfg : dc_text_dir_defaults();
    if (c.max_length < 0)
        return dc_fail(DC_ERR_ARG, "%s: max_length %d must not be negative", fn, c.max_length);
    if (c.subset == DC_SUBSET_BOTH && !validation)
        return dc_fail(DC_ERR_ARG, "%s: subset \"both\" returns two sets but validation is NULL", fn);
    dc_dir_args a = {fn, TEXT_FORMATS, 1, c.label_mode, c.labels, c.n_labels, c.class_names, c.n_class_names,
                     c.shuffle, c.seed, c.validation_split, c.subset, c.follow_links, c.verbose};
    dc_dir_index train, val;
    dc_status st = dc_dir_index_build(directory, &a, "text files", &train, &val);
    if (st != DC_OK)
        return st;
    dc_text_files *tt = NULL, *tv = NULL;
    st = read_texts(&train, &c, &tt);
    if (st == DC_OK && c.subset == DC_SUBSET_BOTH)
        st = read_texts(&val, &c, &tv);
    dc_dir_index_free(&train);
    dc_dir_index_free(&val);
    if (st != DC_OK) {
        dc_text_files_free(tt);
        return st;
    }
    *out = tt;
    if (validation)
        *validation = tv;
    return DC_OK;
}

dc_status dc_text_files_labels(const dc_text_files *t, dc_tensor **out)
{
    DC_CHECK_NULL(t);
    DC_CHECK_NULL(out);
    *out = NULL;
    if (!t->labels || t->label_mode == DC_LABEL_NONE)
        return dc_fail(DC_ERR_ARG, "dc_text_files_labels: the texts have no labels (label_mode none)");
    if (t->n < 1)
        return dc_fail(DC_ERR_ARG, "dc_text_files_labels: no texts");
    dc_tensor *y = t->label_mode == DC_LABEL_CATEGORICAL ? dc_tensor_new4(2, t->n, t->n_classes, 0, 0)
                   : t->label_mode == DC_LABEL_BINARY    ? dc_tensor_new4(2, t->n, 1, 0, 0)
                                                         : dc_tensor_new4(1, t->n, 0, 0, 0);
    if (!y)
        return dc_last_status();
    for (int i = 0; i < t->n; i++) {
        if (t->label_mode == DC_LABEL_CATEGORICAL) {
            if (t->labels[i] >= 0 && t->labels[i] < t->n_classes)
                y->data[(size_t)i * (size_t)t->n_classes + (size_t)t->labels[i]] = 1.0f;
        } else {
            y->data[i] = (float)t->labels[i];
        }
    }
    *out = y;
    return DC_OK;
}
