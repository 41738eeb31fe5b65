/*
 * Worker threads that run at the same time, and a barrier between them; see rnnkit_kernels.h.
 *
 * A time loop split by hidden columns meets at a barrier after every step, so its workers must
 * all be running at once: a thread pool that may run jobs one after another (like libdispatch's
 * concurrentPerform) could leave a worker waiting for a job that never starts. Helpers here are
 * real threads, kept between calls; waiting spins for a few microseconds (a step of a small
 * product takes that long), then yields the core or sleeps, so an oversubscribed machine still
 * makes progress.
 */
#include "rnnkit_kernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void rk_relax(void) { _mm_pause(); }
#else
static inline void rk_relax(void) {}
#endif

/* ThreadSanitizer: this file is built without instrumentation (see docs/reliability.md), so TSan
 * cannot see that its atomics order the workers' accesses to the buffers the Swift code hands
 * them. Under TSan the runtime defines these two annotations and every hand-over below reports
 * its edge; otherwise the weak references are NULL and cost a predictable branch. */
extern void __tsan_acquire(void *address) __attribute__((weak));
extern void __tsan_release(void *address) __attribute__((weak));
static inline void rk_tsan_acquire(void *address) {
    if (__tsan_acquire) __tsan_acquire(address);
}
static inline void rk_tsan_release(void *address) {
    if (__tsan_release) __tsan_release(address);
}

/* Spins of a waiting thread before it yields its core (barrier, caller) or sleeps (helper). */
#define RK_SPINS 4096
#define RK_MAX_HELPERS 63

void rk_barrier_init(rk_barrier *barrier, int64_t count) {
    barrier->count = count;
    barrier->waiting = 0;
    barrier->phase = 0;
}

void rk_barrier_wait(rk_barrier *barrier) {
    rk_tsan_release(barrier);
    int64_t phase = __atomic_load_n(&barrier->phase, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&barrier->waiting, 1, __ATOMIC_ACQ_REL) == barrier->count) {
        /* The last to arrive resets the count, then opens the next phase (release: a worker that
         * sees the new phase also sees the reset and every write made before the barrier). */
        __atomic_store_n(&barrier->waiting, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&barrier->phase, phase + 1, __ATOMIC_RELEASE);
        rk_tsan_acquire(barrier);
        return;
    }
    for (int64_t spins = 0; __atomic_load_n(&barrier->phase, __ATOMIC_ACQUIRE) == phase; spins++) {
        if (spins < RK_SPINS) rk_relax();
        else sched_yield();
    }
    rk_tsan_acquire(barrier);
}

/* The persistent helpers: helper i (1-based) runs the current job as worker i when its mailbox
 * holds a generation it has not run yet. */
static struct {
    pthread_mutex_t lock;          /* creation of helpers; sleeping on `wake` */
    pthread_cond_t wake;
    int64_t helpers;               /* helpers created */
    int64_t busy;                  /* 1 while a call owns the helpers (atomic) */
    int64_t generation;            /* jobs posted so far */
    rk_worker_body body;           /* the current job, written before the mailboxes */
    void *context;
    int64_t remaining;             /* helpers still running the current job (atomic) */
    int64_t mailbox[RK_MAX_HELPERS + 1];
} rk_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

static void *rk_helper_main(void *argument) {
    int64_t id = (int64_t)(intptr_t)argument;
    int64_t seen = 0;
    for (;;) {
        int64_t spins = 0;
        while (__atomic_load_n(&rk_pool.mailbox[id], __ATOMIC_ACQUIRE) == seen) {
            if (spins++ < RK_SPINS) {
                rk_relax();
                continue;
            }
            pthread_mutex_lock(&rk_pool.lock);
            while (__atomic_load_n(&rk_pool.mailbox[id], __ATOMIC_ACQUIRE) == seen)
                pthread_cond_wait(&rk_pool.wake, &rk_pool.lock);
            pthread_mutex_unlock(&rk_pool.lock);
        }
        seen = __atomic_load_n(&rk_pool.mailbox[id], __ATOMIC_ACQUIRE);
        rk_tsan_acquire(&rk_pool.mailbox[id]);
        rk_pool.body(rk_pool.context, id);
        rk_tsan_release(&rk_pool.remaining);
        __atomic_sub_fetch(&rk_pool.remaining, 1, __ATOMIC_ACQ_REL);
    }
    return NULL;
}

