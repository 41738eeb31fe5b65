// The two small models under Tests/CAPI/fixtures that the C test program (Tests/CAPI/test_rnnkit.c)
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

enum FeatureFixtureExpectation {
    static let secondStep: [Float] = [0.5201532, -0.4467219, 0.5244943]
}
