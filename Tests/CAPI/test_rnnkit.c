/*
 * test_rnnkit.c — tests of the RNNKit C API, written only against the installed rnnkit.h.
 *
 *   cc -std=c99 -Wall -Wextra -Werror -pedantic test_rnnkit.c $(pkg-config --cflags --libs rnnkit)
 *   ./a.out Tests/RNNKitTests/Fixtures/recurrent [work-dir]
 *
 * 1. PyTorch fixtures: every time-major fixture file (scripts/make-fixtures.py) is loaded into
 *    a network by parameter name; forward and backward must reproduce y, h_n, c_n, dx, dh0,
 *    dc0 and every parameter gradient within 1e-5 * max(1, max|reference|).
 * 2. save -> load into a fresh handle -> identical outputs; a file PyTorch wrote
 *    (safetensors.torch.save_file) loads and reproduces PyTorch's outputs.
 * 3. Streaming: one forward per step (T = 1, h0/c0 = previous h_n/c_n) equals one call.
 * 4. Every bad input returns the expected nonzero status and a non-empty message.
 * Prints "N passed, N failed" and exits nonzero on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <rnnkit.h>

/* MARK: Checks */

static int passed_count = 0;
static int failed_count = 0;
static int verbose = 0;

static void check(int ok, const char *label) {
    if (ok) {
        passed_count++;
        if (verbose) printf("ok      %s\n", label);
    } else {
        failed_count++;
        printf("FAILED  %s\n", label);
    }
}

/* Checks that a call succeeded; prints the library's message if not. */
static void expect_ok(rnnkit_status status, const char *label) {
    if (status != RNNKIT_OK) {
        failed_count++;
        printf("FAILED  %s: status %d, %s\n", label, (int)status, rnnkit_last_error());
    } else {
        passed_count++;
        if (verbose) printf("ok      %s\n", label);
    }
}

/* Checks that a call failed with `expected` and left a non-empty message. */
static void expect_error(rnnkit_status status, rnnkit_status expected, const char *label) {
    const char *message = rnnkit_last_error();
    if (status == expected && message != NULL && message[0] != '\0') {
        passed_count++;
        if (verbose) printf("ok      %s -> %d: %s\n", label, (int)status, message);
    } else {
        failed_count++;
        printf("FAILED  %s: expected status %d with a message, got %d (\"%s\")\n",
               label, (int)expected, (int)status, message ? message : "(NULL)");
    }
}

/* max|a - b| <= 1e-5 * max(1, max|reference|); prints the largest difference when it fails. */
static void expect_close(const float *actual, const float *reference, size_t count, const char *label) {
    double largest = 0, worst = 0;
    size_t worst_index = 0, i;
    for (i = 0; i < count; i++) {
        double difference = fabs((double)actual[i] - (double)reference[i]);
        if (fabs((double)reference[i]) > largest) largest = fabs((double)reference[i]);
        if (!(difference <= worst)) { worst = difference; worst_index = i; }
    }
    {
        double tolerance = 1e-5 * (largest > 1 ? largest : 1);
        int ok = worst <= tolerance;
        if (ok) passed_count++; else failed_count++;
        if (!ok || verbose)
            printf("%s  %s: max |diff| %.3g at %zu (tolerance %.3g)\n", ok ? "ok    " : "FAILED", label,
                   worst, worst_index, tolerance);
    }
}

static void expect_identical(const float *a, const float *b, size_t count, const char *label) {
    check(memcmp(a, b, count * sizeof(float)) == 0, label);
}

static float *alloc_floats(size_t count) {
    float *p = calloc(count ? count : 1, sizeof(float));
    if (!p) { fprintf(stderr, "out of memory\n"); exit(2); }
    return p;
}

/* Deterministic inputs in [-1, 1). */
static void fill(float *data, size_t count, unsigned seed) {
    uint32_t state = 2463534242u ^ seed * 2654435761u;
    size_t i;
    for (i = 0; i < count; i++) {
        state ^= state << 13; state ^= state >> 17; state ^= state << 5;
        data[i] = (float)((double)state / 2147483648.0 - 1.0);
    }
}

/* MARK: Fixture files
 *
 *   rnnkit-fixture 1
 *   config cell=lstm input=3 hidden=4 layers=2 bidirectional=1 steps=5 batch=3 batch_first=0
 *   tensor NAME COUNT
 *   COUNT values
 *   ...
 *   end
 */

typedef struct {
    char name[64];
    size_t count;
    float *values;
} fixture_tensor;

typedef struct {
    char cell[32];
    int input, hidden, layers, bidirectional, steps, batch, batch_first, peepholes, proj, layer_norm;
    fixture_tensor *tensors;
    size_t tensor_count;
} fixture;

static void fixture_free(fixture *f) {
    size_t i;
    for (i = 0; i < f->tensor_count; i++) free(f->tensors[i].values);
    free(f->tensors);
    memset(f, 0, sizeof *f);
}

/* Reads `path`; returns 0 on success, prints why and returns -1 otherwise. */
static int fixture_read(const char *path, fixture *f) {
    FILE *file = fopen(path, "r");
    char word[128];
    int version = 0;
    size_t capacity = 0;
    memset(f, 0, sizeof *f);
    if (!file) { printf("cannot open %s\n", path); return -1; }
    if (fscanf(file, "%127s %d", word, &version) != 2 || strcmp(word, "rnnkit-fixture") != 0 || version != 1) {
        printf("%s: not an rnnkit-fixture 1 file\n", path);
        fclose(file);
        return -1;
    }
    if (fscanf(file, " config cell=%31s input=%d hidden=%d layers=%d bidirectional=%d steps=%d batch=%d batch_first=%d",
               f->cell, &f->input, &f->hidden, &f->layers, &f->bidirectional, &f->steps, &f->batch,
               &f->batch_first) != 8) {
        printf("%s: bad config line\n", path);
        fclose(file);
        return -1;
    }
    {
        /* Optional keys after the fixed ones, in any order, on the rest of the config line. */
        char rest[256] = "";
        const char *key;
        if (!fgets(rest, sizeof rest, file)) rest[0] = '\0';
        f->peepholes = (key = strstr(rest, " peepholes=")) ? atoi(key + 11) : 0;
        f->proj = (key = strstr(rest, " proj=")) ? atoi(key + 6) : 0;
        f->layer_norm = (key = strstr(rest, " layer_norm=")) ? atoi(key + 12) : 0;
    }
    while (fscanf(file, "%127s", word) == 1) {
        fixture_tensor *t;
        size_t i;
        if (strcmp(word, "end") == 0) { fclose(file); return 0; }
        if (strcmp(word, "tensor") != 0) break;
        if (f->tensor_count == capacity) {
            fixture_tensor *grown;
            capacity = capacity ? 2 * capacity : 64;
            grown = realloc(f->tensors, capacity * sizeof *grown);
            if (!grown) break;
            f->tensors = grown;
        }
        t = &f->tensors[f->tensor_count];
        if (fscanf(file, "%63s %zu", t->name, &t->count) != 2 || t->count > 100000000u) break;
        t->values = alloc_floats(t->count);
        f->tensor_count++;
        for (i = 0; i < t->count; i++) {
            if (fscanf(file, "%f", &t->values[i]) != 1) { printf("%s: short tensor %s\n", path, t->name); goto fail; }
        }
    }
    printf("%s: malformed (no 'end')\n", path);
fail:
    fclose(file);
    fixture_free(f);
    return -1;
}

