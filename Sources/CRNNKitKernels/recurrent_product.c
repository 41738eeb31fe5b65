/*
 * The products of the time loop, C (M, G·H) (+)= A (M, K) · W^T, over weights packed once per
 * change of the parameters (W_ih and W_hh for forward, W_hh as stored for backward's ∂h); see
 * rnnkit_kernels.h for the layout and the contract.
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

#include <stdlib.h>
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

/* The reference, and the path of CPUs without AVX2: the same chain per element, one element
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

/* The vector kernels share one driver and differ in their register tiles. A tile takes MR rows
 * of A by NP panels of W for all of k; `last_columns` (1…16) is how many columns of its last
 * panel exist (a partial panel at the end of a gate), and only those are stored. */
typedef void (*rk_tile_fn)(int64_t k, const float *a, int64_t lda, const float *w, int64_t panel_stride,
                           int32_t accumulate, float *c, int64_t ldc, int64_t last_columns);

/* The tiles for row blocks of MR or MR − 1 rows: `np` panels per tile; a gate's last panels, when
 * fewer than `np` are left, go one at a time (their MR rows give each tile enough independent
 * chains). [0]: MR rows, [1]: MR − 1. */
typedef struct {
    int np;
    rk_tile_fn wide[2], narrow[2];
} rk_tile_set;

typedef struct {
    int max_mr;                  /* rows of the largest tile */
    const rk_tile_set *sets;     /* [1 … max_mr] */
    const rk_tile_fn *one_row;   /* one row by n panels, n = 1 … sets[1].np: a single row has only
                                    its panels' chains to hide the FMA latency, so a gate's last
                                    panels go together rather than one at a time */
} rk_tiled_kernel;

/* Row chunks of at most this many rows keep their part of A in L2 while the panels stream past. */
#define RK_ROW_CHUNK 192

static void rk_packed_product_tiled(const rk_tiled_kernel *kernel, int64_t m, int64_t k, const float *a,
                                    int64_t lda, const float *packed, int64_t gates, int64_t hidden,
                                    int64_t column_begin, int64_t column_end, int32_t accumulate,
                                    float *c, int64_t ldc) {
    int64_t panels = rk_panels(hidden), panel_stride = RK_PANEL * k;
    int64_t first_panel = column_begin / RK_PANEL, end_panel = rk_panels(column_end);
    int64_t tail = column_end - (end_panel - 1) * RK_PANEL;                 /* columns of the last panel */
    if (m > RK_ROW_CHUNK) {
        for (int64_t row = 0; row < m; row += RK_ROW_CHUNK)
            rk_packed_product_tiled(kernel, m - row < RK_ROW_CHUNK ? m - row : RK_ROW_CHUNK, k, a + row * lda,
                                    lda, packed, gates, hidden, column_begin, column_end, accumulate,
                                    c + row * ldc, ldc);
        return;
    }
    /* Row blocks of at most max_mr rows, balanced: `mr` or `mr` − 1 rows each. */
    int64_t blocks = (m + kernel->max_mr - 1) / kernel->max_mr;
    int64_t mr = (m + blocks - 1) / blocks;
    const rk_tile_set *set = &kernel->sets[mr];
    int np = set->np;
    for (int64_t g = 0; g < gates; g++) {
        const float *wg = packed + g * panels * panel_stride;                /* gate g: (panels, K, 16) */
        int64_t group;
        for (int64_t p = first_panel; p < end_panel; p += group) {
            /* A group of panels is read from memory once and reused, from cache, by every row block. */
            group = end_panel - p >= np ? np : (m == 1 ? end_panel - p : 1);
            int64_t last = p + group == end_panel ? tail : RK_PANEL;
            if (m == 1) {
                kernel->one_row[group](k, a, lda, wg + p * panel_stride, panel_stride, accumulate,
                                       c + g * hidden + p * RK_PANEL, ldc, last);
                continue;
            }
            int64_t row = 0;
            for (int64_t block = 0; block < blocks; block++) {
                int64_t rows = m / blocks + (block < m % blocks);
                int lower = rows != mr;
                rk_tile_fn tile = group == np ? set->wide[lower] : set->narrow[lower];
                tile(k, a + row * lda, lda, wg + p * panel_stride, panel_stride, accumulate,
                     c + row * ldc + g * hidden + p * RK_PANEL, ldc, last);
                row += rows;
            }
        }
    }
}

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

#define RK_MAX_MR 12
#define RK_MAX_NP 8

/* AVX-512: a panel is one 16-float vector; MR·NP accumulators + NP loaded vectors + 1 broadcast
 * fit in the 32 vector registers. */
