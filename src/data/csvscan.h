/*
 * csvscan.h - splits CSV text into records of cells, RFC 4180 style
 * (src/data/csvscan.c).  Internal; used by csv.c.
 *
 * A cell may be quoted: between double quotes the delimiter, line ends and
 * "" (one quote) are data.  Outside quotes, a line ends at LF, CRLF or a lone
 * CR; lines of nothing but blanks are skipped; blanks around a cell are
 * trimmed (blanks inside quotes are kept).  A blank is a space or a tab
 * that is not the delimiter: with '\t' a line's leading tab starts an empty
 * first cell, as with ',' a leading comma does.  A UTF-8 byte order mark at the
 * very start is skipped.  With the delimiter ' ' any run of spaces and tabs
 * separates cells.
 */
#ifndef DC_CSVSCAN_H
#define DC_CSVSCAN_H

#include "deepc.h"

typedef struct csv_scan {
    const char *text, *name; /* name is used in messages */
    size_t len, pos;
    char delim;
    int line; /* the line at pos, from 1 */
    /* The current record: cell i is buf + off[i], NUL-terminated. */
    char *buf;
    size_t buf_len, buf_cap;
    size_t *off;
    int *cell_line; /* the line each cell starts on */
    int n_cells, cap_cells;
    int record_line; /* the line the record starts on */
} csv_scan;

/* Starts scanning `len` bytes of text (borrowed; it must outlive s). */
void csv_scan_init(csv_scan *s, const char *text, size_t len, const char *name, char delim);
/* Reads the next record into s; *got is 0 at the end of the text.  An
 * unterminated quote, text after a closing quote or a NUL byte is
 * DC_ERR_FORMAT naming the line and column. */
dc_status csv_scan_next(csv_scan *s, int *got);
static inline const char *csv_cell(const csv_scan *s, int i) { return s->buf + s->off[i]; }
/* Frees the record buffers (not the text). */
void csv_scan_free(csv_scan *s);

#endif
