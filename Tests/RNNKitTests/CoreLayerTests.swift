import Foundation
import Testing
@testable import RNNKit

/// The fused network against the naive per-gate reference, plus shapes, edge cases and streaming.
@Suite struct CoreLayerTests {
    @Test(arguments: LayerCase.all)
    func fusedForwardEqualsNaiveReference(_ testCase: LayerCase) throws {
        let configuration = testCase.configuration(inputSize: 3, hiddenSize: 5)
        let network = try RecurrentNetwork<Double>(configuration, seed: 11)
        let (T, B) = (6, 4)
        let input: [Double] = randomValues(T * B * 3, seed: 1)
        let lengths = testCase.withLengths ? [3, 6, 1, 4] : nil
        let h0: [Double] = randomValues(configuration.hiddenStateCount(batch: B), seed: 2, scale: 0.5)
        let c0: [Double]? = testCase.cell == .lstm ? randomValues(configuration.cellStateCount(batch: B), seed: 3, scale: 0.5) : nil

        let fused = try network.forward(input, steps: T, batch: B, lengths: lengths, initialHidden: h0, initialCell: c0)
        let naive = NaiveRecurrentReference.forward(
            configuration: configuration, parameters: network.parameters, input: input,
            steps: T, batch: B, lengths: lengths, initialHidden: h0, initialCell: c0)
        expectClose(fused.output, naive.output, tolerance: 1e-13, "output")
        expectClose(fused.finalHidden, naive.finalHidden, tolerance: 1e-13, "h_n")
        if let cell = fused.finalCell { expectClose(cell, naive.finalCell!, tolerance: 1e-13, "c_n") }

        // Inference mode runs the same numbers through the small workspace.
        network.isTraining = false
        let inference = try network.forward(input, steps: T, batch: B, lengths: lengths, initialHidden: h0, initialCell: c0)
        #expect(inference.output == fused.output)
        #expect(inference.finalHidden == fused.finalHidden)
    }

    /// The naive backward is itself held to the fused Double backward (which the finite-difference
    /// checks hold to the truth), so it can be the oracle of the Float path below.
    @Test(arguments: LayerCase.all)
    func naiveBackwardEqualsFusedBackwardInDouble(_ testCase: LayerCase) throws {
        let configuration = testCase.configuration(inputSize: 3, hiddenSize: 5)
        let network = try RecurrentNetwork<Double>(configuration, seed: 12)
        let (T, B) = (6, 4)
        let hiddenCount = configuration.hiddenStateCount(batch: B), cellCount = configuration.cellStateCount(batch: B)
        let input: [Double] = randomValues(T * B * 3, seed: 4)
        let lengths = testCase.withLengths ? [3, 6, 1, 4] : nil
        let h0: [Double] = randomValues(hiddenCount, seed: 5, scale: 0.5)
        let c0: [Double]? = testCase.cell == .lstm ? randomValues(cellCount, seed: 6, scale: 0.5) : nil
        let dY: [Double] = randomValues(T * B * configuration.outputSize, seed: 7)
        let dhN: [Double] = randomValues(hiddenCount, seed: 8)
        let dcN: [Double]? = testCase.cell == .lstm ? randomValues(cellCount, seed: 9) : nil

        _ = try network.forward(input, steps: T, batch: B, lengths: lengths, initialHidden: h0, initialCell: c0)
        network.zeroGradients()
        let fused = try network.backward(outputGradient: dY, finalHiddenGradient: dhN, finalCellGradient: dcN)
        let naive = NaiveRecurrentReference.backward(
            configuration: configuration, parameters: network.parameters, input: input, steps: T, batch: B,
            lengths: lengths, initialHidden: h0, initialCell: c0,
            outputGradient: dY, finalHiddenGradient: dhN, finalCellGradient: dcN)
        expectClose(network.gradients, naive.parameters, tolerance: 1e-12, "∂parameters")
        expectClose(fused.input, naive.input, tolerance: 1e-12, "∂x")
        expectClose(fused.initialHidden, naive.initialHidden, tolerance: 1e-12, "∂h0")
        if let dc0 = fused.initialCell { expectClose(dc0, naive.initialCell!, tolerance: 1e-12, "∂c0") }
    }

