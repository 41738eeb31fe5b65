// The attention encoder–decoder: Attention against PyTorch autograd and against finite differences
// in Double, the state bridge likewise, the whole model's gradients, files, checkpoints, decoding,
// and a learning task (sequence reversal) that fails without attention.
//
// The PyTorch fixtures under Fixtures/attention are written by scripts/make-attention-fixtures.py:
//   /work/main/.perf-venv/bin/python scripts/make-attention-fixtures.py
// (float64 with autograd). Double must match them to 1e-12, Float to 2e-5, times max(1, max |torch|).

import Foundation
import Testing
@testable import RNNKit

/// The attention fixture files, by name (`dot.txt`, `general.txt`, `additive.txt`).
private let attentionFixtureNames = FixtureFile.fileNames(in: "attention")

@Suite struct AttentionTests {
    // MARK: Attention against PyTorch

    @Test func theFixturesArePresent() {
        #expect(attentionFixtureNames == ["additive.txt", "dot.txt", "general.txt"], "found \(attentionFixtureNames)")
    }

    /// Forward and every gradient of one fixture, in `Scalar`.
    func checkFixture<Scalar: RNNScalar>(_ fileName: String, as _: Scalar.Type, tolerance: Double) throws {
        let fixture = try FixtureFile(subfolder: "attention", fileName: fileName)
        let score = try #require(AttentionScore(rawValue: fixture.config["score"] ?? ""))
        let (H, K, A) = (try fixture.configInteger("query"), try fixture.configInteger("key"), try fixture.configInteger("attention"))
        let (T, S, B) = (try fixture.configInteger("steps"), try fixture.configInteger("source"), try fixture.configInteger("batch"))
        let attention = try Attention<Scalar>(score: score, querySize: H, keySize: K, attentionSize: A == 0 ? nil : A)
        for entry in attention.parameterEntries {
            let values: [Scalar] = try fixture.tensor(entry.name)
            #expect(values.count == entry.count, "\(fileName): \(entry.name) has \(values.count) values, expected \(entry.count)")
            attention.parameters.replaceSubrange(entry.offset..<entry.offset + entry.count, with: values)
        }
        let queries: [Scalar] = try fixture.tensor("queries")
        let keys = try attention.keys(try fixture.tensor("values"), steps: S, batch: B, lengths: try #require(try fixture.integers("lengths")))
        let output = try attention.forward(queries: queries, steps: T, keys: keys)
        let label = "\(fileName) \(Scalar.dtypeName)"
        checkTensor("\(label) context", actual: output.context, expected: try fixture.tensor("context"), relativeTolerance: tolerance)
        checkTensor("\(label) weights", actual: output.weights, expected: try fixture.tensor("weights"), relativeTolerance: tolerance)
        let gradients = try attention.backward(contextGradient: try fixture.tensor("dcontext"), queries: queries, keys: keys, output: output)
        checkTensor("\(label) ∂queries", actual: gradients.queries, expected: try fixture.tensor("grad.queries"), relativeTolerance: tolerance)
        checkTensor("\(label) ∂values", actual: gradients.encoderOutputs, expected: try fixture.tensor("grad.values"), relativeTolerance: tolerance)
        for entry in attention.parameterEntries {
            checkTensor("\(label) ∂\(entry.name)", actual: Array(attention.gradients[entry.offset..<entry.offset + entry.count]),
                        expected: try fixture.tensor("grad." + entry.name), relativeTolerance: tolerance)
        }
    }

    @Test(arguments: attentionFixtureNames)
    func attentionMatchesPyTorch(_ fileName: String) throws {
        try checkFixture(fileName, as: Double.self, tolerance: 1e-12)
        try checkFixture(fileName, as: Float.self, tolerance: 2e-5)
    }

    // MARK: Finite differences in Double

    /// `L = Σ c ⊙ dC` for fixed random `dC`, over ragged lengths (1 and S among them); every
    /// derivative (queries, every encoder output including the masked ones, every parameter)
    /// against the fourth-order central difference.
    @Test(arguments: [AttentionScore.dot, .general, .additive])
    func attentionGradientsMatchFiniteDifferences(_ score: AttentionScore) throws {
        let (T, S, B, H, A) = (3, 5, 4, 3, 4)
        let K = score == .dot ? H : 2 * H
        let lengths = [2, 5, 1, 4]
        let attention = try Attention<Double>(score: score, querySize: H, keySize: K, attentionSize: A, seed: 31)
        attention.parameters = randomValues(attention.parameters.count, seed: 32, scale: 0.9)
        var queries: [Double] = randomValues(T * B * H, seed: 33, scale: 1.5)
        var values: [Double] = randomValues(S * B * K, seed: 34)
        let dContext: [Double] = randomValues(T * B * K, seed: 35)
        func loss() throws -> Double {
            let keys = try attention.keys(values, steps: S, batch: B, lengths: lengths)
            let output = try attention.forward(queries: queries, steps: T, keys: keys)
            return zip(output.context, dContext).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let keys = try attention.keys(values, steps: S, batch: B, lengths: lengths)
        let output = try attention.forward(queries: queries, steps: T, keys: keys)
        // Masked positions get weight exactly 0.
        for t in 0..<T { for b in 0..<B { for j in lengths[b]..<S { #expect(output.weights[(t * B + b) * S + j] == 0) } } }
        attention.zeroGradients()
        let analytic = try attention.backward(contextGradient: dContext, queries: queries, keys: keys, output: output)
        let parameterGradients = attention.gradients

        var worst = WorstError()
        for i in queries.indices {
            worst.record(analytic.queries[i], try centralDifference(at: queries[i], { queries[i] = $0 }, loss), "queries[\(i)]")
        }
        for i in values.indices {
            worst.record(analytic.encoderOutputs[i], try centralDifference(at: values[i], { values[i] = $0 }, loss), "values[\(i)]")
        }
        for entry in attention.parameterEntries {
            for k in 0..<entry.count {
                let i = entry.offset + k
                worst.record(parameterGradients[i],
                             try centralDifference(at: attention.parameters[i], { attention.parameters[i] = $0 }, loss), "\(entry.name)[\(k)]")
            }
        }
        #expect(worst.error <= 1e-6, "\(score): worst relative error \(worst.error) at \(worst.label)")
        // A masked position's value reaches nothing.
        #expect(analytic.encoderOutputs[((S - 1) * B + 0) * K] == 0)
    }

    /// `L = Σ h0 ⊙ dh0 (+ Σ c0 ⊙ dc0)` through the bridge of a 2-layer encoder, with and without a cell state.
    @Test(arguments: [true, false])
    func bridgeGradientsMatchFiniteDifferences(mapsCell: Bool) throws {
        let (L, B, H) = (2, 3, 4)
        let bridge = try StateBridge<Double>(layers: L, hiddenSize: H, cellSize: mapsCell ? H : 0, seed: 41)
        var input = RecurrentState<Double>(batch: B, hidden: randomValues(2 * L * B * H, seed: 42),
                                           cell: mapsCell ? randomValues(2 * L * B * H, seed: 43) : nil)
        let dOutput = RecurrentState<Double>(batch: B, hidden: randomValues(L * B * H, seed: 44),
                                             cell: mapsCell ? randomValues(L * B * H, seed: 45) : nil)
        func loss() throws -> Double {
            let output = try bridge.forward(input)
            var total = zip(output.hidden, dOutput.hidden).reduce(0) { $0 + $1.0 * $1.1 }
            if let cell = output.cell, let dCell = dOutput.cell { total += zip(cell, dCell).reduce(0) { $0 + $1.0 * $1.1 } }
            return total
        }
        let analytic = try bridge.backward(outputGradient: dOutput, input: input)
        #expect((analytic.cell == nil) == !mapsCell)
        var worst = WorstError()
        for i in input.hidden.indices {
            worst.record(analytic.hidden[i], try centralDifference(at: input.hidden[i], { input.hidden[i] = $0 }, loss), "hidden[\(i)]")
        }
        if let cell = input.cell {
            for i in cell.indices {
                worst.record(analytic.cell![i], try centralDifference(at: cell[i], { input.cell![i] = $0 }, loss), "cell[\(i)]")
            }
        }
        for (name, map) in bridge.namedMaps {
            let gradients = map.gradients
            for i in map.parameters.indices {
                worst.record(gradients[i], try centralDifference(at: map.parameters[i], { map.parameters[i] = $0 }, loss), "\(name)[\(i)]")
            }
        }
        #expect(worst.error <= 1e-6, "worst relative error \(worst.error) at \(worst.label)")
    }

    // MARK: The whole model

    /// Float central differences over every group of the model, bridge and attention included.
    @Test(arguments: [(CellKind.lstm, true, AttentionScore.general, 1), (.gru, false, .dot, 2), (.lstm, true, .additive, 2),
                      (.lstm, true, AttentionScore.none, 2)])
    func seq2seqGradientsMatchDifferences(cell: CellKind, bidirectional: Bool, attention: AttentionScore, layers: Int) throws {
        let model = try Seq2SeqModel(Seq2SeqConfiguration(
            sourceVocabularySize: 5, targetVocabularySize: 6, embeddingSize: 3, cell: cell, hiddenSize: 4, numLayers: layers,
            beginToken: 4, endToken: 5, seed: 51, bidirectionalEncoder: bidirectional, attention: attention, attentionSize: 3))
        let sources = [[0, 1, 2, 3], [2, 1], [1, 4, 1]], targets = [[0, 1], [2, 3, 1], []]
        model.zeroGradients()
        _ = try model.teacherForcedLoss(sources: sources, targets: targets)
        #expect(model.encoder.network.gradients.contains { $0 != 0 })
        if let bridge = model.bridge { #expect(bridge.hiddenMaps[0].gradients.contains { $0 != 0 }) }
        try expectGradientsMatchDifferences(groups: model.parameterGroups, loss: {
            try model.teacherForcedLoss(sources: sources, targets: targets, computeGradient: false).loss
        }, label: "\(cell) \(bidirectional ? "bi" : "uni") \(attention)")
    }

    /// Input feeding, with dropout in both stacks: the masks are fixed by resetting the dropout
    /// streams before every loss, so the differences see the masks the backward's re-run steps must
    /// reproduce.
    @Test(arguments: [(CellKind.lstm, true, AttentionScore.additive, 2), (.gru, false, .dot, 1), (.lstm, false, .general, 1)])
    func inputFedGradientsMatchDifferences(cell: CellKind, bidirectional: Bool, attention: AttentionScore, layers: Int) throws {
        let model = try Seq2SeqModel(Seq2SeqConfiguration(
            sourceVocabularySize: 5, targetVocabularySize: 6, embeddingSize: 3, cell: cell, hiddenSize: 4, numLayers: layers,
            dropout: 0.3, beginToken: 4, endToken: 5, seed: 53, bidirectionalEncoder: bidirectional, attention: attention,
            attentionSize: 3, inputFeeding: true))
        #expect(model.decoder.network.configuration.inputSize == 3 + (bidirectional ? 8 : 4))
        let sources = [[0, 1, 2, 3], [2, 1], [1, 4, 1]], targets = [[0, 1, 3], [2, 3, 1, 0], []]
        let streams = (model.encoder.dropoutGeneratorStates, model.decoder.dropoutGeneratorStates)
        func loss(computeGradient: Bool) throws -> Double {
            model.encoder.dropoutGeneratorStates = streams.0
            model.decoder.dropoutGeneratorStates = streams.1
            return try model.teacherForcedLoss(sources: sources, targets: targets, computeGradient: computeGradient).loss
        }
        model.zeroGradients()
        let trained = try loss(computeGradient: true)
        #expect(try loss(computeGradient: false) == trained)
        #expect(model.feedingEmbedding!.gradients.contains { $0 != 0 })
        try expectGradientsMatchDifferences(groups: model.parameterGroups, loss: { try loss(computeGradient: false) },
                                            label: "input-fed \(cell) \(bidirectional ? "bi" : "uni") \(attention)")
    }

    /// The encoder–decoder without attention computes what it computed before attention existed:
    /// values recorded from that code, and the old composition of its two halves, bit for bit.
    @Test func theModelWithoutAttentionIsUnchanged() throws {
        let configuration = Seq2SeqConfiguration(sourceVocabularySize: 6, targetVocabularySize: 7, embeddingSize: 4, hiddenSize: 5,
                                                 numLayers: 2, dropout: 0.2, beginToken: 5, endToken: 6, seed: 41)
        let sources = [[0, 1, 2, 3], [4, 2], [1, 1, 5]], targets = [[0, 1], [2, 3, 4], [1]]
        let model = try Seq2SeqModel(configuration)
        #expect(model.bridge == nil && model.attention == nil && model.attentionHead == nil)
        #expect(model.parameterGroups.map { $0.parameters.count } == [24, 460, 28, 460, 42])
        let loss = try model.teacherForcedLoss(sources: sources, targets: targets).loss
        let gradients = model.parameterGroups.flatMap { $0.gradients }
        let parameters = model.parameterGroups.flatMap { $0.parameters }
        // Recorded from the encoder–decoder before attention, at these flat indices.
        let indices = [0, 100, 500, 900, 1013]
        #expect(abs(loss - 1.888508717219035) < 1e-6, "loss \(loss)")
        expectClose(indices.map { parameters[$0] }, [0.5789682, 0.3079118, 0.9202493, 0.23901895, 0.4263171], tolerance: 0, "parameters")
        expectClose(indices.map { gradients[$0] }, [8.9936315e-05, -0.0003781755, 0.0005012913, 0.008133927, -0.13013962],
                    tolerance: 1e-6, "gradients")

        // The old composition, step by step, on a fresh model of the same seed.
        let reference = try Seq2SeqModel(configuration)
        let B = sources.count
        let (sourceIds, S, sourceLengths) = try padTimeMajor(sources, what: "source")
        let (inputIds, T, targetLengths) = try padTimeMajor(targets.map { [5] + $0 }, what: "decoder input")
        var targetIds = [Int](repeating: -100, count: T * B)
        for (b, row) in targets.map({ $0 + [6] }).enumerated() { for (t, id) in row.enumerated() { targetIds[t * B + b] = id } }
        let encoded = try reference.encoder.forward(.tokens(sourceIds), steps: S, batch: B, lengths: sourceLengths)
        let decoded = try reference.decoder.forward(.tokens(inputIds), steps: T, batch: B, lengths: targetLengths,
                                                    initialState: encoded.finalState)
        let r = try sequenceSoftmaxCrossEntropy(logits: decoded.outputs, targets: targetIds, steps: T, batch: B, classCount: 7,
                                                lengths: targetLengths)
        let stateGradient = try reference.decoder.backward(outputGradient: r.logitsGradient).initialState
        try reference.encoder.backward(outputGradient: [Float](repeating: 0, count: S * B * 5), finalStateGradient: stateGradient)
        #expect(r.loss == loss)
        #expect(reference.parameterGroups.flatMap { $0.gradients } == gradients)
        // Its file has none of the new keys or tensors.
        let metadata = model.fileMetadata
        #expect(!metadata.keys.contains { $0.hasPrefix("seq2seq.attention") || $0 == "seq2seq.bidirectional_encoder" })
        #expect(model.namedTensors().allSatisfy { $0.name.hasPrefix("encoder.") || $0.name.hasPrefix("decoder.") })
        #expect(model.namedTensors().contains { $0.name == "decoder.head.weight" && $0.shape == [7, 5] })
    }

    @Test func invalidAttentionConfigurationsAreRefused() throws {
        func configuration(bidirectional: Bool, attention: AttentionScore, attentionSize: Int? = nil) -> Seq2SeqConfiguration {
            Seq2SeqConfiguration(sourceVocabularySize: 4, targetVocabularySize: 5, embeddingSize: 3, hiddenSize: 4, beginToken: 3,
                                 endToken: 4, bidirectionalEncoder: bidirectional, attention: attention, attentionSize: attentionSize)
        }
        #expect { try Seq2SeqModel(configuration(bidirectional: true, attention: .dot)) } throws: {
            "\($0)".contains("dot attention") && "\($0)".contains("general or additive")
        }
        #expect { try Seq2SeqModel(configuration(bidirectional: false, attention: .additive, attentionSize: 0)) } throws: {
            "\($0)".contains("attention size must be at least 1")
        }
        #expect { try Attention<Float>(score: .none, querySize: 3, keySize: 3) } throws: { "\($0)".contains("needs a score") }
        var feedingWithoutAttention = configuration(bidirectional: false, attention: .none)
        feedingWithoutAttention.inputFeeding = true
        #expect { try Seq2SeqModel(feedingWithoutAttention) } throws: { "\($0)".contains("input feeding") && "\($0)".contains("got none") }
        let model = try Seq2SeqModel(configuration(bidirectional: false, attention: .dot))
        #expect(model.attention!.parameters.isEmpty)
        #expect(model.attentionHead!.inputSize == 8)
    }

    // MARK: Files and checkpoints

    /// Loads `path` and expects `model`'s configuration, parameters and beam decodings back.
    func expectReloadsTheSame(_ model: Seq2SeqModel, from path: String) throws {
        let loaded = try Seq2SeqModel(contentsOf: path)
        #expect(loaded.configuration == model.configuration)
        #expect(allParameters(loaded.parameterGroups) == allParameters(model.parameterGroups))
        let sources = [[0, 1, 2], [3]]
        #expect(try loaded.decode(sources: sources, maximumLength: 4, beamWidth: 2)
                == model.decode(sources: sources, maximumLength: 4, beamWidth: 2))
    }

    /// Writes `file`'s tensors to `path` under its metadata without `key`.
    func rewrite(_ file: SafeTensorsFile, to path: String, removingMetadata key: String) throws {
        var metadata = try #require(file.metadata)
        metadata.removeValue(forKey: key)
        var writer = SafeTensorsWriter(metadata: metadata)
        for name in file.tensorNames {
            try writer.add(name: name, shape: file.tensor(named: name)!.shape, values: try file.values(of: name, as: Float.self))
        }
        try writer.writeAtomically(to: path)
    }

    @Test func anInputFedModelRoundTripsThroughAFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rnnkit-feeding-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("model.safetensors").path
        let model = try Seq2SeqModel(Seq2SeqConfiguration(
            sourceVocabularySize: 5, targetVocabularySize: 6, embeddingSize: 3, hiddenSize: 4, numLayers: 2, beginToken: 4,
            endToken: 5, seed: 63, bidirectionalEncoder: true, attention: .additive, inputFeeding: true))
        for group in model.parameterGroups { group.parameters = group.parameters.map { $0 * 1.25 + 0.01 } }
        try model.save(to: path)
        let file = try SafeTensorsFile(contentsOf: path)
        #expect(file.metadata?["seq2seq.input_feeding"] == "true")
        #expect(file.tensor(named: "decoder.embedding.weight")?.shape == [6, 3])
        #expect(file.tensor(named: "decoder.rnn.weight_ih_l0")?.shape == [16, 3 + 8])
        #expect(file.tensor(named: "decoder.rnn.weight_ih_l1")?.shape == [16, 4])
        try expectReloadsTheSame(model, from: path)

        // The same tensors read as a model without input feeding: refused, naming what does not fit.
        try rewrite(file, to: path, removingMetadata: "seq2seq.input_feeding")
        #expect { try Seq2SeqModel(contentsOf: path) } throws: { "\($0)".contains("decoder.rnn.weight_ih_l0") }
    }

    @Test(arguments: [AttentionScore.general, .additive, .dot, .none])
    func attentionModelsRoundTripThroughAFile(_ attention: AttentionScore) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rnnkit-attention-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("model.safetensors").path
        let bidirectional = attention != .dot
        let model = try Seq2SeqModel(Seq2SeqConfiguration(
            sourceVocabularySize: 5, targetVocabularySize: 6, embeddingSize: 3, hiddenSize: 4, numLayers: 2, beginToken: 4,
            endToken: 5, seed: 61, bidirectionalEncoder: bidirectional, attention: attention, attentionSize: 7))
        // Move every parameter off its initial value, so that loading cannot pass by re-initialising.
        for group in model.parameterGroups { group.parameters = group.parameters.map { $0 * 1.25 + 0.01 } }
        try model.save(to: path)
        let file = try SafeTensorsFile(contentsOf: path)
        #expect(file.metadata?["seq2seq.bidirectional_encoder"] == (bidirectional ? "true" : nil))
        #expect(file.metadata?["seq2seq.attention"] == (attention == .none ? nil : attention.rawValue))
        #expect(file.metadata?["seq2seq.attention_size"] == "7")
        let names = Set(file.tensorNames)
        #expect(names.contains("bridge.hidden_l1.weight") == bidirectional && names.contains("bridge.cell_l0.bias") == bidirectional)
        if bidirectional { #expect(file.tensor(named: "bridge.hidden_l0.weight")?.shape == [4, 8]) }
        switch attention {
        case .general: #expect(file.tensor(named: "attention.key.weight")?.shape == [4, 8])
        case .additive:
            #expect(file.tensor(named: "attention.query.weight")?.shape == [7, 4])
            #expect(file.tensor(named: "attention.key.weight")?.shape == [7, 8])
            #expect(file.tensor(named: "attention.v.weight")?.shape == [1, 7])
        case .dot, .none: #expect(!names.contains { $0.hasPrefix("attention.") })
        }
        let width = attention == .none ? 4 : 4 + (bidirectional ? 8 : 4)
        #expect(file.tensor(named: "decoder.head.weight")?.shape == [6, width])

        try expectReloadsTheSame(model, from: path)
        guard attention != .none else { return }

        // The same tensors under metadata without attention: refused, naming the tensors that do not fit.
        try rewrite(file, to: path, removingMetadata: "seq2seq.attention")
        #expect { try Seq2SeqModel(contentsOf: path) } throws: {
            "\($0)".contains("decoder.head.weight") && (attention == .dot || "\($0)".contains("unexpected tensor attention."))
        }
    }

    // MARK: Decoding

    @Test(arguments: [(AttentionScore.none, false), (.dot, false), (.general, false), (.additive, false), (.dot, true), (.additive, true)])
    func beamWidthOneIsGreedy(_ attention: AttentionScore, inputFeeding: Bool) throws {
        let model = try Seq2SeqModel(Seq2SeqConfiguration(
            sourceVocabularySize: 6, targetVocabularySize: 8, embeddingSize: 4, hiddenSize: 8, beginToken: 6, endToken: 7, seed: 81,
            bidirectionalEncoder: attention == .general || attention == .additive, attention: attention, inputFeeding: inputFeeding))
        // Larger weights than the initial ones, so that the decodings vary and some rows end early.
        for (g, group) in model.parameterGroups.enumerated() { group.parameters = randomValues(group.parameters.count, seed: 83 + UInt64(g)) }
        if inputFeeding, let head = model.attentionHead {   // these weights rarely write the end token otherwise
            head.parameters[head.parameters.count - head.outputSize + 7] += 2
        }
        var generator = SeededGenerator(seed: 82)
        let sources = (0..<12).map { _ in (0..<(1 + generator.nextIndex(below: 7))).map { _ in generator.nextIndex(below: 6) } }
        let greedy = try model.greedyDecode(sources: sources, maximumLength: 9)
        let beam = try model.decode(sources: sources, maximumLength: 9, beamWidth: 1)
        #expect(beam.map(\.tokens) == greedy)
        #expect(Set(greedy.map(\.count)).count > 1, "the decodings should differ in length: \(greedy)")
        for (b, decoding) in beam.enumerated() {
            #expect(decoding.attention.count == (attention == .none ? 0 : decoding.tokens.count))
            for row in decoding.attention {
                #expect(row.count == sources[b].count)
                #expect(abs(row.reduce(0, +) - 1) < 1e-5)
            }
            #expect(decoding.logProbability <= 0)
            let length = Double(decoding.tokens.count + (decoding.tokens.count < 9 ? 1 : 0))
            #expect(abs(decoding.score - decoding.logProbability / length) < 1e-12)
        }
        try expectBeamLogProbabilitiesAreTeacherForced(model, sources: sources, maximumLength: 9, beamWidth: 4)
    }

    @Test func decodingRefusesBadArguments() throws {
        let model = try Seq2SeqModel(Seq2SeqConfiguration(sourceVocabularySize: 4, targetVocabularySize: 5, embeddingSize: 3, hiddenSize: 4,
                                                          beginToken: 3, endToken: 4, attention: .general))
        #expect { try model.decode(sources: [[0]], maximumLength: 3, beamWidth: 0) } throws: { "\($0)".contains("beam width must be at least 1") }
        #expect { try model.decode(sources: [[0]], maximumLength: 0, beamWidth: 2) } throws: { "\($0)".contains("maximum length must be at least 1") }
        #expect { try model.decode(sources: [[0], []], maximumLength: 3, beamWidth: 2) } throws: { "\($0)".contains("source 1 of the batch is empty") }
        #expect { try model.decode(sources: [[0, 4]], maximumLength: 3, beamWidth: 2) } throws: { "\($0)".contains("expected source ids in 0..<4") }
        #expect { try model.greedyDecode(sources: [[-1]], maximumLength: 3) } throws: { "\($0)".contains("expected source ids in 0..<4") }
        #expect { try model.decode(sources: [[0]], maximumLength: 3, beamWidth: 2, lengthNormalization: -1) } throws: {
            "\($0)".contains("length normalisation")
        }
        #expect(try model.decode(sources: [], maximumLength: 3, beamWidth: 2).isEmpty)
    }
}

