/*
 * Vectorised float32 kernels behind RNNKit's fused cell steps.
 *
 * Internal to RNNKit: no stable API. Each row function does, for one batch row,
 * exactly what the generic Swift reference kernel in Sources/RNNKit/Cells does for
 * that row (the tests hold them equal); the transcendental functions are
 * polynomial approximations with a maximum absolute error below 5e-7 for sigmoid
 * and tanh (tested over a dense grid). Every function is compiled for AVX-512,
 * AVX2+FMA and baseline x86-64 and picks one at load time.
 *
 * Dimension legend: H hidden features; G gates; a "(G·H)" row holds gate k at [k·H, (k+1)·H).
 * The forward row functions update the first count ≤ H hidden units of a row: a worker that owns the
 * units [j0, j0 + count) passes every pointer advanced by j0 and keeps H as the gate stride.
 */
#ifndef RNNKIT_KERNELS_H
#define RNNKIT_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** y[i] = 1 / (1 + exp(-x[i])) for i < n. */
void rk_sigmoid_f32(const float *x, float *y, int64_t n);
/** y[i] = tanh(x[i]) for i < n. */
void rk_tanh_f32(const float *x, float *y, int64_t n);

/** LSTM forward, one row, units 0..<count. gates (4H): in pre-activations without bias, out i, f,
 *  g, o. bias (4H) = b_ih + b_hh. c_prev, c_next, h_next (count). tanh_c (count) may be NULL. y (count). */
void rk_lstm_forward_row(float *gates, const float *bias, const float *c_prev,
                         float *c_next, float *h_next, float *tanh_c, float *y, int64_t count,
                         int64_t hidden);

/** LSTM backward, one row. gates (4H): in i, f, g, o; out ∂a. dy (H) the output's gradient.
 *  dh_carry (H): in ∂L/∂h', out 0. dc_carry (H): in ∂L/∂c', out ∂L/∂c. dbias (4H) += ∂a. */
void rk_lstm_backward_row(float *gates, const float *c_prev, const float *tanh_c, const float *dy,
                          float *dh_carry, float *dc_carry, float *dbias, int64_t hidden);

/** rk_lstm_forward_row with peepholes: peephole (3H, blocks p_i, p_f, p_o; offset like bias) adds
 *  p_i ⊙ c_prev, p_f ⊙ c_prev to a_i, a_f and p_o ⊙ c_next to a_o. */
void rk_lstm_peephole_forward_row(float *gates, const float *bias, const float *peephole,
                                  const float *c_prev, float *c_next, float *h_next, float *tanh_c,
                                  float *y, int64_t count, int64_t hidden);

/** rk_lstm_backward_row with peepholes (peephole as in the forward); dpeephole (3H) += ∂p. */
void rk_lstm_peephole_backward_row(float *gates, const float *peephole, const float *c_prev,
                                   const float *tanh_c, const float *dy, float *dh_carry,
                                   float *dc_carry, float *dbias, float *dpeephole, int64_t hidden);

/** Layer-normalised LSTM forward, one row, all H units (LayerNormLSTMCell.swift). gates (4H): in
 *  W_ih x (no bias), out i, f, g, o. recurrent (4H): W_hh h (no bias). bias (4H) = b_ih + b_hh.
 *  norms (18H): α_x, β_x, α_h, β_h (4H each), α_c, β_c (H each). c_prev, c_next, h_next, y (H).
 *  tanh_c (H) = tanh(LN(c')) may be NULL. saved_input, saved_hidden (4H), saved_cell (H): out ẑ_x,
 *  ẑ_h, ĉ; inverse_deviations (3): out their 1/√(var + 1e-5). */
void rk_lstm_layernorm_forward_row(float *gates, const float *recurrent, const float *bias, const float *norms,
                                   const float *c_prev, float *c_next, float *h_next, float *tanh_c, float *y,
                                   float *saved_input, float *saved_hidden, float *saved_cell,
                                   float *inverse_deviations, int64_t hidden);

