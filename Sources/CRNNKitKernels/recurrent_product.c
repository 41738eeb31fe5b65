/*
 * The recurrent product of a step, C (M, G·H) (+)= A (M, K) · W^T, over a W_hh packed once per
 * pass; see rnnkit_kernels.h for the layout and the contract.
 *
 * Why: OpenBLAS packs its B operand on every call, so a time loop of T small GEMMs packs all of
 * W_hh T times and runs its generic blocking on a product of a few dozen rows. Here W_hh is packed
 * once into panels of 16 columns, k-major, and a register tile of MR rows × NP panels walks k with
 * MR·NP accumulators: per k it loads NP vectors of W and MR broadcasts of A for MR·NP FMAs.
 *
 * Every element of C is one FMA chain over k in ascending order, started from 0 and then added to
 * C (or stored). Its value therefore does not depend on the tile, on the row block, on the column
 * range a thread owns or on the number of rows: a streamed step, a whole sequence and any thread
 * split give bitwise the same numbers.
 */
#include "rnnkit_kernels.h"

#include <string.h>

#define RK_PANEL 16

static inline int64_t rk_panels(int64_t hidden) { return (hidden + RK_PANEL - 1) / RK_PANEL; }

int64_t rk_packed_count(int64_t gates, int64_t hidden, int64_t k) {
    return gates * rk_panels(hidden) * RK_PANEL * k;
}

void rk_pack_recurrent(int64_t gates, int64_t hidden, int64_t k, const float *w, int64_t ldw,
                       float *packed) {
    int64_t panels = rk_panels(hidden);
    for (int64_t g = 0; g < gates; g++) {
        for (int64_t p = 0; p < panels; p++) {
            float *dst = packed + (g * panels + p) * RK_PANEL * k;           /* (K, 16) */
            const float *src = w + (g * hidden + p * RK_PANEL) * ldw;        /* 16 rows of W (K) */
            int64_t cols = hidden - p * RK_PANEL < RK_PANEL ? hidden - p * RK_PANEL : RK_PANEL;
            if (cols < RK_PANEL) memset(dst, 0, (size_t)(RK_PANEL * k) * sizeof(float));
            /* 16 × 16 blocks: 16 cache lines read, 1 KB written contiguously. */
            for (int64_t k0 = 0; k0 < k; k0 += RK_PANEL) {
                int64_t kn = k - k0 < RK_PANEL ? k - k0 : RK_PANEL;
                for (int64_t j = 0; j < cols; j++)
                    for (int64_t kk = 0; kk < kn; kk++) dst[(k0 + kk) * RK_PANEL + j] = src[j * ldw + k0 + kk];
            }
        }
    }
}

void rk_pack_transposed(int64_t k, int64_t n, const float *w, int64_t ldw, float *packed) {
    int64_t panels = rk_panels(n);
    for (int64_t p = 0; p < panels; p++) {
        float *dst = packed + p * RK_PANEL * k;                              /* (K, 16) */
        int64_t first = p * RK_PANEL;
        int64_t cols = n - first < RK_PANEL ? n - first : RK_PANEL;
        for (int64_t kk = 0; kk < k; kk++) {
            /* Row kk of W holds the 16 columns of the panel side by side: a straight copy. */
            memcpy(dst + kk * RK_PANEL, w + kk * ldw + first, (size_t)cols * sizeof(float));
            if (cols < RK_PANEL) memset(dst + kk * RK_PANEL + cols, 0, (size_t)(RK_PANEL - cols) * sizeof(float));
        }
    }
}

/* The reference, and the path of CPUs without AVX-512: the same chain per element, one element
 * at a time. */
void rk_packed_product_reference(int64_t m, int64_t k, const float *a, int64_t lda,
                                       const float *packed, int64_t gates, int64_t hidden,
                                       int64_t column_begin, int64_t column_end, int32_t accumulate,
                                       float *c, int64_t ldc) {
    int64_t panels = rk_panels(hidden);
    for (int64_t g = 0; g < gates; g++)
        for (int64_t j = column_begin; j < column_end; j++) {
            const float *wp = packed + (g * panels + j / RK_PANEL) * RK_PANEL * k + j % RK_PANEL;
            for (int64_t r = 0; r < m; r++) {
                float sum = 0.0f;
                for (int64_t kk = 0; kk < k; kk++) sum = __builtin_fmaf(a[r * lda + kk], wp[kk * RK_PANEL], sum);
                float *dst = c + r * ldc + g * hidden + j;
                *dst = accumulate ? *dst + sum : sum;
            }
        }
}

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

#define RK_MAX_MR 12
#define RK_MAX_NP 8
#define RK_ROW_CHUNK 192

/* One register tile: MR rows of A by NP panels (16·NP columns) of W, all of k. The last panel's
 * stores are masked to `last_mask` (a partial panel at the end of a gate). */
