// Tests of the safetensors reader and writer and of RecurrentNetwork save/load.
//
// The PyTorch fixture Fixtures/safetensors/torch_lstm_l2_bi.{safetensors,txt} is written by
// scripts/make-safetensors-fixtures.py:
//     torch.manual_seed(0)
//     m = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
//     safetensors.torch.save_file(m.state_dict(), "torch_lstm_l2_bi.safetensors")
// plus the expected values of every tensor and of m(x) for a fixed x in the .txt; likewise
// torch_lstm_proj_l2_bi.{safetensors,txt} for nn.LSTM(3, 5, num_layers=2, bidirectional=True,
// proj_size=2) after torch.manual_seed(1).
//
// Each hostile-input test builds its file from bytes and targets one check of the reader;
// the message it expects is that check's, so removing the check makes the test fail (or trap).

import Foundation
import Testing
@testable import RNNKit

// MARK: Helpers

/// A safetensors file from a header text and a data buffer (the header is not padded).
private func safeTensorsBytes(header: String, data: [UInt8] = []) -> [UInt8] {
    let headerBytes = Array(header.utf8)
    return littleEndianBytes(UInt64(headerBytes.count)) + headerBytes + data
}

private func littleEndianBytes(_ value: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
}

/// Expects `bytes` to be refused as an invalid file with a message containing `phrase`.
private func expectRefused(
    _ bytes: [UInt8], _ phrase: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        _ = try SafeTensorsFile(bytes: bytes, source: "hostile.safetensors")
        Issue.record("expected the file to be refused with '\(phrase)', but it was accepted", sourceLocation: sourceLocation)
    } catch let error as RNNKitError {
        #expect(error.kind == .invalidFile, sourceLocation: sourceLocation)
        #expect(error.message.hasPrefix("hostile.safetensors: "), "message should name the file: \(error.message)",
                sourceLocation: sourceLocation)
        #expect(error.message.contains(phrase), "message '\(error.message)' should contain '\(phrase)'",
                sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected error type: \(error)", sourceLocation: sourceLocation)
    }
}

/// Runs `body` with the path of a fresh, empty directory, removed afterwards.
private func withTemporaryDirectory(_ body: (String) throws -> Void) throws {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("rnnkit-safetensors-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(at: url) }
    try body(url.path)
}

private func directoryListing(_ path: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: path).sorted()
}

private func fileBytes(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

private func expectLoadRefused<Scalar: RNNScalar>(
    _ network: RecurrentNetwork<Scalar>, _ path: String, _ phrase: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let before = network.parameters
    do {
        try network.load(from: path)
        Issue.record("expected load to fail with '\(phrase)'", sourceLocation: sourceLocation)
    } catch let error as RNNKitError {
        #expect(error.kind == .invalidFile, sourceLocation: sourceLocation)
        #expect(error.message.contains(phrase), "message '\(error.message)' should contain '\(phrase)'",
                sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected error type: \(error)", sourceLocation: sourceLocation)
    }
    #expect(network.parameters == before, "a refused load must leave the weights untouched",
            sourceLocation: sourceLocation)
}

/// The values of `network`'s tensors as a writer, with `edit` applied to the list first.
private func writer<Scalar: RNNScalar>(
    for network: RecurrentNetwork<Scalar>, metadata: [String: String]? = nil,
    edit: (inout [(name: String, shape: [Int], values: [Scalar])]) -> Void = { _ in }
) throws -> SafeTensorsWriter {
    var tensors = try network.layout.entries.map { (name: $0.name, shape: $0.shape, values: try network.parameter(named: $0.name)) }
    edit(&tensors)
    var writer = SafeTensorsWriter(metadata: metadata ?? network.configuration.fileMetadata)
    for tensor in tensors { try writer.add(name: tensor.name, shape: tensor.shape, values: tensor.values) }
    return writer
}

// MARK: The PyTorch fixture

/// The records of `torch_lstm_l2_bi.txt`: `<kind> [name] <shape> <values…>`.
private struct TorchReference {
    var parameters: [(name: String, shape: [Int], values: [Float])] = []
    var arrays: [String: (shape: [Int], values: [Float])] = [:]

    init(text: String) throws {
        for line in text.split(separator: "\n") {
            var tokens = line.split(separator: " ").map(String.init)
            let kind = tokens.removeFirst()
            let name = kind == "param" ? tokens.removeFirst() : kind
            let shape = tokens.removeFirst().split(separator: ",").compactMap { Int($0) }
            let values = tokens.compactMap(Float.init)
            try #require(values.count == tokens.count, "unparsable number in \(name)")
            try #require(values.count == shape.reduce(1, *), "\(name): \(values.count) values for shape \(shape)")
            if kind == "param" { parameters.append((name, shape, values)) } else { arrays[name] = (shape, values) }
        }
    }
}

private var safeTensorsFixtures: URL {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("safetensors")
}

private let torchConfiguration = RecurrentConfiguration(
    cell: .lstm, inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true)

@Suite("safetensors: PyTorch fixture")
struct SafeTensorsTorchFixtureTests {
    let path = safeTensorsFixtures.appendingPathComponent("torch_lstm_l2_bi.safetensors").path
    private let reference: TorchReference

