/*
 * Vectorised float32 kernels for the fused cell steps; see rnnkit_kernels.h.
 *
 * The loops are written branch-free over j so that the compiler vectorises them;
 * target_clones builds each row function for AVX-512, AVX2+FMA and baseline x86-64.
 */
#include "rnnkit_kernels.h"

#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define RK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define RK_CLONES
#endif

/* exp(x): x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite split of ln2), e^r by the degree-6
 * polynomial of Cephes' expf, times 2^n built in the exponent bits. NaN propagates; inputs are
 * clamped to [-87.3, 88.3] so 2^n stays a normal number. Relative error about 2 ulp. */
static inline float rk_exp(float x) {
    x = x < -87.3f ? -87.3f : x;
    x = x > 88.3f ? 88.3f : x;
    const float shifter = 12582912.0f; /* 1.5 · 2^23: adding it rounds to an integer */
    float t = x * 1.44269504088896341f + shifter;
    float n = t - shifter;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline float rk_sigmoid(float x) { return 1.0f / (1.0f + rk_exp(-x)); }

/* tanh(x): for |x| < 0.625 the odd polynomial of Cephes' tanhf (keeps relative accuracy near 0);
 * otherwise sign(x) · (1 − 2 / (e^{2|x|} + 1)). Both are computed and one is selected. */
static inline float rk_tanh(float x) {
    float ax = x < 0 ? -x : x;
    float z = x * x;
    float small = -5.70498872745e-3f;
    small = small * z + 2.06390887954e-2f;
    small = small * z - 5.37397155531e-2f;
    small = small * z + 1.33314422036e-1f;
    small = small * z - 3.33332819422e-1f;
    small = small * z * x + x;
    float large = 1.0f - 2.0f / (rk_exp(2.0f * ax) + 1.0f);
    large = x < 0 ? -large : large;
    return ax < 0.625f ? small : large;
}

RK_CLONES void rk_sigmoid_f32(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = rk_sigmoid(x[i]);
}

RK_CLONES void rk_tanh_f32(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = rk_tanh(x[i]);
}

/* An optional buffer (tanh_c, hn_saved) is tested once per row, not per unit: the per-unit
 * test vectorises into masked loads and stores at a NULL address, which fault-suppression makes
 * take a microcode assist on AMD cores (docs/performance.md has the measurement). */
#define RK_INLINE static inline __attribute__((always_inline))
#define RK_WITH_OPTIONAL(pointer, call) \
    do {                                \
        if (pointer) call(1);           \
        else call(0);                   \
    } while (0)

/* `peep` (a compile-time constant after inlining) adds the peephole terms: p_i ⊙ c and p_f ⊙ c
 * into the input and forget gates, p_o ⊙ c' into the output gate (peephole blocks i, f, o). */
RK_INLINE void rk_lstm_forward_units(
    float *restrict gates, const float *restrict bias, const float *restrict peephole,
    const float *restrict c_prev, float *restrict c_next, float *restrict h_next,
    float *restrict tanh_c, float *restrict y, int64_t count, int64_t H, const int keep, const int peep) {
    float *ai = gates, *af = gates + H, *ag = gates + 2 * H, *ao = gates + 3 * H;
    const float *bi = bias, *bf = bias + H, *bg = bias + 2 * H, *bo = bias + 3 * H;
    const float *pi = peephole, *pf = peephole + H, *po = peephole + 2 * H;
    for (int64_t j = 0; j < count; j++) {
        float cp = c_prev[j];
        float i = rk_sigmoid(peep ? ai[j] + bi[j] + pi[j] * cp : ai[j] + bi[j]);
        float f = rk_sigmoid(peep ? af[j] + bf[j] + pf[j] * cp : af[j] + bf[j]);
        float g = rk_tanh(ag[j] + bg[j]);
        float c = f * cp + i * g;
        float o = rk_sigmoid(peep ? ao[j] + bo[j] + po[j] * c : ao[j] + bo[j]);
        float tc = rk_tanh(c);
        float h = o * tc;
        ai[j] = i; af[j] = f; ag[j] = g; ao[j] = o;
        c_next[j] = c;
        h_next[j] = h;
        y[j] = h;
        if (keep) tanh_c[j] = tc;
    }
}

RK_CLONES void rk_lstm_forward_row(float *restrict gates, const float *restrict bias,
                                   const float *restrict c_prev, float *restrict c_next,
                                   float *restrict h_next, float *restrict tanh_c,
                                   float *restrict y, int64_t count, int64_t H) {
#define RK_CALL(keep) rk_lstm_forward_units(gates, bias, NULL, c_prev, c_next, h_next, tanh_c, y, count, H, keep, 0)
    RK_WITH_OPTIONAL(tanh_c, RK_CALL);
#undef RK_CALL
}

RK_CLONES void rk_lstm_peephole_forward_row(float *restrict gates, const float *restrict bias,
                                            const float *restrict peephole, const float *restrict c_prev,
                                            float *restrict c_next, float *restrict h_next,
                                            float *restrict tanh_c, float *restrict y, int64_t count,
                                            int64_t H) {
#define RK_CALL(keep) rk_lstm_forward_units(gates, bias, peephole, c_prev, c_next, h_next, tanh_c, y, count, H, keep, 1)
    RK_WITH_OPTIONAL(tanh_c, RK_CALL);
#undef RK_CALL
}

/* With peepholes, c' also reaches the loss through a_o (dc gains ∂a_o ⊙ p_o) and c through a_i
 * and a_f (∂L/∂c gains ∂a_i ⊙ p_i + ∂a_f ⊙ p_f); ∂p += ∂a ⊙ (c, c, c'), with c' = f ⊙ c + i ⊙ g
 * recomputed from the saved activations. */
RK_INLINE void rk_lstm_backward_units(
    float *restrict gates, const float *restrict peephole, const float *restrict c_prev,
    const float *restrict tanh_c, const float *restrict dy, float *restrict dh_carry,
    float *restrict dc_carry, float *restrict dbias, float *restrict dpeephole, int64_t H, const int peep) {
    float *ai = gates, *af = gates + H, *ag = gates + 2 * H, *ao = gates + 3 * H;
    const float *pi = peephole, *pf = peephole + H, *po = peephole + 2 * H;
    for (int64_t j = 0; j < H; j++) {
        float i = ai[j], f = af[j], g = ag[j], o = ao[j], tc = tanh_c[j], cp = c_prev[j];
        float dh = dh_carry[j] + dy[j];
        float dout = dh * tc * o * (1.0f - o);
        float dc = peep ? dc_carry[j] + dh * o * (1.0f - tc * tc) + dout * po[j]
                        : dc_carry[j] + dh * o * (1.0f - tc * tc);
        float di = dc * g * i * (1.0f - i);
        float df = dc * cp * f * (1.0f - f);
        float dg = dc * i * (1.0f - g * g);
        ai[j] = di; af[j] = df; ag[j] = dg; ao[j] = dout;
        dbias[j] += di; dbias[H + j] += df; dbias[2 * H + j] += dg; dbias[3 * H + j] += dout;
        if (peep) {
            float c = f * cp + i * g;
            dpeephole[j] += di * cp; dpeephole[H + j] += df * cp; dpeephole[2 * H + j] += dout * c;
            dc_carry[j] = dc * f + di * pi[j] + df * pf[j];
        } else {
            dc_carry[j] = dc * f;
        }
        dh_carry[j] = 0.0f;
    }
}

RK_CLONES void rk_lstm_backward_row(float *restrict gates, const float *restrict c_prev,
                                    const float *restrict tanh_c, const float *restrict dy,
                                    float *restrict dh_carry, float *restrict dc_carry,
                                    float *restrict dbias, int64_t H) {
    rk_lstm_backward_units(gates, NULL, c_prev, tanh_c, dy, dh_carry, dc_carry, dbias, NULL, H, 0);
}

RK_CLONES void rk_lstm_peephole_backward_row(float *restrict gates, const float *restrict peephole,
                                             const float *restrict c_prev, const float *restrict tanh_c,
                                             const float *restrict dy, float *restrict dh_carry,
                                             float *restrict dc_carry, float *restrict dbias,
                                             float *restrict dpeephole, int64_t H) {
    rk_lstm_backward_units(gates, peephole, c_prev, tanh_c, dy, dh_carry, dc_carry, dbias, dpeephole, H, 1);
}

RK_INLINE void rk_gru_forward_units(
    float *restrict gates, const float *restrict hh, const float *restrict bias_ih,
    const float *restrict bias_hh, const float *restrict h_prev, float *restrict h_next,
    float *restrict hn_saved, float *restrict y, int64_t count, int64_t H, const int keep) {
    for (int64_t j = 0; j < count; j++) {
        float r = rk_sigmoid(gates[j] + bias_ih[j] + hh[j] + bias_hh[j]);
        float z = rk_sigmoid(gates[H + j] + bias_ih[H + j] + hh[H + j] + bias_hh[H + j]);
        float hn = hh[2 * H + j] + bias_hh[2 * H + j];
        float n = rk_tanh(gates[2 * H + j] + bias_ih[2 * H + j] + r * hn);
        float h = (1.0f - z) * n + z * h_prev[j];
        gates[j] = r; gates[H + j] = z; gates[2 * H + j] = n;
        if (keep) hn_saved[j] = hn;
        h_next[j] = h;
        y[j] = h;
    }
}

RK_CLONES void rk_gru_forward_row(float *restrict gates, const float *restrict hh,
                                  const float *restrict bias_ih, const float *restrict bias_hh,
                                  const float *restrict h_prev, float *restrict h_next,
                                  float *restrict hn_saved, float *restrict y, int64_t count,
                                  int64_t H) {
#define RK_CALL(keep) rk_gru_forward_units(gates, hh, bias_ih, bias_hh, h_prev, h_next, hn_saved, y, count, H, keep)
    RK_WITH_OPTIONAL(hn_saved, RK_CALL);
#undef RK_CALL
}

RK_INLINE void rk_gru_backward_units(
    float *restrict gates, float *restrict hn_saved, float *restrict d_hidden,
    const float *restrict h_prev, const float *restrict dy, float *restrict dh_carry,
    float *restrict dbias_ih, float *restrict dbias_hh, int64_t H) {
    for (int64_t j = 0; j < H; j++) {
        float r = gates[j], z = gates[H + j], n = gates[2 * H + j], hn = hn_saved[j];
        float dh = dh_carry[j] + dy[j];
        float dn = dh * (1.0f - z) * (1.0f - n * n);
        float dz = dh * (h_prev[j] - n) * z * (1.0f - z);
        float dr = dn * hn * r * (1.0f - r);
        float dhn = dn * r;
        gates[j] = dr; gates[H + j] = dz; gates[2 * H + j] = dn;
        d_hidden[j] = dr; d_hidden[H + j] = dz; d_hidden[2 * H + j] = dhn;
        hn_saved[j] = dhn;
        dbias_ih[j] += dr; dbias_ih[H + j] += dz; dbias_ih[2 * H + j] += dn;
        dbias_hh[j] += dr; dbias_hh[H + j] += dz; dbias_hh[2 * H + j] += dhn;
        dh_carry[j] = dh * z;
    }
}

RK_CLONES void rk_gru_backward_row(float *restrict gates, float *restrict hn_saved,
                                   float *restrict d_hidden, const float *restrict h_prev,
                                   const float *restrict dy, float *restrict dh_carry,
                                   float *restrict dbias_ih, float *restrict dbias_hh, int64_t H) {
    rk_gru_backward_units(gates, hn_saved, d_hidden, h_prev, dy, dh_carry, dbias_ih, dbias_hh, H);
}

/* GRU with the reset gate before the recurrent product: the driver's two products per step sit
 * between these kernels, `hh_rz = h · W_h{r,z}^T`, then `hh_n = (r ⊙ h) · W_hn^T`. */
RK_CLONES void rk_gru_reset_gates_row(float *restrict gates, const float *restrict hh,
                                      const float *restrict bias_ih, const float *restrict bias_hh,
                                      const float *restrict h_prev, float *restrict reset_hidden,
                                      int64_t count, int64_t H) {
    for (int64_t j = 0; j < count; j++) {
        float r = rk_sigmoid(gates[j] + bias_ih[j] + hh[j] + bias_hh[j]);
        float z = rk_sigmoid(gates[H + j] + bias_ih[H + j] + hh[H + j] + bias_hh[H + j]);
        gates[j] = r; gates[H + j] = z;
        reset_hidden[j] = r * h_prev[j];
    }
}

RK_CLONES void rk_gru_reset_candidate_row(float *restrict gates, const float *restrict hh,
                                          const float *restrict bias_ih, const float *restrict bias_hh,
                                          const float *restrict h_prev, float *restrict h_next,
                                          float *restrict y, int64_t count, int64_t H) {
    for (int64_t j = 0; j < count; j++) {
        float z = gates[H + j];
        float n = rk_tanh(gates[2 * H + j] + bias_ih[2 * H + j] + hh[2 * H + j] + bias_hh[2 * H + j]);
        float h = (1.0f - z) * n + z * h_prev[j];
        gates[2 * H + j] = n;
        h_next[j] = h;
        y[j] = h;
    }
}

RK_CLONES void rk_gru_reset_backward_row(float *restrict gates, const float *restrict h_prev,
                                         const float *restrict dy, float *restrict dh_carry,
                                         float *restrict dbias_ih, float *restrict dbias_hh, int64_t H) {
    for (int64_t j = 0; j < H; j++) {
        float z = gates[H + j], n = gates[2 * H + j];
        float dh = dh_carry[j] + dy[j];
        float dn = dh * (1.0f - z) * (1.0f - n * n);
        float dz = dh * (h_prev[j] - n) * z * (1.0f - z);
        gates[H + j] = dz; gates[2 * H + j] = dn;
        dbias_ih[H + j] += dz; dbias_ih[2 * H + j] += dn;
        dbias_hh[H + j] += dz; dbias_hh[2 * H + j] += dn;
        dh_carry[j] = dh * z;
    }
}

RK_CLONES void rk_gru_reset_backward_reset_row(float *restrict gates, const float *restrict h_prev,
                                               const float *restrict d_reset_hidden, float *restrict dh_carry,
                                               float *restrict dbias_ih, float *restrict dbias_hh, int64_t H) {
    for (int64_t j = 0; j < H; j++) {
        float r = gates[j], drh = d_reset_hidden[j];
        float dr = drh * h_prev[j] * r * (1.0f - r);
        gates[j] = dr;
        dbias_ih[j] += dr; dbias_hh[j] += dr;
        dh_carry[j] += drh * r;
    }
}

RK_CLONES void rk_rnn_forward_row(float *restrict gates, const float *restrict bias, int32_t relu,
                                  float *restrict h_next, float *restrict y, int64_t count) {
    if (relu) {
        for (int64_t j = 0; j < count; j++) {
            float a = gates[j] + bias[j];
            float h = a > 0.0f ? a : 0.0f;
            gates[j] = h; h_next[j] = h; y[j] = h;
        }
    } else {
        for (int64_t j = 0; j < count; j++) {
            float h = rk_tanh(gates[j] + bias[j]);
            gates[j] = h; h_next[j] = h; y[j] = h;
        }
    }
}

RK_INLINE void rk_rnn_backward_units(
    float *restrict gates, int32_t relu, const float *restrict dy, float *restrict dh_carry,
    float *restrict dbias, int64_t H) {
    for (int64_t j = 0; j < H; j++) {
        float h = gates[j];
        float dh = dh_carry[j] + dy[j];
        float da = relu ? (h > 0.0f ? dh : 0.0f) : dh * (1.0f - h * h);
        gates[j] = da;
        dbias[j] += da;
        dh_carry[j] = 0.0f;
    }
}

RK_CLONES void rk_rnn_backward_row(float *restrict gates, int32_t relu, const float *restrict dy,
                                   float *restrict dh_carry, float *restrict dbias, int64_t H) {
    rk_rnn_backward_units(gates, relu, dy, dh_carry, dbias, H);
}

/* Layer-normalised LSTM (Sources/RNNKit/Cells/LayerNormLSTMCell.swift has the equations and the
 * Swift reference these are held to). The statistics of a normalisation are summed in double, as
 * the reference does: a float sum of 4H terms would put its rounding into every normalised value.
 * norms (18H): α_x, β_x, α_h, β_h (4H each), α_c, β_c (H each), as the parameters lie. */
#define RK_LAYER_NORM_EPSILON 1e-5

/* ẑ = (z − mean z) · r into out; returns r = 1/√(var z + ε). */
static inline float rk_normalize(const float *restrict z, float *restrict out, int64_t n) {
    double sum = 0.0, squares = 0.0;
    for (int64_t j = 0; j < n; j++) sum += z[j];
    double mean = sum / (double)n;
    for (int64_t j = 0; j < n; j++) {
        double d = (double)z[j] - mean;
        squares += d * d;
    }
    double r = 1.0 / __builtin_sqrt(squares / (double)n + RK_LAYER_NORM_EPSILON);
    for (int64_t j = 0; j < n; j++) out[j] = (float)(((double)z[j] - mean) * r);
    return (float)r;
}

/* ∂z = r · (∂ẑ − mean ∂ẑ − ẑ ⊙ mean(∂ẑ ⊙ ẑ)) over g, which holds ∂ẑ. */
static inline void rk_normalize_backward(float *restrict g, const float *restrict normalized, float r, int64_t n) {
    double sum = 0.0, dot = 0.0;
    for (int64_t j = 0; j < n; j++) {
        sum += g[j];
        dot += (double)g[j] * (double)normalized[j];
    }
    double mean_gradient = sum / (double)n, mean_dot = dot / (double)n, rate = r;
    for (int64_t j = 0; j < n; j++)
        g[j] = (float)(rate * ((double)g[j] - mean_gradient - (double)normalized[j] * mean_dot));
}

RK_INLINE void rk_lstm_layernorm_forward_units(
    float *restrict gates, const float *restrict recurrent, const float *restrict bias, const float *restrict norms,
    const float *restrict c_prev, float *restrict c_next, float *restrict h_next, float *restrict tanh_c,
    float *restrict y, float *restrict saved_input, float *restrict saved_hidden, float *restrict saved_cell,
    float *restrict inverse_deviations, int64_t H, const int keep) {
    const int64_t G = 4 * H;
    const float *gain_x = norms, *shift_x = norms + G, *gain_h = norms + 2 * G, *shift_h = norms + 3 * G;
    const float *gain_c = norms + 4 * G, *shift_c = norms + 4 * G + H;
    inverse_deviations[0] = rk_normalize(gates, saved_input, G);
    inverse_deviations[1] = rk_normalize(recurrent, saved_hidden, G);
    for (int64_t k = 0; k < G; k++)
        gates[k] = gain_x[k] * saved_input[k] + shift_x[k] + gain_h[k] * saved_hidden[k] + shift_h[k] + bias[k];
    float *ai = gates, *af = gates + H, *ag = gates + 2 * H, *ao = gates + 3 * H;
    for (int64_t j = 0; j < H; j++) {
        float i = rk_sigmoid(ai[j]), f = rk_sigmoid(af[j]), g = rk_tanh(ag[j]), o = rk_sigmoid(ao[j]);
        ai[j] = i; af[j] = f; ag[j] = g; ao[j] = o;
        c_next[j] = f * c_prev[j] + i * g;
    }
    inverse_deviations[2] = rk_normalize(c_next, saved_cell, H);
    for (int64_t j = 0; j < H; j++) {
        float tn = rk_tanh(gain_c[j] * saved_cell[j] + shift_c[j]);
        float h = ao[j] * tn;
        h_next[j] = h;
        y[j] = h;
        if (keep) tanh_c[j] = tn;
    }
}

RK_CLONES void rk_lstm_layernorm_forward_row(
    float *restrict gates, const float *restrict recurrent, const float *restrict bias, const float *restrict norms,
    const float *restrict c_prev, float *restrict c_next, float *restrict h_next, float *restrict tanh_c,
    float *restrict y, float *restrict saved_input, float *restrict saved_hidden, float *restrict saved_cell,
    float *restrict inverse_deviations, int64_t H) {
#define RK_CALL(keep) rk_lstm_layernorm_forward_units(gates, recurrent, bias, norms, c_prev, c_next, h_next, tanh_c, \
                                                      y, saved_input, saved_hidden, saved_cell, inverse_deviations, H, keep)
    RK_WITH_OPTIONAL(tanh_c, RK_CALL);
#undef RK_CALL
}

