import COpenBLAS
import CRNNKitKernels
import Dispatch
import Testing
@testable import RNNKit

/// Runs `body` with RNNKit's thread count set to `threads` for this task only, so that other tests
/// running at the same time keep theirs (training results depend on the count in the last bits).
func withThreads<Result>(_ threads: Int, _ body: () throws -> Result) rethrows -> Result {
    try ThreadCountOverride.$value.withValue(threads, operation: body)
}

/// The multi-threaded time loops (rows or hidden units split across workers, directions in
/// parallel) against one thread.
@Suite(.serialized) struct ThreadingTests {
    @Test(arguments: LayerCase.all.filter { $0.layers == 2 })
    func splittingAcrossThreadsGivesTheSameNumbers(_ testCase: LayerCase) throws {
        let configuration = testCase.configuration(inputSize: 3, hiddenSize: 5)
        let (T, B) = (6, 3 * minimumRowsPerWorker)     // enough rows for several workers
        let x: [Double] = randomValues(T * B * 3, seed: 1)
        let dY: [Double] = randomValues(T * B * configuration.outputSize, seed: 2)
        let lengths = testCase.withLengths ? (0..<B).map { 1 + $0 % T } : nil
        func run(threads: Int) throws -> (RecurrentOutput<Double>, RecurrentInputGradients<Double>, [Double]) {
            try withThreads(threads) {
                #expect(PassSchedule.rowWorkers(batch: B, weightBytes: 4 * 5 * 5 * 8, threads: threadCount()) == min(threads, 3))
                let network = try RecurrentNetwork<Double>(configuration, seed: 7)
                let out = try network.forward(x, steps: T, batch: B, lengths: lengths)
                let grads = try network.backward(outputGradient: dY)
                return (out, grads, network.gradients)
            }
        }
        let (out1, grads1, parameters1) = try run(threads: 1)
        for threads in [2, 3] {
            let (out, grads, parameters) = try run(threads: threads)
            #expect(out.output == out1.output, "the forward arithmetic does not depend on the split")
            #expect(out.finalHidden == out1.finalHidden)
            #expect(grads.input == grads1.input)
            // Bias gradients are summed per worker first, so they may differ in the last bits.
            expectClose(parameters, parameters1, tolerance: 1e-12, "parameter gradients, \(threads) threads")
        }
    }

    /// Float with packed weights: a step this large splits its hidden units across workers that
    /// meet at a barrier per step. The packed product gives every element the same FMA chain
    /// whatever the split, so 1, 2 and 3 threads, and streaming, give bitwise the same numbers.
    /// A projected LSTM (P = 100: 7 panels, the last partial) also splits the units of `h`; a
    /// layer-normalised one splits its product's units and then its 3 rows (one worker of three
    /// has one row, of two has one or two).
    @Test(arguments: [(CellKind.lstm, 0, false), (.gru, 0, false), (.gruResetBefore, 0, false), (.rnnRelu, 0, false),
                      (.lstm, 100, false), (.lstm, 0, true)])
    func splittingHiddenUnitsAcrossThreadsGivesTheSameNumbers(_ cell: CellKind, projection: Int, layerNorm: Bool) throws {
        let (T, B, I, H) = (5, 3, 7, 300)       // 300 units: the last panel of each gate is partial
        let configuration = RecurrentConfiguration(cell: cell, inputSize: I, hiddenSize: H, numLayers: 2,
                                                   projectionSize: projection, layerNorm: layerNorm)
        let x: [Float] = randomValues(T * B * I, seed: 11)
        let h0: [Float] = randomValues(configuration.hiddenStateCount(batch: B), seed: 12)
        func run(threads: Int, lengths: [Int]?) throws -> RecurrentOutput<Float> {
            try withThreads(threads) {
                if threads > 1 && PackedWeights<Float>.isUsed {
                    #expect(PassSchedule.columnWorkers(batch: B, gates: cell.gateCount, hidden: H, threads: threadCount()) == threads)
                }
                let network = try RecurrentNetwork<Float>(configuration, seed: 3)
                network.isTraining = false
                return try network.forward(x, steps: T, batch: B, lengths: lengths, initialHidden: h0)
            }
        }
        for lengths in [nil, [5, 2, 4]] {
            let one = try run(threads: 1, lengths: lengths)
            for threads in [2, 3] {
                let split = try run(threads: threads, lengths: lengths)
                #expect(differingCount(split.output, one.output) == 0, "\(threads) threads, lengths \(String(describing: lengths))")
                #expect(differingCount(split.finalHidden, one.finalHidden) == 0)
                #expect(differingCount(split.finalCell ?? [], one.finalCell ?? []) == 0)
            }
        }
        // Streaming at two threads against the whole sequence at one.
        let whole = try run(threads: 1, lengths: nil)
        try withThreads(2) {
            let network = try RecurrentNetwork<Float>(configuration, seed: 3)
            var state = try network.makeState(batch: B)
            state.hidden = h0
            var streamed: [Float] = []
            for t in 0..<T { streamed += try network.step(Array(x[t * B * I..<(t + 1) * B * I]), state: &state) }
            #expect(differingCount(streamed, whole.output) == 0, "streamed against whole")
            #expect(differingCount(state.hidden, whole.finalHidden) == 0)
        }
    }

