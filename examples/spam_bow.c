/*
 * spam_bow.c - a bag-of-words spam filter, the Keras way, on the
 * SpamAssassin corpus (6,046 e-mails, 31% spam; the same seeded 80/20 split
 * as spam_lstm.c), then saved and used again as a deployed filter would be:
 *
 *   tokenizer = Tokenizer(num_words=10000)
 *   tokenizer.fit_on_texts(train_texts)
 *   x_train = tokenizer.texts_to_matrix(train_texts, mode="tfidf")
 *   weights = {0: total / (2 * ham), 1: total / (2 * spam)}   # balance the classes
 *   model = Sequential([Dense(64, activation="relu"), Dropout(0.5), Dense(1, activation="sigmoid")])
 *   model.compile(optimizer="adam", loss="binary_crossentropy",
 *                 metrics=["accuracy", "precision", "recall"])
 *   model.fit(x_train, y_train, epochs=5, batch_size=32, class_weight=weights)
 *   model.evaluate(x_test, y_test)
 *   open("spam_bow_tokenizer.json", "w").write(tokenizer.to_json())
 *   model.save(...)
 *   # later: tokenizer_from_json(...), load_model(...), predict on new mail
 *
 * The tokenizer file is Keras' to_json text: Python's
 * keras_preprocessing.text.tokenizer_from_json reads it too.
 *
 * Usage: spam_bow [--epochs N] [--batch N] [--seed N] [--threads N] [--out PREFIX]
 */
#include "example_util.h"

enum { NUM_WORDS = 10000 };

/* The tf-idf rows of texts idx[0..n). */
static dc_tensor *to_matrix(const dc_tokenizer *tok, char **texts, const int *idx, int n)
{
    const char **sel = malloc((size_t)n * sizeof *sel);
    dc_tensor *x = NULL;
    for (int i = 0; sel && i < n; i++)
        sel[i] = texts[idx[i]];
    if (sel)
        dc_tokenizer_texts_to_matrix(tok, sel, n, "tfidf", &x);
    free(sel);
    return x;
}

/* Loads the saved tokenizer and model and scores two new e-mails. */
static int use_saved(const char *prog, const char *tok_path, const char *model_path)
{
    static const char *mail[] = {
        "Hi Anna, the meeting moved to Thursday at 10. I attached the minutes from last week; see you there.",
        "CONGRATULATIONS!!! You have been selected to receive a FREE prize. Click here now to claim your cash "
        "reward, limited time offer, act now!",
    };
    dc_tokenizer *tok;
    dc_model *model;
    dc_tensor *x = NULL, *p = NULL;
    if (dc_tokenizer_load(tok_path, &tok) != DC_OK)
        return example_fail(prog, "loading the tokenizer");
    if (dc_model_load(model_path, &model) != DC_OK) {
        dc_tokenizer_free(tok);
        return example_fail(prog, "loading the model");
    }
    int rc = dc_tokenizer_texts_to_matrix(tok, mail, 2, "tfidf", &x) || dc_model_predict(model, x, 32, &p);
    if (rc)
        example_fail(prog, "scoring new mail");
    for (int i = 0; !rc && i < 2; i++)
        printf("P(spam) = %.3f  \"%.60s...\"\n", (double)p->data[i], mail[i]);
    dc_tensor_free(x);
    dc_tensor_free(p);
    dc_model_free(model);
    dc_tokenizer_free(tok);
    return rc;
}

