import Testing
@testable import RNNKit

/// The worst relative error `|analytic − numeric| / max(|analytic|, |numeric|, 1e-3)` of the
/// gradients checked, starting with every parameter of a network whose backward has just run.
struct WorstGradientError {
    private(set) var error = 0.0, label = ""

    /// Checks `network.gradients` against central differences of `loss` along every parameter.
    init(parametersOf network: RecurrentNetwork<Double>, loss: () throws -> Double) rethrows {
        let analytic = network.gradients
        for entry in network.layout.entries {
            for k in 0..<entry.count {
                let i = entry.offset + k
                record(analytic[i], try centralDifference(at: network.parameters[i], { network.parameters[i] = $0 }, loss),
                       "\(entry.name)[\(k)]")
            }
        }
    }

    mutating func record(_ analytic: Double, _ numeric: Double, _ what: @autoclosure () -> String) {
        let relative = abs(analytic - numeric) / max(abs(analytic), abs(numeric), 1e-3)
        if relative > error { (error, label) = (relative, what()) }
    }
}

/// Recurrent dropout (Gal & Ghahramani 2016): one mask per layer, direction and sequence on the
/// operand of every recurrent product, in training only.
@Suite struct RecurrentDropoutTests {
    /// Every cell at two layers, both directions, full and varied lengths, and one peephole and
    /// one layer-normalised LSTM.
    static let cases: [LayerCase] = LayerCase.all.filter { $0.layers == 2 && !$0.peepholes && !$0.projected && !$0.layerNorm }
        + [LayerCase(cell: .lstm, layers: 2, bidirectional: true, withLengths: true, peepholes: true),
           LayerCase(cell: .lstm, layers: 2, bidirectional: true, withLengths: true, layerNorm: true)]

    private func configuration(_ testCase: LayerCase, input: Int, hidden: Int, p: Double = 0.3) -> RecurrentConfiguration {
        RecurrentConfiguration(cell: testCase.cell, inputSize: input, hiddenSize: hidden, numLayers: testCase.layers,
                               bidirectional: testCase.bidirectional, peepholes: testCase.peepholes, recurrentDropout: p,
                               layerNorm: testCase.layerNorm)
    }

    /// The fused Double path against the naive reference given the same masks, forward and backward.
    @Test(arguments: cases)
    func fusedPathEqualsTheNaiveReferenceWithItsMasks(_ testCase: LayerCase) throws {
        let c = configuration(testCase, input: 3, hidden: 5)
        let network = try RecurrentNetwork<Double>(c, seed: 4)
        let (T, B) = (6, 4)
        let stateCount = c.numLayers * c.directionCount * B * 5
        let input: [Double] = randomValues(T * B * 3, seed: 1)
        let lengths = testCase.withLengths ? [3, 6, 1, 4] : nil
        let h0: [Double] = randomValues(stateCount, seed: 2, scale: 0.5)
        let c0: [Double]? = c.cell.hasCellState ? randomValues(stateCount, seed: 3, scale: 0.5) : nil
        let dY: [Double] = randomValues(T * B * c.outputSize, seed: 5)
        let dhN: [Double] = randomValues(stateCount, seed: 6)

        let fused = try network.forward(input, steps: T, batch: B, lengths: lengths, initialHidden: h0, initialCell: c0)
        let masks = try #require(network.recurrentDropoutMasks)
        #expect(masks.count == stateCount && masks.contains(0) && masks.allSatisfy { $0 == 0 || abs($0 - 1 / 0.7) < 1e-15 })
        let naive = NaiveRecurrentReference.forward(
            configuration: c, parameters: network.parameters, input: input, steps: T, batch: B, lengths: lengths,
            initialHidden: h0, initialCell: c0, recurrentMasks: masks)
        expectClose(fused.output, naive.output, tolerance: 1e-13, "output")
        expectClose(fused.finalHidden, naive.finalHidden, tolerance: 1e-13, "h_n")
        network.zeroGradients()
        let gradients = try network.backward(outputGradient: dY, finalHiddenGradient: dhN)
        let naiveGradients = NaiveRecurrentReference.backward(
            configuration: c, parameters: network.parameters, input: input, steps: T, batch: B, lengths: lengths,
            initialHidden: h0, initialCell: c0, outputGradient: dY, finalHiddenGradient: dhN, finalCellGradient: nil,
            recurrentMasks: masks)
        expectClose(network.gradients, naiveGradients.parameters, tolerance: 1e-12, "∂parameters")
        expectClose(gradients.input, naiveGradients.input, tolerance: 1e-12, "∂x")
        expectClose(gradients.initialHidden, naiveGradients.initialHidden, tolerance: 1e-12, "∂h0")

        // Without the masks the reference differs: the masks are really applied.
        let unmasked = NaiveRecurrentReference.forward(
            configuration: c, parameters: network.parameters, input: input, steps: T, batch: B, lengths: lengths,
            initialHidden: h0, initialCell: c0)
        #expect(zip(unmasked.output, fused.output).contains { abs($0 - $1) > 1e-6 })
    }

