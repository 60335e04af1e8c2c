/*
 * text_vec.c - what a fitted Tokenizer gives besides sequences, matching
 * keras_preprocessing 1.1.0's Tokenizer: bag-of-words matrices
 * (sequences_to_matrix, texts_to_matrix: binary, count, freq, tfidf),
 * sequences_to_texts, and the vocabulary as Keras' to_json writes it, so a
 * tokenizer fitted here is usable by tokenizer_from_json in Python and the
 * other way round.
 *
 * Keras' JSON double-encodes: config.word_counts, word_docs, index_docs,
 * index_word and word_index are strings, each holding a JSON object.  On
 * loading, word_counts (in its order: first seen, which breaks ties in
 * word_index) and word_docs are the state; word_index is rebuilt from them
 * and must agree with the file's, so a file cannot make texts_to_sequences
 * and sequences_to_texts disagree.  index_docs and index_word are derived
 * and not read.
 */
#include "data/tokenizer.h"
#include "io/file.h"
#include "io/json.h"
#include "layers/layer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_TOKENIZER_BYTES ((size_t)1 << 30)

long dc_tokenizer_word_docs(const dc_tokenizer *t, const char *word)
{
    DC_CHECK_NULL_OR(t, 0);
    DC_CHECK_NULL_OR(word, 0);
    int e = t && word ? dc_tok_find(t, word) : -1;
    return e >= 0 ? t->entries[e].docs : 0;
}

/* ------------------------------------------------------------ matrices */

typedef enum { MODE_BINARY, MODE_COUNT, MODE_FREQ, MODE_TFIDF } matrix_mode;

static dc_status parse_mode(const char *mode, matrix_mode *out)
{
    static const char *const names[] = {"binary", "count", "freq", "tfidf"};
    for (int i = 0; i < 4; i++)
        if (strcmp(mode ? mode : "binary", names[i]) == 0) {
            *out = (matrix_mode)i;
            return DC_OK;
        }
    return dc_fail(DC_ERR_ARG, "sequences_to_matrix: unknown mode \"%s\"; expected binary, count, freq or tfidf", mode);
}

/* word_docs by word index, for tfidf (Keras' index_docs; 0 where none). */
static long *docs_by_index(const dc_tokenizer *t, int cols)
{
    long *docs = dc_calloc((size_t)cols, sizeof *docs);
    for (int e = 0; docs && e < t->n_entries; e++)
        if (t->entries[e].index < cols)
            docs[t->entries[e].index] = t->entries[e].docs;
    return docs;
}

dc_status dc_tokenizer_sequences_to_matrix(const dc_tokenizer *t, const dc_sequences *s, const char *mode,
                                           dc_tensor **out)
{
    if (out)
        *out = NULL;
    if (!t || !s || !out)
        return dc_fail(DC_ERR_ARG, "sequences_to_matrix: NULL argument");
    matrix_mode m = MODE_BINARY;
    dc_status st = parse_mode(mode, &m);
    if (st)
        return st;
    int cols = t->num_words ? t->num_words : t->vocab ? t->vocab + 1 : 0;
    if (!cols)
        return dc_fail(DC_ERR_STATE, "sequences_to_matrix: no vocabulary and no num_words; fit the tokenizer on some "
                                     "texts first, or give num_words");
    if (m == MODE_TFIDF && !t->documents)
        return dc_fail(DC_ERR_STATE, "sequences_to_matrix: tfidf needs the document counts; fit the tokenizer on "
                                     "some texts first");
    if (s->count < 0 || (size_t)s->count > SIZE_MAX / sizeof(float) / (size_t)cols)
        return dc_fail(DC_ERR_ARG, "sequences_to_matrix: %d sequences x %d columns does not fit in memory", s->count,
                       cols);
    dc_tensor *x = dc_tensor_new4(2, s->count, cols, 0, 0);
    long *docs = m == MODE_TFIDF ? docs_by_index(t, cols) : NULL;
    if (!x || (m == MODE_TFIDF && !docs)) {
        dc_tensor_free(x);
        free(docs);
        return DC_ERR_NOMEM;
    }
    for (int i = 0; i < s->count && !st; i++) {
        float *row = x->data + (size_t)i * (size_t)cols;
        size_t len = s->offsets[i + 1] - s->offsets[i];
        for (size_t k = 0; k < len && !st; k++) { /* counts first, in the row itself */
            int j = s->ids[s->offsets[i] + k];
            if (j < 0)
                st = dc_fail(DC_ERR_ARG, "sequences_to_matrix: sequence %d, position %zu: id %d is negative", i, k, j);
            else if (j < cols)
                row[j] += 1.0f;
        }
        for (int j = 0; j < cols && !st; j++) {
            double c = row[j];
            if (c == 0.0)
                continue;
            if (m == MODE_BINARY)
                row[j] = 1.0f;
            else if (m == MODE_FREQ)
                row[j] = (float)(c / (double)len);
            else if (m == MODE_TFIDF) /* weighting scheme 2 of Wikipedia's tf-idf, as Keras */
                row[j] = (float)((1.0 + log(c)) * log(1.0 + t->documents / (1.0 + (double)docs[j])));
        }
    }
    free(docs);
    if (st) {
        dc_tensor_free(x);
        return st;
    }
    *out = x;
    return DC_OK;
}