/* Threads of one call, for when the helpers are taken by another call: all are created before
 * any runs the job, so a failed creation cancels the call instead of stranding a barrier. */
typedef struct {
    rk_worker_body body;
    void *context;
    int64_t worker;
    int64_t *start; /* 1: run, -1: cancelled (atomic) */
} rk_own_thread;

static void *rk_own_thread_main(void *argument) {
    rk_own_thread *t = argument;
    int64_t go;
    for (int64_t spins = 0; (go = __atomic_load_n(t->start, __ATOMIC_ACQUIRE)) == 0; spins++) {
        if (spins < RK_SPINS) rk_relax();
        else sched_yield();
    }
    rk_tsan_acquire(t->start);
    if (go > 0) t->body(t->context, t->worker);
    return NULL;
}

static int32_t rk_run_on_own_threads(int64_t count, rk_worker_body body, void *context) {
    pthread_t *threads = malloc((size_t)(count - 1) * sizeof *threads);
    rk_own_thread *jobs = malloc((size_t)(count - 1) * sizeof *jobs);
    int64_t start = 0, created = 0;
    if (threads && jobs) {
        for (; created < count - 1; created++) {
            jobs[created] = (rk_own_thread){body, context, created + 1, &start};
            if (pthread_create(&threads[created], NULL, rk_own_thread_main, &jobs[created]) != 0) break;
        }
    }
    int32_t ran = threads && jobs && created == count - 1;
    rk_tsan_release(&start);
    __atomic_store_n(&start, ran ? 1 : -1, __ATOMIC_RELEASE);
    if (ran) body(context, 0);
    for (int64_t i = 0; i < created; i++) pthread_join(threads[i], NULL);
    free(threads);
    free(jobs);
    return ran;
}

int32_t rk_run_workers(int64_t count, rk_worker_body body, void *context) {
    if (count <= 1) {
        body(context, 0);
        return 1;
    }
    if (count - 1 > RK_MAX_HELPERS || __atomic_exchange_n(&rk_pool.busy, 1, __ATOMIC_ACQUIRE))
        return rk_run_on_own_threads(count, body, context);
    pthread_mutex_lock(&rk_pool.lock);
    while (rk_pool.helpers < count - 1) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attributes, rk_helper_main,
                                    (void *)(intptr_t)(rk_pool.helpers + 1));
        pthread_attr_destroy(&attributes);
        if (failed) break;
        rk_pool.helpers++;
    }
    int32_t enough = rk_pool.helpers >= count - 1;
    if (enough) {
        rk_pool.body = body;
        rk_pool.context = context;
        __atomic_store_n(&rk_pool.remaining, count - 1, __ATOMIC_RELAXED);
        int64_t generation = ++rk_pool.generation;
        for (int64_t i = 1; i < count; i++) {
            rk_tsan_release(&rk_pool.mailbox[i]);
            __atomic_store_n(&rk_pool.mailbox[i], generation, __ATOMIC_RELEASE);
        }
        pthread_cond_broadcast(&rk_pool.wake);
    }
    pthread_mutex_unlock(&rk_pool.lock);
    if (enough) {
        body(context, 0);
        for (int64_t spins = 0; __atomic_load_n(&rk_pool.remaining, __ATOMIC_ACQUIRE) > 0; spins++) {
            if (spins < RK_SPINS) rk_relax();
            else sched_yield();
        }
        rk_tsan_acquire(&rk_pool.remaining);
    }
    __atomic_store_n(&rk_pool.busy, 0, __ATOMIC_RELEASE);
    return enough;
}
