/*
 * example.c — a complete program using the RNNKit C API: build a 2-layer LSTM, set one of its
 * weights by name, run a padded batch forward and backward, save it and read it back.
 *
 *   cc -std=c99 -Wall -Wextra -pedantic example.c $(pkg-config --cflags --libs rnnkit) -o example
 *   ./example [file.safetensors]
 */
#include <stdio.h>
#include <stdlib.h>
#include <rnnkit.h>

/* Prints the failed call and the library's message, then exits. */
static void check(rnnkit_status status, const char *what) {
    if (status != RNNKIT_OK) {
        fprintf(stderr, "%s failed (status %d): %s\n", what, (int)status, rnnkit_last_error());
        exit(1);
    }
}

int main(int argc, char **argv) {
    enum { T = 4, B = 2, I = 3, H = 5, L = 2 };  /* steps, batch, input, hidden, layers */
    const char *path = argc > 1 ? argv[1] : "example-lstm.safetensors";
    rnnkit_rnn *lstm = NULL, *copy = NULL;
    float x[T * B * I];          /* [T, B, I] input, time-major */
    float y[T * B * H];          /* [T, B, H] output of the top layer */
    float h_n[L * B * H];        /* [L, B, H] final hidden states */
    float c_n[L * B * H];        /* [L, B, H] final cell states */
    float dy[T * B * H];         /* [T, B, H] gradient of the loss w.r.t. y */
    float dx[T * B * I];         /* [T, B, I] gradient w.r.t. x */
    float bias[4 * H];           /* bias_ih_l0: [4H], gates i, f, g, o */
    float grad_bias[4 * H];
    float y_again[T * B * H];
    int32_t lengths[B] = {4, 2}; /* row 1 is padded after 2 steps */
    int32_t count = 0, i;

    printf("rnnkit %s\n", rnnkit_version());
    check(rnnkit_rnn_create(RNNKIT_CELL_LSTM, I, H, L, /*bidirectional*/ 0, /*seed*/ 42, &lstm), "create");

    /* Parameters are listed in PyTorch's state_dict order, by name. */
    check(rnnkit_rnn_param_count(lstm, &count), "param_count");
    for (i = 0; i < count; i++) {
        const char *name;
        int64_t numel;
        check(rnnkit_rnn_param_name(lstm, i, &name, &numel), "param_name");
        printf("  %-14s %lld values\n", name, (long long)numel);
    }
    /* Copy a tensor in by name, as from a PyTorch state_dict: here a forget-gate bias of 1. */
    for (i = 0; i < 4 * H; i++) bias[i] = (i >= H && i < 2 * H) ? 1.0f : 0.0f;
    check(rnnkit_rnn_set_param(lstm, "bias_ih_l0", bias, 4 * H), "set_param");

    for (i = 0; i < T * B * I; i++) x[i] = (float)((i * 7) % 11) / 11.0f - 0.5f;
    check(rnnkit_rnn_forward(lstm, T, B, x, lengths, /*h0*/ NULL, /*c0*/ NULL, y, h_n, c_n), "forward");
    printf("y[T-1, 0, :] =");
    for (i = 0; i < H; i++) printf(" %.5f", y[((T - 1) * B + 0) * H + i]);
    printf("\nh_n[top layer, 1, :] =");
    for (i = 0; i < H; i++) printf(" %.5f", h_n[((L - 1) * B + 1) * H + i]);
    printf("\n");

    /* Loss = sum(y): dy is all ones. Gradients accumulate until zero_grad. */
    for (i = 0; i < T * B * H; i++) dy[i] = 1.0f;
    check(rnnkit_rnn_backward(lstm, dy, NULL, NULL, dx, NULL, NULL), "backward");
    check(rnnkit_rnn_get_grad(lstm, "bias_ih_l0", grad_bias, 4 * H), "get_grad");
    printf("d loss / d bias_ih_l0[0] = %.5f, d loss / d x[0] = %.5f\n", grad_bias[0], dx[0]);

    /* Save, then load into a network of the same architecture. */
    check(rnnkit_rnn_save(lstm, path), "save");
    check(rnnkit_rnn_create(RNNKIT_CELL_LSTM, I, H, L, 0, 7, &copy), "create copy");
    check(rnnkit_rnn_load(copy, path), "load");
    check(rnnkit_rnn_set_training(copy, 0), "set_training");  /* inference: no activations kept */
    check(rnnkit_rnn_forward(copy, T, B, x, lengths, NULL, NULL, y_again, NULL, NULL), "forward copy");
    for (i = 0; i < T * B * H; i++) {
        if (y_again[i] != y[i]) { fprintf(stderr, "the loaded copy differs at %d\n", (int)i); return 1; }
    }
    printf("saved to %s and loaded: identical outputs\n", path);

    /* Errors never crash: a bad call returns a status and leaves a message. */
    if (rnnkit_rnn_set_param(lstm, "bias_ih_l7", bias, 4 * H) != RNNKIT_OK)
        printf("expected error: %s\n", rnnkit_last_error());

    rnnkit_rnn_destroy(copy);
    rnnkit_rnn_destroy(lstm);
    remove(path);
    return 0;
}
