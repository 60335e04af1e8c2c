/*
 * make_corpus.c - writes the deepc-made seeds of the fuzz corpora: one small
 * model of every layer kind and every optimiser, saved as a whole model
 * (fuzz_model, fuzz_safetensors) and as JSON (fuzz_json).  Run from the
 * repository root: build/make_fuzz_corpus fuzz/corpus
 */
#include "deepc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Saves the compiled m three ways and frees it. */
static int save_compiled(dc_model *m, const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/fuzz_model/%s.safetensors", dir, name);
    if (dc_model_save(m, path, 1) != DC_OK)
        return fprintf(stderr, "%s\n", dc_errmsg()), 1;
    snprintf(path, sizeof path, "%s/fuzz_safetensors/%s.safetensors", dir, name);
    if (dc_model_save_weights(m, path) != DC_OK)
        return fprintf(stderr, "%s\n", dc_errmsg()), 1;
    char *json;
    if (dc_model_to_json(m, &json) != DC_OK)
        return 1;
    snprintf(path, sizeof path, "%s/fuzz_json/%s.json", dir, name);
    FILE *fp = fopen(path, "w");
    if (!fp)
        return 1;
    fputs(json, fp);
    fclose(fp);
    free(json);
    dc_model_free(m);
    return 0;
}

/* Compiles m with the metrics (NULL: "accuracy", or none for mse) and
 * saves it three ways. */
static int save_with(dc_model *m, const char *dir, const char *name, const char *optimizer, const char *loss,
                     const char *const *metrics, int n_metrics)
{
    const char *accuracy[] = {"accuracy"};
    if (!metrics) {
        metrics = accuracy;
        n_metrics = strcmp(loss, "mse") ? 1 : 0;
    }
    if (dc_model_compile(m, optimizer, loss, metrics, n_metrics) != DC_OK)
        return fprintf(stderr, "%s: %s\n", name, dc_errmsg()), 1;
    return save_compiled(m, dir, name);
}

