// Checkpoints written by an earlier RNNKit still load and resume to the same bits.
//
// Fixtures/checkpoints/ holds, for three runs (a 2-layer LSTM language model with dropout and Adam,
// a 2-layer GRU last-step regressor with RMSprop, a seq2seq model with SGD and momentum):
//   <run>-step4.safetensors    the checkpoint after 4 steps
//   <run>-step7.safetensors    the checkpoint of the same run, uninterrupted, after 7 steps
// They were written by `writeLegacyFixtures()` below, run once with RNNKIT_WRITE_FIXTURES=checkpoints
// on the code before the model layer was rebuilt on one stacked RecurrentNetwork (parameter groups
// embedding, layer 0, layer 1, …, head; optimizer state keyed by those groups), on an Intel Xeon
// whose OpenBLAS ran its Prescott kernels. Resuming each step-4 file for 3 steps must give the
// step-7 file's parameters and optimizer state: bit for bit with those kernels (checked when the
// model layer was rebuilt), and within 1e-4 relative with any others (RNNKit now selects OpenBLAS's
// Cooperlake kernels on that CPU; they round the weight-gradient products differently, by up to
// 4e-6 relative after three steps). A state not restored (optimizer moments, dropout streams, data
// cursor, carried state) or a tensor loaded into the wrong place moves the parameters by 1e-3 or
// more in three steps.

import Foundation
import Testing
@testable import RNNKit

private let checkpointFixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    .appendingPathComponent("checkpoints")

/// The three runs of the fixtures, each with the data it trains on.
private func legacyRuns() throws -> [(name: String, data: TrainingData, make: () throws -> Trainer)] {
    let (ids, V) = try smallStream()
    let pairs = (0..<20).map { Seq2SeqExample(source: [$0 % 5, ($0 / 5) % 5] + ($0 % 3 == 0 ? [1] : []), target: [($0 * 7) % 5]) }
    let regression = smallRegressionSet(count: 24, seed: 31)
    return [
        ("lm-lstm2-adam", .stream(ids), {
            let model = try SequenceModel(.tokens(vocabularySize: V, embeddingSize: 5, cell: .lstm, hiddenSize: 10, numLayers: 2,
                                                  dropout: 0.25, initialization: .recommended, seed: 21))
            return try Trainer(model: model, training: .stream(ids), configuration: TrainerConfiguration(
                batchSize: 4, sequenceLength: 8, optimizer: OptimizerConfiguration(kind: .adam, learningRate: 1e-2),
                gradientClipNorm: 1, seed: 22))
        }),
        ("regression-gru2-rmsprop", .sequences(regression), {
            let model = try SequenceModel(.features(featureSize: 2, cell: .gru, hiddenSize: 6, numLayers: 2, dropout: 0.2,
                                                    head: .lastStep, outputSize: 1, seed: 23))
            return try Trainer(model: model, training: .sequences(regression), configuration: TrainerConfiguration(
                batchSize: 5, optimizer: OptimizerConfiguration(kind: .rmsprop, learningRate: 1e-2), seed: 24))
        }),
        ("seq2seq-sgd", .pairs(pairs), {
            let model = try Seq2SeqModel(Seq2SeqConfiguration(sourceVocabularySize: 5, targetVocabularySize: 7, embeddingSize: 4,
                                                              hiddenSize: 6, numLayers: 2, dropout: 0.2, beginToken: 5, endToken: 6, seed: 25))
            return try Trainer(model: model, training: .pairs(pairs), configuration: TrainerConfiguration(
                batchSize: 6, optimizer: OptimizerConfiguration(kind: .sgd, learningRate: 0.1, momentum: 0.9), seed: 26))
        }),
    ]
}

/// Optimizer state tensors keyed `<group>.<name>`, concatenated per name in group order: the same
/// flat buffer whichever way the parameters are cut into groups.
private func flatOptimizerState(_ tensors: [String: [Float]]) -> [String: [Float]] {
    var byName: [String: [(group: Int, values: [Float])]] = [:]
    for (key, values) in tensors {
        let parts = key.split(separator: ".", maxSplits: 1)
        byName[String(parts[1]), default: []].append((Int(parts[0])!, values))
    }
    return byName.mapValues { $0.sorted { $0.group < $1.group }.flatMap(\.values) }
}

private func optimizerState(in file: SafeTensorsFile) throws -> [String: [Float]] {
    var tensors: [String: [Float]] = [:]
    for name in file.tensorNames where name.hasPrefix("optimizer.") {
        tensors[String(name.dropFirst("optimizer.".count))] = try file.values(of: name, as: Float.self)
    }
    return tensors
}

/// Every element within 1e-4 of the expected one, relative to max(1e-3, |expected|).
private func expectNear(_ actual: [Float], _ expected: [Float], _ label: String,
                        sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(label): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
    let worst = zip(actual, expected).reduce(0.0) { max($0, abs(Double($1.0) - Double($1.1)) / max(1e-3, abs(Double($1.1)))) }
    #expect(worst <= 1e-4, "\(label): max relative difference \(worst)", sourceLocation: sourceLocation)
}

@Suite struct LegacyCheckpointTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["RNNKIT_WRITE_FIXTURES"] == "checkpoints"))
    func writeFixtures() throws { try writeLegacyFixtures() }

    @Test func earlierCheckpointsResumeToTheSameBits() throws {
        for run in try legacyRuns() {
            let early = checkpointFixtures.appendingPathComponent("\(run.name)-step4.safetensors").path
            let later = try SafeTensorsFile(contentsOf: checkpointFixtures.appendingPathComponent("\(run.name)-step7.safetensors").path)
            let resumed = try Trainer(resumingFrom: early, training: run.data)
            #expect(resumed.step == 4, "\(run.name)")
            try resumed.train(steps: 3)
            // The model's tensors, by name, against the uninterrupted run's.
            let expected = try loadModel(from: checkpointFixtures.appendingPathComponent("\(run.name)-step7.safetensors").path)
            let expectedGroups: [any ParameterContainer<Float>]
            switch expected {
            case .sequence(let m): expectedGroups = m.parameterGroups
            case .seq2seq(let m): expectedGroups = m.parameterGroups
            }
            expectNear(allParameters(resumed.parameterGroups), allParameters(expectedGroups), "\(run.name): parameters")
            let state = flatOptimizerState(resumed.optimizer.stateTensors())
            let expectedState = flatOptimizerState(try optimizerState(in: later))
            #expect(state.keys.sorted() == expectedState.keys.sorted(), "\(run.name): optimizer state names")
            for (name, values) in state {
                expectNear(values, expectedState[name] ?? [], "\(run.name): optimizer state \(name)")
            }
        }
    }

    /// Writes the fixtures (see the top of this file) into the source tree.
    func writeLegacyFixtures() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/checkpoints")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for run in try legacyRuns() {
            let trainer = try run.make()
            try trainer.train(steps: 4)
            try trainer.saveCheckpoint(to: directory.appendingPathComponent("\(run.name)-step4.safetensors").path)
            try trainer.train(steps: 3)
            try trainer.saveCheckpoint(to: directory.appendingPathComponent("\(run.name)-step7.safetensors").path)
        }
    }
}