    /// Fourth-order central differences with the masks held fixed (the generators rewound before
    /// every forward), in Double.
    @Test(arguments: cases.filter { $0.bidirectional })
    func gradientsMatchFiniteDifferencesWithFixedMasks(_ testCase: LayerCase) throws {
        let c = configuration(testCase, input: 2, hidden: 3)
        let network = try RecurrentNetwork<Double>(c, seed: 21)
        network.parameters = randomValues(network.layout.totalCount, seed: 22, scale: 0.8)
        let (T, B) = (4, 3)
        let lengths = testCase.withLengths ? [2, 4, 1] : nil
        var x: [Double] = randomValues(T * B * 2, seed: 23)
        let dY: [Double] = randomValues(T * B * c.outputSize, seed: 26)
        let streams = network.dropoutGeneratorStates
        func loss() throws -> Double {
            network.dropoutGeneratorStates = streams
            let out = try network.forward(x, steps: T, batch: B, lengths: lengths)
            return zip(out.output, dY).reduce(0) { $0 + $1.0 * $1.1 }
        }
        _ = try loss()
        let analytic = try network.backward(outputGradient: dY)
        var worst = try WorstGradientError(parametersOf: network, loss: loss)
        for i in x.indices { worst.record(analytic.input[i], try centralDifference(at: x[i], { x[i] = $0 }, loss), "x[\(i)]") }
        #expect(worst.error <= 1e-6, "worst relative error \(worst.error) at \(worst.label)")
    }

