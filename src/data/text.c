/*
 * text.c - Keras' text preprocessing: Tokenizer, pad_sequences, and UTF-8
 * handling, matching keras_preprocessing 1.1.0 (Debian's
 * python3-keras-preprocessing; tests/fixtures/make_fixtures_text.py).
 *
 * Text is UTF-8 and handled as code points: lower-casing is Python's
 * str.lower() through the C.UTF-8 locale's towlower (plus U+0130, which
 * Python lowers to two code points); filters are a set of code points;
 * char_level tokens are code points, so a multibyte character is one token.
 * Python's context-dependent final sigma (a word-final capital sigma lowers
 * to U+03C2) is not applied: it lowers to U+03C3.  Invalid UTF-8 is
 * rejected with the text's number and the byte offset; dc_utf8_sanitize
 * replaces it instead, as Python's errors="replace".
 *
 * Word-level tokenizing is keras' text_to_word_sequence: lower, map every
 * filter character to the split string, split on that string, drop empty
 * tokens.  word_counts keeps first-seen order; word_index sorts by count,
 * descending, stably (ties keep first-seen order), from index 1, with the
 * oov_token (if any) put first; Python builds it with dict(zip(...)), so an
 * oov_token that is also a word ends up with the word's later index.
 */
#include "data/tokenizer.h"

#include <locale.h>
#include <pthread.h>
#include <string.h>
#include <wctype.h>

static const char KERAS_FILTERS[] = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n";

/* ---------------------------------------------------------------- UTF-8 */

/* Decodes one code point at s[0..n); returns its length, or 0 when the
 * bytes there are not valid UTF-8 (*bad: how many bytes form the maximal
 * invalid subpart, at least 1). */
static int utf8_decode(const unsigned char *s, size_t n, uint32_t *cp, int *bad)
{
    unsigned c = s[0];
    int len;
    uint32_t v, lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        v = c & 0x0F;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        v = c & 0x07;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    } else {
        *bad = 1;
        return 0;
    }
    for (int i = 1; i < len; i++) {
        unsigned b = i < (int)n ? s[i] : 0;
        if (i >= (int)n || b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF)) {
            *bad = i;
            return 0;
        }
        v = (v << 6) | (b & 0x3F);
    }
    *cp = v;
    return len;
}

static int utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

char *dc_utf8_sanitize(const char *bytes, size_t n)
{
    DC_CHECK_NULL_OR(bytes, NULL);
    char *out = dc_malloc(3 * n + 1); /* a lone byte becomes 3 bytes at most */
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int bad = 0, len = utf8_decode((const unsigned char *)bytes + i, n - i, &cp, &bad);
        if (len) {
            memcpy(out + o, bytes + i, (size_t)len);
            o += (size_t)len;
            i += (size_t)len;
        } else {
            o += (size_t)utf8_encode(0xFFFD, out + o);
            i += (size_t)bad;
        }
    }
    out[o] = '\0';
    return out;
}

/* Decodes a whole text into code points (*cps new, *count); DC_ERR_FORMAT
 * naming `where`, the text and the offset when it is not UTF-8. */
static dc_status decode_text(const char *where, int index, const char *text, uint32_t **cps, size_t *count)
{
    size_t n = strlen(text), k = 0;
    uint32_t *v = dc_malloc((n + 1) * sizeof *v);
    if (!v)
        return DC_ERR_NOMEM;
    for (size_t i = 0; i < n;) {
        int bad = 0, len = utf8_decode((const unsigned char *)text + i, n - i, &v[k], &bad);
        if (!len) {
            free(v);
            return dc_fail(DC_ERR_FORMAT,
                           "%s: text %d is not valid UTF-8 (byte 0x%02x at offset %zu); invalid text is rejected: "
                           "decode it to UTF-8 first, or pass it through dc_utf8_sanitize to replace bad bytes with "
                           "U+FFFD",
                           where, index, (unsigned char)text[i], i);
        }
        i += (size_t)len;
        k++;
    }
    *cps = v;
    *count = k;
    return DC_OK;
}

/* The C.UTF-8 locale for towlower_l, made once and never changed. */
static locale_t utf8_loc;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void make_utf8_locale(void) { utf8_loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0); }

