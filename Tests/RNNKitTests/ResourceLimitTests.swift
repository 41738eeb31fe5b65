// Sizes whose products overflow `Int`, or exceed RNNKit's element limit, are refused with an
// error before anything is allocated. Without the checks each of these calls would trap on an
// overflowing multiplication or ask the allocator for more memory than exists (which stops the
// process), so every test here fails (crashes) when its check is removed.

import Foundation
import Testing
@testable import RNNKit

@Suite("Resource limits")
struct ResourceLimitTests {
    /// Expects `body` to throw an ``RNNKitError`` of `kind` whose message mentions `fragment`.
    func expectRefused(
        _ kind: RNNKitError.Kind, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () throws -> Void
    ) {
        do {
            try body()
            Issue.record("expected a \(kind) error mentioning '\(fragment)', but the call succeeded", sourceLocation: sourceLocation)
        } catch let error as RNNKitError {
            #expect(error.kind == kind, "\(error.message)", sourceLocation: sourceLocation)
            #expect(error.message.contains(fragment), "\(error.message)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected RNNKitError, got \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Architecture

    @Test("hidden size 2^31: G·H·H overflows Int, refused before allocation")
    func hiddenSizeTwoToThe31() {
        let c = RecurrentConfiguration(cell: .lstm, inputSize: 8, hiddenSize: 1 << 31)
        expectRefused(.outOfMemory, "weight matrix") { try c.validate() }
        expectRefused(.outOfMemory, "too large") { _ = try RecurrentNetwork<Float>(c) }
        expectRefused(.outOfMemory, "too large") { _ = try RecurrentNetwork<Double>(c) }
    }

    @Test("input size Int.max and hidden size Int.max/2 are refused")
    func extremeSizes() {
        expectRefused(.outOfMemory, "too large") {
            _ = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .gru, inputSize: .max, hiddenSize: 1))
        }
        expectRefused(.outOfMemory, "too large") {
            _ = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .rnnTanh, inputSize: 1, hiddenSize: .max / 2))
        }
    }

    @Test("2^40 layers: the parameter count exceeds the limit though each matrix is tiny")
    func tooManyLayers() {
        let c = RecurrentConfiguration(cell: .rnnRelu, inputSize: 1, hiddenSize: 1, numLayers: 1 << 40, bidirectional: true)
        expectRefused(.outOfMemory, "parameters") { try c.validate() }
    }

    @Test("sizes below 1 are invalid arguments, not allocations")
    func nonPositiveSizes() {
        expectRefused(.invalidArgument, "hidden size") {
            _ = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .lstm, inputSize: 1, hiddenSize: -(1 << 40)))
        }
        expectRefused(.invalidArgument, "number of layers") {
            _ = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .lstm, inputSize: 1, hiddenSize: 1, numLayers: .min))
        }
    }

    // MARK: Passes

    @Test("steps × batch overflowing Int is refused by forward before the input is measured")
    func stepsTimesBatchOverflows() throws {
        let network = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .lstm, inputSize: 3, hiddenSize: 4))
        expectRefused(.outOfMemory, "T = \(Int.max / 2), B = 3") {
            _ = try network.forward([], steps: .max / 2, batch: 3)
        }
        expectRefused(.outOfMemory, "B = \(1 << 62)") {
            _ = try network.forward([], steps: 1 << 2, batch: 1 << 62)
        }
        // The buffer-level entry point (the C API's) has the same check first.
        var output: [Float] = []
        expectRefused(.outOfMemory, "too large") {
            try [Float]().withUnsafeBufferPointer { x in
                try output.withUnsafeMutableBufferPointer { y in
                    try network.forward(input: x, steps: 1 << 33, batch: 1 << 33, lengths: nil,
                                        initialHidden: nil, initialCell: nil, output: y, finalHidden: nil, finalCell: nil)
                }
            }
        }
    }

    @Test("activations that fit in Int but exceed the element limit are refused")
    func activationsOverTheLimit() throws {
        let network = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .gru, inputSize: 2, hiddenSize: 64))
        // 2^20 · 2^20 · 192 ≈ 2·10^14 scalars: no overflow, far past the limit.
        expectRefused(.outOfMemory, "limit") { _ = try network.forward([], steps: 1 << 20, batch: 1 << 20) }
        network.isTraining = false
        expectRefused(.outOfMemory, "limit") { _ = try network.forward([], steps: 1 << 20, batch: 1 << 20) }
        // The network still works afterwards.
        let output = try network.forward([Float](repeating: 0.25, count: 2 * 1 * 2), steps: 2, batch: 1)
        #expect(output.output.count == 2 * 64)
    }

    @Test("the workspace checks its own sizes too")
    func workspaceRefusesOverflow() {
        let c = RecurrentConfiguration(cell: .lstm, inputSize: 4, hiddenSize: 8, numLayers: 3)
        expectRefused(.outOfMemory, "steps × batch") {
            _ = try Workspace<Float>(configuration: c, steps: .max, batch: 2, training: true, projectionSteps: 1)
        }
        expectRefused(.outOfMemory, "gate activations") {
            _ = try Workspace<Double>(configuration: c, steps: 1 << 18, batch: 1 << 18, training: false, projectionSteps: 1 << 18)
        }
    }

    @Test("sizes that fit every limit but not in this machine's memory are refused, not fatal")
    func unobtainableMemoryIsAnError() throws {
        // 4·H·(I + H + 2) with H = 100 000, I = 50 000: 6·10^10 parameters, 480 GB with their
        // gradients — within the element limit, far beyond the 24 GiB of memory here. Without the
        // probe the allocator would stop the process.
        expectRefused(.outOfMemory, "parameters and gradients") {
            _ = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .lstm, inputSize: 50_000, hiddenSize: 100_000))
        }
        // T·B = 2^22 rows of a GRU with H = 2048: the output alone is 34 GB, the gates 103 GB.
        let network = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .gru, inputSize: 2, hiddenSize: 2048))
        let input = [Float](repeating: 0, count: (1 << 22) * 2)
        expectRefused(.outOfMemory, "cannot allocate") {
            _ = try network.forward(input, steps: 1 << 11, batch: 1 << 11)
        }
        // The workspace behind either entry point is probed the same way.
        expectRefused(.outOfMemory, "cannot allocate") {
            _ = try Workspace<Float>(configuration: network.configuration, steps: 1 << 11, batch: 1 << 11, training: true, projectionSteps: 1 << 11)
        }
        // Linear, Embedding and streaming states whose sizes pass the element limit but not memory.
        expectRefused(.outOfMemory, "cannot allocate") { _ = try Linear<Float>(inputSize: 200_000, outputSize: 200_000) }
        expectRefused(.outOfMemory, "cannot allocate") { _ = try Embedding<Float>(count: 200_000, dimension: 200_000) }
        let small = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .gru, inputSize: 1, hiddenSize: 4))
        expectRefused(.outOfMemory, "cannot allocate") { _ = try small.makeState(batch: 1 << 33) }
    }

    @Test("a streaming state of 2^62 × 4 scalars is refused")
    func streamingStateOverflows() throws {
        let network = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 4))
        expectRefused(.outOfMemory, "state") { _ = try network.makeState(batch: 1 << 62) }
    }

    // MARK: Other layers

    @Test("Linear and Embedding refuse weight matrices whose size overflows")
    func linearAndEmbedding() {
        expectRefused(.outOfMemory, "linear weight") { _ = try Linear<Float>(inputSize: 1 << 32, outputSize: 1 << 32) }
        expectRefused(.outOfMemory, "linear weight") { _ = try Linear<Double>(inputSize: .max, outputSize: 2) }
        expectRefused(.outOfMemory, "embedding weight") { _ = try Embedding<Float>(count: 1 << 40, dimension: 1 << 30) }
        expectRefused(.outOfMemory, "embedding weight") { _ = try Embedding<Float>(count: 3, dimension: .max) }
    }

    // MARK: Files

    /// A safetensors file of one tensor with `shape`, dtype F32, and `dataBytes` bytes of data.
    func safeTensorsBytes(shape: [Int], dataBytes: Int) -> [UInt8] {
        let shapeText = shape.map(String.init).joined(separator: ",")
        let header = Array("{\"w\":{\"dtype\":\"F32\",\"shape\":[\(shapeText)],\"data_offsets\":[0,\(dataBytes)]}}".utf8)
        let length = UInt64(header.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) } + header + [UInt8](repeating: 0, count: dataBytes)
    }

    @Test("a tensor shape whose product overflows is refused as an invalid file")
    func tensorShapeOverflows() {
        expectRefused(.invalidFile, "w") { _ = try SafeTensorsFile(bytes: safeTensorsBytes(shape: [1 << 62, 1 << 62], dataBytes: 16)) }
        expectRefused(.invalidFile, "w") { _ = try SafeTensorsFile(bytes: safeTensorsBytes(shape: [1 << 61, 4], dataBytes: 16)) }
        expectRefused(.invalidFile, "w") { _ = try SafeTensorsFile(bytes: safeTensorsBytes(shape: [1 << 30, 1 << 30], dataBytes: 16)) }
    }

    @Test("a network file whose metadata asks for 10^10 parameters loads nothing")
    func networkFileArchitectureBeyondItsSize() throws {
        // A real file of a tiny network, with the metadata's hidden size raised to 50000.
        let small = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .lstm, inputSize: 1, hiddenSize: 2))
        var writer = try small.safeTensorsWriter(metadata: [:])
        writer.metadata[RecurrentNetworkFileKey.hiddenSize] = "50000"
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("rnnkit-limit-\(UUID().uuidString).safetensors").path
        try writer.writeAtomically(to: path)
        defer { unlink(path) }
        expectRefused(.invalidFile, "the file holds 4 tensors of 40 scalars") {
            _ = try RecurrentNetwork<Float>(contentsOf: path)
        }
    }
}
