/*
 * mobilenet_mnist.c - a small MobileNet-style network on MNIST: depthwise
 * separable blocks (DepthwiseConv2D -> BatchNormalization -> ReLU, then a
 * 1x1 Conv2D -> BatchNormalization -> ReLU), as Howard et al.'s MobileNet
 * builds them, in Keras:
 *
 *   def dw_block(x, filters, strides=1):
 *       x = DepthwiseConv2D(3, strides=strides, padding="same", use_bias=False)(x)
 *       x = ReLU()(BatchNormalization()(x))
 *       x = Conv2D(filters, 1, use_bias=False)(x)
 *       return ReLU()(BatchNormalization()(x))
 *
 *   model = Sequential([Input((28, 28, 1)),
 *       Conv2D(16, 3, strides=2, padding="same", use_bias=False),   # 14x14x16
 *       BatchNormalization(), ReLU(),
 *       *dw_block(32), *dw_block(64, strides=2),                    # 7x7x64
 *       *dw_block(64),
 *       GlobalAveragePooling2D(), Dense(10, activation="softmax")])
 *   model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
 *   model.fit(x_train, y_train, epochs=..., batch_size=64, validation_split=0.1)
 *
 * (--separable puts SeparableConv2D(filters, 3, ...) -> BN -> ReLU in place
 * of each block's first five layers: the same two convolutions without the
 * BatchNormalization between them.)  After training it saves the model,
 * loads it back and checks the loaded model's predictions.
 *
 * Options beyond the common ones (example_util.h):
 *   --train N / --test N  the first N images of each set (quick runs)
 *   --lr X                Adam's learning rate (default 1e-3)
 *   --bn-momentum M       BatchNormalization's momentum (default 0.99;
 *                         short runs use 0.9: see examples/resnet.c)
 *   --separable           SeparableConv2D blocks (above)
 *   --save PATH           where the model goes (default mobilenet.safetensors)
 *   --min-acc A           exit 1 unless the test accuracy is at least A
 * With DEEPC_OFFLINE set and the data not cached it exits 77 (skipped).
 */
#include "example_util.h"

#include <math.h>

typedef struct mobile_opts {
    int n_train, n_test, separable;
    double lr, momentum, min_acc;
    const char *save;
} mobile_opts;

static int mobile_parse(int *argc, char **argv, mobile_opts *r)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], "--train") && i + 1 < *argc)
            r->n_train = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--test") && i + 1 < *argc)
            r->n_test = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--lr") && i + 1 < *argc)
            r->lr = atof(argv[++i]);
        else if (!strcmp(argv[i], "--bn-momentum") && i + 1 < *argc)
            r->momentum = atof(argv[++i]);
        else if (!strcmp(argv[i], "--separable"))
            r->separable = 1;
        else if (!strcmp(argv[i], "--save") && i + 1 < *argc)
            r->save = argv[++i];
        else if (!strcmp(argv[i], "--min-acc") && i + 1 < *argc)
            r->min_acc = atof(argv[++i]);
        else
            argv[out++] = argv[i];
    }
    *argc = out;
    return r->n_train < 0 || r->n_test < 0 || !(r->lr >= 0) || !(r->momentum >= 0 && r->momentum < 1);
}

/* Rows [0, n) of t (all when n is 0 or too large), as a new tensor. */
static dc_tensor *head_rows(const dc_tensor *t, int n)
{
    if (n <= 0 || n > t->shape[0])
        n = t->shape[0];
    int shape[DC_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape);
    shape[0] = n;
    return dc_tensor_from(t->ndim, shape, t->data);
}

/* BatchNormalization(momentum) then ReLU. */
static void bn_relu(dc_model *m, float momentum)
{
    dc_model_add(m, dc_layer_batch_normalization_ex(momentum, 1e-3f));
    dc_model_add(m, dc_layer_activation("relu"));
}

/* One depthwise separable block (a failed add marks the model; compile reports it). */
static void dw_block(dc_model *m, int filters, int strides, int separable, float momentum)
{
    dc_depthwise_config d = dc_depthwise_defaults(3, 3);
    d.strides[0] = d.strides[1] = strides;
    d.padding = DC_PADDING_SAME;
    d.use_bias = 0;
    if (separable) {
        d.filters = filters;
        dc_model_add(m, dc_layer_separable_conv2d_ex(&d));
        bn_relu(m, momentum);
        return;
    }
    dc_model_add(m, dc_layer_depthwise_conv2d_ex(&d));
    bn_relu(m, momentum);
    dc_conv_config c = dc_conv_defaults(filters, 1, 1);
    c.use_bias = 0;
    dc_model_add(m, dc_layer_conv2d_ex(&c));
    bn_relu(m, momentum);
}

