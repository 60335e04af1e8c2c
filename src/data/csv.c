/*
 * csv.c - CSV files into x (rows, features) and y (rows, 1).
 *
 * The text is read whole (plain or gzip'd) and split into records by the
 * scanner (csvscan.c: RFC 4180 quoting, LF/CRLF/CR line ends, a BOM).  The
 * header record, when there is one, gives the column names; the first data
 * record fixes the number of columns, every later one must have the same,
 * and it is there that the target and feature columns are resolved (by
 * index or by name).  Only those columns are read: each such cell must
 * parse to a finite float32 (quoted or not) written in decimal, as Python's
 * float() reads it whatever the locale (dc_parse_decimal: no hexadecimal
 * "0x1p3", no "0,5"), except the target's when it
 * holds class labels, which are gathered as text and encoded at the end
 * (csvlabels.c).  Columns left out may hold anything, as with pandas'
 * usecols.  Every failure names the file, the line and the column (both
 * counted from 1, as an editor shows them) and what was found there.
 */
#include "core/core.h"
#include "data/csvlabels.h"
#include "data/csvscan.h"
#include "data/readall.h"
#include "io/json.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

enum { SHOW_CAP = 24 };

dc_csv_config dc_csv_defaults(void)
{
    dc_csv_config c;
    memset(&c, 0, sizeof c);
    c.delimiter = ',';
    c.header = 1;
    c.target_col = -1;
    return c;
}

void dc_csv_info_free(dc_csv_info *info)
{
    if (!info)
        return;
    csv_free_names(info->column_names, info->n_column_names);
    csv_free_names(info->class_names, info->n_classes);
    free(info->feature_cols);
    memset(info, 0, sizeof *info);
}

typedef struct csv_reader {
    const char *name;
    const dc_csv_config *cfg;
    csv_scan sc;
    char **names; /* the header's cells */
    int n_names, header_line;
    int ncols, first_data_line, rows;
    int target;    /* y's column, or -1 */
    int *features; /* x's columns */
    int n_features;
    unsigned char *used; /* ncols flags: read this column */
    float *vals;         /* ncols: the current row's numbers */
    float *xs, *ys;      /* rows x n_features, rows */
    size_t cap_x, cap_y;
    csv_labels labels;
} csv_reader;

/* " (column \"name\")" when the header names column `col`, else "". */
static const char *column_note(const csv_reader *r, int col, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (col < r->n_names)
        snprintf(buf, cap, " (column \"%.64s\")", r->names[col]);
    return buf;
}


/* Parses one numeric cell (col from 0); the message names the place. */
static dc_status parse_cell(const csv_reader *r, int line, int col, const char *cell, float *out)
{
    char note[96];
    if (csv_is_missing(cell))
        return csv_missing_error(r->name, line, col + 1, cell);
    double v;
    if (!dc_parse_decimal(cell, &v)) {
        const char *hint = col == r->target ? "; to read class names as the target, set target_classes = 1"
                                            : "; leave text columns out with feature_cols or feature_names";
        size_t len = strlen(cell);
        if (len > SHOW_CAP + 8)
            return dc_fail(DC_ERR_FORMAT, "%s: line %d, column %d: \"%.*s...\" (%zu characters) is not a number%s%s",
                           r->name, line, col + 1, SHOW_CAP, cell, len, column_note(r, col, note, sizeof note), hint);
        return dc_fail(DC_ERR_FORMAT, "%s: line %d, column %d: \"%s\" is not a number%s%s", r->name, line, col + 1,
                       cell, column_note(r, col, note, sizeof note), hint);
    }
    if (!isfinite(v) || fabs(v) > FLT_MAX)
        return dc_fail(DC_ERR_RANGE, "%s: line %d, column %d: %.*s is not a finite float32 value%s", r->name, line,
                       col + 1, SHOW_CAP, cell, column_note(r, col, note, sizeof note));
    *out = (float)v;
    return DC_OK;
}

/* Finds the column `want` by header name; `what` says which setting asked. */
static dc_status find_column(const csv_reader *r, const char *what, const char *want, int *out)
{
    if (r->n_names != r->ncols)
        return dc_fail(DC_ERR_FORMAT, "%s: %s \"%s\": the header (line %d) has %d name(s) but the rows have %d "
                                      "column(s) (line %d), so names cannot pick columns; pick by index",
                       r->name, what, want, r->header_line, r->n_names, r->ncols, r->first_data_line);
    int found = -1, folded = -1;
    for (int i = 0; i < r->n_names; i++) {
        if (strcmp(r->names[i], want) == 0) {
            if (found >= 0)
                return dc_fail(DC_ERR_FORMAT, "%s: %s \"%s\" names two columns, %d and %d (counted from 0); pick by "
                                              "index",
                               r->name, what, want, found, i);
            found = i;
        } else if (folded < 0 && strcasecmp(r->names[i], want) == 0) {
            folded = i;
        }
    }
    if (found >= 0) {
        *out = found;
        return DC_OK;
    }
    char list[640], near[96] = "";
    csv_list_names((const char *const *)r->names, r->n_names, list, sizeof list);
    if (folded >= 0)
        snprintf(near, sizeof near, " (did you mean \"%.64s\"?)", r->names[folded]);
    return dc_fail(DC_ERR_ARG, "%s: %s: no column named \"%s\"%s; the columns are %s", r->name, what, want, near, list);
}

