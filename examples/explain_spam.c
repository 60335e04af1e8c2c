/*
 * explain_spam.c - which words pushed a few test mails towards spam or ham:
 * seed 002's LSTM spam classifier (examples/spam_lstm.c), explained by
 * integrated gradients over the embedded vectors (token ids have no
 * gradient; their embeddings do):
 *
 *   model = Sequential([Embedding(10000, 64), LSTM(64), Dense(1, activation='sigmoid')])
 *   model.fit(x_train, y_train, epochs=...)
 *   e = model.get_layer('embedding')(x)                     # (N, 200, 64)
 *   ig = (e - 0) * mean_k grad(logit(0 + (k + .5)/50 e))    # 50 steps from zero vectors
 *   word_attribution = ig.sum(-1)                           # > 0: towards spam
 *
 * The explained scalar is the spam logit (the sigmoid's input), so the
 * attributions of a mail sum to logit(mail) - logit(zero vectors).  Prints
 * each mail's strongest words both ways and writes explain_spam.html, every
 * token shaded (red towards spam, blue towards ham).
 *
 * Usage: explain_spam [--epochs N] [--seed N] [--threads N] [--out HTML] [--model PATH] [--show N]
 *   --model PATH: load the trained model from PATH when it exists, else
 *   train and save it there (the tokenizer is refitted: the split is fixed).
 */
#include "deepc.h"
#include "deepc_plot.h"
#include "example_util.h"

#include <unistd.h>

enum { NUM_WORDS = 10000, MAXLEN = 200, STEPS = 50, TOP = 8 };

static const char *take_opt(int *argc, char **argv, const char *name)
{
    const char *v = NULL;
    int n = 1;
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], name) && i + 1 < *argc)
            v = argv[++i];
        else
            argv[n++] = argv[i];
    }
    *argc = n;
    return v;
}