    /// How many elements differ bitwise (or in count), without printing the arrays.
    func differingCount(_ a: [Float], _ b: [Float]) -> Int {
        a.count != b.count ? max(a.count, b.count) : zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
    }

    /// Training in Float on packed weights: hidden units split in forward, batch rows in backward
    /// (a projected LSTM splits rows in forward too).
    @Test(arguments: [(CellKind.lstm, 0, false), (.gru, 0, false), (.lstm, 100, false), (.lstm, 0, true)])
    func packedTrainingAtTwoThreadsMatchesOneThread(_ cell: CellKind, projection: Int, layerNorm: Bool) throws {
        let (T, B, I, H) = (4, 2 * minimumRowsPerWorker, 5, 160)
        let configuration = RecurrentConfiguration(cell: cell, inputSize: I, hiddenSize: H, projectionSize: projection,
                                                   layerNorm: layerNorm)
        let x: [Float] = randomValues(T * B * I, seed: 21)
        let dY: [Float] = randomValues(T * B * configuration.outputSize, seed: 22)
        func run(threads: Int) throws -> (RecurrentInputGradients<Float>, [Float], [Float]) {
            try withThreads(threads) {
                let network = try RecurrentNetwork<Float>(configuration, seed: 4)
                let output = try network.forward(x, steps: T, batch: B)
                return (try network.backward(outputGradient: dY), network.gradients, output.output)
            }
        }
        let (grads1, parameters1, output1) = try run(threads: 1)
        let (grads2, parameters2, output2) = try run(threads: 2)
        #expect(differingCount(output2, output1) == 0)
        expectClose(grads2.input, grads1.input, tolerance: 1e-5, "∂x at two threads")
        expectClose(parameters2, parameters1, tolerance: 1e-5, "parameter gradients at two threads")
    }

    /// With packed weights the time loop projects the input a chunk of steps at a time, and
    /// inference holds only that chunk's gates. Shapes with several chunks and a partial last one,
    /// in both directions, on the column-split path (H 64), the row-split path (H 16) and with the
    /// directions on a thread each: inference equals the training forward (which keeps every
    /// step's gates) bitwise, and the unpacked Double path closely.
    @Test(arguments: [(CellKind.lstm, 64, false), (.gru, 64, false), (.gruResetBefore, 64, false), (.lstm, 16, false),
                      (.gru, 16, false), (.lstm, 64, true), (.rnnTanh, 64, true)])
    func projectingTheInputInChunksGivesTheSameNumbers(_ cell: CellKind, _ H: Int, _ bidirectional: Bool) throws {
        let (T, B, I) = (25, 80, 6)
        let configuration = RecurrentConfiguration(
            cell: cell, inputSize: I, hiddenSize: H, numLayers: 2, bidirectional: bidirectional)
        let x: [Float] = randomValues(T * B * I, seed: 31)
        let lengths = (0..<B).map { 1 + $0 * 7 % T }
        var oneThread: RecurrentOutput<Float>?
        for threads in [1, 2] {
            try withThreads(threads) {
                let network = try RecurrentNetwork<Float>(configuration, seed: 9)
                let chunk = network.projectionSteps(steps: T, batch: B)
                if PackedWeights<Float>.isUsed {
                    #expect(chunk > 1 && chunk < T && T % chunk != 0, "several chunks, the last partial")
                    #expect(try network.workspaceGateScalars(steps: T, batch: B, training: false) == chunk * B * cell.gateCount * H)
                } else {
                    #expect(chunk == T, "without packed weights OpenBLAS projects every step at once")
                }
                let training = try network.forward(x, steps: T, batch: B, lengths: lengths)
                network.isTraining = false
                let inference = try network.forward(x, steps: T, batch: B, lengths: lengths)
                #expect(differingCount(inference.output, training.output) == 0, "\(threads) threads")
                #expect(differingCount(inference.finalHidden, training.finalHidden) == 0)
                #expect(differingCount(inference.finalCell ?? [], training.finalCell ?? []) == 0)
                if let oneThread {
                    #expect(differingCount(inference.output, oneThread.output) == 0, "\(threads) threads against one")
                } else {
                    oneThread = inference
                    // Double never uses packed weights: OpenBLAS projects all steps before the loop.
                    let reference = try RecurrentNetwork<Double>(configuration, seed: 9)
                    reference.parameters = network.parameters.map(Double.init)
                    let expected = try reference.forward(x.map(Double.init), steps: T, batch: B, lengths: lengths)
                    expectClose(inference.output.map(Double.init), expected.output, tolerance: 1e-5, "output against Double")
                    expectClose(inference.finalHidden.map(Double.init), expected.finalHidden, tolerance: 1e-5, "h_n against Double")
                }
            }
        }
    }