/* The target column, by name or index, or -1. */
static dc_status resolve_target(csv_reader *r)
{
    const dc_csv_config *cfg = r->cfg;
    r->target = -1;
    if (cfg->target_name)
        return find_column(r, "target_name", cfg->target_name, &r->target);
    if (cfg->target_col == DC_CSV_NO_TARGET)
        return DC_OK;
    int t = cfg->target_col < 0 ? r->ncols + cfg->target_col : cfg->target_col;
    if (t < 0 || t >= r->ncols)
        return dc_fail(DC_ERR_RANGE, "%s: target_col %d is outside the %d columns of line %d (0 to %d, or -1 to -%d "
                                     "from the end)",
                       r->name, cfg->target_col, r->ncols, r->first_data_line, r->ncols - 1, r->ncols);
    r->target = t;
    return DC_OK;
}

/* Feature i's column, by name or index; k walks the default (all but the target). */
static dc_status resolve_feature(csv_reader *r, int i, int *k)
{
    const dc_csv_config *cfg = r->cfg;
    int *f = &r->features[i];
    if (cfg->feature_names) {
        char what[48];
        snprintf(what, sizeof what, "feature_names[%d]", i);
        return find_column(r, what, cfg->feature_names[i], f);
    }
    if (cfg->feature_cols) {
        *f = cfg->feature_cols[i];
        if (*f < 0 || *f >= r->ncols)
            return dc_fail(DC_ERR_RANGE, "%s: feature_cols[%d] = %d is outside the %d columns of line %d (0 to %d)",
                           r->name, i, *f, r->ncols, r->first_data_line, r->ncols - 1);
        return DC_OK;
    }
    *k += *k == r->target;
    *f = (*k)++;
    return DC_OK;
}

/* Resolves the target and feature columns against the first data row. */
static dc_status resolve_columns(csv_reader *r)
{
    const dc_csv_config *cfg = r->cfg;
    dc_status st = resolve_target(r);
    if (st != DC_OK)
        return st;
    int n = cfg->feature_names ? cfg->n_feature_names
            : cfg->feature_cols ? cfg->n_feature_cols
                                : r->ncols - (r->target >= 0);
    if (n < 1)
        return dc_fail(DC_ERR_ARG, "%s: no feature columns (line %d has %d column(s)%s)", r->name, r->first_data_line,
                       r->ncols, r->target >= 0 ? ", one of them the target" : "");
    r->features = dc_malloc((size_t)n * sizeof *r->features);
    r->used = dc_calloc((size_t)r->ncols, 1);
    r->vals = dc_calloc((size_t)r->ncols, sizeof *r->vals);
    if (!r->features || !r->used || !r->vals)
        return DC_ERR_NOMEM;
    r->n_features = n;
    for (int i = 0, k = 0; i < n; i++) {
        if ((st = resolve_feature(r, i, &k)) != DC_OK)
            return st;
        int f = r->features[i];
        char note[96];
        if (cfg->target_classes && f == r->target)
            return dc_fail(DC_ERR_ARG, "%s: column %d%s is the target, read as class labels, so it cannot also be "
                                       "feature %d",
                           r->name, f, column_note(r, f, note, sizeof note), i);
        r->used[f] = 1;
    }
    if (r->target >= 0)
        r->used[r->target] = 1;
    return DC_OK;
}

/* Room for `need` elements of `size` bytes in p (capacity *cap); NULL when
 * out of memory (p is then still valid). */
static void *reserve(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 1024;
    while (c < need) {
        if (c > SIZE_MAX / 2 / size)
            return NULL;
        c *= 2;
    }
    void *q = realloc(p, c * size);
    if (q)
        *cap = c;
    return q;
}