static inline __attribute__((always_inline, target("avx512f"))) void rk_tile(
    const int MR, const int NP, int64_t k, const float *restrict a, int64_t lda,
    const float *restrict w, int64_t panel_stride, int32_t accumulate, float *restrict c,
    int64_t ldc, int64_t last_columns) {
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
    __mmask16 last_mask = (__mmask16)((1u << last_columns) - 1);
    for (int r = 0; r < MR; r++)
        for (int p = 0; p < NP; p++) {
            __mmask16 mask = p == NP - 1 ? last_mask : (__mmask16)0xFFFF;
            float *dst = c + r * ldc + p * RK_PANEL;
            __m512 v = acc[r][p];
            if (accumulate) v = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, dst), v);
            _mm512_mask_storeu_ps(dst, mask, v);
        }
}

#define RK_TILE(MR, NP)                                                                              \
    __attribute__((target("avx512f"))) static void rk_tile_##MR##_##NP(                             \
        int64_t k, const float *a, int64_t lda, const float *w, int64_t panel_stride,                \
        int32_t accumulate, float *c, int64_t ldc, int64_t last_columns) {                           \
        rk_tile(MR, NP, k, a, lda, w, panel_stride, accumulate, c, ldc, last_columns);               \
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

static const rk_tile_set rk_avx512_sets[RK_MAX_MR + 1] = {
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
static const rk_tile_fn rk_avx512_one_row[RK_MAX_NP + 1] = {
    0, rk_tile_1_1, rk_tile_1_2, rk_tile_1_3, rk_tile_1_4, rk_tile_1_5, rk_tile_1_6, rk_tile_1_7, rk_tile_1_8,
};
static const rk_tiled_kernel rk_avx512_kernel = {RK_MAX_MR, rk_avx512_sets, rk_avx512_one_row};

/* AVX2 + FMA: a panel is two 8-float vectors, and there are 16 vector registers, so a tile holds
 * 2·MR·NP ≤ 12 accumulators; W's vectors are reloaded from L1 per row rather than kept. */
#define RK_AVX2_MAX_MR 6
#define RK_AVX2_MAX_NP 6

static inline __attribute__((always_inline, target("avx2,fma"))) void rk_tile_256(
    const int MR, const int NP, int64_t k, const float *restrict a, int64_t lda,
    const float *restrict w, int64_t panel_stride, int32_t accumulate, float *restrict c,
    int64_t ldc, int64_t last_columns) {
    __m256 acc[RK_AVX2_MAX_MR][RK_AVX2_MAX_NP][2];
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++)
#pragma clang loop unroll(full)
        for (int p = 0; p < NP; p++) acc[r][p][0] = acc[r][p][1] = _mm256_setzero_ps();
    for (int64_t kk = 0; kk < k; kk++) {
        const float *wk = w + kk * RK_PANEL;
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
            __m256 av = _mm256_broadcast_ss(a + r * lda + kk);
#pragma clang loop unroll(full)
            for (int p = 0; p < NP; p++) {
                acc[r][p][0] = _mm256_fmadd_ps(av, _mm256_loadu_ps(wk + p * panel_stride), acc[r][p][0]);
                acc[r][p][1] = _mm256_fmadd_ps(av, _mm256_loadu_ps(wk + p * panel_stride + 8), acc[r][p][1]);
            }
        }
    }
    /* Lane i of a half is stored when its column exists: mask lanes are all-ones below the count. */
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int r = 0; r < MR; r++)
        for (int p = 0; p < NP; p++)
            for (int half = 0; half < 2; half++) {
                int64_t columns = (p == NP - 1 ? last_columns : RK_PANEL) - 8 * half;
                if (columns <= 0) continue;
                float *dst = c + r * ldc + p * RK_PANEL + 8 * half;
                __m256 v = acc[r][p][half];
                if (columns >= 8) {
                    if (accumulate) v = _mm256_add_ps(_mm256_loadu_ps(dst), v);
                    _mm256_storeu_ps(dst, v);
                } else {
                    __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)columns), lane);
                    if (accumulate) v = _mm256_add_ps(_mm256_maskload_ps(dst, mask), v);
                    _mm256_maskstore_ps(dst, mask, v);
                }
            }
}

#define RK_TILE_256(MR, NP)                                                                          \
    __attribute__((target("avx2,fma"))) static void rk_tile256_##MR##_##NP(                         \
        int64_t k, const float *a, int64_t lda, const float *w, int64_t panel_stride,                \
        int32_t accumulate, float *c, int64_t ldc, int64_t last_columns) {                           \
        rk_tile_256(MR, NP, k, a, lda, w, panel_stride, accumulate, c, ldc, last_columns);           \
    }
RK_TILE_256(1, 6) RK_TILE_256(1, 5) RK_TILE_256(1, 4) RK_TILE_256(1, 3) RK_TILE_256(1, 2) RK_TILE_256(1, 1)
RK_TILE_256(2, 3) RK_TILE_256(2, 1)
RK_TILE_256(3, 2) RK_TILE_256(3, 1) RK_TILE_256(2, 2)
RK_TILE_256(4, 1) RK_TILE_256(5, 1) RK_TILE_256(6, 1)

