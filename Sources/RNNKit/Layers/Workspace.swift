// One contiguous allocation per shape, cut into named buffers. Dimension legend:
//   T steps, B batch, I input of layer 0, H hidden (gates, cell state), G gates, D directions,
//   L layers, R width of the hidden state h (P for a projected LSTM, else H).

/// The buffers of one layer and direction, all inside the network's workspace.
struct DirectionBuffers<Scalar> {
    /// Training (T, B, G·H), inference (projectionSteps, B, G·H): input projections, then
    /// activations; in backward, pre-activation gradients.
    var gates: UnsafeMutablePointer<Scalar>
    /// Training: (T, B, R), slot t = state entering the step at time t. Inference: (2, B, R) ping-pong.
    var hStates: UnsafeMutablePointer<Scalar>
    /// Like `hStates`, for the LSTM cell state, (T, B, H) or (2, B, H); unused otherwise.
    var cStates: UnsafeMutablePointer<Scalar>
    /// Projected LSTM: `m = o ⊙ tanh(c)` before the projection, training (T, B, H) (backward's
    /// `∂W_hr` reads them all), inference (B, H); `nil` otherwise.
    var unprojected: UnsafeMutablePointer<Scalar>?
    /// Projected LSTM, training: (T, B, R) `∂L/∂h_t` of every step, for `∂W_hr` after the time
    /// loop; `nil` otherwise.
    var projectedGradients: UnsafeMutablePointer<Scalar>?
    /// Projected LSTM: (B, H) zeros, which stay zeros: the state the cell kernel copies into `m`
    /// for inactive rows in forward, and the carry it is given in backward (its `∂h` arrives as
    /// `∂m` in the output gradient; the kernel only ever writes 0 into a carry); `nil` otherwise.
    var unprojectedZeros: UnsafeMutablePointer<Scalar>?
    /// LSTM, training: (T, B, H) `tanh(c_t)` (layer-normalised: `tanh(LN(c_t))`).
    var tanhC: UnsafeMutablePointer<Scalar>?
    /// Layer-normalised LSTM: what each step keeps for backward (``LayerNormSaved``), training
    /// (T, B, ·) with one slot per time index, inference (B, ·) scratch; `nil` otherwise.
    var layerNormSaved: LayerNormSaved<Scalar>?
    /// Layer-normalised LSTM, training: (workers, 10H) each worker's sums of `∂α_x, ∂α_h, ∂α_c, ∂β_c`.
    var layerNormScratch: UnsafeMutablePointer<Scalar>?
    /// GRU, training: (T, B, H) `W_hn h + b_hn`, overwritten in backward by its gradient.
    var hiddenN: UnsafeMutablePointer<Scalar>?
    /// Reset-before GRU: `r ⊙ h`, the operand of the candidate's product; training (T, B, H), one
    /// slot per time index (backward's `∂W_hn` reads them all), inference (B, H). `nil` otherwise.
    var resetHidden: UnsafeMutablePointer<Scalar>?
    /// (B, G·H) per-step scratch: the GRUs' recurrent products in forward; in backward the GRU's
    /// hidden-side gradient, the reset-before GRU's `∂(r ⊙ h)` (B, H), the projected LSTM's `∂m` (B, H).
    var stepScratch: UnsafeMutablePointer<Scalar>
    /// (B, R) ∂L/∂h carried through backward.
    var dhCarry: UnsafeMutablePointer<Scalar>
    /// (B, H) ∂L/∂c carried through backward (LSTM).
    var dcCarry: UnsafeMutablePointer<Scalar>
    /// (workers, 2, G·H) forward: `b_ih + b_hh` in the first G·H; backward: each worker's bias
    /// gradient sums (input side, then hidden side), added up after the time loop.
    var biasScratch: UnsafeMutablePointer<Scalar>
    /// LSTM with peepholes, training: (workers, 3H) each worker's peephole gradient sums; `nil` otherwise.
    var peepholeScratch: UnsafeMutablePointer<Scalar>?
    /// Recurrent dropout, training: (T, B, H) slot t = `m ⊙ h` entering the step at time t, the
    /// operand of the recurrent products (and of `∂W_hh`); `nil` otherwise.
    var maskedStates: UnsafeMutablePointer<Scalar>?
    /// Recurrent dropout, training: (B, H) `∂L/∂(m ⊙ h)` of a step in backward; `nil` otherwise.
    var maskedGradient: UnsafeMutablePointer<Scalar>?
    /// Zoneout, training: (T, B, H) ×2, slot t = the masks `d_h`, `d_c` (1 = keep the previous
    /// value) of the step at time t; the cell's are all 0 without cell zoneout. `nil` otherwise.
    var zoneoutMasks: (hidden: UnsafeMutablePointer<Scalar>, cell: UnsafeMutablePointer<Scalar>)?
    /// Zoneout, training: (3, B, H) backward's `∂L/∂h_t` and `∂L/∂c_t` kept past the step's kernel,
    /// and zeros (the output gradient the kernel then sees: it is in `∂L/∂h_t` already).
    var zoneoutScratch: UnsafeMutablePointer<Scalar>?
}

