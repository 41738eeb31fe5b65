/*
 * The host check of scripts/perf: register-only FMA throughput per thread. Twelve independent
 * accumulators hide the FMA latency (4 cycles on current x86 cores, two pipes), so the loop runs
 * at the core's FMA throughput and measures what the host lets this vCPU have, not RNNKit.
 */
#include "bench_probe.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define RK_CHAINS 12
#define RK_ROUNDS 100000 /* FMAs per chain between clock reads */

static double rk_seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

/* Each `run_*` returns the FLOPs done; `sink` keeps the chains alive. */
#if defined(__x86_64__)
__attribute__((target("avx512f"))) static double rk_run_avx512(double seconds, float *sink) {
    __m512 acc[RK_CHAINS];
    for (int i = 0; i < RK_CHAINS; i++) acc[i] = _mm512_set1_ps(1e-3f * (float)i);
    const __m512 scale = _mm512_set1_ps(0.999999f), shift = _mm512_set1_ps(1e-7f);
    double flops = 0, start = rk_seconds();
    do {
        for (int r = 0; r < RK_ROUNDS; r++)
            for (int i = 0; i < RK_CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], scale, shift);
        flops += 2.0 * 16 * RK_CHAINS * RK_ROUNDS;
    } while (rk_seconds() - start < seconds);
    float total = 0;
    for (int i = 0; i < RK_CHAINS; i++) total += _mm512_reduce_add_ps(acc[i]);
    *sink = total;
    return flops;
}

__attribute__((target("avx2,fma"))) static double rk_run_avx2(double seconds, float *sink) {
    __m256 acc[RK_CHAINS];
    for (int i = 0; i < RK_CHAINS; i++) acc[i] = _mm256_set1_ps(1e-3f * (float)i);
    const __m256 scale = _mm256_set1_ps(0.999999f), shift = _mm256_set1_ps(1e-7f);
    double flops = 0, start = rk_seconds();
    do {
        for (int r = 0; r < RK_ROUNDS; r++)
            for (int i = 0; i < RK_CHAINS; i++) acc[i] = _mm256_fmadd_ps(acc[i], scale, shift);
        flops += 2.0 * 8 * RK_CHAINS * RK_ROUNDS;
    } while (rk_seconds() - start < seconds);
    float lanes[8], total = 0;
    for (int i = 0; i < RK_CHAINS; i++) {
        _mm256_storeu_ps(lanes, acc[i]);
        for (int j = 0; j < 8; j++) total += lanes[j];
    }
    *sink = total;
    return flops;
}
#endif

static double rk_run_scalar(double seconds, float *sink) {
    float acc[RK_CHAINS];
    for (int i = 0; i < RK_CHAINS; i++) acc[i] = 1e-3f * (float)i;
    double flops = 0, start = rk_seconds();
    do {
        for (int r = 0; r < RK_ROUNDS; r++)
            for (int i = 0; i < RK_CHAINS; i++) acc[i] = acc[i] * 0.999999f + 1e-7f;
        flops += 2.0 * RK_CHAINS * RK_ROUNDS;
    } while (rk_seconds() - start < seconds);
    float total = 0;
    for (int i = 0; i < RK_CHAINS; i++) total += acc[i];
    *sink = total;
    return flops;
}

typedef struct {
    double seconds;
    double gflops;
    float sink;
} rk_probe_job;

static void *rk_probe_thread(void *argument) {
    rk_probe_job *job = argument;
    double start = rk_seconds(), flops;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) flops = rk_run_avx512(job->seconds, &job->sink);
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) flops = rk_run_avx2(job->seconds, &job->sink);
    else flops = rk_run_scalar(job->seconds, &job->sink);
#else
    flops = rk_run_scalar(job->seconds, &job->sink);
#endif
    job->gflops = flops / (rk_seconds() - start) / 1e9;
    return NULL;
}

int32_t rk_probe_fma(int32_t threads, double seconds, double *gflops) {
    if (threads < 1) return -1;
    rk_probe_job *jobs = calloc((size_t)threads, sizeof *jobs);
    pthread_t *handles = calloc((size_t)threads, sizeof *handles);
    int32_t started = 0, status = 0;
    if (!jobs || !handles) status = -1;
    for (; status == 0 && started < threads; started++) {
        jobs[started].seconds = seconds;
        if (pthread_create(&handles[started], NULL, rk_probe_thread, &jobs[started]) != 0) status = -1;
    }
    if (status != 0 && started > 0) started--; /* the failed one was not created */
    for (int32_t i = 0; i < started; i++) pthread_join(handles[i], NULL);
    for (int32_t i = 0; status == 0 && i < threads; i++) gflops[i] = jobs[i].gflops;
    free(jobs);
    free(handles);
    return status;
}