static const rk_tile_set rk_avx2_sets[RK_AVX2_MAX_MR + 1] = {
    {0, {0, 0}, {0, 0}},
    {6, {rk_tile256_1_6, 0}, {rk_tile256_1_1, 0}},
    {3, {rk_tile256_2_3, rk_tile256_1_3}, {rk_tile256_2_1, rk_tile256_1_1}},
    {2, {rk_tile256_3_2, rk_tile256_2_2}, {rk_tile256_3_1, rk_tile256_2_1}},
    {1, {rk_tile256_4_1, rk_tile256_3_1}, {rk_tile256_4_1, rk_tile256_3_1}},
    {1, {rk_tile256_5_1, rk_tile256_4_1}, {rk_tile256_5_1, rk_tile256_4_1}},
    {1, {rk_tile256_6_1, rk_tile256_5_1}, {rk_tile256_6_1, rk_tile256_5_1}},
};
static const rk_tile_fn rk_avx2_one_row[RK_AVX2_MAX_NP + 1] = {
    0, rk_tile256_1_1, rk_tile256_1_2, rk_tile256_1_3, rk_tile256_1_4, rk_tile256_1_5, rk_tile256_1_6,
};
static const rk_tiled_kernel rk_avx2_kernel = {RK_AVX2_MAX_MR, rk_avx2_sets, rk_avx2_one_row};
#endif

/* The kernel rk_packed_product uses: RNNKIT_PACKED_KERNEL = avx512 | avx2 | portable chooses one
 * the CPU supports (docs/architecture.md); by default the widest. Read once. */
static int32_t rk_selected = -1;

static int32_t rk_kernel_supported(int32_t kernel) {
    switch (kernel) {
    case RK_KERNEL_PORTABLE: return 1;
#if defined(__x86_64__) && defined(__clang__)
    case RK_KERNEL_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case RK_KERNEL_AVX512: return __builtin_cpu_supports("avx512f");
#endif
    default: return 0;
    }
}

int32_t rk_packed_kernel(void) {
    int32_t selected = __atomic_load_n(&rk_selected, __ATOMIC_RELAXED);
    if (selected >= 0) return selected;
    selected = rk_kernel_supported(RK_KERNEL_AVX512) ? RK_KERNEL_AVX512
             : rk_kernel_supported(RK_KERNEL_AVX2) ? RK_KERNEL_AVX2 : RK_KERNEL_PORTABLE;
    const char *wanted = getenv("RNNKIT_PACKED_KERNEL");
    if (wanted) {
        int32_t named = !strcmp(wanted, "avx512") ? RK_KERNEL_AVX512 : !strcmp(wanted, "avx2") ? RK_KERNEL_AVX2
                      : !strcmp(wanted, "portable") ? RK_KERNEL_PORTABLE : -1;
        if (named >= 0 && named < selected && rk_kernel_supported(named)) selected = named;
    }
    __atomic_store_n(&rk_selected, selected, __ATOMIC_RELAXED);
    return selected;
}

int32_t rk_packed_product_is_fast(void) { return rk_packed_kernel() != RK_KERNEL_PORTABLE; }

int32_t rk_packed_product_on(int32_t kernel, int64_t m, int64_t k, const float *a, int64_t lda,
                             const float *packed, int64_t gates, int64_t hidden, int64_t column_begin,
                             int64_t column_end, int32_t accumulate, float *c, int64_t ldc) {
    if (!rk_kernel_supported(kernel)) return 0;
    if (m <= 0 || column_end <= column_begin) return 1;
    switch (kernel) {
#if defined(__x86_64__) && defined(__clang__)
    case RK_KERNEL_AVX512:
        rk_packed_product_tiled(&rk_avx512_kernel, m, k, a, lda, packed, gates, hidden, column_begin,
                                column_end, accumulate, c, ldc);
        return 1;
    case RK_KERNEL_AVX2:
        rk_packed_product_tiled(&rk_avx2_kernel, m, k, a, lda, packed, gates, hidden, column_begin,
                                column_end, accumulate, c, ldc);
        return 1;
#endif
    default:
        rk_packed_product_reference(m, k, a, lda, packed, gates, hidden, column_begin, column_end,
                                    accumulate, c, ldc);
        return 1;
    }
}

void rk_packed_product(int64_t m, int64_t k, const float *a, int64_t lda, const float *packed,
                       int64_t gates, int64_t hidden, int64_t column_begin, int64_t column_end,
                       int32_t accumulate, float *c, int64_t ldc) {
    rk_packed_product_on(rk_packed_kernel(), m, k, a, lda, packed, gates, hidden, column_begin, column_end,
                         accumulate, c, ldc);
}