int main(int argc, char **argv)
{
    example_opts o = {.epochs = 5, .batch = 32, .seed = 42, .out = "spam_bow"};
    if (example_parse(argc, argv, &o))
        return 2;
    dc_text_dataset d;
    if (dc_spam_assassin_load(NULL, &d) != DC_OK)
        return example_fail(argv[0], "loading the SpamAssassin corpus");

    /* the same seeded 80/20 split as spam_lstm.c */
    int n = d.count, n_train, *perm = example_split(n, o.seed, &n_train), n_test = n - n_train;
    const char **train_texts = malloc((size_t)n_train * sizeof *train_texts);
    if (!perm || !train_texts)
        return 1;
    for (int i = 0; i < n_train; i++)
        train_texts[i] = d.texts[perm[i]];

    dc_tokenizer_config tc = dc_tokenizer_defaults();
    tc.num_words = NUM_WORDS;
    dc_tokenizer *tok = dc_tokenizer_new(&tc);
    if (!tok || dc_tokenizer_fit_on_texts(tok, train_texts, n_train) != DC_OK)
        return example_fail(argv[0], "fit_on_texts");
    dc_tensor *x_train = to_matrix(tok, d.texts, perm, n_train), *x_test = to_matrix(tok, d.texts, perm + n_train, n_test);
    dc_tensor *y_train = example_labels(d.labels, perm, n_train), *y_test = example_labels(d.labels, perm + n_train, n_test);
    if (!x_train || !x_test || !y_train || !y_test)
        return example_fail(argv[0], "vectorising the texts");

    /* weigh each class by total / (2 * its count), so both weigh the same in the loss */
    int spam = 0;
    for (int i = 0; i < n_train; i++)
        spam += y_train->data[i] == 1.0f;
    float class_weight[2] = {(float)n_train / (2.0f * (float)(n_train - spam)), (float)n_train / (2.0f * (float)spam)};
    printf("%d e-mails: %d for training (%d spam), %d for testing; tf-idf over the %d most frequent words; "
           "class weights ham %.3f, spam %.3f\n",
           n, n_train, spam, n_test, NUM_WORDS - 1, (double)class_weight[0], (double)class_weight[1]);

    dc_model *model = dc_sequential_new(1, (int[]){NUM_WORDS});
    if (!model)
        return example_fail(argv[0], "creating the model");
    dc_model_set_seed(model, o.seed);
    dc_model_set_threads(model, o.threads);
    const char *metrics[] = {"accuracy", "precision", "recall"};
    if (dc_model_add(model, dc_layer_dense(64, "relu")) || dc_model_add(model, dc_layer_dropout(0.5f)) ||
        dc_model_add(model, dc_layer_dense(1, "sigmoid")) ||
        dc_model_compile(model, "adam", "binary_crossentropy", metrics, 3))
        return example_fail(argv[0], "building the model");
    dc_model_summary(model, stdout);
    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = o.epochs;
    fit.batch_size = o.batch;
    fit.class_weight = class_weight;
    fit.n_class_weight = 2;
    double r[4];
    if (dc_model_fit(model, x_train, y_train, &fit, NULL) != DC_OK ||
        dc_model_evaluate(model, x_test, y_test, 32, 1, r, 4) != DC_OK)
        return example_fail(argv[0], "training");
    printf("Test accuracy: %.4f  precision: %.4f  recall: %.4f\n", r[1], r[2], r[3]);

    char tok_path[512], model_path[512];
    snprintf(tok_path, sizeof tok_path, "%s_tokenizer.json", o.out);
    snprintf(model_path, sizeof model_path, "%s.safetensors", o.out);
    int rc = 0;
    if (dc_tokenizer_save(tok, tok_path) != DC_OK || dc_model_save(model, model_path, 0) != DC_OK)
        rc = example_fail(argv[0], "saving");
    else
        printf("saved %s and %s; loading them again to score new mail:\n", tok_path, model_path);
    if (!rc)
        rc = use_saved(argv[0], tok_path, model_path);

    dc_model_free(model);
    dc_tokenizer_free(tok);
    free(train_texts);
    free(perm);
    dc_tensor_free(x_train);
    dc_tensor_free(x_test);
    dc_tensor_free(y_train);
    dc_tensor_free(y_test);
    dc_text_dataset_free(&d);
    return rc;
}
