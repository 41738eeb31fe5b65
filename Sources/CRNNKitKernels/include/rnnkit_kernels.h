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

/** LSTM forward, one row. gates (4H): in pre-activations without bias, out i, f, g, o.
 *  bias (4H) = b_ih + b_hh. c_prev, c_next, h_next (H). tanh_c (H) may be NULL. y (H). */
void rk_lstm_forward_row(float *gates, const float *bias, const float *c_prev,
                         float *c_next, float *h_next, float *tanh_c, float *y, int64_t hidden);

/** LSTM backward, one row. gates (4H): in i, f, g, o; out ∂a. dy (H) may be NULL.
 *  dh_carry (H): in ∂L/∂h', out 0. dc_carry (H): in ∂L/∂c', out ∂L/∂c. dbias (4H) += ∂a. */
void rk_lstm_backward_row(float *gates, const float *c_prev, const float *tanh_c, const float *dy,
                          float *dh_carry, float *dc_carry, float *dbias, int64_t hidden);

/** GRU forward, one row. gates (3H): in W_i x (no bias), out r, z, n. hh (3H): W_h h (no bias).
 *  bias_ih, bias_hh (3H). h_prev, h_next (H). hn_saved (H, W_hn h + b_hn) may be NULL. y (H). */
void rk_gru_forward_row(float *gates, const float *hh, const float *bias_ih, const float *bias_hh,
                        const float *h_prev, float *h_next, float *hn_saved, float *y, int64_t hidden);

/** GRU backward, one row. gates (3H): in r, z, n; out input-side ∂. hn_saved (H): in W_hn h + b_hn,
 *  out ∂hh_n. d_hidden (3H): out hidden-side ∂. dy (H) may be NULL. dh_carry (H): in ∂L/∂h',
 *  out ∂L/∂h' ⊙ z. dbias_ih, dbias_hh (3H) += the input- and hidden-side ∂. */
void rk_gru_backward_row(float *gates, float *hn_saved, float *d_hidden, const float *h_prev,
                         const float *dy, float *dh_carry, float *dbias_ih, float *dbias_hh,
                         int64_t hidden);

/** Vanilla RNN forward, one row. gates (H): in pre-activation without bias, out h' = φ(a).
 *  bias (H) = b_ih + b_hh. relu: 0 tanh, 1 relu. h_next, y (H). */
void rk_rnn_forward_row(float *gates, const float *bias, int32_t relu, float *h_next, float *y,
                        int64_t hidden);

/** Vanilla RNN backward, one row. gates (H): in h', out ∂a. dy may be NULL. dh_carry (H): in
 *  ∂L/∂h', out 0. dbias (H) += ∂a. */
void rk_rnn_backward_row(float *gates, int32_t relu, const float *dy, float *dh_carry,
                         float *dbias, int64_t hidden);

/** C (M, N) = beta · C + A (M, K) · W^T for few rows (M ≤ 8), with W stored (N, K) row-major:
 *  each row of W is read once from memory and dotted with every row of A while it is in L1.
 *  OpenBLAS's sgemm is slow for such a small M; this is the recurrent product of small batches.
 *  With beta == 0, C is not read. */
void rk_gemm_nt_few_rows(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                         const float *w, int64_t ldw, float beta, float *c, int64_t ldc);

#ifdef __cplusplus
}
#endif
#endif