static locale_t utf8_locale(void)
{
    pthread_once(&utf8_once, make_utf8_locale);
    return utf8_loc;
}

/* Python's str.lower() of one code point into out (1 or 2 code points). */
static int lower_cp(uint32_t cp, uint32_t out[2])
{
    if (cp == 0x130) { /* LATIN CAPITAL LETTER I WITH DOT ABOVE -> i + COMBINING DOT ABOVE */
        out[0] = 'i';
        out[1] = 0x307;
        return 2;
    }
    if (cp < 0x80) {
        out[0] = cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
        return 1;
    }
    locale_t loc = utf8_locale();
    out[0] = loc ? (uint32_t)towlower_l((wint_t)cp, loc) : cp;
    return 1;
}

/* ------------------------------------------------------------ tokenizer */

dc_tokenizer_config dc_tokenizer_defaults(void)
{
    dc_tokenizer_config c = {0, NULL, 1, " ", 0, NULL};
    return c;
}

void dc_tokenizer_free(dc_tokenizer *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n_entries; i++)
        free(t->entries[i].word);
    free(t->entries);
    free(t->table);
    free(t->index_word);
    free(t->filters);
    free(t->filters_text);
    free(t->split);
    free(t->oov);
    free(t);
}

dc_tokenizer *dc_tokenizer_new(const dc_tokenizer_config *cfg)
{
    dc_tokenizer_config c = cfg ? *cfg : dc_tokenizer_defaults();
    if (c.num_words < 0)
        return dc_fail_null(DC_ERR_ARG, "Tokenizer: num_words is %d, expected 0 (all words) or more", c.num_words);
    if (!c.split || !*c.split)
        return dc_fail_null(DC_ERR_ARG, "Tokenizer: split is empty; give a separator such as \" \"");
    const char *filters = c.filters ? c.filters : KERAS_FILTERS;
    dc_tokenizer *t = dc_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->num_words = c.num_words;
    t->lower = c.lower != 0;
    t->char_level = c.char_level != 0;
    t->split = dc_strdup(c.split);
    t->oov = c.oov_token ? dc_strdup(c.oov_token) : NULL;
    t->filters_text = dc_strdup(filters);
    dc_status st = t->split && t->filters_text && (!c.oov_token || t->oov) ? DC_OK : DC_ERR_NOMEM;
    uint32_t *tmp;
    size_t count;
    if (!st && (st = decode_text("Tokenizer", 0, c.split, &tmp, &count)) == DC_OK)
        free(tmp);
    if (!st && (st = decode_text("Tokenizer filters", 0, filters, &t->filters, &t->n_filters)) != DC_OK)
        t->filters = NULL;
    if (st) {
        dc_tokenizer_free(t);
        return NULL;
    }
    for (size_t i = 0; i < t->n_filters; i++)
        if (t->filters[i] < 128)
            t->ascii_filter[t->filters[i] >> 6] |= (uint64_t)1 << (t->filters[i] & 63);
    return t;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int dc_tok_find(const dc_tokenizer *t, const char *word)
{
    if (!t->table_cap)
        return -1;
    for (size_t i = hash_str(word) & (t->table_cap - 1);; i = (i + 1) & (t->table_cap - 1)) {
        int e = t->table[i];
        if (!e)
            return -1;
        if (strcmp(t->entries[e - 1].word, word) == 0)
            return e - 1;
    }
}

static dc_status grow_table(dc_tokenizer *t)
{
    size_t cap = t->table_cap ? 2 * t->table_cap : 1024;
    int *table = dc_calloc(cap, sizeof *table);
    if (!table)
        return DC_ERR_NOMEM;
    for (int e = 0; e < t->n_entries; e++) {
        size_t i = hash_str(t->entries[e].word) & (cap - 1);
        while (table[i])
            i = (i + 1) & (cap - 1);
        table[i] = e + 1;
    }
    free(t->table);
    t->table = table;
    t->table_cap = cap;
    return DC_OK;
}

int dc_tok_add(dc_tokenizer *t, const char *word, long count, long docs)
{
    if ((size_t)(t->n_entries + 1) * 2 > t->table_cap && grow_table(t) != DC_OK)
        return -1;
    if (t->n_entries == t->cap_entries) {
        int cap = t->cap_entries ? 2 * t->cap_entries : 256;
        dc_tok_entry *en = realloc(t->entries, (size_t)cap * sizeof *en);
        if (!en) {
            dc_fail(DC_ERR_NOMEM, "Tokenizer: out of memory");
            return -1;
        }
        t->entries = en;
        t->cap_entries = cap;
    }
    dc_tok_entry *n = &t->entries[t->n_entries];
    if (!(n->word = dc_strdup(word)))
        return -1;
    n->count = count;
    n->docs = docs;
    n->last_doc = -1; /* not counted in any text being fitted yet */
    n->order = t->n_entries;
    n->index = 0;
    size_t i = hash_str(word) & (t->table_cap - 1);
    while (t->table[i])
        i = (i + 1) & (t->table_cap - 1);
    t->table[i] = ++t->n_entries;
    return t->n_entries - 1;
}

/* One occurrence of `word` in document t->documents. */
static dc_status count_word(dc_tokenizer *t, const char *word)
{
    int e = dc_tok_find(t, word);
    if (e < 0 && (e = dc_tok_add(t, word, 0, 0)) < 0)
        return DC_ERR_NOMEM;
    dc_tok_entry *en = &t->entries[e];
    en->count++;
    if (en->last_doc != t->documents) { /* first time in this document: word_docs */
        en->last_doc = t->documents;
        en->docs++;
    }
    return DC_OK;
}

static int is_filter(const dc_tokenizer *t, uint32_t cp)
{
    if (cp < 128)
        return (int)((t->ascii_filter[cp >> 6] >> (cp & 63)) & 1);
    for (size_t i = 0; i < t->n_filters; i++)
        if (t->filters[i] == cp)
            return 1;
    return 0;
}

typedef dc_status (*token_fn)(void *ctx, const char *token);

/* Splits text number `index` into tokens, calling fn on each (a NUL-ended
 * string valid during the call). */
static dc_status tokenize(const dc_tokenizer *t, const char *where, int index, const char *text, token_fn fn,
                          void *ctx)
{
    uint32_t *cps;
    size_t n;
    dc_status st = decode_text(where, index, text, &cps, &n);
    if (st)
        return st;
    size_t split_len = strlen(t->split);
    /* lowered (and, word-level, filtered) text; a code point lowers to at most 2 */
    size_t cap = 8 * n + split_len * n + 1;
    char *buf = dc_malloc(cap);
    if (!buf) {
        free(cps);
        return DC_ERR_NOMEM;
    }
    size_t o = 0;
    for (size_t i = 0; i < n && !st; i++) {
        uint32_t low[2];
        int k = t->lower ? lower_cp(cps[i], low) : (low[0] = cps[i], 1);
        for (int j = 0; j < k && !st; j++) {
            if (t->char_level) { /* each code point is a token; filters do not apply (Keras) */
                char one[5];
                one[utf8_encode(low[j], one)] = '\0';
                st = fn(ctx, one);
            } else if (is_filter(t, low[j])) {
                memcpy(buf + o, t->split, split_len);
                o += split_len;
            } else {
                o += (size_t)utf8_encode(low[j], buf + o);
            }
        }
    }
    buf[o] = '\0';
    /* str.split(split): non-overlapping, left to right; empty tokens dropped */
    for (char *p = buf; !t->char_level && !st && *p;) {
        char *q = strstr(p, t->split);
        if (q)
            *q = '\0';
        if (*p)
            st = fn(ctx, p);
        if (!q)
            break;
        p = q + split_len;
    }
    free(buf);
    free(cps);
    return st;
}

static dc_status count_cb(void *ctx, const char *token) { return count_word(ctx, token); }

static int by_count(const void *a, const void *b)
{
    const dc_tok_entry *x = *(dc_tok_entry *const *)a, *y = *(dc_tok_entry *const *)b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->order - y->order;
}

dc_status dc_tok_rebuild_index(dc_tokenizer *t)
{
    dc_tok_entry **sorted = dc_malloc(((size_t)t->n_entries + 1) * sizeof *sorted);
    char **iw = dc_calloc((size_t)t->n_entries + 2, sizeof *iw);
    if (!sorted || !iw) {
        free(sorted);
        free(iw);
        return DC_ERR_NOMEM;
    }
    for (int i = 0; i < t->n_entries; i++)
        sorted[i] = &t->entries[i];
    qsort(sorted, (size_t)t->n_entries, sizeof *sorted, by_count);
    int first = t->oov ? 2 : 1;
    t->oov_index = t->oov ? 1 : 0;
    t->vocab = t->n_entries + (t->oov ? 1 : 0);
    if (t->oov)
        iw[1] = t->oov;
    for (int i = 0; i < t->n_entries; i++) {
        sorted[i]->index = first + i;
        iw[first + i] = sorted[i]->word;
        if (t->oov && strcmp(sorted[i]->word, t->oov) == 0) { /* dict(): the later index wins */
            t->oov_index = first + i;
            iw[1] = NULL;
            t->vocab--;
        }
    }
    free(sorted);
    free(t->index_word);
    t->index_word = iw;
    t->max_index = first + t->n_entries - 1;
    return DC_OK;
}

dc_status dc_tokenizer_fit_on_texts(dc_tokenizer *t, const char *const *texts, int n)
{
    if (!t || (n > 0 && !texts) || n < 0)
        return dc_fail(DC_ERR_ARG, "fit_on_texts: tokenizer or texts is NULL, or n (%d) is negative", n);
    for (int i = 0; i < n; i++) {
        if (!texts[i])
            return dc_fail(DC_ERR_ARG, "fit_on_texts: text %d is NULL", i);
        dc_status st = tokenize(t, "fit_on_texts", i, texts[i], count_cb, t);
        if (st)
            return st;
        t->documents++;
    }
    t->fitted = 1;
    return dc_tok_rebuild_index(t);
}

typedef struct seq_ctx {
    const dc_tokenizer *t;
    int *ids;
    size_t n, cap;
} seq_ctx;

static dc_status seq_cb(void *vctx, const char *token)
{
    seq_ctx *c = vctx;
    const dc_tokenizer *t = c->t;
    int e = dc_tok_find(t, token), id;
    if (e >= 0 && t->entries[e].index)
        id = t->num_words && t->entries[e].index >= t->num_words ? t->oov_index : t->entries[e].index;
    else
        id = t->oov_index;
    if (!id)
        return DC_OK; /* dropped: unknown, or beyond num_words, without an oov_token */
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 1024;
        int *ids = realloc(c->ids, cap * sizeof *ids);
        if (!ids)
            return dc_fail(DC_ERR_NOMEM, "texts_to_sequences: out of memory");
        c->ids = ids;
        c->cap = cap;
    }
    c->ids[c->n++] = id;
    return DC_OK;
}

