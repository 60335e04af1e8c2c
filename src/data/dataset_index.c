/*
 * dataset_index.c - the files of a folder, their labels and the training /
 * validation split, by Keras 3's rules, transcribed from
 * keras/src/utils/dataset_utils.py (keras-team/keras at 3422977a,
 * 2026-08-21):
 *
 *   check_validation_split_arg (lines 1006-1037): validation_split in
 *     (0, 1); subset and validation_split both or neither; subset one of
 *     training / validation / both; a split while shuffling needs a seed.
 *   index_directory (687-835): with labels "inferred", the classes are the
 *     entries of sorted(os.listdir(directory)) that are folders (following
 *     links) and do not start with '.'; class_names given must be a subset
 *     of them and are kept in the order given.  Without inferred labels the
 *     folder itself is walked as one "" class.  Each class folder is walked
 *     by iter_valid_files (838-853): every directory under it (os.walk;
 *     links to folders entered only with follow_links), sorted by the
 *     directory's path string, then within each the file names sorted, kept
 *     when fname.lower() ends with an allowed extension.  Paths are
 *     directory/class/relative path.  Explicit labels must number the files
 *     and name the classes str(label) for sorted(set(labels)).  shuffle:
 *     np.random.RandomState(seed).shuffle(file_paths), and the same for the
 *     labels (so one permutation); seed None is np.random.randint(1e6).
 *   get_training_or_validation_split (892-926): num_val =
 *     int(validation_split * N); training the first N - num_val, validation
 *     the rest.
 * and from image_dataset_utils.py (image_dataset_from_directory, 200-330):
 * "binary" needs exactly 2 classes; an empty result is "No images found in
 * directory ...".
 *
 * Strings compare as bytes, which for UTF-8 names is Python's code point
 * order (names that are not UTF-8 may sort differently from Python's
 * surrogate escapes).  NumPy's RandomState is MT19937 (init_genrand for an
 * integer seed) and its legacy shuffle draws j = random_interval(i) for i
 * from n - 1 down to 1 (masked rejection sampling); both are below and
 * tests/fixtures/image_dir/keras_index.py checks them against NumPy.
 */
#include "data/dataset_internal.h"
#include "core/core.h"
#include "io/json.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- NumPy's RandomState ---- */

typedef struct mt19937 {
    uint32_t key[624];
    int pos;
} mt19937;

static void mt_seed(mt19937 *s, uint32_t seed)
{
    for (int i = 0; i < 624; i++) {
        s->key[i] = seed;
        seed = 1812433253u * (seed ^ (seed >> 30)) + (uint32_t)i + 1u;
    }
    s->pos = 624;
}

