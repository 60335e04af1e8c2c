/*
 * json.c - strict JSON reader and writer (see json.h).
 *
 * The reader is a recursive-descent parser over (text, len) with a cursor;
 * nothing reads past len.  Numbers follow the JSON grammar exactly before
 * strtod (in the "C" locale) sees a bounded copy of them; strings are
 * checked as UTF-8 and their escapes decoded (surrogate pairs joined, lone
 * surrogates rejected).
 * Duplicate keys are found by sorting the keys of each object, so a hostile
 * object with many keys costs n log n, not n^2.
 */
#include "io/json.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct parser {
    const char *s;
    size_t len, pos;
    const char *where;
} parser;

static dc_status perr(const parser *p, const char *what)
{
    size_t line = 1, col = 1;
    for (size_t i = 0; i < p->pos && i < p->len; i++) {
        if (p->s[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return dc_fail(DC_ERR_FORMAT, "%s: invalid JSON at byte %zu (line %zu, column %zu): %s", p->where, p->pos, line,
                   col, what);
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static int peek(const parser *p) { return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1; }

static int literal(parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return 0;
    p->pos += n;
    return 1;
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }

static dc_status parse_number(parser *p, dc_json *v)
{
    size_t start = p->pos;
    if (peek(p) == '-')
        p->pos++;
    if (peek(p) == '0') {
        p->pos++;
    } else if (is_digit(peek(p))) {
        while (is_digit(peek(p)))
            p->pos++;
    } else {
        return perr(p, "expected a digit in a number");
    }
    if (peek(p) == '.') {
        p->pos++;
        if (!is_digit(peek(p)))
            return perr(p, "expected a digit after the decimal point");
        while (is_digit(peek(p)))
            p->pos++;
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-')
            p->pos++;
        if (!is_digit(peek(p)))
            return perr(p, "expected a digit in the exponent");
        while (is_digit(peek(p)))
            p->pos++;
    }
    char buf[128];
    size_t n = p->pos - start;
    if (n >= sizeof buf) {
        p->pos = start;
        return perr(p, "number longer than 127 characters");
    }
    memcpy(buf, p->s + start, n);
    buf[n] = '\0';
    v->type = DC_JSON_NUMBER;
    v->num = dc_strtod_c(buf, NULL);
    if (!isfinite(v->num)) {
        p->pos = start;
        return perr(p, "number out of the range of a double");
    }
    return DC_OK;
}

static int hex4(const parser *p, size_t at, unsigned *out)
{
    unsigned v = 0;
    if (p->len - at < 4)
        return 0;
    for (int i = 0; i < 4; i++) {
        int c = (unsigned char)p->s[at + (size_t)i];
        int d = is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (d < 0)
            return 0;
        v = v * 16 + (unsigned)d;
    }
    *out = v;
    return 1;
}

/* Length of the valid UTF-8 sequence at s[0..avail), or 0. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    unsigned cp = c & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a string at p->pos (the opening quote) into a new NUL-terminated buffer. */
static dc_status parse_string(parser *p, char **out, size_t *out_len)
{
    p->pos++; /* opening quote */
    size_t start = p->pos, end = start;
    /* First pass: find the closing quote (escaped output is never longer). */
    while (end < p->len && p->s[end] != '"')
        end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->len) {
        p->pos = start - 1;
        return perr(p, "unterminated string");
    }
    char *o = dc_malloc(end - start + 1);
    if (!o)
        return DC_ERR_NOMEM;
    size_t n = 0;
    while (p->pos < end) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c < 0x20) {
            free(o);
            return perr(p, "control character inside a string (escape it)");
        }
        if (c != '\\') {
            size_t k = utf8_len((const unsigned char *)p->s + p->pos, end - p->pos);
            if (!k) {
                free(o);
                return perr(p, "invalid UTF-8 in a string");
            }
            memcpy(o + n, p->s + p->pos, k);
            n += k;
            p->pos += k;
            continue;
        }
        char e = p->s[p->pos + 1];
        const char *map = strchr("\"\\/bfnrt", e);
        if (e && map) {
            o[n++] = "\"\\/\b\f\n\r\t"[map - "\"\\/bfnrt"];
            p->pos += 2;
            continue;
        }
        unsigned cp, lo;
        if (e != 'u' || !hex4(p, p->pos + 2, &cp)) {
            free(o);
            return perr(p, "invalid escape in a string");
        }
        size_t used = 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (p->pos + 12 > end || p->s[p->pos + 6] != '\\' || p->s[p->pos + 7] != 'u' ||
                !hex4(p, p->pos + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                free(o);
                return perr(p, "unpaired UTF-16 surrogate in a \\u escape");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            used = 12;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            free(o);
            return perr(p, "unpaired UTF-16 surrogate in a \\u escape");
        }
        if (cp == 0) {
            free(o);
            return perr(p, "\\u0000 (a NUL character) is not supported in strings");
        }
        n += put_utf8(o + n, cp);
        p->pos += used;
    }
    p->pos = end + 1;
    o[n] = '\0';
    *out = o;
    *out_len = n;
    return DC_OK;
}

static dc_status parse_value(parser *p, dc_json *v, int depth);

static int cmp_key(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static dc_status check_duplicates(parser *p, dc_json *v)
{
    if (v->len < 2)
        return DC_OK;
    char **sorted = dc_malloc(v->len * sizeof *sorted);
    if (!sorted)
        return DC_ERR_NOMEM;
    memcpy(sorted, v->keys, v->len * sizeof *sorted);
    qsort(sorted, v->len, sizeof *sorted, cmp_key);
    dc_status st = DC_OK;
    for (size_t i = 1; i < v->len && st == DC_OK; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0) {
            char what[160];
            snprintf(what, sizeof what, "duplicate key \"%.100s\" in an object", sorted[i]);
            st = perr(p, what);
        }
    free(sorted);
    return st;
}

/* Appends one item (and its key, for objects) to v, growing by doubling. */
static dc_status grow(dc_json *v, size_t *cap)
{
    if (v->len < *cap)
        return DC_OK;
    size_t nc = *cap ? *cap * 2 : 4;
    dc_json *items = realloc(v->items, nc * sizeof *items);
    if (!items)
        return dc_fail(DC_ERR_NOMEM, "JSON: out of memory");
    v->items = items;
    if (v->type == DC_JSON_OBJECT) {
        char **keys = realloc(v->keys, nc * sizeof *keys);
        if (!keys)
            return dc_fail(DC_ERR_NOMEM, "JSON: out of memory");
        v->keys = keys;
    }
    *cap = nc;
    return DC_OK;
}

static dc_status parse_container(parser *p, dc_json *v, int depth, int object)
{
    char close = object ? '}' : ']';
    size_t cap = 0;
    v->type = object ? DC_JSON_OBJECT : DC_JSON_ARRAY;
    p->pos++;
    skip_ws(p);
    if (peek(p) == close) {
        p->pos++;
        return DC_OK;
    }
    for (;;) {
        dc_status st = grow(v, &cap);
        if (st != DC_OK)
            return st;
        if (object) {
            skip_ws(p);
            if (peek(p) != '"')
                return perr(p, "expected a string key");
            size_t klen;
            if ((st = parse_string(p, &v->keys[v->len], &klen)) != DC_OK)
                return st;
            skip_ws(p);
            if (peek(p) != ':') {
                free(v->keys[v->len]);
                return perr(p, "expected ':' after a key");
            }
            p->pos++;
        }
        memset(&v->items[v->len], 0, sizeof v->items[0]);
        v->len++; /* counted now so that dc_json_free releases a partial item */
        if ((st = parse_value(p, &v->items[v->len - 1], depth + 1)) != DC_OK)
            return st;
        skip_ws(p);
        int c = peek(p);
        p->pos += c >= 0;
        if (c == close)
            break;
        if (c != ',') {
            p->pos -= c >= 0;
            return perr(p, object ? "expected ',' or '}' in an object" : "expected ',' or ']' in an array");
        }
    }
    return object ? check_duplicates(p, v) : DC_OK;
}

static dc_status parse_value(parser *p, dc_json *v, int depth)
{
    if (depth > DC_JSON_MAX_DEPTH)
        return perr(p, "nested deeper than 64 levels");
    skip_ws(p);
    int c = peek(p);
    switch (c) {
    case '{': return parse_container(p, v, depth, 1);
    case '[': return parse_container(p, v, depth, 0);
    case '"': v->type = DC_JSON_STRING; return parse_string(p, &v->str, &v->len);
    case 't':
    case 'f':
        v->type = DC_JSON_BOOL;
        v->boolean = c == 't';
        return literal(p, c == 't' ? "true" : "false") ? DC_OK : perr(p, "unknown literal (expected true or false)");
    case 'n': v->type = DC_JSON_NULL; return literal(p, "null") ? DC_OK : perr(p, "unknown literal (expected null)");
    case -1: return perr(p, "unexpected end of text, expected a value");
    default:
        if (c == '-' || is_digit(c))
            return parse_number(p, v);
        return perr(p, "expected a value (object, array, string, number, true, false or null)");
    }
}

dc_status dc_json_parse(const char *text, size_t len, const char *where, dc_json **out)
{
    *out = NULL;
    parser p = {text, len, 0, where ? where : "JSON"};
    dc_json *v = dc_calloc(1, sizeof *v);
    if (!v)
        return DC_ERR_NOMEM;
    dc_status st = parse_value(&p, v, 0);
    if (st == DC_OK) {
        skip_ws(&p);
        if (p.pos != p.len)
            st = perr(&p, "unexpected text after the value");
    }
    if (st != DC_OK) {
        dc_json_free(v);
        return st;
    }
    *out = v;
    return DC_OK;
}

static void free_inner(dc_json *v)
{
    for (size_t i = 0; (v->type == DC_JSON_ARRAY || v->type == DC_JSON_OBJECT) && i < v->len; i++) {
        free_inner(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
}

void dc_json_free(dc_json *v)
{
    if (!v)
        return;
    free_inner(v);
    free(v);
}

const dc_json *dc_json_get(const dc_json *v, const char *key)
{
    if (!v || v->type != DC_JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < v->len; i++)
        if (strcmp(v->keys[i], key) == 0)
            return &v->items[i];
    return NULL;
}

const char *dc_json_type_name(dc_json_type t)
{
    static const char *const names[] = {"null", "a boolean", "a number", "a string", "an array", "an object"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

int dc_json_is_int(const dc_json *v, double lo, double hi)
{
    return v && v->type == DC_JSON_NUMBER && v->num == floor(v->num) && v->num >= lo && v->num <= hi;
}

/* ---- writer ---- */

void dc_jw_init(dc_jw *w)
{
    memset(w, 0, sizeof *w);
    w->first[0] = 1;
}

void dc_jw_free(dc_jw *w)
{
    free(w->buf);
    w->buf = NULL;
}

static void put(dc_jw *w, const char *s, size_t n)
{
    if (w->failed)
        return;
    if (w->len + n + 1 > w->cap) {
        size_t nc = w->cap ? w->cap : 256;
        while (nc < w->len + n + 1)
            nc *= 2;
        char *b = realloc(w->buf, nc);
        if (!b) {
            w->failed = 1;
            return;
        }
        w->buf = b;
        w->cap = nc;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void puts_raw(dc_jw *w, const char *s) { put(w, s, strlen(s)); }

static void put_string(dc_jw *w, const char *s)
{
    put(w, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(w, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put(w, esc, 6);
        } else {
            put(w, s, 1);
        }
    }
    put(w, "\"", 1);
}

/* Comma and key before an item. */
static void item(dc_jw *w, const char *key)
{
    if (!w->first[w->depth])
        put(w, ",", 1);
    w->first[w->depth] = 0;
    if (key) {
        put_string(w, key);
        put(w, ":", 1);
    }
}

static void open_nested(dc_jw *w, const char *key, char open, char close)
{
    item(w, key);
    put(w, &open, 1);
    if (w->depth >= DC_JSON_MAX_DEPTH) {
        w->failed = 1;
        return;
    }
    w->first[++w->depth] = 1;
    w->closer[w->depth] = close;
}

void dc_jw_object(dc_jw *w, const char *key) { open_nested(w, key, '{', '}'); }
void dc_jw_array(dc_jw *w, const char *key) { open_nested(w, key, '[', ']'); }

void dc_jw_end(dc_jw *w)
{
    if (w->depth == 0) {
        w->failed = 1;
        return;
    }
    put(w, &w->closer[w->depth], 1);
    w->depth--;
}

void dc_jw_str(dc_jw *w, const char *key, const char *s)
{
    item(w, key);
    put_string(w, s);
}

void dc_jw_int(dc_jw *w, const char *key, long long v)
{
    char b[32];
    item(w, key);
    snprintf(b, sizeof b, "%lld", v);
    puts_raw(w, b);
}

/* The "C" locale, made once and only read after.  newlocale cannot fail for
 * "C" with every category (glibc and musl hand back a built-in object); were
 * it ever to, the conversions below would run in the thread's own locale. */
static locale_t c_loc;
static pthread_once_t c_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void) { c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

locale_t dc_c_locale_enter(void)
{
    pthread_once(&c_once, make_c_locale);
    return c_loc ? uselocale(c_loc) : (locale_t)0;
}

void dc_c_locale_leave(locale_t old)
{
    if (old)
        uselocale(old);
}

void dc_fmt_float(char *buf, size_t size, float v)
{
    locale_t old = dc_c_locale_enter();
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, size, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v)
            break;
    }
    dc_c_locale_leave(old);
}

void dc_fmt_double(char *buf, size_t size, double v)
{
    locale_t old = dc_c_locale_enter();
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    dc_c_locale_leave(old);
}

double dc_strtod_c(const char *s, char **end)
{
    locale_t old = dc_c_locale_enter();
    double v = strtod(s, end);
    dc_c_locale_leave(old);
    return v;
}

/* Whether s is "inf", "infinity" or "nan" in any case. */
static int special_word(const char *s)
{
    static const char *const words[] = {"inf", "infinity", "nan"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        size_t k = 0;
        while (words[i][k] && (s[k] | 0x20) == words[i][k])
            k++;
        if (!words[i][k] && !s[k])
            return 1;
    }
    return 0;
}

static int is_ascii_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

int dc_parse_decimal(const char *s, double *v)
{
    char text[128];
    while (is_ascii_space(*s))
        s++;
    size_t n = strlen(s);
    while (n && is_ascii_space(s[n - 1]))
        n--;
    if (n < sizeof text) { /* a bounded copy without the trailing spaces */
        memcpy(text, s, n);
        text[n] = '\0';
        s = text;
    } else if (n != strlen(s)) {
        return 0; /* 128 characters and more, then blanks: no number is that long */
    }
    const char *p = s + (*s == '+' || *s == '-');
    if (!special_word(p)) {
        size_t digits = 0;
        while (is_digit((unsigned char)*p))
            p++, digits++;
        if (*p == '.')
            for (p++; is_digit((unsigned char)*p); p++)
                digits++;
        if (digits == 0)
            return 0;
        if (*p == 'e' || *p == 'E') {
            p += 1 + (p[1] == '+' || p[1] == '-');
            if (!is_digit((unsigned char)*p))
                return 0;
            while (is_digit((unsigned char)*p))
                p++;
        }
        if (*p)
            return 0;
    }
    char *end;
    *v = dc_strtod_c(s, &end);
    return *end == '\0';
}

void dc_jw_float(dc_jw *w, const char *key, float v)
{
    char b[48];
    item(w, key);
    if (!isfinite(v)) {
        puts_raw(w, "null");
        return;
    }
    dc_fmt_float(b, sizeof b, v);
    puts_raw(w, b);
}

void dc_jw_double(dc_jw *w, const char *key, double v)
{
    char b[48];
    item(w, key);
    if (!isfinite(v)) {
        puts_raw(w, "null");
        return;
    }
    dc_fmt_double(b, sizeof b, v);
    puts_raw(w, b);
}

void dc_jw_bool(dc_jw *w, const char *key, int v)
{
    item(w, key);
    puts_raw(w, v ? "true" : "false");
}

void dc_jw_null(dc_jw *w, const char *key)
{
    item(w, key);
    puts_raw(w, "null");
}

void dc_jw_ints(dc_jw *w, const char *key, int n, const int *v)
{
    dc_jw_array(w, key);
    for (int i = 0; i < n; i++)
        dc_jw_int(w, NULL, v[i]);
    dc_jw_end(w);
}

void dc_jw_pad(dc_jw *w, size_t multiple)
{
    while (!w->failed && w->len % multiple)
        put(w, " ", 1);
}

char *dc_jw_take(dc_jw *w, size_t *len)
{
    if (w->failed || !w->buf) {
        dc_jw_free(w);
        return dc_fail_null(DC_ERR_NOMEM, "JSON writer: out of memory");
    }
    char *b = w->buf;
    if (len)
        *len = w->len;
    w->buf = NULL;
    return b;
}
