import Testing
@testable import RNNKit

/// The multi-threaded time loops (rows split across workers, directions in parallel) against one thread.
@Suite(.serialized) struct ThreadingTests {
    @Test(arguments: LayerCase.all.filter { $0.layers == 2 })
    func splittingAcrossThreadsGivesTheSameNumbers(_ testCase: LayerCase) throws {
        let configuration = RecurrentConfiguration(
            cell: testCase.cell, inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: testCase.bidirectional)
        let (T, B) = (6, 3 * minimumRowsPerWorker)     // enough rows for several workers
        let x: [Double] = randomValues(T * B * 3, seed: 1)
        let dY: [Double] = randomValues(T * B * configuration.outputSize, seed: 2)
        let lengths = testCase.withLengths ? (0..<B).map { 1 + $0 % T } : nil
        let saved = threadCount()
        defer { setThreadCount(saved) }

        func run(threads: Int) throws -> (RecurrentOutput<Double>, RecurrentInputGradients<Double>, [Double]) {
            setThreadCount(threads)
            #expect(stepWorkerCount(batch: B, weightBytes: 4 * 5 * 5 * 8) == min(threads, 3))
            let network = try RecurrentNetwork<Double>(configuration, seed: 7)
            let out = try network.forward(x, steps: T, batch: B, lengths: lengths)
            let grads = try network.backward(outputGradient: dY)
            return (out, grads, network.gradients)
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

    @Test func largeRecurrentWeightsAreLeftToOpenBLAS() {
        let saved = threadCount()
        defer { setThreadCount(saved) }
        setThreadCount(2)
        #expect(stepWorkerCount(batch: 64, weightBytes: 4 * 256 * 256 * 4) == 2, "1 MB W_hh: rows split")
        #expect(stepWorkerCount(batch: 64, weightBytes: 4 * 512 * 512 * 4) == 1, "4 MB W_hh: OpenBLAS splits it")
        #expect(stepWorkerCount(batch: 8, weightBytes: 1024) == 1, "too few rows to split")
    }

    @Test func workerRowsCoverTheBatchOnce() {
        for batch in [1, 7, 16, 33] {
            for workers in 1...5 {
                let ranges = (0..<workers).map { workerRows($0, of: workers, batch: batch) }
                #expect(ranges.flatMap { Array($0) } == Array(0..<batch))
            }
        }
    }
}
