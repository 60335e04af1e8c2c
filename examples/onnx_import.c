/*
 * onnx_import.c - a model trained in PyTorch, brought into deepc through
 * ONNX, evaluated on MNIST's test images and fine-tuned in C.
 *
 *     onnx_import MODEL.onnx [--epochs N] [--batch N] [--threads N] [--min-acc A]
 *
 * MODEL.onnx is tests/fixtures/onnx/mnist_mlp.onnx: Flatten, Linear(784,
 * 64), ReLU, Linear(64, 10), trained one epoch by PyTorch
 * (tests/fixtures/onnx/make_mnist_mlp.py, which printed its test accuracy,
 * 0.9337).  dc_model_load_onnx_ex turns it into a deepc model of Flatten and
 * Dense layers holding PyTorch's weights, compiled as asked (the model
 * outputs logits, so the loss is the fused sparse cross-entropy on logits);
 * evaluate gives PyTorch's accuracy, fit trains it further, and the result
 * saves as any deepc model.  --min-acc fails the run (exit 1) when the
 * fine-tuned accuracy is below A.
 */
#include "example_util.h"

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: %s MODEL.onnx [--epochs N] [--batch N] [--threads N] [--min-acc A]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    double min_acc = 0;
    example_opts o = {.epochs = 1, .batch = 64, .seed = 3};
    for (int i = 2; i + 1 < argc; i++) /* --min-acc is this example's own */
        if (!strcmp(argv[i], "--min-acc")) {
            min_acc = atof(argv[i + 1]);
            for (int k = i; k + 2 < argc; k++)
                argv[k] = argv[k + 2];
            argc -= 2;
            break;
        }
    if (example_parse(argc - 1, argv + 1, &o))
        return 2;

    dc_tensor *x_train, *y_train, *x_test, *y_test;
    int rc = example_load_or_skip(argv[0], &o, 0, &x_train, &y_train, &x_test, &y_test);
    if (rc)
        return rc;

    // PyTorch: torch.onnx.export(model, x, "mnist_mlp.onnx"); here: load it as a compiled deepc model
    dc_compile_config cc = {0};
    cc.optimizer = dc_optimizer_defaults(DC_OPT_ADAM);
    cc.optimizer.learning_rate = 5e-4f;
    cc.loss = DC_LOSS_SPARSE_CE_LOGITS;
    cc.metrics[0] = "accuracy";
    dc_onnx_import_config ic = dc_onnx_import_defaults();
    ic.compile = &cc;
    dc_model *model = NULL;
    if (dc_model_load_onnx_ex(path, &ic, &model) != DC_OK)
        return example_fail(argv[0], "importing the ONNX model");
    dc_model_set_seed(model, o.seed);
    dc_model_set_threads(model, o.threads);
    dc_model_summary(model, stdout);

    double before[2], after[2];
    if (dc_model_evaluate(model, x_test, y_test, 256, 0, before, 2))
        return example_fail(argv[0], "evaluate");
    printf("imported from PyTorch: test loss %.4f, test accuracy %.4f\n", before[0], before[1]);

    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = o.epochs;
    fit.batch_size = o.batch;
    fit.verbose = 2;
    if (dc_model_fit(model, x_train, y_train, &fit, NULL))
        return example_fail(argv[0], "fit");
    if (dc_model_evaluate(model, x_test, y_test, 256, 0, after, 2))
        return example_fail(argv[0], "evaluate");
    printf("fine-tuned in deepc (%d epoch%s): test loss %.4f, test accuracy %.4f\n", o.epochs,
           o.epochs == 1 ? "" : "s", after[0], after[1]);
    if (o.out && dc_model_save(model, o.out, 1) == DC_OK)
        printf("saved as a deepc model: %s\n", o.out);

    dc_model_free(model);
    dc_tensor_free(x_train);
    dc_tensor_free(y_train);
    dc_tensor_free(x_test);
    dc_tensor_free(y_test);
    if (after[1] < min_acc) {
        fprintf(stderr, "%s: accuracy %.4f is below --min-acc %.4f\n", argv[0], after[1], min_acc);
        return 1;
    }
    return 0;
}