/* Reads the record in r->sc as the next data row. */
static dc_status add_row(csv_reader *r)
{
    const csv_scan *sc = &r->sc;
    dc_status st;
    if (r->rows == 0) {
        r->ncols = sc->n_cells;
        r->first_data_line = sc->record_line;
        if ((st = resolve_columns(r)) != DC_OK)
            return st;
    } else if (sc->n_cells != r->ncols) {
        return dc_fail(DC_ERR_FORMAT, "%s: line %d has %d column(s), expected %d like line %d (a ragged row; check the "
                                      "delimiter and the row)",
                       r->name, sc->record_line, sc->n_cells, r->ncols, r->first_data_line);
    }
    if (r->rows == INT_MAX)
        return dc_fail(DC_ERR_RANGE, "%s: more than %d rows", r->name, INT_MAX);
    size_t rows = (size_t)r->rows + 1;
    float *xs = reserve(r->xs, &r->cap_x, rows * (size_t)r->n_features, sizeof *xs);
    if (xs)
        r->xs = xs;
    float *ys = xs ? reserve(r->ys, &r->cap_y, rows, sizeof *ys) : NULL;
    if (!ys)
        return dc_fail(DC_ERR_NOMEM, "%s: out of memory at line %d", r->name, sc->record_line);
    r->ys = ys;
    for (int col = 0; col < r->ncols; col++) {
        if (!r->used[col])
            continue;
        int line = sc->cell_line[col];
        if (col == r->target && r->cfg->target_classes)
            st = csv_labels_add(&r->labels, r->name, line, col + 1, csv_cell(sc, col), r->rows, &ys[r->rows]);
        else
            st = parse_cell(r, line, col, csv_cell(sc, col), &r->vals[col]);
        if (st != DC_OK)
            return st;
    }
    float *row = xs + (size_t)r->rows * (size_t)r->n_features;
    for (int j = 0; j < r->n_features; j++)
        row[j] = r->vals[r->features[j]];
    if (r->target >= 0 && !r->cfg->target_classes)
        ys[r->rows] = r->vals[r->target];
    r->rows++;
    return DC_OK;
}

/* Keeps the header record's cells as the column names. */
static dc_status take_header(csv_reader *r)
{
    const csv_scan *sc = &r->sc;
    r->header_line = sc->record_line;
    r->names = dc_calloc((size_t)sc->n_cells, sizeof *r->names);
    if (!r->names)
        return DC_ERR_NOMEM;
    r->n_names = sc->n_cells;
    for (int i = 0; i < sc->n_cells; i++)
        if (!(r->names[i] = dc_strdup(csv_cell(sc, i))))
            return DC_ERR_NOMEM;
    return DC_OK;
}

/* Checks the configuration before any text is read. */
static dc_status check_config(const char *name, const dc_csv_config *cfg, int want_y)
{
    int has_target = cfg->target_name || cfg->target_col != DC_CSV_NO_TARGET;
    if (cfg->delimiter == '\0' || cfg->delimiter == '\n' || cfg->delimiter == '\r' || cfg->delimiter == '"')
        return dc_fail(DC_ERR_ARG, "%s: delimiter %d cannot separate cells; use ',', ';', '\\t' or ' '", name,
                       cfg->delimiter);
    if (has_target && !want_y && cfg->target_name)
        return dc_fail(DC_ERR_ARG, "%s: y is NULL but target_name is \"%s\"; pass y, or leave target_name NULL", name,
                       cfg->target_name);
    if (has_target && !want_y)
        return dc_fail(DC_ERR_ARG, "%s: y is NULL but target_col is %d; pass y, or set target_col to DC_CSV_NO_TARGET",
                       name, cfg->target_col);
    if (cfg->feature_cols && cfg->n_feature_cols < 1)
        return dc_fail(DC_ERR_ARG, "%s: feature_cols given with n_feature_cols %d; expected at least 1", name,
                       cfg->n_feature_cols);
    if (cfg->feature_cols && cfg->feature_names)
        return dc_fail(DC_ERR_ARG, "%s: both feature_cols and feature_names are given; pick the columns one way", name);
    if (cfg->feature_names && cfg->n_feature_names < 1)
        return dc_fail(DC_ERR_ARG, "%s: feature_names given with n_feature_names %d; expected at least 1", name,
                       cfg->n_feature_names);
    for (int i = 0; cfg->feature_names && i < cfg->n_feature_names; i++)
        if (!cfg->feature_names[i])
            return dc_fail(DC_ERR_ARG, "%s: feature_names[%d] is NULL", name, i);
    const char *by_name = cfg->target_name ? cfg->target_name : cfg->feature_names ? cfg->feature_names[0] : NULL;
    if (by_name && !cfg->header)
        return dc_fail(DC_ERR_ARG, "%s: \"%s\" picks a column by name, but header is 0 (no header line to take names "
                                   "from); set header = 1 or pick by index",
                       name, by_name);
    if (cfg->target_classes && !has_target)
        return dc_fail(DC_ERR_ARG, "%s: target_classes is set but there is no target column (target_col is "
                                   "DC_CSV_NO_TARGET and no target_name)",
                       name);
    if (cfg->class_names && !cfg->target_classes)
        return dc_fail(DC_ERR_ARG, "%s: class_names given but target_classes is 0; set target_classes = 1", name);
    return DC_OK;
}