dc_status dc_tokenizer_texts_to_matrix(const dc_tokenizer *t, const char *const *texts, int n, const char *mode,
                                       dc_tensor **out)
{
    if (out)
        *out = NULL;
    matrix_mode m = MODE_BINARY;
    dc_status st = parse_mode(mode, &m);
    dc_sequences *s = NULL;
    if (st == DC_OK)
        st = dc_tokenizer_texts_to_sequences(t, texts, n, &s);
    if (st == DC_OK)
        st = dc_tokenizer_sequences_to_matrix(t, s, mode, out);
    dc_sequences_free(s);
    return st;
}

/* ------------------------------------------------------ sequences_to_texts */

void dc_texts_free(char **texts, int n)
{
    for (int i = 0; texts && i < n; i++)
        free(texts[i]);
    free(texts);
}

/* The word for id, the oov_token in its place, or NULL to drop it. */
static const char *word_of(const dc_tokenizer *t, int id)
{
    const char *w = dc_tokenizer_index_word(t, id);
    if (w && !(t->num_words && id >= t->num_words))
        return w;
    return t->oov_index ? t->oov : NULL;
}

dc_status dc_tokenizer_sequences_to_texts(const dc_tokenizer *t, const dc_sequences *s, char ***texts)
{
    if (texts)
        *texts = NULL;
    if (!t || !s || !texts || s->count < 0)
        return dc_fail(DC_ERR_ARG, "sequences_to_texts: NULL argument");
    char **out = dc_calloc((size_t)(s->count ? s->count : 1), sizeof *out);
    if (!out)
        return DC_ERR_NOMEM;
    for (int i = 0; i < s->count; i++) {
        size_t bytes = 1;
        for (size_t k = s->offsets[i]; k < s->offsets[i + 1]; k++) {
            const char *w = word_of(t, s->ids[k]);
            bytes += w ? strlen(w) + 1 : 0;
        }
        char *p = out[i] = dc_malloc(bytes);
        if (!p) {
            dc_texts_free(out, s->count);
            return DC_ERR_NOMEM;
        }
        for (size_t k = s->offsets[i]; k < s->offsets[i + 1]; k++) {
            const char *w = word_of(t, s->ids[k]);
            if (!w)
                continue;
            if (p != out[i])
                *p++ = ' ';
            size_t len = strlen(w);
            memcpy(p, w, len);
            p += len;
        }
        *p = '\0';
    }
    *texts = out;
    return DC_OK;
}

/* --------------------------------------------------------------- JSON */

/* One of Keras' double-encoded members: an object written by fill(), as a string. */
static void jw_nested(dc_jw *w, const char *key, const dc_tokenizer *t, void (*fill)(dc_jw *, const dc_tokenizer *))
{
    dc_jw inner;
    dc_jw_init(&inner);
    dc_jw_object(&inner, NULL);
    fill(&inner, t);
    dc_jw_end(&inner);
    char *text = dc_jw_take(&inner, NULL);
    if (!text)
        w->failed = 1;
    else
        dc_jw_str(w, key, text);
    free(text);
}

static void fill_word_counts(dc_jw *w, const dc_tokenizer *t)
{
    for (int e = 0; e < t->n_entries; e++)
        dc_jw_int(w, t->entries[e].word, t->entries[e].count);
}

static void fill_word_docs(dc_jw *w, const dc_tokenizer *t)
{
    for (int e = 0; e < t->n_entries; e++)
        dc_jw_int(w, t->entries[e].word, t->entries[e].docs);
}

static void fill_index_docs(dc_jw *w, const dc_tokenizer *t)
{
    char key[24];
    for (int e = 0; e < t->n_entries; e++) {
        snprintf(key, sizeof key, "%d", t->entries[e].index);
        dc_jw_int(w, key, t->entries[e].docs);
    }
}

static void fill_index_word(dc_jw *w, const dc_tokenizer *t)
{
    char key[24];
    for (int i = 1; i <= t->max_index; i++)
        if (t->index_word[i]) {
            snprintf(key, sizeof key, "%d", i);
            dc_jw_str(w, key, t->index_word[i]);
        }
}

