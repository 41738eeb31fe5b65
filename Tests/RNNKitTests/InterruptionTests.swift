// What a killed training process leaves behind, simulated in-process: a checkpoint cut off at any
// byte (what a non-atomic write would leave) is refused cleanly, and the temporary file a killed
// atomic write leaves beside the checkpoint disturbs neither resuming nor the next save.
// The real thing — SIGKILL of a training process at random moments — is
// Tests/Reliability/kill-resume.sh (scripts/ci-reliability.sh kill).

import Foundation
import Testing
@testable import RNNKit

@Suite("Interrupted runs")
struct InterruptionTests {
    /// The token stream of every run here.
    static let stream: [Int] = (0..<300).map { ($0 * 5 + $0 / 3) % 9 }

    static func configuration(checkpoint: String?) -> TrainerConfiguration {
        TrainerConfiguration(batchSize: 2, sequenceLength: 5,
                             optimizer: OptimizerConfiguration(kind: .adam, learningRate: 0.01), seed: 4,
                             checkpointInterval: checkpoint == nil ? 0 : 1, checkpointPath: checkpoint)
    }

    static func newTrainer(checkpoint: String?) throws -> Trainer {
        let model = try SequenceModel(.tokens(vocabularySize: 9, embeddingSize: 4, cell: .lstm, hiddenSize: 6, seed: 2))
        return try Trainer(model: model, training: .stream(stream), configuration: configuration(checkpoint: checkpoint))
    }

    static func weights(_ trainer: Trainer) -> [Float] { trainer.parameterGroups.flatMap { $0.parameters } }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rnnkit-interruption-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test("every truncation of a checkpoint is refused with an error, never loaded or trapped on")
    func truncatedCheckpointsAreRefused() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("checkpoint.safetensors").path
        let trainer = try Self.newTrainer(checkpoint: path)
        try trainer.train(steps: 3)
        let whole = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(whole.count > 1000)

        let cut = directory.appendingPathComponent("cut.safetensors")
        var refused = 0
        // Every byte of the header region, then every 97th byte of the data.
        let header = 8 + Int(whole.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        let lengths = Array(0..<min(header + 16, whole.count)) + Array(stride(from: header + 16, to: whole.count, by: 97))
        for length in lengths {
            try Data(whole.prefix(length)).write(to: cut)
            do {
                _ = try Trainer(resumingFrom: cut.path, training: .stream(Self.stream))
                Issue.record("a checkpoint cut to \(length) of \(whole.count) bytes resumed")
            } catch let error as RNNKitError {
                #expect(error.kind == .invalidFile, "cut to \(length) bytes: \(error.message)")
                refused += 1
            }
        }
        #expect(refused == lengths.count)
        // The whole file still resumes.
        let resumed = try Trainer(resumingFrom: path, training: .stream(Self.stream))
        #expect(resumed.step == 3)
    }

    @Test("a temporary file left by a killed checkpoint write disturbs neither resume nor the next save")
    func leftoverTemporaryFileIsHarmless() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("checkpoint.safetensors").path

        let uninterrupted = try Self.newTrainer(checkpoint: nil)
        try uninterrupted.train(steps: 6)

        let first = try Self.newTrainer(checkpoint: path)
        try first.train(steps: 4)
        // A writer killed after writing half of the step-5 checkpoint leaves its temporary file
        // (same naming as writeFileAtomically), and the process is gone.
        let complete = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let stale = directory.appendingPathComponent(".checkpoint.safetensors.tmp-99999-dead").path
        try Data(complete.prefix(complete.count / 2)).write(to: URL(fileURLWithPath: stale))

        let resumed = try Trainer(resumingFrom: path, training: .stream(Self.stream), configuration: Self.configuration(checkpoint: path))
        #expect(resumed.step == 4)
        try resumed.train(steps: 2)
        #expect(resumed.step == 6)
        #expect(Self.weights(resumed) == Self.weights(uninterrupted), "resumed weights differ from the uninterrupted run")
        // The next save replaced the checkpoint atomically and left the stale file alone.
        let again = try Trainer(resumingFrom: path, training: .stream(Self.stream))
        #expect(again.step == 6)
        #expect(Self.weights(again) == Self.weights(uninterrupted))
        #expect(FileManager.default.fileExists(atPath: stale))
    }
}
