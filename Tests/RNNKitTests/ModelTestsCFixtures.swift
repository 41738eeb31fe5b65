// The small models under Tests/CAPI/fixtures that the C test program (Tests/CAPI/test_rnnkit.c)
// loads with rnnkit_model_load. Run with RNNKIT_WRITE_C_FIXTURES=1 to write them again; this test
// checks the committed files behave as test_rnnkit.c expects (the same numbers are written there).

import Foundation
import Testing
import RNNKit

@Suite struct ModelTestsCFixtures {
    static let directory = repositoryRoot.appendingPathComponent("Tests/CAPI/fixtures")
    static let text = "hello world "

    /// A character LSTM trained to continue "hello world hello world …".
    static func writeCharacterModel(to path: String) throws {
        let vocabulary = try CharacterVocabulary(text: text)
        let ids = try vocabulary.encode(String(repeating: text, count: 40))
        let model = try SequenceModel(.tokens(vocabularySize: vocabulary.count, embeddingSize: 4, cell: .lstm, hiddenSize: 12,
                                              initialization: .recommended, seed: 1))
        model.vocabulary = vocabulary
        let trainer = try Trainer(model: model, training: .stream(ids), configuration: TrainerConfiguration(
            batchSize: 4, sequenceLength: 12, optimizer: OptimizerConfiguration(learningRate: 3e-2), seed: 2))
        try trainer.train(steps: 150)
        try model.save(to: path)
    }

    /// An untrained GRU reading 2 features with an every-step head of 3 outputs.
    static func writeFeatureModel(to path: String) throws {
        try SequenceModel(.features(featureSize: 2, cell: .gru, hiddenSize: 4, numLayers: 2, head: .everyStep, outputSize: 3, seed: 3))
            .save(to: path)
    }

    @Test func fixturesBehaveAsTheCTestExpects() throws {
        let characterPath = Self.directory.appendingPathComponent("char-model.safetensors").path
        let featurePath = Self.directory.appendingPathComponent("feature-model.safetensors").path
        if ProcessInfo.processInfo.environment["RNNKIT_WRITE_C_FIXTURES"] != nil {
            try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
            try Self.writeCharacterModel(to: characterPath)
            try Self.writeFeatureModel(to: featurePath)
        }
        let characterModel = try SequenceModel(contentsOf: characterPath)
        #expect(try characterModel.sampleText(prime: "hel", length: 16, temperature: 0, seed: 0) == "lo world hello w")
        let featureModel = try SequenceModel(contentsOf: featurePath)
        featureModel.isTraining = false
        var state = try featureModel.makeState()
        _ = try featureModel.step(features: [0.5, -1], state: &state)
        let second = try featureModel.step(features: [0.25, 2], state: &state)
        print("feature fixture, second step outputs:", second.map { String(format: "%.7ff", $0) }.joined(separator: ", "))
        // Pinned in test_rnnkit.c as well.
        let expected: [Float] = FeatureFixtureExpectation.secondStep
        #expect(zip(second, expected).allSatisfy { abs($0 - $1) < 1e-5 })
    }
}

/// The pattern models of the C test: a bidirectional sequence classifier, a bidirectional tagger
/// and a class-conditioned generator.
@Suite struct PatternModelCFixtures {
    static let directory = ModelTestsCFixtures.directory

    /// Untrained: token ids (V = 6) → 2 bidirectional GRU layers of 4 → max pooling → 3 classes.
    static func writeClassifier(to path: String) throws {
        try SequenceModel(.tokens(vocabularySize: 6, embeddingSize: 3, cell: .gru, hiddenSize: 4, numLayers: 2, bidirectional: true,
                                  head: .maxPool, outputSize: 3, seed: 5)).save(to: path)
    }

    /// Untrained: 2 features → a bidirectional LSTM of 3 → 2 outputs per step.
    static func writeTagger(to path: String) throws {
        try SequenceModel(.features(featureSize: 2, cell: .lstm, hiddenSize: 3, bidirectional: true, head: .everyStep,
                                    outputSize: 2, seed: 6)).save(to: path)
    }

    /// Trained: from token 0, class 0 writes 1 2 3 4 and class 1 writes 4 3 2 1.
    static func writeConditionedGenerator(to path: String) throws {
        let patterns = [[1, 2, 3, 4], [4, 3, 2, 1]]
        let examples = (0..<8).map { i in
            SequenceExample.tokens([0] + patterns[i % 2].dropLast(), targetClasses: patterns[i % 2], condition: .classes([i % 2]))
        }
        let model = try SequenceModel(.tokens(vocabularySize: 5, embeddingSize: 3, hiddenSize: 8, seed: 7, conditioning: .classes(count: 2)))
        let trainer = try Trainer(model: model, training: .sequences(examples), configuration: TrainerConfiguration(
            batchSize: 8, optimizer: OptimizerConfiguration(learningRate: 3e-2), seed: 8))
        try trainer.train(steps: 150)
        try model.save(to: path)
    }