/** Layer-normalised LSTM backward, one row. gates (4H): in i, f, g, o; out ∂z_x. saved_hidden (4H):
 *  in ẑ_h, out ∂z_h. saved_input, saved_cell, inverse_deviations as the forward wrote them.
 *  dy (H). dh_carry (H): in ∂L/∂h', out 0. dc_carry (H): in ∂L/∂c', out ∂L/∂c. dbias (4H) += ∂a.
 *  dnorms (10H) += ∂α_x (4H), ∂α_h (4H), ∂α_c (H), ∂β_c (H). scratch (4H). */
void rk_lstm_layernorm_backward_row(float *gates, const float *norms, const float *saved_input,
                                    float *saved_hidden, const float *saved_cell, const float *inverse_deviations,
                                    const float *c_prev, const float *tanh_c, const float *dy, float *dh_carry,
                                    float *dc_carry, float *dbias, float *dnorms, float *scratch, int64_t hidden);

/** GRU forward, one row, units 0..<count. gates (3H): in W_i x (no bias), out r, z, n. hh (3H):
 *  W_h h (no bias). bias_ih, bias_hh (3H). h_prev, h_next (count). hn_saved (count, W_hn h + b_hn) may
 *  be NULL. y (count). */
void rk_gru_forward_row(float *gates, const float *hh, const float *bias_ih, const float *bias_hh,
                        const float *h_prev, float *h_next, float *hn_saved, float *y, int64_t count,
                        int64_t hidden);

/** GRU backward, one row. gates (3H): in r, z, n; out input-side ∂. hn_saved (H): in W_hn h + b_hn,
 *  out ∂hh_n. d_hidden (3H): out hidden-side ∂. dy (H) the output's gradient. dh_carry (H): in ∂L/∂h',
 *  out ∂L/∂h' ⊙ z. dbias_ih, dbias_hh (3H) += the input- and hidden-side ∂. */
void rk_gru_backward_row(float *gates, float *hn_saved, float *d_hidden, const float *h_prev,
                         const float *dy, float *dh_carry, float *dbias_ih, float *dbias_hh,
                         int64_t hidden);

/** GRU reset-before, forward first half, one row, units 0..<count. gates (3H): in W_i x (no bias),
 *  out r, z in the first 2H. hh (2H used): h · W_h{r,z}^T. reset_hidden (count) = r ⊙ h_prev. */
void rk_gru_reset_gates_row(float *gates, const float *hh, const float *bias_ih, const float *bias_hh,
                            const float *h_prev, float *reset_hidden, int64_t count, int64_t hidden);

/** GRU reset-before, forward second half. hh (3H, the last H used): (r ⊙ h) · W_hn^T. gates: out n
 *  in the last H. h_next, y (count) = (1 − z) ⊙ n + z ⊙ h_prev. */
void rk_gru_reset_candidate_row(float *gates, const float *hh, const float *bias_ih, const float *bias_hh,
                                const float *h_prev, float *h_next, float *y, int64_t count, int64_t hidden);

/** GRU reset-before, backward first half. gates (3H): in r, z, n; out r, ∂a_z, ∂a_n. dh_carry: in
 *  ∂L/∂h', out ∂L/∂h' ⊙ z. dbias_ih, dbias_hh (3H) += the z and n parts. */
void rk_gru_reset_backward_row(float *gates, const float *h_prev, const float *dy, float *dh_carry,
                               float *dbias_ih, float *dbias_hh, int64_t hidden);

/** GRU reset-before, backward second half, after the driver's ∂(r ⊙ h) = ∂a_n · W_hn.
 *  gates: r in, ∂a_r out (first H). dh_carry += ∂(r ⊙ h) ⊙ r. dbias_ih, dbias_hh (first H) += ∂a_r. */
void rk_gru_reset_backward_reset_row(float *gates, const float *h_prev, const float *d_reset_hidden,
                                     float *dh_carry, float *dbias_ih, float *dbias_hh, int64_t hidden);

