// RNNKit's threads: the process-wide thread count, and the mechanics that run a pass's workers.
// How many workers a pass uses, and for what, is decided in one place: PassSchedule.swift.

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

/// The rows of worker `worker` out of `workers` over `count` rows (of a batch, a product's result):
/// contiguous, sizes differ by at most 1.
func workerRows(_ worker: Int, of workers: Int, count: Int) -> Range<Int> {
    (worker * count / workers)..<((worker + 1) * count / workers)
}

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