    /// The path users run — Float, the C cell kernels, packed weights where the CPU has them, the
    /// chunked input projection — against the naive reference computed in Double from the same
    /// Float parameters, forward and backward. H = 40 leaves a partial 16-unit panel per gate.
    @Test(arguments: LayerCase.all)
    func floatPathMatchesTheNaiveReference(_ testCase: LayerCase) throws {
        let (T, B, I, H) = (7, 5, 6, 40)
        let configuration = testCase.configuration(inputSize: I, hiddenSize: H)
        let network = try RecurrentNetwork<Float>(configuration, seed: 13)
        let hiddenCount = configuration.hiddenStateCount(batch: B), cellCount = configuration.cellStateCount(batch: B)
        let input: [Float] = randomValues(T * B * I, seed: 14)
        let lengths = testCase.withLengths ? [3, 7, 1, 5, 6] : nil
        let h0: [Float] = randomValues(hiddenCount, seed: 15, scale: 0.5)
        let c0: [Float]? = testCase.cell == .lstm ? randomValues(cellCount, seed: 16, scale: 0.5) : nil
        let dY: [Float] = randomValues(T * B * configuration.outputSize, seed: 17)
        let dhN: [Float] = randomValues(hiddenCount, seed: 18)
        let dcN: [Float]? = testCase.cell == .lstm ? randomValues(cellCount, seed: 19) : nil

        let out = try network.forward(input, steps: T, batch: B, lengths: lengths, initialHidden: h0, initialCell: c0)
        network.zeroGradients()
        let grads = try network.backward(outputGradient: dY, finalHiddenGradient: dhN, finalCellGradient: dcN)

        func double(_ values: [Float]) -> [Double] { values.map(Double.init) }
        let parameters = double(network.parameters)
        let naiveOut = NaiveRecurrentReference.forward(
            configuration: configuration, parameters: parameters, input: double(input), steps: T, batch: B,
            lengths: lengths, initialHidden: double(h0), initialCell: c0.map(double))
        let naive = NaiveRecurrentReference.backward(
            configuration: configuration, parameters: parameters, input: double(input), steps: T, batch: B,
            lengths: lengths, initialHidden: double(h0), initialCell: c0.map(double),
            outputGradient: double(dY), finalHiddenGradient: double(dhN), finalCellGradient: dcN.map(double))
        // Relative to max(1, |reference|): float32 rounding over sums of up to G·H + I terms per step.
        func expectNear(_ actual: [Float], _ expected: [Double], _ tolerance: Double, _ label: String,
                        name: (Int) -> String = { "[\($0)]" }) {
            let errors = zip(actual, expected).map { abs(Double($0) - $1) / max(1, abs($1)) }
            let worst = errors.indices.max { errors[$0] < errors[$1] }.map { ($0, errors[$0]) } ?? (0, 0)
            #expect(worst.1 <= tolerance, "\(testCase.testDescription) \(label): max relative difference \(worst.1) at \(name(worst.0))")
        }
        expectNear(out.output, naiveOut.output, 1e-5, "y")
        expectNear(out.finalHidden, naiveOut.finalHidden, 1e-5, "h_n")
        if let cN = out.finalCell { expectNear(cN, naiveOut.finalCell!, 1e-5, "c_n") }
        // The layer-normalised LSTM's gradients pass two normalisations a layer (each divides by a
        // standard deviation of float32 sums): 1.1e-4 measured at worst here, so 2e-4 for it.
        let gradientTolerance = testCase.layerNorm ? 2e-4 : 1e-4
        expectNear(network.gradients, naive.parameters, gradientTolerance, "∂parameters") { index in
            let entry = network.layout.entries.last { $0.offset <= index }!
            return "\(entry.name)[\(index - entry.offset)]"
        }
        expectNear(grads.input, naive.input, gradientTolerance, "∂x")
        expectNear(grads.initialHidden, naive.initialHidden, gradientTolerance, "∂h0")
        if let dc0 = grads.initialCell { expectNear(dc0, naive.initialCell!, gradientTolerance, "∂c0") }
    }