static dc_model *mobilenet(const example_opts *o, const mobile_opts *r)
{
    dc_model *m = dc_sequential_new(3, (int[]){28, 28, 1});
    if (!m)
        return NULL;
    dc_model_set_seed(m, o->seed);
    dc_model_set_threads(m, o->threads);
    float mom = (float)r->momentum;
    dc_conv_config stem = dc_conv_defaults(16, 3, 3);
    stem.strides[0] = stem.strides[1] = 2;
    stem.padding = DC_PADDING_SAME;
    stem.use_bias = 0;
    dc_model_add(m, dc_layer_conv2d_ex(&stem));
    bn_relu(m, mom);
    dw_block(m, 32, 1, r->separable, mom);
    dw_block(m, 64, 2, r->separable, mom);
    dw_block(m, 64, 1, r->separable, mom);
    dc_model_add(m, dc_layer_global_average_pooling2d());
    dc_model_add(m, dc_layer_dense(10, "softmax"));
    return m;
}

/* The model saved, loaded back and predicting x: 0 when the predictions agree within 1e-5. */
static int round_trip(const char *prog, dc_model *m, const char *path, const dc_tensor *x, int threads)
{
    dc_model *back = NULL;
    dc_tensor *p = NULL, *q = NULL;
    int rc = 1;
    if (dc_model_save(m, path, 0) != DC_OK || dc_model_load(path, &back) != DC_OK) {
        example_fail(prog, "saving and loading the model");
    } else {
        dc_model_set_threads(back, threads);
        if (dc_model_predict(m, x, 256, &p) != DC_OK || dc_model_predict(back, x, 256, &q) != DC_OK) {
            example_fail(prog, "predict");
        } else {
            double worst = 0;
            for (size_t i = 0; i < p->size; i++)
                worst = fmax(worst, fabs((double)p->data[i] - q->data[i]));
            printf("saved %s and loaded it: predictions differ by at most %.3g\n", path, worst);
            rc = !(worst <= 1e-5);
        }
    }
    dc_tensor_free(p);
    dc_tensor_free(q);
    dc_model_free(back);
    return rc;
}

int main(int argc, char **argv)
{
    mobile_opts r = {.lr = 1e-3, .momentum = 0.99, .save = "mobilenet.safetensors"};
    example_opts o = {.epochs = 3, .batch = 64, .seed = 42};
    if (mobile_parse(&argc, argv, &r) || example_parse(argc, argv, &o)) {
        fprintf(stderr, "%s: also [--train N] [--test N] [--lr X] [--bn-momentum M] [--separable] [--save PATH] "
                        "[--min-acc A]\n", argv[0]);
        return 2;
    }
    dc_tensor *all[4];
    int loaded = example_load_or_skip(argv[0], &o, 1, &all[0], &all[1], &all[2], &all[3]);
    if (loaded != 0)
        return loaded;
    dc_tensor *data[4];
    for (int i = 0; i < 4; i++) {
        data[i] = head_rows(all[i], i < 2 ? r.n_train : r.n_test);
        dc_tensor_free(all[i]);
    }
    if (!data[0] || !data[1] || !data[2] || !data[3])
        return example_fail(argv[0], "copying the data");

    dc_model *model = mobilenet(&o, &r);
    const char *metrics[] = {"accuracy"};
    if (!model || dc_model_compile(model, "adam", "sparse_categorical_crossentropy", metrics, 1) ||
        dc_model_set_lr(model, (float)r.lr))
        return example_fail(argv[0], "building the model");
    dc_model_summary(model, stdout);

    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = o.epochs;
    fit.batch_size = o.batch;
    fit.verbose = 2;
    fit.validation_split = 0.1f;
    if (dc_model_fit(model, data[0], data[1], &fit, NULL))
        return example_fail(argv[0], "fit");
    double test[2];
    if (dc_model_evaluate(model, data[2], data[3], 256, 0, test, 2))
        return example_fail(argv[0], "evaluate");
    printf("Test accuracy: %.4f\n", test[1]);

    int rc = round_trip(argv[0], model, r.save, data[2], o.threads);
    if (r.min_acc > 0 && !(test[1] >= r.min_acc)) {
        fprintf(stderr, "%s: test accuracy %.4f is below --min-acc %.4f\n", argv[0], test[1], r.min_acc);
        rc = 1;
    }
    dc_model_free(model);
    for (int i = 0; i < 4; i++)
        dc_tensor_free(data[i]);
    return rc;
}
