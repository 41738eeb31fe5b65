// Attention against PyTorch autograd and against finite differences in Double, the state bridge likewise.
//
// The PyTorch fixtures under Fixtures/attention are written by scripts/make-attention-fixtures.py:
//   /work/main/.perf-venv/bin/python scripts/make-attention-fixtures.py
// (float64 with autograd). Double must match them to 1e-12, Float to 2e-5, times max(1, max |torch|).

import Foundation
import Testing
@testable import RNNKit

/// The attention fixture files, by name (`dot.txt`, `general.txt`, `additive.txt`).
private let attentionFixtureNames = FixtureFile.fileNames(in: "attention")

/// The fourth-order central difference `(−L(θ+2ε) + 8L(θ+ε) − 8L(θ−ε) + L(θ−2ε)) / 12ε`, ε = 1e-4,
/// of `loss` along one scalar that `set` moves; `set(saved)` restores it.
private func centralDifference(at saved: Double, _ set: (Double) -> Void, _ loss: () throws -> Double) rethrows -> Double {
    let epsilon = 1e-4
    var samples: [Double] = []
    for offset in [2.0, 1.0, -1.0, -2.0] {
        set(saved + offset * epsilon)
        samples.append(try loss())
    }
    set(saved)
    return (-samples[0] + 8 * samples[1] - 8 * samples[2] + samples[3]) / (12 * epsilon)
}

/// The worst relative error `|analytic − numeric| / max(|analytic|, |numeric|, 1e-3)` over the
/// recorded pairs (absolute at 1e-9 below 1e-3, as in GradientCheckTests), with its label.
private struct WorstError {
    var error = 0.0
    var label = ""
    mutating func record(_ analytic: Double, _ numeric: Double, _ label: @autoclosure () -> String) {
        let error = abs(analytic - numeric) / max(abs(analytic), abs(numeric), 1e-3)
        if error > self.error { (self.error, self.label) = (error, label()) }
    }
}

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
        let bridge = try StateBridge<Double>(layers: L, hiddenSize: H, mapsCell: mapsCell, seed: 41)
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
}