static const fixture_tensor *fixture_find(const fixture *f, const char *name) {
    size_t i;
    for (i = 0; i < f->tensor_count; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}

static int cell_code(const char *name) {
    if (strcmp(name, "rnn_tanh") == 0) return RNNKIT_CELL_RNN_TANH;
    if (strcmp(name, "rnn_relu") == 0) return RNNKIT_CELL_RNN_RELU;
    if (strcmp(name, "lstm") == 0) return RNNKIT_CELL_LSTM;
    if (strcmp(name, "gru") == 0) return RNNKIT_CELL_GRU;
    if (strcmp(name, "gru_reset_before") == 0) return RNNKIT_CELL_GRU_RESET_BEFORE;
    return -1;
}

/* Compares `actual` with the fixture's tensor `name` if the fixture has it. */
static void compare_to(const fixture *f, const char *file, const char *name, const float *actual, size_t count) {
    const fixture_tensor *reference = fixture_find(f, name);
    char label[256];
    snprintf(label, sizeof label, "%s: %s", file, name);
    if (!reference) return;
    if (reference->count != count) {
        printf("FAILED  %s: fixture has %zu values, the network %zu\n", label, reference->count, count);
        failed_count++;
        return;
    }
    expect_close(actual, reference->values, count, label);
}

/* MARK: 1. PyTorch fixtures */

static void test_fixture(const char *directory, const char *file) {
    char path[4096], label[512];
    fixture f;
    rnnkit_rnn *rnn = NULL;
    int32_t param_count = 0, i, is_lstm, directions, forward_only;
    size_t T, B, input_count, output_count, hidden_count, state_count;
    int32_t *lengths = NULL;
    const fixture_tensor *x, *length_tensor, *h0, *c0, *dy, *dh_n, *dc_n;
    float *y, *h_n, *c_n, *dx, *dh0, *dc0;

    snprintf(path, sizeof path, "%s/%s", directory, file);
    if (fixture_read(path, &f) != 0) { failed_count++; return; }
    if (f.batch_first) { fixture_free(&f); return; } /* the C API is time-major */

    snprintf(label, sizeof label, "%s: create", file);
    if (f.peepholes || f.proj || f.layer_norm || cell_code(f.cell) == RNNKIT_CELL_GRU_RESET_BEFORE) {
        /* The variants are made through the options struct, and describe says what was made. */
        rnnkit_rnn_options options, described;
        rnnkit_rnn_options_init(&options);
        options.cell = cell_code(f.cell);
        options.input_size = f.input; options.hidden_size = f.hidden; options.num_layers = f.layers;
        options.bidirectional = f.bidirectional; options.peepholes = f.peepholes; options.proj_size = f.proj;
        options.layer_norm = f.layer_norm;
        expect_ok(rnnkit_rnn_create_with_options(&options, &rnn), label);
        if (!rnn) { fixture_free(&f); return; }
        rnnkit_rnn_options_init(&described);
        expect_ok(rnnkit_rnn_describe(rnn, &described), "describe");
        snprintf(label, sizeof label, "%s: describe gives the options it was made with", file);
        check(memcmp(&options, &described, sizeof options) == 0, label);
    } else {
        expect_ok(rnnkit_rnn_create(cell_code(f.cell), f.input, f.hidden, f.layers, f.bidirectional, 0, &rnn), label);
    }
    if (!rnn) { fixture_free(&f); return; }

    /* Copy the state_dict in by name, as a user holding a PyTorch model would. */
    expect_ok(rnnkit_rnn_param_count(rnn, &param_count), "param_count");
    for (i = 0; i < param_count; i++) {
        const char *name = NULL;
        int64_t numel = 0;
        const fixture_tensor *t;
        if (rnnkit_rnn_param_name(rnn, i, &name, &numel) != RNNKIT_OK || !name) { failed_count++; continue; }
        t = fixture_find(&f, name);
        snprintf(label, sizeof label, "%s: fixture has parameter %s with %lld values", file, name, (long long)numel);
        check(t != NULL && (int64_t)t->count == numel, label);
        if (t) {
            float *back = alloc_floats(t->count);
            snprintf(label, sizeof label, "%s: set_param %s", file, name);
            expect_ok(rnnkit_rnn_set_param(rnn, name, t->values, (int64_t)t->count), label);
            snprintf(label, sizeof label, "%s: get_param %s returns what was set", file, name);
            expect_ok(rnnkit_rnn_get_param(rnn, name, back, (int64_t)t->count), label);
            expect_identical(back, t->values, t->count, label);
            free(back);
        }
    }

    is_lstm = strcmp(f.cell, "lstm") == 0;
    directions = f.bidirectional ? 2 : 1;
    T = (size_t)f.steps; B = (size_t)f.batch;
    input_count = T * B * (size_t)f.input;
    /* h is P wide in a projected LSTM (proj_size), c stays H wide. */
    output_count = T * B * (size_t)(directions * (f.proj ? f.proj : f.hidden));
    hidden_count = (size_t)(f.layers * directions) * B * (size_t)(f.proj ? f.proj : f.hidden);
    state_count = (size_t)(f.layers * directions) * B * (size_t)f.hidden;
    x = fixture_find(&f, "x");
    length_tensor = fixture_find(&f, "lengths");
    h0 = fixture_find(&f, "h0");
    c0 = fixture_find(&f, "c0");
    dy = fixture_find(&f, "dy");
    dh_n = fixture_find(&f, "dh_n");
    dc_n = fixture_find(&f, "dc_n");
    /* ONNX Runtime's fixtures have no gradients: forward only. */
    forward_only = fixture_find(&f, "dy") == NULL && fixture_find(&f, "dx") == NULL;
    snprintf(label, sizeof label, "%s: has x and dy of the right sizes", file);
    check(x && x->count == input_count && (forward_only || (dy && dy->count == output_count)), label);
    if (!(x && x->count == input_count && (forward_only || (dy && dy->count == output_count)))) {
        rnnkit_rnn_destroy(rnn);
        fixture_free(&f);
        return;
    }
    if (length_tensor) {
        size_t b;
        lengths = malloc(B * sizeof *lengths);
        if (!lengths) exit(2);
        for (b = 0; b < B; b++) lengths[b] = (int32_t)length_tensor->values[b];
    }
    y = alloc_floats(output_count);
    h_n = alloc_floats(hidden_count);
    c_n = alloc_floats(state_count);
    dx = alloc_floats(input_count);
    dh0 = alloc_floats(hidden_count);
    dc0 = alloc_floats(state_count);

    snprintf(label, sizeof label, "%s: forward", file);
    expect_ok(rnnkit_rnn_forward(rnn, f.steps, f.batch, x->values, lengths, h0 ? h0->values : NULL,
                                 is_lstm && c0 ? c0->values : NULL, y, h_n, is_lstm ? c_n : NULL), label);
    compare_to(&f, file, "y", y, output_count);
    compare_to(&f, file, "h_n", h_n, hidden_count);
    if (is_lstm) compare_to(&f, file, "c_n", c_n, state_count);
    if (forward_only) goto done;

    snprintf(label, sizeof label, "%s: backward", file);
    expect_ok(rnnkit_rnn_backward(rnn, dy->values, dh_n ? dh_n->values : NULL,
                                  is_lstm && dc_n ? dc_n->values : NULL, dx, dh0, is_lstm ? dc0 : NULL), label);
    compare_to(&f, file, "dx", dx, input_count);
    compare_to(&f, file, "dh0", dh0, hidden_count);
    if (is_lstm) compare_to(&f, file, "dc0", dc0, state_count);
    for (i = 0; i < param_count; i++) {
        const char *name = NULL;
        int64_t numel = 0;
        char gradient_name[128];
        float *gradient;
        if (rnnkit_rnn_param_name(rnn, i, &name, &numel) != RNNKIT_OK) continue;
        gradient = alloc_floats((size_t)numel);
        snprintf(label, sizeof label, "%s: get_grad %s", file, name);
        expect_ok(rnnkit_rnn_get_grad(rnn, name, gradient, numel), label);
        snprintf(gradient_name, sizeof gradient_name, "grad.%s", name);
        check(fixture_find(&f, gradient_name) != NULL, gradient_name);
        compare_to(&f, file, gradient_name, gradient, (size_t)numel);
        free(gradient);
    }

    /* zero_grad clears what backward accumulated. */
    {
        const char *name = NULL;
        int64_t numel = 0, k, nonzero = 0;
        float *gradient;
        expect_ok(rnnkit_rnn_zero_grad(rnn), "zero_grad");
        if (rnnkit_rnn_param_name(rnn, 0, &name, &numel) == RNNKIT_OK) {
            gradient = alloc_floats((size_t)numel);
            expect_ok(rnnkit_rnn_get_grad(rnn, name, gradient, numel), "get_grad after zero_grad");
            for (k = 0; k < numel; k++) nonzero += gradient[k] != 0;
            snprintf(label, sizeof label, "%s: zero_grad leaves zero gradients", file);
            check(nonzero == 0, label);
            free(gradient);
        }
    }

done:
    free(y); free(h_n); free(c_n); free(dx); free(dh0); free(dc0); free(lengths);
    rnnkit_rnn_destroy(rnn);
    fixture_free(&f);
}

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_fixtures(const char *directory, size_t expected) {
    DIR *dir = opendir(directory);
    struct dirent *entry;
    char **names = NULL, message[4200];
    size_t count = 0, capacity = 0, i;
    if (!dir) {
        printf("FAILED  cannot open fixture directory %s\n", directory);
        failed_count++;
        return;
    }
    while ((entry = readdir(dir)) != NULL) {
        size_t length = strlen(entry->d_name);
        if (length < 5 || strcmp(entry->d_name + length - 4, ".txt") != 0 || strcmp(entry->d_name, "README.txt") == 0)
            continue;
        if (count == capacity) {
            char **grown;
            capacity = capacity ? 2 * capacity : 64;
            grown = realloc(names, capacity * sizeof *grown);
            if (!grown) exit(2);
            names = grown;
        }
        names[count] = malloc(length + 1);
        if (!names[count]) exit(2);
        memcpy(names[count], entry->d_name, length + 1);
        count++;
    }
    closedir(dir);
    qsort(names, count, sizeof *names, compare_strings);
    snprintf(message, sizeof message, "%s holds at least %zu fixture files", directory, expected);
    check(count >= expected, message);
    for (i = 0; i < count; i++) {
        int failures_before = failed_count;
        test_fixture(directory, names[i]);
        printf("%s fixture %s\n", failed_count == failures_before ? "ok    " : "FAILED", names[i]);
        free(names[i]);
    }
    free(names);
}

/* MARK: 2. save -> load */

static char work_directory[2048] = "/tmp";

static void temp_path(char *path, size_t size, const char *name) {
    snprintf(path, size, "%s/rnnkit-capi-test-%ld-%s", work_directory, (long)getpid(), name);
}

static void test_save_load(int32_t cell, const char *label_prefix) {
    enum { T = 6, B = 2, I = 5, H = 7, L = 2, D = 2 };
    int is_lstm = cell == RNNKIT_CELL_LSTM;
    rnnkit_rnn *original = NULL, *restored = NULL;
    float x[T * B * I], y1[T * B * D * H], y2[T * B * D * H], h1[L * D * B * H], h2[L * D * B * H];
    float c1[L * D * B * H], c2[L * D * B * H];
    char path[4096], label[256];
    fill(x, T * B * I, 11);
    temp_path(path, sizeof path, "save.safetensors");

    expect_ok(rnnkit_rnn_create(cell, I, H, L, 1, 1, &original), "create network to save");
    expect_ok(rnnkit_rnn_create(cell, I, H, L, 1, 2, &restored), "create network to load into (other seed)");
    if (!original || !restored) { rnnkit_rnn_destroy(original); rnnkit_rnn_destroy(restored); return; }
    expect_ok(rnnkit_rnn_forward(original, T, B, x, NULL, NULL, NULL, y1, h1, is_lstm ? c1 : NULL), "forward before save");
    snprintf(label, sizeof label, "%s: save", label_prefix);
    expect_ok(rnnkit_rnn_save(original, path), label);
    expect_ok(rnnkit_rnn_forward(restored, T, B, x, NULL, NULL, NULL, y2, h2, is_lstm ? c2 : NULL), "forward with other weights");
    snprintf(label, sizeof label, "%s: a network with another seed gives other outputs", label_prefix);
    check(memcmp(y1, y2, sizeof y1) != 0, label);
    snprintf(label, sizeof label, "%s: load", label_prefix);
    expect_ok(rnnkit_rnn_load(restored, path), label);
    expect_ok(rnnkit_rnn_forward(restored, T, B, x, NULL, NULL, NULL, y2, h2, is_lstm ? c2 : NULL), "forward after load");
    snprintf(label, sizeof label, "%s: save -> load -> identical y", label_prefix);
    expect_identical(y1, y2, T * B * D * H, label);
    snprintf(label, sizeof label, "%s: save -> load -> identical h_n", label_prefix);
    expect_identical(h1, h2, L * D * B * H, label);
    if (is_lstm) {
        snprintf(label, sizeof label, "%s: save -> load -> identical c_n", label_prefix);
        expect_identical(c1, c2, L * D * B * H, label);
    }
    remove(path);
    rnnkit_rnn_destroy(original);
    rnnkit_rnn_destroy(restored);
}

/* MARK: 2b. A file written by PyTorch
 *
 * ../safetensors/torch_lstm_l2_bi.safetensors is safetensors.torch.save_file(lstm.state_dict())
 * of nn.LSTM(3, 4, num_layers=2, bidirectional=True) (scripts/make-safetensors-fixtures.py);
 * the .txt beside it holds "param NAME SHAPE VALUES", and input, output, h_n, c_n lines. */

typedef struct {
    char key[16], name[64];
    size_t count;
    float *values;
} torch_line;

/* Reads the next "KEY [NAME] SHAPE VALUES..." line; returns 0 at the end of the file. */
static int torch_line_read(FILE *file, torch_line *line) {
    char shape[64]; /* implied by the architecture; only the values are used */
    size_t capacity = 16;
    int c;
    line->count = 0;
    line->name[0] = '\0';
    if (fscanf(file, "%15s", line->key) != 1) return 0;
    if (strcmp(line->key, "param") == 0 && fscanf(file, "%63s", line->name) != 1) return 0;
    if (fscanf(file, "%63s", shape) != 1) return 0;
    line->values = alloc_floats(capacity);
    for (;;) {
        do { c = fgetc(file); } while (c == ' ' || c == '\t');
        if (c == '\n' || c == EOF) break;
        ungetc(c, file);
        if (line->count == capacity) {
            float *grown = realloc(line->values, 2 * capacity * sizeof *grown);
            if (!grown) exit(2);
            line->values = grown;
            capacity *= 2;
        }
        if (fscanf(file, "%f", &line->values[line->count]) != 1) break;
        line->count++;
    }
    return 1;
}

static void test_torch_file(const char *fixtures) {
    enum { T = 2, B = 1, I = 3, H = 4, L = 2, D = 2 };
    char path[4096], label[256];
    rnnkit_rnn *rnn = NULL;
    FILE *file;
    torch_line line;
    float x[T * B * I], y[T * B * D * H], h_n[L * D * B * H], c_n[L * D * B * H];
    float *expected_y = NULL, *expected_h = NULL, *expected_c = NULL;
    int have_input = 0;

    snprintf(path, sizeof path, "%s/../safetensors/torch_lstm_l2_bi.txt", fixtures);
    file = fopen(path, "r");
    check(file != NULL, "the PyTorch safetensors fixture exists");
    if (!file) return;
    expect_ok(rnnkit_rnn_create(RNNKIT_CELL_LSTM, I, H, L, 1, 7, &rnn), "create LSTM for the PyTorch file");
    snprintf(path, sizeof path, "%s/../safetensors/torch_lstm_l2_bi.safetensors", fixtures);
    expect_ok(rnnkit_rnn_load(rnn, path), "load a file written by safetensors.torch.save_file");
    while (rnn && torch_line_read(file, &line)) {
        if (strcmp(line.key, "param") == 0) {
            float *loaded = alloc_floats(line.count);
            snprintf(label, sizeof label, "PyTorch file: %s loaded", line.name);
            expect_ok(rnnkit_rnn_get_param(rnn, line.name, loaded, (int64_t)line.count), label);
            expect_identical(loaded, line.values, line.count, label);
            free(loaded);
            free(line.values);
        } else if (strcmp(line.key, "input") == 0 && line.count == T * B * I) {
            memcpy(x, line.values, sizeof x);
            have_input = 1;
            free(line.values);
        } else if (strcmp(line.key, "output") == 0 && line.count == T * B * D * H) {
            expected_y = line.values;
        } else if (strcmp(line.key, "h_n") == 0 && line.count == L * D * B * H) {
            expected_h = line.values;
        } else if (strcmp(line.key, "c_n") == 0 && line.count == L * D * B * H) {
            expected_c = line.values;
        } else {
            free(line.values);
        }
    }
    fclose(file);
    check(have_input && expected_y && expected_h && expected_c, "the PyTorch fixture has input, output, h_n and c_n");
    if (rnn && have_input && expected_y && expected_h && expected_c) {
        expect_ok(rnnkit_rnn_forward(rnn, T, B, x, NULL, NULL, NULL, y, h_n, c_n), "forward with PyTorch's weights");
        expect_close(y, expected_y, T * B * D * H, "PyTorch file: y");
        expect_close(h_n, expected_h, L * D * B * H, "PyTorch file: h_n");
        expect_close(c_n, expected_c, L * D * B * H, "PyTorch file: c_n");
    }
    free(expected_y); free(expected_h); free(expected_c);
    rnnkit_rnn_destroy(rnn);
}

/* MARK: 3. Streaming */

static void test_streaming(int32_t cell, const char *label_prefix) {
    enum { T = 7, B = 3, I = 4, H = 5, L = 2 };
    int is_lstm = cell == RNNKIT_CELL_LSTM;
    rnnkit_rnn *rnn = NULL;
    float x[T * B * I], y_whole[T * B * H], y_steps[T * B * H];
    float h0[L * B * H], c0[L * B * H], h_whole[L * B * H], c_whole[L * B * H];
    float h[L * B * H], c[L * B * H], h_next[L * B * H], c_next[L * B * H];
    char label[256];
    int t;
    fill(x, T * B * I, 21);
    fill(h0, L * B * H, 22);
    fill(c0, L * B * H, 23);

    expect_ok(rnnkit_rnn_create(cell, I, H, L, 0, 3, &rnn), "create streaming network");
    if (!rnn) return;
    expect_ok(rnnkit_rnn_set_training(rnn, 0), "inference mode");
    snprintf(label, sizeof label, "%s: forward over the whole sequence", label_prefix);
    expect_ok(rnnkit_rnn_forward(rnn, T, B, x, NULL, h0, is_lstm ? c0 : NULL, y_whole, h_whole,
                                 is_lstm ? c_whole : NULL), label);

    memcpy(h, h0, sizeof h);
    memcpy(c, c0, sizeof c);
    for (t = 0; t < T; t++) {
        rnnkit_status status = rnnkit_rnn_forward(rnn, 1, B, x + t * B * I, NULL, h, is_lstm ? c : NULL,
                                                  y_steps + t * B * H, h_next, is_lstm ? c_next : NULL);
        if (status != RNNKIT_OK) {
            snprintf(label, sizeof label, "%s: forward of step %d", label_prefix, t);
            expect_ok(status, label);
            break;
        }
        memcpy(h, h_next, sizeof h);
        memcpy(c, c_next, sizeof c);
    }
    snprintf(label, sizeof label, "%s: streamed y equals y of one call", label_prefix);
    expect_close(y_steps, y_whole, T * B * H, label);
    snprintf(label, sizeof label, "%s: streamed h_n equals h_n of one call", label_prefix);
    expect_close(h, h_whole, L * B * H, label);
    if (is_lstm) {
        snprintf(label, sizeof label, "%s: streamed c_n equals c_n of one call", label_prefix);
        expect_close(c, c_whole, L * B * H, label);
    }
    rnnkit_rnn_destroy(rnn);
}

/* MARK: 4. Bad input */

/* NULL held in variables, so that compilers that see RNNKIT_NONNULL do not warn at the call. */
static rnnkit_rnn *volatile no_rnn = NULL;
static float *volatile no_floats = NULL;
static const char *volatile no_string = NULL;

static void write_bytes(const char *path, const unsigned char *bytes, size_t count) {
    FILE *file = fopen(path, "wb");
    if (!file) { printf("cannot write %s\n", path); exit(2); }
    if (count) fwrite(bytes, 1, count, file);
    fclose(file);
}

static unsigned char *read_bytes(const char *path, size_t *count) {
    FILE *file = fopen(path, "rb");
    unsigned char *bytes;
    long size;
    if (!file) return NULL;
    fseek(file, 0, SEEK_END);
    size = ftell(file);
    fseek(file, 0, SEEK_SET);
    bytes = malloc(size > 0 ? (size_t)size : 1);
    if (!bytes || fread(bytes, 1, (size_t)size, file) != (size_t)size) { free(bytes); fclose(file); return NULL; }
    fclose(file);
    *count = (size_t)size;
    return bytes;
}

static void *fail_on_other_thread(void *argument) {
    rnnkit_rnn *out = NULL;
    (void)argument;
    /* The other thread's message must not change this thread's, nor this one the other's. */
    if (rnnkit_rnn_create(99, 1, 1, 1, 0, 0, &out) == RNNKIT_OK) return (void *)1;
    return strstr(rnnkit_last_error(), "99") ? NULL : (void *)1;
}

static void test_bad_input(void) {
    enum { T = 4, B = 2, I = 3, H = 5, L = 1 };
    rnnkit_rnn *lstm = NULL, *gru = NULL, *out = (rnnkit_rnn *)&out;
    float x[T * B * I], y[T * B * H], state[L * B * H], weights[4 * H * I], dy[T * B * H];
    int32_t count = 0, lengths[B];
    const char *name = "unchanged";
    int64_t numel = 0;
    char path[4096], other_path[4096], message[512];
    fill(x, T * B * I, 31);
    fill(dy, T * B * H, 32);

    /* Library */
    expect_error(rnnkit_set_num_threads(0), RNNKIT_ERROR_INVALID_ARGUMENT, "set_num_threads(0)");
    expect_error(rnnkit_set_num_threads(-3), RNNKIT_ERROR_INVALID_ARGUMENT, "set_num_threads(-3)");
    expect_ok(rnnkit_set_num_threads(1), "set_num_threads(1)");

    /* create */
    expect_error(rnnkit_rnn_create(RNNKIT_CELL_LSTM, I, H, L, 0, 0, (rnnkit_rnn **)no_floats),
                 RNNKIT_ERROR_NULL_POINTER, "create with out = NULL");
    expect_error(rnnkit_rnn_create(-1, I, H, L, 0, 0, &out), RNNKIT_ERROR_INVALID_ARGUMENT, "create with cell -1");
    check(out == NULL, "a failed create sets *out to NULL");
    expect_error(rnnkit_rnn_create(4, I, H, L, 0, 0, &out), RNNKIT_ERROR_INVALID_ARGUMENT, "create with cell 4");
    expect_error(rnnkit_rnn_create(RNNKIT_CELL_LSTM, 0, H, L, 0, 0, &out), RNNKIT_ERROR_INVALID_ARGUMENT, "create with input_size 0");
    expect_error(rnnkit_rnn_create(RNNKIT_CELL_LSTM, -4, H, L, 0, 0, &out), RNNKIT_ERROR_INVALID_ARGUMENT, "create with input_size -4");
    expect_error(rnnkit_rnn_create(RNNKIT_CELL_GRU, I, 0, L, 0, 0, &out), RNNKIT_ERROR_INVALID_ARGUMENT, "create with hidden_size 0");
    expect_error(rnnkit_rnn_create(RNNKIT_CELL_GRU, I, -1, L, 0, 0, &out), RNNKIT_ERROR_INVALID_ARGUMENT, "create with hidden_size -1");
    expect_error(rnnkit_rnn_create(RNNKIT_CELL_RNN_TANH, I, H, 0, 0, 0, &out), RNNKIT_ERROR_INVALID_ARGUMENT, "create with num_layers 0");
    expect_error(rnnkit_rnn_create(RNNKIT_CELL_RNN_TANH, I, H, L, 2, 0, &out), RNNKIT_ERROR_INVALID_ARGUMENT, "create with bidirectional 2");
    expect_error(rnnkit_rnn_create(RNNKIT_CELL_LSTM, 1 << 30, 1 << 30, 1, 0, 0, &out), RNNKIT_ERROR_OUT_OF_MEMORY,
                 "create with input_size 2^30 and hidden_size 2^30 (product overflows the limit)");
    expect_error(rnnkit_rnn_create(RNNKIT_CELL_LSTM, INT32_MAX, INT32_MAX, INT32_MAX, 1, 0, &out), RNNKIT_ERROR_OUT_OF_MEMORY,
                 "create with every size INT32_MAX");
    expect_error(rnnkit_rnn_create(RNNKIT_CELL_LSTM, 1 << 15, 1 << 15, 1, 0, 0, &out), RNNKIT_ERROR_OUT_OF_MEMORY,
                 "create whose parameters and gradients (2 x 2^33 floats, 64 GiB) cannot be allocated");
    expect_error(rnnkit_rnn_create(RNNKIT_CELL_RNN_TANH, 1, 1, 1 << 29, 1, 0, &out), RNNKIT_ERROR_OUT_OF_MEMORY,
                 "create with 2^29 bidirectional layers (2^32 parameter tensors)");
    check(out == NULL, "*out stays NULL after failed creates");

    expect_ok(rnnkit_rnn_create(RNNKIT_CELL_LSTM, I, H, L, 0, 0, &lstm), "create LSTM");
    expect_ok(rnnkit_rnn_create(RNNKIT_CELL_GRU, I, H, L, 0, 0, &gru), "create GRU");
    if (!lstm || !gru) return;

    /* parameters */
    expect_error(rnnkit_rnn_param_count(no_rnn, &count), RNNKIT_ERROR_NULL_POINTER, "param_count(NULL handle)");
    expect_error(rnnkit_rnn_param_count(lstm, (int32_t *)no_floats), RNNKIT_ERROR_NULL_POINTER, "param_count(count = NULL)");
    expect_ok(rnnkit_rnn_param_count(lstm, &count), "param_count");
    check(count == 4, "a one-layer unidirectional LSTM has 4 parameter tensors");
    expect_error(rnnkit_rnn_param_name(no_rnn, 0, &name, &numel), RNNKIT_ERROR_NULL_POINTER, "param_name(NULL handle)");
    expect_error(rnnkit_rnn_param_name(lstm, 0, (const char **)no_floats, &numel), RNNKIT_ERROR_NULL_POINTER, "param_name(name = NULL)");
    expect_error(rnnkit_rnn_param_name(lstm, 0, &name, (int64_t *)no_floats), RNNKIT_ERROR_NULL_POINTER, "param_name(numel = NULL)");
    expect_error(rnnkit_rnn_param_name(lstm, -1, &name, &numel), RNNKIT_ERROR_INVALID_ARGUMENT, "param_name(index -1)");
    expect_error(rnnkit_rnn_param_name(lstm, count, &name, &numel), RNNKIT_ERROR_INVALID_ARGUMENT, "param_name(index = count)");
    expect_ok(rnnkit_rnn_param_name(lstm, 0, &name, &numel), "param_name(0)");
    check(strcmp(name, "weight_ih_l0") == 0 && numel == 4 * H * I, "parameter 0 is weight_ih_l0 with 4*H*I values");
    fill(weights, 4 * H * I, 33);
    expect_error(rnnkit_rnn_set_param(no_rnn, "weight_ih_l0", weights, 4 * H * I), RNNKIT_ERROR_NULL_POINTER, "set_param(NULL handle)");
    expect_error(rnnkit_rnn_set_param(lstm, no_string, weights, 4 * H * I), RNNKIT_ERROR_NULL_POINTER, "set_param(name = NULL)");
    expect_error(rnnkit_rnn_set_param(lstm, "weight_ih_l0", no_floats, 4 * H * I), RNNKIT_ERROR_NULL_POINTER, "set_param(data = NULL)");
    expect_error(rnnkit_rnn_set_param(lstm, "weight_xx_l0", weights, 4 * H * I), RNNKIT_ERROR_INVALID_ARGUMENT, "set_param(unknown name)");
    check(strstr(rnnkit_last_error(), "weight_ih_l0") != NULL, "the unknown-name message lists the valid names");
    expect_error(rnnkit_rnn_set_param(lstm, "weight_ih_l1", weights, 4 * H * I), RNNKIT_ERROR_INVALID_ARGUMENT, "set_param(layer that does not exist)");
    expect_error(rnnkit_rnn_set_param(lstm, "weight_ih_l0", weights, 4 * H * I - 1), RNNKIT_ERROR_SHAPE_MISMATCH, "set_param(numel one short)");
    check(strstr(rnnkit_last_error(), "60") != NULL, "the wrong-count message says the expected count");
    expect_error(rnnkit_rnn_set_param(lstm, "weight_ih_l0", weights, -1), RNNKIT_ERROR_SHAPE_MISMATCH, "set_param(numel -1)");
    expect_error(rnnkit_rnn_get_param(no_rnn, "weight_ih_l0", weights, 4 * H * I), RNNKIT_ERROR_NULL_POINTER, "get_param(NULL handle)");
    expect_error(rnnkit_rnn_get_param(lstm, "bias", weights, 4 * H), RNNKIT_ERROR_INVALID_ARGUMENT, "get_param(unknown name)");
    expect_error(rnnkit_rnn_get_param(lstm, "bias_ih_l0", weights, 4 * H + 1), RNNKIT_ERROR_SHAPE_MISMATCH, "get_param(numel one too many)");
    expect_error(rnnkit_rnn_get_param(lstm, "bias_ih_l0", no_floats, 4 * H), RNNKIT_ERROR_NULL_POINTER, "get_param(data = NULL)");
    expect_error(rnnkit_rnn_get_grad(no_rnn, "bias_ih_l0", weights, 4 * H), RNNKIT_ERROR_NULL_POINTER, "get_grad(NULL handle)");
    expect_error(rnnkit_rnn_get_grad(lstm, "bias_ih_l0_reverse", weights, 4 * H), RNNKIT_ERROR_INVALID_ARGUMENT, "get_grad(unknown name)");
    expect_error(rnnkit_rnn_get_grad(lstm, "bias_ih_l0", weights, 0), RNNKIT_ERROR_SHAPE_MISMATCH, "get_grad(numel 0)");
    expect_error(rnnkit_rnn_zero_grad(no_rnn), RNNKIT_ERROR_NULL_POINTER, "zero_grad(NULL handle)");
    expect_error(rnnkit_rnn_set_training(no_rnn, 1), RNNKIT_ERROR_NULL_POINTER, "set_training(NULL handle)");
    expect_error(rnnkit_rnn_set_training(lstm, 2), RNNKIT_ERROR_INVALID_ARGUMENT, "set_training(2)");

    /* backward before any forward */
    expect_error(rnnkit_rnn_backward(lstm, dy, NULL, NULL, NULL, NULL, NULL), RNNKIT_ERROR_INVALID_STATE, "backward before forward");

    /* forward */
    expect_error(rnnkit_rnn_forward(no_rnn, T, B, x, NULL, NULL, NULL, y, NULL, NULL), RNNKIT_ERROR_NULL_POINTER, "forward(NULL handle)");
    expect_error(rnnkit_rnn_forward(lstm, T, B, no_floats, NULL, NULL, NULL, y, NULL, NULL), RNNKIT_ERROR_NULL_POINTER, "forward(x = NULL)");
    expect_error(rnnkit_rnn_forward(lstm, T, B, x, NULL, NULL, NULL, no_floats, NULL, NULL), RNNKIT_ERROR_NULL_POINTER, "forward(y = NULL)");
    expect_error(rnnkit_rnn_forward(lstm, 0, B, x, NULL, NULL, NULL, y, NULL, NULL), RNNKIT_ERROR_INVALID_ARGUMENT, "forward(seq_len 0)");
    expect_error(rnnkit_rnn_forward(lstm, -2, B, x, NULL, NULL, NULL, y, NULL, NULL), RNNKIT_ERROR_INVALID_ARGUMENT, "forward(seq_len -2)");
    expect_error(rnnkit_rnn_forward(lstm, T, 0, x, NULL, NULL, NULL, y, NULL, NULL), RNNKIT_ERROR_INVALID_ARGUMENT, "forward(batch 0)");
    expect_error(rnnkit_rnn_forward(lstm, T, -1, x, NULL, NULL, NULL, y, NULL, NULL), RNNKIT_ERROR_INVALID_ARGUMENT, "forward(batch -1)");
    expect_error(rnnkit_rnn_forward(lstm, 1 << 30, 1 << 30, x, NULL, NULL, NULL, y, NULL, NULL), RNNKIT_ERROR_OUT_OF_MEMORY,
                 "forward(seq_len 2^30, batch 2^30)");
    expect_error(rnnkit_rnn_forward(lstm, INT32_MAX, INT32_MAX, x, NULL, NULL, NULL, y, NULL, NULL), RNNKIT_ERROR_OUT_OF_MEMORY,
                 "forward(seq_len and batch INT32_MAX)");
    lengths[0] = T; lengths[1] = 0;
    expect_error(rnnkit_rnn_forward(lstm, T, B, x, lengths, NULL, NULL, y, NULL, NULL), RNNKIT_ERROR_INVALID_ARGUMENT, "forward(a length of 0)");
    check(strstr(rnnkit_last_error(), "lengths[1]") != NULL, "the length message names the row");
    lengths[0] = T + 1; lengths[1] = 1;
    expect_error(rnnkit_rnn_forward(lstm, T, B, x, lengths, NULL, NULL, y, NULL, NULL), RNNKIT_ERROR_INVALID_ARGUMENT, "forward(a length of T + 1)");
    lengths[0] = -5;
    expect_error(rnnkit_rnn_forward(lstm, T, B, x, lengths, NULL, NULL, y, NULL, NULL), RNNKIT_ERROR_INVALID_ARGUMENT, "forward(a negative length)");
    fill(state, L * B * H, 34);
    expect_error(rnnkit_rnn_forward(gru, T, B, x, NULL, NULL, state, y, NULL, NULL), RNNKIT_ERROR_INVALID_ARGUMENT, "forward(c0 for a GRU)");
    expect_error(rnnkit_rnn_forward(gru, T, B, x, NULL, NULL, NULL, y, NULL, state), RNNKIT_ERROR_INVALID_ARGUMENT, "forward(c_n for a GRU)");
    expect_error(rnnkit_rnn_backward(lstm, dy, NULL, NULL, NULL, NULL, NULL), RNNKIT_ERROR_INVALID_STATE, "backward after only failed forwards");

    /* backward: NULL pointers, twice, after a failed forward, in inference mode */
    expect_ok(rnnkit_rnn_forward(lstm, T, B, x, NULL, NULL, NULL, y, NULL, NULL), "forward");
    expect_error(rnnkit_rnn_backward(no_rnn, dy, NULL, NULL, NULL, NULL, NULL), RNNKIT_ERROR_NULL_POINTER, "backward(NULL handle)");
    expect_error(rnnkit_rnn_backward(lstm, no_floats, NULL, NULL, NULL, NULL, NULL), RNNKIT_ERROR_NULL_POINTER, "backward(dy = NULL)");
    expect_ok(rnnkit_rnn_backward(lstm, dy, NULL, NULL, NULL, NULL, NULL), "backward (all optional pointers NULL)");
    expect_error(rnnkit_rnn_backward(lstm, dy, NULL, NULL, NULL, NULL, NULL), RNNKIT_ERROR_INVALID_STATE, "a second backward for one forward");
    expect_ok(rnnkit_rnn_forward(gru, T, B, x, NULL, NULL, NULL, y, NULL, NULL), "GRU forward");
    expect_error(rnnkit_rnn_backward(gru, dy, NULL, state, NULL, NULL, NULL), RNNKIT_ERROR_INVALID_ARGUMENT, "backward(dc_n for a GRU)");
    expect_error(rnnkit_rnn_backward(gru, dy, NULL, NULL, NULL, NULL, state), RNNKIT_ERROR_INVALID_ARGUMENT, "backward(dc0 for a GRU)");
    expect_ok(rnnkit_rnn_backward(gru, dy, NULL, NULL, NULL, NULL, NULL), "GRU backward after refused ones");
    expect_ok(rnnkit_rnn_forward(lstm, T, B, x, NULL, NULL, NULL, y, NULL, NULL), "forward again");
    expect_error(rnnkit_rnn_forward(lstm, 0, B, x, NULL, NULL, NULL, y, NULL, NULL), RNNKIT_ERROR_INVALID_ARGUMENT, "a failed forward");
    expect_error(rnnkit_rnn_backward(lstm, dy, NULL, NULL, NULL, NULL, NULL), RNNKIT_ERROR_INVALID_STATE, "backward after a failed forward");
    expect_ok(rnnkit_rnn_forward(lstm, T, B, x, NULL, NULL, NULL, y, NULL, NULL), "forward in training mode");
    expect_ok(rnnkit_rnn_set_training(lstm, 0), "set_training(0)");
    expect_error(rnnkit_rnn_backward(lstm, dy, NULL, NULL, NULL, NULL, NULL), RNNKIT_ERROR_INVALID_STATE, "backward in inference mode");
    expect_ok(rnnkit_rnn_forward(lstm, T, B, x, NULL, NULL, NULL, y, NULL, NULL), "forward in inference mode");
    expect_error(rnnkit_rnn_backward(lstm, dy, NULL, NULL, NULL, NULL, NULL), RNNKIT_ERROR_INVALID_STATE, "backward after an inference forward");
    expect_ok(rnnkit_rnn_set_training(lstm, 1), "set_training(1)");

    /* files */
    temp_path(path, sizeof path, "bad.safetensors");
    temp_path(other_path, sizeof other_path, "other.safetensors");
    expect_error(rnnkit_rnn_save(no_rnn, path), RNNKIT_ERROR_NULL_POINTER, "save(NULL handle)");
    expect_error(rnnkit_rnn_save(lstm, no_string), RNNKIT_ERROR_NULL_POINTER, "save(path = NULL)");
    expect_error(rnnkit_rnn_save(lstm, "/nonexistent-directory-for-rnnkit/x.safetensors"), RNNKIT_ERROR_IO, "save into a missing directory");
    expect_error(rnnkit_rnn_load(no_rnn, path), RNNKIT_ERROR_NULL_POINTER, "load(NULL handle)");
    expect_error(rnnkit_rnn_load(lstm, no_string), RNNKIT_ERROR_NULL_POINTER, "load(path = NULL)");
    expect_error(rnnkit_rnn_load(lstm, "/nonexistent-directory-for-rnnkit/x.safetensors"), RNNKIT_ERROR_IO, "load a missing file");
    {
        float before[4 * H * I], after[4 * H * I];
        unsigned char *bytes;
        size_t size = 0, i;
        expect_ok(rnnkit_rnn_get_param(lstm, "weight_ih_l0", before, 4 * H * I), "get_param before bad loads");
        expect_ok(rnnkit_rnn_save(lstm, path), "save a good file");
        bytes = read_bytes(path, &size);
        check(bytes != NULL && size > 16, "the saved file can be read back");
        if (bytes && size > 16) {
            /* truncated: half the file, then only the 8-byte header length */
            write_bytes(path, bytes, size / 2);
            expect_error(rnnkit_rnn_load(lstm, path), RNNKIT_ERROR_INVALID_FILE, "load a truncated file (half)");
            write_bytes(path, bytes, 8);
            expect_error(rnnkit_rnn_load(lstm, path), RNNKIT_ERROR_INVALID_FILE, "load a truncated file (8 bytes)");
            write_bytes(path, bytes, 0);
            expect_error(rnnkit_rnn_load(lstm, path), RNNKIT_ERROR_INVALID_FILE, "load an empty file");
            /* corrupt: a header length far past the end, then garbage in the JSON header */
            {
                unsigned char *corrupt = malloc(size);
                if (!corrupt) exit(2);
                memcpy(corrupt, bytes, size);
                corrupt[7] = 0x7f;
                write_bytes(path, corrupt, size);
                expect_error(rnnkit_rnn_load(lstm, path), RNNKIT_ERROR_INVALID_FILE, "load a file whose header length is huge");
                memcpy(corrupt, bytes, size);
                for (i = 8; i < 8 + 24 && i < size; i++) corrupt[i] = (unsigned char)('#' + i % 7);
                write_bytes(path, corrupt, size);
                expect_error(rnnkit_rnn_load(lstm, path), RNNKIT_ERROR_INVALID_FILE, "load a file with a corrupt header");
                memset(corrupt, 0xff, size);
                write_bytes(path, corrupt, size);
                expect_error(rnnkit_rnn_load(lstm, path), RNNKIT_ERROR_INVALID_FILE, "load a file of 0xff bytes");
                free(corrupt);
            }
        }
        free(bytes);
        /* another architecture: a GRU's file into an LSTM, and an LSTM of another hidden size */
        expect_ok(rnnkit_rnn_save(gru, other_path), "save a GRU");
        expect_error(rnnkit_rnn_load(lstm, other_path), RNNKIT_ERROR_INVALID_FILE, "load a GRU file into an LSTM");
        {
            rnnkit_rnn *wider = NULL;
            expect_ok(rnnkit_rnn_create(RNNKIT_CELL_LSTM, I, H + 1, L, 0, 0, &wider), "create a wider LSTM");
            if (wider) {
                expect_ok(rnnkit_rnn_save(wider, other_path), "save the wider LSTM");
                expect_error(rnnkit_rnn_load(lstm, other_path), RNNKIT_ERROR_INVALID_FILE, "load an LSTM of another hidden size");
                rnnkit_rnn_destroy(wider);
            }
        }
        expect_ok(rnnkit_rnn_get_param(lstm, "weight_ih_l0", after, 4 * H * I), "get_param after bad loads");
        expect_identical(before, after, 4 * H * I, "failed loads leave the weights untouched");
        remove(path);
        remove(other_path);
    }

    /* last_error is per thread and stays until the next failure */
    expect_error(rnnkit_rnn_forward(lstm, T, 0, x, NULL, NULL, NULL, y, NULL, NULL), RNNKIT_ERROR_INVALID_ARGUMENT, "batch 0 again");
    snprintf(message, sizeof message, "%s", rnnkit_last_error());
    expect_ok(rnnkit_rnn_forward(lstm, T, B, x, NULL, NULL, NULL, y, NULL, NULL), "a successful call");
    check(strcmp(message, rnnkit_last_error()) == 0, "a successful call keeps the last error");
    {
        pthread_t thread;
        void *result = (void *)1;
        if (pthread_create(&thread, NULL, fail_on_other_thread, NULL) == 0) pthread_join(thread, &result);
        check(result == NULL, "another thread sees its own error message");
        check(strcmp(message, rnnkit_last_error()) == 0, "another thread's failure leaves this thread's message");
    }

    rnnkit_rnn_destroy(NULL);
    check(1, "destroy(NULL) is a no-op");
    rnnkit_rnn_destroy(lstm);
    rnnkit_rnn_destroy(gru);
}

/* MARK: Whole models
 *
 * Tests/CAPI/fixtures holds two small models written by RNNKit (Tests/RNNKitTests/ModelTestsCFixtures.swift,
 * which pins the same expectations): a character LSTM trained on "hello world " and an untrained
 * two-layer GRU reading 2 features with 3 outputs per step. */

static void model_fixture_path(char *path, size_t size, const char *fixtures, const char *name) {
    /* fixtures is Tests/RNNKitTests/Fixtures/recurrent; the model fixtures sit in Tests/CAPI/fixtures. */
    snprintf(path, size, "%s/../../../CAPI/fixtures/%s", fixtures, name);
}

static void test_models(const char *fixtures) {
    char path[4096];
    rnnkit_model *model = NULL;
    int32_t takes_tokens = -1;
    int64_t input_size = -1, output_size = -1;

    /* The character model: greedy sampling continues the phrase it learned. */
    model_fixture_path(path, sizeof path, fixtures, "char-model.safetensors");
    expect_ok(rnnkit_model_load(path, &model), "model_load char model");
    if (model == NULL) return;
    expect_ok(rnnkit_model_describe(model, &takes_tokens, &input_size, &output_size), "model_describe char model");
    check(takes_tokens == 1 && input_size == 8 && output_size == 8, "char model: token input, V = O = 8");
    char text[64];
    expect_ok(rnnkit_model_sample_text(model, "hel", 16, 0.0, 0, text, sizeof text), "model_sample_text greedy");
    check(strcmp(text, "lo world hello w") == 0, "greedy sample after \"hel\" is \"lo world hello w\"");
    char again[64];
    expect_ok(rnnkit_model_sample_text(model, "w", 30, 1.0, 7, text, sizeof text), "model_sample_text T = 1");
    expect_ok(rnnkit_model_sample_text(model, "w", 30, 1.0, 7, again, sizeof again), "model_sample_text T = 1 again");
    check(strcmp(text, again) == 0 && strlen(text) == 30, "same seed, same 30 sampled characters");
    char small[4] = "xyz";
    expect_error(rnnkit_model_sample_text(model, "hel", 16, 0.0, 0, small, sizeof small), RNNKIT_ERROR_SHAPE_MISMATCH,
                 "sample_text into a buffer too small");
    check(strcmp(small, "xyz") == 0, "a too-small buffer is untouched");
    expect_error(rnnkit_model_sample_text(model, "Q", 4, 1.0, 0, text, sizeof text), RNNKIT_ERROR_INVALID_ARGUMENT,
                 "sample_text with a prime character outside the vocabulary");
    expect_error(rnnkit_model_sample_text(model, "h", 4, -1.0, 0, text, sizeof text), RNNKIT_ERROR_INVALID_ARGUMENT,
                 "sample_text with a negative temperature");

    /* Stepping token by token: after "hello" the most likely next character is ' ' (id 0 in the sorted vocabulary). */
    float logits[8], first[8];
    const int64_t hello[5] = {3, 2, 4, 4, 5};   /* h e l l o: vocabulary " dehlorw" */
    for (int i = 0; i < 5; i++) expect_ok(rnnkit_model_step_token(model, hello[i], logits, 8), "model_step_token");
    int best = 0;
    for (int v = 1; v < 8; v++) if (logits[v] > logits[best]) best = v;
    check(best == 0, "after \"hello\" the most likely next character is a space");
    expect_ok(rnnkit_model_reset(model), "model_reset");
    expect_ok(rnnkit_model_step_token(model, 3, first, 8), "model_step_token after reset");
    expect_ok(rnnkit_model_reset(model), "model_reset again");
    expect_ok(rnnkit_model_step_token(model, 3, logits, 8), "model_step_token after reset again");
    expect_identical(first, logits, 8, "reset returns to the same state");
    memcpy(first, logits, sizeof logits);
    expect_error(rnnkit_model_step_token(model, 8, logits, 8), RNNKIT_ERROR_INVALID_ARGUMENT, "step_token with id V");
    expect_error(rnnkit_model_step_token(model, -1, logits, 8), RNNKIT_ERROR_INVALID_ARGUMENT, "step_token with id -1");
    expect_error(rnnkit_model_step_token(model, 1, logits, 7), RNNKIT_ERROR_SHAPE_MISMATCH, "step_token with out_count 7");
    expect_identical(first, logits, 8, "failed steps leave out untouched");
    float x[2] = {0.5f, -1.0f};
    expect_error(rnnkit_model_step_features(model, x, 2, logits, 8), RNNKIT_ERROR_INVALID_ARGUMENT, "step_features on a token model");
    expect_error(rnnkit_model_step_token(NULL, 1, logits, 8), RNNKIT_ERROR_NULL_POINTER, "step_token with a NULL model");
    rnnkit_model_destroy(model);
    model = NULL;

    /* The feature model: two steps reproduce the outputs RNNKit computed. */
    model_fixture_path(path, sizeof path, fixtures, "feature-model.safetensors");
    expect_ok(rnnkit_model_load(path, &model), "model_load feature model");
    if (model == NULL) return;
    expect_ok(rnnkit_model_describe(model, &takes_tokens, &input_size, &output_size), "model_describe feature model");
    check(takes_tokens == 0 && input_size == 2 && output_size == 3, "feature model: I = 2, O = 3");
    float y[3];
    const float step1[2] = {0.5f, -1.0f}, step2[2] = {0.25f, 2.0f};
    const float expected[3] = {0.5201532f, -0.4467219f, 0.5244943f};
    expect_ok(rnnkit_model_step_features(model, step1, 2, y, 3), "model_step_features step 1");
    expect_ok(rnnkit_model_step_features(model, step2, 2, y, 3), "model_step_features step 2");
    expect_close(y, expected, 3, "feature model: second step outputs as computed by RNNKit");
    expect_error(rnnkit_model_step_features(model, step1, 3, y, 3), RNNKIT_ERROR_SHAPE_MISMATCH, "step_features with n = 3");
    expect_error(rnnkit_model_step_token(model, 0, y, 3), RNNKIT_ERROR_INVALID_ARGUMENT, "step_token on a feature model");
    expect_error(rnnkit_model_sample_text(model, "", 3, 1.0, 0, text, sizeof text), RNNKIT_ERROR_INVALID_ARGUMENT,
                 "sample_text on a model without vocabulary");
    rnnkit_model_destroy(model);
    rnnkit_model_destroy(NULL);

    /* The pattern models (PatternModelCFixtures in ModelTestsCFixtures.swift pins the same numbers). */
    int32_t kind = -1, head = -1, bidirectional = -1;
    int64_t condition_classes = -1, condition_features = -1;
    model_fixture_path(path, sizeof path, fixtures, "classifier-model.safetensors");
    expect_ok(rnnkit_model_load(path, &model), "model_load bidirectional classifier");
    if (model == NULL) return;
    expect_ok(rnnkit_model_describe_pattern(model, &kind, &head, &bidirectional, &condition_classes, &condition_features),
              "describe_pattern classifier");
    check(kind == RNNKIT_MODEL_SEQUENCE && head == RNNKIT_HEAD_MAX_POOL && bidirectional == 1 && condition_classes == 0 && condition_features == 0,
          "classifier: max pooling, bidirectional, unconditioned");
    const int64_t sentence[4] = {1, 2, 3, 4};
    float probabilities[3], untouched[3] = {7, 7, 7};
    const float expected_probabilities[3] = {0.4318937f, 0.2064907f, 0.3616155f};
    expect_ok(rnnkit_model_predict_tokens(model, sentence, 4, 1, probabilities, 3), "predict_tokens: classify a sequence");
    expect_close(probabilities, expected_probabilities, 3, "classifier: class probabilities as computed by RNNKit");
    memcpy(probabilities, untouched, sizeof untouched);
    const int64_t bad_sentence[4] = {1, 2, 6, 4};
    expect_error(rnnkit_model_predict_tokens(model, bad_sentence, 4, 1, probabilities, 3), RNNKIT_ERROR_INVALID_ARGUMENT,
                 "predict_tokens with an id out of range");
    expect_error(rnnkit_model_predict_tokens(model, sentence, 4, 1, probabilities, 12), RNNKIT_ERROR_SHAPE_MISMATCH,
                 "predict_tokens with a per-step out_count for a per-sequence head");
    expect_error(rnnkit_model_predict_tokens(model, sentence, 0, 1, probabilities, 3), RNNKIT_ERROR_INVALID_ARGUMENT,
                 "predict_tokens with 0 steps");
    expect_error(rnnkit_model_predict_tokens(model, sentence, 4, 2, probabilities, 3), RNNKIT_ERROR_INVALID_ARGUMENT,
                 "predict_tokens with probabilities = 2");
    expect_identical(probabilities, untouched, 3, "failed predictions leave out untouched");
    expect_error(rnnkit_model_step_token(model, 1, probabilities, 3), RNNKIT_ERROR_INVALID_ARGUMENT,
                 "step_token on a bidirectional model");
    check(strstr(rnnkit_last_error(), "bidirectional") != NULL, "the message says the model is bidirectional");
    expect_error(rnnkit_model_reset(model), RNNKIT_ERROR_INVALID_ARGUMENT, "reset on a bidirectional model");
    rnnkit_model_destroy(model);
    model = NULL;

    model_fixture_path(path, sizeof path, fixtures, "tagger-model.safetensors");
    expect_ok(rnnkit_model_load(path, &model), "model_load bidirectional tagger");
    if (model == NULL) return;
    const float frames[6] = {0.5f, -1.0f, 0.25f, 2.0f, -0.75f, 0.1f};
    const float expected_tags[6] = {-0.1724946f, 0.2249670f, -0.2928675f, 0.1660265f, -0.2007789f, 0.2375712f};
    float tags[6];
    expect_ok(rnnkit_model_predict_features(model, frames, 3, 2, 0, tags, 6), "predict_features: tag a sequence");
    expect_close(tags, expected_tags, 6, "tagger: per-step outputs as computed by RNNKit");
    expect_ok(rnnkit_model_predict_features(model, frames, 3, 2, 1, tags, 6), "predict_features with probabilities");
    check(fabsf(tags[0] + tags[1] - 1.0f) < 1e-6f && fabsf(tags[4] + tags[5] - 1.0f) < 1e-6f, "each step's probabilities sum to 1");
    expect_error(rnnkit_model_predict_features(model, frames, 3, 3, 0, tags, 6), RNNKIT_ERROR_SHAPE_MISMATCH,
                 "predict_features with n = 3");
    expect_error(rnnkit_model_predict_tokens(model, sentence, 4, 0, tags, 6), RNNKIT_ERROR_INVALID_ARGUMENT,
                 "predict_tokens on a feature model");
    rnnkit_model_destroy(model);
    model = NULL;

    model_fixture_path(path, sizeof path, fixtures, "conditioned-model.safetensors");
    expect_ok(rnnkit_model_load(path, &model), "model_load conditioned generator");
    if (model == NULL) return;
    expect_ok(rnnkit_model_describe_pattern(model, &kind, &head, &bidirectional, &condition_classes, &condition_features),
              "describe_pattern generator");
    check(head == RNNKIT_HEAD_EVERY_STEP && bidirectional == 0 && condition_classes == 2 && condition_features == 0,
          "generator: every step, unidirectional, 2 condition classes");
    const int64_t begin[1] = {0};
    int64_t generated[4] = {0, 0, 0, 0};
    expect_ok(rnnkit_model_sample_tokens(model, begin, 1, 0, NULL, 0, 4, 0.0, 0, generated, 4), "sample_tokens for class 0");
    check(generated[0] == 1 && generated[1] == 2 && generated[2] == 3 && generated[3] == 4, "class 0 writes 1 2 3 4");
    expect_ok(rnnkit_model_sample_tokens(model, begin, 1, 1, NULL, 0, 4, 0.0, 0, generated, 4), "sample_tokens for class 1");
    check(generated[0] == 4 && generated[1] == 3 && generated[2] == 2 && generated[3] == 1, "class 1 writes 4 3 2 1");
    expect_error(rnnkit_model_sample_tokens(model, begin, 1, 2, NULL, 0, 4, 0.0, 0, generated, 4), RNNKIT_ERROR_INVALID_ARGUMENT,
                 "sample_tokens with class id 2 of 2");
    check(strstr(rnnkit_last_error(), "out of range") != NULL, "the message says the class id is out of range");
    expect_error(rnnkit_model_sample_tokens(model, begin, 1, 0, NULL, 0, 4, 0.0, 0, generated, 3), RNNKIT_ERROR_SHAPE_MISMATCH,
                 "sample_tokens with out_count != length");
    float step_logits[5];
    expect_error(rnnkit_model_step_token(model, 0, step_logits, 5), RNNKIT_ERROR_INVALID_STATE,
                 "step_token on a conditioned model before reset_condition");
    expect_ok(rnnkit_model_reset_condition(model, 1, NULL, 0), "reset_condition to class 1");
    expect_ok(rnnkit_model_step_token(model, 0, step_logits, 5), "step_token from class 1's state");
    int next = 0;
    for (int v = 1; v < 5; v++) if (step_logits[v] > step_logits[next]) next = v;
    check(next == 4, "streaming from class 1's state, token 0 is followed by 4");
    const float stray[1] = {1.0f};
    expect_error(rnnkit_model_reset_condition(model, 0, stray, 1), RNNKIT_ERROR_INVALID_ARGUMENT,
                 "reset_condition with features for a class-conditioned model");
    expect_error(rnnkit_model_reset(model), RNNKIT_ERROR_INVALID_ARGUMENT, "reset on a conditioned model");
    rnnkit_model_destroy(model);
    model = NULL;

    /* The encoder-decoder: a bidirectional encoder with general attention, trained to reverse. */
    model_fixture_path(path, sizeof path, fixtures, "reverser-model.safetensors");
    expect_ok(rnnkit_model_load(path, &model), "model_load encoder-decoder");
    if (model == NULL) return;
    expect_ok(rnnkit_model_describe_pattern(model, &kind, &head, &bidirectional, &condition_classes, &condition_features),
              "describe_pattern encoder-decoder");
    check(kind == RNNKIT_MODEL_SEQ2SEQ && bidirectional == 1, "encoder-decoder: seq2seq kind, bidirectional encoder");
    expect_ok(rnnkit_model_describe(model, &takes_tokens, &input_size, &output_size), "model_describe encoder-decoder");
    check(takes_tokens == 1 && input_size == 5 && output_size == 7, "encoder-decoder: 5 source ids, 7 target ids");
    const int64_t source[4] = {1, 2, 3, 4};
    int64_t decoded[8], decoded_count = -1;
    float weights[8 * 4];
    for (int32_t beam = 1; beam <= 3; beam += 2) {
        decoded_count = -1;
        expect_ok(rnnkit_model_decode(model, source, 4, beam, 1.0, 8, decoded, 8, &decoded_count, weights, 8 * 4),
                  beam == 1 ? "decode greedily" : "decode with a beam of 3");
        check(decoded_count == 4 && decoded[0] == 4 && decoded[1] == 3 && decoded[2] == 2 && decoded[3] == 1,
              "the reverser writes 4 3 2 1 for 1 2 3 4");
        int diagonal = 1;
        for (int k = 0; k < 4; k++) {
            float sum = 0;
            int best = 0;
            for (int j = 0; j < 4; j++) {
                sum += weights[k * 4 + j];
                if (weights[k * 4 + j] > weights[k * 4 + best]) best = j;
            }
            if (fabsf(sum - 1.0f) > 1e-5f || best != 3 - k) diagonal = 0;
        }
        check(diagonal, "each attention row sums to 1 and looks at the source position it reverses");
    }
    expect_ok(rnnkit_model_decode(model, source, 4, 2, 0.0, 8, decoded, 8, &decoded_count, NULL, 0), "decode without attention weights");
    int64_t untouched_count = decoded_count;
    expect_error(rnnkit_model_decode(model, source, 4, 0, 1.0, 8, decoded, 8, &decoded_count, NULL, 0), RNNKIT_ERROR_INVALID_ARGUMENT,
                 "decode with a beam width of 0");
    check(strstr(rnnkit_last_error(), "beam_width") != NULL, "the message names beam_width");
    const int64_t bad_source[2] = {1, 5};
    expect_error(rnnkit_model_decode(model, bad_source, 2, 1, 1.0, 8, decoded, 8, &decoded_count, NULL, 0), RNNKIT_ERROR_INVALID_ARGUMENT,
                 "decode a source id out of range");
    expect_error(rnnkit_model_decode(model, source, 100001, 1, 1.0, 8, decoded, 8, &decoded_count, NULL, 0), RNNKIT_ERROR_INVALID_ARGUMENT,
                 "decode a source longer than the limit");
    expect_error(rnnkit_model_decode(model, source, 4, 1, 1.0, 8, decoded, 7, &decoded_count, NULL, 0), RNNKIT_ERROR_SHAPE_MISMATCH,
                 "decode into out_capacity < maximum_length");
    expect_error(rnnkit_model_decode(model, source, 4, 1, 1.0, 8, decoded, 8, &decoded_count, weights, 31), RNNKIT_ERROR_SHAPE_MISMATCH,
                 "decode with too little room for the attention weights");
    expect_error(rnnkit_model_decode(model, source, 4, 1, -1.0, 8, decoded, 8, &decoded_count, NULL, 0), RNNKIT_ERROR_INVALID_ARGUMENT,
                 "decode with a negative length normalisation");
    check(decoded_count == untouched_count, "failed decodes leave out_count untouched");
    expect_error(rnnkit_model_step_token(model, 1, probabilities, 3), RNNKIT_ERROR_INVALID_ARGUMENT, "step_token on an encoder-decoder");
    check(strstr(rnnkit_last_error(), "rnnkit_model_decode") != NULL, "the message points to rnnkit_model_decode");
    rnnkit_model_destroy(model);
    model = NULL;
    model_fixture_path(path, sizeof path, fixtures, "classifier-model.safetensors");
    expect_ok(rnnkit_model_load(path, &model), "model_load classifier again");
    if (model == NULL) return;
    expect_error(rnnkit_model_decode(model, source, 4, 1, 1.0, 8, decoded, 8, &decoded_count, NULL, 0), RNNKIT_ERROR_INVALID_ARGUMENT,
                 "decode with a sequence model");
    rnnkit_model_destroy(model);
    model = NULL;

    /* Files that are not models. */
    model = (rnnkit_model *)1;
    expect_error(rnnkit_model_load("/nonexistent/model.safetensors", &model), RNNKIT_ERROR_IO, "model_load of a missing file");
    check(model == NULL, "a failed model_load sets *out to NULL");
    snprintf(path, sizeof path, "%s/lstm_l1.safetensors", fixtures);
    FILE *probe = fopen(path, "rb");
    if (probe != NULL) {
        fclose(probe);
        expect_error(rnnkit_model_load(path, &model), RNNKIT_ERROR_INVALID_FILE, "model_load of a bare network file");
    }
    char network_path[2048];
    temp_path(network_path, sizeof network_path, "bare-network.safetensors");
    rnnkit_rnn *rnn = NULL;
    expect_ok(rnnkit_rnn_create(RNNKIT_CELL_LSTM, 2, 3, 1, 0, 1, &rnn), "rnn_create for a bare network file");
    expect_ok(rnnkit_rnn_save(rnn, network_path), "rnn_save a bare network file");
    rnnkit_rnn_destroy(rnn);
    expect_error(rnnkit_model_load(network_path, &model), RNNKIT_ERROR_INVALID_FILE, "model_load of a bare network file");
    expect_error(rnnkit_model_load(NULL, &model), RNNKIT_ERROR_NULL_POINTER, "model_load with a NULL path");
}

/* MARK: rnnkit_rnn_options */

/* create_with_options refuses `options` with `expected` and a message containing `phrase`, *out NULL. */
static void expect_options_refused(const void *options, const char *phrase, const char *label) {
    rnnkit_rnn *out = (rnnkit_rnn *)&out;
    char message[512];
    expect_error(rnnkit_rnn_create_with_options(options, &out), RNNKIT_ERROR_INVALID_ARGUMENT, label);
    snprintf(message, sizeof message, "%s: *out is NULL and the message says '%s' (got '%s')", label, phrase,
             rnnkit_last_error());
    check(out == NULL && strstr(rnnkit_last_error(), phrase) != NULL, message);
}

static void test_options(void) {
    /* A caller compiled against a newer header: the same struct with a field after it. */
    struct newer_options { rnnkit_rnn_options known; uint64_t later_field; } newer;
    rnnkit_rnn_options options, described;
    rnnkit_rnn *rnn = NULL, *out = (rnnkit_rnn *)&out;
    int32_t cell, count = 0;
    char label[256];

    rnnkit_rnn_options_init(NULL);
    rnnkit_rnn_options_init(&options);
    check(options.struct_size == sizeof options && sizeof options == 56, "options_init sets struct_size = sizeof = 56");
    check(options.cell == RNNKIT_CELL_LSTM && options.num_layers == 1 && options.input_size == 0 && options.hidden_size == 0
              && options.bidirectional == 0 && options.proj_size == 0 && options.peepholes == 0 && options.layer_norm == 0
              && options.recurrent_dropout == 0 && options.zoneout_hidden == 0 && options.zoneout_cell == 0 && options.seed == 0,
          "options_init: LSTM, one layer, every other field 0");

    /* Every cell, and the peephole LSTM, through the options; describe gives the options back. */
    for (cell = RNNKIT_CELL_RNN_TANH; cell <= RNNKIT_CELL_GRU_RESET_BEFORE; cell++) {
        int32_t peepholes;
        for (peepholes = 0; peepholes <= (cell == RNNKIT_CELL_LSTM); peepholes++) {
            rnnkit_rnn_options_init(&options);
            options.cell = cell; options.input_size = 3; options.hidden_size = 4; options.num_layers = 2;
            options.bidirectional = 1; options.peepholes = peepholes; options.seed = 7;
            snprintf(label, sizeof label, "create_with_options cell %d peepholes %d", cell, peepholes);
            expect_ok(rnnkit_rnn_create_with_options(&options, &rnn), label);
            if (!rnn) continue;
            memset(&described, 0xab, sizeof described);
            described.struct_size = sizeof described;
            described.seed = 7;
            expect_ok(rnnkit_rnn_describe(rnn, &described), "describe");
            snprintf(label, sizeof label, "describe cell %d peepholes %d gives its options", cell, peepholes);
            check(memcmp(&options, &described, sizeof options) == 0, label);
            expect_ok(rnnkit_rnn_param_count(rnn, &count), "param_count");
            snprintf(label, sizeof label, "cell %d peepholes %d has %d tensors", cell, peepholes, peepholes ? 20 : 16);
            check(count == (peepholes ? 20 : 16), label);
            rnnkit_rnn_destroy(rnn);
            rnn = NULL;
        }
    }

    /* describe of a network made by rnnkit_rnn_create; a newer caller's extra bytes are zeroed. */
    expect_ok(rnnkit_rnn_create(RNNKIT_CELL_GRU, 5, 6, 3, 0, 9, &rnn), "create GRU for describe");
    if (rnn) {
        memset(&newer, 0xcd, sizeof newer);
        newer.known.struct_size = sizeof newer;
        expect_ok(rnnkit_rnn_describe(rnn, &newer.known), "describe into a larger struct");
        check(newer.known.cell == RNNKIT_CELL_GRU && newer.known.input_size == 5 && newer.known.hidden_size == 6
                  && newer.known.num_layers == 3 && newer.known.bidirectional == 0 && newer.known.peepholes == 0
                  && newer.later_field == 0 && newer.known.struct_size == sizeof newer,
              "describe fills the known fields and zeroes the caller's later ones");
        described.struct_size = 55;
        expect_error(rnnkit_rnn_describe(rnn, &described), RNNKIT_ERROR_INVALID_ARGUMENT, "describe with struct_size 55");
        expect_error(rnnkit_rnn_describe(no_rnn, &described), RNNKIT_ERROR_NULL_POINTER, "describe(NULL handle)");
        expect_error(rnnkit_rnn_describe(rnn, (rnnkit_rnn_options *)no_floats), RNNKIT_ERROR_NULL_POINTER, "describe(out = NULL)");
        rnnkit_rnn_destroy(rnn);
    }

    /* Recurrent dropout and zoneout: described back; training forwards draw masks, inference does not. */
    rnnkit_rnn_options_init(&options);
    options.cell = RNNKIT_CELL_LSTM; options.input_size = 3; options.hidden_size = 4; options.recurrent_dropout = 0.25f;
    options.zoneout_hidden = 0.1f; options.zoneout_cell = 0.2f;
    expect_ok(rnnkit_rnn_create_with_options(&options, &rnn), "create an LSTM with recurrent dropout and zoneout");
    if (rnn) {
        enum { T = 5, B = 2 };
        float x[T * B * 3], y1[T * B * 4], y2[T * B * 4], y3[T * B * 4], y4[T * B * 4];
        fill(x, T * B * 3, 41);
        rnnkit_rnn_options_init(&described);
        expect_ok(rnnkit_rnn_describe(rnn, &described), "describe");
        check(described.recurrent_dropout == 0.25f && described.zoneout_hidden == 0.1f && described.zoneout_cell == 0.2f,
              "describe reports the recurrent dropout and the zoneouts");
        expect_ok(rnnkit_rnn_forward(rnn, T, B, x, NULL, NULL, NULL, y1, NULL, NULL), "training forward 1");
        expect_ok(rnnkit_rnn_forward(rnn, T, B, x, NULL, NULL, NULL, y2, NULL, NULL), "training forward 2");
        check(memcmp(y1, y2, sizeof y1) != 0, "each training forward draws new recurrent masks");
        expect_ok(rnnkit_rnn_set_training(rnn, 0), "inference mode");
        expect_ok(rnnkit_rnn_forward(rnn, T, B, x, NULL, NULL, NULL, y3, NULL, NULL), "inference forward 1");
        expect_ok(rnnkit_rnn_forward(rnn, T, B, x, NULL, NULL, NULL, y4, NULL, NULL), "inference forward 2");
        check(memcmp(y3, y4, sizeof y3) == 0 && memcmp(y1, y3, sizeof y1) != 0, "inference has no recurrent dropout");
        rnnkit_rnn_destroy(rnn);
        rnn = NULL;
    }

    /* Bad options: each refused with a message naming the field, *out left NULL. */
    expect_error(rnnkit_rnn_create_with_options((const rnnkit_rnn_options *)no_floats, &out), RNNKIT_ERROR_NULL_POINTER,
                 "create_with_options(options = NULL)");
    check(out == NULL, "a failed create_with_options sets *out to NULL");
    rnnkit_rnn_options_init(&options);
    options.input_size = 3; options.hidden_size = 4;
    expect_error(rnnkit_rnn_create_with_options(&options, (rnnkit_rnn **)no_floats), RNNKIT_ERROR_NULL_POINTER,
                 "create_with_options(out = NULL)");
#define REFUSED(field_assignment, phrase)          \
    do {                                           \
        rnnkit_rnn_options_init(&options);         \
        options.input_size = 3;                    \
        options.hidden_size = 4;                   \
        field_assignment;                          \
        expect_options_refused(&options, phrase, #field_assignment); \
    } while (0)
    REFUSED(options.struct_size = 0, "struct_size is 0; expected at least 56");
    REFUSED(options.struct_size = 55, "struct_size is 55");
    REFUSED(options.cell = 5, "cell is 5");
    REFUSED(options.cell = -1, "cell is -1");
    REFUSED(options.input_size = 0, "input_size must be at least 1");
    REFUSED(options.hidden_size = -2, "hidden_size must be at least 1, got -2");
    REFUSED(options.num_layers = 0, "num_layers must be at least 1");
    REFUSED(options.bidirectional = 2, "bidirectional must be 0 or 1, got 2");
    REFUSED(options.peepholes = -1, "peepholes must be 0 or 1, got -1");
    REFUSED(options.layer_norm = 2, "layer_norm must be 0 or 1, got 2");
    REFUSED(options.proj_size = -1, "proj_size must be 0 (none) or positive");
    REFUSED(options.recurrent_dropout = 1.0f, "recurrent_dropout is 1.0; expected a probability");
    REFUSED(options.zoneout_hidden = -0.1f, "zoneout_hidden is -0.1");
    REFUSED(options.zoneout_cell = (float)NAN, "zoneout_cell is nan");
    REFUSED((options.cell = RNNKIT_CELL_GRU, options.peepholes = 1), "peepholes is an LSTM option; cell 3 (gru) has none");
    REFUSED((options.cell = RNNKIT_CELL_GRU_RESET_BEFORE, options.layer_norm = 1), "layer_norm is an LSTM option");
    REFUSED((options.cell = RNNKIT_CELL_RNN_TANH, options.proj_size = 2), "proj_size is an LSTM option");
    REFUSED(options.proj_size = 4, "proj_size is 4; expected 0 (none) or less than hidden_size 4");
    REFUSED((options.proj_size = 2, options.zoneout_hidden = 0.1f), "zoneout are not supported with a projection");
    REFUSED((options.proj_size = 2, options.recurrent_dropout = 0.1f), "recurrent dropout and zoneout are not supported with a projection");
    REFUSED((options.layer_norm = 1, options.peepholes = 1), "layer normalisation with peepholes or a projection is not supported");
    REFUSED((options.cell = RNNKIT_CELL_GRU, options.zoneout_cell = 0.1f), "zoneout_cell is an LSTM option; cell 3 (gru) has none");
    REFUSED(options.recurrent_dropout = (float)NAN, "recurrent_dropout is nan");
#undef REFUSED
    memset(&newer, 0, sizeof newer);
    rnnkit_rnn_options_init(&newer.known);
    newer.known.struct_size = sizeof newer;
    newer.known.input_size = 3; newer.known.hidden_size = 4;
    expect_ok(rnnkit_rnn_create_with_options(&newer.known, &rnn), "a newer caller's struct whose later fields are 0");
    rnnkit_rnn_destroy(rnn);
    newer.later_field = 1;
    expect_options_refused(&newer.known, "nonzero byte at offset 56", "a newer caller's struct with a later field set");
}

/* Loading librnnkit gives OpenBLAS's kernels for this CPU: on a CPU with AVX2+FMA, never a core
 * without AVX2 kernels, unless the environment chose the core. */
static void test_blas_core(void) {
    const char *core = rnnkit_blas_core();
    printf("BLAS core %s\n", core);
    check(core[0] != '\0', "rnnkit_blas_core names the core");
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !getenv("OPENBLAS_CORETYPE")
        && !getenv("RNNKIT_BLAS_CORE")) {
        static const char *const fast[] = {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids", "excavator"};
        int recognised = 0;
        for (size_t i = 0; i < sizeof fast / sizeof fast[0]; i++) recognised |= strcasecmp(core, fast[i]) == 0;
        check(recognised, "OpenBLAS runs a core with AVX2 kernels on a CPU with AVX2+FMA");
    }
#endif
}

int main(int argc, char **argv) {
    const char *fixtures = argc > 1 ? argv[1] : "Tests/RNNKitTests/Fixtures/recurrent";
    char onnx_fixtures[4096], layer_norm_fixtures[4096];
    if (argc > 2) snprintf(work_directory, sizeof work_directory, "%s", argv[2]);
    verbose = getenv("RNNKIT_TEST_VERBOSE") != NULL;

    printf("rnnkit %s\n", rnnkit_version());
    check(strcmp(rnnkit_last_error(), "") == 0, "last_error is empty before any failure");
    check(rnnkit_version()[0] >= '0' && rnnkit_version()[0] <= '9', "version starts with a digit");
    test_blas_core();

    test_fixtures(fixtures, 32);
    snprintf(onnx_fixtures, sizeof onnx_fixtures, "%s/../onnx", fixtures);
    test_fixtures(onnx_fixtures, 16);
    snprintf(layer_norm_fixtures, sizeof layer_norm_fixtures, "%s/../layernorm", fixtures);
    test_fixtures(layer_norm_fixtures, 3);
    test_options();
    test_save_load(RNNKIT_CELL_LSTM, "LSTM");
    test_save_load(RNNKIT_CELL_GRU, "GRU");
    test_save_load(RNNKIT_CELL_RNN_RELU, "RNN relu");
    test_torch_file(fixtures);
    test_streaming(RNNKIT_CELL_LSTM, "LSTM");
    test_streaming(RNNKIT_CELL_GRU, "GRU");
    test_streaming(RNNKIT_CELL_RNN_TANH, "RNN tanh");
    test_bad_input();
    test_models(fixtures);

    printf("%d passed, %d failed\n", passed_count, failed_count);
    return failed_count == 0 ? 0 : 1;
}