    init() throws {
        let text = try String(contentsOf: safeTensorsFixtures.appendingPathComponent("torch_lstm_l2_bi.txt"), encoding: .utf8)
        reference = try TorchReference(text: text)
    }

    @Test func readerSeesWhatPyTorchWrote() throws {
        let file = try SafeTensorsFile(contentsOf: path)
        #expect(file.metadata == nil)
        #expect(file.tensors.count == 16)
        #expect(Set(file.tensorNames) == Set(reference.parameters.map(\.name)))
        for expected in reference.parameters {
            let info = try #require(file.tensor(named: expected.name))
            #expect(info.dtype == .float32)
            #expect(info.shape == expected.shape, "\(expected.name)")
            #expect(try file.values(of: expected.name, as: Float.self) == expected.values, "\(expected.name)")
        }
    }

    @Test func loadIntoFloatNetworkGivesPyTorchsWeightsAndOutputs() throws {
        let network = try RecurrentNetwork<Float>(torchConfiguration, seed: 7)
        try network.load(from: path)
        #expect(network.parameterNames == reference.parameters.map(\.name))
        for expected in reference.parameters {
            #expect(try network.parameter(named: expected.name) == expected.values, "\(expected.name)")
        }

        let input = try #require(reference.arrays["input"])
        let result = try network.forward(input.values, steps: input.shape[0], batch: input.shape[1])
        let comparisons: [(String, [Float])] = [
            ("output", result.output), ("h_n", result.finalHidden), ("c_n", result.finalCell ?? []),
        ]
        for (name, actual) in comparisons {
            let expected = try #require(reference.arrays[name]).values
            try #require(actual.count == expected.count, "\(name) element count")
            let maxDifference = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
            #expect(maxDifference < 1e-5, "\(name): max |RNNKit − PyTorch| = \(maxDifference)")
        }
    }

    @Test func loadIntoDoubleNetworkWidensExactly() throws {
        let network = try RecurrentNetwork<Double>(torchConfiguration)
        try network.load(from: path)
        for expected in reference.parameters {
            #expect(try network.parameter(named: expected.name) == expected.values.map(Double.init))
        }
    }

    @Test func architectureFromFileNeedsRNNKitMetadata() throws {
        #expect {
            _ = try RecurrentNetwork<Float>(contentsOf: path)
        } throws: { error in
            (error as? RNNKitError)?.message.contains("has no RNNKit architecture metadata") == true
        }
    }

    @Test func pyTorchFileIntoAnotherArchitectureNamesTheShape() throws {
        let wider = try RecurrentNetwork<Float>(
            RecurrentConfiguration(cell: .lstm, inputSize: 4, hiddenSize: 4, numLayers: 2, bidirectional: true))
        expectLoadRefused(wider, path, "expected weight_ih_l0 with shape [16, 4], got [16, 3]")
        let unidirectional = try RecurrentNetwork<Float>(
            RecurrentConfiguration(cell: .lstm, inputSize: 3, hiddenSize: 4, numLayers: 2))
        expectLoadRefused(unidirectional, path, "unexpected tensor weight_ih_l0_reverse")
    }
}

@Suite("safetensors: PyTorch fixture with proj_size")
struct SafeTensorsTorchProjectionFixtureTests {
    let path = safeTensorsFixtures.appendingPathComponent("torch_lstm_proj_l2_bi.safetensors").path
    private let reference: TorchReference
    private let configuration = RecurrentConfiguration(
        cell: .lstm, inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, projectionSize: 2)

    init() throws {
        let text = try String(contentsOf: safeTensorsFixtures.appendingPathComponent("torch_lstm_proj_l2_bi.txt"), encoding: .utf8)
        reference = try TorchReference(text: text)
    }

    @Test func stateDictLoadsByNameAndRunsAsPyTorch() throws {
        let network = try RecurrentNetwork<Float>(configuration, seed: 7)
        try network.load(from: path)
        #expect(network.parameterNames == reference.parameters.map(\.name))
        #expect(network.parameterNames.contains("weight_hr_l1_reverse"))
        for expected in reference.parameters {
            #expect(try network.parameter(named: expected.name) == expected.values, "\(expected.name)")
            #expect(network.layout.entry(named: expected.name)?.shape == expected.shape, "\(expected.name)")
        }
        let input = try #require(reference.arrays["input"])
        network.isTraining = false
        let result = try network.forward(input.values, steps: input.shape[0], batch: input.shape[1])
        for (name, actual) in [("output", result.output), ("h_n", result.finalHidden), ("c_n", result.finalCell ?? [])] {
            let expected = try #require(reference.arrays[name])
            try #require(actual.count == expected.values.count, "\(name) element count, PyTorch's shape \(expected.shape)")
            let maxDifference = zip(actual, expected.values).map { abs($0 - $1) }.max() ?? 0
            #expect(maxDifference < 1e-5, "\(name): max |RNNKit − PyTorch| = \(maxDifference)")
        }
    }

