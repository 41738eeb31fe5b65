// The sequence-level heads (last state, mean and max pooling), class weights and label smoothing,
// and initial-state conditioning: against PyTorch autograd (scripts/make-pattern-fixtures.py),
// against finite differences in Double, and as saved files.

import Foundation
import Testing
@testable import RNNKit

@Suite struct SequencePatternTests {
    let fixture: TrainingFixtureFile
    init() throws { fixture = try TrainingFixtureFile("patterns.txt") }

    static let fixtureOptions = CrossEntropyOptions(classWeights: [1, 2, 0.5], labelSmoothing: 0.1)

    // MARK: PyTorch

    @Test("class weights and label smoothing with a lengths mask match CrossEntropyLoss", arguments: [false, true])
    func weightedCrossEntropyMatchesPyTorch(inFloat: Bool) throws {
        let shape = try fixture.integers("ce.shape")   // [T, B, C]
        let options = CrossEntropyOptions(classWeights: try fixture.values("ce.weights"),
                                          labelSmoothing: try fixture.values("ce.smoothing")[0])
        let logits = try fixture.values("ce.logits"), targets = try fixture.integers("ce.targets")
        let lengths = try fixture.integers("ce.lengths")
        func check<S: RNNScalar & BinaryFloatingPoint>(_: S.Type, tolerance: Double) throws {
            let r: CrossEntropyResult<S> = try sequenceSoftmaxCrossEntropy(
                logits: logits.map { S($0) }, targets: targets, steps: shape[0], batch: shape[1], classCount: shape[2],
                lengths: lengths, options: options)
            TrainingChecks.expectClose([r.loss], [try fixture.values("ce.loss")[0]], relative: tolerance, "loss")
            TrainingChecks.expectClose(r.logitsGradient, try fixture.values("ce.grad"), relative: tolerance, floor: 1e-2, "gradient")
            #expect(abs(r.totalLoss / r.normalizer - r.loss) < 1e-12)
        }
        if inFloat { try check(Float.self, tolerance: 2e-6) } else { try check(Double.self, tolerance: 1e-8) }
    }

    @Test("a bidirectional stack's last-state, mean- and max-pooling heads match PyTorch, gradients included",
          arguments: [SequenceHeadKind.lastStep, .meanPool, .maxPool])
    func sequenceHeadsMatchPyTorch(head: SequenceHeadKind) throws {
        let shape = try fixture.integers("shape")   // [T, B, I, H, C]
        let (T, B, I, H, C) = (shape[0], shape[1], shape[2], shape[3], shape[4])
        let lengths = try fixture.integers("lengths")
        let p = head.rawValue + "."
        let model = try SequenceModel(.features(featureSize: I, cell: .lstm, hiddenSize: H, numLayers: 2, bidirectional: true,
                                                head: head, outputSize: C))
        for entry in model.network.layout.entries {
            try model.network.setParameter(named: entry.name, to: try fixture.values(p + "rnn." + entry.name).map { Float($0) })
        }
        for name in ["weight", "bias"] {
            try model.head!.setParameter(named: name, to: try fixture.values(p + "head." + name).map { Float($0) })
        }
        let x = try fixture.values(p + "x").map { Float($0) }
        let out = try model.forward(.features(x), steps: T, batch: B, lengths: lengths)
        TrainingChecks.expectClose(out.outputs, try fixture.values(p + "logits"), relative: 1e-5, "logits")
        let loss = try softmaxCrossEntropy(logits: out.outputs, targets: try fixture.integers(p + "targets"), classCount: C,
                                           options: Self.fixtureOptions)
        TrainingChecks.expectClose([loss.loss], [try fixture.values(p + "loss")[0]], relative: 1e-5, "loss")
        let dX = try model.backward(outputGradient: loss.logitsGradient).inputs
        TrainingChecks.expectClose(dX, try fixture.values(p + "grad.x"), relative: 1e-4, floor: 1e-2, "∂x")
        for entry in model.network.layout.entries {
            let gradient = Array(model.network.gradients[entry.offset..<entry.offset + entry.count])
            TrainingChecks.expectClose(gradient, try fixture.values(p + "grad.rnn." + entry.name), relative: 1e-4, floor: 1e-2,
                                       "∂\(entry.name)")
        }
        TrainingChecks.expectClose(model.head!.gradients, try fixture.values(p + "grad.head.weight") + fixture.values(p + "grad.head.bias"),
                                   relative: 1e-4, floor: 1e-2, "∂head")
    }