static inline __attribute__((always_inline, target("avx512f"))) void rk_tile(
    const int MR, const int NP, int64_t k, const float *restrict a, int64_t lda,
    const float *restrict w, int64_t panel_stride, int32_t accumulate, float *restrict c,
    int64_t ldc, __mmask16 last_mask) {
    __m512 acc[RK_MAX_MR][RK_MAX_NP];
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++)
#pragma clang loop unroll(full)
        for (int p = 0; p < NP; p++) acc[r][p] = _mm512_setzero_ps();
    for (int64_t kk = 0; kk < k; kk++) {
        __m512 wv[RK_MAX_NP];
#pragma clang loop unroll(full)
        for (int p = 0; p < NP; p++) wv[p] = _mm512_loadu_ps(w + p * panel_stride + kk * RK_PANEL);
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
            __m512 av = _mm512_set1_ps(a[r * lda + kk]);
#pragma clang loop unroll(full)
            for (int p = 0; p < NP; p++) acc[r][p] = _mm512_fmadd_ps(av, wv[p], acc[r][p]);
        }
    }
    for (int r = 0; r < MR; r++)
        for (int p = 0; p < NP; p++) {
            __mmask16 mask = p == NP - 1 ? last_mask : (__mmask16)0xFFFF;
            float *dst = c + r * ldc + p * RK_PANEL;
            __m512 v = acc[r][p];
            if (accumulate) v = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, dst), v);
            _mm512_mask_storeu_ps(dst, mask, v);
        }
}

typedef void (*rk_tile_fn)(int64_t, const float *, int64_t, const float *, int64_t, int32_t, float *,
                           int64_t, __mmask16);

#define RK_TILE(MR, NP)                                                                              \
    __attribute__((target("avx512f"))) static void rk_tile_##MR##_##NP(                             \
        int64_t k, const float *a, int64_t lda, const float *w, int64_t panel_stride,                \
        int32_t accumulate, float *c, int64_t ldc, __mmask16 last_mask) {                            \
        rk_tile(MR, NP, k, a, lda, w, panel_stride, accumulate, c, ldc, last_mask);                  \
    }
RK_TILE(1, 8) RK_TILE(1, 7) RK_TILE(1, 6) RK_TILE(1, 5) RK_TILE(1, 4) RK_TILE(1, 3) RK_TILE(1, 2) RK_TILE(1, 1)
RK_TILE(2, 8) RK_TILE(2, 1)
RK_TILE(3, 7) RK_TILE(3, 1) RK_TILE(2, 7)
RK_TILE(4, 6) RK_TILE(4, 1) RK_TILE(3, 6)
RK_TILE(5, 5) RK_TILE(5, 1) RK_TILE(4, 5)
RK_TILE(6, 4) RK_TILE(6, 1) RK_TILE(5, 4)
RK_TILE(7, 3) RK_TILE(7, 1) RK_TILE(6, 3)
RK_TILE(8, 3) RK_TILE(8, 1)
RK_TILE(9, 2) RK_TILE(9, 1) RK_TILE(8, 2)
RK_TILE(10, 2) RK_TILE(10, 1)
RK_TILE(11, 2) RK_TILE(11, 1)
RK_TILE(12, 2) RK_TILE(12, 1)

/* The tiles of a product whose row blocks have MR or MR − 1 rows: `np` panels per tile, chosen so
 * that MR·np accumulators + np loaded vectors + 1 broadcast fit in the 32 vector registers; a
 * gate's last panels, when fewer than `np` are left, go one at a time (their MR rows give each
 * tile enough independent chains; a single row uses rk_one_row_tiles instead). [0]: MR rows,
 * [1]: MR − 1. */
static const struct { int np; rk_tile_fn wide[2], narrow[2]; } rk_tile_sets[RK_MAX_MR + 1] = {
    {0, {0, 0}, {0, 0}},
    {8, {rk_tile_1_8, 0}, {rk_tile_1_1, 0}},
    {8, {rk_tile_2_8, rk_tile_1_8}, {rk_tile_2_1, rk_tile_1_1}},
    {7, {rk_tile_3_7, rk_tile_2_7}, {rk_tile_3_1, rk_tile_2_1}},
    {6, {rk_tile_4_6, rk_tile_3_6}, {rk_tile_4_1, rk_tile_3_1}},
    {5, {rk_tile_5_5, rk_tile_4_5}, {rk_tile_5_1, rk_tile_4_1}},
    {4, {rk_tile_6_4, rk_tile_5_4}, {rk_tile_6_1, rk_tile_5_1}},
    {3, {rk_tile_7_3, rk_tile_6_3}, {rk_tile_7_1, rk_tile_6_1}},
    {3, {rk_tile_8_3, rk_tile_7_3}, {rk_tile_8_1, rk_tile_7_1}},
    {2, {rk_tile_9_2, rk_tile_8_2}, {rk_tile_9_1, rk_tile_8_1}},
    {2, {rk_tile_10_2, rk_tile_9_2}, {rk_tile_10_1, rk_tile_9_1}},
    {2, {rk_tile_11_2, rk_tile_10_2}, {rk_tile_11_1, rk_tile_10_1}},
    {2, {rk_tile_12_2, rk_tile_11_2}, {rk_tile_12_1, rk_tile_11_1}},
};