    @Test func stateDictIntoAnUnprojectedNetworkNamesTheDifference() throws {
        let plain = try RecurrentNetwork<Float>(
            RecurrentConfiguration(cell: .lstm, inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true))
        expectLoadRefused(plain, path, "unexpected tensor weight_hr_l0")
        let otherProjection = try RecurrentNetwork<Float>(
            RecurrentConfiguration(cell: .lstm, inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, projectionSize: 3))
        expectLoadRefused(otherProjection, path, "expected weight_hr_l0 with shape [3, 5], got [2, 5]")
    }
}

// MARK: Save and load

@Suite("safetensors: RecurrentNetwork save and load")
struct NetworkFileTests {
    @Test(arguments: [
        RecurrentConfiguration(cell: .lstm, inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true),
        RecurrentConfiguration(cell: .gru, inputSize: 2, hiddenSize: 3, numLayers: 1, bidirectional: false, batchFirst: true),
        RecurrentConfiguration(cell: .rnnRelu, inputSize: 4, hiddenSize: 2, numLayers: 3, bidirectional: true),
        RecurrentConfiguration(cell: .gruResetBefore, inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true),
        RecurrentConfiguration(cell: .lstm, inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, peepholes: true,
                               recurrentDropout: 0.2, zoneoutHidden: 0.1, zoneoutCell: 0.15),
        RecurrentConfiguration(cell: .lstm, inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, peepholes: true,
                               projectionSize: 3),
        RecurrentConfiguration(cell: .lstm, inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, zoneoutHidden: 0.1,
                               layerNorm: true),
    ])
    func roundTripFloat(configuration: RecurrentConfiguration) throws {
        try roundTrip(Float.self, configuration)
    }

    @Test func roundTripDouble() throws {
        try roundTrip(Double.self, RecurrentConfiguration(cell: .lstm, inputSize: 3, hiddenSize: 4, numLayers: 2))
    }

    private func roundTrip<Scalar: RNNScalar>(_: Scalar.Type, _ configuration: RecurrentConfiguration) throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/model.safetensors"
            let original = try RecurrentNetwork<Scalar>(configuration, seed: 1)
            try original.save(to: path, metadata: ["note": "round trip"])

            let file = try SafeTensorsFile(contentsOf: path)
            #expect(file.tensorNames == original.parameterNames)
            #expect(file.tensors.allSatisfy { $0.dtype.rawValue == Scalar.dtypeName })
            #expect(file.metadata?["note"] == "round trip")
            #expect(file.metadata?["format"] == "rnnkit-recurrent")
            #expect(file.metadata?["cell"] == configuration.cell.rawValue)

            let loaded = try RecurrentNetwork<Scalar>(configuration, seed: 2)
            #expect(loaded.parameters != original.parameters)
            try loaded.load(from: path)
            #expect(loaded.parameters == original.parameters)

            let restored = try RecurrentNetwork<Scalar>(contentsOf: path)
            #expect(restored.configuration == configuration)
            #expect(restored.parameters == original.parameters)