    /// The path users run (Float, C kernels, packed weights, H = 300 so a step's units are split
    /// across workers) gives bitwise the same forward at 1, 2 and 3 threads, and the masks depend
    /// on the seed alone.
    @Test(arguments: [(CellKind.lstm, false), (.gru, false), (.gruResetBefore, false), (.lstm, true)])
    func theMasksAndTheForwardDoNotDependOnTheThreads(_ cell: CellKind, layerNorm: Bool) throws {
        let (T, B, I, H) = (5, 3, 7, 300)
        let c = RecurrentConfiguration(cell: cell, inputSize: I, hiddenSize: H, numLayers: 2, recurrentDropout: 0.25,
                                       layerNorm: layerNorm)
        let x: [Float] = randomValues(T * B * I, seed: 11)
        func run(threads: Int) throws -> ([Float], [Float]) {
            try withThreads(threads) {
                let network = try RecurrentNetwork<Float>(c, seed: 3)
                let out = try network.forward(x, steps: T, batch: B, lengths: [5, 2, 4])
                return (out.output, try #require(network.recurrentDropoutMasks))
            }
        }
        let (one, masks) = try run(threads: 1)
        for threads in [2, 3] {
            let (split, splitMasks) = try run(threads: threads)
            #expect(split == one, "\(threads) threads")
            #expect(splitMasks == masks)
        }
    }

    @Test func masksHaveTheirStatisticsAndAreOffInInference() throws {
        let p = 0.4
        let c = RecurrentConfiguration(cell: .gru, inputSize: 2, hiddenSize: 50, recurrentDropout: p)
        let network = try RecurrentNetwork<Float>(c, seed: 9)
        let (T, B) = (3, 200)
        let x: [Float] = randomValues(T * B * 2, seed: 1)
        let first = try network.forward(x, steps: T, batch: B)
        let masks = try #require(network.recurrentDropoutMasks)
        let dropped = Double(masks.filter { $0 == 0 }.count) / Double(masks.count)
        // 10,000 Bernoulli(0.4) draws: standard deviation 0.0049.
        #expect(abs(dropped - p) < 0.02, "dropped fraction \(dropped)")
        #expect(masks.allSatisfy { $0 == 0 || $0 == Float(1 / (1 - p)) })
        // A new training forward draws new masks; the same seed draws the same ones.
        _ = try network.forward(x, steps: T, batch: B)
        #expect(try #require(network.recurrentDropoutMasks) != masks)
        let again = try RecurrentNetwork<Float>(c, seed: 9)
        #expect(try again.forward(x, steps: T, batch: B).output == first.output)
        // Inference ignores recurrent dropout: the outputs of the same weights without it.
        network.isTraining = false
        let plain = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .gru, inputSize: 2, hiddenSize: 50), seed: 9)
        plain.parameters = network.parameters
        plain.isTraining = false
        #expect(try network.forward(x, steps: T, batch: B).output == plain.forward(x, steps: T, batch: B).output)
        // Streaming steps are inference: they equal the network without recurrent dropout's.
        var state = try network.makeState(batch: B), plainState = try plain.makeState(batch: B)
        let firstStep = Array(x[0..<B * 2])
        #expect(try network.step(firstStep, state: &state) == plain.step(firstStep, state: &plainState))
    }

    @Test func outOfRangeProbabilitiesAreRefused() {
        for p in [-0.1, 1, .nan] {
            #expect {
                try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 3, recurrentDropout: p))
            } throws: { error in
                (error as? RNNKitError)?.message == "recurrent dropout \(p) is out of range; expected 0 ≤ p < 1"
            }
        }
    }
}

/// Zoneout (Krueger et al. 2017): at every training step each unit keeps its previous `h` (and,
/// for the LSTM, `c`) with its probability; inference runs the plain cell.
@Suite struct ZoneoutTests {
    static let cases = RecurrentDropoutTests.cases

    private func configuration(_ testCase: LayerCase, input: Int, hidden: Int, recurrentDropout: Double = 0) -> RecurrentConfiguration {
        RecurrentConfiguration(cell: testCase.cell, inputSize: input, hiddenSize: hidden, numLayers: testCase.layers,
                               bidirectional: testCase.bidirectional, peepholes: testCase.peepholes,
                               recurrentDropout: recurrentDropout, zoneoutHidden: 0.3,
                               zoneoutCell: testCase.cell == .lstm ? 0.2 : 0, layerNorm: testCase.layerNorm)
    }

