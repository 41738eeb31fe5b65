/* Distinct rnnkit_rnn handles used from several threads at once give exactly the results they give
 * one after another, and each thread sees its own rnnkit_last_error() message.
 *
 * Each of THREADS workers owns one handle (its own cell, sizes and seed) and runs ROUNDS times:
 * forward (training mode, with lengths), backward, read every gradient, save to its own file, load
 * that file into a second handle, run it in inference mode, and provoke one error and read the
 * message. The main thread first computes the same per-worker results alone; every threaded result
 * must equal them bit for bit.
 *
 * Built and run by scripts/ci-reliability.sh against librnnkit built with ThreadSanitizer
 * (swift build --sanitize=thread; the program itself with clang -fsanitize=thread).
 * Usage: c_threads DIRECTORY   (files are written there). Exit 0 on success. */
#include <rnnkit.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { THREADS = 6, ROUNDS = 3, T = 5, B = 3 };

typedef struct {
    int index;
    const char *directory;
    float *y;        /* [T, B, D*H] */
    float *dx;       /* [T, B, I] */
    float *grads;    /* all gradients, concatenated */
    float *reloaded; /* [T, B, D*H] from the reloaded handle */
    size_t y_count, dx_count, grad_count;
    int failed;
    char message[512];
} worker;

static int cell_of(int i) { return i % 4; }
static int input_of(int i) { return 2 + i % 3; }
static int hidden_of(int i) { return 4 + i; }
static int bidirectional_of(int i) { return i % 2; }

static float value(uint32_t *state) {
    *state = *state * 1664525u + 1013904223u;
    return (float)((*state >> 8) & 0xffff) / 65536.0f - 0.5f;
}

