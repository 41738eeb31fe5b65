// SequenceModel and Seq2SeqModel: gradients against central differences, streaming against the
// batch forward, initialisation options, files and the PyTorch stack names.

import Foundation
import Testing
@testable import RNNKit

/// Central-difference check of `loss` against the gradients the model accumulated, at a spread of
/// parameters of every group. Float, so steps of 1e-2 and a tolerance of a few 1e-3.
func expectGradientsMatchDifferences(groups: [any ParameterContainer<Float>], loss: () throws -> Double,
                                     label: String, step h: Float = 1e-2) throws {
    for (g, group) in groups.enumerated() {
        let count = group.parameters.count
        for index in Swift.stride(from: g % 3, to: count, by: max(1, count / 7)) {
            let analytic = Double(group.gradients[index])
            let saved = group.parameters[index]
            group.parameters[index] = saved + h
            let plus = try loss()
            group.parameters[index] = saved - h
            let minus = try loss()
            group.parameters[index] = saved
            let numeric = (plus - minus) / Double(2 * h)
            let error = abs(numeric - analytic) / max(1, abs(numeric) + abs(analytic))
            #expect(error < 5e-3, "\(label): group \(g) index \(index): analytic \(analytic), numeric \(numeric)")
        }
    }
}

@Suite struct ModelTests {
    @Test func tokenModelGradientsMatchDifferences() throws {
        for (cell, peepholes) in [(CellKind.lstm, false), (.lstm, true), (.gru, false), (.gruResetBefore, false)] {
            var configuration = SequenceModelConfiguration.tokens(vocabularySize: 5, embeddingSize: 3, cell: cell, hiddenSize: 4,
                                                                  numLayers: 2, seed: 1)
            configuration.peepholes = peepholes
            let model = try SequenceModel(configuration)
            let ids = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]   // [T = 4, B = 3]
            let targets = [1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2]
            let initial = RecurrentState<Float>(batch: 3, hidden: (0..<24).map { Float($0) / 30 - 0.4 },
                                             cell: cell == .lstm ? (0..<24).map { 0.3 - Float($0) / 40 } : nil)
            func loss(gradient: Bool) throws -> Double {
                let out = try model.forward(.tokens(ids), steps: 4, batch: 3, lengths: [4, 2, 3], initialState: initial)
                let r = try sequenceSoftmaxCrossEntropy(logits: out.outputs, targets: targets, steps: 4, batch: 3, classCount: 5,
                                                         lengths: [4, 2, 3], computeGradient: gradient)
                if gradient { try model.backward(outputGradient: r.logitsGradient) }
                return r.loss
            }
            model.zeroGradients()
            _ = try loss(gradient: true)
            try expectGradientsMatchDifferences(groups: model.parameterGroups, loss: { try loss(gradient: false) },
                                                label: "\(cell)\(peepholes ? " with peepholes" : "")")
        }
    }

    /// The first layer's input projections looked up by token (``TokenProjection``) against the
    /// reference path that embeds the ids and projects the vectors: the same outputs, states and
    /// gradients of every group, in Float, for each cell, two layers, both directions, lengths,
    /// a carried state, at one and two threads.
    @Test(arguments: [CellKind.lstm, .gru, .gruResetBefore, .rnnTanh])
    func tokenLookupMatchesEmbeddedVectors(cell: CellKind) throws {
        for bidirectional in [false, true] {
            for threads in [1, 2] {
                try withThreads(threads) {
                    let T = 6, B = 5, V = 7, H = 20, D = bidirectional ? 2 : 1
                    let configuration = SequenceModelConfiguration.tokens(
                        vocabularySize: V, embeddingSize: 5, cell: cell, hiddenSize: H, numLayers: 2,
                        bidirectional: bidirectional, seed: 4)
                    let reference = try SequenceModel(configuration), lookup = try SequenceModel(configuration)
                    reference.tokenInputPath = .vectors
                    lookup.tokenInputPath = .projectionLookup
                    #expect(lookup.looksUpInputProjections(steps: T, batch: B))
                    let ids = (0..<T * B).map { ($0 * 5 + 3) % V }                              // [T, B]
                    let targets = ids.map { ($0 + 1) % V }
                    let lengths = [6, 2, 5, 1, 4]
                    let stateCount = 2 * D * B * H
                    let initial = bidirectional ? nil : RecurrentState<Float>(
                        batch: B, hidden: (0..<stateCount).map { Float(sin(Double($0))) / 2 },
                        cell: cell == .lstm ? (0..<stateCount).map { Float(cos(Double($0))) / 2 } : nil)
                    var results: [(outputs: [Float], hidden: [Float])] = []
                    for model in [reference, lookup] {
                        model.zeroGradients()
                        let out = try model.forward(.tokens(ids), steps: T, batch: B, lengths: lengths, initialState: initial)
                        let loss = try sequenceSoftmaxCrossEntropy(logits: out.outputs, targets: targets, steps: T, batch: B,
                                                                   classCount: V, lengths: lengths, computeGradient: true)
                        try model.backward(outputGradient: loss.logitsGradient)
                        results.append((out.outputs, out.finalState.hidden))
                    }
                    let label = "\(cell) D=\(D) threads \(threads)"
                    expectClose(results[1].outputs, results[0].outputs, tolerance: 1e-5, "\(label): outputs")
                    expectClose(results[1].hidden, results[0].hidden, tolerance: 1e-5, "\(label): h_n")
                    for (group, (a, b)) in zip(lookup.parameterGroups, reference.parameterGroups).enumerated() {
                        expectClose(a.gradients, b.gradients, tolerance: 1e-5, "\(label): gradients of group \(group)")
                    }
                }
            }
        }
    }

    /// Inference reads the same lookup; a forward after a lookup forward still differentiates
    /// through the path it took, and the network refuses the other backward.
    @Test func tokenLookupInInferenceAndTheWrongBackward() throws {
        let configuration = SequenceModelConfiguration.tokens(vocabularySize: 4, embeddingSize: 3, hiddenSize: 8, seed: 2)
        let model = try SequenceModel(configuration), reference = try SequenceModel(configuration)
        reference.tokenInputPath = .vectors
        model.isTraining = false
        reference.isTraining = false
        let ids = [0, 1, 2, 3, 3, 2, 1, 0]                                               // [T = 4, B = 2]
        #expect(model.looksUpInputProjections(steps: 4, batch: 2))
        expectClose(try model.forward(.tokens(ids), steps: 4, batch: 2).outputs,
                    try reference.forward(.tokens(ids), steps: 4, batch: 2).outputs, tolerance: 1e-6, "inference outputs")
        // A vocabulary larger than half the positions takes the vectors.
        #expect(!model.looksUpInputProjections(steps: 1, batch: 7))
        model.isTraining = true
        _ = try model.network.forward(tokens: ids, embedding: model.embedding!.parameters, steps: 4, batch: 2)
        #expect(throws: RNNKitError.self) {
            try model.network.backward(outputGradient: [Float](repeating: 0, count: 4 * 2 * 8))
        }
    }

    @Test func lastStepFeatureModelGradientsMatchDifferences() throws {
        let model = try SequenceModel(.features(featureSize: 2, cell: .lstm, hiddenSize: 5, numLayers: 2, head: .lastStep, outputSize: 2, seed: 2))
        let x = (0..<(5 * 2 * 2)).map { Float(sin(Double($0))) }   // [T = 5, B = 2, I = 2]
        let y: [Float] = [0.5, -0.25, 1, 0.1]
        func loss(gradient: Bool) throws -> Double {
            let out = try model.forward(.features(x), steps: 5, batch: 2, lengths: [5, 3])
            let r = try meanSquaredError(predictions: out.outputs, targets: y, computeGradient: gradient)
            if gradient { try model.backward(outputGradient: r.predictionsGradient) }
            return r.loss
        }
        model.zeroGradients()
        _ = try loss(gradient: true)
        try expectGradientsMatchDifferences(groups: model.parameterGroups, loss: { try loss(gradient: false) }, label: "last step")
    }

    @Test func seq2seqGradientsReachTheEncoder() throws {
        let model = try Seq2SeqModel(Seq2SeqConfiguration(sourceVocabularySize: 4, targetVocabularySize: 5, embeddingSize: 3,
                                                          hiddenSize: 4, numLayers: 2, beginToken: 3, endToken: 4, seed: 3))
        let sources = [[0, 1, 2], [2, 1], [1, 1, 1]], targets = [[0, 1], [2], [1, 0, 2]]
        model.zeroGradients()
        _ = try model.teacherForcedLoss(sources: sources, targets: targets)
        #expect(model.encoder.network.gradients.contains { $0 != 0 })
        try expectGradientsMatchDifferences(groups: model.parameterGroups, loss: {
            try model.teacherForcedLoss(sources: sources, targets: targets, computeGradient: false).loss
        }, label: "seq2seq")
    }

    @Test func streamingStepsEqualTheBatchForward() throws {
        let model = try SequenceModel(.tokens(vocabularySize: 6, embeddingSize: 4, cell: .lstm, hiddenSize: 5, numLayers: 2, dropout: 0.3, seed: 4))
        model.isTraining = false
        let ids = [1, 4, 2, 5, 0]
        let whole = try model.forward(.tokens(ids), steps: 5, batch: 1).outputs   // [5, 1, 6]
        var state = try model.makeState()
        var stepped: [Float] = []
        for id in ids { stepped += try model.step(tokens: [id], state: &state) }
        #expect(zip(whole, stepped).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test func dropoutIsSeededAndOffInInference() throws {
        let configuration = SequenceModelConfiguration.tokens(vocabularySize: 6, embeddingSize: 4, hiddenSize: 8, numLayers: 2, dropout: 0.5, seed: 5)
        let a = try SequenceModel(configuration), b = try SequenceModel(configuration)
        let ids = [1, 2, 3, 4]
        let outA = try a.forward(.tokens(ids), steps: 4, batch: 1).outputs
        #expect(outA == (try b.forward(.tokens(ids), steps: 4, batch: 1).outputs))
        #expect(outA != (try a.forward(.tokens(ids), steps: 4, batch: 1).outputs))   // a new mask
        a.isTraining = false
        #expect((try a.forward(.tokens(ids), steps: 4, batch: 1).outputs) == (try a.forward(.tokens(ids), steps: 4, batch: 1).outputs))
    }

    @Test func orthogonalGlorotAndForgetBiasInitialisation() throws {
        let H = 6, I = 3
        let model = try SequenceModel(.features(featureSize: I, cell: .lstm, hiddenSize: H, head: .lastStep, outputSize: 1,
                                                initialization: .recommended, seed: 6))
        let layer = model.network
        let whh = try layer.parameter(named: "weight_hh_l0")   // [4H, H]
        for gate in 0..<4 {
            for i in 0..<H {
                for j in 0..<H {
                    var dot: Float = 0
                    for k in 0..<H { dot += whh[gate * H * H + i * H + k] * whh[gate * H * H + j * H + k] }
                    #expect(abs(dot - (i == j ? 1 : 0)) < 1e-5)
                }
            }
        }
        let bound = Float((6.0 / Double(I + H)).squareRoot())
        let wih = try layer.parameter(named: "weight_ih_l0")
        #expect(wih.allSatisfy { abs($0) <= bound } && wih.contains { abs($0) > 1 / Float(H).squareRoot() })
        let bih = try layer.parameter(named: "bias_ih_l0"), bhh = try layer.parameter(named: "bias_hh_l0")
        #expect(bih[H..<2 * H].allSatisfy { $0 == 1 } && bhh[H..<2 * H].allSatisfy { $0 == 0 })
        #expect(bih[0..<H].allSatisfy { $0 != 1 })
        // The same seed draws the same orthogonal matrices.
        let again = try SequenceModel(model.configuration)
        #expect(again.network.parameters == layer.parameters)
    }

    @Test func characterVocabularyRoundTrips() throws {
        let vocabulary = try CharacterVocabulary(text: "héllo, wörld\n")
        let ids = try vocabulary.encode("wöld")
        #expect(try vocabulary.decode(ids) == "wöld")
        #expect(try CharacterVocabulary(metadataValue: vocabulary.metadataValue) == vocabulary)
        #expect(throws: RNNKitError.self) { try vocabulary.encode("z") }
        #expect(throws: RNNKitError.self) { try CharacterVocabulary(metadataValue: "97,97") }
    }

    @Test func modelFilesRoundTripWithPyTorchStackNames() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rnnkit-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try SequenceModel(.tokens(vocabularySize: 4, embeddingSize: 3, cell: .gru, hiddenSize: 5, numLayers: 3, seed: 7))
        model.vocabulary = try CharacterVocabulary(text: "abcd")
        let path = directory.appendingPathComponent("m.safetensors").path
        try model.save(to: path)
        let file = try SafeTensorsFile(contentsOf: path)
        #expect(file.tensorNames.contains("rnn.weight_hh_l2") && file.tensorNames.contains("embedding.weight")
                && file.tensorNames.contains("head.bias"))
        #expect(file.tensor(named: "rnn.weight_ih_l1")?.shape == [15, 5])
        guard case .sequence(let loaded) = try loadModel(from: path) else { Issue.record("expected a sequence model"); return }
        #expect(loaded.configuration == model.configuration)
        #expect(loaded.vocabulary == model.vocabulary)
        #expect(zip(loaded.parameterGroups, model.parameterGroups).allSatisfy { $0.parameters == $1.parameters })
        // Another architecture is refused with a message naming the problem.
        var other = model.configuration
        other.hiddenSize = 6
        var writer = try SequenceModel(other).safeTensorsWriter()
        writer.metadata = model.fileMetadata
        try writer.writeAtomically(to: path)
        #expect { try SequenceModel(contentsOf: path) } throws: { error in
            (error as? RNNKitError)?.kind == .invalidFile && "\(error)".contains("expected rnn.weight_ih_l0 with shape [15, 3]")
        }
        // Another format version is refused.
        var future = try model.safeTensorsWriter()
        future.metadata[ModelFileKey.formatVersion] = "2"
        try future.writeAtomically(to: path)
        #expect { try SequenceModel(contentsOf: path) } throws: { "\($0)".contains("format version 2") }
    }

    @Test func cellVariantsRoundTripThroughModelFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rnnkit-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("m.safetensors").path
        var tagger = SequenceModelConfiguration.features(featureSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true,
                                                         head: .everyStep, outputSize: 2, seed: 3)
        tagger.peepholes = true
        let model = try SequenceModel(tagger)
        try model.save(to: path)
        let file = try SafeTensorsFile(contentsOf: path)
        #expect(file.tensor(named: "rnn.weight_peephole_l1_reverse")?.shape == [12])
        #expect(file.metadata?["model.peepholes"] == "true")
        guard case .sequence(let loaded) = try loadModel(from: path) else { Issue.record("expected a sequence model"); return }
        #expect(loaded.configuration == model.configuration)
        #expect(zip(loaded.parameterGroups, model.parameterGroups).allSatisfy { $0.parameters == $1.parameters })

        var translator = Seq2SeqConfiguration(sourceVocabularySize: 5, targetVocabularySize: 6, embeddingSize: 3, hiddenSize: 4,
                                              beginToken: 0, endToken: 1, bidirectionalEncoder: true, attention: .additive)
        translator.peepholes = true
        let seq2seq = try Seq2SeqModel(translator)
        try seq2seq.save(to: path)
        #expect(try SafeTensorsFile(contentsOf: path).tensor(named: "decoder.rnn.weight_peephole_l0")?.shape == [12])
        guard case .seq2seq(let loadedSeq2seq) = try loadModel(from: path) else { Issue.record("expected a seq2seq model"); return }
        #expect(loadedSeq2seq.configuration == seq2seq.configuration)

        let resetBefore = try SequenceModel(.tokens(vocabularySize: 4, embeddingSize: 3, cell: .gruResetBefore, hiddenSize: 5, seed: 2))
        try resetBefore.save(to: path)
        #expect(try SafeTensorsFile(contentsOf: path).metadata?["model.cell"] == "gru_reset_before")
        guard case .sequence(let loadedGRU) = try loadModel(from: path) else { Issue.record("expected a sequence model"); return }
        #expect(loadedGRU.configuration.cell == .gruResetBefore)

        var regularised = tagger
        regularised.recurrentDropout = 0.3
        (regularised.zoneoutHidden, regularised.zoneoutCell) = (0.1, 0.2)
        let dropoutModel = try SequenceModel(regularised)
        try dropoutModel.save(to: path)
        #expect(try SafeTensorsFile(contentsOf: path).metadata?["model.recurrent_dropout"] == "0.3")
        guard case .sequence(let loadedDropout) = try loadModel(from: path) else { Issue.record("expected a sequence model"); return }
        #expect(loadedDropout.configuration == dropoutModel.configuration && loadedDropout.configuration.zoneoutCell == 0.2)
        #expect(loadedDropout.dropoutGeneratorStates.count == dropoutModel.dropoutGeneratorStates.count)

        var fed = translator
        fed.inputFeeding = true
        fed.recurrentDropout = 0.1
        #expect { try Seq2SeqModel(fed) } throws: { "\($0)".contains("expected recurrent dropout 0 with input feeding") }

        var gruWithPeepholes = tagger
        gruWithPeepholes.cell = .gru
        #expect { try SequenceModel(gruWithPeepholes) } throws: { "\($0)".contains("peepholes are an LSTM option") }
    }

    @Test func seq2seqGreedyDecodingStopsAtTheEndToken() throws {
        let model = try Seq2SeqModel(Seq2SeqConfiguration(sourceVocabularySize: 3, targetVocabularySize: 4, embeddingSize: 2,
                                                          hiddenSize: 3, beginToken: 2, endToken: 3, seed: 8))
        // Make the end token overwhelmingly likely: a huge head bias on it.
        model.decoder.head!.parameters[model.decoder.head!.parameters.count - 1] = 100
        #expect(try model.greedyDecode(sources: [[0, 1], [2]], maximumLength: 5) == [[], []])
    }
}
