// The projected and the layer-normalised LSTM inside every model kind: a projection makes `h`
// (and so the head's input, the pooled vectors, the conditioned and bridged states, the attention's
// queries and keys) `P` wide while `c` stays `H` wide; layer normalisation changes no width.
// Gradients against central differences, streaming against the batch forward, beam search against
// the teacher-forced loss, and files.

import Foundation
import Testing
@testable import RNNKit

@Suite struct ModelVariantTests {
    /// The two variants that change what a model stores: a projection of 3 out of `H = 5`, and layer norm.
    static let variants: [(name: String, projection: Int, layerNorm: Bool)] = [("projected", 3, false), ("layer norm", 0, true)]

    /// The central-difference step in Float: layer normalisation over a few units curves the loss
    /// more than the plain cell does, so its truncation error at the usual 1e-2 exceeds the
    /// tolerance; 3e-3 keeps it below while Float's rounding stays small. (Max pooling takes 1e-3:
    /// a step that crosses the switch of a pooled maximum measures the kink, not the slope.)
    static func differenceStep(layerNorm: Bool) -> Float { layerNorm ? 3e-3 : 1e-2 }

    static func applying(_ variant: (name: String, projection: Int, layerNorm: Bool),
                         to configuration: SequenceModelConfiguration) -> SequenceModelConfiguration {
        var configuration = configuration
        (configuration.projectionSize, configuration.layerNorm) = (variant.projection, variant.layerNorm)
        return configuration
    }

    @Test("a token model with a carried state: finite differences", arguments: [0, 1])
    func tokenModelGradients(variantIndex: Int) throws {
        let variant = Self.variants[variantIndex]
        let model = try SequenceModel(Self.applying(variant, to: .tokens(
            vocabularySize: 5, embeddingSize: 3, hiddenSize: 5, numLayers: 2, seed: 11)))
        let stack = model.configuration.stackConfiguration, (T, B) = (4, 3)
        let ids = (0..<T * B).map { ($0 * 3 + 1) % 5 }, targets = ids.map { ($0 + 2) % 5 }
        let initial = RecurrentState<Float>(
            batch: B, hidden: (0..<stack.hiddenStateCount(batch: B)).map { Float(sin(Double($0))) / 3 },
            cell: (0..<stack.cellStateCount(batch: B)).map { Float(cos(Double($0))) / 3 })
        func loss(gradient: Bool) throws -> Double {
            let out = try model.forward(.tokens(ids), steps: T, batch: B, lengths: [4, 2, 3], initialState: initial)
            #expect(out.finalState.hidden.count == 2 * B * stack.stateSize && out.finalState.cell?.count == 2 * B * 5)
            let r = try sequenceSoftmaxCrossEntropy(logits: out.outputs, targets: targets, steps: T, batch: B, classCount: 5,
                                                     lengths: [4, 2, 3], computeGradient: gradient)
            if gradient { try model.backward(outputGradient: r.logitsGradient) }
            return r.loss
        }
        model.zeroGradients()
        _ = try loss(gradient: true)
        try expectGradientsMatchDifferences(groups: model.parameterGroups, loss: { try loss(gradient: false) }, label: variant.name,
                                            step: Self.differenceStep(layerNorm: variant.layerNorm))
    }

    @Test("sequence heads of a bidirectional stack: finite differences",
          arguments: [SequenceHeadKind.lastStep, .meanPool, .maxPool], [0, 1])
    func sequenceHeadGradients(head: SequenceHeadKind, variantIndex: Int) throws {
        let variant = Self.variants[variantIndex]
        let model = try SequenceModel(Self.applying(variant, to: .features(
            featureSize: 2, hiddenSize: 5, numLayers: 2, bidirectional: true, head: head, outputSize: 2, seed: 12)))
        #expect(model.head?.inputSize == 2 * model.configuration.stackConfiguration.stateSize)
        let (T, B) = (5, 3)
        let x = (0..<T * B * 2).map { Float(sin(Double($0) * 0.7)) }
        let y: [Float] = [0.5, -0.25, 1, 0.1, -0.6, 0.3]
        func loss(gradient: Bool) throws -> Double {
            let out = try model.forward(.features(x), steps: T, batch: B, lengths: [5, 2, 4])
            let r = try meanSquaredError(predictions: out.outputs, targets: y, computeGradient: gradient)
            if gradient { try model.backward(outputGradient: r.predictionsGradient) }
            return r.loss
        }
        model.zeroGradients()
        _ = try loss(gradient: true)
        try expectGradientsMatchDifferences(groups: model.parameterGroups, loss: { try loss(gradient: false) },
                                            label: "\(variant.name), \(head.rawValue)",
                                            step: head == .maxPool ? 1e-3 : Self.differenceStep(layerNorm: variant.layerNorm))
    }