            let steps = 4, batch = 2
            let input = (0..<steps * batch * configuration.inputSize).map { Scalar(($0 % 7) - 3) / 4 }
            // Inference: training would draw the recurrent dropout and zoneout masks, which are not weights.
            original.isTraining = false
            restored.isTraining = false
            let expected = try original.forward(input, steps: steps, batch: batch)
            let actual = try restored.forward(input, steps: steps, batch: batch)
            #expect(actual.output == expected.output)
            #expect(actual.finalHidden == expected.finalHidden)
        }
    }

    @Test func savedHeaderIsPaddedAndMetadataIsComplete() throws {
        let network = try RecurrentNetwork<Float>(
            RecurrentConfiguration(cell: .gru, inputSize: 3, hiddenSize: 2, numLayers: 2, bidirectional: true, batchFirst: true))
        let bytes = try network.safeTensorsWriter(metadata: [:]).serialized()
        let headerLength = bytes.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
        #expect(headerLength % 8 == 0)
        let file = try SafeTensorsFile(bytes: bytes)
        #expect(file.metadata == [
            "format": "rnnkit-recurrent", "format_version": "1", "cell": "gru", "input_size": "3",
            "hidden_size": "2", "num_layers": "2", "bidirectional": "true", "batch_first": "true",
        ])
        let data = bytes[(8 + headerLength)...]
        #expect(data.count == network.layout.totalCount * 4)
    }

    @Test func reservedMetadataKeysAreRefused() throws {
        let network = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .lstm, inputSize: 1, hiddenSize: 1))
        #expect(throws: RNNKitError.self) { try network.save(to: "/nonexistent/x", metadata: ["hidden_size": "9"]) }
    }

    @Test func missingTensorIsNamedAndWeightsAreUntouched() throws {
        let source = try RecurrentNetwork<Float>(torchConfiguration, seed: 3)
        let file = try writer(for: source) { $0.removeAll { $0.name == "bias_hh_l1" } }
        try withTemporaryDirectory { directory in
            try file.writeAtomically(to: directory + "/m.safetensors")
            expectLoadRefused(try RecurrentNetwork<Float>(torchConfiguration), directory + "/m.safetensors",
                              "missing tensor bias_hh_l1")
        }
    }

    @Test func extraTensorIsNamed() throws {
        let source = try RecurrentNetwork<Float>(torchConfiguration, seed: 3)
        let file = try writer(for: source) { $0.append((name: "foo", shape: [1], values: [1])) }
        try withTemporaryDirectory { directory in
            try file.writeAtomically(to: directory + "/m.safetensors")
            expectLoadRefused(try RecurrentNetwork<Float>(torchConfiguration), directory + "/m.safetensors",
                              "unexpected tensor foo")
        }
    }

    @Test func wrongShapeIsNamedWithBothShapes() throws {
        let source = try RecurrentNetwork<Float>(torchConfiguration, seed: 3)
        // Same element count (64) in another shape, so only the shape check can catch it.
        let file = try writer(for: source, metadata: [:]) { tensors in
            let index = tensors.firstIndex { $0.name == "weight_hh_l0" }!
            tensors[index].shape = [4, 16]
        }
        try withTemporaryDirectory { directory in
            try file.writeAtomically(to: directory + "/m.safetensors")
            expectLoadRefused(try RecurrentNetwork<Float>(torchConfiguration), directory + "/m.safetensors",
                              "expected weight_hh_l0 with shape [16, 4], got [4, 16]")
        }
    }

    @Test func nonFloatDtypeIsRefused() throws {
        let network = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .rnnTanh, inputSize: 1, hiddenSize: 1))
        var file = SafeTensorsWriter()
        for entry in network.layout.entries {
            try file.add(name: entry.name, dtype: .float16, shape: entry.shape, bytes: [0x00, 0x3C])
        }
        try withTemporaryDirectory { directory in
            try file.writeAtomically(to: directory + "/m.safetensors")
            expectLoadRefused(network, directory + "/m.safetensors", "expected weight_ih_l0 with dtype F32 or F64, got F16")
        }
    }

    @Test func architectureMismatchNamesBoth() throws {
        // rnn_relu and rnn_tanh have identical names and shapes: only the metadata tells them apart.
        let relu = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .rnnRelu, inputSize: 2, hiddenSize: 3))
        let tanh = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .rnnTanh, inputSize: 2, hiddenSize: 3))
        try withTemporaryDirectory { directory in
            try relu.save(to: directory + "/relu.safetensors")
            expectLoadRefused(tanh, directory + "/relu.safetensors",
                "holds a network of rnn_relu, input 2, hidden 3, 1 layer, unidirectional; expected this network's architecture, rnn_tanh, input 2, hidden 3, 1 layer, unidirectional")
        }
    }

    @Test func gruVariantsAndPeepholesAreToldApartByTheMetadata() throws {
        // The two GRUs have identical names and shapes; an LSTM file without peepholes lacks a tensor.
        let gru = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .gru, inputSize: 2, hiddenSize: 3))
        let resetBefore = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .gruResetBefore, inputSize: 2, hiddenSize: 3))
        let lstm = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 3))
        let peephole = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 3, peepholes: true))
        #expect(peephole.parameterNames == lstm.parameterNames + ["weight_peephole_l0"])
        try withTemporaryDirectory { directory in
            try gru.save(to: directory + "/gru.safetensors")
            expectLoadRefused(resetBefore, directory + "/gru.safetensors",
                "holds a network of gru, input 2, hidden 3, 1 layer, unidirectional; expected this network's architecture, gru_reset_before, input 2, hidden 3, 1 layer, unidirectional")
            try lstm.save(to: directory + "/lstm.safetensors")
            expectLoadRefused(peephole, directory + "/lstm.safetensors",
                "expected this network's architecture, lstm with peepholes, input 2, hidden 3, 1 layer, unidirectional")
            try peephole.save(to: directory + "/peephole.safetensors")
            #expect(try SafeTensorsFile(contentsOf: directory + "/peephole.safetensors").metadata?["peepholes"] == "true")
            #expect(try SafeTensorsFile(contentsOf: directory + "/lstm.safetensors").metadata?["peepholes"] == nil)
        }
    }

    @Test func batchFirstMayDiffer() throws {
        let timeMajor = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .gru, inputSize: 2, hiddenSize: 3), seed: 4)
        let batchFirst = try RecurrentNetwork<Float>(
            RecurrentConfiguration(cell: .gru, inputSize: 2, hiddenSize: 3, batchFirst: true), seed: 5)
        try withTemporaryDirectory { directory in
            try timeMajor.save(to: directory + "/m.safetensors")
            try batchFirst.load(from: directory + "/m.safetensors")
            #expect(batchFirst.parameters == timeMajor.parameters)
        }
    }

    @Test func unknownFormatVersionIsRefused() throws {
        let network = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .gru, inputSize: 2, hiddenSize: 3))
        var metadata = network.configuration.fileMetadata
        metadata["format_version"] = "2"
        try withTemporaryDirectory { directory in
            try writer(for: network, metadata: metadata).writeAtomically(to: directory + "/m.safetensors")
            expectLoadRefused(network, directory + "/m.safetensors", "format_version is \"2\"; this RNNKit reads version 1")
        }
    }

    @Test func malformedArchitectureMetadataIsRefused() throws {
        let network = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .gru, inputSize: 2, hiddenSize: 3))
        var metadata = network.configuration.fileMetadata
        metadata["hidden_size"] = "-3"
        try withTemporaryDirectory { directory in
            try writer(for: network, metadata: metadata).writeAtomically(to: directory + "/m.safetensors")
            #expect {
                _ = try RecurrentNetwork<Float>(contentsOf: directory + "/m.safetensors")
            } throws: { error in
                (error as? RNNKitError)?.message.contains("metadata 'hidden_size' is \"-3\"") == true
            }
        }
    }

    @Test func loadingAMissingFileIsAnIOError() throws {
        let network = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .gru, inputSize: 2, hiddenSize: 3))
        #expect { try network.load(from: "/nonexistent/rnnkit/model.safetensors") } throws: { error in
            (error as? RNNKitError)?.kind == .io
        }
    }
}