    /// The pool's contract: all workers run at once (they can meet at a barrier), every phase of
    /// the barrier orders their writes, and two callers at the same time each get their workers
    /// (one through the pool, the other on threads of its own).
    @Test func workersRunTogetherAndMeetAtTheBarrier() {
        @Sendable func run() -> Bool {
            let workers = 3, phases = 500
            let cells = UnsafeMutableBufferPointer<Int>.allocate(capacity: workers)
            cells.initialize(repeating: -1)
            let barrier = UnsafeMutablePointer<rk_barrier>.allocate(capacity: 1)
            rk_barrier_init(barrier, Int64(workers))
            let consistent = UnsafeMutableBufferPointer<Bool>.allocate(capacity: workers)
            consistent.initialize(repeating: true)
            defer { cells.deallocate(); barrier.deallocate(); consistent.deallocate() }
            let ran = runTogether(workers) { worker in
                for phase in 0..<phases {
                    cells[worker] = phase
                    rk_barrier_wait(barrier)          // every worker has written this phase
                    if cells.contains(where: { $0 != phase }) { consistent[worker] = false }
                    rk_barrier_wait(barrier)          // every worker has read it
                }
            }
            return ran && consistent.allSatisfy { $0 }
        }
        #expect(run())
        let results = UnsafeMutableBufferPointer<Bool>.allocate(capacity: 2)
        defer { results.deallocate() }
        let shared = PerThreadValues(values: [results])
        DispatchQueue.concurrentPerform(iterations: 2) { caller in shared.values[0][caller] = run() }
        #expect(results.allSatisfy { $0 }, "two callers at once")
    }

    @Test func workerColumnsAreWholePanelsCoveringTheUnitsOnce() {
        for hidden in [1, 16, 40, 300, 512] {
            for workers in 1...4 {
                let ranges = (0..<workers).map { workerColumns($0, of: workers, hidden: hidden) }
                #expect(ranges.flatMap { Array($0) } == Array(0..<hidden))
                #expect(ranges.allSatisfy { $0.lowerBound % 16 == 0 })
            }
        }
    }

    /// A packed copy must follow every change of the parameters, in place or whole.
    @Test func packedWeightsFollowEveryChangeOfTheParameters() throws {
        let configuration = RecurrentConfiguration(cell: .lstm, inputSize: 4, hiddenSize: 20)
        let x: [Float] = randomValues(3 * 2 * 4, seed: 1)
        let network = try RecurrentNetwork<Float>(configuration, seed: 1)
        _ = try network.forward(x, steps: 3, batch: 2)           // packs W_hh
        let offset = network.layout.entry(named: "weight_hh_l0")!.offset
        network.parameters[offset + 5] += 0.5                   // in place
        let fresh = try RecurrentNetwork<Float>(configuration, seed: 1)
        fresh.parameters = network.parameters                    // packed from scratch
        #expect(try network.forward(x, steps: 3, batch: 2).output == fresh.forward(x, steps: 3, batch: 2).output)
        try network.setParameter(named: "weight_hh_l0", to: [Float](repeating: 0.01, count: 80 * 20))
        try fresh.setParameter(named: "weight_hh_l0", to: [Float](repeating: 0.01, count: 80 * 20))
        #expect(try network.forward(x, steps: 3, batch: 2).output == fresh.forward(x, steps: 3, batch: 2).output)
        network.parameters.withUnsafeMutableBufferPointer { $0[offset] = 2 }
        fresh.parameters.withUnsafeMutableBufferPointer { $0[offset] = 2 }
        #expect(try network.forward(x, steps: 3, batch: 2).output == fresh.forward(x, steps: 3, batch: 2).output)
    }

    @Test func largeRecurrentWeightsAreLeftToOpenBLAS() {
        withThreads(2) {
            #expect(PassSchedule.rowWorkers(batch: 64, weightBytes: 4 * 256 * 256 * 4, threads: threadCount()) == 2, "1 MB W_hh: rows split")
            #expect(PassSchedule.rowWorkers(batch: 64, weightBytes: 4 * 512 * 512 * 4, threads: threadCount()) == 1, "4 MB W_hh: OpenBLAS splits it")
            #expect(PassSchedule.rowWorkers(batch: 8, weightBytes: 1024, threads: threadCount()) == 1, "too few rows to split")
        }
    }

    /// A split pass lowers OpenBLAS's thread count while its workers run; the count RNNKit uses
    /// afterwards must be the one it had (it once fell to 1 for good when `setThreadCount` had
    /// never been called).
    @Test func theThreadCountSurvivesASplitPass() throws {
        let before = threadCount()
        let network = try RecurrentNetwork<Double>(RecurrentConfiguration(cell: .gru, inputSize: 2, hiddenSize: 3), seed: 1)
        let B = 4 * minimumRowsPerWorker
        _ = try network.forward(randomValues(2 * B * 2, seed: 1), steps: 2, batch: B)
        #expect(threadCount() == before)
        #expect(Int(openblas_get_num_threads()) == before)
    }

    @Test func workerRowsCoverTheBatchOnce() {
        for batch in [1, 7, 16, 33] {
            for workers in 1...5 {
                let ranges = (0..<workers).map { workerRows($0, of: workers, count: batch) }
                #expect(ranges.flatMap { Array($0) } == Array(0..<batch))
            }
        }
    }
}