static void fill_word_index(dc_jw *w, const dc_tokenizer *t)
{
    for (int i = 1; i <= t->max_index; i++)
        if (t->index_word[i])
            dc_jw_int(w, t->index_word[i], i);
}

dc_status dc_tokenizer_to_json(const dc_tokenizer *t, char **json)
{
    if (json)
        *json = NULL;
    if (!t || !json)
        return dc_fail(DC_ERR_ARG, "tokenizer_to_json: NULL argument");
    dc_jw w;
    dc_jw_init(&w);
    dc_jw_object(&w, NULL);
    dc_jw_str(&w, "class_name", "Tokenizer");
    dc_jw_object(&w, "config");
    if (t->num_words)
        dc_jw_int(&w, "num_words", t->num_words);
    else
        dc_jw_null(&w, "num_words");
    dc_jw_str(&w, "filters", t->filters_text);
    dc_jw_bool(&w, "lower", t->lower);
    dc_jw_str(&w, "split", t->split);
    dc_jw_bool(&w, "char_level", t->char_level);
    if (t->oov)
        dc_jw_str(&w, "oov_token", t->oov);
    else
        dc_jw_null(&w, "oov_token");
    dc_jw_int(&w, "document_count", t->documents);
    jw_nested(&w, "word_counts", t, fill_word_counts);
    jw_nested(&w, "word_docs", t, fill_word_docs);
    jw_nested(&w, "index_docs", t, fill_index_docs);
    if (t->index_word) {
        jw_nested(&w, "index_word", t, fill_index_word);
        jw_nested(&w, "word_index", t, fill_word_index);
    } else { /* never fitted: Keras' empty dicts */
        dc_jw_str(&w, "index_word", "{}");
        dc_jw_str(&w, "word_index", "{}");
    }
    dc_jw_end(&w);
    dc_jw_end(&w);
    *json = dc_jw_take(&w, NULL);
    return *json ? DC_OK : DC_ERR_NOMEM;
}

/* An optional string member; NULL when absent or null. */
static dc_status opt_string(const dc_json *cfg, const char *key, int nullable, const char **out)
{
    const dc_json *v = dc_json_get(cfg, key);
    if (!v || (nullable && v->type == DC_JSON_NULL))
        return DC_OK;
    if (v->type != DC_JSON_STRING)
        return dc_fail(DC_ERR_FORMAT, "key \"%s\" is %s, expected a string%s", key, dc_json_type_name(v->type),
                       nullable ? " or null" : "");
    *out = v->str;
    return DC_OK;
}

/* A required double-encoded member: the string parsed as an object of integers >= lo. */
static dc_status nested_counts(const dc_json *cfg, const char *key, double lo, dc_json **out)
{
    const dc_json *v = dc_json_get(cfg, key);
    *out = NULL;
    dc_status st = dc_cfg_need(cfg, key);
    if (st)
        return st;
    if (v->type != DC_JSON_STRING)
        return dc_fail(DC_ERR_FORMAT, "key \"%s\" is %s, expected a string holding a JSON object", key,
                       dc_json_type_name(v->type));
    if ((st = dc_json_parse(v->str, v->len, key, out)) != DC_OK)
        return st;
    if ((*out)->type != DC_JSON_OBJECT)
        st = dc_fail(DC_ERR_FORMAT, "key \"%s\" holds %s, expected an object", key, dc_json_type_name((*out)->type));
    for (size_t i = 0; !st && i < (*out)->len; i++)
        if (!dc_json_is_int(&(*out)->items[i], lo, 1e15))
            st = dc_fail(DC_ERR_FORMAT, "%s[\"%s\"] must be an integer >= %g", key, (*out)->keys[i], lo);
    if (st) {
        dc_json_free(*out);
        *out = NULL;
    }
    return st;
}

static dc_status read_config(const dc_json *cfg, dc_tokenizer_config *c, int *documents)
{
    *c = dc_tokenizer_defaults();
    *documents = 0;
    const dc_json *nw = dc_json_get(cfg, "num_words"), *dcount = dc_json_get(cfg, "document_count");
    if (nw && nw->type != DC_JSON_NULL) {
        if (!dc_json_is_int(nw, 0, 1 << 30))
            return dc_fail(DC_ERR_FORMAT, "key \"num_words\" must be null or an integer from 0 to 1073741824");
        c->num_words = (int)nw->num;
    }
    if (dcount) {
        if (!dc_json_is_int(dcount, 0, 2147483647.0))
            return dc_fail(DC_ERR_FORMAT, "key \"document_count\" must be an integer >= 0");
        *documents = (int)dcount->num;
    }
    dc_status st = opt_string(cfg, "filters", 0, &c->filters);
    if (!st)
        st = opt_string(cfg, "split", 0, &c->split);
    if (!st)
        st = opt_string(cfg, "oov_token", 1, &c->oov_token);
    if (!st)
        st = dc_cfg_bool(cfg, "lower", &c->lower);
    if (!st)
        st = dc_cfg_bool(cfg, "char_level", &c->char_level);
    return st;
}