static int save(dc_model *m, const char *dir, const char *name, const char *optimizer, const char *loss)
{
    return save_with(m, dir, name, optimizer, loss, NULL, 0);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "fuzz/corpus";
    int bad = 0;
    dc_model *m = dc_sequential_new(1, (int[]){3});
    dc_model_add(m, dc_layer_dense(4, "relu"));
    dc_model_add(m, dc_layer_dropout(0.25f));
    dc_model_add(m, dc_layer_dense(2, "softmax"));
    bad |= save(m, dir, "mlp_adam", "adam", "sparse_categorical_crossentropy");

    m = dc_sequential_new(1, (int[]){2});
    dc_dense_config dc = dc_dense_defaults(2);
    dc.kernel_l2 = 0.01f;
    dc.kernel_initializer = dc_init_make(DC_INIT_RANDOM_NORMAL);
    dc_model_add(m, dc_layer_dense_ex(&dc));
    dc_model_add(m, dc_layer_batch_normalization());
    dc_model_add(m, dc_layer_activation("tanh"));
    dc_model_add(m, dc_layer_dense(1, NULL));
    bad |= save(m, dir, "mlp_rmsprop_bn", "rmsprop", "mse");

    m = dc_sequential_new(3, (int[]){5, 5, 1});
    dc_model_add(m, dc_layer_conv2d(2, 3, 3, "relu"));
    dc_model_add(m, dc_layer_max_pooling2d(2, 2));
    dc_model_add(m, dc_layer_flatten());
    dc_model_add(m, dc_layer_dense(2, "softmax"));
    bad |= save(m, dir, "cnn_sgd", "sgd", "sparse_categorical_crossentropy");

    m = dc_sequential_new(2, (int[]){6, 2});
    dc_model_add(m, dc_layer_conv1d(2, 2, "relu"));
    dc_model_add(m, dc_layer_average_pooling1d(2));
    dc_model_add(m, dc_layer_global_max_pooling1d());
    dc_model_add(m, dc_layer_dense(1, "sigmoid"));
    bad |= save(m, dir, "conv1d_adagrad", "adagrad", "binary_crossentropy");

    m = dc_sequential_new(1, (int[]){8});
    dc_model_add(m, dc_layer_reshape(3, (int[]){2, 2, 2}));
    dc_model_add(m, dc_layer_average_pooling2d(1, 1));
    dc_model_add(m, dc_layer_global_average_pooling2d());
    dc_model_add(m, dc_layer_dense(2, "softmax"));
    bad |= save(m, dir, "reshape_adamw", "adamw", "categorical_crossentropy");

    m = dc_sequential_new(1, (int[]){5});
    dc_rnn_config lstm = dc_rnn_defaults(DC_RNN_LSTM, 3);
    lstm.return_sequences = 1;
    dc_model_add(m, dc_layer_embedding(8, 3, 1));
    dc_model_add(m, dc_layer_rnn_ex(&lstm));
    dc_model_add(m, dc_layer_bidirectional(dc_layer_gru(2), "concat"));
    dc_model_add(m, dc_layer_dense(2, "softmax"));
    bad |= save(m, dir, "embedding_lstm_bigru", "adam", "sparse_categorical_crossentropy");

    /* Sequence to sequence: Masking, TimeDistributed over frames, RepeatVector, Permute. */
    m = dc_sequential_new(4, (int[]){3, 4, 4, 1});
    dc_model_add(m, dc_layer_time_distributed(dc_layer_conv2d(2, 3, 3, "relu")));
    dc_model_add(m, dc_layer_time_distributed(dc_layer_flatten()));
    dc_model_add(m, dc_layer_masking(0.0f));
    dc_model_add(m, dc_layer_lstm(3));
    dc_model_add(m, dc_layer_repeat_vector(2));
    dc_model_add(m, dc_layer_permute(2, (int[]){2, 1}));
    dc_model_add(m, dc_layer_time_distributed(dc_layer_dense(2, "softmax")));
    bad |= save(m, dir, "seq2seq_masking_timedistributed", "adam", "categorical_crossentropy");

    /* Normalisation, activation and noise layers (an adapted Normalization holds weights). */
    m = dc_sequential_new(1, (int[]){3});
    dc_layer *norm = dc_layer_normalization();
    dc_tensor *sample = dc_tensor_new4(2, 4, 3, 0, 0);
    for (size_t i = 0; sample && i < sample->size; i++)
        sample->data[i] = (float)(i % 5) - 1.5f;
    if (!sample || dc_layer_normalization_adapt(norm, sample) != DC_OK)
        bad = 1;
    dc_tensor_free(sample);
    dc_model_add(m, dc_layer_rescaling(0.5f, 0.1f));
    dc_model_add(m, norm);
    dc_model_add(m, dc_layer_dense(4, NULL));
    dc_model_add(m, dc_layer_layer_normalization());
    dc_model_add(m, dc_layer_prelu());
    dc_model_add(m, dc_layer_relu_ex(2.0f, 0.1f, 0.5f));
    dc_model_add(m, dc_layer_leaky_relu(0.3f));
    dc_model_add(m, dc_layer_elu(1.0f));
    dc_model_add(m, dc_layer_gaussian_noise(0.1f));
    dc_model_add(m, dc_layer_gaussian_dropout(0.2f));
    dc_model_add(m, dc_layer_dense(2, NULL));
    dc_model_add(m, dc_layer_softmax(-1));
    bad |= save(m, dir, "norm_act_noise", "adam", "sparse_categorical_crossentropy");

    /* Image to image: padding, cropping, upsampling, transposed convolutions. */
    m = dc_sequential_new(3, (int[]){4, 4, 1});
    dc_model_add(m, dc_layer_zero_padding2d(1, 1, 0, 1));
    dc_model_add(m, dc_layer_conv2d_transpose(2, 3, 3, 2, DC_PADDING_SAME, "relu"));
    dc_model_add(m, dc_layer_cropping2d(1, 0, 1, 1));
    dc_model_add(m, dc_layer_upsampling2d(2, 1, "bilinear"));
    dc_model_add(m, dc_layer_spatial_dropout2d(0.25f));
    dc_model_add(m, dc_layer_reshape(2, (int[]){22 * 8, 2}));
    dc_model_add(m, dc_layer_upsampling1d(2));
    dc_model_add(m, dc_layer_conv1d_transpose(1, 2, 1, DC_PADDING_VALID, "sigmoid"));
    dc_model_add(m, dc_layer_flatten());
    bad |= save(m, dir, "image_to_image", "rmsprop", "mse");

    /* Image augmentation in front of a small CNN. */
    m = dc_sequential_new(3, (int[]){6, 6, 1});
    dc_model_add(m, dc_layer_random_flip("horizontal"));
    dc_model_add(m, dc_layer_random_translation((const float[]){-0.1f, 0.1f}, (const float[]){-0.2f, 0.1f}, "constant",
                                                "nearest", 0.5f));
    dc_model_add(m, dc_layer_random_rotation((const float[]){-0.05f, 0.05f}, NULL, NULL, 0.0f));
    dc_model_add(m, dc_layer_random_zoom((const float[]){-0.1f, 0.2f}, NULL, "wrap", NULL, 0.0f));
    dc_model_add(m, dc_layer_random_brightness((const float[]){-0.2f, 0.2f}, (const float[]){0.0f, 1.0f}));
    dc_model_add(m, dc_layer_random_contrast((const float[]){0.3f, 0.3f}, (const float[]){0.0f, 1.0f}));
    dc_model_add(m, dc_layer_conv2d(2, 3, 3, "relu"));
    dc_model_add(m, dc_layer_flatten());
    dc_model_add(m, dc_layer_dense(2, "softmax"));
    bad |= save(m, dir, "augment_cnn", "adam", "sparse_categorical_crossentropy");

    /* A functional model: a residual branch and every merge layer. */
    m = dc_functional_new(3, (int[]){4, 4, 2});
    dc_conv_config same = dc_conv_defaults(2, 3, 3);
    same.padding = DC_PADDING_SAME;
    int a = dc_model_apply(m, dc_layer_conv2d_ex(&same), DC_MODEL_INPUT);
    int b = dc_model_apply(m, dc_layer_batch_normalization(), a);
    int c = dc_model_merge(m, dc_layer_add(), 3, (int[]){DC_MODEL_INPUT, a, b});
    int d = dc_model_merge(m, dc_layer_subtract(), 2, (int[]){c, a});
    int e = dc_model_merge(m, dc_layer_multiply(), 2, (int[]){d, b});
    int f = dc_model_merge(m, dc_layer_maximum(), 2, (int[]){e, c});
    int g = dc_model_merge(m, dc_layer_minimum(), 2, (int[]){f, d});
    int h = dc_model_merge(m, dc_layer_average(), 2, (int[]){g, e});
    int i = dc_model_merge(m, dc_layer_concatenate(-2), 2, (int[]){h, f});
    int j = dc_model_apply(m, dc_layer_flatten(), i);
    dc_model_apply(m, dc_layer_dense(2, "softmax"), j);
    bad |= save(m, dir, "functional_merge", "adam", "sparse_categorical_crossentropy");

    /* A functional model with two inputs. */
    m = dc_functional_new(1, (int[]){3});
    int in2 = dc_model_input(m, 2, (int[]){2, 2});
    int da = dc_model_apply(m, dc_layer_dense(4, "relu"), DC_MODEL_INPUT);
    int fb = dc_model_apply(m, dc_layer_flatten(), in2);
    int cat = dc_model_merge(m, dc_layer_concatenate(-1), 2, (int[]){da, fb});
    dc_model_apply(m, dc_layer_dense(2, "softmax"), cat);
    bad |= save(m, dir, "functional_two_inputs", "adam", "sparse_categorical_crossentropy");

    /* A Siamese pair: one layer called on two inputs. */
    m = dc_functional_new(1, (int[]){4});
    int sb = dc_model_input(m, 1, (int[]){4});
    dc_layer *twin = dc_layer_dense(3, "tanh");
    int ta = dc_model_apply(m, twin, DC_MODEL_INPUT), tb = dc_model_apply(m, twin, sb);
    int diff = dc_model_merge(m, dc_layer_subtract(), 2, (int[]){ta, tb});
    dc_model_apply(m, dc_layer_dense(1, "sigmoid"), diff);
    bad |= save(m, dir, "functional_shared_layer", "sgd", "binary_crossentropy");

    /* The optimisers, losses and metrics with more state or names. */
    m = dc_sequential_new(1, (int[]){3});
    dc_model_add(m, dc_layer_dense(4, "relu"));
    dc_model_add(m, dc_layer_dense(1, "sigmoid"));
    bad |= save_with(m, dir, "binary_nadam_auc", "nadam", "binary_crossentropy",
                     (const char *const[]){"accuracy", "auc", "precision", "recall"}, 4);
    m = dc_sequential_new(1, (int[]){3});
    dc_model_add(m, dc_layer_dense(2, "linear"));
    bad |= save_with(m, dir, "regress_lion_huber", "lion", "huber",
                     (const char *const[]){"root_mean_squared_error", "log_cosh_error"}, 2);
    m = dc_sequential_new(1, (int[]){3});
    dc_model_add(m, dc_layer_dense(8, "softmax"));
    bad |= save_with(m, dir, "softmax_adadelta_topk", "adadelta", "categorical_crossentropy",
                     (const char *const[]){"top_k_categorical_accuracy", "kl_divergence"}, 2);

    /* Loss and metric arguments: Keras' {class_name, config} objects. */
    dc_compile_config cfg = {.loss = DC_LOSS_CATEGORICAL_CE, .label_smoothing = 0.1f,
                             .metrics = {"accuracy", "top_k_categorical_accuracy"}, .metric_args = {{0}, {2, 0}}};
    dc_optimizer_parse("adam", &cfg.optimizer);
    m = dc_sequential_new(1, (int[]){3});
    dc_model_add(m, dc_layer_dense(4, "softmax"));
    bad |= dc_model_compile_ex(m, &cfg) != DC_OK || save_compiled(m, dir, "softmax_adam_smoothing_topk");
    cfg = (dc_compile_config){.loss = DC_LOSS_BINARY_CE, .label_smoothing = 0.2f,
                              .metrics = {"accuracy", "precision", "recall"},
                              .metric_args = {{0, 0.6f}, {0, 0.7f}, {0, 0.3f}}};
    dc_optimizer_parse("sgd", &cfg.optimizer);
    m = dc_sequential_new(1, (int[]){3});
    dc_model_add(m, dc_layer_dense(1, "sigmoid"));
    bad |= dc_model_compile_ex(m, &cfg) != DC_OK || save_compiled(m, dir, "binary_sgd_smoothing_thresholds");
    cfg = (dc_compile_config){.loss = DC_LOSS_HUBER, .huber_delta = 0.5f, .metrics = {"mae"}};
    dc_optimizer_parse("rmsprop", &cfg.optimizer);
    m = dc_sequential_new(1, (int[]){3});
    dc_model_add(m, dc_layer_dense(2, "linear"));
    bad |= dc_model_compile_ex(m, &cfg) != DC_OK || save_compiled(m, dir, "regress_rmsprop_huber_delta");

    /* Gradient clipping in the optimiser's config, and frozen layers ("trainable": false). */
    cfg = (dc_compile_config){.loss = DC_LOSS_SPARSE_CE, .metrics = {"accuracy"}};
    dc_optimizer_parse("adam", &cfg.optimizer);
    cfg.optimizer.global_clipnorm = 1.5f;
    m = dc_sequential_new(1, (int[]){3});
    dc_model_add(m, dc_layer_dense(4, "relu"));
    dc_model_add(m, dc_layer_batch_normalization());
    dc_model_add(m, dc_layer_dense(3, "softmax"));
    bad |= dc_model_set_trainable(m, 0, 0) != DC_OK || dc_model_set_trainable(m, 1, 0) != DC_OK;
    bad |= dc_model_compile_ex(m, &cfg) != DC_OK || save_compiled(m, dir, "frozen_adam_global_clipnorm");
    cfg = (dc_compile_config){.loss = DC_LOSS_MSE};
    dc_optimizer_parse("sgd", &cfg.optimizer);
    cfg.optimizer.clipvalue = 0.25f;
    m = dc_sequential_new(1, (int[]){3});
    dc_model_add(m, dc_layer_dense(2, "linear"));
    bad |= dc_model_compile_ex(m, &cfg) != DC_OK || save_compiled(m, dir, "regress_sgd_clipvalue");

    /* weighted_metrics, one of them a repeat that Keras renames weighted_<name> */
    cfg = (dc_compile_config){.loss = DC_LOSS_BINARY_CE, .metrics = {"accuracy", "auc"},
                              .weighted_metrics = {"accuracy", "precision"},
                              .weighted_metric_args = {{0}, {0, 0.7f}}};
    dc_optimizer_parse("adam", &cfg.optimizer);
    m = dc_sequential_new(1, (int[]){3});
    dc_model_add(m, dc_layer_dense(1, "sigmoid"));
    bad |= dc_model_compile_ex(m, &cfg) != DC_OK || save_compiled(m, dir, "binary_weighted_metrics");
    return bad;
}
