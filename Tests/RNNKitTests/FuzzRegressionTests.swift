// Every input the fuzz targets (Tests/Fuzz, scripts/fuzz.sh) ever flagged, replayed through the
// same calls as the target. The inputs live in Fixtures/fuzz-regressions/<target>/; the README
// there says what each one did before its fix.

import Foundation
import Testing
@testable import RNNKit

@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    /// The regression inputs of `target`, sorted by name (README files excluded).
    static func inputs(_ target: String) -> [URL] {
        let directory = FixtureFile.fixturesDirectory.appendingPathComponent("fuzz-regressions/\(target)")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { !$0.hasSuffix(".md") }.sorted().map { directory.appendingPathComponent($0) }
    }

    @Test("the regression folders are present and not empty")
    func foldersArePresent() {
        #expect(Self.inputs("network-file").count >= 3)
    }

    /// The `network-file` target: `RecurrentNetwork(contentsOf:)` must refuse each input with
    /// `.invalidFile` before allocating what the metadata describes, and `load(from:)` into an
    /// existing network must refuse it and leave the weights as they were.
    @Test("network-file inputs are refused with .invalidFile", arguments: FuzzRegressionTests.inputs("network-file"))
    func networkFile(_ url: URL) throws {
        do {
            _ = try RecurrentNetwork<Float>(contentsOf: url.path)
            Issue.record("\(url.lastPathComponent) loaded; expected an .invalidFile error")
        } catch let error as RNNKitError {
            #expect(error.kind == .invalidFile, "\(url.lastPathComponent): \(error.message)")
            #expect(error.message.contains(url.path), "the message should name the file: \(error.message)")
        }
        let network = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .gru, inputSize: 1, hiddenSize: 2))
        let before = network.parameters
        #expect(throws: RNNKitError.self) { try network.load(from: url.path) }
        #expect(network.parameters == before)
    }

    /// The `checkpoint` target: `loadModel(from:)` must refuse each input with `.invalidFile` before
    /// building the model its metadata describes (each would otherwise allocate gigabytes).
    @Test("checkpoint inputs are refused with .invalidFile",
          arguments: FuzzRegressionTests.inputs("checkpoint"))
    func checkpoint(_ url: URL) throws {
        let error = try #require(throws: RNNKitError.self) { _ = try loadModel(from: url.path) }
        #expect(error.kind == .invalidFile, "\(url.lastPathComponent): \(error.message)")
    }

    /// The `safetensors` target: parse, then read every tensor; a parse may succeed or throw
    /// `.invalidFile`, but every listed tensor must then be readable with its declared size.
    @Test("safetensors inputs parse or throw, never trap", arguments: FuzzRegressionTests.inputs("safetensors"))
    func safeTensors(_ url: URL) throws {
        let bytes = [UInt8](try Data(contentsOf: url))
        let file: SafeTensorsFile
        do {
            file = try SafeTensorsFile(bytes: bytes, source: url.lastPathComponent)
        } catch let error as RNNKitError {
            #expect(error.kind == .invalidFile)
            return
        }
        for tensor in file.tensors {
            #expect(try file.rawBytes(of: tensor.name).count == tensor.elementCount * tensor.dtype.byteCount)
        }
    }

    /// The check behind the network-file fix, on a file built in memory: a metadata architecture
    /// larger than the tensors present is refused, naming both sizes.
    @Test("a metadata architecture larger than the file's tensors is refused before allocation")
    func architectureLargerThanFile() throws {
        let small = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 3))
        var writer = try small.safeTensorsWriter(metadata: [:])
        writer.metadata[RecurrentNetworkFileKey.hiddenSize] = "90000"
        let file = try SafeTensorsFile(bytes: writer.serialized(), source: "grown.safetensors")
        let configuration = try #require(try RecurrentConfiguration(fileMetadata: file.metadata))
        #expect(configuration.hiddenSize == 90000)
        let error = try #require(throws: RNNKitError.self) {
            try RecurrentNetwork<Float>.expectFileHolds(configuration, file)
        }
        #expect(error.kind == .invalidFile)
        #expect(error.message.contains("4 tensors of 32401440000 scalars"), "\(error.message)")
        #expect(error.message.contains("the file holds 4 tensors of 84 scalars"), "\(error.message)")
        // The unmodified file passes the same check.
        let original = try SafeTensorsFile(bytes: try small.safeTensorsWriter(metadata: [:]).serialized())
        try RecurrentNetwork<Float>.expectFileHolds(small.configuration, original)
    }
}