/* The vocabulary from word_counts and word_docs, then word_index checked against the rebuilt one. */
static dc_status read_vocabulary(dc_tokenizer *t, const dc_json *cfg)
{
    dc_json *counts = NULL, *docs = NULL, *index = NULL;
    dc_status st = nested_counts(cfg, "word_counts", 1, &counts);
    if (!st)
        st = nested_counts(cfg, "word_docs", 1, &docs);
    if (!st)
        st = nested_counts(cfg, "word_index", 1, &index);
    for (size_t i = 0; !st && i < counts->len; i++) {
        const char *word = counts->keys[i];
        const dc_json *d = dc_json_get(docs, word);
        long count = (long)counts->items[i].num, nd = d ? (long)d->num : 0;
        if (!d || nd > count || nd > t->documents)
            st = dc_fail(DC_ERR_FORMAT, "word_docs[\"%s\"] is %s; expected from 1 to the word's count (%ld) and the "
                                        "document_count (%d)",
                         word, d ? "out of range" : "missing", count, t->documents);
        else if (dc_tok_add(t, word, count, nd) < 0)
            st = DC_ERR_NOMEM;
    }
    if (!st && docs->len != counts->len)
        st = dc_fail(DC_ERR_FORMAT, "word_docs has %zu words and word_counts %zu; they must hold the same words",
                     docs->len, counts->len);
    if (!st)
        st = dc_tok_rebuild_index(t);
    if (!st && index->len != (size_t)t->vocab)
        st = dc_fail(DC_ERR_FORMAT, "word_index has %zu entries; word_counts gives %d", index->len, t->vocab);
    for (size_t i = 0; !st && i < index->len; i++) {
        int want = dc_tokenizer_word_index(t, index->keys[i]);
        if (want != (int)index->items[i].num)
            st = dc_fail(DC_ERR_FORMAT, "word_index[\"%s\"] is %.0f; word_counts gives %d", index->keys[i],
                         index->items[i].num, want);
    }
    dc_json_free(counts);
    dc_json_free(docs);
    dc_json_free(index);
    return st;
}

dc_status dc_tokenizer_from_json(const char *json, size_t len, dc_tokenizer **out)
{
    if (out)
        *out = NULL;
    if (!json || !out)
        return dc_fail(DC_ERR_ARG, "tokenizer_from_json: NULL argument");
    dc_json *root;
    dc_status st = dc_json_parse(json, len, "tokenizer_from_json", &root);
    if (st)
        return st;
    const dc_json *cn = dc_json_get(root, "class_name"), *cfg = dc_json_get(root, "config");
    dc_tokenizer *t = NULL;
    dc_tokenizer_config c;
    int documents = 0;
    if (cn && (cn->type != DC_JSON_STRING || strcmp(cn->str, "Tokenizer") != 0))
        st = dc_fail(DC_ERR_FORMAT, "class_name must be \"Tokenizer\"");
    else if (!cfg || cfg->type != DC_JSON_OBJECT)
        st = dc_fail(DC_ERR_FORMAT, "missing \"config\" object");
    if (!st)
        st = read_config(cfg, &c, &documents);
    if (!st && !(t = dc_tokenizer_new(&c)))
        st = dc_last_status();
    if (!st) {
        t->documents = documents;
        t->fitted = 1;
        st = read_vocabulary(t, cfg);
    }
    dc_json_free(root);
    if (st) {
        dc_err_prefix("tokenizer_from_json");
        dc_tokenizer_free(t);
        return st;
    }
    *out = t;
    return DC_OK;
}

dc_status dc_tokenizer_save(const dc_tokenizer *t, const char *path)
{
    if (!path)
        return dc_fail(DC_ERR_ARG, "tokenizer_save: path is NULL");
    char *json;
    dc_status st = dc_tokenizer_to_json(t, &json);
    if (st)
        return st;
    const void *parts[1] = {json};
    size_t sizes[1] = {strlen(json)};
    st = dc_file_write_atomic(path, parts, sizes, 1);
    free(json);
    return st;
}

dc_status dc_tokenizer_load(const char *path, dc_tokenizer **out)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return dc_fail(DC_ERR_ARG, "tokenizer_load: NULL argument");
    uint8_t *buf;
    size_t len;
    dc_status st = dc_file_read_all(path, MAX_TOKENIZER_BYTES, &buf, &len);
    if (st == DC_OK) {
        st = dc_tokenizer_from_json((const char *)buf, len, out);
        free(buf);
    }
    if (st)
        dc_err_prefix(path);
    return st;
}
