/*
 * rnnkit.h — the C API of RNNKit: stacked RNN / LSTM / GRU networks on the CPU.
 *
 * This header is the single source of truth for the C API; the library
 * (librnnkit.so) implements exactly these symbols. Link with
 * `pkg-config --cflags --libs rnnkit`.
 *
 * Semantics are PyTorch's nn.RNN / nn.LSTM / nn.GRU with batch_first=False.
 * Dimension legend used in the comments below:
 *   T  time steps (seq_len)      B  batch
 *   I  input features            H  hidden features
 *   L  layers (num_layers)       D  directions (2 if bidirectional, else 1)
 * All tensors are dense, row-major float32 arrays:
 *   x, dx          [T, B, I]
 *   y, dy          [T, B, D*H]
 *   h0, h_n, c0, c_n, dh0, dh_n, dc0, dc_n   [L*D, B, H]
 *
 * Error model: every function that can fail returns an rnnkit_status.
 * RNNKIT_OK (0) means success; any other value is one of the rnnkit_error
 * codes below, and rnnkit_last_error() then returns a message saying what was
 * wrong and what was expected. A failed call leaves its handle and its output
 * buffers as they were, except where a function's comment says otherwise.
 * Pointers marked RNNKIT_NONNULL must not be NULL; a NULL passed anyway is
 * caught and returns RNNKIT_ERROR_NULL_POINTER, never a crash. Element counts
 * of buffers are not passed: each buffer must hold the count its shape says.
 *
 * Threading: distinct handles may be used from different threads at the same
 * time; one handle must not be used by two threads at once. The last-error
 * message is per thread.
 */
#ifndef RNNKIT_H
#define RNNKIT_H

#include <stdint.h>

/* Clang's nullability qualifiers; other compilers see nothing. They are a Clang
 * extension, so -pedantic's warning about them is silenced inside this header only. */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wnullability-extension"
#define RNNKIT_NULLABLE _Nullable
#define RNNKIT_NONNULL _Nonnull
#else
#define RNNKIT_NULLABLE
#define RNNKIT_NONNULL
#endif