// MARK: Learning task: reversal

/// Settings of the reversal task.
struct ReversalSettings {
    var steps = 900
    var hiddenSize = 64
    var embeddingSize = 16
    var batchSize = 64
    var learningRate = 0.015
    var attention = AttentionScore.general
    var bidirectionalEncoder = true
    var inputFeeding = false
    /// Whether every source starts with the start-of-source marker `V`.
    var startMarker = true
    /// Symbols `V` of the sequences (source ids `0..<V`, `V` the start-of-source marker; target ids
    /// `0..<V`, `V` begin, `V + 1` end).
    var symbols = 10
    var lengths = 30...50
    var trainingPairs = 20_000
    var heldOut = 500
    /// `K` of the beam search (0: greedy decoding only).
    var beamWidth = 4
}

/// Random sequences of `settings.symbols` symbols → the same sequence reversed. Each source starts
/// with a start-of-source marker, as a translation source ends with an end-of-sentence one: the
/// step that writes the end token has it to attend to. Returns the held-out exact match of greedy
/// and beam decoding (beam: 0 when `beamWidth` is 0), the mean ranking score of each (the
/// length-normalised log-probability beam search maximises; 0 without a beam) and the seconds spent
/// training and decoding.
func runReversal(_ settings: ReversalSettings) throws
    -> (greedy: Double, beam: Double, greedyScore: Double, beamScore: Double, trainSeconds: Double, decodeSeconds: Double) {
    let start = ContinuousClock.now
    let V = settings.symbols
    var generator = SeededGenerator(seed: 91)
    func sequence() -> [Int] {
        let length = settings.lengths.lowerBound + generator.nextIndex(below: settings.lengths.count)
        return (0..<length).map { _ in generator.nextIndex(below: V) }
    }
    let marker = settings.startMarker ? [V] : []
    let pairs = (0..<settings.trainingPairs).map { _ in sequence() }.map { Seq2SeqExample(source: marker + $0, target: $0.reversed()) }
    let heldOut = (0..<settings.heldOut).map { _ in sequence() }
    let model = try Seq2SeqModel(Seq2SeqConfiguration(
        sourceVocabularySize: V + 1, targetVocabularySize: V + 2, embeddingSize: settings.embeddingSize, hiddenSize: settings.hiddenSize,
        beginToken: V, endToken: V + 1, initialization: .recommended, seed: 93,
        bidirectionalEncoder: settings.bidirectionalEncoder, attention: settings.attention, inputFeeding: settings.inputFeeding))
    let trainer = try Trainer(model: model, training: .pairs(pairs), configuration: TrainerConfiguration(
        batchSize: settings.batchSize, optimizer: OptimizerConfiguration(kind: .adam, learningRate: settings.learningRate),
        schedule: ScheduleConfiguration(kind: .cosine, warmupSteps: 50, totalSteps: settings.steps, minimumLearningRate: settings.learningRate / 20),
        gradientClipNorm: 1, seed: 95, bucketByLength: true))
    trainer.onStep = { r in
        if ProcessInfo.processInfo.environment["RNNKIT_VERBOSE"] != nil, r.step % 100 == 0 { print(r.step, r.loss, r.accuracy ?? 0) }
    }
    try trainer.train(steps: settings.steps)
    let trainSeconds = secondsSince(start)
    let decodeStart = ContinuousClock.now
    let sources = heldOut.map { marker + $0 }, maximumLength = settings.lengths.upperBound + 5
    func exactMatch(_ decoded: [[Int]]) -> Double {
        Double(zip(heldOut, decoded).filter { Array($0.0.reversed()) == $0.1 }.count) / Double(heldOut.count)
    }
    let greedy = exactMatch(try model.greedyDecode(sources: sources, maximumLength: maximumLength))
    guard settings.beamWidth > 0 else { return (greedy, 0, 0, 0, trainSeconds, secondsSince(decodeStart)) }
    func meanScore(_ decodings: [Seq2SeqDecoding]) -> Double { decodings.map(\.score).reduce(0, +) / Double(decodings.count) }
    let greedyScore = meanScore(try model.decode(sources: sources, maximumLength: maximumLength, beamWidth: 1))
    let beamDecodings = try model.decode(sources: sources, maximumLength: maximumLength, beamWidth: settings.beamWidth)
    return (greedy, exactMatch(beamDecodings.map(\.tokens)), greedyScore, meanScore(beamDecodings), trainSeconds,
            secondsSince(decodeStart))
}

