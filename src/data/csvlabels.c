/*
 * csvlabels.c - a CSV target column of class labels ("setosa", "spam", or
 * numbers taken as labels) as class indices 0..k-1, the way scikit-learn's
 * LabelEncoder does it after pandas has read the column: the classes are
 * the distinct labels sorted (np.unique), numerically when pandas would
 * have read the column as numbers (every label a number; then "1" and
 * "1.0" are one class), else as text.  Python sorts str by code point,
 * which for UTF-8 is plain byte order, so strcmp gives the same order.
 *
 * Labels are kept as text in one pool while the file is read and encoded
 * once at the end with one sort of (label, row) pairs; given class names
 * (a training file's, to encode a test file the same way) are instead
 * looked up as each row arrives, so an unknown label is reported with its
 * line.  The helpers the CSV reader shares (missing values, numbers, name
 * lists) live here too.
 */
#include "core/core.h"
#include "data/csvlabels.h"
#include "io/json.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* float32 holds every integer up to 2^24 exactly. */
enum { MAX_CLASSES = 1 << 24 };

int csv_is_missing(const char *cell)
{
    static const char *const missing[] = {"", "na", "nan", "n/a", "null", "none", "?"};
    for (size_t i = 0; i < sizeof missing / sizeof *missing; i++)
        if (strcasecmp(cell, missing[i]) == 0)
            return 1;
    return 0;
}

dc_status csv_missing_error(const char *name, int line, int col, const char *cell)
{
    if (!*cell)
        return dc_fail(DC_ERR_FORMAT, "%s: line %d, column %d: missing value (empty cell); fill or drop the row", name,
                       line, col);
    return dc_fail(DC_ERR_FORMAT, "%s: line %d, column %d: missing value (\"%s\"); fill or drop the row", name, line,
                   col, cell);
}

int csv_number(const char *cell, double *v)
{
    return dc_parse_decimal(cell, v) && isfinite(*v) && fabs(*v) <= FLT_MAX;
}

void csv_list_names(const char *const *names, int n, char *buf, size_t cap)
{
    enum { TAIL = 32 }; /* room kept for ", ... (N more)" */
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        const char *sep = i ? ", " : "";
        size_t need = strlen(sep) + strlen(names[i]) + 2;
        if (len + need + TAIL >= cap) {
            snprintf(buf + len, cap - len, "%s... (%d more)", sep, n - i);
            return;
        }
        len += (size_t)snprintf(buf + len, cap - len, "%s\"%s\"", sep, names[i]);
    }
}

