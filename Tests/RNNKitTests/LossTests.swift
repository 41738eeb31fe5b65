// Cross-entropy and mean squared error: PyTorch reference values (Fixtures/training/losses.txt,
// from scripts/make-training-fixtures.py) and central finite-difference gradient checks in Double.

import Testing
import RNNKit

/// Central differences `(f(x + h·e_i) − f(x − h·e_i)) / 2h` for every coordinate of `x`.
private func numericalGradient(_ x: [Double], step h: Double = 1e-5, _ f: ([Double]) throws -> Double) rethrows -> [Double] {
    var gradient = [Double](repeating: 0, count: x.count)
    var probe = x
    for i in x.indices {
        probe[i] = x[i] + h
        let up = try f(probe)
        probe[i] = x[i] - h
        let down = try f(probe)
        probe[i] = x[i]
        gradient[i] = (up - down) / (2 * h)
    }
    return gradient
}

@Suite("Softmax cross-entropy")
struct CrossEntropyLossTests {
    let fixture: TrainingFixtureFile
    init() throws { fixture = try TrainingFixtureFile("losses.txt") }

    @Test("per-time-step loss with lengths mask and ignore index matches CrossEntropyLoss")
    func sequenceMatchesPyTorch() throws {
        let shape = try fixture.integers("sequence.shape")   // [T, B, C]
        let result: CrossEntropyResult<Double> = try sequenceSoftmaxCrossEntropy(
            logits: try fixture.values("sequence.logits"), targets: try fixture.integers("sequence.targets"),
            steps: shape[0], batch: shape[1], classCount: shape[2], lengths: try fixture.integers("sequence.lengths"))
        TrainingChecks.expectClose([result.loss], [try fixture.scalar("sequence.loss")], "loss")
        TrainingChecks.expectClose(result.logitsGradient, try fixture.values("sequence.gradient"), floor: 1e-2, "gradient")
        #expect(result.countedPositions == Int(try fixture.scalar("sequence.counted")))
        #expect(result.correctPredictions == Int(try fixture.scalar("sequence.correct")))
        #expect(abs(result.totalLoss - result.loss * Double(result.countedPositions)) < 1e-12)
    }

    @Test("per-sequence classification over [N, C] matches CrossEntropyLoss(ignore_index=-1)")
    func classificationMatchesPyTorch() throws {
        let shape = try fixture.integers("classification.shape")   // [N, C]
        let result: CrossEntropyResult<Double> = try softmaxCrossEntropy(
            logits: try fixture.values("classification.logits"), targets: try fixture.integers("classification.targets"),
            classCount: shape[1], ignoreIndex: -1)
        TrainingChecks.expectClose([result.loss], [try fixture.scalar("classification.loss")], "loss")
        TrainingChecks.expectClose(result.logitsGradient, try fixture.values("classification.gradient"), floor: 1e-2, "gradient")
        #expect(result.countedPositions == Int(try fixture.scalar("classification.counted")))
        #expect(result.correctPredictions == Int(try fixture.scalar("classification.correct")))
    }

    @Test("logits of ±1000 stay finite and match PyTorch (Float to its precision near 750)")
    func largeLogits() throws {
        let logits = try fixture.values("large.logits")
        let targets = try fixture.integers("large.targets")
        let exact = try softmaxCrossEntropy(logits: logits, targets: targets, classCount: 3)
        TrainingChecks.expectClose([exact.loss], [try fixture.scalar("large.loss")], "Double loss")
        TrainingChecks.expectClose(exact.logitsGradient, try fixture.values("large.gradient"), floor: 1e-2, "Double gradient")
        // Float's spacing near 750 is 6e-5, so the difference of two such logits is good to ~1e-5.
        let single = try softmaxCrossEntropy(logits: logits.map(Float.init), targets: targets, classCount: 3)
        TrainingChecks.expectClose([single.loss], [try fixture.scalar("large.loss")], relative: 1e-4, "Float loss")
        TrainingChecks.expectClose(single.logitsGradient, try fixture.values("large.gradient"), relative: 1e-4, floor: 1e-2, "Float gradient")
        #expect(single.logitsGradient.allSatisfy { $0.isFinite })
    }