/// The threshold was measured with margin (docs/training.md lists the measured values); the same
/// model and budget without attention must fail, so the task can fail.
@Suite(.serialized) struct AttentionLearningTaskTests {
    @Test func reversalIsLearnedWithAttentionAndNotWithout() throws {
        let start = ContinuousClock.now
        let attended = try runReversal(ReversalSettings())
        let plain = try runReversal(ReversalSettings(attention: .none, beamWidth: 0))
        print("reversal, length 30–50: with general attention greedy \(attended.greedy), beam \(attended.beam), mean scores \(attended.greedyScore) and \(attended.beamScore) (train \(attended.trainSeconds) s, decode \(attended.decodeSeconds) s); without attention greedy \(plain.greedy) (train \(plain.trainSeconds) s); \(secondsSince(start)) s in all")
        #expect(attended.greedy >= 0.98)
        // Beam search finds sequences the model scores higher; at 99 % exact match either way its
        // outputs and greedy's differ in a sequence or two, in either direction, as the trajectory
        // varies with the kernels and the threads (one sequence of 500 is 0.002).
        #expect(attended.beamScore >= attended.greedyScore - 1e-6)   // equal when every output is the same
        #expect(attended.beam >= attended.greedy - 0.004)
        #expect(plain.greedy < 0.1)
    }
}

/// A beam's log-probability is the model's: the teacher-forced loss of the sequence it wrote (with
/// its end token), so every hypothesis stepped from its own parent's state. Checks every decoding
/// that ended before `maximumLength`, at least one. Leaves `model` in inference mode.
func expectBeamLogProbabilitiesAreTeacherForced(_ model: Seq2SeqModel, sources: [[Int]], maximumLength: Int,
                                                beamWidth: Int) throws {
    model.isTraining = false
    var checked = 0
    for (source, decoding) in zip(sources, try model.decode(sources: sources, maximumLength: maximumLength, beamWidth: beamWidth))
    where decoding.tokens.count < maximumLength {
        let loss = try model.teacherForcedLoss(sources: [source], targets: [decoding.tokens], computeGradient: false).loss
        let logProbability = -loss * Double(decoding.tokens.count + 1)
        #expect(abs(logProbability - decoding.logProbability) <= 1e-4 * max(1, abs(logProbability)),
                "\(decoding.tokens): beam \(decoding.logProbability), teacher-forced \(logProbability)")
        checked += 1
    }
    #expect(checked > 0)
}