void dc_sequences_free(dc_sequences *s)
{
    if (!s)
        return;
    free(s->offsets);
    free(s->ids);
    free(s);
}

dc_status dc_tokenizer_texts_to_sequences(const dc_tokenizer *t, const char *const *texts, int n, dc_sequences **out)
{
    if (out)
        *out = NULL;
    if (!t || !out || n < 0 || (n > 0 && !texts))
        return dc_fail(DC_ERR_ARG, "texts_to_sequences: NULL argument or negative n (%d)", n);
    if (!t->fitted)
        return dc_fail(DC_ERR_STATE, "texts_to_sequences: the tokenizer has no vocabulary yet; call "
                                     "dc_tokenizer_fit_on_texts first");
    dc_sequences *s = dc_calloc(1, sizeof *s);
    seq_ctx c = {t, NULL, 0, 0};
    if (!s || !(s->offsets = dc_malloc(((size_t)n + 1) * sizeof *s->offsets))) {
        dc_sequences_free(s);
        return DC_ERR_NOMEM;
    }
    s->count = n;
    s->offsets[0] = 0;
    dc_status st = DC_OK;
    for (int i = 0; i < n && !st; i++) {
        if (!texts[i])
            st = dc_fail(DC_ERR_ARG, "texts_to_sequences: text %d is NULL", i);
        else
            st = tokenize(t, "texts_to_sequences", i, texts[i], seq_cb, &c);
        s->offsets[i + 1] = c.n;
    }
    s->ids = c.ids;
    if (st) {
        dc_sequences_free(s);
        return st;
    }
    *out = s;
    return DC_OK;
}

