// Checkpoints: resuming continues bitwise identically; broken or foreign checkpoints are refused clearly.

import Foundation
import Testing
@testable import RNNKit

@Suite struct CheckpointTests {
    func temporaryPath() throws -> (path: String, cleanup: () -> Void) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rnnkit-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return (directory.appendingPathComponent("run.safetensors").path, { try? FileManager.default.removeItem(at: directory) })
    }

    /// Trains one trainer from `makeTrainer` for `steps` steps without stopping, and another for
    /// `stop` steps, then checkpoints it and resumes from the file on `data`; expects the resumed
    /// run to end with the same parameters and optimizer state, and returns it.
    @discardableResult
    func expectResumesBitwise(steps: Int, stoppingAfter stop: Int, data: TrainingData,
                              _ makeTrainer: () throws -> Trainer) throws -> Trainer {
        let (path, cleanup) = try temporaryPath()
        defer { cleanup() }
        let uninterrupted = try makeTrainer()
        try uninterrupted.train(steps: steps)
        let first = try makeTrainer()
        try first.train(steps: stop)
        try first.saveCheckpoint(to: path)
        let resumed = try Trainer(resumingFrom: path, training: data)
        try resumed.train(steps: steps - stop)
        #expect(allParameters(resumed.parameterGroups) == allParameters(uninterrupted.parameterGroups))
        #expect(resumed.optimizer.stateTensors() == uninterrupted.optimizer.stateTensors())
        return resumed
    }

    /// Strips restore the carried state; random windows the generator that draws them.
    @Test(arguments: StreamSampling.allCases)
    func resumingAStreamRunIsBitwiseIdentical(sampling: StreamSampling) throws {
        let (path, cleanup) = try temporaryPath()
        defer { cleanup() }
        let (ids, V) = try smallStream()
        func makeTrainer() throws -> Trainer {
            let model = try SequenceModel(.tokens(vocabularySize: V, embeddingSize: 5, cell: .lstm, hiddenSize: 10, numLayers: 2,
                                                  dropout: 0.25, initialization: .recommended, seed: 12))
            return try Trainer(model: model, training: .stream(ids), configuration: TrainerConfiguration(
                batchSize: 4, sequenceLength: 8, optimizer: OptimizerConfiguration(kind: .adam, learningRate: 1e-2),
                schedule: ScheduleConfiguration(kind: .cosine, warmupSteps: 2, totalSteps: 30), seed: 13,
                streamSampling: sampling))
        }
        let uninterrupted = try makeTrainer()
        try uninterrupted.train(steps: 23)   // 12 windows per epoch: the run crosses an epoch boundary

        let first = try makeTrainer()
        try first.train(steps: 7)   // mid-epoch: the data cursor and the dropout streams must be restored
        try first.saveCheckpoint(to: path)
        #expect(try SafeTensorsFile(contentsOf: path).metadata?["training.config.stream_sampling"] == sampling.rawValue)
        let resumed = try Trainer(resumingFrom: path, training: .stream(ids))
        #expect(resumed.step == 7 && resumed.configuration.streamSampling == sampling)
        #expect((resumed.carriedState == nil) == (sampling == .randomWindows))
        try resumed.train(steps: 16)
        #expect(allParameters(resumed.parameterGroups) == allParameters(uninterrupted.parameterGroups))
        #expect(resumed.optimizer.stateTensors() == uninterrupted.optimizer.stateTensors())
    }

    @Test func aCheckpointWithoutStreamSamplingLoadsAsStrips() throws {
        let (path, cleanup) = try temporaryPath()
        defer { cleanup() }
        let (ids, V) = try smallStream()
        let model = try SequenceModel(.tokens(vocabularySize: V, embeddingSize: 4, hiddenSize: 6, seed: 19))
        let trainer = try Trainer(model: model, training: .stream(ids), configuration: TrainerConfiguration(
            batchSize: 2, sequenceLength: 8, streamSampling: .randomWindows))
        try trainer.train(steps: 2)
        try trainer.saveCheckpoint(to: path)
        // Resuming the windows as strips would read other data: refused, naming both.
        #expect {
            try Trainer(resumingFrom: path, training: .stream(ids), configuration: TrainerConfiguration(batchSize: 2, sequenceLength: 8))
        } throws: { "\($0)".contains("stream sampling random_windows") && "\($0)".contains("stream sampling strips") }
        // The same file as an RNNKit that did not record the sampling wrote it.
        let file = try SafeTensorsFile(contentsOf: path)
        var metadata = try #require(file.metadata)
        #expect(metadata.removeValue(forKey: "training.config.stream_sampling") == "random_windows")
        var writer = SafeTensorsWriter(metadata: metadata)
        for name in file.tensorNames {
            try writer.add(name: name, shape: file.tensor(named: name)!.shape, values: try file.values(of: name, as: Float.self))
        }
        try writer.writeAtomically(to: path)
        let resumed = try Trainer(resumingFrom: path, training: .stream(ids),
                                  configuration: TrainerConfiguration(batchSize: 2, sequenceLength: 8))
        #expect(resumed.configuration.streamSampling == .strips)
        #expect(try TrainerConfiguration(fileMetadata: metadata, source: path).streamSampling == .strips)
        #expect(try TrainerConfiguration(fileMetadata: trainer.configuration.fileMetadata, source: path) == trainer.configuration)
    }

    @Test func resumingABucketedSequenceRunIsBitwiseIdentical() throws {
        let data = smallRegressionSet(count: 18, seed: 14)
        func makeTrainer() throws -> Trainer {
            let model = try SequenceModel(.features(featureSize: 2, cell: .gru, hiddenSize: 7, numLayers: 2, dropout: 0.1,
                                                    head: .lastStep, outputSize: 1, seed: 15))
            return try Trainer(model: model, training: .sequences(data), configuration: TrainerConfiguration(
                batchSize: 4, optimizer: OptimizerConfiguration(kind: .sgd, learningRate: 0.05, momentum: 0.9, nesterov: true), seed: 16))
        }
        // 5 minibatches per epoch: the second epoch's plan must be re-drawn identically.
        try expectResumesBitwise(steps: 17, stoppingAfter: 6, data: .sequences(data), makeTrainer)
    }

    @Test func resumingAConditionedPooledWeightedRunIsBitwiseIdentical() throws {
        var generator = SeededGenerator(seed: 17)
        let data = (0..<18).map { i -> SequenceExample in
            let length = 2 + generator.nextIndex(below: 5)
            return .tokens((0..<length).map { _ in generator.nextIndex(below: 6) }, targetClasses: [i % 3], condition: .classes([i % 2]))
        }
        let options = CrossEntropyOptions(classWeights: [1, 0.5, 2], labelSmoothing: 0.1)
        func makeTrainer() throws -> Trainer {
            let model = try SequenceModel(.tokens(vocabularySize: 6, embeddingSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true,
                                                  dropout: 0.2, head: .maxPool, outputSize: 3, seed: 18, conditioning: .classes(count: 2)))
            return try Trainer(model: model, training: .sequences(data),
                               configuration: TrainerConfiguration(batchSize: 4, seed: 19, classification: options))
        }
        let resumed = try expectResumesBitwise(steps: 13, stoppingAfter: 6, data: .sequences(data), makeTrainer)
        #expect(resumed.configuration.classification == options)
    }

    @Test func resumingASeq2SeqRunIsBitwiseIdentical() throws {
        let pairs = (0..<20).map { Seq2SeqExample(source: [$0 % 5, ($0 / 5) % 5] + ($0 % 3 == 0 ? [1] : []), target: [($0 * 7) % 5]) }
        func makeTrainer() throws -> Trainer {
            let model = try Seq2SeqModel(Seq2SeqConfiguration(sourceVocabularySize: 5, targetVocabularySize: 7, embeddingSize: 4,
                                                              hiddenSize: 6, dropout: 0.2, beginToken: 5, endToken: 6, seed: 17))
            return try Trainer(model: model, training: .pairs(pairs), configuration: TrainerConfiguration(batchSize: 6, seed: 18))
        }
        try expectResumesBitwise(steps: 10, stoppingAfter: 5, data: .pairs(pairs), makeTrainer)
    }

    /// A run with a bidirectional encoder, attention and dropout (and input feeding, whose backward
    /// runs the decoder's steps again), stopped and resumed from a checkpoint.
    @Test(arguments: [(AttentionScore.general, false), (.additive, false), (.additive, true)])
    func resumingAnAttentionSeq2SeqRunIsBitwiseIdentical(_ attention: AttentionScore, inputFeeding: Bool) throws {
        let pairs = (0..<20).map { Seq2SeqExample(source: [$0 % 5, ($0 / 5) % 5] + ($0 % 3 == 0 ? [1] : []), target: [($0 * 7) % 5, $0 % 2]) }
        func makeTrainer() throws -> Trainer {
            let model = try Seq2SeqModel(Seq2SeqConfiguration(
                sourceVocabularySize: 5, targetVocabularySize: 7, embeddingSize: 4, hiddenSize: 6, numLayers: 2, dropout: 0.2,
                beginToken: 5, endToken: 6, seed: 71, bidirectionalEncoder: true, attention: attention, attentionSize: 5,
                inputFeeding: inputFeeding))
            return try Trainer(model: model, training: .pairs(pairs), configuration: TrainerConfiguration(
                batchSize: 6, optimizer: OptimizerConfiguration(kind: .adam, learningRate: 1e-2), seed: 72))
        }
        try expectResumesBitwise(steps: 10, stoppingAfter: 5, data: .pairs(pairs), makeTrainer)
    }

    @Test func foreignOrMismatchedCheckpointsAreRefused() throws {
        let (path, cleanup) = try temporaryPath()
        defer { cleanup() }
        let (ids, V) = try smallStream()
        let model = try SequenceModel(.tokens(vocabularySize: V, embeddingSize: 4, hiddenSize: 6, seed: 19))
        // A plain model file has no training state.
        try model.save(to: path)
        #expect { try Trainer(resumingFrom: path, training: .stream(ids)) } throws: { "\($0)".contains("without training state") }
        // Other data.
        let trainer = try Trainer(model: model, training: .stream(ids), configuration: TrainerConfiguration(batchSize: 2, sequenceLength: 8))
        try trainer.train(steps: 2)
        try trainer.saveCheckpoint(to: path)
        #expect { try Trainer(resumingFrom: path, training: .stream(Array(ids.dropLast()))) } throws: {
            "\($0)".contains("was trained on stream data of \(ids.count) tokens")
        }
        // Other settings.
        #expect { try Trainer(resumingFrom: path, training: .stream(ids), configuration: TrainerConfiguration(batchSize: 3, sequenceLength: 8)) } throws: {
            "\($0)".contains("batch size 2") && "\($0)".contains("batch size 3")
        }
        // Another checkpoint version.
        var file = try SafeTensorsFile(contentsOf: path)
        var writer = SafeTensorsWriter(metadata: file.metadata!.merging(["training.format_version": "9"]) { _, new in new })
        for name in file.tensorNames {
            try writer.add(name: name, shape: file.tensor(named: name)!.shape, values: try file.values(of: name, as: Float.self))
        }
        try writer.writeAtomically(to: path)
        #expect { try Trainer(resumingFrom: path, training: .stream(ids)) } throws: { "\($0)".contains("version 9") }
        // A checkpoint is also a model file: the model loads from it.
        file = try SafeTensorsFile(contentsOf: path)
        #expect(file.tensorNames.contains("optimizer.0.exp_avg"))
        #expect(try SequenceModel(contentsOf: path).configuration == model.configuration)
    }
}