/// The memory of one forward (and backward) pass for a given shape, allocated once and reused.
///
/// Training keeps every activation backward needs; inference keeps two state slots per
/// direction and ping-pongs the layer outputs, so its size does not grow with `L`.
final class Workspace<Scalar: RNNScalar> {
    let steps: Int
    let batch: Int
    let training: Bool
    /// Steps of gates projected together (``DirectionPass/projectionSteps``); inference holds that many.
    let projectionSteps: Int
    /// [L][D] buffers; in inference every layer shares the same set.
    private(set) var directions: [[DirectionBuffers<Scalar>]] = []
    /// Training: L buffers of (T, B, D·R), one per layer. Inference: 2, used alternately.
    private(set) var layerOutputs: [UnsafeMutablePointer<Scalar>] = []
    /// (T, B, I) the input of layer 0 in time-major order (a copy: backward needs it).
    private(set) var input: UnsafeMutablePointer<Scalar>
    /// Training: (T, B, D·R) ×2 output-gradient ping-pong for backward, and (T, B, I) for ∂L/∂x.
    private(set) var outputGradients: [UnsafeMutablePointer<Scalar>] = []
    private(set) var inputGradient: UnsafeMutablePointer<Scalar>?
    /// (L·D, B, R) final hidden states `h_n`, and (L·D, B, H) cell states `c_n` (LSTM), in PyTorch's layout.
    private(set) var finalHidden: UnsafeMutablePointer<Scalar>
    private(set) var finalCell: UnsafeMutablePointer<Scalar>
    /// Recurrent dropout, training: (L·D, B, H) the masks of the current pass, `m` of layer `k`
    /// and direction `d` at `(k·D + d)·B·H`; `nil` otherwise.
    private(set) var recurrentMasks: UnsafeMutablePointer<Scalar>?
    /// (B) sequence lengths of the current pass.
    let lengths: UnsafeMutablePointer<Int>
    /// Whether the current pass was given lengths (else every row runs all `T` steps).
    var hasLengths = false
    /// `lengths` when the pass has them, for ``StepRows``.
    var activeLengths: UnsafePointer<Int>? { hasLengths ? UnsafePointer(lengths) : nil }
    private let storage: UnsafeMutableBufferPointer<Scalar>
    /// Scalars of each direction's gate buffer.
    let gateScalars: Int
    /// Number of scalars held.
    var scalarCount: Int { storage.count }

