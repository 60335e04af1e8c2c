#!/usr/bin/env python3
"""gen_null_test.py - writes the test of deepc's NULL policy from the public headers.

    python3 tests/gen_null_test.py -o test_null_args.c include/deepc.h [include/deepc_plot.h ...]

For every function declared in the headers and every pointer parameter it
takes, the generated program (a cmocka test) calls the function with that
parameter NULL and every other argument valid, and checks the answer the
policy at the top of include/deepc.h promises:

  returns dc_status       not DC_OK, and dc_errmsg() says "<parameter> is NULL"
  returns a pointer       NULL, with the same message
  returns a number        the neutral value in NEUTRAL below, with the message
  returns void            nothing to check but the message
  a _free function        nothing at all: free(NULL) does nothing
  an allowed NULL         (ALLOWED below: documented "may be NULL") only that
                          it does not crash or leak

It runs in-process; under ASan + UBSan (DEEPC_SANITIZE) a crash, a bad read
or a leak fails it.  CMake runs this script at build time, so a function
added to a header is in the test without anyone listing it.  The valid
arguments come from tables keyed by the parameter's type (and, where one
type needs different values, by function or parameter name); a type that
no table knows stops the generator with an error naming it, so no new type
is skipped silently.
"""
import argparse
import re
import sys

# ------------------------------------------------------------ the tables

