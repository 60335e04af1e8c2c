/*
 * explain_mnist.c - why seed 003's CNN (examples/cnn.c) reads a digit as it
 * does: vanilla saliency, integrated gradients (50 steps from a black
 * image) and Grad-CAM at the last convolution for a few test digits, in one
 * picture (explain_mnist.png), and with --sanity the model-randomisation
 * check of Adebayo et al. (2018): the top layers' weights re-drawn one
 * layer more at a time, each method's maps compared with the trained
 * model's by Spearman rank correlation (a method whose maps do not change
 * does not explain the model).
 *
 *   model = Sequential([Conv2D(32, 3, relu), MaxPooling2D(2), Conv2D(64, 3, relu),
 *                       MaxPooling2D(2), Flatten(), Dense(128, relu), Dense(10, softmax)])
 *   model.fit(x_train, y_train, epochs=...)
 *   (model(x) below: the logits, the last Dense layer before its softmax)
 *   grads = tape.gradient(model(x)[:, pred], x)                       # saliency
 *   ig = (x - 0) * mean_k grad(model(0 + (k + .5)/50 x)[:, pred])     # integrated gradients
 *   cam = relu(sum_k mean(dA_k) A_k), A = model.get_layer('conv2d_1').output   # Grad-CAM
 *
 * Usage: explain_mnist [--epochs N] [--seed N] [--threads N] [--out PNG] [--model PATH] [--show N] [--sanity N]
 *                      [--steps N]
 *   --model PATH: load the trained model from PATH when it exists, else
 *   train and save it there; --show N digits in the picture (6); --sanity N:
 *   the check on N test digits (0: skipped); --steps N: integrated
 *   gradients' steps (STEPS below).
 */
#include "deepc.h"
#include "deepc_plot.h"
#include "example_util.h"

#include <math.h>
#include <unistd.h>

/* Ranks of v[0..n) (ties: their mean rank) into r. */
static void ranks(const float *v, int n, int *idx, double *r)
{
    for (int i = 0; i < n; i++)
        idx[i] = i;
    for (int i = 1; i < n; i++) { /* insertion sort of the indices: n is a digit's 784 pixels */
        int k = idx[i], j = i - 1;
        while (j >= 0 && v[idx[j]] > v[k]) {
            idx[j + 1] = idx[j];
            j--;
        }
        idx[j + 1] = k;
    }
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && v[idx[j + 1]] == v[idx[i]])
            j++;
        for (int k = i; k <= j; k++)
            r[idx[k]] = 0.5 * (i + j);
        i = j + 1;
    }
}

/* Spearman's rank correlation of a[0..n) and b[0..n). */
static double spearman(const float *a, const float *b, int n)
{
    int *idx = malloc(sizeof(int) * (size_t)n);
    double *ra = malloc(sizeof(double) * (size_t)n), *rb = malloc(sizeof(double) * (size_t)n);
    double out = NAN;
    if (idx && ra && rb) {
        ranks(a, n, idx, ra);
        ranks(b, n, idx, rb);
        double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < n; i++) {
            ma += ra[i] / n;
            mb += rb[i] / n;
        }
        for (int i = 0; i < n; i++) {
            sab += (ra[i] - ma) * (rb[i] - mb);
            saa += (ra[i] - ma) * (ra[i] - ma);
            sbb += (rb[i] - mb) * (rb[i] - mb);
        }
        out = saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0.0;
    }
    free(idx);
    free(ra);
    free(rb);
    return out;
}

/* The mean over samples of the rank correlation of |a| and |b| per sample (as Adebayo et al.). */
static double mean_spearman(const dc_tensor *a, const dc_tensor *b)
{
    int n = a->shape[0], per = (int)(a->size / (size_t)n);
    float *x = malloc(sizeof(float) * (size_t)per), *y = malloc(sizeof(float) * (size_t)per);
    double sum = 0;
    for (int i = 0; x && y && i < n; i++) {
        for (int j = 0; j < per; j++) {
            x[j] = fabsf(a->data[(size_t)i * per + j]);
            y[j] = fabsf(b->data[(size_t)i * per + j]);
        }
        sum += spearman(x, y, per);
    }
    free(x);
    free(y);
    return sum / n;
}

enum { N_METHODS = 4, STEPS = 50 };
static const char *const method_names[N_METHODS] = {"saliency", "grad x input", "integrated gradients", "Grad-CAM"};