#define CHECK(call)                                                                          \
    do {                                                                                     \
        rnnkit_status status_ = (call);                                                      \
        if (status_ != RNNKIT_OK) {                                                          \
            snprintf(w->message, sizeof w->message, "%s failed: %s", #call, rnnkit_last_error()); \
            w->failed = 1;                                                                   \
            goto done;                                                                       \
        }                                                                                    \
    } while (0)

/* One round for worker w; results go into w's buffers. */
static void run(worker *w) {
    const int i = w->index, I = input_of(i), H = hidden_of(i), D = bidirectional_of(i) ? 2 : 1;
    rnnkit_rnn *rnn = NULL, *copy = NULL;
    float *x = NULL, *dy = NULL;
    char path[1024];
    uint32_t state = 1234u + (uint32_t)i;
    int32_t lengths[B] = {T, T - 1, T - 2};
    size_t n;

    w->y_count = (size_t)T * B * D * H;
    w->dx_count = (size_t)T * B * I;
    x = malloc(w->dx_count * sizeof *x);
    dy = malloc(w->y_count * sizeof *dy);
    if (!x || !dy) { snprintf(w->message, sizeof w->message, "malloc failed"); w->failed = 1; goto done; }
    for (n = 0; n < w->dx_count; n++) x[n] = value(&state);
    for (n = 0; n < w->y_count; n++) dy[n] = value(&state);

    CHECK(rnnkit_rnn_create(cell_of(i), I, H, 2, bidirectional_of(i), 77u + (uint64_t)i, &rnn));
    CHECK(rnnkit_rnn_forward(rnn, T, B, x, lengths, NULL, NULL, w->y, NULL, NULL));
    CHECK(rnnkit_rnn_backward(rnn, dy, NULL, NULL, w->dx, NULL, NULL));
    {
        int32_t count = 0, p;
        size_t offset = 0;
        CHECK(rnnkit_rnn_param_count(rnn, &count));
        for (p = 0; p < count; p++) {
            const char *name = NULL;
            int64_t numel = 0;
            CHECK(rnnkit_rnn_param_name(rnn, p, &name, &numel));
            if (offset + (size_t)numel > w->grad_count) { snprintf(w->message, sizeof w->message, "gradient buffer too small"); w->failed = 1; goto done; }
            CHECK(rnnkit_rnn_get_grad(rnn, name, w->grads + offset, numel));
            offset += (size_t)numel;
        }
    }
    snprintf(path, sizeof path, "%s/thread-%d.safetensors", w->directory, i);
    CHECK(rnnkit_rnn_save(rnn, path));
    CHECK(rnnkit_rnn_create(cell_of(i), I, H, 2, bidirectional_of(i), 999u, &copy));
    CHECK(rnnkit_rnn_load(copy, path));
    CHECK(rnnkit_rnn_set_training(copy, 0));
    CHECK(rnnkit_rnn_forward(copy, T, B, x, lengths, NULL, NULL, w->reloaded, NULL, NULL));

    /* An error on this thread: its message must name this thread's bad argument. */
    {
        char expected[64];
        rnnkit_rnn_set_training(rnn, 1000 + i);
        snprintf(expected, sizeof expected, "got %d", 1000 + i);
        if (strstr(rnnkit_last_error(), expected) == NULL) {
            snprintf(w->message, sizeof w->message, "thread %d read another thread's error: %s", i, rnnkit_last_error());
            w->failed = 1;
            goto done;
        }
    }
done:
    rnnkit_rnn_destroy(rnn);
    rnnkit_rnn_destroy(copy);
    free(x);
    free(dy);
}

static void *thread_main(void *argument) {
    worker *w = argument;
    int round;
    for (round = 0; round < ROUNDS && !w->failed; round++) run(w);
    return NULL;
}

static int allocate(worker *w, int i, const char *directory) {
    const int I = input_of(i), H = hidden_of(i), D = bidirectional_of(i) ? 2 : 1, G = cell_of(i) == 2 ? 4 : cell_of(i) == 3 ? 3 : 1;
    memset(w, 0, sizeof *w);
    w->index = i;
    w->directory = directory;
    w->grad_count = (size_t)D * G * H * (I + H + 2) + (size_t)D * G * H * (D * H + H + 2);
    w->y = calloc((size_t)T * B * D * H, sizeof(float));
    w->reloaded = calloc((size_t)T * B * D * H, sizeof(float));
    w->dx = calloc((size_t)T * B * I, sizeof(float));
    w->grads = calloc(w->grad_count, sizeof(float));
    return w->y && w->reloaded && w->dx && w->grads;
}

static void release(worker *w) {
    free(w->y);
    free(w->reloaded);
    free(w->dx);
    free(w->grads);
}

int main(int argc, char **argv) {
    worker alone[THREADS], together[THREADS];
    pthread_t threads[THREADS];
    int i, failures = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIRECTORY\n", argv[0]);
        return 2;
    }
    for (i = 0; i < THREADS; i++) {
        if (!allocate(&alone[i], i, argv[1]) || !allocate(&together[i], i, argv[1])) {
            fprintf(stderr, "c_threads: out of memory\n");
            return 1;
        }
        run(&alone[i]);
        if (alone[i].failed) {
            fprintf(stderr, "c_threads: worker %d alone: %s\n", i, alone[i].message);
            return 1;
        }
    }
    for (i = 0; i < THREADS; i++) {
        if (pthread_create(&threads[i], NULL, thread_main, &together[i]) != 0) {
            fprintf(stderr, "c_threads: pthread_create failed\n");
            return 1;
        }
    }
    for (i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    for (i = 0; i < THREADS; i++) {
        worker *a = &alone[i], *t = &together[i];
        if (t->failed) {
            fprintf(stderr, "c_threads: worker %d in parallel: %s\n", i, t->message);
            failures++;
            continue;
        }
        if (memcmp(a->y, t->y, a->y_count * sizeof(float)) != 0 || memcmp(a->dx, t->dx, a->dx_count * sizeof(float)) != 0
            || memcmp(a->grads, t->grads, a->grad_count * sizeof(float)) != 0
            || memcmp(a->reloaded, t->reloaded, a->y_count * sizeof(float)) != 0
            || memcmp(a->y, a->reloaded, a->y_count * sizeof(float)) != 0) {
            fprintf(stderr, "c_threads: worker %d: results differ from the sequential run\n", i);
            failures++;
        }
    }
    for (i = 0; i < THREADS; i++) {
        release(&alone[i]);
        release(&together[i]);
    }
    if (failures == 0) printf("c_threads: %d threads x %d rounds, results identical to the sequential run\n", THREADS, ROUNDS);
    return failures == 0 ? 0 : 1;
}