void csv_free_names(char **names, int n)
{
    for (int i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

static int cmp_class(const void *a, const void *b)
{
    return strcmp(((const csv_class *)a)->name, ((const csv_class *)b)->name);
}

dc_status csv_labels_init(csv_labels *l, const char *name, const char *const *given, int n_given)
{
    memset(l, 0, sizeof *l);
    if (!given)
        return DC_OK;
    if (n_given < 1 || n_given > MAX_CLASSES)
        return dc_fail(DC_ERR_ARG, "%s: class_names given with n_class_names %d; expected 1 to %d", name, n_given,
                       MAX_CLASSES);
    l->given = dc_malloc((size_t)n_given * sizeof *l->given);
    if (!l->given)
        return DC_ERR_NOMEM;
    for (int i = 0; i < n_given; i++) {
        if (!given[i])
            return dc_fail(DC_ERR_ARG, "%s: class_names[%d] is NULL", name, i);
        l->given[i] = (csv_class){given[i], i};
    }
    qsort(l->given, (size_t)n_given, sizeof *l->given, cmp_class);
    for (int i = 1; i < n_given; i++)
        if (strcmp(l->given[i - 1].name, l->given[i].name) == 0)
            return dc_fail(DC_ERR_ARG, "%s: class_names[%d] and class_names[%d] are both \"%s\"; each class once",
                           name, l->given[i - 1].index, l->given[i].index, l->given[i].name);
    l->given_names = given;
    l->n_given = n_given;
    return DC_OK;
}

/* The given class called `label`, or NULL. */
static const csv_class *find_given(const csv_labels *l, const char *label)
{
    csv_class key = {label, 0};
    return bsearch(&key, l->given, (size_t)l->n_given, sizeof *l->given, cmp_class);
}

dc_status csv_labels_add(csv_labels *l, const char *name, int line, int col, const char *cell, int row, float *y)
{
    if (csv_is_missing(cell))
        return csv_missing_error(name, line, col, cell);
    if (l->given) {
        const csv_class *c = find_given(l, cell);
        if (c) {
            *y = (float)c->index;
            return DC_OK;
        }
        char list[512];
        csv_list_names(l->given_names, l->n_given, list, sizeof list);
        return dc_fail(DC_ERR_FORMAT, "%s: line %d, column %d: class \"%.64s\" is not one of the %d class_names given "
                                      "(%s)",
                       name, line, col, cell, l->n_given, list);
    }
    size_t n = strlen(cell) + 1, rows = (size_t)row + 1;
    if (rows > l->off_cap) {
        size_t cap = l->off_cap ? 2 * l->off_cap : 1024;
        size_t *off = cap <= SIZE_MAX / sizeof *off ? realloc(l->off, cap * sizeof *off) : NULL;
        if (!off)
            return dc_fail(DC_ERR_NOMEM, "%s: out of memory at line %d", name, line);
        l->off = off;
        l->off_cap = cap;
    }
    if (l->pool_len + n > l->pool_cap) {
        size_t cap = l->pool_cap ? l->pool_cap : 4096;
        while (cap < l->pool_len + n && cap <= SIZE_MAX / 2)
            cap *= 2;
        char *pool = cap >= l->pool_len + n ? realloc(l->pool, cap) : NULL;
        if (!pool)
            return dc_fail(DC_ERR_NOMEM, "%s: out of memory at line %d", name, line);
        l->pool = pool;
        l->pool_cap = cap;
    }
    memcpy(l->pool + l->pool_len, cell, n);
    l->off[row] = l->pool_len;
    l->pool_len += n;
    return DC_OK;
}

/* One row's label for sorting. */
typedef struct label {
    const char *text;
    double value; /* when every label is a number */
    int row;
} label;

static int cmp_text(const void *pa, const void *pb)
{
    const label *a = pa, *b = pb;
    int c = strcmp(a->text, b->text);
    return c ? c : (a->row > b->row) - (a->row < b->row);
}

static int cmp_value(const void *pa, const void *pb)
{
    const label *a = pa, *b = pb;
    if (a->value != b->value)
        return a->value < b->value ? -1 : 1;
    return cmp_text(pa, pb);
}

/* Whether two neighbours in sorted order are different classes. */
static int new_class(const label *prev, const label *cur, int numeric)
{
    return numeric ? prev->value != cur->value : strcmp(prev->text, cur->text) != 0;
}

/* The given classes as the caller's list of names. */
static dc_status copy_given(const csv_labels *l, char ***classes, int *n_classes)
{
    char **names = dc_calloc((size_t)l->n_given, sizeof *names);
    if (!names)
        return DC_ERR_NOMEM;
    for (int i = 0; i < l->n_given; i++)
        if (!(names[i] = dc_strdup(l->given_names[i]))) {
            csv_free_names(names, i);
            return DC_ERR_NOMEM;
        }
    *classes = names;
    *n_classes = l->n_given;
    return DC_OK;
}

dc_status csv_labels_encode(csv_labels *l, const char *name, int rows, float *y, char ***classes, int *n_classes)
{
    *classes = NULL;
    *n_classes = 0;
    if (l->given)
        return copy_given(l, classes, n_classes);
    label *lab = dc_malloc((size_t)rows * sizeof *lab);
    if (!lab)
        return DC_ERR_NOMEM;
    int numeric = 1, k = 0;
    for (int i = 0; i < rows; i++) {
        lab[i] = (label){l->pool + l->off[i], 0, i};
        numeric = numeric && csv_number(lab[i].text, &lab[i].value);
    }
    qsort(lab, (size_t)rows, sizeof *lab, numeric ? cmp_value : cmp_text);
    for (int i = 0; i < rows; i++)
        k += i == 0 || new_class(&lab[i - 1], &lab[i], numeric);
    if (k > MAX_CLASSES) {
        free(lab);
        return dc_fail(DC_ERR_RANGE, "%s: the target column has %d distinct labels; at most %d classes fit float32 "
                                     "class indices",
                       name, k, MAX_CLASSES);
    }
    char **names = dc_calloc((size_t)k, sizeof *names);
    if (!names) {
        free(lab);
        return DC_ERR_NOMEM;
    }
    for (int i = 0, c = -1; i < rows; i++) {
        if (i == 0 || new_class(&lab[i - 1], &lab[i], numeric)) {
            if (!(names[++c] = dc_strdup(lab[i].text))) {
                csv_free_names(names, c);
                free(lab);
                return DC_ERR_NOMEM;
            }
        }
        y[lab[i].row] = (float)c;
    }
    free(lab);
    *classes = names;
    *n_classes = k;
    return DC_OK;
}

void csv_labels_free(csv_labels *l)
{
    free(l->pool);
    free(l->off);
    free(l->given);
    memset(l, 0, sizeof *l);
}
