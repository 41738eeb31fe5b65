// How one pass of a network uses RNNKit's workers: the one scheduling decision, made once per
// forward or backward before the loops, from the configuration, the shape, whether the weights
// are packed and the thread count. Forward and backward read it; nothing else decides.
// Dimension legend: T steps   B batch   H hidden   G gates   D directions.
//
// The thread policy (`threads` = threadCount(), the count of setThreadCount(_:)):
//  1. Directions. A bidirectional layer with two threads or more runs its two directions at
//     once, one thread each, in forward and in backward: they are independent, so no barrier.
//  2. Hidden units (forward, packed weights only). When a step's recurrent product is large
//     enough to pay for a barrier (2·B·G·H² ≥ minimumColumnSplitWork), each worker takes whole
//     16-unit panels of every gate (≥ minimumColumnsPerWorker units), projects and computes
//     them for all rows, and the workers meet at a barrier after every step, since each step
//     reads all of h. Each worker streams only its share of W_hh. The reset-before GRU's
//     step is two products in sequence, so its workers meet twice a step (the second product
//     reads all of r ⊙ h). A projected LSTM's step ends in a second product, h = m · W_hr^T:
//     each worker also takes whole panels of h's P units, and the workers meet between the cell
//     and that product (it reads all of m). A layer-normalised LSTM's workers split the units of
//     the recurrent product only, meet, and run the cell on a share of the rows each: its
//     normalisations read all 4H pre-activations of a row.
//  3. Batch rows. Otherwise a time loop splits the batch rows (≥ minimumRowsPerWorker each);
//     rows of a recurrence are independent, so no barrier. Every worker streams all of W_hh,
//     so without packed weights this is done only while W_hh fits in a core's L2
//     (largestRowSplitWeights); a larger W_hh is left to OpenBLAS, whose threads each stream
//     part of it. Backward's packed product keeps its speed from 8 rows up, so with packed
//     weights its rows are split whatever the size of W_hh.
//  4. Large products (backward, packed weights only). The weight gradients (rows of G·H) and
//     ∂X (rows of T·B) are split by rows of the result, ≥ minimumProductRowsPerWorker each,
//     every worker calling OpenBLAS single-threaded: OpenBLAS's idle threads spin after each
//     threaded call and would take the cores from the next time loop. Without packed weights
//     these products, and the input projection of all steps, use OpenBLAS's own threads.
//  5. Element-wise updates (an optimizer's step): contiguous ranges of the parameters, at least
//     minimumElementsPerWorker each (elementwiseWorkers); each element's update is the same
//     whoever computes it, so the result does not depend on the thread count.
// Workers are threads of CRNNKitKernels' pool (workers.c), which all run at once; while they
// run, OpenBLAS is single-threaded (runConcurrently). docs/performance.md has the measurements
// behind the thresholds.

/// How one forward or backward pass splits its work across workers (see the policy above).
/// Every count is at least 1; 1 means "not split".
struct PassSchedule: Equatable, Sendable {
    /// Whether the two directions of a bidirectional layer run at once, one thread each; every
    /// time loop then runs on one worker.
    let directionsInParallel: Bool
    /// Workers splitting the hidden units of a forward time loop, meeting at a barrier per step.
    let forwardColumnWorkers: Int
    /// Workers splitting the batch rows of a forward time loop whose units are not split.
    let forwardRowWorkers: Int
    /// Workers splitting the batch rows of a backward time loop (each with its own bias sums).
    let backwardRowWorkers: Int
    /// Workers splitting the `G·H` rows of the weight-gradient products after the time loop.
    let weightGradientWorkers: Int
    /// Workers splitting the `T·B` rows of the `∂X` product after the time loop.
    let inputGradientWorkers: Int

    /// The schedule of a pass over `steps × batch` of a network `configuration` whose weights
    /// are packed (`packed`) or not, with `threads` threads and `scalarBytes` bytes a scalar.
    init(configuration c: RecurrentConfiguration, steps: Int, batch: Int, packed: Bool, threads: Int, scalarBytes: Int) {
        let G = c.cell.gateCount, H = c.hiddenSize
        let recurrentWeightBytes = G * H * c.stateSize * scalarBytes
        directionsInParallel = c.directionCount == 2 && threads >= 2
        let perDirection = !directionsInParallel
        forwardColumnWorkers = perDirection && packed
            ? Self.columnWorkers(batch: batch, gates: G, hidden: H, threads: threads) : 1
        forwardRowWorkers = perDirection
            ? Self.rowWorkers(batch: batch, weightBytes: recurrentWeightBytes, threads: threads) : 1
        backwardRowWorkers = !perDirection ? 1
            : packed ? Self.workers(sharing: batch, atLeast: minimumRowsPerWorker, threads: threads)
            : Self.rowWorkers(batch: batch, weightBytes: recurrentWeightBytes, threads: threads)
        weightGradientWorkers = perDirection && packed
            ? Self.workers(sharing: G * H, atLeast: minimumProductRowsPerWorker, threads: threads) : 1
        inputGradientWorkers = packed
            ? Self.workers(sharing: steps * batch, atLeast: minimumProductRowsPerWorker, threads: threads) : 1
    }

    /// Workers splitting `batch` rows whose recurrent weights take `weightBytes` without packed
    /// weights: only while `W_hh` fits in a core's L2 (rule 3).
    static func rowWorkers(batch: Int, weightBytes: Int, threads: Int) -> Int {
        guard weightBytes <= largestRowSplitWeights else { return 1 }
        return workers(sharing: batch, atLeast: minimumRowsPerWorker, threads: threads)
    }

    /// Workers splitting the hidden units of a forward time loop on packed weights (rule 2).
    static func columnWorkers(batch: Int, gates: Int, hidden: Int, threads: Int) -> Int {
        guard 2 * batch * gates * hidden * hidden >= minimumColumnSplitWork else { return 1 }
        return workers(sharing: hidden, atLeast: minimumColumnsPerWorker, threads: threads)
    }

    /// One worker per thread, at most ``maximumWorkers``, few enough that each gets at least
    /// `minimum` of the `items`; at least one.
    static func workers(sharing items: Int, atLeast minimum: Int, threads: Int) -> Int {
        max(1, min(threads, items / minimum, maximumWorkers))
    }
}

/// Rows of the batch below which a worker is not worth its thread: splitting fewer rows makes
/// every worker stream the whole of `W_hh` for little arithmetic.
let minimumRowsPerWorker = 8

/// Rows of a large product's result (a weight gradient, `∂X`) below which a worker is not worth its thread.
let minimumProductRowsPerWorker = 64

/// Upper bound on the workers of one time loop (sizes the per-worker bias accumulators).
let maximumWorkers = 16

/// Largest `W_hh` (bytes) for which splitting the batch rows beats OpenBLAS's own threading: the
/// L2 cache of one core of the machines in docs/performance.md.
let largestRowSplitWeights = 1 << 20

/// FLOPs of one step's recurrent product below which splitting it across threads costs more in
/// synchronisation than it saves (a barrier costs about a microsecond).
let minimumColumnSplitWork = 1 << 19

/// Hidden units of the smallest share of a column-split time loop.
let minimumColumnsPerWorker = 32

/// Scalars of the smallest share of an element-wise update, set by estimate (a worker's start
/// costs microseconds, a share of this size tens of them), not tuned (docs/performance.md).
let minimumElementsPerWorker = 1 << 16

/// Workers for an element-wise pass over `count` scalars (policy point 5).
func elementwiseWorkers(count: Int, threads: Int = threadCount()) -> Int {
    max(1, min(threads, maximumWorkers, count / minimumElementsPerWorker))
}