    @Test("a class-conditioned projected generator: finite differences and a P-wide h0 beside an H-wide c0")
    func conditionedProjectedGenerator() throws {
        var configuration = SequenceModelConfiguration.tokens(vocabularySize: 4, embeddingSize: 3, hiddenSize: 5, numLayers: 2, seed: 13,
                                                              conditioning: .classes(count: 3))
        configuration.projectionSize = 2
        let model = try SequenceModel(configuration)
        #expect(model.conditioning?.valuesPerCondition == 2 * (2 + 5))
        let state = try model.makeState(condition: .classes([1, 2]))
        #expect(state.hidden.count == 2 * 2 * 2 && state.cell?.count == 2 * 2 * 5)
        let ids = [0, 1, 2, 3, 1, 0], targets = [1, 2, 3, 0, 0, 2]                          // [T = 3, B = 2]
        func loss(gradient: Bool) throws -> Double {
            let out = try model.forward(.tokens(ids), steps: 3, batch: 2, condition: .classes([2, 0]))
            let r = try sequenceSoftmaxCrossEntropy(logits: out.outputs, targets: targets, steps: 3, batch: 2, classCount: 4,
                                                     computeGradient: gradient)
            if gradient { try model.backward(outputGradient: r.logitsGradient) }
            return r.loss
        }
        model.zeroGradients()
        _ = try loss(gradient: true)
        try expectGradientsMatchDifferences(groups: model.parameterGroups, loss: { try loss(gradient: false) }, label: "conditioned")
    }

    @Test("streaming steps equal the batch forward", arguments: [0, 1])
    func streamingEqualsTheBatch(variantIndex: Int) throws {
        let variant = Self.variants[variantIndex]
        let model = try SequenceModel(Self.applying(variant, to: .tokens(
            vocabularySize: 6, embeddingSize: 4, hiddenSize: 5, numLayers: 2, dropout: 0.3, seed: 14)))
        model.isTraining = false
        let ids = [1, 4, 2, 5, 0, 3]
        let whole = try model.forward(.tokens(ids), steps: ids.count, batch: 1)
        var state = try model.makeState()
        var stepped: [Float] = []
        for id in ids { stepped += try model.step(tokens: [id], state: &state) }
        expectClose(stepped, whole.outputs, tolerance: 1e-5, "\(variant.name): outputs")
        expectClose(state.hidden, whole.finalState.hidden, tolerance: 1e-5, "\(variant.name): h")
        expectClose(state.cell ?? [], whole.finalState.cell ?? [], tolerance: 1e-5, "\(variant.name): c")
    }

    /// A bidirectional encoder (its bridge maps `2P → P` for `h` and `2H → H` for `c`) with attention
    /// over `D·P`-wide keys, with and without input feeding.
    static func translator(projection: Int, layerNorm: Bool, attention: AttentionScore, inputFeeding: Bool) -> Seq2SeqConfiguration {
        var configuration = Seq2SeqConfiguration(
            sourceVocabularySize: 5, targetVocabularySize: 6, embeddingSize: 3, hiddenSize: 5, numLayers: 2,
            beginToken: 4, endToken: 5, seed: 15, bidirectionalEncoder: true, attention: attention, attentionSize: 4,
            inputFeeding: inputFeeding)
        (configuration.projectionSize, configuration.layerNorm) = (projection, layerNorm)
        return configuration
    }

    @Test("a translator: finite differences", arguments: [
        (3, false, AttentionScore.additive, false), (3, false, .general, true), (0, true, .additive, false), (3, false, .none, false),
    ])
    func translatorGradients(projection: Int, layerNorm: Bool, attention: AttentionScore, inputFeeding: Bool) throws {
        let model = try Seq2SeqModel(Self.translator(projection: projection, layerNorm: layerNorm, attention: attention,
                                                     inputFeeding: inputFeeding))
        if projection > 0 {
            #expect(model.configuration.encoderOutputSize == 2 * projection)
            #expect(model.bridge?.hiddenMaps.first?.inputSize == 2 * projection && model.bridge?.cellMaps.first?.inputSize == 10)
        }
        let sources = [[0, 1, 2], [2, 1], [1, 3, 1, 0]], targets = [[0, 1], [2], [1, 0, 3]]
        model.zeroGradients()
        _ = try model.teacherForcedLoss(sources: sources, targets: targets)
        try expectGradientsMatchDifferences(groups: model.parameterGroups, loss: {
            try model.teacherForcedLoss(sources: sources, targets: targets, computeGradient: false).loss
        }, label: "seq2seq P=\(projection) LN=\(layerNorm) \(attention) feeding=\(inputFeeding)",
           step: Self.differenceStep(layerNorm: layerNorm))
    }