    /// The closed-form counts that guard allocations (and the C API, and file checks) are the layout's.
    @Test(arguments: LayerCase.all)
    func closedFormCountsEqualTheLayout(_ testCase: LayerCase) throws {
        var configuration = testCase.configuration(inputSize: 7, hiddenSize: 5)
        configuration.numLayers += 1
        let layout = ParameterLayout(configuration)
        #expect(try configuration.parameterCount() == layout.totalCount)
        #expect(try configuration.parameterTensorCount() == layout.entries.count)
    }

    @Test func paddedOutputsAreZeroAndFinalStatesComeFromLastValidStep() throws {
        let configuration = RecurrentConfiguration(cell: .gru, inputSize: 2, hiddenSize: 3, bidirectional: true)
        let network = try RecurrentNetwork<Double>(configuration, seed: 5)
        let (T, B) = (5, 2)
        let input: [Double] = randomValues(T * B * 2, seed: 9)
        let packed = try network.forward(input, steps: T, batch: B, lengths: [2, 5])
        for t in 2..<T {
            let row = packed.output[(t * B + 0) * 6..<(t * B + 1) * 6]
            #expect(row.allSatisfy { $0 == 0 }, "row 0 at t = \(t) must be zero past its length 2")
        }
        // Row 0 alone with T = 2 gives the same final states as the padded batch.
        let single = try network.forward(
            (0..<2).flatMap { t in Array(input[(t * B) * 2..<(t * B + 1) * 2]) }, steps: 2, batch: 1)
        #expect(maxAbsoluteDifference([packed.finalHidden[0..<3], packed.finalHidden[6..<9]].flatMap { $0 },
                                      single.finalHidden) < 1e-15)
    }

    @Test func batchFirstIsTheTransposeOfTimeMajor() throws {
        var configuration = RecurrentConfiguration(cell: .lstm, inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true)
        let timeMajor = try RecurrentNetwork<Double>(configuration, seed: 3)
        configuration.batchFirst = true
        let batchFirst = try RecurrentNetwork<Double>(configuration, seed: 3)
        let (T, B, I, O) = (4, 3, 3, 8)
        let x: [Double] = randomValues(T * B * I, seed: 4)
        let xBatchFirst = swapTimeAndBatch(x, steps: T, batch: B, features: I)
        let a = try timeMajor.forward(x, steps: T, batch: B, lengths: [4, 2, 3])
        let b = try batchFirst.forward(xBatchFirst, steps: T, batch: B, lengths: [4, 2, 3])
        let aBatchFirst = swapTimeAndBatch(a.output, steps: T, batch: B, features: O)
        #expect(aBatchFirst == b.output)
        #expect(a.finalHidden == b.finalHidden)
        let dy: [Double] = randomValues(T * B * O, seed: 5)
        let dyBatchFirst = swapTimeAndBatch(dy, steps: T, batch: B, features: O)
        let ga = try timeMajor.backward(outputGradient: dy)
        let gb = try batchFirst.backward(outputGradient: dyBatchFirst)
        let gaBatchFirst = swapTimeAndBatch(ga.input, steps: T, batch: B, features: I)
        #expect(gaBatchFirst == gb.input)
        #expect(timeMajor.gradients == batchFirst.gradients)
    }

    @Test(arguments: [(CellKind.lstm, false, 0), (.lstm, true, 0), (.lstm, true, 3), (.gru, false, 0),
                      (.gruResetBefore, false, 0), (.rnnTanh, false, 0)])
    func streamingOneStepAtATimeEqualsOneCall(_ cell: CellKind, peepholes: Bool, projection: Int) throws {
        let network = try RecurrentNetwork<Float>(
            RecurrentConfiguration(cell: cell, inputSize: 3, hiddenSize: 4, numLayers: 2, peepholes: peepholes,
                                   projectionSize: projection), seed: 8)
        let (T, B) = (7, 2)
        let x: [Float] = randomValues(T * B * 3, seed: 6)
        let whole = try network.forward(x, steps: T, batch: B)
        var state = try network.makeState(batch: B)
        #expect(state.hidden.count == 2 * B * (projection > 0 ? projection : 4))
        var streamed: [Float] = []
        for t in 0..<T {
            streamed += try network.step(Array(x[t * B * 3..<(t + 1) * B * 3]), state: &state)
        }
        #expect(streamed == whole.output)
        #expect(state.hidden == whole.finalHidden)
        #expect(state.cell == whole.finalCell)
    }

    @Test func streamingDoesNotDisturbAPendingBackward() throws {
        let network = try RecurrentNetwork<Double>(RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 3), seed: 1)
        let x: [Double] = randomValues(4 * 2 * 2, seed: 2)
        let dy: [Double] = randomValues(4 * 2 * 3, seed: 3)
        _ = try network.forward(x, steps: 4, batch: 2, lengths: [4, 2])
        let expected = try network.backward(outputGradient: dy)
        let reference = network.gradients
        network.zeroGradients()
        _ = try network.forward(x, steps: 4, batch: 2, lengths: [4, 2])
        var state = try network.makeState(batch: 3)
        _ = try network.step(randomValues(3 * 2, seed: 4), state: &state)
        let actual = try network.backward(outputGradient: dy)
        #expect(actual.input == expected.input)
        #expect(network.gradients == reference)
    }

    @Test func edgeSizesOfOne() throws {
        // T = 1, B = 1, H = 1, I = 1 at once and separately, all against the naive path.
        for (T, B, I, H) in [(1, 1, 1, 1), (1, 3, 2, 2), (4, 1, 2, 3), (3, 2, 1, 4), (3, 2, 4, 1)] {
            for cell in CellKind.allCases {
                let configuration = RecurrentConfiguration(cell: cell, inputSize: I, hiddenSize: H, bidirectional: true)
                let network = try RecurrentNetwork<Double>(configuration, seed: 2)
                let x: [Double] = randomValues(T * B * I, seed: 3)
                let fused = try network.forward(x, steps: T, batch: B)
                let naive = NaiveRecurrentReference.forward(
                    configuration: configuration, parameters: network.parameters, input: x,
                    steps: T, batch: B, lengths: nil, initialHidden: nil, initialCell: nil)
                expectClose(fused.output, naive.output, tolerance: 1e-13, "\(cell) T\(T) B\(B) I\(I) H\(H)")
            }
        }
    }

    @Test func lengthsOfOneAndLengthsOfTAreHandled() throws {
        let network = try RecurrentNetwork<Double>(RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 3, bidirectional: true), seed: 4)
        let (T, B) = (5, 3)
        let x: [Double] = randomValues(T * B * 2, seed: 1)
        // Every length equal to T is the same as no lengths at all.
        let full = try network.forward(x, steps: T, batch: B)
        let allT = try network.forward(x, steps: T, batch: B, lengths: [5, 5, 5])
        #expect(full.output == allT.output)
        #expect(full.finalHidden == allT.finalHidden)
        // Every length 1: only t = 0 is valid and both directions see the same single step.
        let ones = try network.forward(x, steps: T, batch: B, lengths: [1, 1, 1])
        let first = try network.forward(Array(x[0..<B * 2]), steps: 1, batch: B)
        #expect(Array(ones.output[0..<B * 6]) == first.output)
        #expect(ones.output[(B * 6)...].allSatisfy { $0 == 0 })
        #expect(ones.finalHidden == first.finalHidden)
    }

    @Test func badArgumentsAreRejectedWithAClearError() throws {
        let network = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .gru, inputSize: 2, hiddenSize: 3))
        let x = [Float](repeating: 0, count: 4 * 2 * 2)
        #expect(throws: RNNKitError(.invalidArgument, "sequence length 0 at batch row 1 is out of range; expected 1…4")) {
            try network.forward(x, steps: 4, batch: 2, lengths: [4, 0])
        }
        #expect(throws: RNNKitError(.invalidArgument, "sequence length 5 at batch row 0 is out of range; expected 1…4")) {
            try network.forward(x, steps: 4, batch: 2, lengths: [5, 1])
        }
        #expect(throws: RNNKitError(.shapeMismatch, "expected 2 sequence lengths (one per batch row), got 1")) {
            try network.forward(x, steps: 4, batch: 2, lengths: [4])
        }
        #expect(throws: RNNKitError(.invalidArgument, "sequence length T must be at least 1, got 0")) {
            try network.forward([], steps: 0, batch: 2)
        }
        #expect(throws: RNNKitError(.shapeMismatch, "expected input with 14 elements [T, B, I] = [7, 1, 2], got 16")) {
            try network.forward(x, steps: 7, batch: 1)
        }
        #expect(throws: RNNKitError(.invalidArgument, "a cell state (c0/c_n) is only for LSTM, not gru")) {
            try network.forward(x, steps: 4, batch: 2, initialCell: [Float](repeating: 0, count: 6))
        }
        #expect(throws: RNNKitError.self) { try network.forward(x, steps: Int.max / 2, batch: 4) }
        #expect(throws: RNNKitError.self) {
            try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .lstm, inputSize: 1 << 40, hiddenSize: 1 << 20))
        }
        #expect(throws: RNNKitError.self) { try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .lstm, inputSize: 0, hiddenSize: 3)) }
        #expect(throws: RNNKitError(.invalidState, "backward needs a forward in training mode first (one backward per forward)")) {
            try network.backward(outputGradient: [])
        }
        _ = try network.forward(x, steps: 4, batch: 2)
        _ = try network.backward(outputGradient: [Float](repeating: 1, count: 4 * 2 * 3))
        #expect(throws: RNNKitError.self, "a second backward would read overwritten activations") {
            try network.backward(outputGradient: [Float](repeating: 1, count: 4 * 2 * 3))
        }
        #expect(throws: RNNKitError.self) { try network.setParameter(named: "weight_ih_l0", to: [Float](repeating: 0, count: 17)) }
        #expect(throws: RNNKitError.self) { try network.parameter(named: "weight_ih_l1") }
        let bidirectional = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 3, bidirectional: true))
        #expect(throws: RNNKitError.self) { try bidirectional.makeState() }
    }

    @Test func parameterNamesAndShapesFollowPyTorch() throws {
        let network = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .lstm, inputSize: 10, hiddenSize: 20, numLayers: 2, bidirectional: true))
        #expect(network.parameterNames == [
            "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
            "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
            "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
            "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse",
        ])
        #expect(network.layout.entry(named: "weight_ih_l0")?.shape == [80, 10])
        #expect(network.layout.entry(named: "weight_ih_l1_reverse")?.shape == [80, 40])
        #expect(network.layout.entry(named: "weight_hh_l1")?.shape == [80, 20])
        #expect(network.layout.entry(named: "bias_hh_l0_reverse")?.shape == [80])
    }

    @Test func seededInitialisationIsReproducibleAndInRange() throws {
        let configuration = RecurrentConfiguration(cell: .gru, inputSize: 3, hiddenSize: 16)
        let a = try RecurrentNetwork<Float>(configuration, seed: 42)
        let b = try RecurrentNetwork<Float>(configuration, seed: 42)
        let c = try RecurrentNetwork<Float>(configuration, seed: 43)
        let d = try RecurrentNetwork<Double>(configuration, seed: 42)
        #expect(a.parameters == b.parameters)
        #expect(a.parameters != c.parameters)
        #expect(zip(a.parameters, d.parameters).allSatisfy { $0 == Float($1) }, "Float weights are the Double weights rounded")
        #expect(a.parameters.allSatisfy { abs($0) <= 0.25 }, "U(−1/√H, 1/√H) with H = 16")
        #expect(Set(a.parameters.map { $0 > 0 }).count == 2)
    }

    @Test func generatorIsSplitMix64() {
        // Published SplitMix64 outputs for seed 0.
        var generator = SeededGenerator(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(generator.next() == 0x06C4_5D18_8009_454F)
    }

    @Test func zeroGradientsClearsAndBackwardAccumulates() throws {
        let network = try RecurrentNetwork<Double>(RecurrentConfiguration(cell: .rnnRelu, inputSize: 2, hiddenSize: 3))
        let x: [Double] = randomValues(3 * 2 * 2, seed: 1)
        let dy: [Double] = randomValues(3 * 2 * 3, seed: 2)
        _ = try network.forward(x, steps: 3, batch: 2)
        _ = try network.backward(outputGradient: dy)
        let once = network.gradients
        _ = try network.forward(x, steps: 3, batch: 2)
        _ = try network.backward(outputGradient: dy)
        expectClose(network.gradients, once.map { 2 * $0 }, tolerance: 1e-14, "accumulated gradients")
        network.zeroGradients()
        #expect(network.gradients.allSatisfy { $0 == 0 })
    }
}

