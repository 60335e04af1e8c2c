/*
 * csv.c - numeric CSV files into x (rows, features) and y (rows, 1).
 *
 * The text is read whole (plain or gzip'd) and walked line by line.  The
 * first data line fixes the number of columns; every later line must have
 * the same.  Each cell is trimmed and parsed with strtod, and must be used
 * up by it, finite and within float32's range.  Every failure names the
 * file, the line and the column (both counted from 1, as an editor shows
 * them) and what was found there.  Values are gathered in one growing buffer
 * and split into x and y once the whole file has been checked.
 */
#include "core/core.h"
#include "data/readall.h"

#include <ctype.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <strings.h>

enum { CELL_CAP = 128 };

dc_csv_config dc_csv_defaults(void)
{
    dc_csv_config c;
    memset(&c, 0, sizeof c);
    c.delimiter = ',';
    c.header = 1;
    c.target_col = -1;
    return c;
}

/* One line being split into cells. */
typedef struct line_cursor {
    const char *p, *end;
    char delim; /* ' ': runs of blanks */
} line_cursor;

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Next cell [*b, *e) trimmed of blanks; 0 when the line is used up. */
static int next_cell(line_cursor *c, const char **b, const char **e, int first)
{
    if (c->delim == ' ') {
        while (c->p < c->end && is_blank(*c->p))
            c->p++;
        if (c->p == c->end)
            return 0;
        *b = c->p;
        while (c->p < c->end && !is_blank(*c->p))
            c->p++;
        *e = c->p;
        return 1;
    }
    if (!first) {
        if (c->p == c->end)
            return 0;
        c->p++; /* the delimiter ending the previous cell */
    }
    const char *s = c->p;
    while (c->p < c->end && *c->p != c->delim)
        c->p++;
    *b = s;
    *e = c->p;
    while (*b < *e && is_blank(**b))
        (*b)++;
    while (*e > *b && is_blank((*e)[-1]))
        (*e)--;
    return 1;
}

static int count_cells(const char *b, const char *e, char delim)
{
    line_cursor c = {b, e, delim};
    const char *cb, *ce;
    int n = 0;
    while (next_cell(&c, &cb, &ce, n == 0))
        n++;
    return n;
}

/* Parses one cell; the message names the place. */
static dc_status parse_cell(const char *name, int line, int col, const char *b, const char *e, float *out)
{
    static const char *const missing[] = {"na", "nan", "n/a", "null", "none", "?"};
    char cell[CELL_CAP];
    size_t len = (size_t)(e - b);
    if (len == 0)
        return dc_fail(DC_ERR_FORMAT, "%s: line %d, column %d: missing value (empty cell); fill or drop the row", name,
                       line, col);
    if (len >= CELL_CAP)
        return dc_fail(DC_ERR_FORMAT, "%s: line %d, column %d: \"%.24s...\" (%zu characters) is not a number", name,
                       line, col, b, len);
    memcpy(cell, b, len);
    cell[len] = '\0';
    for (size_t i = 0; i < sizeof missing / sizeof *missing; i++)
        if (strcasecmp(cell, missing[i]) == 0)
            return dc_fail(DC_ERR_FORMAT, "%s: line %d, column %d: missing value (\"%s\"); fill or drop the row", name,
                           line, col, cell);
    char *end;
    double v = strtod(cell, &end);
    if (end == cell || *end != '\0')
        return dc_fail(DC_ERR_FORMAT, "%s: line %d, column %d: \"%s\" is not a number", name, line, col, cell);
    if (!isfinite(v) || fabs(v) > FLT_MAX)
        return dc_fail(DC_ERR_RANGE, "%s: line %d, column %d: %s is not a finite float32 value", name, line, col, cell);
    *out = (float)v;
    return DC_OK;
}

