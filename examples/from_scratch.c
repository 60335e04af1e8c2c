/*
 * from_scratch.c - seed 004's two-layer sigmoid network ("使用Python实现简单的
 * 神经网络"), written on deepc's graph API instead of NumPy, and trained by
 * plain full-batch gradient descent on XOR.
 *
 * The seed's NeuralNetwork class computes, for inputs X:
 *
 *   hidden_layer_input  = np.dot(inputs, weights_input_hidden) + bias_hidden
 *   hidden_layer_output = sigmoid(hidden_layer_input)
 *   output_layer_input  = np.dot(hidden_layer_output, weights_hidden_output) + bias_output
 *   output              = sigmoid(output_layer_input)
 *
 * with weights drawn from np.random.randn and zero biases.  Here each line is
 * a graph node; the graph then gives us the gradients (backpropagation), and
 * the update  w <- w - learning_rate * dL/dw  is written out by hand.
 *
 * Exits 0 when every prediction lies on the right side of 0.5, else 1.
 */
#include <deepc.h>

#include <stdio.h>

#define N_SAMPLES 4
#define INPUT_SIZE 2
#define HIDDEN_SIZE 4
#define OUTPUT_SIZE 1
#define LEARNING_RATE 1.0f
#define ITERATIONS 10000
#define PRINT_EVERY 1000

static int fail(const char *what)
{
    fprintf(stderr, "from_scratch: %s: %s\n", what, dc_errmsg());
    return 1;
}

int main(void)
{
    /* XOR: the output is 1 when exactly one input is 1.  No straight line
     * separates the two classes, so the hidden layer is needed. */
    const float x[N_SAMPLES * INPUT_SIZE] = {0, 0, 0, 1, 1, 0, 1, 1};
    const float y[N_SAMPLES * OUTPUT_SIZE] = {0, 1, 1, 0};

    /* A fixed seed: the same "random" weights, hence the same run, every time. */
    dc_rng rng;
    dc_rng_seed(&rng, 4);

    /* __init__: the parameters.  weights ~ N(0, 1) as np.random.randn, biases
     * zero.  deepc broadcasts a bias of shape (hidden_size,) over the rows,
     * where the seed uses shape (1, hidden_size). */
    dc_init randn = {DC_INIT_RANDOM_NORMAL, 0.0f, 1.0f}, zeros = {DC_INIT_ZEROS, 0, 0};
    dc_graph *g = dc_graph_new();
    if (!g)
        return fail("creating the graph");
    dc_node *inputs = dc_input(g, 1, 1, (int[]){INPUT_SIZE}, "inputs");   /* (batch, 2) */
    dc_node *targets = dc_input(g, 1, 1, (int[]){OUTPUT_SIZE}, "targets"); /* (batch, 1) */
    dc_node *weights_input_hidden = dc_param(g, 2, (int[]){INPUT_SIZE, HIDDEN_SIZE}, randn, "weights_input_hidden");
    dc_node *weights_hidden_output = dc_param(g, 2, (int[]){HIDDEN_SIZE, OUTPUT_SIZE}, randn, "weights_hidden_output");
    dc_node *bias_hidden = dc_param(g, 1, (int[]){HIDDEN_SIZE}, zeros, "bias_hidden");
    dc_node *bias_output = dc_param(g, 1, (int[]){OUTPUT_SIZE}, zeros, "bias_output");

    /* forward: the seed's four lines.  Nothing is computed yet; each call
     * only adds a node.  A failed call returns NULL, and every later call
     * given that NULL fails too, so checking the last node is enough. */
    dc_node *hidden_layer_input = dc_add(g, dc_matmul(g, inputs, weights_input_hidden), bias_hidden);
    dc_node *hidden_layer_output = dc_activation(g, hidden_layer_input, DC_ACT_SIGMOID);
    dc_node *output_layer_input = dc_add(g, dc_matmul(g, hidden_layer_output, weights_hidden_output), bias_output);
    dc_node *output = dc_activation(g, output_layer_input, DC_ACT_SIGMOID);

    /* loss: mean squared error, L = mean((output - y)^2). */
    dc_node *loss = dc_loss(g, DC_LOSS_MSE, output, targets);
    if (!loss)
        return fail("building the network");

    /* compile: allocate every buffer and draw the initial weights from rng.
     * All four samples go through at once (full-batch gradient descent). */
    if (dc_graph_compile(g, N_SAMPLES, &rng) != DC_OK || dc_graph_set_batch(g, N_SAMPLES) != DC_OK ||
        dc_node_set(inputs, x, N_SAMPLES * INPUT_SIZE) != DC_OK ||
        dc_node_set(targets, y, N_SAMPLES * OUTPUT_SIZE) != DC_OK)
        return fail("compiling");

    /* All parameters live in one flat buffer, their gradients in another of
     * the same layout, so the update is one loop over both. */
    size_t n_params;
    float *params = dc_graph_params(g, &n_params);
    float *grads = dc_graph_grads(g, NULL);

    for (int it = 0; it <= ITERATIONS; it++) {
        /* forward: inputs -> hidden_layer_output -> output -> loss. */
        if (dc_graph_forward(g, loss, 1) != DC_OK)
            return fail("forward pass");
        if (it % PRINT_EVERY == 0)
            printf("iteration %5d  loss %.6f\n", it, dc_node_value(loss)[0]);
        if (it == ITERATIONS)
            break;
        /* backward: the chain rule from the loss back to every parameter,
         * e.g. dL/d(weights_hidden_output) = hidden_layer_output^T .
         * (dL/d output * sigmoid'(output_layer_input)), sigmoid' = s (1 - s);
         * the results land in grads. */
        if (dc_graph_backward(g, loss) != DC_OK)
            return fail("backward pass");
        /* update: one step of gradient descent, w <- w - lr * dL/dw.  (The
         * same as dc_optimizer_step with dc_optimizer_defaults(DC_OPT_SGD).) */
        for (size_t i = 0; i < n_params; i++)
            params[i] -= LEARNING_RATE * grads[i];
    }

    /* The trained network's predictions (the last forward pass above). */
    const float *pred = dc_node_value(output);
    int correct = 0;
    printf("\n x1 x2 | target | prediction\n");
    for (int i = 0; i < N_SAMPLES; i++) {
        int ok = (pred[i] > 0.5f) == (y[i] > 0.5f);
        correct += ok;
        printf("  %g  %g |   %g    | %.4f %s\n", x[2 * i], x[2 * i + 1], y[i], pred[i], ok ? "ok" : "WRONG");
    }
    printf("%d/%d correct\n", correct, N_SAMPLES);
    dc_graph_free(g);
    return correct == N_SAMPLES ? 0 : 1;
}