    /// Beam search gathers each hypothesis's `h` (`P` wide) and `c` (`H` wide) rows from its parent:
    /// width 1 writes what greedy decoding writes, and a wider beam's log-probability is the
    /// teacher-forced loss of what it wrote.
    @Test("beam search over a projected translator", arguments: [false, true])
    func projectedBeamSearch(inputFeeding: Bool) throws {
        let model = try Seq2SeqModel(Self.translator(projection: 3, layerNorm: false, attention: .additive, inputFeeding: inputFeeding))
        for (g, group) in model.parameterGroups.enumerated() { group.parameters = randomValues(group.parameters.count, seed: 90 + UInt64(g)) }
        var generator = SeededGenerator(seed: 16)
        let sources = (0..<10).map { _ in (0..<(1 + generator.nextIndex(below: 6))).map { _ in generator.nextIndex(below: 5) } }
        #expect(try model.decode(sources: sources, maximumLength: 8, beamWidth: 1).map(\.tokens)
                == model.greedyDecode(sources: sources, maximumLength: 8))
        try expectBeamLogProbabilitiesAreTeacherForced(model, sources: sources, maximumLength: 8, beamWidth: 3)
    }

    @Test("projected and layer-normalised models save and load with PyTorch's names")
    func variantsRoundTripThroughModelFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rnnkit-variants-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("m.safetensors").path

        var tagger = SequenceModelConfiguration.features(featureSize: 3, hiddenSize: 6, numLayers: 2, bidirectional: true,
                                                         head: .everyStep, outputSize: 2, seed: 17, conditioning: .features(size: 2))
        tagger.projectionSize = 4
        let model = try SequenceModel(tagger)
        try model.save(to: path)
        let file = try SafeTensorsFile(contentsOf: path)
        #expect(file.metadata?["model.proj_size"] == "4")
        #expect(file.tensor(named: "rnn.weight_hr_l1_reverse")?.shape == [4, 6])
        #expect(file.tensor(named: "rnn.weight_hh_l0")?.shape == [24, 4])
        #expect(file.tensor(named: "rnn.weight_ih_l1")?.shape == [24, 8])
        #expect(file.tensor(named: "head.weight")?.shape == [2, 8])
        #expect(file.tensor(named: "condition.weight")?.shape == [2 * 2 * (4 + 6), 2])
        guard case .sequence(let loaded) = try loadModel(from: path) else { Issue.record("expected a sequence model"); return }
        #expect(loaded.configuration == model.configuration)
        #expect(zip(loaded.parameterGroups, model.parameterGroups).allSatisfy { $0.parameters == $1.parameters })

        var translator = Self.translator(projection: 0, layerNorm: true, attention: .additive, inputFeeding: false)
        let seq2seq = try Seq2SeqModel(translator)
        try seq2seq.save(to: path)
        let seq2seqFile = try SafeTensorsFile(contentsOf: path)
        #expect(seq2seqFile.metadata?["seq2seq.layer_norm"] == "true")
        #expect(seq2seqFile.tensor(named: "encoder.rnn.weight_ln_c_l1_reverse")?.shape == [5])
        #expect(seq2seqFile.tensor(named: "decoder.rnn.bias_ln_hh_l0")?.shape == [20])
        guard case .seq2seq(let loadedSeq2seq) = try loadModel(from: path) else { Issue.record("expected a seq2seq model"); return }
        #expect(loadedSeq2seq.configuration == seq2seq.configuration)

        translator = Self.translator(projection: 2, layerNorm: false, attention: .general, inputFeeding: true)
        let projected = try Seq2SeqModel(translator)
        try projected.save(to: path)
        let projectedFile = try SafeTensorsFile(contentsOf: path)
        #expect(projectedFile.tensor(named: "bridge.hidden_l1.weight")?.shape == [2, 4])
        #expect(projectedFile.tensor(named: "bridge.cell_l1.weight")?.shape == [5, 10])
        #expect(projectedFile.tensor(named: "decoder.head.weight")?.shape == [6, 2 + 4])
        guard case .seq2seq(let loadedProjected) = try loadModel(from: path) else { Issue.record("expected a seq2seq model"); return }
        #expect(loadedProjected.configuration == projected.configuration)
        let sources = [[0, 1, 2], [3]]
        #expect(try loadedProjected.decode(sources: sources, maximumLength: 4, beamWidth: 2)
                == projected.decode(sources: sources, maximumLength: 4, beamWidth: 2))

        // A file whose metadata promises a projection its tensors do not have is refused by name.
        var writer = try SequenceModel(.features(featureSize: 3, hiddenSize: 6, numLayers: 2, bidirectional: true,
                                                 head: .everyStep, outputSize: 2, seed: 17, conditioning: .features(size: 2)))
            .safeTensorsWriter()
        writer.metadata = model.fileMetadata
        try writer.writeAtomically(to: path)
        #expect { try SequenceModel(contentsOf: path) } throws: { error in
            (error as? RNNKitError)?.kind == .invalidFile && "\(error)".contains("rnn.weight_hh_l0")
        }
        // Combinations the cells refuse are refused for models too, with the cell's message.
        var gru = tagger
        gru.cell = .gru
        #expect { try SequenceModel(gru) } throws: { "\($0)".contains("a projection (proj_size) is an LSTM option") }
        var tooWide = tagger
        tooWide.projectionSize = 6
        #expect { try SequenceModel(tooWide) } throws: { "\($0)".contains("expected 0 < P < H = 6") }
        var both = Self.translator(projection: 2, layerNorm: true, attention: .additive, inputFeeding: false)
        both.attentionSize = 3
        #expect { try Seq2SeqModel(both) } throws: { "\($0)".contains("layer normalisation with peepholes or a projection") }
    }
}