/* One row by n panels, n = 1…8: a single row has only the chains of its panels to hide the FMA
 * latency, so a gate's last panels go together rather than one at a time. */
static const rk_tile_fn rk_one_row_tiles[RK_MAX_NP + 1] = {
    0, rk_tile_1_1, rk_tile_1_2, rk_tile_1_3, rk_tile_1_4, rk_tile_1_5, rk_tile_1_6, rk_tile_1_7, rk_tile_1_8,
};

__attribute__((target("avx512f"))) static void rk_packed_product_avx512(
    int64_t m, int64_t k, const float *a, int64_t lda, const float *packed, int64_t gates,
    int64_t hidden, int64_t column_begin, int64_t column_end, int32_t accumulate, float *c,
    int64_t ldc) {
    int64_t panels = rk_panels(hidden), panel_stride = RK_PANEL * k;
    int64_t first_panel = column_begin / RK_PANEL, end_panel = rk_panels(column_end);
    int64_t tail = column_end - (end_panel - 1) * RK_PANEL;                 /* columns of the last panel */
    __mmask16 tail_mask = (__mmask16)((1u << tail) - 1);
    /* Row chunks of at most RK_ROW_CHUNK rows keep their part of A in L2 while the panels stream
     * past (an input projection has T·B rows); within a chunk, row blocks of at most RK_MAX_MR
     * rows, balanced: `mr` or `mr` − 1 rows each. */
    if (m > RK_ROW_CHUNK) {
        for (int64_t row = 0; row < m; row += RK_ROW_CHUNK)
            rk_packed_product_avx512(m - row < RK_ROW_CHUNK ? m - row : RK_ROW_CHUNK, k, a + row * lda, lda,
                                     packed, gates, hidden, column_begin, column_end, accumulate,
                                     c + row * ldc, ldc);
        return;
    }
    int64_t blocks = (m + RK_MAX_MR - 1) / RK_MAX_MR;
    int64_t mr = (m + blocks - 1) / blocks;
    int np = rk_tile_sets[mr].np;
    for (int64_t g = 0; g < gates; g++) {
        const float *wg = packed + g * panels * panel_stride;                /* gate g: (panels, K, 16) */
        int64_t group;
        for (int64_t p = first_panel; p < end_panel; p += group) {
            /* A group of panels is read from memory once and reused, from cache, by every row block. */
            group = end_panel - p >= np ? np : (m == 1 ? end_panel - p : 1);
            __mmask16 last = p + group == end_panel ? tail_mask : (__mmask16)0xFFFF;
            if (m == 1) {
                rk_one_row_tiles[group](k, a, lda, wg + p * panel_stride, panel_stride, accumulate,
                                        c + g * hidden + p * RK_PANEL, ldc, last);
                continue;
            }
            int64_t row = 0;
            for (int64_t block = 0; block < blocks; block++) {
                int64_t rows = m / blocks + (block < m % blocks);
                int lower = rows != mr;
                rk_tile_fn tile = group == np ? rk_tile_sets[mr].wide[lower] : rk_tile_sets[mr].narrow[lower];
                tile(k, a + row * lda, lda, wg + p * panel_stride, panel_stride, accumulate,
                     c + row * ldc + g * hidden + p * RK_PANEL, ldc, last);
                row += rows;
            }
        }
    }
}
#endif

int32_t rk_packed_product_is_fast(void) {
#if defined(__x86_64__) && defined(__clang__)
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
#else
    return 0;
#endif
}

void rk_packed_product(int64_t m, int64_t k, const float *a, int64_t lda, const float *packed,
                       int64_t gates, int64_t hidden, int64_t column_begin, int64_t column_end,
                       int32_t accumulate, float *c, int64_t ldc) {
    if (m <= 0 || column_end <= column_begin) return;
#if defined(__x86_64__) && defined(__clang__)
    if (__builtin_cpu_supports("avx512f")) {
        rk_packed_product_avx512(m, k, a, lda, packed, gates, hidden, column_begin, column_end,
                                 accumulate, c, ldc);
        return;
    }
#endif
    rk_packed_product_reference(m, k, a, lda, packed, gates, hidden, column_begin, column_end,
                               accumulate, c, ldc);
}