# Parameters documented as accepting NULL (function, parameter): reason.
# The generated call passes NULL there and only checks that nothing crashes
# or leaks; what it returns is the function's documented behaviour.
ALLOWED = {
    ("dc_act_parse", "name"): "NULL is the linear activation",
    ("dc_mnist_load", "cache_dir"): "NULL: $DEEPC_CACHE, else ~/.cache/deepc",
    ("dc_fashion_mnist_load", "cache_dir"): "NULL: $DEEPC_CACHE, else ~/.cache/deepc",
    ("dc_sklearn_load", "cache_dir"): "NULL: $DEEPC_CACHE, else ~/.cache/deepc",
    ("dc_spam_assassin_load", "cache_dir"): "NULL: $DEEPC_CACHE, else ~/.cache/deepc",
    ("dc_csv_load", "cfg"): "NULL: dc_csv_defaults()",
    ("dc_csv_parse", "cfg"): "NULL: dc_csv_defaults()",
    ("dc_csv_load_ex", "cfg"): "NULL: dc_csv_defaults()",
    ("dc_csv_parse_ex", "cfg"): "NULL: dc_csv_defaults()",
    ("dc_csv_load_ex", "info"): "info is optional",
    ("dc_csv_parse_ex", "info"): "info is optional",
    ("dc_train_test_split", "y"): "y may be NULL (no targets)",
    ("dc_dense", "bias"): "no bias",
    ("dc_conv2d", "bias"): "no bias",
    ("dc_conv2d_relu", "bias"): "no bias",
    ("dc_conv2d_transpose", "bias"): "no bias",
    ("dc_depthwise_conv2d", "bias"): "no bias",
    ("dc_conv2d_grouped", "bias"): "no bias",
    ("dc_layer_depthwise_conv2d", "activation"): "linear",
    ("dc_layer_separable_conv2d", "activation"): "linear",
    ("dc_conv2d_transpose", "output_padding"): "Keras' output_padding=None",
    ("dc_graph_compile", "rng"): "parameters stay zero",
    ("dc_graph_params", "count"): "the count is optional",
    ("dc_graph_grads", "count"): "the count is optional",
    ("dc_input", "name"): "nodes may be unnamed",
    ("dc_param", "name"): "nodes may be unnamed",
    ("dc_param_ex", "name"): "nodes may be unnamed",
    ("dc_npy_parse", "name"): "messages say \"npy\"",
    ("dc_model_load_onnx_ex", "cfg"): "NULL: dc_onnx_import_defaults()",
    ("dc_pad_sequences", "cfg"): "dc_pad_defaults()",
    ("dc_model_fit", "cfg"): "dc_fit_defaults()",
    ("dc_model_add", "layer"): "a failed constructor: add returns its status and message",
    ("dc_model_apply", "layer"): "a failed constructor: apply returns -1 with its message",
    ("dc_model_merge", "layer"): "a failed constructor: merge returns -1 with its message",
    ("dc_layer_dense", "activation"): "linear",
    ("dc_layer_activation", "activation"): "linear",
    ("dc_layer_conv2d", "activation"): "linear",
    ("dc_layer_conv1d", "activation"): "linear",
    ("dc_layer_conv2d_transpose", "activation"): "linear",
    ("dc_layer_conv1d_transpose", "activation"): "linear",
    ("dc_layer_conv2d_transpose_ex", "output_padding"): "Keras' output_padding=None",
    ("dc_layer_conv1d_transpose_ex", "output_padding"): "Keras' output_padding=None",
    ("dc_layer_normalization_ex", "mean"): "mean and variance NULL: the adapt form",
    ("dc_layer_normalization_ex", "variance"): "mean and variance NULL: the adapt form",
    ("dc_layer_upsampling2d", "interpolation"): "nearest",
    ("dc_random_affine", "width"): "rotation: unused; zoom: the rows' zoom",
    ("dc_layer_random_flip", "mode"): "horizontal_and_vertical",
    ("dc_layer_random_translation", "fill_mode"): "reflect",
    ("dc_layer_random_translation", "interpolation"): "bilinear",
    ("dc_layer_random_rotation", "fill_mode"): "reflect",
    ("dc_layer_random_rotation", "interpolation"): "bilinear",
    ("dc_layer_random_zoom", "width_factor"): "the height's zoom on both axes",
    ("dc_layer_random_zoom", "fill_mode"): "reflect",
    ("dc_layer_random_zoom", "interpolation"): "bilinear",
    ("dc_layer_random_brightness", "value_range"): "Keras' (0, 255)",
    ("dc_layer_random_contrast", "value_range"): "Keras' (0, 255)",
    ("dc_rnn", "mask_ids"): "no mask",
    ("dc_loss_masked", "mask_ids"): "no mask: dc_loss",
    ("dc_loss_weighted", "mask_ids"): "no mask",
    ("dc_loss_weighted", "weights"): "unweighted",
    ("dc_loss_args_check", "args"): "the defaults: DC_OK",
    ("dc_loss_ex", "mask_ids"): "no mask",
    ("dc_loss_ex", "weights"): "unweighted",
    ("dc_loss_ex", "args"): "the defaults",
    # attention (issue 19)
    ("dc_softmax_axis", "mask"): "no mask",
    ("dc_attention_mask", "query_mask"): "no query mask",
    ("dc_attention_mask", "value_mask"): "no value mask",
    ("dc_attention_mask", "key_mask"): "no key mask",
    ("dc_attention_mask", "attention_mask"): "no attention mask",
    ("dc_layer_attention", "score_mode"): "NULL is score_mode \"dot\"",
    ("dc_layer_bidirectional", "merge_mode"): "concat",
    ("dc_tokenizer_new", "cfg"): "the defaults",
    ("dc_tokenizer_sequences_to_matrix", "mode"): "binary",
    ("dc_tokenizer_texts_to_matrix", "mode"): "binary",
    ("dc_model_fit", "history"): "no History wanted",
    ("dc_model_evaluate_ex", "sample_weight"): "unweighted",
    ("dc_model_train_on_batch", "sample_weight"): "unweighted",
    ("dc_model_test_on_batch", "sample_weight"): "unweighted",
    ("dc_model_set_lr_schedule", "s"): "removes the schedule",
    ("dc_model_set_collective", "c"): "a single process again",
    ("dc_checkpoint_defaults", "filepath"): "copied into the config; dc_callback_model_checkpoint refuses it",
    ("dc_callback_lr_scheduler", "user"): "the caller's pointer, passed through",
    ("dc_plot_scatter_line", "points_label"): "no label",
    ("dc_plot_scatter_line", "line_label"): "no label",
    ("dc_plot_scatter_line", "cfg"): "dc_plot_defaults()",
    ("dc_plot_history", "title"): "no title",
    ("dc_plot_confusion_matrix", "class_names"): "class numbers",
    ("dc_plot_confusion_matrix", "title"): "no title",
    ("dc_plot_decision_boundary", "class_names"): "class numbers",
    ("dc_plot_decision_boundary", "cfg"): "dc_plot_defaults()",
    ("dc_plot_images", "row_labels"): "no labels",
    ("dc_plot_images", "title"): "no title",
    # attention kernel, first names, generation (attn-apps)
    ("dc_attention", "mask"): "no mask",
    ("dc_first_names_load", "cache_dir"): "NULL: $DEEPC_CACHE, else ~/.cache/deepc",
    ("dc_first_names_load", "train"): "the training names not wanted",
    ("dc_first_names_load", "val"): "the validation names not wanted",
    # explaining (src/model/explain*.c, src/plot/plot_heatmap.c)
    ("dc_graph_backward_seed", "seed"): "d out / d out = 1 on a scalar",
    ("dc_model_layer_gradient", "out"): "the output is optional (grad given)",
    ("dc_model_layer_gradient", "grad"): "the gradient is optional (out given)",
    ("dc_explain_integrated_gradients", "baseline"): "zeros",
    ("dc_explain_integrated_gradients_layer", "baseline"): "zeros",
    ("dc_plot_heatmaps", "row_labels"): "no labels",
    ("dc_plot_heatmaps", "title"): "no title",
    ("dc_plot_text_attributions", "labels"): "no labels",
    ("dc_plot_text_attributions", "title"): "no title",
    # export-c (issue 18)
    ("dc_model_export_c", "cfg"): "NULL: dc_export_c_defaults()",
}

