// RNNKit's thread policy. One process-wide setting says how many threads a pass may use:
//  - the forward time loop of a unidirectional layer with packed weights (Float, AVX2 or
//    AVX-512) and a step large enough splits the hidden units across threads: each projects its
//    share of every gate's columns a chunk of steps at a time, per step computes them for all
//    rows and runs the cell on its units, then waits at a barrier for the others before the next
//    step. Each streams only its share of W_hh;
//  - a backward time loop with packed weights, or any time loop whose W_hh fits in a core's L2
//    cache, splits the batch rows across threads (8 rows each at least), each running every step
//    for its rows with no barrier between steps (rows of a recurrence are independent); inside
//    those threads OpenBLAS runs single-threaded. Without packed weights a larger W_hh is better
//    split by OpenBLAS, whose threads each stream part of it (measured: 75% of the sgemm roofline
//    for a 16 MB W_hh with rows split at two threads, against ~100% with OpenBLAS's split);
//  - the time loop of a bidirectional layer runs its two directions on two threads;
//  - the large products (weight gradients, ∂X) are split by rows across RNNKit's workers, each
//    calling OpenBLAS single-threaded, when the layer has packed weights: OpenBLAS's idle threads
//    spin after each threaded call and would take cores from the next time loop. Without packed
//    weights they, and unpacked input projections, use OpenBLAS's own threads.
// Workers are threads of CRNNKitKernels' pool (workers.c), which all run at once.

import COpenBLAS
import CRNNKitKernels
import Synchronization

/// The configured thread count; 0 until `setThreadCount` is called.
private let configuredThreadCount = Atomic<Int>(0)

/// Sets the number of threads RNNKit uses, process-wide (default: OpenBLAS's default, one per core).
///
/// It also sets OpenBLAS's thread count, which RNNKit manages from then on: a time loop split
/// across threads runs OpenBLAS single-threaded for its duration.
public func setThreadCount(_ count: Int) {
    let threads = max(1, min(count, 256))
    configuredThreadCount.store(threads, ordering: .relaxed)
    openblas_set_num_threads(Int32(threads))
}

/// A thread count for the current task only, read before the process-wide setting: tests run
/// the splits at several thread counts without changing the count other tests run with. It does
/// not change OpenBLAS's own thread count.
enum ThreadCountOverride {
    @TaskLocal static var value: Int?
}

/// The number of threads RNNKit uses.
public func threadCount() -> Int {
    ThreadCountOverride.value ?? processThreadCount()
}

/// The process-wide count of ``setThreadCount(_:)``; before it is called, OpenBLAS's default,
/// read once and kept: `runConcurrently` lowers OpenBLAS's count while it runs, and reading it
/// again afterwards would make the lowered count stick.
private func processThreadCount() -> Int {
    let configured = configuredThreadCount.load(ordering: .relaxed)
    if configured > 0 { return configured }
    let openBLASDefault = max(1, Int(openblas_get_num_threads()))
    let (exchanged, current) = configuredThreadCount.compareExchange(
        expected: 0, desired: openBLASDefault, ordering: .relaxed)
    return exchanged ? openBLASDefault : current
}

/// Rows of the batch below which a worker is not worth its thread: splitting fewer rows makes
/// every worker stream the whole of `W_hh` for little arithmetic.
let minimumRowsPerWorker = 8

/// Upper bound on the workers of one time loop (sizes the per-worker bias accumulators).
let maximumWorkers = 16

/// Largest `W_hh` (bytes) for which splitting the batch rows beats OpenBLAS's own threading: the
/// L2 cache of one core on the machines RNNKit is measured on (docs/performance.md).
let largestRowSplitWeights = 1 << 20

/// How many workers split a time loop over `batch` rows whose recurrent weights take `weightBytes`.
func stepWorkerCount(batch: Int, weightBytes: Int) -> Int {
    guard weightBytes <= largestRowSplitWeights else { return 1 }
    return workerCount(sharing: batch, atLeast: minimumRowsPerWorker)
}