    // MARK: Finite differences in Double

    @Test("mean and max pooling over valid steps: finite differences", arguments: [SequenceHeadKind.meanPool, .maxPool])
    func poolingGradientsMatchFiniteDifferences(head: SequenceHeadKind) throws {
        let (T, B, F) = (4, 3, 5), lengths = [4, 1, 3]
        var y: [Double] = randomValues(T * B * F, seed: 31)
        let upstream: [Double] = randomValues(B * F, seed: 32)
        func pooled() -> [Double] {
            head == .meanPool ? SequencePooling.meanForward(y, steps: T, batch: B, features: F, lengths: lengths)
                : SequencePooling.maxForward(y, steps: T, batch: B, features: F, lengths: lengths).pooled
        }
        func loss() -> Double { zip(pooled(), upstream).reduce(0) { $0 + $1.0 * $1.1 } }
        let analytic = head == .meanPool
            ? SequencePooling.meanBackward(upstream, steps: T, batch: B, features: F, lengths: lengths)
            : SequencePooling.maxBackward(upstream, argmax: SequencePooling.maxForward(y, steps: T, batch: B, features: F, lengths: lengths).argmax,
                                          steps: T, batch: B, features: F)
        var worst = WorstError()
        for i in y.indices { worst.record(analytic[i], centralDifference(at: y[i], { y[i] = $0 }, loss), "y[\(i)]") }
        #expect(worst.error <= 1e-8, "worst relative error \(worst.error) at \(worst.label)")
        // Padded steps get nothing: row 1 has one valid step.
        for t in 1..<T { for f in 0..<F { #expect(analytic[(t * B + 1) * F + f] == 0) } }
    }

    @Test("class weights and label smoothing: finite differences", arguments: [0.0, 0.2])
    func weightedCrossEntropyMatchesFiniteDifferences(smoothing: Double) throws {
        let (T, B, C) = (3, 4, 5)
        var logits: [Double] = randomValues(T * B * C, seed: 41, scale: 3)
        let targets = [0, 1, 2, 3, 4, -100, 1, 2, 3, 4, 0, 1]
        let options = CrossEntropyOptions(classWeights: [0.5, 1, 2, 0, 1.5], labelSmoothing: smoothing)
        func loss() throws -> Double {
            try sequenceSoftmaxCrossEntropy(logits: logits, targets: targets, steps: T, batch: B, classCount: C,
                                            lengths: [3, 2, 3, 1], options: options, computeGradient: false).loss
        }
        let analytic = try sequenceSoftmaxCrossEntropy(logits: logits, targets: targets, steps: T, batch: B, classCount: C,
                                                       lengths: [3, 2, 3, 1], options: options).logitsGradient
        var worst = WorstError()
        for i in logits.indices {
            worst.record(analytic[i], try centralDifference(at: logits[i], { logits[i] = $0 }, loss), "logits[\(i)]")
        }
        #expect(worst.error <= 1e-8, "worst relative error \(worst.error) at \(worst.label)")
    }

    @Test("conditioning on a class or on features: finite differences through a bidirectional stack",
          arguments: [(CellKind.lstm, true, 0), (.gru, true, 0), (.lstm, false, 0), (.rnnTanh, false, 0), (.lstm, true, 2), (.lstm, false, 2)])
    func conditioningGradientsMatchFiniteDifferences(cell: CellKind, onClasses: Bool, projection: Int) throws {
        // With a projection the conditioned h0 rows are P = 2 wide beside c0 rows of H = 3.
        let configuration = RecurrentConfiguration(cell: cell, inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true,
                                                   projectionSize: projection)
        let R = configuration.stateSize, C = cell.hasCellState ? 3 : 0
        let network = try RecurrentNetwork<Double>(configuration, seed: 51)
        network.parameters = randomValues(network.layout.totalCount, seed: 52, scale: 0.8)
        let (T, B) = (3, 3), F = 4
        let stateRows = 2 * configuration.directionCount
        let conditioning = onClasses
            ? try InitialStateConditioning<Double>(classCount: 4, stateRows: stateRows, hiddenSize: R, cellSize: C, seed: 53)
            : try InitialStateConditioning<Double>(featureSize: F, stateRows: stateRows, hiddenSize: R, cellSize: C, seed: 53)
        conditioning.parameters = randomValues(conditioning.parameters.count, seed: 54, scale: 0.7)
        let ids = [2, 0, 2]
        let features: [Double] = randomValues(B * F, seed: 55)
        let x: [Double] = randomValues(T * B * 2, seed: 56)
        let dY: [Double] = randomValues(T * B * configuration.outputSize, seed: 57)
        let dhN: [Double] = randomValues(stateRows * B * R, seed: 58)
        func initialState() throws -> RecurrentState<Double> {
            onClasses ? try conditioning.forward(classIds: ids, batch: B) : try conditioning.forward(features: features, batch: B)
        }
        func loss() throws -> Double {
            let h0 = try initialState()
            let out = try network.forward(x, steps: T, batch: B, lengths: [3, 1, 2], initialHidden: h0.hidden, initialCell: h0.cell)
            return zip(out.output, dY).reduce(0) { $0 + $1.0 * $1.1 } + zip(out.finalHidden, dhN).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let h0 = try initialState()
        _ = try network.forward(x, steps: T, batch: B, lengths: [3, 1, 2], initialHidden: h0.hidden, initialCell: h0.cell)
        let g = try network.backward(outputGradient: dY, finalHiddenGradient: dhN, finalCellGradient: nil)
        try conditioning.backward(stateGradient: RecurrentState(batch: B, hidden: g.initialHidden, cell: g.initialCell))
        let analytic = conditioning.gradients
        var worst = WorstError()
        for i in conditioning.parameters.indices {
            let numeric = try centralDifference(at: conditioning.parameters[i], { conditioning.parameters[i] = $0 }, loss)
            worst.record(analytic[i], numeric, "condition.\(conditioning.parameterNames[0])[\(i)]")
        }
        #expect(worst.error <= 1e-6, "worst relative error \(worst.error) at \(worst.label)")
        if onClasses {   // class 1 and 3 are not in the batch: their rows get nothing
            let N = conditioning.valuesPerCondition
            #expect(analytic[N..<2 * N].allSatisfy { $0 == 0 } && analytic[3 * N..<4 * N].allSatisfy { $0 == 0 })
        }
    }

    // MARK: Models, files and errors

    @Test("pooling and conditioned models save, load and compute the same")
    func patternModelsRoundTrip() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rnnkit-patterns-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let configurations: [SequenceModelConfiguration] = [
            .tokens(vocabularySize: 7, embeddingSize: 3, cell: .gru, hiddenSize: 4, numLayers: 2, bidirectional: true,
                    head: .maxPool, outputSize: 3, seed: 1),
            .features(featureSize: 2, hiddenSize: 4, bidirectional: true, head: .meanPool, outputSize: 2, seed: 2),
            .tokens(vocabularySize: 7, embeddingSize: 3, hiddenSize: 4, numLayers: 2, seed: 3, conditioning: .classes(count: 3)),
            .features(featureSize: 2, cell: .gru, hiddenSize: 4, head: .everyStep, outputSize: 2, seed: 4,
                      conditioning: .features(size: 5)),
        ]
        for (index, configuration) in configurations.enumerated() {
            let model = try SequenceModel(configuration)
            model.isTraining = false
            let path = directory.appendingPathComponent("\(index).safetensors").path
            try model.save(to: path)
            guard case .sequence(let loaded) = try loadModel(from: path) else { Issue.record("not a sequence model"); continue }
            loaded.isTraining = false
            #expect(loaded.configuration == configuration)
            let (T, B) = (4, 2)
            let inputs: SequenceInputs = configuration.input == .tokens ? .tokens([1, 2, 3, 4, 5, 6, 0, 1]) : .features(randomValues(T * B * 2, seed: 9))
            let condition: SequenceCondition? = switch configuration.conditioning {
            case .none: nil
            case .classes: .classes([2, 0])
            case .features: .features(randomValues(B * 5, seed: 10))
            }
            let a = try model.forward(inputs, steps: T, batch: B, lengths: [4, 2], condition: condition)
            let b = try loaded.forward(inputs, steps: T, batch: B, lengths: [4, 2], condition: condition)
            #expect(a.outputs == b.outputs)
        }
    }

    @Test("bad calls of pattern models get clear errors")
    func patternErrors() throws {
        let bidirectional = try SequenceModel(.features(featureSize: 2, hiddenSize: 3, bidirectional: true, head: .meanPool, outputSize: 2))
        #expect(throws: RNNKitError.self) { _ = try bidirectional.makeState() }
        let conditioned = try SequenceModel(.tokens(vocabularySize: 5, embeddingSize: 2, hiddenSize: 3, conditioning: .classes(count: 3)))
        #expect(throws: RNNKitError.self) { _ = try conditioned.forward(.tokens([1, 2]), steps: 2, batch: 1) }
        #expect(throws: RNNKitError.self) { _ = try conditioned.forward(.tokens([1, 2]), steps: 2, batch: 1, condition: .classes([3])) }
        #expect(throws: RNNKitError.self) { _ = try conditioned.forward(.tokens([1, 2]), steps: 2, batch: 1, condition: .features([1, 2, 3])) }
        #expect(throws: RNNKitError.self) { _ = try conditioned.sample(prime: [0], length: 3, condition: .classes([0, 1])) }
        #expect(throws: RNNKitError.self) { _ = try conditioned.makeState() }
        for wrong in [SequenceCondition.features([1]), .classes([])] {
            #expect(throws: RNNKitError.self) { _ = try conditioned.makeState(condition: wrong) }
        }
        #expect(try conditioned.makeState(condition: .classes([2, 0])).batch == 2)
        let plain = try SequenceModel(.tokens(vocabularySize: 5, embeddingSize: 2, hiddenSize: 3))
        #expect(throws: RNNKitError.self) { _ = try plain.forward(.tokens([1, 2]), steps: 2, batch: 1, condition: .classes([0])) }
        #expect(throws: RNNKitError.self) {
            try CrossEntropyOptions(classWeights: [1, -1], labelSmoothing: 0).validate(classCount: 2)
        }
        #expect(throws: RNNKitError.self) { try CrossEntropyOptions(labelSmoothing: 1).validate(classCount: 2) }
        #expect(throws: RNNKitError.self) {
            _ = try softmaxCrossEntropy(logits: [Float](repeating: 0, count: 6), targets: [0, 1], classCount: 3,
                                        options: CrossEntropyOptions(classWeights: [1, 2]))
        }
        let classifier = try SequenceModel(.tokens(vocabularySize: 5, embeddingSize: 2, hiddenSize: 3, head: .lastStep, outputSize: 3))
        #expect(throws: RNNKitError.self) {
            _ = try Trainer(model: classifier, training: .sequences([.tokens([1, 2], targetClasses: [0])]),
                            configuration: TrainerConfiguration(classification: CrossEntropyOptions(classWeights: [1, 1])))
        }
        #expect(throws: RNNKitError.self) {
            _ = try Trainer(model: classifier, training: .sequences([.tokens([1, 2], targetClasses: [0], condition: .classes([0]))]))
        }
        let translator = try Seq2SeqModel(Seq2SeqConfiguration(sourceVocabularySize: 4, targetVocabularySize: 5, embeddingSize: 2,
                                                               hiddenSize: 3, beginToken: 3, endToken: 4))
        #expect(throws: RNNKitError.self) {
            _ = try Trainer(model: translator, training: .pairs([Seq2SeqExample(source: [1], target: [2])]),
                            configuration: TrainerConfiguration(classification: CrossEntropyOptions(classWeights: [1, 1, 1, 1])))
        }
    }

    @Test("a seq2seq decoder's loss takes label smoothing and class weights")
    func seq2seqLossTakesTheOptions() throws {
        let translator = try Seq2SeqModel(Seq2SeqConfiguration(sourceVocabularySize: 4, targetVocabularySize: 5, embeddingSize: 2,
                                                               hiddenSize: 3, beginToken: 3, endToken: 4, attention: .general))
        let (sources, targets) = ([[1, 2], [3]], [[2, 0, 1], [1]])
        let plain = try translator.teacherForcedLoss(sources: sources, targets: targets, computeGradient: false)
        let options = CrossEntropyOptions(classWeights: [1, 2, 1, 0.5, 1], labelSmoothing: 0.1)
        let smoothed = try translator.teacherForcedLoss(sources: sources, targets: targets, options: options, computeGradient: false)
        #expect(plain.countedPositions == 6 && smoothed.countedPositions == 6)
        #expect(smoothed.normalizer == (1 + 1 + 2 + 1) + (2 + 1))   // the weights of targets [2, 0, 1, end] and [1, end]
        #expect(abs(smoothed.loss - plain.loss) > 1e-3)
    }
}