# What a function returns when an argument is NULL, for those returning a
# number; the policy's defaults by return type, then the exceptions.
NEUTRAL_BY_TYPE = {
    "int": "-1",
    "long": "-1",
    "size_t": "0",
    "uint32_t": "0",
    "float": "NAN",
}
# Each exception is a condition on the result r and its wording.
NEUTRAL = {
    # counts and lookups whose 0 already means "none"
    "dc_model_layer_count": ("r == 0", "0"),
    "dc_model_input_count": ("r == 0", "0"),
    "dc_model_is_functional": ("r == 0", "0"),
    "dc_tokenizer_word_index": ("r == 0", "0"),
    "dc_tokenizer_word_count": ("r == 0", "0"),
    "dc_tokenizer_word_docs": ("r == 0", "0"),
    "dc_tokenizer_vocab_size": ("r == 0", "0"),
    "dc_tokenizer_document_count": ("r == 0", "0"),
    "dc_model_is_quantized": ("r == 0", "0"),  # export-c: NULL is no quantized model
    "dc_piecewise_constant_decay": ("r.n_boundaries == -1", "a schedule of -1 boundaries, which dc_model_set_lr_schedule refuses"),
}

# Valid values by parameter type.  F is the test's fixture (struct fx below).
VALID_BY_TYPE = {
    # attention kernel, first names, generation (attn-apps): a spec the
    # decoder refuses (0 blocks), and a stand-in decoder that is never
    # dereferenced (every decoder call checks its other pointers first)
    "const dc_decoder_spec *": "&(dc_decoder_spec){0}",
    "dc_decoder *": "(dc_decoder *)F->fbuf",
    "const dc_decoder *": "(const dc_decoder *)F->fbuf",
    "dc_model *": "F->model",
    "const dc_model *": "F->model",
    "dc_layer *": "F->layer",
    "const dc_tensor *": "F->x",
    "dc_tensor *": "F->xm",
    "const dc_tensor *const *": "F->xs",
    "dc_u8array **": "&F->u8_out",
    "const dc_u8array *": "F->u8",
    "dc_array **": "&F->arr_out",
    "const dc_array *": "F->arr",
    "dc_scaler **": "&F->scaler_out",
    "const dc_scaler *": "F->scaler",
    "dc_tokenizer **": "&F->tok_out",
    "dc_tokenizer *": "F->tok",
    "const dc_tokenizer *": "F->tok",
    "dc_model **": "&F->model_out",
    "dc_sequences **": "&F->seq_out",
    "const dc_sequences *": "F->seqs",
    "char **": "&F->str_out",
    "char ***": "&F->texts_out",
    "dc_history **": "&F->hist_out",
    "const dc_history *": "F->hist",
    "dc_csv_info *": "&F->info",
    "dc_dataset *": "&F->ds",
    "dc_text_dataset *": "&F->tds",
    "const dc_csv_config *": "&F->csv_cfg",
    "dc_graph *": "F->g",
    "const dc_graph *": "F->g",
    "dc_node *": "F->nx",
    "const dc_node *": "F->nx",
    "dc_rng *": "&F->rng",
    "dc_optimizer *": "F->opt",
    "const dc_optimizer *": "F->opt",
    "const dc_optimizer_config *": "&F->opt_cfg",
    "dc_optimizer_config *": "&F->opt_cfg_out",
    "float *": "F->fbuf",
    "double *": "F->dbuf",
    "const float *": "F->fones",
    "const float [2]": "F->range2",
    "const float *const *": "F->rows",
    "size_t *": "&F->count",
    "const size_t *": "F->starts",
    "int *": "F->ibuf",
    "const int *": "F->ints",
    "const long *": "F->longs",
    "const char *const *": "F->texts",
    "const void *": "F->npy_bytes",
    "dc_act *": "&F->act",
    "dc_loss_kind *": "&F->loss_kind",
    "dc_init *": "&F->init",
    "const dc_layer_norm_config *": "&F->ln_cfg",
    "const dc_dense_config *": "&F->dense_cfg",
    "const dc_conv_config *": "&F->conv_cfg",
    "const dc_depthwise_config *": "&F->dw_cfg",
    "const dc_rnn_config *": "&F->rnn_cfg",
    "const dc_loss_args *": "&F->loss_args",
    "const dc_tokenizer_config *": "&F->tok_cfg",
    "const dc_onnx_import_config *": "&(dc_onnx_import_config){0}",
    "const dc_pad_config *": "&F->pad_cfg",
    "const dc_compile_config *": "&F->compile_cfg",
    "const dc_fit_config *": "&F->fit_cfg",
    "const dc_lr_schedule *": "&F->schedule",
    "const dc_checkpoint_config *": "&F->ckpt_cfg",
    "const dc_early_stopping_config *": "&F->es_cfg",
    "const dc_reduce_lr_config *": "&F->rlr_cfg",
    "const dc_collective *": "&F->collective",
    "const dc_plot_config *": "&F->plot_cfg",
    # export-c (issue 18)
    "const dc_export_c_config *": "&(dc_export_c_config){1}",
    "const dc_quantize_config *": "&(dc_quantize_config){F->x, 0, 0}",
    "dc_logs *": "&F->logs",
    "const dc_logs *": "&F->logs",
    "FILE *": "F->devnull",
    # explaining: a target of class 0, one heat map set, one text of one token
    "const dc_explain_target *": "(&(const dc_explain_target){.kind = DC_EXPLAIN_CLASS})",
    "const dc_heatmap_set *": "((const dc_heatmap_set[]){{\"m\", F->fones, 1, 1, 0}})",
    "const char *const *const *": "((const char *const *const[]){F->texts})",
    "void *": "F",
    "float (*)(int, float, void *)": "schedule_halve",
    # non-pointer types
    "int": "1",
    "long": "1",
    "size_t": "4",
    "uint64_t": "1",
    "uint32_t": "2",
    "float": "0.5f",
    "double": "0.5",
    "char": "','",
    "dc_status": "DC_ERR_ARG",
    "dc_dtype": "DC_DTYPE_FLOAT32",
    "dc_act": "DC_ACT_RELU",
    "dc_init": "dc_init_make(DC_INIT_ZEROS)",
    "dc_init_kind": "DC_INIT_ZEROS",
    "dc_loss_kind": "DC_LOSS_MSE",
    "dc_opt_kind": "DC_OPT_SGD",
    "dc_padding": "DC_PADDING_VALID",
    "dc_rnn_kind": "DC_RNN_LSTM",
    "dc_affine_kind": "DC_AFFINE_ZOOM",
    "dc_fill_mode": "DC_FILL_REFLECT",
    "MPI_Comm": "MPI_COMM_WORLD",
    # attention (issue 19)
    "const dc_mha_config *": "&(dc_mha_config){0}",
    "const dc_attention_config *": "&(dc_attention_config){0}",
    "dc_softmax_mask": "DC_SOFTMAX_MASK_BOOL",
}