    @Test("gradient agrees with finite differences under a mask and ignore index", arguments: [false, true])
    func finiteDifferences(batchFirst: Bool) throws {
        let (T, B, C) = (3, 4, 5)
        var generator = SeededGenerator(seed: 11)
        let logits = (0..<T * B * C).map { _ in 2 * generator.nextGaussian() }
        var targets = (0..<T * B).map { _ in generator.nextIndex(below: C) }
        targets[5] = 9              // ignored below
        let lengths = [3, 1, 2, 3]
        let loss = { (x: [Double]) in
            try sequenceSoftmaxCrossEntropy(logits: x, targets: targets, steps: T, batch: B, classCount: C,
                                            lengths: lengths, ignoreIndex: 9, batchFirst: batchFirst,
                                            computeGradient: false).loss
        }
        let analytic = try sequenceSoftmaxCrossEntropy(
            logits: logits, targets: targets, steps: T, batch: B, classCount: C,
            lengths: lengths, ignoreIndex: 9, batchFirst: batchFirst).logitsGradient
        let numeric = try numericalGradient(logits, loss)
        let worst = zip(analytic, numeric).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-8, "largest |analytic − numeric| = \(worst)")
        #expect(analytic.contains { $0 != 0 } && analytic.contains { $0 == 0 }, "some rows count and some do not")
    }

    @Test("batch-first layout gives the transposed gradient of the time-major one")
    func batchFirstLayout() throws {
        let (T, B, C) = (3, 2, 4)
        var generator = SeededGenerator(seed: 5)
        let timeMajor = (0..<T * B * C).map { _ in generator.nextGaussian() }
        let targets = (0..<T * B).map { _ in generator.nextIndex(below: C) }
        var batchMajor = [Double](repeating: 0, count: timeMajor.count)
        var batchTargets = [Int](repeating: 0, count: targets.count)
        for t in 0..<T {
            for b in 0..<B {
                batchTargets[b * T + t] = targets[t * B + b]
                for c in 0..<C { batchMajor[(b * T + t) * C + c] = timeMajor[(t * B + b) * C + c] }
            }
        }
        let a = try sequenceSoftmaxCrossEntropy(logits: timeMajor, targets: targets, steps: T, batch: B, classCount: C, lengths: [3, 2])
        let b = try sequenceSoftmaxCrossEntropy(logits: batchMajor, targets: batchTargets, steps: T, batch: B, classCount: C,
                                                lengths: [3, 2], batchFirst: true)
        #expect(a.loss == b.loss && a.countedPositions == 5 && b.countedPositions == 5)
        for t in 0..<T {
            for bb in 0..<B {
                for c in 0..<C {
                    #expect(a.logitsGradient[(t * B + bb) * C + c] == b.logitsGradient[(bb * T + t) * C + c])
                }
            }
        }
    }

    @Test("no counted position gives loss 0 and a zero gradient")
    func nothingCounted() throws {
        let result = try softmaxCrossEntropy(logits: [Float](repeating: 1, count: 6), targets: [-100, -100], classCount: 3)
        #expect(result.loss == 0 && result.countedPositions == 0)
        #expect(result.logitsGradient == [Float](repeating: 0, count: 6))
    }

    @Test("bad targets, lengths and shapes are rejected with a clear error")
    func rejectsBadInput() throws {
        let error = try #require(throws: RNNKitError.self) {
            try softmaxCrossEntropy(logits: [Float](repeating: 0, count: 6), targets: [0, 3], classCount: 3)
        }
        #expect(error.message.contains("target 3 at position 1 is out of range; expected a class in 0..<3"))
        let shapeError = try #require(throws: RNNKitError.self) {
            try softmaxCrossEntropy(logits: [Float](repeating: 0, count: 5), targets: [0, 1], classCount: 3)
        }
        #expect(shapeError.kind == .shapeMismatch)
        #expect(throws: RNNKitError.self) {
            try sequenceSoftmaxCrossEntropy(logits: [Float](repeating: 0, count: 12), targets: [0, 0, 0, 0],
                                            steps: 2, batch: 2, classCount: 3, lengths: [2, 3])
        }
        #expect(throws: RNNKitError.self) {
            try sequenceSoftmaxCrossEntropy(logits: [Float](repeating: 0, count: 12), targets: [0, 0, 0, 0],
                                            steps: 2, batch: 2, classCount: 3, lengths: [2])
        }
    }
}

@Suite("Mean squared error")
struct MeanSquaredErrorTests {
    @Test("loss and gradient match MSELoss")
    func matchesPyTorch() throws {
        let fixture = try TrainingFixtureFile("losses.txt")
        let result = try meanSquaredError(predictions: try fixture.values("mse.predictions"), targets: try fixture.values("mse.targets"))
        TrainingChecks.expectClose([result.loss], [try fixture.scalar("mse.loss")], "loss")
        TrainingChecks.expectClose(result.predictionsGradient, try fixture.values("mse.gradient"), "gradient")
    }