// MARK: Atomic writes

@Suite("safetensors: atomic write")
struct AtomicWriteTests {
    @Test func writeLeavesOnlyTheDestination() throws {
        try withTemporaryDirectory { directory in
            try writeFileAtomically([1, 2, 3], to: directory + "/a.bin")
            #expect(try directoryListing(directory) == ["a.bin"])
            #expect(try fileBytes(directory + "/a.bin") == [1, 2, 3])
        }
    }

    @Test func existingFileIsReplacedOnSuccess() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/a.bin"
            try writeFileAtomically([1, 2, 3, 4, 5], to: path)
            try writeFileAtomically([9], to: path)
            #expect(try fileBytes(path) == [9])
            #expect(try directoryListing(directory) == ["a.bin"])
        }
    }

    @Test func failureBeforeRenameLeavesTheOldFileAndNoTemporary() throws {
        struct InjectedFailure: Error {}
        try withTemporaryDirectory { directory in
            let path = directory + "/a.bin"
            try writeFileAtomically([1, 2, 3], to: path)
            var sawTemporary = false
            #expect(throws: InjectedFailure.self) {
                try writeFileAtomically([7, 7, 7, 7], to: path) {
                    // The complete temporary file exists beside the destination at this point.
                    sawTemporary = (try? directoryListing(directory).contains { $0.hasPrefix(".a.bin.tmp-") }) ?? false
                    throw InjectedFailure()
                }
            }
            #expect(sawTemporary)
            #expect(try fileBytes(path) == [1, 2, 3])
            #expect(try directoryListing(directory) == ["a.bin"])
        }
    }

    @Test func failedRenameLeavesNoTemporary() throws {
        try withTemporaryDirectory { directory in
            // A non-empty directory at the destination makes rename fail.
            let path = directory + "/taken"
            try FileManager.default.createDirectory(atPath: path + "/inside", withIntermediateDirectories: true)
            #expect { try writeFileAtomically([1], to: path) } throws: { error in
                (error as? RNNKitError)?.kind == .io && (error as? RNNKitError)?.message.contains("cannot rename") == true
            }
            #expect(try directoryListing(directory) == ["taken"])
            #expect(try directoryListing(path) == ["inside"])
        }
    }

    @Test func missingDirectoryIsAnIOError() throws {
        #expect { try writeFileAtomically([1], to: "/nonexistent/rnnkit/a.bin") } throws: { error in
            (error as? RNNKitError)?.kind == .io
        }
    }

    @Test func networkSaveReplacesTheOldFile() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/model.safetensors"
            let configuration = RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 2)
            try RecurrentNetwork<Float>(configuration, seed: 1).save(to: path)
            let second = try RecurrentNetwork<Float>(configuration, seed: 2)
            try second.save(to: path)
            #expect(try RecurrentNetwork<Float>(contentsOf: path).parameters == second.parameters)
            #expect(try directoryListing(directory) == ["model.safetensors"])
        }
    }
}

// MARK: Reader and writer

@Suite("safetensors: reader and writer")
struct SafeTensorsFormatTests {
    @Test func writerOutputReadsBack() throws {
        var writer = SafeTensorsWriter(metadata: ["quote\"and\\slash": "line\nbreak\u{1}é𝄞"])
        try writer.add(name: "b", shape: [2, 3], values: [1, 2, 3, 4, 5, 6] as [Float])
        try writer.add(name: "a \"odd\" name ✓", shape: [], values: [-0.5] as [Double])
        try writer.add(name: "empty", shape: [0, 4], values: [] as [Float])
        let bytes = writer.serialized()
        #expect(bytes.count == 8 + Int(bytes[0]) + Int(bytes[1]) * 256 + 6 * 4 + 8)
        #expect(Int(bytes[0]) % 8 == 0)

        let file = try SafeTensorsFile(bytes: bytes)
        #expect(file.tensorNames == ["b", "a \"odd\" name ✓", "empty"])
        #expect(file.metadata == ["quote\"and\\slash": "line\nbreak\u{1}é𝄞"])
        #expect(try file.values(of: "b", as: Float.self) == [1, 2, 3, 4, 5, 6])
        #expect(try file.values(of: "a \"odd\" name ✓", as: Double.self) == [-0.5])
        #expect(try file.values(of: "a \"odd\" name ✓", as: Float.self) == [-0.5])
        #expect(file.tensor(named: "empty")?.elementCount == 0)
        #expect(file.tensor(named: "b")?.dataOffsets == 0..<24)
        #expect(Array(try file.rawBytes(of: "a \"odd\" name ✓")) == [0, 0, 0, 0, 0, 0, 0xE0, 0xBF])
    }