/* Resolves the target and feature columns against ncols (from line). */
static dc_status resolve_columns(const char *name, const dc_csv_config *cfg, int ncols, int line, int *target,
                                 int **features, int *n_features)
{
    *target = -1;
    if (cfg->target_col != DC_CSV_NO_TARGET) {
        int t = cfg->target_col < 0 ? ncols + cfg->target_col : cfg->target_col;
        if (t < 0 || t >= ncols)
            return dc_fail(DC_ERR_RANGE, "%s: target_col %d is outside the %d columns of line %d (0 to %d, or -1 to -%d "
                                         "from the end)",
                           name, cfg->target_col, ncols, line, ncols - 1, ncols);
        *target = t;
    }
    int n = cfg->feature_cols ? cfg->n_feature_cols : ncols - (*target >= 0);
    if (n < 1)
        return dc_fail(DC_ERR_ARG, "%s: no feature columns (line %d has %d column(s)%s)", name, line, ncols,
                       *target >= 0 ? ", one of them the target" : "");
    int *f = dc_malloc((size_t)n * sizeof *f);
    if (!f)
        return DC_ERR_NOMEM;
    for (int i = 0, k = 0; i < n; i++) {
        if (cfg->feature_cols) {
            f[i] = cfg->feature_cols[i];
            if (f[i] < 0 || f[i] >= ncols) {
                free(f);
                return dc_fail(DC_ERR_RANGE, "%s: feature_cols[%d] = %d is outside the %d columns of line %d (0 to %d)",
                               name, i, cfg->feature_cols[i], ncols, line, ncols - 1);
            }
        } else {
            k += k == *target;
            f[i] = k++;
        }
    }
    *features = f;
    *n_features = n;
    return DC_OK;
}

/* Builds x (rows, n_features) and y (rows, 1) from the cells (rows x ncols). */
static dc_status split_columns(const float *cells, int rows, int ncols, int target, const int *features,
                               int n_features, dc_tensor **x, dc_tensor **y)
{
    *x = dc_tensor_new(2, (int[]){rows, n_features});
    if (!*x)
        return DC_ERR_NOMEM;
    if (target >= 0 && !(*y = dc_tensor_new(2, (int[]){rows, 1}))) {
        dc_tensor_free(*x);
        *x = NULL;
        return DC_ERR_NOMEM;
    }
    for (size_t r = 0; r < (size_t)rows; r++) {
        const float *row = cells + r * (size_t)ncols;
        for (int j = 0; j < n_features; j++)
            (*x)->data[r * (size_t)n_features + (size_t)j] = row[features[j]];
        if (target >= 0)
            (*y)->data[r] = row[target];
    }
    return DC_OK;
}

typedef struct csv_state {
    const char *name;
    const dc_csv_config *cfg;
    int ncols, first_data_line, rows;
    float *cells;
    size_t n_cells, cap_cells;
} csv_state;

/* Appends one data line's cells. */
static dc_status add_row(csv_state *s, const char *b, const char *e, int line)
{
    int n = count_cells(b, e, s->cfg->delimiter);
    if (s->rows == 0) {
        s->ncols = n;
        s->first_data_line = line;
    } else if (n != s->ncols) {
        return dc_fail(DC_ERR_FORMAT, "%s: line %d has %d column(s), expected %d like line %d (a ragged row; check the "
                                      "delimiter and the row)",
                       s->name, line, n, s->ncols, s->first_data_line);
    }
    if (s->rows == INT_MAX)
        return dc_fail(DC_ERR_RANGE, "%s: more than %d rows", s->name, INT_MAX);
    if (s->n_cells + (size_t)n > s->cap_cells) {
        size_t cap = s->cap_cells ? 2 * s->cap_cells : 4096;
        while (cap < s->n_cells + (size_t)n)
            cap *= 2;
        float *c = realloc(s->cells, cap * sizeof *c);
        if (!c)
            return dc_fail(DC_ERR_NOMEM, "%s: out of memory at line %d", s->name, line);
        s->cells = c;
        s->cap_cells = cap;
    }
    line_cursor c = {b, e, s->cfg->delimiter};
    const char *cb, *ce;
    for (int col = 0; next_cell(&c, &cb, &ce, col == 0); col++) {
        dc_status st = parse_cell(s->name, line, col + 1, cb, ce, &s->cells[s->n_cells++]);
        if (st != DC_OK)
            return st;
    }
    s->rows++;
    return DC_OK;
}