# Valid values by parameter name, before the type's (for strings above all).
VALID_BY_NAME = {
    ("const char *", "path"): "F->path_new",
    ("const char *", "filename"): "F->path_new",
    ("const char *", "filepath"): "F->path_new",
    ("const char *", "cache_dir"): "F->dir",
    ("const char *", "activation"): "\"relu\"",
    ("const char *", "interpolation"): "\"nearest\"",
    ("const char *", "fill_mode"): "\"constant\"",
    ("const char *", "merge_mode"): "\"sum\"",
    ("const char *", "mode"): "\"count\"",
    ("const char *", "optimizer"): "\"sgd\"",
    ("const char *", "loss"): "\"mse\"",
    ("const char *", "key"): "\"loss\"",
    ("const char *", "word"): "\"b\"",
    ("const char *", "title"): "\"t\"",
    ("const char *", "points_label"): "\"p\"",
    ("const char *", "line_label"): "\"l\"",
    ("const char *", "text"): "F->csv_text",
    ("const char *", "json"): "F->tok_json",
    ("const char *", "bytes"): "\"ab\"",
    ("const char *", "name"): "\"n\"",
    ("const char *const *", "metrics"): "F->metrics",
    ("const dc_tensor *", "y"): "F->y",
    ("const dc_tensor *", "sample_weight"): "F->sw",
    ("const char *const *", "class_names"): "F->class_names",
    ("int", "ndim"): "1",
    ("int", "n_results"): "2",
    ("int", "n_metrics"): "1",
    ("int", "n"): "2",
    ("int", "n_line"): "2",
    ("int", "n_classes"): "2",
    ("int", "ndims"): "2",
    ("int", "n_boundaries"): "1",
    ("int", "n_shared_axes"): "1",
    ("int", "units"): "2",
    ("int", "filters"): "2",
    ("int", "input"): "0",
    ("int", "layer"): "0",
    ("int", "index"): "0",
    ("int", "batch_size"): "2",
    ("int", "verbose"): "0",
    ("float", "rate"): "0.25f",
    ("size_t", "bufsize"): "sizeof F->fbuf",
}

