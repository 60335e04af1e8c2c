/*
 * csvlabels.h - class labels of a CSV target column and the small helpers
 * the CSV reader shares with them (src/data/csvlabels.c).  Internal.
 */
#ifndef DC_CSVLABELS_H
#define DC_CSVLABELS_H

#include "deepc.h"

/* A class name given by the caller, for lookup. */
typedef struct csv_class {
    const char *name;
    int index;
} csv_class;

typedef struct csv_labels {
    /* Without given classes: each row's label, NUL-terminated at pool + off[row]. */
    char *pool;
    size_t pool_len, pool_cap;
    size_t *off;
    size_t off_cap;
    /* Given classes (cfg.class_names), sorted by name for binary search. */
    csv_class *given;
    const char *const *given_names; /* borrowed, in the caller's order */
    int n_given;
} csv_labels;

/* Empty cell, NA, NaN, N/A, null, none or ? (any case): a missing value. */
int csv_is_missing(const char *cell);
/* The missing-value error for the cell at line, col (both from 1). */
dc_status csv_missing_error(const char *name, int line, int col, const char *cell);
/* 1 when the whole cell is a finite float32 number (*v); else 0. */
int csv_number(const char *cell, double *v);
/* Writes "\"a\", \"b\", ..." into buf, shortened to fit with "... (N more)". */
void csv_list_names(const char *const *names, int n, char *buf, size_t cap);
/* Frees n strings and the array; NULL does nothing. */
void csv_free_names(char **names, int n);

/* Starts gathering labels; `given` (borrowed, may be NULL) fixes the classes
 * and their order.  A NULL or repeated given name is DC_ERR_ARG. */
dc_status csv_labels_init(csv_labels *l, const char *name, const char *const *given, int n_given);
/* Takes row's label (the cell at line, col, from 1).  With given classes *y
 * becomes its index at once (a label not among them is an error naming
 * it); otherwise it is kept for csv_labels_encode. */
dc_status csv_labels_add(csv_labels *l, const char *name, int line, int col, const char *cell, int row, float *y);
/* Encodes rows labels as LabelEncoder does: y[row] = the index of its class
 * among the sorted distinct labels (by value when every label is a number,
 * else bytewise, which is Unicode code-point order for UTF-8).  *classes
 * is a new array of *n_classes names the caller frees (csv_free_names). */
dc_status csv_labels_encode(csv_labels *l, const char *name, int rows, float *y, char ***classes, int *n_classes);
void csv_labels_free(csv_labels *l);

#endif
