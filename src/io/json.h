/*
 * json.h - a small strict JSON reader and writer (RFC 8259), internal.
 *
 * The reader takes untrusted text: every byte is bounds-checked against the
 * length given (the text need not be NUL-terminated), nesting is limited to
 * DC_JSON_MAX_DEPTH, strings must be valid UTF-8 without NUL characters,
 * duplicate object keys are an error, and each message names the byte, line
 * and column where the text went wrong.  The writer builds text in a growable
 * buffer; floats are written in the shortest form that reads back exactly.
 */
#ifndef DC_JSON_H
#define DC_JSON_H

#include "core/core.h"

#include <locale.h>

#define DC_JSON_MAX_DEPTH 64

typedef enum { DC_JSON_NULL, DC_JSON_BOOL, DC_JSON_NUMBER, DC_JSON_STRING, DC_JSON_ARRAY, DC_JSON_OBJECT } dc_json_type;

typedef struct dc_json dc_json;
struct dc_json {
    dc_json_type type;
    int boolean;
    double num;
    char *str;       /* strings: NUL-terminated UTF-8 */
    size_t len;      /* strings: bytes; arrays and objects: item count */
    dc_json *items;  /* arrays and objects: len values */
    char **keys;     /* objects: len keys, in file order */
};

/* Parses text[0..len) (one JSON value, surrounded only by whitespace).  On
 * success *out is a new tree for dc_json_free.  `where` starts messages. */
dc_status dc_json_parse(const char *text, size_t len, const char *where, dc_json **out);
void dc_json_free(dc_json *v);
/* The member `key` of an object, or NULL (also when v is not an object). */
const dc_json *dc_json_get(const dc_json *v, const char *key);
const char *dc_json_type_name(dc_json_type t);
/* A number that is an integer in [lo, hi]; otherwise 0. */
int dc_json_is_int(const dc_json *v, double lo, double hi);

/* ---- writer ---- */

typedef struct dc_jw {
    char *buf;
    size_t len, cap;
    int failed;              /* out of memory: the text is incomplete */
    int depth;
    unsigned char first[DC_JSON_MAX_DEPTH + 1]; /* no item yet at this depth */
    char closer[DC_JSON_MAX_DEPTH + 1];         /* '}' or ']' for each open level */
} dc_jw;

void dc_jw_init(dc_jw *w);
void dc_jw_free(dc_jw *w);
/* Each takes the member key inside an object, NULL inside an array or at the top. */
void dc_jw_object(dc_jw *w, const char *key);
void dc_jw_array(dc_jw *w, const char *key);
void dc_jw_end(dc_jw *w); /* closes the innermost object or array */
void dc_jw_str(dc_jw *w, const char *key, const char *s);
void dc_jw_int(dc_jw *w, const char *key, long long v);
void dc_jw_float(dc_jw *w, const char *key, float v);   /* shortest exact float32; null if not finite */
void dc_jw_double(dc_jw *w, const char *key, double v); /* shortest exact float64; null if not finite */
void dc_jw_bool(dc_jw *w, const char *key, int v);
void dc_jw_null(dc_jw *w, const char *key);
void dc_jw_ints(dc_jw *w, const char *key, int n, const int *v);
/* Appends spaces until the length is a multiple of `multiple`. */
void dc_jw_pad(dc_jw *w, size_t multiple);
/* Takes the text (NUL-terminated) out of the writer; NULL (and a message) if
 * memory ran out.  The caller frees it. */
char *dc_jw_take(dc_jw *w, size_t *len);

/* ---- numbers as text, whatever the process locale ----
 *
 * Every number deepc writes to or reads from a file or a string goes through
 * these, never through bare printf("%g") or strtod: a program that calls
 * setlocale(LC_ALL, "") under de_DE.UTF-8 makes those write "0,001" and stop
 * reading "0.001" at the '.'.  They run the C library's conversions under
 * the "C" locale (uselocale, per thread, made once), so the text is exactly
 * what the C locale gives. */

/* Shortest "%.*g" text of v that reads back to the same float / double. */
void dc_fmt_float(char *buf, size_t size, float v);
void dc_fmt_double(char *buf, size_t size, double v);
/* strtod in the "C" locale ('.' is the decimal point). */
double dc_strtod_c(const char *s, char **end);
/* Whether all of s is a decimal number as Python's float() and pandas read
 * it: blanks around it (space, \t, \n, \v, \f, \r), an optional sign,
 * digits with an optional '.' (at least one digit), an optional exponent, or
 * one of inf, infinity, nan in any case.  Hexadecimal ("0x1p3"), a decimal
 * comma and Python's underscores ("1_000") are not numbers.
 * On success *v is its value (correctly rounded, as strtod gives). */
int dc_parse_decimal(const char *s, double *v);
/* For other conversions (a printf of numbers into a file): switches the
 * calling thread to the "C" locale and returns what dc_c_locale_leave
 * restores.  Nothing between may return without leaving. */
locale_t dc_c_locale_enter(void);
void dc_c_locale_leave(locale_t old);

#endif
