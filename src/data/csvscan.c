/*
 * csvscan.c - CSV text into records of cells, with RFC 4180 quoting (the
 * rules are in csvscan.h).  Python's csv module is the reference for what a
 * quoted cell holds; where Python guesses, this reader stops with an error:
 * text after a closing quote (Python glues it on) and a quote never closed
 * (Python returns the rest of the file as the cell).  Blanks before an
 * opening quote and after a closing one are allowed, as pandas allows them.
 *
 * The scanner walks the text once, copying each cell unescaped and
 * NUL-terminated into one buffer per record, so a cell never needs a second
 * pass; every error names the line (where the problem is) and the column
 * (the cell's number), both from 1.
 */
#include "core/core.h"
#include "data/csvscan.h"

#include <limits.h>
#include <string.h>

void csv_scan_init(csv_scan *s, const char *text, size_t len, const char *name, char delim)
{
    memset(s, 0, sizeof *s);
    s->text = text;
    s->len = len;
    s->name = name;
    s->delim = delim;
    s->line = 1;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        s->pos = 3; /* UTF-8 byte order mark (Excel's "CSV UTF-8") */
}

void csv_scan_free(csv_scan *s)
{
    free(s->buf);
    free(s->off);
    free(s->cell_line);
    s->buf = NULL;
    s->off = NULL;
    s->cell_line = NULL;
}

static int is_line_end(char c) { return c == '\n' || c == '\r'; }
static int is_space(char c) { return c == ' ' || c == '\t'; }

/* A blank trimmed around cells: a space or tab that is not the delimiter. */
static int is_blank(const csv_scan *s, char c) { return is_space(c) && (c != s->delim || s->delim == ' '); }

static int at(const csv_scan *s, char c) { return s->pos < s->len && s->text[s->pos] == c; }

/* Steps over the line end at pos (LF, CRLF or a lone CR). */
static dc_status eat_line_end(csv_scan *s)
{
    if (at(s, '\r')) {
        s->pos++;
        if (at(s, '\n'))
            s->pos++;
    } else if (at(s, '\n')) {
        s->pos++;
    }
    if (s->line == INT_MAX - 1)
        return dc_fail(DC_ERR_RANGE, "%s: more than %d lines", s->name, INT_MAX - 1);
    s->line++;
    return DC_OK;
}

static dc_status nul_error(const csv_scan *s)
{
    return dc_fail(DC_ERR_FORMAT, "%s: line %d contains a NUL byte; this is not a text file", s->name, s->line);
}

/* Appends n bytes to the record's buffer. */
static dc_status put(csv_scan *s, const char *p, size_t n)
{
    if (n == 0)
        return DC_OK; /* buf may still be NULL */
    if (s->buf_len + n > s->buf_cap) {
        size_t cap = s->buf_cap ? s->buf_cap : 256;
        while (cap < s->buf_len + n)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b)
            return dc_fail(DC_ERR_NOMEM, "%s: out of memory at line %d", s->name, s->line);
        s->buf = b;
        s->buf_cap = cap;
    }
    memcpy(s->buf + s->buf_len, p, n);
    s->buf_len += n;
    return DC_OK;
}

static dc_status begin_cell(csv_scan *s)
{
    if (s->n_cells == s->cap_cells) {
        if (s->cap_cells > INT_MAX / 2)
            return dc_fail(DC_ERR_RANGE, "%s: line %d has too many cells", s->name, s->record_line);
        int cap = s->cap_cells ? 2 * s->cap_cells : 16;
        size_t *off = realloc(s->off, (size_t)cap * sizeof *off);
        if (off)
            s->off = off;
        int *cl = off ? realloc(s->cell_line, (size_t)cap * sizeof *cl) : NULL;
        if (!cl)
            return dc_fail(DC_ERR_NOMEM, "%s: out of memory at line %d", s->name, s->line);
        s->cell_line = cl;
        s->cap_cells = cap;
    }
    s->off[s->n_cells] = s->buf_len;
    s->cell_line[s->n_cells++] = s->line;
    return DC_OK;
}

/* Whether c ends an unquoted cell. */
static int ends_cell(const csv_scan *s, char c)
{
    return is_line_end(c) || (s->delim == ' ' ? is_space(c) : c == s->delim);
}