static uint32_t mt_next(mt19937 *s)
{
    if (s->pos == 624) {
        for (int i = 0; i < 624; i++) {
            uint32_t y = (s->key[i] & 0x80000000u) | (s->key[(i + 1) % 624] & 0x7fffffffu);
            s->key[i] = s->key[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        }
        s->pos = 0;
    }
    uint32_t y = s->key[s->pos++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* numpy/random/_common.pyx random_interval for max < 2^32 */
static uint32_t random_interval(mt19937 *s, uint32_t max)
{
    if (max == 0)
        return 0;
    uint32_t mask = max, v;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    while ((v = (mt_next(s) & mask)) > max)
        ;
    return v;
}

void dc_numpy_shuffle_perm(uint32_t seed, int *perm, int n)
{
    mt19937 s;
    mt_seed(&s, seed);
    for (int i = 0; i < n; i++)
        perm[i] = i;
    for (int i = n - 1; i >= 1; i--) {
        int j = (int)random_interval(&s, (uint32_t)i);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* ---- arguments ---- */

static const char *subset_name(dc_subset s)
{
    return s == DC_SUBSET_TRAINING ? "training" : s == DC_SUBSET_VALIDATION ? "validation" : s == DC_SUBSET_BOTH ? "both" : "None";
}

dc_status dc_dir_check_args(const dc_dir_args *a)
{
    if (a->labels && a->n_labels < 0)
        return dc_fail(DC_ERR_ARG, "%s: n_labels %d must not be negative", a->fn, a->n_labels);
    if (a->class_names && (a->labels || a->label_mode == DC_LABEL_NONE))
        return dc_fail(DC_ERR_ARG, "%s: you can only pass `class_names` if `labels=\"inferred\"` (labels were %s)",
                       a->fn, a->labels ? "given as a list" : "None (label_mode DC_LABEL_NONE)");
    if (a->class_names && a->n_class_names < 1)
        return dc_fail(DC_ERR_ARG, "%s: class_names given with n_class_names %d, expected at least 1", a->fn,
                       a->n_class_names);
    for (int i = 0; a->class_names && i < a->n_class_names; i++)
        if (!a->class_names[i])
            return dc_fail(DC_ERR_ARG, "%s: class_names[%d] is NULL", a->fn, i);
    if ((int)a->label_mode < 0 || a->label_mode > DC_LABEL_NONE)
        return dc_fail(DC_ERR_ARG, "%s: `label_mode` argument must be one of \"int\", \"categorical\", \"binary\", or "
                                   "None. Received: label_mode=%d",
                       a->fn, (int)a->label_mode);
    if ((int)a->subset < 0 || a->subset > DC_SUBSET_BOTH)
        return dc_fail(DC_ERR_ARG, "%s: `subset` must be either \"training\", \"validation\" or \"both\", received: %d",
                       a->fn, (int)a->subset);
    float vs = a->validation_split;
    if (vs != 0.0f && !(vs > 0.0f && vs < 1.0f))
        return dc_fail(DC_ERR_ARG, "%s: `validation_split` must be between 0 and 1, received: %g", a->fn, (double)vs);
    if ((vs != 0.0f) != (a->subset != DC_SUBSET_NONE))
        return dc_fail(DC_ERR_ARG, "%s: if `subset` is set, `validation_split` must be set, and inversely "
                                   "(validation_split %g, subset %s)",
                       a->fn, (double)vs, subset_name(a->subset));
    if (vs != 0.0f && a->shuffle && a->seed == DC_SEED_NONE)
        return dc_fail(DC_ERR_ARG, "%s: if using `validation_split` and shuffling the data, you must provide a "
                                   "`seed` argument, to make sure that there is no overlap between the training and "
                                   "validation subset",
                       a->fn);
    if (a->seed != DC_SEED_NONE && (a->seed < 0 || a->seed > 0xffffffffLL))
        return dc_fail(DC_ERR_ARG, "%s: seed %lld must be between 0 and 2**32 - 1 (NumPy's RandomState)", a->fn,
                       a->seed);
    return DC_OK;
}

/* ---- the walk ---- */

typedef struct strvec {
    char **v;
    int n, cap;
} strvec;

static int sv_push(strvec *s, char *str)
{
    if (!str)
        return -1;
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 64;
        char **v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v) {
            free(str);
            dc_fail(DC_ERR_NOMEM, "out of memory listing files");
            return -1;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = str;
    return 0;
}

static void sv_free(strvec *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Python's os.path.join(a, b) for a relative b: "" stays a (with a '/'). */
static char *path_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int slash = la > 0 && a[la - 1] != '/';
    char *p = dc_malloc(la + (size_t)slash + lb + 1);
    if (!p)
        return NULL;
    memcpy(p, a, la);
    if (slash)
        p[la] = '/';
    memcpy(p + la + slash, b, lb + 1);
    return p;
}

static int has_format(const char *name, const dc_dir_args *a)
{
    size_t n = strlen(name);
    for (int f = 0; f < a->n_formats; f++) {
        size_t m = strlen(a->formats[f]);
        if (m > n)
            continue;
        size_t i = 0;
        for (; i < m; i++) {
            char c = name[n - m + i];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c != a->formats[f][i])
                break;
        }
        if (i == m)
            return 1;
    }
    return 0;
}

/* A directory of the walk: its path and its kept file names. */
typedef struct walk_dir {
    char *root;
    strvec files;
} walk_dir;

typedef struct walk {
    walk_dir *d;
    int n, cap;
} walk;

#define WALK_DEPTH_MAX 64

/* os.walk(top): every directory below top (top included), entering links
 * to directories only when follow_links. */
static dc_status walk_dir_tree(const char *top, const dc_dir_args *a, int depth, walk *w)
{
    if (depth > WALK_DEPTH_MAX)
        return dc_fail(DC_ERR_ARG, "%s: %s is more than %d folders deep (a link loop with follow_links?)", a->fn, top,
                       WALK_DEPTH_MAX);
    DIR *dir = opendir(top);
    if (!dir) /* os.walk's default onerror=None skips what it cannot list */
        return DC_OK;
    if (w->n == w->cap) {
        int cap = w->cap ? w->cap * 2 : 16;
        walk_dir *d = realloc(w->d, (size_t)cap * sizeof *d);
        if (!d) {
            closedir(dir);
            return dc_fail(DC_ERR_NOMEM, "%s: out of memory listing %s", a->fn, top);
        }
        w->d = d;
        w->cap = cap;
    }
    int me = w->n++;
    memset(&w->d[me], 0, sizeof w->d[me]);
    w->d[me].root = dc_strdup(top);
    strvec subdirs = {0};
    dc_status st = w->d[me].root ? DC_OK : dc_last_status();
    struct dirent *e;
    while (st == DC_OK && (e = readdir(dir)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *full = path_join(top, e->d_name);
        if (!full) {
            st = dc_last_status();
            break;
        }
        struct stat sb, lsb;
        int is_dir = stat(full, &sb) == 0 && S_ISDIR(sb.st_mode);
        int is_link = lstat(full, &lsb) == 0 && S_ISLNK(lsb.st_mode);
        if (is_dir) {
            if (a->follow_links || !is_link) {
                if (sv_push(&subdirs, full))
                    st = dc_last_status();
            } else {
                free(full);
            }
        } else {
            free(full);
            if (has_format(e->d_name, a) && sv_push(&w->d[me].files, dc_strdup(e->d_name)))
                st = dc_last_status();
        }
    }
    closedir(dir);
    for (int i = 0; st == DC_OK && i < subdirs.n; i++)
        st = walk_dir_tree(subdirs.v[i], a, depth + 1, w);
    sv_free(&subdirs);
    return st;
}

static int cmp_walk(const void *a, const void *b)
{
    return strcmp(((const walk_dir *)a)->root, ((const walk_dir *)b)->root);
}

static void walk_free(walk *w)
{
    for (int i = 0; i < w->n; i++) {
        free(w->d[i].root);
        sv_free(&w->d[i].files);
    }
    free(w->d);
}

/* index_subdirectory: the kept files under directory/subdir as
 * directory/subdir/relative, appended with label `label`. */
static dc_status index_subdirectory(const char *directory, const char *subdir, int label, const dc_dir_args *a,
                                    strvec *paths, int **labels, int *cap_labels)
{
    char *top = path_join(directory, subdir);
    if (!top)
        return dc_last_status();
    walk w = {0};
    dc_status st = walk_dir_tree(top, a, 0, &w);
    if (st == DC_OK && w.n > 1)
        qsort(w.d, (size_t)w.n, sizeof *w.d, cmp_walk);
    size_t ltop = strlen(top);
    for (int i = 0; st == DC_OK && i < w.n; i++) {
        if (w.d[i].files.n > 1) /* qsort's base may not be NULL, even for 0 items */
            qsort(w.d[i].files.v, (size_t)w.d[i].files.n, sizeof(char *), cmp_str);
        /* the root is top itself or top + "/" + relative */
        const char *rel = w.d[i].root + ltop;
        while (*rel == '/')
            rel++;
        for (int f = 0; st == DC_OK && f < w.d[i].files.n; f++) {
            char *relfile = *rel ? path_join(rel, w.d[i].files.v[f]) : dc_strdup(w.d[i].files.v[f]);
            char *p = relfile ? path_join(top, relfile) : NULL;
            free(relfile);
            if (sv_push(paths, p)) {
                st = dc_last_status();
                break;
            }
            if (paths->n > *cap_labels) {
                int cap = *cap_labels ? *cap_labels * 2 : 64;
                while (cap < paths->n)
                    cap *= 2;
                int *l = realloc(*labels, (size_t)cap * sizeof *l);
                if (!l) {
                    st = dc_fail(DC_ERR_NOMEM, "%s: out of memory listing %s", a->fn, top);
                    break;
                }
                *labels = l;
                *cap_labels = cap;
            }
            (*labels)[paths->n - 1] = label;
        }
    }
    walk_free(&w);
    free(top);
    return st;
}

/* sorted(os.listdir(directory)) that are folders and do not start with '.' */
static dc_status list_classes(const char *directory, const dc_dir_args *a, strvec *subdirs)
{
    DIR *dir = opendir(directory);
    if (!dir)
        return dc_fail(DC_ERR_IO, "%s: cannot list the directory %s: %s", a->fn, directory, strerror(errno));
    struct dirent *e;
    dc_status st = DC_OK;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *full = path_join(directory, e->d_name);
        if (!full) {
            st = dc_last_status();
            break;
        }
        struct stat sb;
        int is_dir = stat(full, &sb) == 0 && S_ISDIR(sb.st_mode);
        free(full);
        if (is_dir && sv_push(subdirs, dc_strdup(e->d_name))) {
            st = dc_last_status();
            break;
        }
    }
    closedir(dir);
    if (st == DC_OK && subdirs->n > 1)
        qsort(subdirs->v, (size_t)subdirs->n, sizeof(char *), cmp_str);
    return st;
}

static dc_status copy_names(char **names, int n, dc_dir_index *ix)
{
    ix->class_names = calloc((size_t)(n ? n : 1), sizeof(char *));
    if (!ix->class_names)
        return dc_fail(DC_ERR_NOMEM, "out of memory copying class names");
    ix->n_classes = n;
    for (int i = 0; i < n; i++)
        if (!(ix->class_names[i] = dc_strdup(names[i])))
            return dc_last_status();
    return DC_OK;
}

/* The subset [from, from + n) of the (shuffled) paths into ix. */
static dc_status take(const strvec *paths, const int *labels, int from, int n, char **names, int n_classes,
                      dc_dir_index *ix)
{
    memset(ix, 0, sizeof *ix);
    ix->paths = calloc((size_t)(n ? n : 1), sizeof(char *));
    ix->labels = labels ? dc_malloc((size_t)(n ? n : 1) * sizeof(int)) : NULL;
    if (!ix->paths || (labels && !ix->labels))
        return dc_fail(DC_ERR_NOMEM, "out of memory indexing %d files", n);
    ix->n = n;
    for (int i = 0; i < n; i++) {
        if (!(ix->paths[i] = dc_strdup(paths->v[from + i])))
            return dc_last_status();
        if (labels)
            ix->labels[i] = labels[from + i];
    }
    return names ? copy_names(names, n_classes, ix) : DC_OK;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

dc_status dc_dir_index_build(const char *directory, const dc_dir_args *a, const char *what, dc_dir_index *train,
                             dc_dir_index *val)
{
    memset(train, 0, sizeof *train);
    if (val)
        memset(val, 0, sizeof *val);
    dc_status st = dc_dir_check_args(a);
    if (st != DC_OK)
        return st;
    int inferred = !a->labels && a->label_mode != DC_LABEL_NONE;
    strvec subdirs = {0}, names = {0}, paths = {0};
    int *labels = NULL, cap_labels = 0;
    if (inferred) {
        st = list_classes(directory, a, &subdirs);
        if (st == DC_OK && a->class_names) {
            for (int i = 0; i < a->n_class_names && st == DC_OK; i++) {
                int found = 0;
                for (int j = 0; j < subdirs.n && !found; j++)
                    found = !strcmp(subdirs.v[j], a->class_names[i]);
                if (!found) {
                    char list[512] = "";
                    size_t used = 0;
                    for (int j = 0; j < subdirs.n && used + 8 < sizeof list; j++)
                        used += (size_t)snprintf(list + used, sizeof list - used, "%s'%s'", j ? ", " : "",
                                                 subdirs.v[j]);
                    st = dc_fail(DC_ERR_ARG,
                                 "%s: the `class_names` passed did not match the names of the subdirectories of the "
                                 "target directory. Expected: [%s] (or a subset of it), but received: class_names[%d]="
                                 "'%s'",
                                 a->fn, list, i, a->class_names[i]);
                }
            }
            sv_free(&subdirs);
            for (int i = 0; i < a->n_class_names && st == DC_OK; i++)
                if (sv_push(&subdirs, dc_strdup(a->class_names[i])))
                    st = dc_last_status();
        }
    } else {
        struct stat sb;
        if (stat(directory, &sb) != 0 || !S_ISDIR(sb.st_mode))
            st = dc_fail(DC_ERR_IO, "%s: %s is not a directory", a->fn, directory);
        else if (sv_push(&subdirs, dc_strdup("")))
            st = dc_last_status();
    }
    for (int c = 0; c < subdirs.n && st == DC_OK; c++)
        st = index_subdirectory(directory, subdirs.v[c], c, a, &paths, &labels, &cap_labels);
    /* the class names */
    if (st == DC_OK && inferred) {
        for (int c = 0; c < subdirs.n && st == DC_OK; c++)
            if (sv_push(&names, dc_strdup(subdirs.v[c])))
                st = dc_last_status();
    } else if (st == DC_OK && a->labels) {
        if (a->n_labels != paths.n) {
            st = dc_fail(DC_ERR_ARG, "%s: expected the lengths of `labels` to match the number of files in the target "
                                     "directory. len(labels) is %d while we found %d files in directory %s",
                         a->fn, a->n_labels, paths.n, directory);
        } else {
            int *sorted = dc_malloc((size_t)(paths.n ? paths.n : 1) * sizeof(int));
            if (!sorted)
                st = dc_last_status();
            for (int i = 0; st == DC_OK && i < paths.n; i++)
                sorted[i] = labels[i] = a->labels[i];
            if (st == DC_OK && paths.n > 1)
                qsort(sorted, (size_t)paths.n, sizeof(int), cmp_int);
            for (int i = 0; st == DC_OK && i < paths.n; i++) {
                if (sorted[i] < 0)
                    st = dc_fail(DC_ERR_ARG, "%s: labels[%d] is %d; labels are class indices, 0 or more", a->fn, i,
                                 sorted[i]);
                else if (i == 0 || sorted[i] != sorted[i - 1]) {
                    char num[16];
                    snprintf(num, sizeof num, "%d", sorted[i]);
                    if (sv_push(&names, dc_strdup(num)))
                        st = dc_last_status();
                }
            }
            /* one-hot needs every label below the class count */
            if (st == DC_OK && paths.n && sorted[paths.n - 1] >= names.n && a->label_mode == DC_LABEL_CATEGORICAL)
                st = dc_fail(DC_ERR_ARG, "%s: label %d is not below the %d distinct labels, so it has no one-hot "
                                         "column (categorical labels must be 0 .. classes - 1)",
                             a->fn, sorted[paths.n - 1], names.n);
            free(sorted);
        }
    }
    if (st == DC_OK && a->verbose) {
        if (!inferred && !a->labels)
            printf("Found %d files.\n", paths.n);
        else
            printf("Found %d files belonging to %d classes.\n", paths.n, names.n);
    }
    int has_labels = inferred || a->labels;
    /* shuffle with NumPy's RandomState(seed) */
    if (st == DC_OK && a->shuffle && paths.n > 1) {
        uint32_t seed = a->seed == DC_SEED_NONE ? (uint32_t)(((uint64_t)time(NULL) * 2654435761u) % 1000000u)
                                                : (uint32_t)a->seed;
        int *perm = dc_malloc((size_t)paths.n * sizeof(int));
        char **pv = dc_malloc((size_t)paths.n * sizeof(char *));
        int *lv = dc_malloc((size_t)paths.n * sizeof(int));
        if (!perm || !pv || !lv) {
            st = dc_last_status();
        } else {
            dc_numpy_shuffle_perm(seed, perm, paths.n);
            for (int i = 0; i < paths.n; i++) {
                pv[i] = paths.v[perm[i]];
                lv[i] = labels[perm[i]];
            }
            memcpy(paths.v, pv, (size_t)paths.n * sizeof(char *));
            memcpy(labels, lv, (size_t)paths.n * sizeof(int));
        }
        free(perm);
        free(pv);
        free(lv);
    }
    if (st == DC_OK && a->label_mode == DC_LABEL_BINARY && names.n != 2)
        st = dc_fail(DC_ERR_ARG, "%s: when passing `label_mode=\"binary\"`, there must be exactly 2 class_names. "
                                 "Received: %d classes",
                     a->fn, names.n);
    if (st == DC_OK) {
        /* the split: Python's int(validation_split * N), the split read as the decimal it was written as */
        int n = paths.n, n_val = 0;
        if (a->validation_split != 0.0f) {
            char text[32];
            dc_fmt_float(text, sizeof text, a->validation_split);
            n_val = (int)(dc_strtod_c(text, NULL) * n);
        }
        int n_train = n - n_val;
        const int *lab = has_labels ? labels : NULL;
        char **nm = has_labels ? names.v : NULL;
        if (a->subset == DC_SUBSET_BOTH) {
            if (n_train == 0)
                st = dc_fail(DC_ERR_ARG, "%s: no training %s found in directory %s (%d files, validation_split %g)",
                             a->fn, what, directory, n, (double)a->validation_split);
            else if (n_val == 0)
                st = dc_fail(DC_ERR_ARG, "%s: no validation %s found in directory %s (%d files, validation_split %g)",
                             a->fn, what, directory, n, (double)a->validation_split);
            if (st == DC_OK)
                st = take(&paths, lab, 0, n_train, nm, names.n, train);
            if (st == DC_OK)
                st = take(&paths, lab, n_train, n_val, nm, names.n, val);
        } else {
            int from = a->subset == DC_SUBSET_VALIDATION ? n_train : 0;
            int count = a->subset == DC_SUBSET_VALIDATION ? n_val : a->subset == DC_SUBSET_TRAINING ? n_train : n;
            if (count == 0)
                st = dc_fail(DC_ERR_ARG, "%s: no %s found in directory %s. Allowed formats: %s%s%s%s%s%s%s%s%s", a->fn,
                             what, directory, a->formats[0], a->n_formats > 1 ? " " : "",
                             a->n_formats > 1 ? a->formats[1] : "", a->n_formats > 2 ? " " : "",
                             a->n_formats > 2 ? a->formats[2] : "", a->n_formats > 3 ? " " : "",
                             a->n_formats > 3 ? a->formats[3] : "", a->n_formats > 4 ? " " : "",
                             a->n_formats > 4 ? a->formats[4] : "");
            else
                st = take(&paths, lab, from, count, nm, names.n, train);
            if (st == DC_OK && a->verbose && a->subset != DC_SUBSET_NONE)
                printf("Using %d files for %s.\n", count, subset_name(a->subset));
        }
    }
    sv_free(&subdirs);
    sv_free(&names);
    sv_free(&paths);
    free(labels);
    if (st != DC_OK) {
        dc_dir_index_free(train);
        if (val)
            dc_dir_index_free(val);
    }
    return st;
}

void dc_dir_index_free(dc_dir_index *ix)
{
    if (!ix)
        return;
    for (int i = 0; i < ix->n && ix->paths; i++)
        free(ix->paths[i]);
    for (int i = 0; i < ix->n_classes && ix->class_names; i++)
        free(ix->class_names[i]);
    free(ix->paths);
    free(ix->labels);
    free(ix->class_names);
    memset(ix, 0, sizeof *ix);
}