# Valid values for one function's parameter, before everything else.
VALID_BY_FUNC = {
    ("dc_idx_load", "path"): "F->path_idx",
    ("dc_csv_load", "path"): "F->path_csv",
    ("dc_csv_load_ex", "path"): "F->path_csv",
    ("dc_csv_parse", "len"): "strlen(F->csv_text)",
    ("dc_csv_parse_ex", "len"): "strlen(F->csv_text)",
    ("dc_npy_parse", "n"): "F->npy_len",
    ("dc_npy_read", "path"): "F->path_npy",
    ("dc_npy_load", "path"): "F->path_npy",
    ("dc_sklearn_load", "name"): "\"iris\"",
    ("dc_act_parse", "name"): "\"relu\"",
    ("dc_loss_parse", "name"): "\"mse\"",
    ("dc_init_parse", "name"): "\"zeros\"",
    ("dc_optimizer_parse", "name"): "\"adam\"",
    ("dc_tokenizer_from_json", "len"): "strlen(F->tok_json)",
    ("dc_tokenizer_load", "path"): "F->path_tok",
    ("dc_model_load", "path"): "F->path_model",
    ("dc_model_load_onnx", "path"): "F->path_model",
    ("dc_model_load_onnx_ex", "path"): "F->path_model",
    ("dc_model_load_weights", "path"): "F->path_weights",
    ("dc_model_load_checkpoint", "path"): "F->path_model",
    ("dc_model_from_json", "json"): "F->model_json",
    ("dc_model_from_json", "len"): "strlen(F->model_json)",
    ("dc_model_layer_index", "name"): "\"dense\"",
    ("dc_model_set_weight", "n"): "6",
    ("dc_node_set", "count"): "3",
    ("dc_optimizer_set_variables", "n"): "1",
    ("dc_utf8_sanitize", "n"): "2",
    ("dc_shape_str", "buf"): "F->strbuf",
    ("dc_shape_str", "bufsize"): "sizeof F->strbuf",
    ("dc_tensor_reshape", "t"): "F->xm",
    ("dc_model_pack_inputs", "n"): "1",
    ("dc_model_merge", "n"): "2",
    ("dc_model_merge", "m"): "F->fmodel",
    ("dc_model_input", "m"): "F->fmodel",
    ("dc_model_apply", "m"): "F->fmodel",
    ("dc_layer_normalization_adapt", "l"): "F->norm_layer",
    ("dc_plot_images", "rows"): "1",
    ("dc_plot_images", "cols"): "1",
    ("dc_plot_scatter_line", "path"): "F->path_png",
    ("dc_plot_history", "path"): "F->path_png",
    ("dc_plot_confusion_matrix", "path"): "F->path_png",
    ("dc_plot_decision_boundary", "path"): "F->path_png",
    ("dc_plot_images", "path"): "F->path_png",
    ("dc_model_export_c", "dir"): "F->dir",  # export-c
    ("dc_plot_model", "path"): "F->path_png",
    ("dc_plot_heatmaps", "path"): "F->path_png",
    ("dc_plot_heatmaps", "n"): "1",
    ("dc_plot_heatmaps", "h"): "1",
    ("dc_plot_heatmaps", "w"): "1",
    ("dc_plot_heatmaps", "n_sets"): "1",
    ("dc_plot_text_attributions", "path"): "F->path_new",
    ("dc_plot_text_attributions", "n_texts"): "1",
    ("dc_plot_text_attributions", "n_tokens"): "((const int[]){1})",
    ("dc_model_layer_output", "layer"): "\"dense\"",
    ("dc_model_layer_gradient", "layer"): "\"dense\"",
    ("dc_explain_integrated_gradients_layer", "layer"): "\"dense\"",
    ("dc_explain_grad_cam", "layer"): "\"dense\"",
    ("dc_model_slice", "layer"): "\"dense\"",
    ("dc_graph_input_grad", "on"): "1",
}