static dc_status explain_all(dc_model *m, const dc_tensor *x, const dc_explain_target *t, int steps, dc_tensor **maps)
{
    dc_status st = dc_explain_saliency(m, x, t, &maps[0]);
    if (st == DC_OK)
        st = dc_explain_grad_x_input(m, x, t, &maps[1]);
    if (st == DC_OK)
        st = dc_explain_integrated_gradients(m, x, NULL, steps, t, &maps[2]);
    if (st == DC_OK)
        st = dc_explain_grad_cam(m, x, "conv2d_1", t, &maps[3]);
    return st;
}

/* Re-draws layer li's weights: Glorot uniform for kernels, zeros for biases. */
static dc_status randomise_layer(dc_model *m, int li, dc_rng *rng)
{
    for (int k = 0;; k++) {
        dc_tensor *w = NULL;
        if (dc_model_get_weight(m, li, k, &w) != DC_OK)
            return DC_OK; /* no more weights */
        int fan_in = 1, fan_out = w->shape[w->ndim - 1];
        for (int d = 0; d < w->ndim - 1; d++)
            fan_in *= w->shape[d];
        int rf = w->ndim > 2 ? fan_in / w->shape[w->ndim - 2] : 1;
        double limit = sqrt(6.0 / (fan_in + fan_out * rf));
        for (size_t i = 0; i < w->size; i++)
            w->data[i] = w->ndim == 1 ? 0.0f : (float)(limit * (2.0 * dc_rng_uniform(rng) - 1.0));
        dc_status st = dc_model_set_weight(m, li, k, w->data, w->size);
        dc_tensor_free(w);
        if (st != DC_OK)
            return st;
    }
}

/* Adebayo et al.'s cascading randomisation on the first n test digits. */
static int sanity(const char *prog, dc_model *m, const dc_tensor *x_test, int n, int steps)
{
    dc_tensor *x = dc_tensor_new(4, (int[]){n, 28, 28, 1});
    if (!x)
        return example_fail(prog, "sanity");
    memcpy(x->data, x_test->data, x->size * sizeof(float));
    dc_explain_target t = dc_explain_class(-1);
    t.logits = 1; /* the class score before the softmax, as the papers */
    t.batch_size = 50;
    dc_tensor *trained[N_METHODS] = {0};
    if (explain_all(m, x, &t, steps, trained) != DC_OK)
        return example_fail(prog, "explaining the trained model");
    /* the layers with weights, from the top: dense_1, dense, conv2d_1, conv2d */
    const char *order[] = {"dense_1", "dense", "conv2d_1", "conv2d"};
    dc_rng rng;
    dc_rng_seed(&rng, 2018);
    printf("\nSanity check (Adebayo et al. 2018), %d test digits: mean Spearman rank correlation of |map| with the "
           "trained model's, the layers from the top re-drawn\n", n);
    printf("%-22s", "randomised up to");
    for (int k = 0; k < N_METHODS; k++)
        printf(" %20s", method_names[k]);
    printf("\n");
    for (int l = 0; l < 4; l++) {
        if (randomise_layer(m, dc_model_layer_index(m, order[l]), &rng) != DC_OK)
            return example_fail(prog, "randomising");
        dc_tensor *now[N_METHODS] = {0};
        if (explain_all(m, x, &t, steps, now) != DC_OK)
            return example_fail(prog, "explaining the randomised model");
        printf("%-22s", order[l]);
        for (int k = 0; k < N_METHODS; k++) {
            printf(" %20.3f", mean_spearman(trained[k], now[k]));
            dc_tensor_free(now[k]);
        }
        printf("\n");
    }
    for (int k = 0; k < N_METHODS; k++)
        dc_tensor_free(trained[k]);
    dc_tensor_free(x);
    return 0;
}

/* Takes "--NAME VALUE" out of argv; returns VALUE or NULL. */
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

