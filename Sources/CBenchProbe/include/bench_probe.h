/* The host check of scripts/perf (docs/benchmarking.md): how many FLOPs a core sustains right now. */
#ifndef RNNKIT_BENCH_PROBE_H
#define RNNKIT_BENCH_PROBE_H

#include <stdint.h>

/* Runs `threads` threads at once, each doing independent register-only FMA chains (no memory
 * traffic) for about `seconds`, and writes each thread's GFLOP/s to `gflops[0..<threads]`.
 * Uses 512-bit FMAs where the CPU has AVX-512F, 256-bit with AVX2+FMA, scalar otherwise.
 * On a quiet machine every thread reaches its core's FMA peak; a shared host that gives two
 * vCPUs the two hyperthreads of one core, or lets another tenant's work in, shows as less.
 * Returns 0, or -1 when a thread cannot be started. */
int32_t rk_probe_fma(int32_t threads, double seconds, double *gflops);

#endif