    /// The fused Double path against the naive reference given the same masks, forward and
    /// backward, alone and with recurrent dropout.
    @Test(arguments: cases)
    func fusedPathEqualsTheNaiveReferenceWithItsMasks(_ testCase: LayerCase) throws {
        for recurrentDropout in [0, 0.25] {
            let c = configuration(testCase, input: 3, hidden: 5, recurrentDropout: recurrentDropout)
            let network = try RecurrentNetwork<Double>(c, seed: 4)
            let (T, B) = (6, 4)
            let stateCount = c.numLayers * c.directionCount * B * 5
            let input: [Double] = randomValues(T * B * 3, seed: 1)
            let lengths = testCase.withLengths ? [3, 6, 1, 4] : nil
            let h0: [Double] = randomValues(stateCount, seed: 2, scale: 0.5)
            let c0: [Double]? = c.cell.hasCellState ? randomValues(stateCount, seed: 3, scale: 0.5) : nil
            let dY: [Double] = randomValues(T * B * c.outputSize, seed: 5)
            let dhN: [Double] = randomValues(stateCount, seed: 6)
            let dcN: [Double]? = c.cell.hasCellState ? randomValues(stateCount, seed: 7) : nil

            let fused = try network.forward(input, steps: T, batch: B, lengths: lengths, initialHidden: h0, initialCell: c0)
            let masks = try #require(network.zoneoutMasks)
            #expect(masks.hidden.contains(1) && masks.hidden.contains(0))
            #expect(masks.cell.contains(1) == (c.cell == .lstm))
            let recurrentMasks = network.recurrentDropoutMasks
            let naive = NaiveRecurrentReference.forward(
                configuration: c, parameters: network.parameters, input: input, steps: T, batch: B, lengths: lengths,
                initialHidden: h0, initialCell: c0, recurrentMasks: recurrentMasks, zoneoutMasks: masks)
            expectClose(fused.output, naive.output, tolerance: 1e-13, "output")
            expectClose(fused.finalHidden, naive.finalHidden, tolerance: 1e-13, "h_n")
            if let cN = fused.finalCell { expectClose(cN, naive.finalCell!, tolerance: 1e-13, "c_n") }
            network.zeroGradients()
            let gradients = try network.backward(outputGradient: dY, finalHiddenGradient: dhN, finalCellGradient: dcN)
            let naiveGradients = NaiveRecurrentReference.backward(
                configuration: c, parameters: network.parameters, input: input, steps: T, batch: B, lengths: lengths,
                initialHidden: h0, initialCell: c0, outputGradient: dY, finalHiddenGradient: dhN, finalCellGradient: dcN,
                recurrentMasks: recurrentMasks, zoneoutMasks: masks)
            expectClose(network.gradients, naiveGradients.parameters, tolerance: 1e-12, "∂parameters")
            expectClose(gradients.input, naiveGradients.input, tolerance: 1e-12, "∂x")
            expectClose(gradients.initialHidden, naiveGradients.initialHidden, tolerance: 1e-12, "∂h0")
            if let dc0 = gradients.initialCell { expectClose(dc0, naiveGradients.initialCell!, tolerance: 1e-12, "∂c0") }

            let plain = NaiveRecurrentReference.forward(
                configuration: c, parameters: network.parameters, input: input, steps: T, batch: B, lengths: lengths,
                initialHidden: h0, initialCell: c0, recurrentMasks: recurrentMasks)
            #expect(zip(plain.output, fused.output).contains { abs($0 - $1) > 1e-6 }, "zoneout changes the outputs")
        }
    }

    @Test(arguments: cases.filter { $0.bidirectional })
    func gradientsMatchFiniteDifferencesWithFixedMasks(_ testCase: LayerCase) throws {
        let c = configuration(testCase, input: 2, hidden: 3)
        let network = try RecurrentNetwork<Double>(c, seed: 21)
        network.parameters = randomValues(network.layout.totalCount, seed: 22, scale: 0.8)
        let (T, B) = (4, 3)
        let stateCount = c.numLayers * c.directionCount * B * 3
        let lengths = testCase.withLengths ? [2, 4, 1] : nil
        var x: [Double] = randomValues(T * B * 2, seed: 23)
        var c0: [Double]? = c.cell.hasCellState ? randomValues(stateCount, seed: 24, scale: 0.5) : nil
        let dY: [Double] = randomValues(T * B * c.outputSize, seed: 26)
        let dcN: [Double]? = c.cell.hasCellState ? randomValues(stateCount, seed: 27) : nil
        let streams = network.dropoutGeneratorStates
        func loss() throws -> Double {
            network.dropoutGeneratorStates = streams
            let out = try network.forward(x, steps: T, batch: B, lengths: lengths, initialCell: c0)
            var total = zip(out.output, dY).reduce(0) { $0 + $1.0 * $1.1 }
            if let cN = out.finalCell, let dcN { total += zip(cN, dcN).reduce(0) { $0 + $1.0 * $1.1 } }
            return total
        }
        _ = try loss()
        let analytic = try network.backward(outputGradient: dY, finalCellGradient: dcN)
        var worst = try WorstGradientError(parametersOf: network, loss: loss)
        for i in x.indices { worst.record(analytic.input[i], try centralDifference(at: x[i], { x[i] = $0 }, loss), "x[\(i)]") }
        if c0 != nil {
            for i in 0..<stateCount {
                worst.record(analytic.initialCell![i], try centralDifference(at: c0![i], { c0![i] = $0 }, loss), "c0[\(i)]")
            }
        }
        #expect(worst.error <= 1e-6, "worst relative error \(worst.error) at \(worst.label)")
    }