int dc_tokenizer_word_index(const dc_tokenizer *t, const char *word)
{
    DC_CHECK_NULL_OR(t, 0);
    DC_CHECK_NULL_OR(word, 0);
    if (!t || !word)
        return 0;
    if (t->oov && strcmp(word, t->oov) == 0)
        return t->oov_index;
    int e = dc_tok_find(t, word);
    return e >= 0 ? t->entries[e].index : 0;
}

long dc_tokenizer_word_count(const dc_tokenizer *t, const char *word)
{
    DC_CHECK_NULL_OR(t, 0);
    DC_CHECK_NULL_OR(word, 0);
    int e = t && word ? dc_tok_find(t, word) : -1;
    return e >= 0 ? t->entries[e].count : 0;
}

int dc_tokenizer_vocab_size(const dc_tokenizer *t)
{
    DC_CHECK_NULL_OR(t, 0);
    return t->vocab;
}

const char *dc_tokenizer_index_word(const dc_tokenizer *t, int index)
{
    DC_CHECK_NULL_OR(t, NULL);
    return t && t->index_word && index >= 1 && index <= t->max_index ? t->index_word[index] : NULL;
}

int dc_tokenizer_document_count(const dc_tokenizer *t)
{
    DC_CHECK_NULL_OR(t, 0);
    return t->documents;
}