dc_status dc_csv_parse(const char *text, size_t len, const char *name, const dc_csv_config *cfg_in, dc_tensor **x,
                       dc_tensor **y)
{
    dc_csv_config cfg = cfg_in ? *cfg_in : dc_csv_defaults();
    name = name ? name : "csv";
    if (!x)
        return dc_fail(DC_ERR_ARG, "%s: x is NULL; pass where to put the features", name);
    *x = NULL;
    if (y)
        *y = NULL;
    if (!text && len)
        return dc_fail(DC_ERR_ARG, "%s: text is NULL", name);
    if (cfg.delimiter == '\0' || cfg.delimiter == '\n' || cfg.delimiter == '\r' || cfg.delimiter == '"')
        return dc_fail(DC_ERR_ARG, "%s: delimiter %d cannot separate cells; use ',', ';', '\\t' or ' '", name,
                       cfg.delimiter);
    if (cfg.target_col != DC_CSV_NO_TARGET && !y)
        return dc_fail(DC_ERR_ARG, "%s: y is NULL but target_col is %d; pass y, or set target_col to DC_CSV_NO_TARGET",
                       name, cfg.target_col);
    if (cfg.feature_cols && cfg.n_feature_cols < 1)
        return dc_fail(DC_ERR_ARG, "%s: feature_cols given with n_feature_cols %d; expected at least 1", name,
                       cfg.n_feature_cols);
    csv_state s = {.name = name, .cfg = &cfg};
    dc_status st = DC_OK;
    int line = 0, header_line = 0;
    for (size_t pos = 0; pos < len && st == DC_OK;) {
        const char *b = text + pos, *nl = memchr(b, '\n', len - pos);
        const char *e = nl ? nl : text + len;
        pos = (size_t)(e - text) + (nl != NULL);
        if (++line == INT_MAX)
            st = dc_fail(DC_ERR_RANGE, "%s: more than %d lines", name, INT_MAX - 1);
        if (e > b && e[-1] == '\r')
            e--;
        const char *t = b;
        while (t < e && (is_blank(*t) || *t == '\r'))
            t++;
        if (t == e || st != DC_OK)
            continue; /* blank line */
        if (memchr(b, '\0', (size_t)(e - b)))
            st = dc_fail(DC_ERR_FORMAT, "%s: line %d contains a NUL byte; this is not a text file", name, line);
        else if (cfg.header && !header_line)
            header_line = line;
        else
            st = add_row(&s, b, e, line);
    }
    if (st == DC_OK && s.rows == 0)
        st = dc_fail(DC_ERR_FORMAT, "%s: no data rows (%s)", name,
                     len == 0 ? "the file is empty" : header_line ? "only a header line" : "only blank lines");
    int target = -1, *features = NULL, n_features = 0;
    if (st == DC_OK)
        st = resolve_columns(name, &cfg, s.ncols, s.first_data_line, &target, &features, &n_features);
    if (st == DC_OK)
        st = split_columns(s.cells, s.rows, s.ncols, target, features, n_features, x, y);
    free(features);
    free(s.cells);
    return st;
}

dc_status dc_csv_load(const char *path, const dc_csv_config *cfg, dc_tensor **x, dc_tensor **y)
{
    char *text;
    size_t len;
    dc_status st = dc_read_all(path, &text, &len);
    if (st != DC_OK)
        return st;
    st = dc_csv_parse(text, len, path, cfg, x, y);
    free(text);
    return st;
}