    @Test func writerRefusesBadTensors() throws {
        var writer = SafeTensorsWriter()
        try writer.add(name: "x", shape: [1], values: [1] as [Float])
        #expect(throws: RNNKitError.self) { try writer.add(name: "x", shape: [1], values: [2] as [Float]) }
        #expect(throws: RNNKitError.self) { try writer.add(name: "__metadata__", shape: [1], values: [2] as [Float]) }
        #expect(throws: RNNKitError.self) { try writer.add(name: "y", shape: [2], values: [2] as [Float]) }
        #expect(throws: RNNKitError.self) { try writer.add(name: "z", shape: [-1], values: [] as [Float]) }
    }

    @Test func halfAndBrainFloatWidenExactly() throws {
        var writer = SafeTensorsWriter()
        // F16: 1, -2, smallest subnormal 2^-24, 65504 (largest), +infinity, -0.
        try writer.add(name: "h", dtype: .float16, shape: [6],
                       bytes: [0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00, 0xFF, 0x7B, 0x00, 0x7C, 0x00, 0x80])
        // BF16: 1, -3.
        try writer.add(name: "bf", dtype: .bfloat16, shape: [2], bytes: [0x80, 0x3F, 0x40, 0xC0])
        try writer.add(name: "i", dtype: .int64, shape: [1], bytes: [1, 0, 0, 0, 0, 0, 0, 0])
        let file = try SafeTensorsFile(bytes: writer.serialized())
        let halves: [Float] = try file.values(of: "h")
        #expect(halves == [1, -2, Float(sign: .plus, exponent: -24, significand: 1), 65504, .infinity, 0])
        #expect(halves[5].sign == .minus)
        #expect(try file.values(of: "bf", as: Float.self) == [1, -3])
        #expect { _ = try file.values(of: "i", as: Float.self) } throws: { error in
            (error as? RNNKitError)?.message.contains("has dtype I64; expected a floating-point dtype") == true
        }
        #expect(throws: RNNKitError.self) { _ = try file.values(of: "nope", as: Float.self) }
    }

    @Test func paddedHeaderAndUnalignedDataAreAccepted() throws {
        // Trailing spaces pad the header; a 1-byte tensor first leaves the F32 data unaligned.
        let header = #"{"u":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"f":{"dtype":"F32","shape":[1],"data_offsets":[1,5]}}   "#
        let file = try SafeTensorsFile(bytes: safeTensorsBytes(header: header, data: [7, 0x00, 0x00, 0x80, 0x3F]))
        #expect(try file.values(of: "f", as: Float.self) == [1])
        #expect(Array(try file.rawBytes(of: "u")) == [7])
    }

    @Test func whitespaceAroundTheHeaderObjectIsAccepted() throws {
        // The reference implementation accepts both; PyTorch's writer pads with trailing spaces.
        let file = try SafeTensorsFile(bytes: safeTensorsBytes(header: " \n{}  "))
        #expect(file.tensors.isEmpty)
    }

    @Test func emptyHeaderObjectIsAValidEmptyFile() throws {
        let file = try SafeTensorsFile(bytes: safeTensorsBytes(header: "{}"))
        #expect(file.tensors.isEmpty)
        #expect(file.metadata == nil)
    }

    @Test func headerJSONParsesEscapesAndNumbers() throws {
        func parse(_ text: String) throws -> HeaderJSON {
            try Array(text.utf8).withUnsafeBytes { try HeaderJSON.parse($0) }
        }
        #expect(try parse(#" ["a\"\\\/\b\f\n\r\t\u00e9\ud834\udd1e", -0, 12, 1.5, 1e3, 99999999999999999999, true, false, null] "#)
                == .array([.string("a\"\\/\u{8}\u{c}\n\r\té𝄞"), .integer(0), .integer(12), .otherNumber("1.5"),
                           .otherNumber("1e3"), .otherNumber("99999999999999999999"), .bool(true), .bool(false), .null]))
        #expect(try parse("-9223372036854775808") == .integer(Int.min))
        for bad in ["01", "1.", "-", "[1,]", "{\"a\":1,}", "\"\\ud834\"", "\"\\udd1e\"", "\"\\x\"", "\"a\u{1}\"",
                    "[1] 2", "{\"a\":1,\"a\":2}", "{a:1}", "tru", "", "[", "\"abc"] {
            #expect(throws: HeaderJSON.ParseError.self, "\(bad)") { _ = try parse(bad) }
        }
    }
}

// MARK: Hostile input

@Suite("safetensors: hostile input")
struct SafeTensorsHostileInputTests {
    private let oneF32 = #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#