/** Vanilla RNN forward, one row, units 0..<count. gates (count): in pre-activation without bias,
 *  out h' = φ(a). bias (count) = b_ih + b_hh. relu: 0 tanh, 1 relu. h_next, y (count). */
void rk_rnn_forward_row(float *gates, const float *bias, int32_t relu, float *h_next, float *y,
                        int64_t count);

/** Vanilla RNN backward, one row. gates (H): in h', out ∂a. dy (H) the output's gradient. dh_carry (H): in
 *  ∂L/∂h', out 0. dbias (H) += ∂a. */
void rk_rnn_backward_row(float *gates, int32_t relu, const float *dy, float *dh_carry,
                         float *dbias, int64_t hidden);

/** C (M, N) = beta · C + A (M, K) · W^T for few rows (M ≤ 8), with W stored (N, K) row-major:
 *  each row of W is read once from memory and dotted with every row of A while it is in L1.
 *  OpenBLAS's sgemm is slow for such a small M; this is the recurrent product of small batches.
 *  With beta == 0, C is not read. */
void rk_gemm_nt_few_rows(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                         const float *w, int64_t ldw, float beta, float *c, int64_t ldc);


/* The recurrent product over packed weights (recurrent_product.c).
 *
 * W_hh (G·H, K) is packed once per pass: gate g, hidden columns [16p, 16p + 16) form panel p of
 * gate g, stored k-major as (K, 16) with zeros past column H. The product then computes, for every
 * gate g and every hidden column j in [column_begin, column_end),
 *     C[r, g·H + j] (+)= Σ_k A[r, k] · W[g·H + j, k]
 * as one FMA chain over k in ascending order, so its value does not depend on M, on the column
 * range or on the machine's vector width (the portable path gives the same numbers). */

/** Floats of the packed copy of a (G·H, K) matrix. */
int64_t rk_packed_count(int64_t gates, int64_t hidden, int64_t k);
/** Packs w (G·H rows of K, leading dimension ldw) into `packed` (rk_packed_count floats). */
void rk_pack_recurrent(int64_t gates, int64_t hidden, int64_t k, const float *w, int64_t ldw,
                       float *packed);
/** Packs w stored (K, N) row-major (leading dimension ldw) as the operand of rk_packed_product
 *  with gates = 1, hidden = N: the product then computes C (M, N) (+)= A (M, K) · w. This is
 *  backward's ∂h = ∂a · W_hh, with K = G·H and N = H. `packed` holds rk_packed_count(1, N, K). */
void rk_pack_transposed(int64_t k, int64_t n, const float *w, int64_t ldw, float *packed);
/** C (M, G·H) columns g·H + [column_begin, column_end) of every gate: C = A · W^T, or C += A · W^T
 *  with `accumulate`. A (M, K) with leading dimension lda. column_begin is a multiple of 16;
 *  column_end ≤ H is a multiple of 16 or H. */
void rk_packed_product(int64_t m, int64_t k, const float *a, int64_t lda, const float *packed,
                       int64_t gates, int64_t hidden, int64_t column_begin, int64_t column_end,
                       int32_t accumulate, float *c, int64_t ldc);
/** rk_packed_product computed one element at a time in plain C: the reference the tests hold the
 *  vector kernels bitwise equal to, and the path of CPUs without AVX2. */
void rk_packed_product_reference(int64_t m, int64_t k, const float *a, int64_t lda,
                                 const float *packed, int64_t gates, int64_t hidden,
                                 int64_t column_begin, int64_t column_end, int32_t accumulate,
                                 float *c, int64_t ldc);

/** The kernels of rk_packed_product. */
enum { RK_KERNEL_PORTABLE = 0, RK_KERNEL_AVX2 = 1, RK_KERNEL_AVX512 = 2 };
/** The kernel rk_packed_product runs: the widest this CPU has, or a narrower one named by the
 *  environment variable RNNKIT_PACKED_KERNEL (avx512, avx2, portable), read once. */
