/*
 * OpenBLAS's kernels for this CPU, when OpenBLAS's own detection did not recognise it.
 *
 * A DYNAMIC_ARCH OpenBLAS picks its kernels once, when it is loaded, from the CPU's model number.
 * A build older than the CPU (Debian 12's 0.3.21 on recent Xeons) does not know the model and
 * falls back to a generic core such as Prescott, whose SSE3 kernels run several times slower than
 * the CPU allows, silently. At load, after OpenBLAS's own initialisation, RNNKit compares the
 * core OpenBLAS chose with what cpuid reports and, when OpenBLAS fell back to a core without AVX2
 * although the CPU has AVX2+FMA or AVX-512, asks OpenBLAS to initialise again for the matching
 * core (Cooperlake with AVX-512 BF16, SkylakeX with AVX-512, Haswell with AVX2+FMA), through the
 * same entry points OPENBLAS_CORETYPE uses. It leaves OpenBLAS alone when the user has set
 * OPENBLAS_CORETYPE, when RNNKIT_BLAS_CORE=keep, and when OpenBLAS is not a DYNAMIC_ARCH build
 * (its entry points are then missing). This runs in every process that links RNNKit: the rnnkit
 * executable, Swift programs, and C programs through librnnkit.so (also when it is opened with
 * dlopen's RTLD_LOCAL, as Python's ctypes does: the entry points are weak references bound when
 * the image that links OpenBLAS is loaded, not looked up in the global scope).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rnnkit_kernels.h"

static char rk_core_at_load[32] = "";
static int32_t rk_core_choice = RK_BLAS_CORE_UNKNOWN;

/* OpenBLAS's entry points; NULL when the process has no OpenBLAS or not these (a build that is
 * not DYNAMIC_ARCH has no gotoblas_dynamic_*). */
extern char *openblas_get_corename(void) __attribute__((weak));
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

/* OpenBLAS cores with AVX2 kernels or better (openblas_get_corename spellings, lowercase). */
static int rk_core_has_avx2(const char *name) {
    static const char *const fast[] = {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids", "excavator"};
    for (size_t i = 0; i < sizeof fast / sizeof fast[0]; i++) {
        if (strcasecmp(name, fast[i]) == 0) return 1;
    }
    return 0;
}

uint32_t rk_cpu_features(void) {
    uint32_t features = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) features |= RK_CPU_AVX2_FMA;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512vl")) features |= RK_CPU_AVX512;
    if ((features & RK_CPU_AVX512) && __builtin_cpu_supports("avx512bf16")) features |= RK_CPU_AVX512_BF16;
#endif
    return features;
}

const char *rk_blas_core_wanted(uint32_t features, const char *chosen) {
    if (chosen && rk_core_has_avx2(chosen)) return NULL;
    if (features & RK_CPU_AVX512_BF16) return "Cooperlake";
    if (features & RK_CPU_AVX512) return "SkylakeX";
    if (features & RK_CPU_AVX2_FMA) return "Haswell";
    return NULL;
}

__attribute__((constructor)) static void rk_select_blas_core(void) {
    if (!openblas_get_corename) return;
    const char *chosen = openblas_get_corename();
    strncpy(rk_core_at_load, chosen ? chosen : "", sizeof rk_core_at_load - 1);
    const char *wanted = rk_blas_core_wanted(rk_cpu_features(), rk_core_at_load);
    if (!wanted) { rk_core_choice = RK_BLAS_CORE_RECOGNISED; return; }
    if (getenv("OPENBLAS_CORETYPE")) { rk_core_choice = RK_BLAS_CORE_SET_BY_USER; return; }
    const char *keep = getenv("RNNKIT_BLAS_CORE");
    if (keep && strcmp(keep, "keep") == 0) { rk_core_choice = RK_BLAS_CORE_KEPT_BY_REQUEST; return; }
    if (!gotoblas_dynamic_quit || !gotoblas_dynamic_init) { rk_core_choice = RK_BLAS_CORE_NOT_DYNAMIC; return; }
    /* OpenBLAS reads the core's name from OPENBLAS_CORETYPE while it initialises; the variable is
     * removed again, so the process's environment is as it was. */
    setenv("OPENBLAS_CORETYPE", wanted, 1);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    unsetenv("OPENBLAS_CORETYPE");
    const char *now = openblas_get_corename();
    rk_core_choice = now && strcasecmp(now, wanted) == 0 ? RK_BLAS_CORE_SELECTED : RK_BLAS_CORE_SELECTION_FAILED;
}

const char *rk_blas_core_at_load(void) { return rk_core_at_load; }

int32_t rk_blas_core_choice(void) { return rk_core_choice; }