    /// Plans and allocates the buffers; throws before allocating if the sizes overflow.
    /// - Parameter projectionSteps: steps whose input projections are computed together, `1…T`;
    ///   an inference workspace holds the gates of that many steps.
    init(configuration c: RecurrentConfiguration, steps: Int, batch: Int, training: Bool, projectionSteps: Int) throws {
        precondition((1...steps).contains(projectionSteps), "projectionSteps must be within 1…T")
        self.steps = steps
        self.batch = batch
        self.training = training
        self.projectionSteps = projectionSteps
        let H = c.hiddenSize, R = c.stateSize, G = c.cell.gateCount, D = c.directionCount, L = c.numLayers
        let rows = try checkedProduct(steps, batch, what: "steps × batch")
        let gatesCount = try checkedProduct(training ? steps : projectionSteps, batch, G, H, what: "gate activations")
        let stateCount = try checkedProduct(rows, H, what: "hidden states")
        let hiddenStateCount = try checkedProduct(rows, R, what: "hidden states")
        let outputCount = try checkedProduct(rows, D, R, what: "layer outputs")
        let inputCount = try checkedProduct(rows, c.inputSize, what: "input")
        gateScalars = gatesCount
        let slotCount = training ? stateCount : 2 * batch * H
        let hiddenSlotCount = training ? hiddenStateCount : 2 * batch * R
        let isLSTM = c.cell == .lstm, isGRU = c.cell == .gru, isResetBefore = c.cell == .gruResetBefore
        let isProjected = c.isProjected

        // Plan: offsets into one allocation.
        var total = 0
        // Every buffer starts on a cache line (16 scalars from a line-aligned base; see vectorAlignment).
        func reserve(_ count: Int) -> Int { defer { total += (count + 15) / 16 * 16 }; return total }
        typealias DirectionPlan = (gates: Int, h: Int, c: Int, layerNorm: Int?, layerNormScratch: Int?,
                                   unprojected: Int?, projectedGradients: Int?,
                                   unprojectedZeros: Int?, tanhC: Int?, hn: Int?, reset: Int?, scratch: Int,
                                   dh: Int, dc: Int, bias: Int, peephole: Int?, masked: Int?, maskedGradient: Int?,
                                   zoneout: Int?, zoneoutScratch: Int?)
        let masksRecurrentInput = training && c.recurrentDropout > 0, zonesOut = training && c.hasZoneout
        var plan: [[DirectionPlan]] = []
        for _ in 0..<(training ? L : 1) {
            var layerPlan: [DirectionPlan] = []
            for _ in 0..<D {
                layerPlan.append((
                    gates: reserve(gatesCount),
                    h: reserve(hiddenSlotCount),
                    c: reserve(isLSTM ? slotCount : 0),
                    // ẑ_x, ẑ_h (4H each), ĉ (H) and three r per row: 9H + 3.
                    layerNorm: c.layerNorm ? reserve(try checkedProduct(training ? rows : batch, 9 * H + 3,
                                                                        what: "layer normalisation")) : nil,
                    layerNormScratch: c.layerNorm && training ? reserve(maximumWorkers * 10 * H) : nil,
                    unprojected: isProjected ? reserve(training ? stateCount : batch * H) : nil,
                    projectedGradients: isProjected && training ? reserve(hiddenStateCount) : nil,
                    unprojectedZeros: isProjected ? reserve(batch * H) : nil,
                    tanhC: isLSTM && training ? reserve(stateCount) : nil,
                    hn: isGRU && training ? reserve(stateCount) : nil,
                    reset: isResetBefore ? reserve(training ? stateCount : batch * H) : nil,
                    scratch: reserve(batch * G * H),
                    dh: reserve(training ? batch * R : 0),
                    dc: reserve(training && isLSTM ? batch * H : 0),
                    bias: reserve((training ? maximumWorkers * 2 : 1) * G * H),
                    peephole: c.peepholes && training ? reserve(maximumWorkers * 3 * H) : nil,
                    masked: masksRecurrentInput ? reserve(stateCount) : nil,
                    maskedGradient: masksRecurrentInput ? reserve(batch * H) : nil,
                    zoneout: zonesOut ? reserve(2 * stateCount) : nil,
                    zoneoutScratch: zonesOut ? reserve(3 * batch * H) : nil))
            }
            plan.append(layerPlan)
        }
        let outputOffsets = (0..<(training ? L : 2)).map { _ in reserve(outputCount) }
        let inputOffset = reserve(inputCount)
        let gradientOffsets = training ? [reserve(outputCount), reserve(outputCount)] : []
        let inputGradientOffset = training ? reserve(inputCount) : nil
        let finalCount = try checkedProduct(L, D, batch, H, what: "final states")
        let finalHiddenOffset = reserve(try checkedProduct(L, D, batch, R, what: "final states"))
        let finalCellOffset = reserve(isLSTM ? finalCount : 0)
        let maskOffset = masksRecurrentInput ? reserve(finalCount) : nil
        try ensureAllocatable(total, of: Scalar.self, what: "activations for T = \(steps), B = \(batch)")

        storage = .allocateAligned(capacity: total)
        storage.initialize(repeating: 0)
        lengths = .allocate(capacity: batch)
        lengths.initialize(repeating: steps, count: batch)
        let base = storage.baseAddress!
        directions = plan.map { layer in
            layer.map { p in
                DirectionBuffers(
                    gates: base + p.gates, hStates: base + p.h, cStates: base + p.c,
                    unprojected: p.unprojected.map { base + $0 }, projectedGradients: p.projectedGradients.map { base + $0 },
                    unprojectedZeros: p.unprojectedZeros.map { base + $0 },
                    tanhC: p.tanhC.map { base + $0 },
                    layerNormSaved: p.layerNorm.map { offset in
                        // (rows, 4H) ẑ_x, (rows, 4H) ẑ_h, (rows, H) ĉ, (rows, 3) r
                        let count = training ? rows : batch
                        return LayerNormSaved(input: base + offset, hidden: base + offset + count * 4 * H,
                                              cell: base + offset + count * 8 * H, inverseDeviations: base + offset + count * 9 * H)
                    },
                    layerNormScratch: p.layerNormScratch.map { base + $0 },
                    hiddenN: p.hn.map { base + $0 },
                    resetHidden: p.reset.map { base + $0 }, stepScratch: base + p.scratch,
                    dhCarry: base + p.dh, dcCarry: base + p.dc, biasScratch: base + p.bias,
                    peepholeScratch: p.peephole.map { base + $0 },
                    maskedStates: p.masked.map { base + $0 }, maskedGradient: p.maskedGradient.map { base + $0 },
                    zoneoutMasks: p.zoneout.map { (hidden: base + $0, cell: base + $0 + stateCount) },
                    zoneoutScratch: p.zoneoutScratch.map { base + $0 })
            }
        }
        layerOutputs = outputOffsets.map { base + $0 }
        input = base + inputOffset
        outputGradients = gradientOffsets.map { base + $0 }
        inputGradient = inputGradientOffset.map { base + $0 }
        finalHidden = base + finalHiddenOffset
        finalCell = base + finalCellOffset
        recurrentMasks = maskOffset.map { base + $0 }
    }

    deinit {
        storage.deallocate()
        lengths.deallocate()
    }

    /// The buffers of `layer`, `direction` (inference shares one set across layers).
    func buffers(layer: Int, direction: Int) -> DirectionBuffers<Scalar> {
        directions[training ? layer : 0][direction]
    }

    /// The (T, B, D·R) output buffer of `layer`.
    func output(ofLayer layer: Int) -> UnsafeMutablePointer<Scalar> {
        layerOutputs[training ? layer : layer % 2]
    }
}