/* An unquoted cell from pos to the delimiter or line end, trailing blanks trimmed. */
static dc_status unquoted_cell(csv_scan *s)
{
    size_t b = s->pos;
    while (s->pos < s->len && !ends_cell(s, s->text[s->pos])) {
        if (s->text[s->pos] == '\0')
            return nul_error(s);
        s->pos++;
    }
    size_t e = s->pos;
    while (e > b && is_blank(s, s->text[e - 1]))
        e--;
    return put(s, s->text + b, e - b);
}

/* A quoted cell: pos is at the opening quote; `col` counts from 1. */
static dc_status quoted_cell(csv_scan *s, int col)
{
    int open_line = s->line;
    dc_status st = DC_OK;
    s->pos++;
    for (;;) {
        size_t b = s->pos;
        while (s->pos < s->len && s->text[s->pos] != '"' && s->text[s->pos] != '\0' && !is_line_end(s->text[s->pos]))
            s->pos++;
        if ((st = put(s, s->text + b, s->pos - b)) != DC_OK)
            return st;
        if (s->pos == s->len)
            return dc_fail(DC_ERR_FORMAT, "%s: line %d, column %d: the quoted cell is never closed (no closing \" before "
                                          "the end of the file; a quote inside a quoted cell is written twice: \"\")",
                           s->name, open_line, col);
        char c = s->text[s->pos];
        if (c == '\0')
            return nul_error(s);
        if (is_line_end(c)) { /* a line end inside quotes is data, kept as written */
            b = s->pos;
            if ((st = eat_line_end(s)) != DC_OK || (st = put(s, s->text + b, s->pos - b)) != DC_OK)
                return st;
            continue;
        }
        if (s->pos + 1 < s->len && s->text[s->pos + 1] == '"') { /* "" is one quote */
            if ((st = put(s, "\"", 1)) != DC_OK)
                return st;
            s->pos += 2;
            continue;
        }
        s->pos++; /* the closing quote */
        break;
    }
    size_t after = s->pos;
    while (s->pos < s->len && is_blank(s, s->text[s->pos]))
        s->pos++;
    if (s->pos == s->len || ends_cell(s, s->text[s->pos]) || (s->delim == ' ' && s->pos > after))
        return DC_OK;
    size_t e = s->pos;
    while (e < s->len && e - s->pos < 24 && !ends_cell(s, s->text[e]) && s->text[e] != '\0')
        e++;
    char began[48] = "";
    if (open_line != s->line)
        snprintf(began, sizeof began, "; the quoted cell began on line %d", open_line);
    return dc_fail(DC_ERR_FORMAT, "%s: line %d, column %d: text after the closing quote: \"%.*s\"%s (a quote inside a "
                                  "quoted cell is written twice: \"\")",
                   s->name, s->line, col, (int)(e - s->pos), s->text + s->pos, began);
}

/* One cell at pos (leading blanks already skipped), NUL-terminated. */
static dc_status cell(csv_scan *s, int col)
{
    dc_status st = begin_cell(s);
    if (st == DC_OK)
        st = at(s, '"') ? quoted_cell(s, col) : unquoted_cell(s);
    return st == DC_OK ? put(s, "", 1) : st;
}

static void skip_blanks(csv_scan *s)
{
    while (s->pos < s->len && is_blank(s, s->text[s->pos]))
        s->pos++;
}

dc_status csv_scan_next(csv_scan *s, int *got)
{
    dc_status st = DC_OK;
    *got = 0;
    s->n_cells = 0;
    s->buf_len = 0;
    for (;;) { /* blank lines; a tab that is the delimiter is not blank */
        skip_blanks(s);
        if (s->pos == s->len)
            return DC_OK;
        if (!is_line_end(s->text[s->pos]))
            break;
        if ((st = eat_line_end(s)) != DC_OK)
            return st;
    }
    s->record_line = s->line;
    for (int col = 1;; col++) {
        if (s->delim == ' ') {
            skip_blanks(s);
            if (s->pos == s->len || is_line_end(s->text[s->pos]))
                break;
        }
        if (col > 1 && s->delim != ' ')
            s->pos++; /* the delimiter */
        skip_blanks(s);
        if ((st = cell(s, col)) != DC_OK)
            return st;
        if (s->pos == s->len || is_line_end(s->text[s->pos]))
            break;
    }
    if (s->pos < s->len && (st = eat_line_end(s)) != DC_OK)
        return st;
    *got = 1;
    return DC_OK;
}