RK_CLONES void rk_lstm_layernorm_backward_row(
    float *restrict gates, const float *restrict norms, const float *restrict saved_input,
    float *restrict saved_hidden, const float *restrict saved_cell, const float *restrict inverse_deviations,
    const float *restrict c_prev, const float *restrict tanh_c, const float *restrict dy,
    float *restrict dh_carry, float *restrict dc_carry, float *restrict dbias, float *restrict dnorms,
    float *restrict scratch, int64_t H) {
    const int64_t G = 4 * H;
    const float *gain_x = norms, *gain_h = norms + 2 * G, *gain_c = norms + 4 * G;
    float *dgain_x = dnorms, *dgain_h = dnorms + G, *dgain_c = dnorms + 2 * G, *dshift_c = dnorms + 2 * G + H;
    float *ai = gates, *af = gates + H, *ag = gates + 2 * H, *ao = gates + 3 * H;
    /* h' = o ⊙ tanh n, n = α_c ⊙ ĉ + β_c: ∂a_o, ∂n, and ∂ĉ = ∂n ⊙ α_c into scratch. */
    for (int64_t j = 0; j < H; j++) {
        float o = ao[j], dh = dh_carry[j] + dy[j], tn = tanh_c[j];
        float dn = dh * o * (1.0f - tn * tn);
        dgain_c[j] += dn * saved_cell[j];
        dshift_c[j] += dn;
        scratch[j] = dn * gain_c[j];
        ao[j] = dh * tn * o * (1.0f - o);
        dh_carry[j] = 0.0f;
    }
    rk_normalize_backward(scratch, saved_cell, inverse_deviations[2], H);  /* ∂c' through LN(c') */
    for (int64_t j = 0; j < H; j++) {
        float i = ai[j], f = af[j], g = ag[j];
        float dc = dc_carry[j] + scratch[j];
        ai[j] = dc * g * i * (1.0f - i);
        af[j] = dc * c_prev[j] * f * (1.0f - f);
        ag[j] = dc * i * (1.0f - g * g);
        dc_carry[j] = dc * f;
    }
    /* ∂α = ∂a ⊙ ẑ, ∂β = ∂b = ∂a, ∂ẑ = ∂a ⊙ α on each side, then through each normalisation. */
    for (int64_t k = 0; k < G; k++) {
        float da = gates[k];
        dbias[k] += da;
        dgain_x[k] += da * saved_input[k];
        dgain_h[k] += da * saved_hidden[k];
        scratch[k] = da * gain_h[k];
        gates[k] = da * gain_x[k];
    }
    rk_normalize_backward(scratch, saved_hidden, inverse_deviations[1], G);
    rk_normalize_backward(gates, saved_input, inverse_deviations[0], G);
    memcpy(saved_hidden, scratch, (size_t)G * sizeof(float));
}

/* Σ a[i]·b[i]. Reassociation lets the compiler keep several vector partial sums. */
static inline float rk_dot(const float *restrict a, const float *restrict b, int64_t k) {
#pragma clang fp reassociate(on)
    float sum = 0.0f;
    for (int64_t i = 0; i < k; i++) sum += a[i] * b[i];
    return sum;
}

static inline void rk_store(float *c, float beta, float value) { *c = beta == 0.0f ? value : beta * *c + value; }

/* One dot product per (row of A, row of W). It runs only where the packed product is not used
 * (a CPU without AVX2, or RNNKIT_PACKED_KERNEL=portable), so it is compiled for baseline x86-64. */
void rk_gemm_nt_few_rows(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                         const float *w, int64_t ldw, float beta, float *c, int64_t ldc) {
    for (int64_t j = 0; j < n; j++)
        for (int64_t i = 0; i < m; i++) rk_store(c + i * ldc + j, beta, rk_dot(a + i * lda, w + j * ldw, k));
}