    @Test("gradient agrees with finite differences")
    func finiteDifferences() throws {
        var generator = SeededGenerator(seed: 3)
        let predictions = (0..<9).map { _ in generator.nextGaussian() }
        let targets = (0..<9).map { _ in generator.nextGaussian() }
        let analytic = try meanSquaredError(predictions: predictions, targets: targets).predictionsGradient
        let numeric = try numericalGradient(predictions) { try meanSquaredError(predictions: $0, targets: targets).loss }
        let worst = zip(analytic, numeric).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-9, "largest |analytic − numeric| = \(worst)")
    }

    @Test("mismatched or empty inputs are rejected")
    func rejectsBadInput() {
        #expect(throws: RNNKitError.self) { try meanSquaredError(predictions: [Float(1), 2], targets: [1]) }
        #expect(throws: RNNKitError.self) { try meanSquaredError(predictions: [Float](), targets: []) }
    }
}

@Suite("Masked mean squared error")
struct MaskedMeanSquaredErrorTests {
    // T = 3, B = 2, O = 2, lengths [3, 1]: sequence 1 is padded at steps 1 and 2 (the 9s and 7s).
    static let predictions: [Float] = [   // [T, B, O]
        1, 2, 0.5, -1,    // t = 0: b = 0, b = 1
        3, 0, 9, 9,       // t = 1
        -1, 1, 7, 7,      // t = 2
    ]
    static let targets: [[Float]] = [
        [0, 2, 1, 1, -1, -2],   // sequence 0: [3, O]
        [1.5, -1],              // sequence 1: [1, O]
    ]

    @Test("loss and gradient over ragged lengths match hand-computed values; padded steps count for nothing")
    func handComputed() throws {
        // Differences at the valid steps: (1, 0), (2, −1), (0, 3) for sequence 0 and (−1, 0) for sequence 1,
        // so Σ d² = 16 over n = O · (3 + 1) = 8 elements: loss 2, gradient 2d/8 = d/4.
        let result = try maskedMeanSquaredError(predictions: Self.predictions, targets: Self.targets,
                                                steps: 3, batch: 2, outputs: 2, lengths: [3, 1])
        #expect(result.loss == 2)
        #expect(result.predictionsGradient == [
            0.25, 0, -0.25, 0,
            0.5, -0.25, 0, 0,
            0, 0.75, 0, 0,
        ])
        // The padded predictions do not change the loss, whatever they hold.
        var changed = Self.predictions
        for index in [6, 7, 10, 11] { changed[index] = -100 }
        let padded = try maskedMeanSquaredError(predictions: changed, targets: Self.targets,
                                                steps: 3, batch: 2, outputs: 2, lengths: [3, 1])
        #expect(padded.loss == result.loss && padded.predictionsGradient == result.predictionsGradient)
        // Without the gradient: the same loss, no gradient array.
        let lossOnly = try maskedMeanSquaredError(predictions: Self.predictions, targets: Self.targets,
                                                  steps: 3, batch: 2, outputs: 2, lengths: [3, 1], computeGradient: false)
        #expect(lossOnly.loss == 2 && lossOnly.predictionsGradient.isEmpty)
    }

    @Test("with every step valid it is the plain mean squared error")
    func fullLengths() throws {
        var generator = SeededGenerator(seed: 4)
        let predictions = (0..<12).map { _ in generator.nextGaussian() }   // [T = 2, B = 3, O = 2]
        let flatTargets = (0..<12).map { _ in generator.nextGaussian() }
        // Sequence b's targets, [T, O], gathered from the time-major layout.
        let targets: [[Double]] = (0..<3).map { b in
            (0..<2).flatMap { t -> ArraySlice<Double> in
                let first = (t * 3 + b) * 2
                return flatTargets[first..<first + 2]
            }
        }
        let masked = try maskedMeanSquaredError(predictions: predictions, targets: targets, steps: 2, batch: 3, outputs: 2, lengths: [2, 2, 2])
        let plain = try meanSquaredError(predictions: predictions, targets: flatTargets)
        #expect(abs(masked.loss - plain.loss) < 1e-12)
        #expect(zip(masked.predictionsGradient, plain.predictionsGradient).allSatisfy { abs($0 - $1) < 1e-15 })
    }

    @Test("mismatched counts, out-of-range lengths and no valid step are rejected")
    func rejectsBadInput() {
        func call(_ predictions: [Float] = Self.predictions, _ targets: [[Float]] = Self.targets, lengths: [Int] = [3, 1]) throws {
            _ = try maskedMeanSquaredError(predictions: predictions, targets: targets, steps: 3, batch: 2, outputs: 2, lengths: lengths)
        }
        #expect(throws: RNNKitError.self) { try call(Array(Self.predictions.dropLast())) }
        #expect(throws: RNNKitError.self) { try call(Self.predictions, [Self.targets[0]]) }
        #expect(throws: RNNKitError.self) { try call(lengths: [3, 2]) }
        #expect(throws: RNNKitError.self) { try call(lengths: [4, 1]) }
        #expect(throws: RNNKitError.self) { try call(lengths: [3]) }
        #expect(throws: RNNKitError.self) { try call(Self.predictions, [[], []], lengths: [0, 0]) }
    }
}