/* Prints the `TOP` tokens of one mail with the largest attributions of sign `sign`. */
static void print_top(const char *const *words, const float *a, int n, int sign)
{
    int used[MAXLEN] = {0};
    for (int k = 0; k < TOP; k++) {
        int best = -1;
        for (int j = 0; j < n; j++)
            if (!used[j] && sign * a[j] > 0 && (best < 0 || sign * a[j] > sign * a[best]))
                best = j;
        if (best < 0)
            break;
        used[best] = 1;
        printf(" %s (%+.2f)", words[best], a[best]);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    const char *model_path = take_opt(&argc, argv, "--model"), *show_s = take_opt(&argc, argv, "--show");
    example_opts o = {.epochs = 2, .batch = 32, .seed = 42, .out = "explain_spam.html"};
    if (example_parse(argc, argv, &o))
        return 2;
    int show = show_s ? atoi(show_s) : 6;
    if (show < 1 || show > 50) {
        fprintf(stderr, "%s: --show takes 1 to 50\n", argv[0]);
        return 2;
    }
    dc_text_dataset d;
    if (dc_spam_assassin_load(NULL, &d) != DC_OK)
        return example_fail(argv[0], "loading the SpamAssassin corpus");
    int n = d.count, n_train, *perm = example_split(n, o.seed, &n_train), n_test = n - n_train;
    dc_tokenizer_config tc = dc_tokenizer_defaults();
    tc.num_words = NUM_WORDS;
    dc_tokenizer *tok = dc_tokenizer_new(&tc);
    const char **train_texts = malloc((size_t)n_train * sizeof *train_texts);
    if (!perm || !tok || !train_texts)
        return example_fail(argv[0], "creating the tokenizer");
    for (int i = 0; i < n_train; i++)
        train_texts[i] = d.texts[perm[i]];
    if (dc_tokenizer_fit_on_texts(tok, train_texts, n_train) != DC_OK)
        return example_fail(argv[0], "fit_on_texts");
    dc_tensor *x_test = example_pad_texts(tok, d.texts, perm + n_train, n_test, MAXLEN);
    dc_tensor *y_test = example_labels(d.labels, perm + n_train, n_test);
    if (!x_test || !y_test)
        return example_fail(argv[0], "preparing the sequences");

    dc_model *model = NULL;
    if (model_path && access(model_path, R_OK) == 0) {
        if (dc_model_load(model_path, &model) != DC_OK)
            return example_fail(argv[0], "loading the model");
        printf("Loaded %s\n", model_path);
    } else {
        dc_tensor *x_train = example_pad_texts(tok, d.texts, perm, n_train, MAXLEN), *y_train = example_labels(d.labels, perm, n_train);
        model = dc_sequential_new(1, (int[]){MAXLEN});
        dc_model_add(model, dc_layer_embedding(NUM_WORDS, 64, 0));
        dc_model_add(model, dc_layer_lstm(64));
        dc_model_add(model, dc_layer_dense(1, "sigmoid"));
        dc_model_set_seed(model, o.seed);
        dc_model_set_threads(model, o.threads);
        if (!x_train || !y_train ||
            dc_model_compile(model, "adam", "binary_crossentropy", (const char *[]){"accuracy"}, 1) != DC_OK)
            return example_fail(argv[0], "compile");
        dc_fit_config fit = dc_fit_defaults();
        fit.epochs = o.epochs;
        fit.batch_size = o.batch;
        fit.verbose = 2;
        if (dc_model_fit(model, x_train, y_train, &fit, NULL) != DC_OK)
            return example_fail(argv[0], "fit");
        dc_tensor_free(x_train);
        dc_tensor_free(y_train);
        if (model_path && dc_model_save(model, model_path, 0) != DC_OK)
            return example_fail(argv[0], "saving the model");
    }
    dc_model_set_threads(model, o.threads);

    /* the first `show` test mails with at least 20 words */
    dc_tensor *x = dc_tensor_new(2, (int[]){show, MAXLEN});
    int picked[50], np = 0;
    for (int i = 0; i < n_test && np < show; i++) {
        int words = 0;
        for (int j = 0; j < MAXLEN; j++)
            words += x_test->data[(size_t)i * MAXLEN + j] != 0.0f;
        if (words >= 20) {
            memcpy(x->data + (size_t)np * MAXLEN, x_test->data + (size_t)i * MAXLEN, MAXLEN * sizeof(float));
            picked[np++] = i;
        }
    }
    if (np < show)
        return example_fail(argv[0], "too few test mails with 20 words");
    dc_explain_target t = dc_explain_class(0); /* the spam unit */
    t.logits = 1;
    dc_tensor *ig = NULL, *p = NULL, *logit = NULL;
    if (dc_explain_integrated_gradients_layer(model, x, "embedding", NULL, STEPS, &t, &ig) != DC_OK ||
        dc_model_predict(model, x, 32, &p) != DC_OK || dc_explain_score(model, x, &t, &logit) != DC_OK)
        return example_fail(argv[0], "explaining");

    const char *words[50][MAXLEN];
    float attr[50][MAXLEN];
    int n_words[50];
    char labels[50][96];
    const char *label_ptrs[50], *const *word_ptrs[50];
    const float *attr_ptrs[50];
    for (int i = 0; i < show; i++) {
        double total = 0;
        n_words[i] = 0;
        for (int j = 0; j < MAXLEN; j++) {
            float a = 0;
            for (int e = 0; e < 64; e++)
                a += ig->data[((size_t)i * MAXLEN + (size_t)j) * 64 + (size_t)e];
            total += a;
            int id = (int)x->data[(size_t)i * MAXLEN + (size_t)j];
            if (id == 0) /* padding: its (zero-id) vector's share is in the total, not shown */
                continue;
            const char *w = dc_tokenizer_index_word(tok, id);
            words[i][n_words[i]] = w ? w : "?";
            attr[i][n_words[i]++] = a;
        }
        int is_spam = d.labels[perm[n_train + picked[i]]] == 1;
        snprintf(labels[i], sizeof labels[i], "test mail %d: %s, p(spam) %.3f; attributions sum %.3f, logit %.3f",
                 picked[i], is_spam ? "spam" : "ham", p->data[i], total, logit->data[i]);
        label_ptrs[i] = labels[i];
        word_ptrs[i] = words[i];
        attr_ptrs[i] = attr[i];
        printf("%s\n  towards spam:", labels[i]);
        print_top(words[i], attr[i], n_words[i], 1);
        printf("  towards ham: ");
        print_top(words[i], attr[i], n_words[i], -1);
    }
    if (dc_plot_text_attributions(o.out, show, word_ptrs, n_words, attr_ptrs, label_ptrs,
                                  "Integrated gradients over the embeddings: red towards spam, blue towards ham") !=
        DC_OK)
        return example_fail(argv[0], "writing the page");
    printf("Wrote %s\n", o.out);

    dc_tensor_free(ig);
    dc_tensor_free(p);
    dc_tensor_free(logit);
    dc_tensor_free(x);
    dc_model_free(model);
    dc_tokenizer_free(tok);
    free(train_texts);
    free(perm);
    dc_tensor_free(x_test);
    dc_tensor_free(y_test);
    dc_text_dataset_free(&d);
    return 0;
}