    @Test func validBaselineIsAccepted() throws {
        // The hostile cases below are small edits of this file.
        let file = try SafeTensorsFile(bytes: safeTensorsBytes(header: oneF32, data: [0, 0, 0x80, 0x3F]))
        #expect(try file.values(of: "x", as: Float.self) == [1])
    }

    @Test func emptyFile() { expectRefused([], "file is 0 bytes; expected at least 8") }

    @Test func sevenBytes() { expectRefused([1, 0, 0, 0, 0, 0, 0], "file is 7 bytes; expected at least 8") }

    @Test func headerLengthLargerThanTheFile() {
        expectRefused(littleEndianBytes(100) + Array("{}".utf8), "header length 100 exceeds the 2 bytes that follow")
    }

    @Test func headerLengthTwoToThe63() {
        expectRefused(littleEndianBytes(1 << 63) + Array("{}".utf8), "header length 9223372036854775808 exceeds the limit")
    }

    @Test func headerLengthAboveTheLimitIsRefusedBeforeReading() {
        expectRefused(littleEndianBytes(100_000_001) + Array("{}".utf8), "exceeds the limit of 100000000 bytes")
    }

    @Test func headerNotJSON() {
        expectRefused(safeTensorsBytes(header: "{not json}"), "header is not valid JSON")
    }

    @Test func headerWithInvalidUTF8() {
        let bytes = littleEndianBytes(4) + [0x7B, 0x22, 0xFF, 0x7D]
        expectRefused(bytes, "header is not valid UTF-8")
    }

    @Test func topLevelArray() {
        expectRefused(safeTensorsBytes(header: "[]"), "header starts with '['; expected '{' opening a JSON object")
    }

    @Test func topLevelStringAndEmptyHeader() {
        expectRefused(safeTensorsBytes(header: "\"x\""), "header starts with '\"'; expected '{'")
        expectRefused(safeTensorsBytes(header: ""), "header starts with nothing; expected '{'")
        expectRefused(safeTensorsBytes(header: "  []"), "header starts with '['; expected '{'")
    }

