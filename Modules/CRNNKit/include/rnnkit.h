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
    RNNKIT_CELL_GRU = 3,
    /// GRU with the reset gate before the recurrent product (ONNX linear_before_reset = 0):
    /// n = tanh(W_in x + b_in + W_hn (r * h) + b_hn); parameters as RNNKIT_CELL_GRU's. G = 3.
    /// Only through rnnkit_rnn_create_with_options.
    RNNKIT_CELL_GRU_RESET_BEFORE = 4
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

/// The architecture of a network, for rnnkit_rnn_create_with_options and rnnkit_rnn_describe.
/// The struct grows at its end in later versions: a caller sets struct_size to the size it
/// was compiled with (rnnkit_rnn_options_init does), and RNNKit reads and writes only that
/// many bytes. Bytes past the fields this version knows must be zero when passed in.
typedef struct rnnkit_rnn_options {
    /// sizeof(rnnkit_rnn_options) as the caller compiled it; at least 56 (this version's fields).
    uint32_t struct_size;
    /// An rnnkit_cell code, 0 to 4. Default RNNKIT_CELL_LSTM.
    int32_t cell;
    /// I, H, L (each at least 1; sizes have no default and must be set) and 0 or 1.
    int32_t input_size, hidden_size, num_layers, bidirectional;
    /// LSTM projection size P, 0 < P < H, or 0 for none (PyTorch's proj_size): h = W_hr (o * tanh(c))
    /// is P wide, so outputs are [T, B, D*P] and h states [L*D, B, P] (c states stay [L*D, B, H]);
    /// adds the tensor weight_hr_l{k} [P, H] after bias_hh_l{k}, and weight_hh_l{k} is [4H, P].
    /// Recurrent dropout and zoneout are refused with a projection in this version.
    int32_t proj_size;
    /// LSTM peephole connections, 0 or 1: i and f see c_{t-1}, o sees c_t; adds the tensor
    /// weight_peephole_l{k} [3H] (blocks i, f, o) after bias_hh_l{k} (and after weight_hr_l{k}
    /// with a projection).
    int32_t peepholes;
    /// Layer-normalised LSTM, 0 or 1 (Ba et al. 2016): W_ih x and W_hh h are each normalised over
    /// their 4H values and c_t over its H values before the output tanh, epsilon 1e-5, each with
    /// a gain and a shift; adds weight_ln_ih_l{k}, bias_ln_ih_l{k}, weight_ln_hh_l{k},
    /// bias_ln_hh_l{k} [4H] and weight_ln_c_l{k}, bias_ln_c_l{k} [H] after bias_hh_l{k} (gains 1,
    /// shifts 0 at creation). Not with peepholes or proj_size in this version.
    int32_t layer_norm;
    /// Recurrent dropout, 0 <= p < 1, training only: one mask per layer, direction and sequence
    /// on h_{t-1} in every recurrent product (Gal & Ghahramani 2016).
    float recurrent_dropout;
    /// Zoneout probabilities, 0 <= p < 1, training only (Krueger et al. 2017): at every step each
    /// unit keeps its previous h (and, LSTM only, c) with this probability; inference runs the
    /// plain cell.
    float zoneout_hidden, zoneout_cell;
    /// Seeds the initialisation, as rnnkit_rnn_create's seed.
    uint64_t seed;
} rnnkit_rnn_options;

/// Fills *options with the defaults and sets struct_size: cell RNNKIT_CELL_LSTM, num_layers 1,
/// every other field 0. NULL is a no-op. Never fails.
void rnnkit_rnn_options_init(rnnkit_rnn_options *RNNKIT_NULLABLE options);

/// Creates a network from *options and stores its handle in *out, like rnnkit_rnn_create.
/// Errors: RNNKIT_ERROR_NULL_POINTER if options or out is NULL; RNNKIT_ERROR_INVALID_ARGUMENT,
/// with a message naming the field, for a struct_size below 56, nonzero bytes past this
/// version's fields, an unknown cell, a size < 1, a flag other than 0 or 1, a probability
/// outside [0, 1) or NaN, an LSTM-only field (proj_size, peepholes, layer_norm, zoneout_cell)
/// set on another cell, a proj_size outside 0...H-1, a projection with recurrent dropout or
/// zoneout, or layer_norm with peepholes or proj_size; RNNKIT_ERROR_OUT_OF_MEMORY as
/// rnnkit_rnn_create. On failure *out is NULL.
rnnkit_status rnnkit_rnn_create_with_options(const rnnkit_rnn_options *RNNKIT_NONNULL options,
                                             rnnkit_rnn *RNNKIT_NULLABLE *RNNKIT_NONNULL out);