# ---- datasets from disk (issue 21: image/text folders, dc_loader) ----
ALLOWED.update({
    ("dc_image_dataset_from_directory", "cfg"): "NULL: dc_image_dir_defaults()",
    ("dc_image_dataset_from_directory", "validation"): "only subset both needs it",
    ("dc_text_dataset_from_directory", "cfg"): "NULL: dc_text_dir_defaults()",
    ("dc_text_dataset_from_directory", "validation"): "only subset both needs it",
    ("dc_loader_from_tensors", "y"): "no targets",
    ("dc_loader_from_npy", "y_path"): "no targets",
    ("dc_loader_from_callback", "y_shape"): "may be NULL when y_ndim < 1",
    ("dc_loader_from_callback", "user"): "the caller's pointer, passed through",
    ("dc_model_fit_loader", "cfg"): "NULL: dc_loader_fit_defaults()",
    ("dc_model_fit_loader", "history"): "no History wanted",
})
NEUTRAL.update({
    "dc_loader_num_classes": ("r == 0", "0"),
})
VALID_BY_TYPE.update({
    "dc_loader **": "&F->loader_out",
    "dc_loader *": "F->loader",
    "const dc_loader *": "F->loader",
    "const dc_image_dir_config *": "&F->imgdir_cfg",
    "const dc_text_dir_config *": "&F->textdir_cfg",
    "dc_text_files **": "&F->tfiles_out",
    "const dc_text_files *": "F->tfiles",
    "const dc_loader_fit_config *": "&F->loader_fit_cfg",
    "dc_batch_fn": "null_batch_fn",
})
VALID_BY_NAME.update({
    ("const char *", "directory"): "F->dir",
    ("const char *", "x_path"): "F->path_npy",
    ("const char *", "y_path"): "F->path_npy",
})
VALID_BY_FUNC.update({
    ("dc_loader_from_callback", "y_ndim"): "-1",
})

# Functions that take ownership of a layer argument, also on failure: each
# call gets a new layer, which the function must free when it fails.
OWNS_LAYER = {
    "dc_model_add": "dc_layer_dense(2, NULL)",
    "dc_model_apply": "dc_layer_dense(2, NULL)",
    "dc_model_merge": "dc_layer_add()",
    "dc_layer_bidirectional": "dc_layer_lstm(2)",
    "dc_layer_time_distributed": "dc_layer_dense(2, NULL)",
}