int main(int argc, char **argv)
{
    const char *model_path = take_opt(&argc, argv, "--model"), *show_s = take_opt(&argc, argv, "--show");
    const char *sanity_s = take_opt(&argc, argv, "--sanity"), *steps_s = take_opt(&argc, argv, "--steps");
    example_opts o = {.epochs = 2, .batch = 32, .seed = 42, .out = "explain_mnist.png"};
    if (example_parse(argc, argv, &o))
        return 2;
    int show = show_s ? atoi(show_s) : 6, n_sanity = sanity_s ? atoi(sanity_s) : 0;
    int steps = steps_s ? atoi(steps_s) : STEPS;
    if (show < 1 || show > 20 || n_sanity < 0 || n_sanity > 10000 || steps < 1 || steps > 10000) {
        fprintf(stderr, "%s: --show takes 1 to 20, --sanity 0 to 10000, --steps 1 to 10000\n", argv[0]);
        return 2;
    }
    dc_tensor *x_train, *y_train, *x_test, *y_test;
    if (example_load_or_skip(argv[0], &o, 1, &x_train, &y_train, &x_test, &y_test))
        return 77;

    dc_model *model = NULL;
    if (model_path && access(model_path, R_OK) == 0) {
        if (dc_model_load(model_path, &model) != DC_OK)
            return example_fail(argv[0], "loading the model");
        printf("Loaded %s\n", model_path);
    } else {
        model = example_cnn003(&o);
        if (!model)
            return example_fail(argv[0], "creating the model");
        dc_fit_config fit = dc_fit_defaults();
        fit.epochs = o.epochs;
        fit.batch_size = o.batch;
        fit.verbose = 2;
        if (dc_model_fit(model, x_train, y_train, &fit, NULL))
            return example_fail(argv[0], "fit");
        if (model_path && dc_model_save(model, model_path, 0) != DC_OK)
            return example_fail(argv[0], "saving the model");
    }
    dc_model_set_threads(model, o.threads);

    /* the first `show` test digits, each explained for the class the model predicts */
    dc_tensor *x = dc_tensor_new(4, (int[]){show, 28, 28, 1}), *p = NULL;
    memcpy(x->data, x_test->data, x->size * sizeof(float));
    if (dc_model_predict(model, x, 32, &p) != DC_OK)
        return example_fail(argv[0], "predict");
    dc_explain_target t = dc_explain_class(-1);
    t.logits = 1; /* the class score before the softmax (Simonyan et al., Selvaraju et al.); a saturated
                   * softmax would leave integrated gradients its whole change in a few steps of the path */
    dc_tensor *maps[N_METHODS] = {0}, *ig_score = NULL, *zero_score = NULL;
    if (explain_all(model, x, &t, steps, maps) != DC_OK)
        return example_fail(argv[0], "explaining");
    /* completeness: integrated gradients sum to f(x) - f(black image), f the
     * logit of the class predicted for x (also at the black image) */
    dc_tensor *black = dc_tensor_new(4, (int[]){1, 28, 28, 1}), *fb = NULL;
    memset(black->data, 0, black->size * sizeof(float));
    dc_explain_score(model, x, &t, &ig_score);
    zero_score = dc_tensor_new(1, (int[]){show});
    char labels[20][64];
    const char *label_ptrs[20];
    for (int i = 0; i < show; i++) {
        const float *pi = p->data + (size_t)i * 10;
        int c = 0;
        for (int k = 1; k < 10; k++)
            c = pi[k] > pi[c] ? k : c;
        dc_explain_target tc = dc_explain_class(c);
        tc.logits = 1;
        if (dc_explain_score(model, black, &tc, &fb) != DC_OK)
            return example_fail(argv[0], "scoring the black image");
        zero_score->data[i] = fb->data[0];
        dc_tensor_free(fb);
        double sum = 0;
        for (int j = 0; j < 784; j++)
            sum += maps[2]->data[(size_t)i * 784 + j];
        snprintf(labels[i], sizeof labels[i], "a %d, read as %d (%.2f)", (int)y_test->data[i], c, pi[c]);
        label_ptrs[i] = labels[i];
        double want = ig_score->data[i] - zero_score->data[i];
        printf("digit %d: label %d, predicted %d (p %.3f); integrated gradients sum %.4f, logit(x) - logit(black) "
               "%.4f (%.2f%%)\n", i, (int)y_test->data[i], c, pi[c], sum, want, 100 * fabs(sum - want) / fabs(want));
    }
    dc_heatmap_set sets[3] = {
        {"saliency", maps[0]->data, 28, 28, 0},
        {"integrated gradients", maps[2]->data, 28, 28, 1},
        {"Grad-CAM", maps[3]->data, maps[3]->shape[1], maps[3]->shape[2], 0},
    };
    if (dc_plot_heatmaps(o.out, x->data, show, 28, 28, sets, 3, label_ptrs,
                         "Why the CNN reads each digit as it does (red: towards the class)") != DC_OK)
        return example_fail(argv[0], "plotting");
    printf("Wrote %s\n", o.out);
    int rc = n_sanity > 0 ? sanity(argv[0], model, x_test, n_sanity, steps) : 0;

    for (int k = 0; k < N_METHODS; k++)
        dc_tensor_free(maps[k]);
    dc_tensor_free(ig_score);
    dc_tensor_free(zero_score);
    dc_tensor_free(black);
    dc_tensor_free(p);
    dc_tensor_free(x);
    dc_model_free(model);
    dc_tensor_free(x_train);
    dc_tensor_free(y_train);
    dc_tensor_free(x_test);
    dc_tensor_free(y_test);
    return rc;
}