/// Writes the architecture of rnn, however it was made, into *out: the fields that fit in
/// out->struct_size bytes (which the caller sets, at least 56), zero past them; struct_size
/// and seed are left as they were (the seed is not part of the architecture).
/// Errors: RNNKIT_ERROR_NULL_POINTER if rnn or out is NULL; RNNKIT_ERROR_INVALID_ARGUMENT for a
/// struct_size below 56.
rnnkit_status rnnkit_rnn_describe(const rnnkit_rnn *RNNKIT_NONNULL rnn,
                                  rnnkit_rnn_options *RNNKIT_NONNULL out);

/// Releases a network and everything it holds. NULL is a no-op. Never fails.
void rnnkit_rnn_destroy(rnnkit_rnn *RNNKIT_NULLABLE rnn);

/// Stores the number of parameter tensors in *count (4 * L * D, plus L * D with a projection,
/// L * D with peepholes and 6 * L * D with layer_norm).
/// Errors: RNNKIT_ERROR_NULL_POINTER if rnn or count is NULL.
rnnkit_status rnnkit_rnn_param_count(const rnnkit_rnn *RNNKIT_NONNULL rnn,
                                     int32_t *RNNKIT_NONNULL count);

/// Stores the name and element count of parameter tensor `index` (0 <= index < count) in
/// *name and *numel. The order is PyTorch's state_dict order: per layer k, per direction,
/// weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} (then weight_hr_l{k} with a
/// projection, weight_peephole_l{k} with peepholes and the six weight_ln_* / bias_ln_* tensors
/// with layer_norm; "_reverse" appended for the second direction). The name stays valid until the
/// handle is destroyed.
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
///   h0, c0   NULL (zeros) or [L*D, B, R] and [L*D, B, H] initial states (R = proj_size P
///            with a projection, else H); c0 only for LSTM.
///   y        [T, B, D*R] output of the top layer, written.
///   h_n, c_n NULL (not wanted) or [L*D, B, R] and [L*D, B, H] final states, written; c_n only
///            for LSTM.
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
///   dy           [T, B, D*R] gradient of the loss with respect to y (ignored past each length).
///   dh_n, dc_n   NULL (zeros) or [L*D, B, R] and [L*D, B, H]; dc_n only for LSTM.
///   dx           NULL (not wanted) or [T, B, I], written.
///   dh0, dc0     NULL (not wanted) or [L*D, B, R] and [L*D, B, H], written; dc0 only for LSTM.
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
 * linear head (every step, or once per sequence from the last state or a pooling), its initial
 * state optionally set by a condition (a class id or a feature vector). Unidirectional models
 * stream: one time step per call, the recurrent state kept inside the handle between calls
 * (batch 1, dropout off). Any model also runs whole sequences (rnnkit_model_predict_*): sequence
 * classifiers, bidirectional taggers. Conditioned generators sample with rnnkit_model_sample_tokens.
 * O below is the model's output size: the head's outputs, or D·H for a model without a head.
 */

/// An opaque trained model, created by rnnkit_model_load, released by rnnkit_model_destroy.
typedef struct rnnkit_model rnnkit_model;

/// Reads the model in the RNNKit model file or training checkpoint at path and stores a new
/// handle in *out, its state zero. On failure *out is set to NULL.
/// Errors: RNNKIT_ERROR_NULL_POINTER if path or out is NULL; RNNKIT_ERROR_IO if the file cannot
/// be read; RNNKIT_ERROR_INVALID_FILE if it is not an RNNKit model file of a version this library
/// reads, or its configuration or tensors are invalid or inconsistent. Every model kind loads; the
/// functions below say which kinds they run (the others refuse with RNNKIT_ERROR_INVALID_ARGUMENT).
rnnkit_status rnnkit_model_load(const char *RNNKIT_NONNULL path, rnnkit_model *RNNKIT_NULLABLE *RNNKIT_NONNULL out);

/// Releases a model. NULL is ignored.
void rnnkit_model_destroy(rnnkit_model *RNNKIT_NULLABLE model);

/// Describes the model: *takes_tokens is 1 for a token model (feed rnnkit_model_step_token) and
/// 0 for a feature model (feed rnnkit_model_step_features); *input_size is the vocabulary size V
/// of a token model or the features per step I of a feature model; *output_size is O. For an
/// encoder-decoder: 1, the source vocabulary size and the target vocabulary size.
/// Errors: RNNKIT_ERROR_NULL_POINTER if any pointer is NULL.
rnnkit_status rnnkit_model_describe(const rnnkit_model *RNNKIT_NONNULL model, int32_t *RNNKIT_NONNULL takes_tokens,
                                    int64_t *RNNKIT_NONNULL input_size, int64_t *RNNKIT_NONNULL output_size);