# What an allowed NULL may leave to free, by return type (a call that
# succeeds returns a new object; nodes belong to the graph).
CLEANUP_BY_RETURN = {
    "dc_layer *": "dc_layer_free(r)",
    "dc_tensor *": "dc_tensor_free(r)",
    "dc_model *": "dc_model_free(r)",
    "dc_callback *": "dc_callback_free(r)",
    "dc_tokenizer *": "dc_tokenizer_free(r)",
    "char *": "free(r)",
}

# ONNX export (issue 17): the config may be NULL (the defaults).
ALLOWED[("dc_model_save_onnx", "cfg")] = "NULL: the defaults"
VALID_BY_TYPE["const dc_onnx_export_config *"] = "NULL"

# ------------------------------------------------------------ the parser


def strip_header(text):
    """The header without comments, preprocessor lines and extern "C" braces."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"^\s*#(?:.*\\\n)*.*$", "", text, flags=re.M)
    text = re.sub(r'extern\s+"C"\s*\{', "", text)
    text = re.sub(r"^\}\s*$", "", text, flags=re.M)
    return text


def declarations(text):
    """Top-level declarations (split on ';' outside braces), whitespace collapsed."""
    out, depth, cur = [], 0, []
    for c in text:
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        if c == ";" and depth == 0:
            out.append(" ".join("".join(cur).split()))
            cur = []
        else:
            cur.append(c)
    return out


def split_params(s):
    """Parameters split on the commas outside parentheses."""
    parts, depth, cur = [], 0, []
    for c in s:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if c == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur).strip())
    return [p for p in parts if p and p != "void"]


def norm_type(t):
    t = " ".join(t.replace("*", " * ").split())
    return t.replace("* *", "**").replace("* *", "**").replace(" * const", " *const")


def parse_param(p):
    """(type, name) with the type normalised: 'const dc_tensor *', 'const float [2]'."""
    m = re.match(r"^(.*)\(\s*\*\s*(\w+)\s*\)\s*\((.*)\)$", p)
    if m:  # a function pointer
        args = ", ".join(norm_type(re.sub(r"(?<=[\s*])\w+$", "", a)) for a in split_params(m.group(3)))
        return "%s (*)(%s)" % (norm_type(m.group(1)), args), m.group(2)
    m = re.match(r"^(.*?)(\w+)\s*(\[\w*\])?$", p)
    if not m:
        sys.exit("gen_null_test.py: cannot parse parameter '%s'" % p)
    t = norm_type(m.group(1))
    if m.group(3):
        t += " " + m.group(3)
    return t, m.group(2)


def functions(path):
    out = []
    for d in declarations(strip_header(open(path).read())):
        if not d or d.startswith("typedef") or d.startswith("enum") or d.startswith("struct"):
            continue
        m = re.match(r"^(.*?)\b(dc_\w+)\s*\((.*)\)$", d)
        if not m:
            sys.exit("gen_null_test.py: %s: a declaration that is not a function: %s" % (path, d[:80]))
        ret = norm_type(m.group(1))
        out.append((ret, m.group(2), [parse_param(p) for p in split_params(m.group(3))]))
    return out


def is_pointer(t):
    return "*" in t or "[" in t


def valid_value(func, ptype, pname, index):
    if (func, pname) in VALID_BY_FUNC:
        return VALID_BY_FUNC[(func, pname)]
    if ptype == "dc_layer *" and func in OWNS_LAYER:
        return OWNS_LAYER[func]
    if ptype == "dc_tensor **":
        return "&F->t_out[%d]" % index
    if (ptype, pname) in VALID_BY_NAME:
        return VALID_BY_NAME[(ptype, pname)]
    if ptype in VALID_BY_TYPE:
        return VALID_BY_TYPE[ptype]
    sys.exit("gen_null_test.py: %s: no valid value for parameter '%s' of type '%s'; add its type to VALID_BY_TYPE "
             "(or the parameter to VALID_BY_NAME / VALID_BY_FUNC) in tests/gen_null_test.py" % (func, pname, ptype))


def case_body(ret, func, params, k):
    """The statements of the case passing NULL as parameter k."""
    pname = params[k][1]
    args = ["NULL" if i == k else valid_value(func, t, n, i) for i, (t, n) in enumerate(params)]
    call = "%s(%s)" % (func, ", ".join(args))
    key = (func, pname)
    lines = []
    is_free = func.endswith("_free") and k == 0
    if key in ALLOWED or is_free:
        why = ALLOWED.get(key, "free(NULL) does nothing")
        lines.append("/* allowed: %s */" % why)
        if ret == "void" or ret not in CLEANUP_BY_RETURN:
            lines.append("(void)%s;" % call)
        else:
            lines.append("%s r = %s;" % (ret.replace("const ", "") if ret == "char *" else ret, call))
            lines.append(CLEANUP_BY_RETURN[ret] + ";")
        return lines
    where = '"%s", "%s"' % (func, pname)
    if ret == "void":
        lines.append("%s;" % call)
        lines.append("check_message(%s);" % where)
    elif ret == "dc_status":
        lines.append("check_status(%s, %s);" % (call, where))
    elif is_pointer(ret):
        lines.append("check_null((const void *)%s, %s);" % (call, where))
    else:
        if func in NEUTRAL:
            cond, text = NEUTRAL[func]
        elif ret == "float":
            cond, text = "isnan(r)", "NaN"
        elif ret in NEUTRAL_BY_TYPE:
            cond, text = "r == %s" % NEUTRAL_BY_TYPE[ret], NEUTRAL_BY_TYPE[ret]
        else:
            sys.exit("gen_null_test.py: %s returns '%s', which has no neutral value in NEUTRAL_BY_TYPE or NEUTRAL"
                     % (func, ret))
        lines.append("%s r = %s;" % (ret, call))
        lines.append("check_value(%s, \"%s\", %s);" % (cond, text, where))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--fixture", required=True, help="tests/null_fixture.h, the fixture the cases use")
    ap.add_argument("headers", nargs="+")
    a = ap.parse_args()

    cases, n_funcs, n_allowed = [], 0, 0
    headers = []
    for h in a.headers:
        headers.append(h.rsplit("/", 1)[-1])
        for ret, func, params in functions(h):
            n_funcs += 1
            for k, (t, n) in enumerate(params):
                if not is_pointer(t):
                    continue
                if (func, n) in ALLOWED:
                    n_allowed += 1
                cases.append(("%s__%s" % (func, n), func, n, case_body(ret, func, params, k)))
    for key in ALLOWED:
        if not any(c[1] == key[0] and c[2] == key[1] for c in cases):
            sys.exit("gen_null_test.py: ALLOWED names %s(%s), which no header declares" % key)

    w = []
    w.append("/* Generated by tests/gen_null_test.py from %s: do not edit. */" % ", ".join(headers))
    w.append("/* %d functions, %d pointer parameters, %d of them documented as accepting NULL. */"
             % (n_funcs, len(cases), n_allowed))
    w.append("#define _XOPEN_SOURCE 700 /* nftw */")
    w.append("#include <math.h>")
    w.append("#include <string.h>")
    for h in headers:
        w.append('#include "%s"' % h)
    w.append('#include "%s"' % a.fixture.rsplit("/", 1)[-1])
    w.append("")
    for name, func, pname, body in cases:
        w.append("static void t_%s(void **state)" % name)
        w.append("{")
        w.append("    fx *F = *state;")
        w.append("    (void)F;")
        w.append("    arm_message();")
        for line in body:
            w.append("    " + line)
        w.append("}")
        w.append("")
    w.append("int main(void)")
    w.append("{")
    w.append("    const struct CMUnitTest tests[] = {")
    for name, _, _, _ in cases:
        w.append("        cmocka_unit_test_setup_teardown(t_%s, fx_setup, fx_teardown_all)," % name)
    w.append("    };")
    w.append("    /* DC_NULL_TEST=<pattern>: only the cases whose name matches (t_dc_model_add__m) */")
    w.append("    if (getenv(\"DC_NULL_TEST\"))")
    w.append("        cmocka_set_test_filter(getenv(\"DC_NULL_TEST\"));")
    w.append("    return cmocka_run_group_tests(tests, files_setup, files_teardown);")
    w.append("}")
    with open(a.output, "w") as f:
        f.write("\n".join(w) + "\n")


if __name__ == "__main__":
    main()