/// How many workers split the batch rows of a time loop whose per-step product runs on packed
/// weights (backward): the packed kernel keeps its speed from 8 rows up and streams the weights
/// at a few GB/s per worker, so the L2 condition of ``stepWorkerCount(batch:weightBytes:)`` does
/// not apply.
func packedStepWorkerCount(batch: Int) -> Int {
    workerCount(sharing: batch, atLeast: minimumRowsPerWorker)
}

/// How many of RNNKit's workers split a large product (a weight gradient, `∂X`) by rows of its
/// result, each calling OpenBLAS single-threaded on its share: one per thread, at least 64 rows each.
func splitProductWorkerCount(rows: Int) -> Int {
    workerCount(sharing: rows, atLeast: 64)
}

/// One worker per thread, at most ``maximumWorkers``, and few enough that each gets at least
/// `minimum` of the `items` shared out; at least one.
func workerCount(sharing items: Int, atLeast minimum: Int) -> Int {
    max(1, min(threadCount(), items / minimum, maximumWorkers))
}

/// The rows of worker `worker` out of `workers` over `count` rows (of a batch, a product's result):
/// contiguous, sizes differ by at most 1.
func workerRows(_ worker: Int, of workers: Int, count: Int) -> Range<Int> {
    (worker * count / workers)..<((worker + 1) * count / workers)
}

/// How many workers split the hidden units of one direction's time loop, all rows each, meeting
/// at a barrier after every step: used with packed weights (whose product gives the same numbers
/// for any split of the units) when a step's recurrent product is large enough to pay for a
/// barrier, `2·B·G·H·H ≥` ``minimumColumnSplitWork``, with at least ``minimumColumnsPerWorker``
/// units per worker.
func columnWorkerCount(batch: Int, gates: Int, hidden: Int) -> Int {
    guard 2 * batch * gates * hidden * hidden >= minimumColumnSplitWork else { return 1 }
    return workerCount(sharing: hidden, atLeast: minimumColumnsPerWorker)
}

/// FLOPs of one step's recurrent product below which splitting it across threads costs more in
/// synchronisation than it saves (a barrier costs about a microsecond).
let minimumColumnSplitWork = 1 << 19

/// Hidden units of the smallest share of a column-split time loop.
let minimumColumnsPerWorker = 32

/// The hidden units of worker `worker` out of `workers` over `hidden` units: whole panels of 16
/// (the packed kernel's unit), contiguous, covering `0..<hidden` once.
func workerColumns(_ worker: Int, of workers: Int, hidden: Int) -> Range<Int> {
    let panels = (hidden + 15) / 16
    let lower = min(hidden, worker * panels / workers * 16)
    let upper = min(hidden, (worker + 1) * panels / workers * 16)
    return lower..<upper
}

/// Runs `body(0..<count)` on `count` threads at once and waits for all; OpenBLAS runs
/// single-threaded meanwhile. With `count ≤ 1` it runs `body(0)` on the calling thread; if the
/// threads cannot be created, it runs the bodies one after another.
func runConcurrently(_ count: Int, _ body: (Int) -> Void) {
    guard count > 1 else {
        body(0)
        return
    }
    openblas_set_num_threads(1)
    // The workers of a time loop write disjoint rows (or disjoint directions) of the workspace and
    // gradients, and join before `runConcurrently` returns; that is what makes sharing `body` sound.
    if !runTogether(count, body) {
        for worker in 0..<count { body(worker) }
    }
    openblas_set_num_threads(Int32(processThreadCount()))
}

/// Runs `body(0..<count)` on `count` threads that all run at the same time (so they may meet at
/// an `rk_barrier`), worker 0 on the calling thread, and returns `true` when all have finished;
/// returns `false`, having run nothing, when the threads cannot be created.
func runTogether(_ count: Int, _ body: (Int) -> Void) -> Bool {
    withoutActuallyEscaping(body) { body in
        var job = body
        return withUnsafeMutablePointer(to: &job) { job in
            rk_run_workers(Int64(count), { context, worker in
                context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(worker))
            }, job) != 0
        }
    }
}