/// Sets the model's recurrent state to zero, as after loading.
/// Errors: RNNKIT_ERROR_NULL_POINTER if model is NULL; RNNKIT_ERROR_INVALID_ARGUMENT for a
/// bidirectional model (it has no streaming state) or a conditioned one (use rnnkit_model_reset_condition).
rnnkit_status rnnkit_model_reset(rnnkit_model *RNNKIT_NONNULL model);

/// Where a model's head reads (rnnkit_model_describe_pattern).
typedef enum rnnkit_head {
    RNNKIT_HEAD_EVERY_STEP = 0,  ///< one output row per step: tagging, language models
    RNNKIT_HEAD_LAST_STEP = 1,   ///< one row per sequence, from the last valid state (both directions' for a bidirectional model)
    RNNKIT_HEAD_MEAN_POOL = 2,   ///< one row per sequence, from the mean of the top layer's outputs over the valid steps
    RNNKIT_HEAD_MAX_POOL = 3,    ///< one row per sequence, from their maximum
    RNNKIT_HEAD_NONE = 4         ///< no head: the top layer's outputs, D·H per step
} rnnkit_head;

/// What kind of model a handle holds (rnnkit_model_describe_pattern).
typedef enum rnnkit_model_kind {
    RNNKIT_MODEL_SEQUENCE = 0,  ///< a sequence model: streams, runs whole sequences, samples
    RNNKIT_MODEL_SEQ2SEQ = 1    ///< an encoder-decoder: decodes whole sources (rnnkit_model_decode)
} rnnkit_model_kind;

/// Describes which pattern the model is: *kind an rnnkit_model_kind value; *head an rnnkit_head
/// value (RNNKIT_HEAD_EVERY_STEP for an encoder-decoder); *bidirectional 1 if every layer (of the
/// encoder, for an encoder-decoder) also runs in reverse (a sequence model then cannot stream and
/// runs whole sequences only); *condition_classes K > 0 for a model whose initial state is set by
/// a class id in 0...K-1, *condition_features F > 0 for one whose initial state is set by F
/// features (both 0 otherwise).
/// Errors: RNNKIT_ERROR_NULL_POINTER if any pointer is NULL.
rnnkit_status rnnkit_model_describe_pattern(const rnnkit_model *RNNKIT_NONNULL model, int32_t *RNNKIT_NONNULL kind,
                                            int32_t *RNNKIT_NONNULL head,
                                            int32_t *RNNKIT_NONNULL bidirectional, int64_t *RNNKIT_NONNULL condition_classes,
                                            int64_t *RNNKIT_NONNULL condition_features);

/// Sets a conditioned model's streaming state to the one its condition gives: class_id in
/// 0...K-1 with condition NULL for a class-conditioned model, or condition_count = F values in
/// condition for a feature-conditioned one. rnnkit_model_step_token then continues from it.
/// Errors: RNNKIT_ERROR_NULL_POINTER if model is NULL (or condition is NULL for a feature-conditioned
/// model); RNNKIT_ERROR_INVALID_ARGUMENT if the model is not conditioned, class_id is out of range,
/// a condition is passed to a class-conditioned model or holds a value that is not finite;
/// RNNKIT_ERROR_SHAPE_MISMATCH if condition_count is not F. On failure the state is untouched.
rnnkit_status rnnkit_model_reset_condition(rnnkit_model *RNNKIT_NONNULL model, int64_t class_id,
                                           const float *RNNKIT_NULLABLE condition, int64_t condition_count);

/// Runs a token model over one whole sequence of steps ids (batch 1, from a zero state; the
/// streaming state is untouched) and writes its outputs to out: O values for a model with a
/// per-sequence head (last step, mean or max pool: a sequence classifier), steps·O for an
/// every-step head (a tagger; row t is step t), steps·D·H without a head. With probabilities = 1
/// each row is replaced by its softmax (class probabilities); with 0 the raw outputs (logits,
/// regression values) are written. Bidirectional models run here.
/// Errors: RNNKIT_ERROR_NULL_POINTER if model, ids or out is NULL; RNNKIT_ERROR_INVALID_ARGUMENT if
/// the model reads features or is conditioned, steps < 1, an id is outside 0...V-1 (the message
/// names its step) or probabilities is not 0 or 1; RNNKIT_ERROR_SHAPE_MISMATCH if out_count is not
/// the count above. On failure out is untouched.
rnnkit_status rnnkit_model_predict_tokens(rnnkit_model *RNNKIT_NONNULL model, const int64_t *RNNKIT_NONNULL ids,
                                          int64_t steps, int32_t probabilities, float *RNNKIT_NONNULL out, int64_t out_count);