    @Test(arguments: [(CellKind.lstm, false), (.gru, false), (.gruResetBefore, false), (.lstm, true)])
    func theMasksAndTheForwardDoNotDependOnTheThreads(_ cell: CellKind, layerNorm: Bool) throws {
        let (T, B, I, H) = (5, 3, 7, 300)
        let c = RecurrentConfiguration(cell: cell, inputSize: I, hiddenSize: H, numLayers: 2, recurrentDropout: 0.1,
                                       zoneoutHidden: 0.2, zoneoutCell: cell == .lstm ? 0.1 : 0, layerNorm: layerNorm)
        let x: [Float] = randomValues(T * B * I, seed: 11)
        let dY: [Float] = randomValues(T * B * H, seed: 12)
        func run(threads: Int) throws -> ([Float], [Float], [Float]) {
            try withThreads(threads) {
                let network = try RecurrentNetwork<Float>(c, seed: 3)
                let out = try network.forward(x, steps: T, batch: B, lengths: [5, 2, 4])
                let masks = try #require(network.zoneoutMasks)
                let gradients = try network.backward(outputGradient: dY)
                return (out.output, masks.hidden + masks.cell, gradients.input)
            }
        }
        let (one, masks, dx) = try run(threads: 1)
        for threads in [2, 3] {
            let (split, splitMasks, splitDX) = try run(threads: threads)
            #expect(split == one, "\(threads) threads")
            #expect(splitMasks == masks)
            // ∂x adds products split by rows, whose float32 rounding may differ with the split;
            // the layer-normalised LSTM's backward divides by standard deviations, which scales
            // that rounding (1.3e-5 seen), so it gets 1e-4.
            expectClose(splitDX.map(Double.init), dx.map(Double.init), tolerance: layerNorm ? 1e-4 : 1e-5,
                        "∂x at \(threads) threads")
        }
    }

    @Test func masksHaveTheirStatisticsAndInferenceIsThePlainCell() throws {
        let c = RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 50, zoneoutHidden: 0.3, zoneoutCell: 0.1)
        let network = try RecurrentNetwork<Float>(c, seed: 9)
        let (T, B) = (4, 100)
        let x: [Float] = randomValues(T * B * 2, seed: 1)
        _ = try network.forward(x, steps: T, batch: B)
        let masks = try #require(network.zoneoutMasks)
        // 20,000 draws each: standard deviations 0.0032 and 0.0021.
        let kept = Double(masks.hidden.filter { $0 == 1 }.count) / Double(masks.hidden.count)
        let keptCell = Double(masks.cell.filter { $0 == 1 }.count) / Double(masks.cell.count)
        #expect(abs(kept - 0.3) < 0.015 && abs(keptCell - 0.1) < 0.01, "kept fractions \(kept), \(keptCell)")
        #expect(masks.hidden.allSatisfy { $0 == 0 || $0 == 1 })
        // A fresh mask every step: the steps' masks differ.
        let stepSize = B * 50
        #expect(Array(masks.hidden[0..<stepSize]) != Array(masks.hidden[stepSize..<2 * stepSize]))
        network.isTraining = false
        let plain = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 50), seed: 9)
        plain.parameters = network.parameters
        plain.isTraining = false
        #expect(try network.forward(x, steps: T, batch: B).output == plain.forward(x, steps: T, batch: B).output)
    }

    @Test func badZoneoutsAreRefused() {
        #expect {
            try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .gru, inputSize: 2, hiddenSize: 3, zoneoutCell: 0.1))
        } throws: { ($0 as? RNNKitError)?.message == "zoneout of the cell state is an LSTM option; a gru cell has no cell state" }
        #expect {
            try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 3, zoneoutHidden: 1))
        } throws: { ($0 as? RNNKitError)?.message == "zoneout of the hidden state 1.0 is out of range; expected 0 ≤ p < 1" }
    }
}