/* Reads every record, then builds the outputs. */
static dc_status read_all(csv_reader *r, size_t len, dc_tensor **x, dc_tensor **y, dc_csv_info *info)
{
    const dc_csv_config *cfg = r->cfg;
    dc_status st = DC_OK;
    for (int got = 1; st == DC_OK;) {
        if ((st = csv_scan_next(&r->sc, &got)) != DC_OK || !got)
            break;
        st = cfg->header && !r->header_line ? take_header(r) : add_row(r);
    }
    if (st != DC_OK)
        return st;
    if (r->rows == 0)
        return dc_fail(DC_ERR_FORMAT, "%s: no data rows (%s)", r->name,
                       len == 0 ? "the file is empty" : r->header_line ? "only a header line" : "only blank lines");
    char **classes = NULL;
    int n_classes = 0;
    if (cfg->target_classes && (st = csv_labels_encode(&r->labels, r->name, r->rows, r->ys, &classes, &n_classes)))
        return st;
    *x = dc_tensor_from(2, (int[]){r->rows, r->n_features}, r->xs);
    if (*x && r->target >= 0)
        *y = dc_tensor_from(2, (int[]){r->rows, 1}, r->ys);
    if (!*x || (r->target >= 0 && !*y)) {
        csv_free_names(classes, n_classes);
        return dc_last_status();
    }
    if (!info) {
        csv_free_names(classes, n_classes);
        return DC_OK;
    }
    *info = (dc_csv_info){.n_columns = r->ncols,
                          .column_names = r->names,
                          .n_column_names = r->n_names,
                          .target_col = r->target,
                          .feature_cols = r->features,
                          .n_feature_cols = r->n_features,
                          .class_names = classes,
                          .n_classes = n_classes};
    r->names = NULL; /* now the caller's */
    r->n_names = 0;
    r->features = NULL;
    return DC_OK;
}

dc_status dc_csv_parse_ex(const char *text, size_t len, const char *name, const dc_csv_config *cfg_in, dc_tensor **x,
                          dc_tensor **y, dc_csv_info *info)
{
    DC_CHECK_NULL(text);
    DC_CHECK_NULL(name);
    dc_csv_config cfg = cfg_in ? *cfg_in : dc_csv_defaults();
    name = name ? name : "csv";
    if (info)
        memset(info, 0, sizeof *info);
    if (!x)
        return dc_fail(DC_ERR_ARG, "%s: x is NULL; pass where to put the features", name);
    *x = NULL;
    if (y)
        *y = NULL;
    if (!text && len)
        return dc_fail(DC_ERR_ARG, "%s: text is NULL", name);
    dc_status st = check_config(name, &cfg, y != NULL);
    if (st != DC_OK)
        return st;
    csv_reader r = {.name = name, .cfg = &cfg};
    csv_scan_init(&r.sc, text ? text : "", len, name, cfg.delimiter);
    if (cfg.target_classes)
        st = csv_labels_init(&r.labels, name, cfg.class_names, cfg.n_class_names);
    if (st == DC_OK)
        st = read_all(&r, len, x, y, info);
    if (st != DC_OK) {
        dc_tensor_free(*x);
        *x = NULL;
        if (y) {
            dc_tensor_free(*y);
            *y = NULL;
        }
    }
    csv_labels_free(&r.labels);
    csv_scan_free(&r.sc);
    csv_free_names(r.names, r.n_names);
    free(r.features);
    free(r.used);
    free(r.vals);
    free(r.xs);
    free(r.ys);
    return st;
}

dc_status dc_csv_parse(const char *text, size_t len, const char *name, const dc_csv_config *cfg, dc_tensor **x,
                       dc_tensor **y)
{
    DC_CHECK_NULL(text);
    DC_CHECK_NULL(name);
    return dc_csv_parse_ex(text, len, name, cfg, x, y, NULL);
}

dc_status dc_csv_load_ex(const char *path, const dc_csv_config *cfg, dc_tensor **x, dc_tensor **y,
                         dc_csv_info *info)
{
    if (info)
        memset(info, 0, sizeof *info);
    if (x)
        *x = NULL;
    if (y)
        *y = NULL;
    char *text;
    size_t len;
    dc_status st = dc_read_all(path, &text, &len);
    if (st != DC_OK)
        return st;
    st = dc_csv_parse_ex(text, len, path, cfg, x, y, info);
    free(text);
    return st;
}

dc_status dc_csv_load(const char *path, const dc_csv_config *cfg, dc_tensor **x, dc_tensor **y)
{
    return dc_csv_load_ex(path, cfg, x, y, NULL);
}