    /// Trained: reverses sequences of 2–4 symbols from 1–4 (0 unused, 5 begin, 6 end), with a
    /// bidirectional encoder and general attention.
    static func writeReverser(to path: String) throws {
        var generator = SeededGenerator(seed: 9)
        let pairs = (0..<256).map { _ -> Seq2SeqExample in
            let source = (0..<(2 + generator.nextIndex(below: 3))).map { _ in 1 + generator.nextIndex(below: 4) }
            return Seq2SeqExample(source: source, target: source.reversed())
        }
        let model = try Seq2SeqModel(Seq2SeqConfiguration(
            sourceVocabularySize: 5, targetVocabularySize: 7, embeddingSize: 4, hiddenSize: 16, beginToken: 5, endToken: 6,
            seed: 10, bidirectionalEncoder: true, attention: .general))
        let trainer = try Trainer(model: model, training: .pairs(pairs), configuration: TrainerConfiguration(
            batchSize: 32, optimizer: OptimizerConfiguration(learningRate: 2e-2), seed: 11))
        try trainer.train(steps: 300)
        try model.save(to: path)
    }

    @Test func patternFixturesBehaveAsTheCTestExpects() throws {
        let classifierPath = Self.directory.appendingPathComponent("classifier-model.safetensors").path
        let taggerPath = Self.directory.appendingPathComponent("tagger-model.safetensors").path
        let generatorPath = Self.directory.appendingPathComponent("conditioned-model.safetensors").path
        let reverserPath = Self.directory.appendingPathComponent("reverser-model.safetensors").path
        if ProcessInfo.processInfo.environment["RNNKIT_WRITE_C_FIXTURES"] != nil {
            try Self.writeReverser(to: reverserPath)
            try Self.writeClassifier(to: classifierPath)
            try Self.writeTagger(to: taggerPath)
            try Self.writeConditionedGenerator(to: generatorPath)
        }
        let classifier = try SequenceModel(contentsOf: classifierPath)
        classifier.isTraining = false
        let logits = try classifier.forward(.tokens([1, 2, 3, 4]), steps: 4, batch: 1).outputs
        let largest = logits.max()!, exponentials = logits.map { exp($0 - largest) }
        let probabilities = exponentials.map { $0 / exponentials.reduce(0, +) }
        let tagger = try SequenceModel(contentsOf: taggerPath)
        tagger.isTraining = false
        let tags = try tagger.forward(.features([0.5, -1, 0.25, 2, -0.75, 0.1]), steps: 3, batch: 1).outputs
        print("classifier probabilities:", probabilities.map { String(format: "%.7ff", $0) }.joined(separator: ", "))
        print("tagger outputs:", tags.map { String(format: "%.7ff", $0) }.joined(separator: ", "))
        // Pinned in test_rnnkit.c as well.
        #expect(zip(probabilities, PatternFixtureExpectation.classifierProbabilities).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(zip(tags, PatternFixtureExpectation.taggerOutputs).allSatisfy { abs($0 - $1) < 1e-5 })
        let generator = try SequenceModel(contentsOf: generatorPath)
        #expect(try generator.sample(prime: [0], length: 4, temperature: 0, condition: .classes([0])) == [1, 2, 3, 4])
        #expect(try generator.sample(prime: [0], length: 4, temperature: 0, condition: .classes([1])) == [4, 3, 2, 1])
        let reverser = try Seq2SeqModel(contentsOf: reverserPath)
        for beam in [1, 3] {
            let decoded = try reverser.decode(sources: [[1, 2, 3, 4], [3, 1, 2]], maximumLength: 8, beamWidth: beam)
            #expect(decoded.map(\.tokens) == [[4, 3, 2, 1], [2, 1, 3]])
            // Writing the k-th id, the attention looks at source position 3 − k (checked in test_rnnkit.c too).
            #expect(decoded[0].attention.enumerated().allSatisfy { k, row in row.indices.max { row[$0] < row[$1] } == 3 - k })
        }
    }
}

enum PatternFixtureExpectation {
    static let classifierProbabilities: [Float] = [0.4318937, 0.2064907, 0.3616155]
    static let taggerOutputs: [Float] = [-0.1724946, 0.2249670, -0.2928675, 0.1660265, -0.2007789, 0.2375712]
}

enum FeatureFixtureExpectation {
    static let secondStep: [Float] = [0.5201532, -0.4467219, 0.5244943]
}