/* -------------------------------------------------------- pad_sequences */

dc_pad_config dc_pad_defaults(void)
{
    dc_pad_config c = {DC_MAXLEN_NONE, DC_PAD_PRE, DC_PAD_PRE, 0};
    return c;
}

dc_status dc_pad_sequences(const dc_sequences *s, const dc_pad_config *cfg, dc_tensor **out)
{
    dc_pad_config c = cfg ? *cfg : dc_pad_defaults();
    if (out)
        *out = NULL;
    if (!s || !out)
        return dc_fail(DC_ERR_ARG, "pad_sequences: sequences or out is NULL");
    if (c.maxlen != DC_MAXLEN_NONE && c.maxlen < 1)
        return dc_fail(DC_ERR_ARG, "pad_sequences: maxlen is %d, expected >= 1 (or DC_MAXLEN_NONE for the longest "
                                   "sequence)",
                       c.maxlen);
    if ((unsigned)c.padding > DC_PAD_POST || (unsigned)c.truncating > DC_PAD_POST)
        return dc_fail(DC_ERR_ARG, "pad_sequences: padding %d / truncating %d, expected DC_PAD_PRE or DC_PAD_POST",
                       (int)c.padding, (int)c.truncating);
    if (s->count < 1)
        return dc_fail(DC_ERR_ARG, "pad_sequences: no sequences (count %d)", s->count);
    int maxlen = c.maxlen;
    if (maxlen == DC_MAXLEN_NONE) {
        size_t longest = 0;
        for (int i = 0; i < s->count; i++)
            if (s->offsets[i + 1] - s->offsets[i] > longest)
                longest = s->offsets[i + 1] - s->offsets[i];
        if (longest == 0)
            return dc_fail(DC_ERR_ARG, "pad_sequences: every sequence is empty, so the longest has length 0; give a "
                                       "maxlen");
        if (longest > (size_t)1 << 30)
            return dc_fail(DC_ERR_ARG, "pad_sequences: the longest sequence has %zu ids; give a maxlen", longest);
        maxlen = (int)longest;
    }
    dc_tensor *x = dc_tensor_new(2, (int[]){s->count, maxlen});
    if (!x)
        return DC_ERR_NOMEM;
    for (int i = 0; i < s->count; i++) {
        const int *ids = s->ids + s->offsets[i];
        size_t len = s->offsets[i + 1] - s->offsets[i], keep = len < (size_t)maxlen ? len : (size_t)maxlen;
        const int *from = c.truncating == DC_PAD_PRE ? ids + (len - keep) : ids;
        float *row = x->data + (size_t)i * maxlen;
        size_t start = c.padding == DC_PAD_PRE ? (size_t)maxlen - keep : 0;
        for (size_t j = 0; j < (size_t)maxlen; j++)
            row[j] = (float)c.value;
        for (size_t j = 0; j < keep; j++)
            row[start + j] = (float)from[j];
    }
    *out = x;
    return DC_OK;
}
