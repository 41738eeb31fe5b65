import Testing
@testable import RNNKit

/// Finite-difference checks of the hand-derived backward pass, in Double.
///
/// The loss is `L = Σ y ⊙ dY + Σ h_n ⊙ dh_n (+ Σ c_n ⊙ dc_n)` with fixed random `dY`, `dh_n`, `dc_n`,
/// so `∂L/∂y = dY` and so on. Each derivative is the fourth-order central difference
/// `(−L(θ+2ε) + 8L(θ+ε) − 8L(θ−ε) + L(θ−2ε)) / 12ε` with ε = 1e-4: truncation error O(ε⁴) and
/// roundoff about 1e-16·|L|/ε, both near 1e-12. The relative error is
/// `|analytic − numeric| / max(|analytic|, |numeric|, 1e-3)`: below 1e-3 in magnitude the
/// comparison becomes absolute at 1e-9.
@Suite struct GradientCheckTests {
    static let epsilon = 1e-4

    @Test(arguments: LayerCase.all)
    func everyGradientMatchesFiniteDifferences(_ testCase: LayerCase) throws {
        let configuration = testCase.configuration(inputSize: 2, hiddenSize: 3)
        let network = try RecurrentNetwork<Double>(configuration, seed: 21)
        // Larger weights than the default make every gate work away from its linear regime.
        network.parameters = randomValues(network.layout.totalCount, seed: 22, scale: 0.8)
        let (T, B) = (4, 3)
        let hiddenCount = configuration.hiddenStateCount(batch: B), cellCount = configuration.cellStateCount(batch: B)
        let lengths = testCase.withLengths ? [2, 4, 1] : nil
        var x: [Double] = randomValues(T * B * 2, seed: 23)
        var h0: [Double] = randomValues(hiddenCount, seed: 24, scale: 0.5)
        var c0: [Double]? = testCase.cell == .lstm ? randomValues(cellCount, seed: 25, scale: 0.5) : nil
        let dY: [Double] = randomValues(T * B * configuration.outputSize, seed: 26)
        let dhN: [Double] = randomValues(hiddenCount, seed: 27)
        let dcN: [Double]? = testCase.cell == .lstm ? randomValues(cellCount, seed: 28) : nil

        func loss() throws -> Double {
            let out = try network.forward(x, steps: T, batch: B, lengths: lengths, initialHidden: h0, initialCell: c0)
            var total = zip(out.output, dY).reduce(0) { $0 + $1.0 * $1.1 }
            total += zip(out.finalHidden, dhN).reduce(0) { $0 + $1.0 * $1.1 }
            if let cN = out.finalCell, let dcN { total += zip(cN, dcN).reduce(0) { $0 + $1.0 * $1.1 } }
            return total
        }

        _ = try network.forward(x, steps: T, batch: B, lengths: lengths, initialHidden: h0, initialCell: c0)
        let analytic = try network.backward(outputGradient: dY, finalHiddenGradient: dhN, finalCellGradient: dcN)
        let parameterGradients = network.gradients

        var worst = (error: 0.0, label: "")
        /// The fourth-order central difference of the loss along one scalar, restored afterwards.
        func derivative(at saved: Double, _ set: (Double) -> Void) throws -> Double {
            var samples: [Double] = []
            for offset in [2.0, 1.0, -1.0, -2.0] {
                set(saved + offset * Self.epsilon)
                samples.append(try loss())
            }
            set(saved)
            return (-samples[0] + 8 * samples[1] - 8 * samples[2] + samples[3]) / (12 * Self.epsilon)
        }
        func record(_ analyticValue: Double, _ numericValue: Double, _ label: @autoclosure () -> String) {
            let error = abs(analyticValue - numericValue) / max(abs(analyticValue), abs(numericValue), 1e-3)
            if error > worst.error { worst = (error, label()) }
        }
        for entry in network.layout.entries {
            for k in 0..<entry.count {
                let i = entry.offset + k
                let numericValue = try derivative(at: network.parameters[i]) { network.parameters[i] = $0 }
                record(parameterGradients[i], numericValue, "\(entry.name)[\(k)]")
            }
        }
        for i in x.indices {
            record(analytic.input[i], try derivative(at: x[i]) { x[i] = $0 }, "x[\(i)]")
        }
        for i in h0.indices {
            record(analytic.initialHidden[i], try derivative(at: h0[i]) { h0[i] = $0 }, "h0[\(i)]")
        }
        if let cell = c0 {
            for i in cell.indices {
                record(analytic.initialCell![i], try derivative(at: cell[i]) { c0![i] = $0 }, "c0[\(i)]")
            }
        }
        #expect(worst.error <= 1e-6, "worst relative error \(worst.error) at \(worst.label)")
    }

    @Test func paddedOutputGradientsAreIgnored() throws {
        let network = try RecurrentNetwork<Double>(
            RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 3, bidirectional: true), seed: 3)
        let (T, B, O) = (4, 2, 6)
        let x: [Double] = randomValues(T * B * 2, seed: 1)
        var dY: [Double] = randomValues(T * B * O, seed: 2)
        _ = try network.forward(x, steps: T, batch: B, lengths: [4, 2])
        let clean = try network.backward(outputGradient: dY)
        let cleanParameters = network.gradients
        network.zeroGradients()
        for t in 2..<T { for j in 0..<O { dY[(t * B + 1) * O + j] = 1000 } }  // row 1 is padded at t ≥ 2
        _ = try network.forward(x, steps: T, batch: B, lengths: [4, 2])
        let noisy = try network.backward(outputGradient: dY)
        #expect(noisy.input == clean.input)
        #expect(network.gradients == cleanParameters)
        #expect(noisy.input[(3 * B + 1) * 2] == 0, "a padded input gets no gradient")
    }
}