/// The dropout between layers (PyTorch's `dropout`): a 2-layer network equals its two layers run
/// one after the other with a `Dropout` between them drawing from the same stream, forward and
/// backward, and it is off in inference, absent after the top layer, and kept in network files.
@Suite struct InterLayerDropoutTests {
    @Test(arguments: [CellKind.lstm, .gru])
    func twoLayersEqualTheirLayersWithDropoutBetween(_ cell: CellKind) throws {
        let (T, B, I, H, p) = (5, 3, 4, 6, 0.4)
        let stacked = try RecurrentNetwork<Double>(
            RecurrentConfiguration(cell: cell, inputSize: I, hiddenSize: H, numLayers: 2, dropout: p), seed: 21)
        let bottom = try RecurrentNetwork<Double>(RecurrentConfiguration(cell: cell, inputSize: I, hiddenSize: H), seed: 0)
        let top = try RecurrentNetwork<Double>(RecurrentConfiguration(cell: cell, inputSize: H, hiddenSize: H), seed: 0)
        let half = bottom.parameters.count
        bottom.parameters = Array(stacked.parameters[..<half])
        top.parameters = (try top.parameterNames.flatMap { try stacked.parameter(named: $0.replacingOccurrences(of: "_l0", with: "_l1")) })
        let dropout = try Dropout<Double>(probability: p, seed: derivedSeed(21, 200))
        let x: [Double] = randomValues(T * B * I, seed: 22)
        let dY: [Double] = randomValues(T * B * H, seed: 23)
        let lengths = [5, 2, 4]

        let y = try stacked.forward(x, steps: T, batch: B, lengths: lengths)
        var middle = try bottom.forward(x, steps: T, batch: B, lengths: lengths).output
        dropout.forward(inPlace: &middle)
        #expect(dropout.mask.contains(0), "some units are dropped at p = \(p)")
        let composed = try top.forward(middle, steps: T, batch: B, lengths: lengths)
        #expect(y.output == composed.output)
        #expect(y.finalHidden[(B * H)...] == composed.finalHidden[...])

        stacked.zeroGradients()
        let dx = try stacked.backward(outputGradient: dY)
        var dMiddle = try top.backward(outputGradient: dY).input
        try dropout.backward(inPlace: &dMiddle)
        let dxComposed = try bottom.backward(outputGradient: dMiddle)
        #expect(dx.input == dxComposed.input)
        #expect(stacked.gradients == bottom.gradients + top.gradients)

        // Inference: no dropout, the same as a network without it.
        stacked.isTraining = false
        var plain = RecurrentConfiguration(cell: cell, inputSize: I, hiddenSize: H, numLayers: 2)
        let undropped = try RecurrentNetwork<Double>(plain, seed: 21)
        undropped.isTraining = false
        #expect(try stacked.forward(x, steps: T, batch: B).output == undropped.forward(x, steps: T, batch: B).output)

        // The file keeps the dropout; one without it has none.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rnnkit-dropout-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try stacked.save(to: directory.appendingPathComponent("a.safetensors").path)
        #expect(try RecurrentNetwork<Double>(contentsOf: directory.appendingPathComponent("a.safetensors").path).configuration.dropout == p)
        plain.dropout = 0
        try undropped.save(to: directory.appendingPathComponent("b.safetensors").path)
        let file = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("b.safetensors").path)
        #expect(file.metadata?["dropout"] == nil)
    }

    @Test func peepholesOnAnythingButAnLSTMAreRefused() {
        for cell in [CellKind.gru, .gruResetBefore, .rnnTanh, .rnnRelu] {
            #expect {
                try RecurrentNetwork<Float>(RecurrentConfiguration(cell: cell, inputSize: 2, hiddenSize: 3, peepholes: true))
            } throws: { error in
                (error as? RNNKitError)?.message == "peepholes are an LSTM option; a \(cell.rawValue) cell has no cell state for them to see"
            }
        }
    }

    @Test func projectionsOutsideTheirRangeOrOnOtherCellsAreRefused() {
        func refused(_ configuration: RecurrentConfiguration, _ message: String) {
            #expect {
                try RecurrentNetwork<Float>(configuration)
            } throws: { error in
                (error as? RNNKitError)?.message == message
            }
        }
        refused(RecurrentConfiguration(cell: .gru, inputSize: 2, hiddenSize: 3, projectionSize: 2),
                "a projection (proj_size) is an LSTM option; a gru cell has none")
        for p in [3, 4, -1] {
            refused(RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 3, projectionSize: p),
                    "projection size \(p) is out of range; expected 0 < P < H = 3, or 0 for none")
        }
        refused(RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 3, zoneoutHidden: 0.1, projectionSize: 2),
                "recurrent dropout and zoneout are not supported with a projection (proj_size) in this version")
        // The states are P wide: an h0 of H per row is refused with the shape it should have.
        #expect {
            let network = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 3, projectionSize: 2))
            _ = try network.forward([0, 0], steps: 1, batch: 1, initialHidden: [0, 0, 0])
        } throws: { error in
            (error as? RNNKitError)?.message == "expected initial hidden state h0 with 2 elements [L·D, B, P], got 3"
        }
    }

    @Test func layerNormalisationIsAnLSTMOptionWithIdentityGainsAtFirst() throws {
        for (configuration, message) in [
            (RecurrentConfiguration(cell: .gru, inputSize: 2, hiddenSize: 3, layerNorm: true),
             "layer normalisation is an LSTM option here; a gru cell has none"),
            (RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 3, peepholes: true, layerNorm: true),
             "layer normalisation with peepholes or a projection is not supported in this version"),
            (RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 3, projectionSize: 2, layerNorm: true),
             "layer normalisation with peepholes or a projection is not supported in this version"),
        ] {
            #expect {
                try RecurrentNetwork<Float>(configuration)
            } throws: { error in
                (error as? RNNKitError)?.message == message
            }
        }
        let network = try RecurrentNetwork<Float>(
            RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 3, bidirectional: true, layerNorm: true))
        #expect(network.parameterNames.suffix(6) == ["weight_ln_ih_l0_reverse", "bias_ln_ih_l0_reverse", "weight_ln_hh_l0_reverse",
                                                     "bias_ln_hh_l0_reverse", "weight_ln_c_l0_reverse", "bias_ln_c_l0_reverse"])
        #expect(try network.parameter(named: "weight_ln_hh_l0") == [Float](repeating: 1, count: 12))
        #expect(try network.parameter(named: "bias_ln_c_l0_reverse") == [Float](repeating: 0, count: 3))
    }

    @Test func dropoutOutOfRangeIsRefused() {
        for p in [-0.1, 1, .nan] {
            #expect(throws: RNNKitError.self) {
                try RecurrentNetwork<Float>(RecurrentConfiguration(cell: .gru, inputSize: 1, hiddenSize: 2, numLayers: 2, dropout: p))
            }
        }
    }
}
