// Distinct networks used from several threads at once give exactly the results they give one
// after another. Run under ThreadSanitizer by `scripts/test.sh --sanitize thread` (with
// OPENBLAS_NUM_THREADS=1, see docs/reliability.md) to also catch unsynchronised shared state.

import Foundation
import Testing
@testable import RNNKit

/// Everything one network produces in one round: forward, backward, a save/load round trip.
struct ConcurrencyRoundResult: Equatable, Sendable {
    var output: [Float]
    var finalHidden: [Float]
    var inputGradient: [Float]
    var parameterGradients: [Float]
    var reloadedOutput: [Float]
    var fileBytes: [UInt8]
}

/// Values handed to worker threads that each touch only their own element (the documented rule:
/// one network per thread), which the compiler cannot see.
struct PerThreadValues<Value>: @unchecked Sendable {
    let values: [Value]
}

/// Results indexed by worker, written from many threads under a lock.
final class ConcurrencyResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Int: Result<ConcurrencyRoundResult, RNNKitError>] = [:]
    func set(_ index: Int, _ result: Result<ConcurrencyRoundResult, RNNKitError>) {
        lock.lock(); defer { lock.unlock() }
        results[index] = result
    }
    func get(_ index: Int) -> Result<ConcurrencyRoundResult, RNNKitError>? {
        lock.lock(); defer { lock.unlock() }
        return results[index]
    }
}

@Suite("Concurrency")
struct ConcurrencyTests {
    /// Worker `index`'s architecture: every cell kind, some bidirectional, two layers.
    static func configuration(_ index: Int) -> RecurrentConfiguration {
        let cells: [CellKind] = [.lstm, .gru, .rnnTanh, .rnnRelu]
        return RecurrentConfiguration(
            cell: cells[index % cells.count], inputSize: 3 + index % 3, hiddenSize: 5 + index,
            numLayers: 2, bidirectional: index % 2 == 0, batchFirst: index % 3 == 0)
    }

    /// One round for worker `index`: create (seeded), forward, backward, save to `directory`,
    /// load into a second network and run it; every step on this thread, on its own networks.
    static func round(_ index: Int, directory: URL) throws(RNNKitError) -> ConcurrencyRoundResult {
        do {
            let c = configuration(index)
            let (steps, batch) = (4 + index % 3, 2 + index % 2)
            let network = try RecurrentNetwork<Float>(c, seed: UInt64(100 + index))
            let input: [Float] = randomValues(steps * batch * c.inputSize, seed: UInt64(index))
            let lengths = (0..<batch).map { steps - $0 % 2 }
            let forward = try network.forward(input, steps: steps, batch: batch, lengths: lengths)
            let outputGradient: [Float] = randomValues(forward.output.count, seed: UInt64(1000 + index))
            let gradients = try network.backward(outputGradient: outputGradient)
            let path = directory.appendingPathComponent("worker-\(index).safetensors").path
            try network.save(to: path)
            let reloaded = try RecurrentNetwork<Float>(contentsOf: path)
            reloaded.isTraining = false
            let again = try reloaded.forward(input, steps: steps, batch: batch, lengths: lengths)
            return ConcurrencyRoundResult(
                output: forward.output, finalHidden: forward.finalHidden, inputGradient: gradients.input,
                parameterGradients: network.gradients, reloadedOutput: again.output,
                fileBytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        } catch let error as RNNKitError {
            throw error
        } catch {
            throw RNNKitError(.io, "\(error)")
        }
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("rnnkit-concurrency-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test("8 networks on 8 threads at once match the same 8 run one after another")
    func distinctNetworksInParallel() throws {
        let workers = 8
        let sequentialDirectory = try Self.temporaryDirectory(), parallelDirectory = try Self.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: sequentialDirectory)
            try? FileManager.default.removeItem(at: parallelDirectory)
        }
        let sequential = try (0..<workers).map { try Self.round($0, directory: sequentialDirectory) }

        // Three rounds each, all workers released at once, so the passes overlap in time.
        let box = ConcurrencyResultBox()
        let start = DispatchGroup()
        start.enter()
        DispatchQueue.concurrentPerform(iterations: workers) { index in
            if index == 0 { start.leave() }
            start.wait()
            var last: Result<ConcurrencyRoundResult, RNNKitError> = .failure(RNNKitError(.invalidState, "no round ran"))
            for _ in 0..<3 {
                last = Result { () throws(RNNKitError) in try Self.round(index, directory: parallelDirectory) }
                if case .success(let value) = last, value != sequential[index] { break }
            }
            box.set(index, last)
        }
        for index in 0..<workers {
            let result = try #require(box.get(index), "worker \(index) did not report")
            let parallel = try result.get()
            #expect(parallel.output == sequential[index].output, "worker \(index): output differs")
            #expect(parallel.finalHidden == sequential[index].finalHidden, "worker \(index): h_n differs")
            #expect(parallel.inputGradient == sequential[index].inputGradient, "worker \(index): dx differs")
            #expect(parallel.parameterGradients == sequential[index].parameterGradients, "worker \(index): parameter gradients differ")
            #expect(parallel.reloadedOutput == sequential[index].output, "worker \(index): reloaded network differs")
            #expect(parallel.fileBytes == sequential[index].fileBytes, "worker \(index): saved file differs")
        }
    }

    @Test("many threads saving the same path leave one complete file, never a mix")
    func concurrentSavesToOnePath() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("shared.safetensors").path
        let c = RecurrentConfiguration(cell: .lstm, inputSize: 3, hiddenSize: 6)
        let networks = try (0..<6).map { try RecurrentNetwork<Float>(c, seed: UInt64($0)) }
        let expected = try networks.map { try $0.safeTensorsWriter(metadata: [:]).serialized() }
        let failures = ConcurrencyResultBox()
        let perThread = PerThreadValues(values: networks)
        DispatchQueue.concurrentPerform(iterations: networks.count) { index in
            for _ in 0..<5 {
                do { try perThread.values[index].save(to: path) } catch let error as RNNKitError {
                    failures.set(index, .failure(error))
                } catch {}
            }
        }
        for index in networks.indices {
            if case .failure(let error)? = failures.get(index) { Issue.record("save \(index) failed: \(error)") }
        }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(expected.contains(bytes), "the file is none of the six networks' files")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0 != "shared.safetensors" }
        #expect(leftovers.isEmpty, "temporary files left behind: \(leftovers)")
    }

    @Test("streaming states of one network are independent values")
    func streamingStatesAreIndependent() throws {
        // Streaming `step` runs the network's own buffers, so one network serves one thread;
        // but its states are values: two interleaved streams give what two separate runs give.
        let c = RecurrentConfiguration(cell: .gru, inputSize: 2, hiddenSize: 3)
        let network = try RecurrentNetwork<Float>(c, seed: 5)
        let inputs: [[Float]] = (0..<6).map { randomValues(2, seed: UInt64($0)) }
        var alone = try network.makeState()
        let aloneOutputs = try inputs.map { try network.step($0, state: &alone) }
        var first = try network.makeState(), second = try network.makeState()
        var interleaved: [[Float]] = []
        for input in inputs {
            interleaved.append(try network.step(input, state: &first))
            _ = try network.step(input.reversed(), state: &second)
        }
        #expect(interleaved == aloneOutputs)
    }
}