#ifdef __cplusplus
extern "C" {
#endif

/// The result of every fallible call: RNNKIT_OK (0) or one of the rnnkit_error codes.
typedef int32_t rnnkit_status;

/// Status codes. Values are stable; new codes may be added at the end.
enum rnnkit_error {
    /// Success.
    RNNKIT_OK = 0,
    /// An argument is out of range or inconsistent with another: a size < 1, an unknown
    /// cell code or parameter name, a sequence length outside 1...T, a flag other than 0/1.
    RNNKIT_ERROR_INVALID_ARGUMENT = 1,
    /// An element count does not match the tensor's shape.
    RNNKIT_ERROR_SHAPE_MISMATCH = 2,
    /// A call came in the wrong order: backward without a training-mode forward before it.
    RNNKIT_ERROR_INVALID_STATE = 3,
    /// Sizes whose products overflow, or memory that cannot be allocated.
    RNNKIT_ERROR_OUT_OF_MEMORY = 4,
    /// A file could not be opened, read, written or renamed.
    RNNKIT_ERROR_IO = 5,
    /// A file is truncated, corrupt, or holds a network of another architecture.
    RNNKIT_ERROR_INVALID_FILE = 6,
    /// A numerical fault (NaN or infinity) was detected.
    RNNKIT_ERROR_NUMERICAL = 7,
    /// A pointer that must not be NULL was NULL.
    RNNKIT_ERROR_NULL_POINTER = 8,
    /// Any other failure.
    RNNKIT_ERROR_UNKNOWN = 9
};

/// Cell codes for rnnkit_rnn_create.
enum rnnkit_cell {
    /// Elman RNN with tanh (nn.RNN(nonlinearity="tanh")); G = 1.
    RNNKIT_CELL_RNN_TANH = 0,
    /// Elman RNN with ReLU (nn.RNN(nonlinearity="relu")); G = 1.
    RNNKIT_CELL_RNN_RELU = 1,
    /// LSTM, gate order i, f, g, o (nn.LSTM); G = 4. The only cell with a cell state c.
    RNNKIT_CELL_LSTM = 2,
    /// GRU, gate order r, z, n (nn.GRU); G = 3.
    RNNKIT_CELL_GRU = 3
};

/* MARK: Library */

/// The library's version, "MAJOR.MINOR.PATCH". Never fails; the string is static.
const char *RNNKIT_NONNULL rnnkit_version(void);

/// The OpenBLAS kernels ("core") this process runs, as openblas_get_corename() names them, for
/// example "Cooperlake". When OpenBLAS had fallen back to generic kernels at load on a CPU with
/// AVX2+FMA or AVX-512 (an OpenBLAS older than the CPU), RNNKit has selected the ones for the CPU,
/// unless OPENBLAS_CORETYPE or RNNKIT_BLAS_CORE=keep is set. Never fails; the string is static.
const char *RNNKIT_NONNULL rnnkit_blas_core(void);

/// The message of the last call on this thread that returned a nonzero status.
/// Never fails and never returns NULL: returns "" if no call on this thread has failed.
/// The string stays valid until the next failing call on the same thread; successful
/// calls do not change it.
const char *RNNKIT_NONNULL rnnkit_last_error(void);

/// Sets the number of threads RNNKit uses, process-wide: its own workers (time loops split by
/// hidden units or batch rows, the two directions of a layer) and OpenBLAS's. Default: one per
/// core. Errors: RNNKIT_ERROR_INVALID_ARGUMENT if n < 1.
rnnkit_status rnnkit_set_num_threads(int32_t n);

/* MARK: Networks */

/// A stacked, optionally bidirectional RNN, LSTM or GRU. Opaque; made by
/// rnnkit_rnn_create, released by rnnkit_rnn_destroy.
typedef struct rnnkit_rnn rnnkit_rnn;

/// Creates a network and stores its handle in *out.
/// cell is an rnnkit_cell code; input_size (I), hidden_size (H) and num_layers (L) must be
/// at least 1; bidirectional is 0 or 1. Parameters are initialised like PyTorch's default,
/// U(-1/sqrt(H), 1/sqrt(H)), from a generator seeded with seed; gradients start at zero;
/// the network starts in training mode.
/// Errors: RNNKIT_ERROR_NULL_POINTER if out is NULL; RNNKIT_ERROR_INVALID_ARGUMENT for an
/// unknown cell code, a size < 1 or bidirectional not 0/1; RNNKIT_ERROR_OUT_OF_MEMORY if the
/// parameter count overflows or cannot be allocated. On failure *out is set to NULL
/// (when out is not NULL).
rnnkit_status rnnkit_rnn_create(int32_t cell, int32_t input_size, int32_t hidden_size,
                                int32_t num_layers, int32_t bidirectional, uint64_t seed,
                                rnnkit_rnn *RNNKIT_NULLABLE *RNNKIT_NONNULL out);

/// Releases a network and everything it holds. NULL is a no-op. Never fails.
void rnnkit_rnn_destroy(rnnkit_rnn *RNNKIT_NULLABLE rnn);

/// Stores the number of parameter tensors in *count (4 * L * D).
/// Errors: RNNKIT_ERROR_NULL_POINTER if rnn or count is NULL.
rnnkit_status rnnkit_rnn_param_count(const rnnkit_rnn *RNNKIT_NONNULL rnn,
                                     int32_t *RNNKIT_NONNULL count);

/// Stores the name and element count of parameter tensor `index` (0 <= index < count) in
/// *name and *numel. The order is PyTorch's state_dict order: per layer k, per direction,
/// weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} ("_reverse" appended for the
/// second direction). The name stays valid until the handle is destroyed.
/// Errors: RNNKIT_ERROR_NULL_POINTER if rnn, name or numel is NULL;
/// RNNKIT_ERROR_INVALID_ARGUMENT if index is out of range.
rnnkit_status rnnkit_rnn_param_name(const rnnkit_rnn *RNNKIT_NONNULL rnn, int32_t index,
                                    const char *RNNKIT_NULLABLE *RNNKIT_NONNULL name,
                                    int64_t *RNNKIT_NONNULL numel);

/// Replaces parameter tensor `name` with the numel floats at data (row-major, PyTorch's shape).
/// Errors: RNNKIT_ERROR_NULL_POINTER if rnn, name or data is NULL;
/// RNNKIT_ERROR_INVALID_ARGUMENT for an unknown name; RNNKIT_ERROR_SHAPE_MISMATCH if numel
/// is not the tensor's element count. On failure the parameters are untouched.
rnnkit_status rnnkit_rnn_set_param(rnnkit_rnn *RNNKIT_NONNULL rnn, const char *RNNKIT_NONNULL name,
                                   const float *RNNKIT_NONNULL data, int64_t numel);

/// Copies parameter tensor `name` into the numel floats at data.
/// Errors: as rnnkit_rnn_set_param; on failure data is untouched.
rnnkit_status rnnkit_rnn_get_param(const rnnkit_rnn *RNNKIT_NONNULL rnn, const char *RNNKIT_NONNULL name,
                                   float *RNNKIT_NONNULL data, int64_t numel);

/// Copies the accumulated gradient of parameter tensor `name` into the numel floats at data.
/// Errors: as rnnkit_rnn_set_param; on failure data is untouched.
rnnkit_status rnnkit_rnn_get_grad(const rnnkit_rnn *RNNKIT_NONNULL rnn, const char *RNNKIT_NONNULL name,
                                  float *RNNKIT_NONNULL data, int64_t numel);

/// Sets every parameter gradient to zero (rnnkit_rnn_backward adds into them).
/// Errors: RNNKIT_ERROR_NULL_POINTER if rnn is NULL.
rnnkit_status rnnkit_rnn_zero_grad(rnnkit_rnn *RNNKIT_NONNULL rnn);

/// Switches between training (1, the default) and inference (0). In inference mode forward
/// keeps no activations, uses less memory, and rnnkit_rnn_backward is refused. Switching to
/// inference discards the activations of an earlier forward.
/// Errors: RNNKIT_ERROR_NULL_POINTER if rnn is NULL; RNNKIT_ERROR_INVALID_ARGUMENT if
/// training is not 0 or 1.
rnnkit_status rnnkit_rnn_set_training(rnnkit_rnn *RNNKIT_NONNULL rnn, int32_t training);

/// Runs the network over a batch of B sequences of up to T = seq_len steps.
///   x        [T, B, I] input.
///   lengths  NULL (every sequence has T steps) or B lengths in 1...T, in any order
///            (packed-sequence semantics: row b runs steps 0..lengths[b]-1; y is zero past
///            its length and h_n/c_n are the states after its last valid step; the reverse
///            direction starts at step lengths[b]-1).
///   h0, c0   NULL (zeros) or [L*D, B, H] initial states; c0 only for LSTM.
///   y        [T, B, D*H] output of the top layer, written.
///   h_n, c_n NULL (not wanted) or [L*D, B, H] final states, written; c_n only for LSTM.
/// In training mode the activations are kept for one rnnkit_rnn_backward.
/// Errors: RNNKIT_ERROR_NULL_POINTER if rnn, x or y is NULL; RNNKIT_ERROR_INVALID_ARGUMENT if
/// seq_len or batch < 1, a length is outside 1...T, or c0/c_n is given to a non-LSTM network;
/// RNNKIT_ERROR_OUT_OF_MEMORY if the sizes overflow or the activations cannot be allocated.
/// On failure the output buffers are untouched and no backward is possible until the next
/// successful forward.
rnnkit_status rnnkit_rnn_forward(rnnkit_rnn *RNNKIT_NONNULL rnn, int32_t seq_len, int32_t batch,
                                 const float *RNNKIT_NONNULL x,
                                 const int32_t *RNNKIT_NULLABLE lengths,
                                 const float *RNNKIT_NULLABLE h0,
                                 const float *RNNKIT_NULLABLE c0,
                                 float *RNNKIT_NONNULL y,
                                 float *RNNKIT_NULLABLE h_n,
                                 float *RNNKIT_NULLABLE c_n);

/// Backpropagates through the last training-mode forward on this handle (shapes T, B as in
/// that forward): adds every parameter's gradient into the accumulated gradients and writes
/// the input gradients. Each forward allows one backward.
///   dy           [T, B, D*H] gradient of the loss with respect to y (ignored past each length).
///   dh_n, dc_n   NULL (zeros) or [L*D, B, H]; dc_n only for LSTM.
///   dx           NULL (not wanted) or [T, B, I], written.
///   dh0, dc0     NULL (not wanted) or [L*D, B, H], written; dc0 only for LSTM.
/// Errors: RNNKIT_ERROR_NULL_POINTER if rnn or dy is NULL; RNNKIT_ERROR_INVALID_STATE if the
/// network is in inference mode or no forward awaits a backward (none yet, a failed one, or
/// its backward already ran); RNNKIT_ERROR_INVALID_ARGUMENT if dc_n/dc0 is given to a
/// non-LSTM network. On failure the gradients and output buffers are untouched.
rnnkit_status rnnkit_rnn_backward(rnnkit_rnn *RNNKIT_NONNULL rnn, const float *RNNKIT_NONNULL dy,
                                  const float *RNNKIT_NULLABLE dh_n,
                                  const float *RNNKIT_NULLABLE dc_n,
                                  float *RNNKIT_NULLABLE dx,
                                  float *RNNKIT_NULLABLE dh0,
                                  float *RNNKIT_NULLABLE dc0);

/// Writes the parameters to a safetensors file at path (tensor names = parameter names,
/// F32, the architecture in the metadata), atomically: a temporary file beside it is
/// written, flushed, then renamed over path.
/// Errors: RNNKIT_ERROR_NULL_POINTER if rnn or path is NULL; RNNKIT_ERROR_IO if the file
/// cannot be written (path is then unchanged).
rnnkit_status rnnkit_rnn_save(const rnnkit_rnn *RNNKIT_NONNULL rnn, const char *RNNKIT_NONNULL path);

/// Replaces the parameters with those of the safetensors file at path, which must hold a
/// network of the same architecture: every parameter name with its shape. Files written by
/// rnnkit_rnn_save and by PyTorch's safetensors.torch.save_file(model.state_dict()) are
/// accepted. Gradients are left as they are.
/// Errors: RNNKIT_ERROR_NULL_POINTER if rnn or path is NULL; RNNKIT_ERROR_IO if the file
/// cannot be read; RNNKIT_ERROR_INVALID_FILE if it is truncated, corrupt, or of another
/// architecture. On failure the parameters are untouched.
rnnkit_status rnnkit_rnn_load(rnnkit_rnn *RNNKIT_NONNULL rnn, const char *RNNKIT_NONNULL path);

/* MARK: Whole models
 *
 * A model is a trained RNNKit SequenceModel read from a model file or training checkpoint
 * (docs/training.md): (token ids -> embedding, or feature vectors) -> recurrent layers ->
 * linear head. Models are for streaming inference: one time step per call, the recurrent
 * state kept inside the handle between calls (batch 1, dropout off).
 * O below is the model's output size: the head's outputs, or H for a model without a head.
 */

/// An opaque trained model, created by rnnkit_model_load, released by rnnkit_model_destroy.
typedef struct rnnkit_model rnnkit_model;

/// Reads the model in the RNNKit model file or training checkpoint at path and stores a new
/// handle in *out, its state zero. On failure *out is set to NULL.
/// Errors: RNNKIT_ERROR_NULL_POINTER if path or out is NULL; RNNKIT_ERROR_IO if the file cannot
/// be read; RNNKIT_ERROR_INVALID_FILE if it is not an RNNKit model file of a version this library
/// reads, or its configuration or tensors are invalid or inconsistent; RNNKIT_ERROR_INVALID_ARGUMENT
/// for an encoder-decoder (seq2seq) model, which this API does not step.
rnnkit_status rnnkit_model_load(const char *RNNKIT_NONNULL path, rnnkit_model *RNNKIT_NULLABLE *RNNKIT_NONNULL out);

/// Releases a model. NULL is ignored.
void rnnkit_model_destroy(rnnkit_model *RNNKIT_NULLABLE model);

/// Describes the model: *takes_tokens is 1 for a token model (feed rnnkit_model_step_token) and
/// 0 for a feature model (feed rnnkit_model_step_features); *input_size is the vocabulary size V
/// of a token model or the features per step I of a feature model; *output_size is O.
/// Errors: RNNKIT_ERROR_NULL_POINTER if any pointer is NULL.
rnnkit_status rnnkit_model_describe(const rnnkit_model *RNNKIT_NONNULL model, int32_t *RNNKIT_NONNULL takes_tokens,
                                    int64_t *RNNKIT_NONNULL input_size, int64_t *RNNKIT_NONNULL output_size);

/// Sets the model's recurrent state to zero, as after loading.
/// Errors: RNNKIT_ERROR_NULL_POINTER if model is NULL.
rnnkit_status rnnkit_model_reset(rnnkit_model *RNNKIT_NONNULL model);

/// Feeds one token id to a token model, advances its state, and writes the O outputs of this
/// step to out (the logits over the vocabulary for a character model).
/// Errors: RNNKIT_ERROR_NULL_POINTER if model or out is NULL; RNNKIT_ERROR_INVALID_ARGUMENT if the
/// model reads features or token_id is outside 0...V-1; RNNKIT_ERROR_SHAPE_MISMATCH if out_count
/// is not O. On failure the state and out are untouched.
rnnkit_status rnnkit_model_step_token(rnnkit_model *RNNKIT_NONNULL model, int64_t token_id,
                                      float *RNNKIT_NONNULL out, int64_t out_count);

/// Feeds one feature vector x of n = I values to a feature model, advances its state, and writes
/// the O outputs of this step to out.
/// Errors: RNNKIT_ERROR_NULL_POINTER if model, x or out is NULL; RNNKIT_ERROR_INVALID_ARGUMENT if
/// the model reads token ids; RNNKIT_ERROR_SHAPE_MISMATCH if n is not I or out_count is not O.
/// On failure the state and out are untouched.
rnnkit_status rnnkit_model_step_features(rnnkit_model *RNNKIT_NONNULL model, const float *RNNKIT_NONNULL x, int64_t n,
                                         float *RNNKIT_NONNULL out, int64_t out_count);

/// Samples text from a character model that carries a vocabulary: feeds prime (UTF-8, may be
/// empty), then draws length characters, each from softmax(logits / temperature) with a generator
/// seeded by seed (temperature 0: always the most likely character). Writes the generated text
/// (without the prime) to buffer as NUL-terminated UTF-8. Sampling starts from a zero state of its
/// own and leaves the state of rnnkit_model_step_token untouched. The same model, prime, length,
/// temperature and seed give the same text.
/// Errors: RNNKIT_ERROR_NULL_POINTER if model, prime or buffer is NULL; RNNKIT_ERROR_INVALID_ARGUMENT
/// if the model is not a character model with a vocabulary, prime holds a character outside the
/// vocabulary or is not UTF-8, length < 0, or temperature is negative or not finite;
/// RNNKIT_ERROR_SHAPE_MISMATCH if the text and its NUL do not fit in capacity bytes (the message
/// says how many are needed). On failure buffer is untouched.
rnnkit_status rnnkit_model_sample_text(const rnnkit_model *RNNKIT_NONNULL model, const char *RNNKIT_NONNULL prime,
                                       int64_t length, double temperature, uint64_t seed,
                                       char *RNNKIT_NONNULL buffer, int64_t capacity);

#ifdef __cplusplus
}
#endif

#if defined(__clang__)
#pragma clang diagnostic pop
#endif

#endif /* RNNKIT_H */