int32_t rk_packed_kernel(void);
/** rk_packed_product on `kernel`; returns 0 (computing nothing) when this CPU lacks it. */
int32_t rk_packed_product_on(int32_t kernel, int64_t m, int64_t k, const float *a, int64_t lda,
                             const float *packed, int64_t gates, int64_t hidden, int64_t column_begin,
                             int64_t column_end, int32_t accumulate, float *c, int64_t ldc);
/** 1 when rk_packed_product runs a vector kernel (AVX2 or AVX-512); the portable path is a scalar
 *  reference, slower than OpenBLAS. */
int32_t rk_packed_product_is_fast(void);

/* OpenBLAS's core (blas_core.c). At load, when OpenBLAS fell back to a core without AVX2 on a CPU
 * with AVX2+FMA or AVX-512, RNNKit has it initialise again for the matching core. */

/** CPU features (cpuid) that decide the OpenBLAS core. */
enum { RK_CPU_AVX2_FMA = 1, RK_CPU_AVX512 = 2, RK_CPU_AVX512_BF16 = 4 };
/** The RK_CPU_* features of this CPU. */
uint32_t rk_cpu_features(void);
/** The OpenBLAS core (OPENBLAS_CORETYPE spelling) RNNKit selects on a CPU with `features` when
 *  OpenBLAS chose `chosen`, or NULL to keep it: NULL when `chosen` has AVX2 kernels or better,
 *  else Cooperlake (AVX-512 BF16), SkylakeX (AVX-512) or Haswell (AVX2+FMA). */
const char *rk_blas_core_wanted(uint32_t features, const char *chosen);
/** What happened at load. */
enum {
    RK_BLAS_CORE_UNKNOWN = 0,           /* no OpenBLAS found in the process */
    RK_BLAS_CORE_RECOGNISED = 1,        /* OpenBLAS's own choice was kept: it suits the CPU */
    RK_BLAS_CORE_SELECTED = 2,          /* RNNKit selected the core for the CPU */
    RK_BLAS_CORE_SELECTION_FAILED = 3,  /* it tried, and OpenBLAS kept its own choice */
    RK_BLAS_CORE_SET_BY_USER = 4,       /* OPENBLAS_CORETYPE was set: left as the user asked */
    RK_BLAS_CORE_KEPT_BY_REQUEST = 5,   /* RNNKIT_BLAS_CORE=keep */
    RK_BLAS_CORE_NOT_DYNAMIC = 6,       /* OpenBLAS is not a DYNAMIC_ARCH build: its core is fixed */
};
/** The core OpenBLAS chose when it was loaded (openblas_get_corename), before RNNKit's choice. */
const char *rk_blas_core_at_load(void);
/** One of RK_BLAS_CORE_*. */
int32_t rk_blas_core_choice(void);

/* Workers and a barrier (workers.c). */

/** A job run by every worker: `worker` in 0..<count. */
typedef void (*rk_worker_body)(void *context, int64_t worker);
/** Runs body(context, w) for w in 0..<count, each on its own thread at the same time (worker 0 on
 *  the caller), and returns when all have returned. Helper threads persist between calls; a call
 *  made while another is running gets threads of its own. count ≤ 1 runs body(context, 0).
 *  Returns 1; or 0, having run nothing, when the threads could not be created. */
int32_t rk_run_workers(int64_t count, rk_worker_body body, void *context);

/** A reusable barrier for the workers of one rk_run_workers call. */
typedef struct rk_barrier {
    int64_t count;
    int64_t waiting;
    int64_t phase;
} rk_barrier;
/** Prepares `barrier` for `count` workers. */
void rk_barrier_init(rk_barrier *barrier, int64_t count);
/** Returns once all `count` workers have called it; spins briefly, then yields the core. */
void rk_barrier_wait(rk_barrier *barrier);

#ifdef __cplusplus
}
#endif
#endif