/// rnnkit_model_predict_tokens for a feature model: x holds steps·n values, step-major, n = I.
/// Errors: as rnnkit_model_predict_tokens, and RNNKIT_ERROR_INVALID_ARGUMENT if the model reads
/// token ids, RNNKIT_ERROR_SHAPE_MISMATCH if n is not I.
rnnkit_status rnnkit_model_predict_features(rnnkit_model *RNNKIT_NONNULL model, const float *RNNKIT_NONNULL x,
                                            int64_t steps, int64_t n, int32_t probabilities,
                                            float *RNNKIT_NONNULL out, int64_t out_count);

/// Samples length token ids from a token model whose every-step head predicts the next token:
/// feeds the prime_count ids of prime (prime may be NULL when prime_count is 0: generation then
/// starts from token 0), then draws each next id from softmax(logits / temperature) with a
/// generator seeded by seed (temperature 0: the most likely id), and writes them to out. A
/// conditioned model starts from its condition's state (class_id, or condition_count features in
/// condition, as rnnkit_model_reset_condition takes them); any other takes class_id -1 and condition
/// NULL. Starts from a state of its own; the streaming state is untouched.
/// Errors: RNNKIT_ERROR_NULL_POINTER if model or out is NULL; RNNKIT_ERROR_INVALID_ARGUMENT if the
/// model is not such a token model or is bidirectional, a prime id is out of range, the temperature
/// is negative or not finite, or the condition does not fit the model (as rnnkit_model_reset_condition);
/// RNNKIT_ERROR_SHAPE_MISMATCH if out_count is not length. On failure out is untouched.
rnnkit_status rnnkit_model_sample_tokens(rnnkit_model *RNNKIT_NONNULL model, const int64_t *RNNKIT_NULLABLE prime,
                                         int64_t prime_count, int64_t class_id, const float *RNNKIT_NULLABLE condition,
                                         int64_t condition_count, int64_t length, double temperature, uint64_t seed,
                                         int64_t *RNNKIT_NONNULL out, int64_t out_count);

/// Feeds one token id to a token model, advances its state, and writes the O outputs of this
/// step to out (the logits over the vocabulary for a character model).
/// Errors: RNNKIT_ERROR_NULL_POINTER if model or out is NULL; RNNKIT_ERROR_INVALID_ARGUMENT if the
/// model reads features, is bidirectional (it cannot stream), or token_id is outside 0...V-1;
/// RNNKIT_ERROR_INVALID_STATE for a conditioned model before rnnkit_model_reset_condition;
/// RNNKIT_ERROR_SHAPE_MISMATCH if out_count is not O. On failure the state and out are untouched.
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

/// Decodes one source with an encoder-decoder (RNNKIT_MODEL_SEQ2SEQ): the source_count ids of
/// source (1...100000) are encoded, then the decoder writes target ids until its end token or
/// maximum_length ids, by beam search with beam_width hypotheses (1: greedy) ranked by
/// log-probability / length^length_normalization (1 is the mean per prediction, 0 the plain sum).
/// The ids (without begin and end tokens) go to out and their number to *out_count. When attention
/// is not NULL, row k of its *out_count rows of source_count floats is the attention weights (summing
/// to 1) over the source while writing id k; the model must have attention then.
/// Errors: RNNKIT_ERROR_NULL_POINTER if model, source, out or out_count is NULL;
/// RNNKIT_ERROR_INVALID_ARGUMENT for a sequence model, source_count outside 1...100000, a source id
/// out of range, beam_width < 1, maximum_length outside 1...100000, a negative or non-finite
/// length_normalization, or attention for a model without it; RNNKIT_ERROR_SHAPE_MISMATCH if
/// out_capacity < maximum_length or attention_capacity < maximum_length·source_count.
/// On failure out, *out_count and attention are untouched.
rnnkit_status rnnkit_model_decode(rnnkit_model *RNNKIT_NONNULL model, const int64_t *RNNKIT_NONNULL source,
                                  int64_t source_count, int32_t beam_width, double length_normalization,
                                  int64_t maximum_length, int64_t *RNNKIT_NONNULL out, int64_t out_capacity,
                                  int64_t *RNNKIT_NONNULL out_count, float *RNNKIT_NULLABLE attention,
                                  int64_t attention_capacity);

#ifdef __cplusplus
}
#endif

#if defined(__clang__)
#pragma clang diagnostic pop
#endif

#endif /* RNNKIT_H */