    @Test func unknownDtype() {
        expectRefused(safeTensorsBytes(header: #"{"x":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                      "tensor 'x': unknown dtype \"F33\"")
    }

    @Test func packedDtype() {
        expectRefused(safeTensorsBytes(header: #"{"x":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}"#, data: [0]),
                      "dtype F4 packs elements in less than a byte")
    }

    @Test func shapeWithNegativeEntry() {
        expectRefused(safeTensorsBytes(header: #"{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                      "tensor 'x': shape entry 0 is the integer -1; expected a non-negative integer")
    }

    @Test func shapeWithNonIntegerEntry() {
        expectRefused(safeTensorsBytes(header: #"{"x":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                      "shape entry 0 is the number 1.0")
    }

    @Test func shapeProductOverflow() {
        expectRefused(safeTensorsBytes(header: #"{"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                      "tensor 'x': shape [4294967296, 4294967296] has more elements than an Int can count")
    }

    @Test func byteCountOverflow() {
        // 2^62 elements fit in Int; 2^62 × 4 bytes do not.
        expectRefused(safeTensorsBytes(header: #"{"x":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                      "expected more than an Int can count")
    }

    @Test func dataOffsetsOutOfBounds() {
        expectRefused(safeTensorsBytes(header: #"{"x":{"dtype":"F32","shape":[250],"data_offsets":[0,1000]}}"#, data: [0, 0, 0, 0]),
                      "tensor 'x': data_offsets [0, 1000] reach past the data buffer of 4 bytes")
    }

    @Test func dataOffsetsHuge() {
        expectRefused(safeTensorsBytes(header: #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551616]}}"#, data: [0, 0, 0, 0]),
                      "data_offsets is [0, 18446744073709551616]; expected [begin, end]")
    }

    @Test func dataOffsetsBeginAfterEnd() {
        expectRefused(safeTensorsBytes(header: #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, data: Array(repeating: 0, count: 8)),
                      "data_offsets [8, 4] begin after they end")
    }

    @Test func dataOffsetsWrongArity() {
        expectRefused(safeTensorsBytes(header: #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#, data: [0, 0, 0, 0]),
                      "data_offsets is [0]; expected [begin, end]")
    }

    @Test func sizeMismatchWithShape() {
        expectRefused(safeTensorsBytes(header: #"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)),
                      "tensor 'x': data_offsets [0, 8] span 8 bytes; expected 12 for shape [3] of F32")
    }

    @Test func overlappingTensors() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        expectRefused(safeTensorsBytes(header: header, data: Array(repeating: 0, count: 12)),
                      "tensor 'b' at data_offsets [4, 12] overlaps tensor 'a' at [0, 8]")
    }

    @Test func gapBetweenTensors() {
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        expectRefused(safeTensorsBytes(header: header, data: Array(repeating: 0, count: 12)),
                      "bytes 4..<8 of the data buffer, before tensor 'b', belong to no tensor")
    }

    @Test func trailingBytesAfterTheLastTensor() {
        expectRefused(safeTensorsBytes(header: oneF32, data: Array(repeating: 0, count: 6)),
                      "data buffer has 6 bytes but the tensors cover 4")
    }

    @Test func metadataValueNotAString() {
        let header = #"{"__metadata__":{"format":"pt","n":1},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        expectRefused(safeTensorsBytes(header: header, data: [0, 0, 0, 0]),
                      "__metadata__ value for key 'n' is the integer 1; expected a string")
    }

    @Test func metadataNotAnObject() {
        expectRefused(safeTensorsBytes(header: #"{"__metadata__":["a"]}"#), "__metadata__ is an array; expected an object")
    }

    @Test func deeplyNestedJSON() {
        // 100 000 '[' would overflow the stack of an unbounded recursive parser.
        let header = #"{"x":"# + String(repeating: "[", count: 100_000)
        expectRefused(safeTensorsBytes(header: header), "JSON nested deeper than 32 levels")
        // At the top level the '{' check refuses it before parsing.
        expectRefused(safeTensorsBytes(header: String(repeating: "[", count: 100_000)), "header starts with '['")
    }

    @Test func deeplyNestedObjects() {
        let header = "{" + String(repeating: #""a":{"#, count: 100_000)
        expectRefused(safeTensorsBytes(header: header), "JSON nested deeper than 32 levels")
    }

    @Test func deeplyNestedInsideATensorEntry() {
        let header = #"{"x":{"dtype":"F32","shape":"# + String(repeating: "[", count: 100_000)
        expectRefused(safeTensorsBytes(header: header), "JSON nested deeper than 32 levels")
    }

    @Test func duplicateTensorName() {
        let header = #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        expectRefused(safeTensorsBytes(header: header, data: Array(repeating: 0, count: 8)), "duplicate key \"x\"")
    }

    @Test func entryWithExtraKey() {
        let header = #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":0}}"#
        expectRefused(safeTensorsBytes(header: header, data: [0, 0, 0, 0]),
                      "tensor 'x' has keys [dtype, shape, data_offsets, extra]; expected exactly dtype, shape, data_offsets")
    }

    @Test func entryWithMissingKey() {
        expectRefused(safeTensorsBytes(header: #"{"x":{"dtype":"F32","shape":[1]}}"#, data: [0, 0, 0, 0]),
                      "tensor 'x' has keys [dtype, shape]; expected exactly dtype, shape, data_offsets")
    }

    @Test func entryNotAnObject() {
        expectRefused(safeTensorsBytes(header: #"{"x":[1]}"#), "tensor 'x' is described by an array")
    }

    @Test func dtypeNotAString() {
        expectRefused(safeTensorsBytes(header: #"{"x":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                      "tensor 'x': dtype is the integer 4; expected a string")
    }

    @Test func garbageAfterTheHeaderObject() {
        expectRefused(safeTensorsBytes(header: "{} x"), "unexpected data after the end of the JSON value")
    }

    /// Every prefix of a real file, and thousands of corrupted copies, must either parse or
    /// throw an `RNNKitError`; a trap would crash the test run.
    @Test func truncatedAndCorruptedFilesNeverTrap() throws {
        let original = try fileBytes(safeTensorsFixtures.appendingPathComponent("torch_lstm_l2_bi.safetensors").path)
        let headerEnd = 8 + Int(original[0]) + Int(original[1]) << 8
        var refusedPrefixes = 0
        for length in 0..<original.count {
            if (try? SafeTensorsFile(bytes: Array(original.prefix(length)))) == nil { refusedPrefixes += 1 }
        }
        #expect(refusedPrefixes == original.count, "every strict prefix of a file is incomplete")

        var generator = SeededGenerator(seed: 42)
        let interesting: [UInt8] = Array("{}[]\":,-0123456789e. ".utf8) + [0x00, 0xFF, 0x80, 0xC3]
        var accepted = 0
        for _ in 0..<3000 {
            var corrupted = original
            for _ in 0..<(1 + generator.nextIndex(below: 3)) {
                // Mostly within the length field and the header, where the checks are.
                let position = generator.nextIndex(below: headerEnd)
                corrupted[position] = interesting[generator.nextIndex(below: interesting.count)]
            }
            do {
                let file = try SafeTensorsFile(bytes: corrupted)
                for tensor in file.tensors where tensor.dtype.isConvertibleToScalar {
                    _ = try file.values(of: tensor.name, as: Double.self)
                }
                accepted += 1
            } catch let error as RNNKitError {
                #expect(error.kind == .invalidFile)
            }
        }
        // Some edits are harmless (a digit inside a float's bytes, a space in padding); most are not.
        #expect(accepted < 3000)
    }

    @Test func hostileFileOnDiskIsRefusedWithItsPath() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/bad.safetensors"
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
            #expect { _ = try SafeTensorsFile(contentsOf: path) } throws: { error in
                (error as? RNNKitError)?.message == "\(path): file is 3 bytes; expected at least 8 (the little-endian UInt64 header length)"
            }
            let network = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .gru, inputSize: 1, hiddenSize: 1))
            expectLoadRefused(network, path, "file is 3 bytes")
        }
    }
}
