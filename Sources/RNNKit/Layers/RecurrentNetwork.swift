// The stacked, optionally bidirectional recurrent network and its two passes.
// Dimension legend:
//   T time steps   B batch   I input features (of layer 0; I_k of layer k)
//   H hidden       G gates (RNN 1, GRU 3, LSTM 4)   D directions   L layers
//
// Forward, per layer k and direction d:
//   gates(T·B, G·H) = X(T·B, I_k) · W_ih^T + bias          one GEMM before the time loop
//   for each step: gates_t += h_{prev} · W_hh^T             one GEMM (B, G·H) per step
//                  cell kernel: activations, state update, output — one fused pass
// Backward, per layer k (top first) and direction d:
//   for each step, in reverse processing order:
//                  cell kernel: ∂gates_t, direct state gradients — one fused pass
//                  ∂h_{prev} += ∂gates_t · W_hh                 one GEMM per step
//   after the loop: ∂W_ih += ∂gates^T · X, ∂W_hh += ∂gates^T · H_prev, ∂b = Σ_rows ∂gates,
//                   ∂X += ∂gates · W_ih                           one GEMM / reduction each

/// The result of ``RecurrentNetwork/forward(_:steps:batch:lengths:initialHidden:initialCell:)``.
public struct RecurrentOutput<Scalar: RNNScalar>: Sendable {
    /// `[T, B, D·H]` (`[B, T, D·H]` when batch-first); zero past each sequence's length.
    public var output: [Scalar]
    /// `[L·D, B, H]` hidden state after each sequence's last valid step (`h_n`).
    public var finalHidden: [Scalar]
    /// `[L·D, B, H]` LSTM cell state after the last valid step (`c_n`); `nil` for RNN and GRU.
    public var finalCell: [Scalar]?
}

/// The result of ``RecurrentNetwork/backward(outputGradient:finalHiddenGradient:finalCellGradient:)``.
public struct RecurrentInputGradients<Scalar: RNNScalar>: Sendable {
    /// `∂L/∂x`, laid out like the input: `[T, B, I]` (`[B, T, I]` when batch-first).
    public var input: [Scalar]
    /// `∂L/∂h0`, `[L·D, B, H]`.
    public var initialHidden: [Scalar]
    /// `∂L/∂c0`, `[L·D, B, H]` for LSTM; `nil` otherwise.
    public var initialCell: [Scalar]?
}

/// A stacked, optionally bidirectional RNN, LSTM or GRU with PyTorch's semantics and parameter names.
///
/// Parameters live in one flat buffer ``parameters`` in `state_dict` order (see ``ParameterLayout``);
/// ``gradients`` shares that layout. ``backward(outputGradient:finalHiddenGradient:finalCellGradient:)``
/// adds into ``gradients``; ``zeroGradients()`` clears them.
///
/// One network is not thread-safe: use one per thread, or serialise calls.
public final class RecurrentNetwork<Scalar: RNNScalar> {
    /// The architecture.
    public let configuration: RecurrentConfiguration
    /// Names, shapes and offsets of the parameter tensors in ``parameters`` and ``gradients``.
    public let layout: ParameterLayout
    /// All parameters, flat, in `state_dict` order (`layout.totalCount` scalars; keep that count).
    public var parameters: [Scalar]
    /// Gradients of all parameters, same layout as ``parameters``; backward adds into them.
    public var gradients: [Scalar]
    /// Whether forward keeps the activations backward needs (default `true`). With `false`,
    /// forward uses a small workspace whose size does not grow with the number of layers.
    public var isTraining: Bool = true {
        didSet { if !isTraining { trainingWorkspace = nil; backwardReady = false } }
    }

    private var trainingWorkspace: Workspace<Scalar>?
    private var inferenceWorkspace: Workspace<Scalar>?
    /// Whether the training workspace holds the activations of a forward not yet differentiated.
    private var backwardReady = false

    /// Creates a network with PyTorch's default initialisation: every parameter drawn from
    /// U(−1/√H, 1/√H) in `state_dict` order by ``SeededGenerator`` seeded with `seed` (default 0).
    /// - Throws: ``RNNKitError`` if a size is not positive or the parameters would not fit in memory.
    public init(_ configuration: RecurrentConfiguration, seed: UInt64 = 0) throws {
        try configuration.validate()
        self.configuration = configuration
        self.layout = ParameterLayout(configuration)
        var generator = SeededGenerator(seed: seed)
        let bound = 1 / Double(configuration.hiddenSize).squareRoot()
        self.parameters = (0..<layout.totalCount).map { _ in Scalar(generator.nextUniform(-bound, bound)) }
        self.gradients = Array(repeating: 0, count: layout.totalCount)
    }

    // MARK: Parameters by name

    /// The names of all parameters, in `state_dict` order.
    public var parameterNames: [String] { layout.entries.map(\.name) }

    private func entry(_ name: String) throws -> ParameterEntry {
        guard let entry = layout.entry(named: name) else {
            throw RNNKitError(.invalidArgument,
                "unknown parameter '\(name)'; expected one of \(parameterNames.joined(separator: ", "))")
        }
        return entry
    }

    /// A copy of the tensor `name` (row-major, PyTorch's shape).
    /// - Throws: if there is no parameter of that name.
    public func parameter(named name: String) throws -> [Scalar] {
        let e = try entry(name)
        return Array(parameters[e.offset..<e.offset + e.count])
    }

    /// A copy of the gradient of tensor `name`.
    public func gradient(named name: String) throws -> [Scalar] {
        let e = try entry(name)
        return Array(gradients[e.offset..<e.offset + e.count])
    }

    /// Replaces tensor `name` with `values` (row-major, PyTorch's shape).
    /// - Throws: if the name is unknown or the element count differs; the weights are then untouched.
    public func setParameter(named name: String, to values: some Collection<Scalar>) throws {
        let e = try entry(name)
        guard values.count == e.count else {
            throw RNNKitError(.shapeMismatch,
                "expected \(name) with \(e.count) elements (shape \(e.shape)), got \(values.count)")
        }
        parameters.replaceSubrange(e.offset..<e.offset + e.count, with: values)
    }

    /// Sets every gradient to zero.
    public func zeroGradients() {
        for i in gradients.indices { gradients[i] = 0 }
    }

    // MARK: Forward

    /// Runs the network over a batch of sequences.
    ///
    /// - Parameters:
    ///   - input: `[T, B, I]` (`[B, T, I]` when batch-first).
    ///   - steps: `T ≥ 1`.  - batch: `B ≥ 1`.
    ///   - lengths: `B` lengths in `1…T` in any order (packed-sequence semantics), or `nil` for all `T`.
    ///   - initialHidden: `h0`, `[L·D, B, H]`, or `nil` for zeros.
    ///   - initialCell: `c0`, `[L·D, B, H]` (LSTM only), or `nil` for zeros.
    /// - Throws: ``RNNKitError`` for a size or length out of range; nothing is changed then.
    public func forward(
        _ input: [Scalar], steps: Int, batch: Int, lengths: [Int]? = nil,
        initialHidden: [Scalar]? = nil, initialCell: [Scalar]? = nil
    ) throws -> RecurrentOutput<Scalar> {
        try validateShape(steps: steps, batch: batch)
        let c = configuration
        let stateCount = c.numLayers * c.directionCount * batch * c.hiddenSize
        var output = [Scalar](repeating: 0, count: steps * batch * c.outputSize)
        var finalHidden = [Scalar](repeating: 0, count: stateCount)
        var finalCell: [Scalar]? = c.cell.hasCellState ? [Scalar](repeating: 0, count: stateCount) : nil
        try input.withUnsafeBufferPointer { x in
            try withOptionalBuffer(initialHidden) { h0 in
                try withOptionalBuffer(initialCell) { c0 in
                    try output.withUnsafeMutableBufferPointer { y in
                        try finalHidden.withUnsafeMutableBufferPointer { hN in
                            try withOptionalMutableBuffer(&finalCell) { cN in
                                try forward(
                                    input: x, steps: steps, batch: batch, lengths: lengths,
                                    initialHidden: h0, initialCell: c0,
                                    output: y, finalHidden: hN, finalCell: cN)
                            }
                        }
                    }
                }
            }
        }
        return RecurrentOutput(output: output, finalHidden: finalHidden, finalCell: finalCell)
    }

    /// The buffer-level forward used by the array API and the C API; same semantics and shapes.
    /// `finalHidden`/`finalCell` may be `nil` when not wanted.
    public func forward(
        input: UnsafeBufferPointer<Scalar>, steps: Int, batch: Int, lengths: [Int]?,
        initialHidden: UnsafeBufferPointer<Scalar>?, initialCell: UnsafeBufferPointer<Scalar>?,
        output: UnsafeMutableBufferPointer<Scalar>,
        finalHidden: UnsafeMutableBufferPointer<Scalar>?, finalCell: UnsafeMutableBufferPointer<Scalar>?
    ) throws {
        let c = configuration
        try validateShape(steps: steps, batch: batch)
        let stateCount = c.numLayers * c.directionCount * batch * c.hiddenSize
        try expectCount(input.count, steps * batch * c.inputSize, "input", "[T, B, I] = [\(steps), \(batch), \(c.inputSize)]")
        try expectCount(output.count, steps * batch * c.outputSize, "output", "[T, B, D·H]")
        if let h0 = initialHidden { try expectCount(h0.count, stateCount, "initial hidden state h0", "[L·D, B, H]") }
        if let hN = finalHidden { try expectCount(hN.count, stateCount, "final hidden state h_n", "[L·D, B, H]") }
        if !c.cell.hasCellState, initialCell != nil || finalCell != nil {
            throw RNNKitError(.invalidArgument, "a cell state (c0/c_n) is only for LSTM, not \(c.cell.rawValue)")
        }
        if let c0 = initialCell { try expectCount(c0.count, stateCount, "initial cell state c0", "[L·D, B, H]") }
        if let cN = finalCell { try expectCount(cN.count, stateCount, "final cell state c_n", "[L·D, B, H]") }
        if let lengths { try validateLengths(lengths, steps: steps, batch: batch) }
        guard parameters.count == layout.totalCount, gradients.count == layout.totalCount else {
            throw RNNKitError(.invalidState,
                "parameters and gradients must hold \(layout.totalCount) scalars, hold \(parameters.count) and \(gradients.count)")
        }

        try run(input: input.baseAddress!, steps: steps, batch: batch, lengths: lengths,
                initialHidden: initialHidden?.baseAddress, initialCell: initialCell?.baseAddress,
                output: output.baseAddress!, finalHidden: finalHidden?.baseAddress,
                finalCell: finalCell?.baseAddress, training: isTraining)
    }

    /// Runs every layer and direction; arguments are validated by the caller.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func run(
        input: UnsafePointer<Scalar>, steps: Int, batch: Int, lengths: [Int]?,
        initialHidden: UnsafePointer<Scalar>?, initialCell: UnsafePointer<Scalar>?,
        output: UnsafeMutablePointer<Scalar>,
        finalHidden: UnsafeMutablePointer<Scalar>?, finalCell: UnsafeMutablePointer<Scalar>?,
        training: Bool
    ) throws {
        let c = configuration
        let stateCount = c.numLayers * c.directionCount * batch * c.hiddenSize
        let workspace = try workspaceFor(steps: steps, batch: batch, training: training)
        if training { backwardReady = false }
        for b in 0..<batch { workspace.lengths[b] = lengths?[b] ?? steps }
        workspace.hasLengths = lengths != nil
        copyToTimeMajor(from: input, to: workspace.input, steps: steps, batch: batch, features: c.inputSize)

        parameters.withUnsafeBufferPointer { p in
            for layer in 0..<c.numLayers {
                let layerInput = layer == 0 ? UnsafePointer(workspace.input) : UnsafePointer(workspace.output(ofLayer: layer - 1))
                for direction in 0..<c.directionCount {
                    let index = layer * c.directionCount + direction
                    forwardDirection(
                        layer: layer, direction: direction, workspace: workspace, parameters: p.baseAddress!,
                        input: layerInput,
                        h0: initialHidden.map { $0 + index * batch * c.hiddenSize },
                        c0: initialCell.map { $0 + index * batch * c.hiddenSize })
                }
            }
        }
        copyFromTimeMajor(from: workspace.output(ofLayer: c.numLayers - 1), to: output,
                          steps: steps, batch: batch, features: c.outputSize)
        finalHidden?.update(from: workspace.finalHidden, count: stateCount)
        finalCell?.update(from: workspace.finalCell, count: stateCount)
        if training { backwardReady = true }
    }

    /// One direction of one layer over all steps.
    private func forwardDirection(
        layer: Int, direction: Int, workspace ws: Workspace<Scalar>, parameters p: UnsafePointer<Scalar>,
        input x: UnsafePointer<Scalar>, h0: UnsafePointer<Scalar>?, c0: UnsafePointer<Scalar>?
    ) {
        let c = configuration, cell = c.cell
        let T = ws.steps, B = ws.batch, H = c.hiddenSize, GH = cell.gateCount * H
        let inputWidth = c.layerInputSize(layer), outputWidth = c.outputSize
        let group = layout.group(layer: layer, direction: direction, directionCount: c.directionCount)
        let wIH = p + group[group.startIndex].offset       // (G·H, I_k)
        let wHH = p + group[group.startIndex + 1].offset   // (G·H, H)
        let bIH = p + group[group.startIndex + 2].offset   // (G·H)
        let bHH = p + group[group.startIndex + 3].offset   // (G·H)
        let buf = ws.buffers(layer: layer, direction: direction)
        let out = ws.output(ofLayer: layer) + direction * H  // (T, B, D·H), this direction's columns
        let index = layer * c.directionCount + direction
        let hFinal = ws.finalHidden + index * B * H         // (B, H)
        let cFinal = ws.finalCell + index * B * H           // (B, H)
        let reverse = direction == 1
        let lengths = ws.activeLengths

        // Input projection of all steps at once: gates (T·B, G·H) = X · W_ih^T, plus biases.
        // LSTM and RNN fold b_hh in here; GRU keeps b_hh for the recurrent part (r multiplies it).
        Scalar.gemm(transposeA: false, transposeB: true, m: T * B, n: GH, k: inputWidth,
                    alpha: 1, a: x, lda: inputWidth, b: wIH, ldb: inputWidth,
                    beta: 0, c: buf.gates, ldc: GH)
        let bias = buf.stepScratch  // (G·H) combined bias, scratch is free until the loop
        for j in 0..<GH { bias[j] = bIH[j] + (cell == .gru ? 0 : bHH[j]) }
        for row in 0..<T * B {
            let g = buf.gates + row * GH
            for j in 0..<GH { g[j] += bias[j] }
        }

        // State slots: training keeps the state entering every step (slot = time index);
        // inference alternates two slots.
        @inline(__always) func time(_ s: Int) -> Int { reverse ? T - 1 - s : s }
        @inline(__always) func slot(_ s: Int) -> Int { ws.training ? time(s) * B * H : (s & 1) * B * H }
        let firstSlot = slot(0)
        if let h0 { (buf.hStates + firstSlot).update(from: h0, count: B * H) }
        else { (buf.hStates + firstSlot).update(repeating: 0, count: B * H) }
        if cell == .lstm {
            if let c0 { (buf.cStates + firstSlot).update(from: c0, count: B * H) }
            else { (buf.cStates + firstSlot).update(repeating: 0, count: B * H) }
        }

        for s in 0..<T {
            let t = time(s)
            let last = s == T - 1
            let hIn = buf.hStates + slot(s)
            let hOut = last ? hFinal : buf.hStates + slot(s + 1)
            let gates = buf.gates + t * B * GH                                   // (B, G·H)
            let rows = StepRows(time: t, lengths: lengths)
            let output = StridedRows(base: out + t * B * outputWidth, stride: outputWidth)
            switch cell {
            case .lstm:
                Scalar.gemm(transposeA: false, transposeB: true, m: B, n: GH, k: H,
                            alpha: 1, a: hIn, lda: H, b: wHH, ldb: H, beta: 1, c: gates, ldc: GH)
                LSTMCell.forward(
                    gates: gates, hPrev: hIn, cPrev: buf.cStates + slot(s),
                    hNext: hOut, cNext: last ? cFinal : buf.cStates + slot(s + 1),
                    tanhC: buf.tanhC.map { $0 + t * B * H }, output: output,
                    rows: rows, batch: B, hidden: H)
            case .gru:
                Scalar.gemm(transposeA: false, transposeB: true, m: B, n: GH, k: H,
                            alpha: 1, a: hIn, lda: H, b: wHH, ldb: H, beta: 0, c: buf.stepScratch, ldc: GH)
                GRUCell.forward(
                    gates: gates, hidden: buf.stepScratch, hiddenBias: bHH,
                    hnSaved: buf.hiddenN.map { $0 + t * B * H },
                    hPrev: hIn, hNext: hOut, output: output, rows: rows, batch: B, hidden: H)
            case .rnnTanh, .rnnRelu:
                Scalar.gemm(transposeA: false, transposeB: true, m: B, n: GH, k: H,
                            alpha: 1, a: hIn, lda: H, b: wHH, ldb: H, beta: 1, c: gates, ldc: GH)
                VanillaCell.forward(
                    gates: gates, relu: cell == .rnnRelu, hPrev: hIn, hNext: hOut,
                    output: output, rows: rows, batch: B, hidden: H)
            }
        }
    }

    // MARK: Backward

    /// Backpropagates through the last training-mode forward.
    ///
    /// Adds every parameter's gradient into ``gradients`` and returns the gradients of the
    /// inputs. Gradients at padded positions of `outputGradient` are ignored.
    /// - Parameters:
    ///   - outputGradient: `∂L/∂y`, laid out like the output.
    ///   - finalHiddenGradient: `∂L/∂h_n`, `[L·D, B, H]`, or `nil` for zeros.
    ///   - finalCellGradient: `∂L/∂c_n`, `[L·D, B, H]` (LSTM), or `nil` for zeros.
    /// - Throws: if no training-mode forward precedes it (each forward allows one backward),
    ///   or a count is wrong.
    public func backward(
        outputGradient: [Scalar], finalHiddenGradient: [Scalar]? = nil, finalCellGradient: [Scalar]? = nil
    ) throws -> RecurrentInputGradients<Scalar> {
        guard backwardReady, let ws = trainingWorkspace else {
            throw RNNKitError(.invalidState, "backward needs a forward in training mode first (one backward per forward)")
        }
        let c = configuration
        let stateCount = c.numLayers * c.directionCount * ws.batch * c.hiddenSize
        var dX = [Scalar](repeating: 0, count: ws.steps * ws.batch * c.inputSize)
        var dH0 = [Scalar](repeating: 0, count: stateCount)
        var dC0: [Scalar]? = c.cell.hasCellState ? [Scalar](repeating: 0, count: stateCount) : nil
        try outputGradient.withUnsafeBufferPointer { dY in
            try withOptionalBuffer(finalHiddenGradient) { dhN in
                try withOptionalBuffer(finalCellGradient) { dcN in
                    try dX.withUnsafeMutableBufferPointer { dx in
                        try dH0.withUnsafeMutableBufferPointer { dh0 in
                            try withOptionalMutableBuffer(&dC0) { dc0 in
                                try backward(outputGradient: dY, finalHiddenGradient: dhN, finalCellGradient: dcN,
                                             inputGradient: dx, initialHiddenGradient: dh0, initialCellGradient: dc0)
                            }
                        }
                    }
                }
            }
        }
        return RecurrentInputGradients(input: dX, initialHidden: dH0, initialCell: dC0)
    }

    /// The buffer-level backward used by the array API and the C API; same semantics.
    /// Every output buffer may be `nil` when not wanted.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(
        outputGradient: UnsafeBufferPointer<Scalar>,
        finalHiddenGradient: UnsafeBufferPointer<Scalar>?, finalCellGradient: UnsafeBufferPointer<Scalar>?,
        inputGradient: UnsafeMutableBufferPointer<Scalar>?,
        initialHiddenGradient: UnsafeMutableBufferPointer<Scalar>?,
        initialCellGradient: UnsafeMutableBufferPointer<Scalar>?
    ) throws {
        guard backwardReady, let ws = trainingWorkspace else {
            throw RNNKitError(.invalidState, "backward needs a forward in training mode first (one backward per forward)")
        }
        let c = configuration
        let T = ws.steps, B = ws.batch, H = c.hiddenSize, D = c.directionCount
        let stateCount = c.numLayers * D * B * H
        try expectCount(outputGradient.count, T * B * c.outputSize, "output gradient dy", "[T, B, D·H] = [\(T), \(B), \(c.outputSize)]")
        if let g = finalHiddenGradient { try expectCount(g.count, stateCount, "final hidden gradient dh_n", "[L·D, B, H]") }
        if !c.cell.hasCellState, finalCellGradient != nil || initialCellGradient != nil {
            throw RNNKitError(.invalidArgument, "a cell-state gradient (dc_n/dc0) is only for LSTM, not \(c.cell.rawValue)")
        }
        if let g = finalCellGradient { try expectCount(g.count, stateCount, "final cell gradient dc_n", "[L·D, B, H]") }
        if let g = inputGradient { try expectCount(g.count, T * B * c.inputSize, "input gradient dx", "[T, B, I]") }
        if let g = initialHiddenGradient { try expectCount(g.count, stateCount, "initial hidden gradient dh0", "[L·D, B, H]") }
        if let g = initialCellGradient { try expectCount(g.count, stateCount, "initial cell gradient dc0", "[L·D, B, H]") }
        backwardReady = false  // the gate buffers are overwritten by their gradients below

        let top = c.numLayers - 1
        copyToTimeMajor(from: outputGradient.baseAddress!, to: ws.outputGradients[top % 2],
                        steps: T, batch: B, features: c.outputSize)
        parameters.withUnsafeBufferPointer { p in
            gradients.withUnsafeMutableBufferPointer { g in
                for layer in stride(from: top, through: 0, by: -1) {
                    let dOut = ws.outputGradients[layer % 2]
                    let dIn = layer == 0 ? ws.inputGradient! : ws.outputGradients[(layer - 1) % 2]
                    dIn.update(repeating: 0, count: T * B * c.layerInputSize(layer))
                    let layerInput = layer == 0 ? ws.input : ws.output(ofLayer: layer - 1)
                    for direction in 0..<D {
                        let index = (layer * D + direction) * B * H
                        backwardDirection(
                            layer: layer, direction: direction, workspace: ws,
                            parameters: p.baseAddress!, gradients: g.baseAddress!,
                            input: layerInput, outputGradient: dOut, inputGradient: dIn,
                            dhN: finalHiddenGradient.map { $0.baseAddress! + index },
                            dcN: finalCellGradient.map { $0.baseAddress! + index })
                        initialHiddenGradient?.baseAddress!.advanced(by: index)
                            .update(from: ws.buffers(layer: layer, direction: direction).dhCarry, count: B * H)
                        initialCellGradient?.baseAddress!.advanced(by: index)
                            .update(from: ws.buffers(layer: layer, direction: direction).dcCarry, count: B * H)
                    }
                }
            }
        }
        if let dx = inputGradient {
            copyFromTimeMajor(from: ws.inputGradient!, to: dx.baseAddress!, steps: T, batch: B, features: c.inputSize)
        }
    }

    /// Backward of one direction of one layer: the forward listing read in reverse.
    private func backwardDirection(
        layer: Int, direction: Int, workspace ws: Workspace<Scalar>,
        parameters p: UnsafePointer<Scalar>, gradients g: UnsafeMutablePointer<Scalar>,
        input x: UnsafePointer<Scalar>, outputGradient dOut: UnsafePointer<Scalar>,
        inputGradient dIn: UnsafeMutablePointer<Scalar>,
        dhN: UnsafePointer<Scalar>?, dcN: UnsafePointer<Scalar>?
    ) {
        let c = configuration, cell = c.cell
        let T = ws.steps, B = ws.batch, H = c.hiddenSize, GH = cell.gateCount * H
        let inputWidth = c.layerInputSize(layer), outputWidth = c.outputSize
        let group = layout.group(layer: layer, direction: direction, directionCount: c.directionCount)
        let (wIHOffset, wHHOffset) = (group[group.startIndex].offset, group[group.startIndex + 1].offset)
        let (bIHOffset, bHHOffset) = (group[group.startIndex + 2].offset, group[group.startIndex + 3].offset)
        let wIH = p + wIHOffset, wHH = p + wHHOffset                      // (G·H, I_k), (G·H, H)
        let buf = ws.buffers(layer: layer, direction: direction)
        let reverse = direction == 1
        let lengths = ws.activeLengths

        // ∂L/∂h_n and ∂L/∂c_n seed the carries (zero when not given).
        if let dhN { buf.dhCarry.update(from: dhN, count: B * H) } else { buf.dhCarry.update(repeating: 0, count: B * H) }
        if cell == .lstm {
            if let dcN { buf.dcCarry.update(from: dcN, count: B * H) } else { buf.dcCarry.update(repeating: 0, count: B * H) }
        }

        for s in stride(from: T - 1, through: 0, by: -1) {
            let t = reverse ? T - 1 - s : s
            let gates = buf.gates + t * B * GH                                   // (B, G·H)
            let rows = StepRows(time: t, lengths: lengths)
            let dY = StridedConstRows(base: dOut + t * B * outputWidth + direction * H, stride: outputWidth)
            switch cell {
            case .lstm:
                LSTMCell.backward(
                    gates: gates, cPrev: buf.cStates + t * B * H, tanhC: buf.tanhC! + t * B * H,
                    dY: dY, dhCarry: buf.dhCarry, dcCarry: buf.dcCarry, rows: rows, batch: B, hidden: H)
                // ∂h_{prev} += ∂a · W_hh
                Scalar.gemm(transposeA: false, transposeB: false, m: B, n: H, k: GH,
                            alpha: 1, a: gates, lda: GH, b: wHH, ldb: H, beta: 1, c: buf.dhCarry, ldc: H)
            case .gru:
                GRUCell.backward(
                    gates: gates, hnSaved: buf.hiddenN! + t * B * H, dHidden: buf.stepScratch,
                    hPrev: buf.hStates + t * B * H, dY: dY, dhCarry: buf.dhCarry,
                    rows: rows, batch: B, hidden: H)
                Scalar.gemm(transposeA: false, transposeB: false, m: B, n: H, k: GH,
                            alpha: 1, a: buf.stepScratch, lda: GH, b: wHH, ldb: H, beta: 1, c: buf.dhCarry, ldc: H)
            case .rnnTanh, .rnnRelu:
                VanillaCell.backward(
                    gates: gates, relu: cell == .rnnRelu, dY: dY, dhCarry: buf.dhCarry,
                    rows: rows, batch: B, hidden: H)
                Scalar.gemm(transposeA: false, transposeB: false, m: B, n: H, k: GH,
                            alpha: 1, a: gates, lda: GH, b: wHH, ldb: H, beta: 1, c: buf.dhCarry, ldc: H)
            }
        }

        // Parameter gradients over all steps at once; `gates` now holds ∂L/∂a (T·B, G·H).
        let rowCount = T * B
        Scalar.gemm(transposeA: true, transposeB: false, m: GH, n: inputWidth, k: rowCount,
                    alpha: 1, a: buf.gates, lda: GH, b: x, ldb: inputWidth,
                    beta: 1, c: g + wIHOffset, ldc: inputWidth)           // ∂W_ih += ∂a^T · X
        if cell == .gru {
            // r and z rows see the same gradient on both sides; the n rows see ∂hh_n = ∂x_n ⊙ r.
            Scalar.gemm(transposeA: true, transposeB: false, m: 2 * H, n: H, k: rowCount,
                        alpha: 1, a: buf.gates, lda: GH, b: buf.hStates, ldb: H,
                        beta: 1, c: g + wHHOffset, ldc: H)
            Scalar.gemm(transposeA: true, transposeB: false, m: H, n: H, k: rowCount,
                        alpha: 1, a: buf.hiddenN!, lda: H, b: buf.hStates, ldb: H,
                        beta: 1, c: g + wHHOffset + 2 * H * H, ldc: H)
        } else {
            Scalar.gemm(transposeA: true, transposeB: false, m: GH, n: H, k: rowCount,
                        alpha: 1, a: buf.gates, lda: GH, b: buf.hStates, ldb: H,
                        beta: 1, c: g + wHHOffset, ldc: H)                 // ∂W_hh += ∂a^T · H_prev
        }
        let dbIH = g + bIHOffset, dbHH = g + bHHOffset
        for row in 0..<rowCount {
            let da = buf.gates + row * GH
            for j in 0..<GH { dbIH[j] += da[j] }
        }
        if cell == .gru {
            for row in 0..<rowCount {
                let da = buf.gates + row * GH, dn = buf.hiddenN! + row * H
                for j in 0..<2 * H { dbHH[j] += da[j] }
                for j in 0..<H { dbHH[2 * H + j] += dn[j] }
            }
        } else {
            for row in 0..<rowCount {
                let da = buf.gates + row * GH
                for j in 0..<GH { dbHH[j] += da[j] }
            }
        }
        Scalar.gemm(transposeA: false, transposeB: false, m: rowCount, n: inputWidth, k: GH,
                    alpha: 1, a: buf.gates, lda: GH, b: wIH, ldb: inputWidth,
                    beta: 1, c: dIn, ldc: inputWidth)                       // ∂X += ∂a · W_ih
    }

    // MARK: Helpers

    private func workspaceFor(steps: Int, batch: Int, training: Bool) throws -> Workspace<Scalar> {
        if training {
            if let ws = trainingWorkspace, ws.steps == steps, ws.batch == batch { return ws }
            trainingWorkspace = nil  // release before allocating the new shape
            let ws = try Workspace<Scalar>(configuration: configuration, steps: steps, batch: batch, training: true)
            trainingWorkspace = ws
            return ws
        } else {
            if let ws = inferenceWorkspace, ws.steps == steps, ws.batch == batch { return ws }
            inferenceWorkspace = nil
            let ws = try Workspace<Scalar>(configuration: configuration, steps: steps, batch: batch, training: false)
            inferenceWorkspace = ws
            return ws
        }
    }

    private func validateShape(steps: Int, batch: Int) throws {
        guard steps >= 1 else { throw RNNKitError(.invalidArgument, "sequence length T must be at least 1, got \(steps)") }
        guard batch >= 1 else { throw RNNKitError(.invalidArgument, "batch size B must be at least 1, got \(batch)") }
        let c = configuration
        _ = try checkedProduct(steps, batch, max(c.inputSize, c.cell.gateCount * c.hiddenSize, c.outputSize),
                               what: "activations for T = \(steps), B = \(batch)")
    }

    private func validateLengths(_ lengths: [Int], steps: Int, batch: Int) throws {
        guard lengths.count == batch else {
            throw RNNKitError(.shapeMismatch, "expected \(batch) sequence lengths (one per batch row), got \(lengths.count)")
        }
        for (row, length) in lengths.enumerated() where length < 1 || length > steps {
            throw RNNKitError(.invalidArgument,
                "sequence length \(length) at batch row \(row) is out of range; expected 1…\(steps)")
        }
    }

    private func expectCount(_ actual: Int, _ expected: Int, _ what: String, _ shape: String) throws {
        guard actual == expected else {
            throw RNNKitError(.shapeMismatch, "expected \(what) with \(expected) elements \(shape), got \(actual)")
        }
    }

    /// Copies `[T, B, F]` (or `[B, T, F]` when batch-first) into time-major order.
    private func copyToTimeMajor(from source: UnsafePointer<Scalar>, to destination: UnsafeMutablePointer<Scalar>,
                                 steps: Int, batch: Int, features: Int) {
        guard configuration.batchFirst else {
            destination.update(from: source, count: steps * batch * features)
            return
        }
        for b in 0..<batch {
            for t in 0..<steps {
                (destination + (t * batch + b) * features).update(from: source + (b * steps + t) * features, count: features)
            }
        }
    }

    /// Copies time-major `[T, B, F]` out to the caller's layout.
    private func copyFromTimeMajor(from source: UnsafePointer<Scalar>, to destination: UnsafeMutablePointer<Scalar>,
                                   steps: Int, batch: Int, features: Int) {
        guard configuration.batchFirst else {
            destination.update(from: source, count: steps * batch * features)
            return
        }
        for b in 0..<batch {
            for t in 0..<steps {
                (destination + (b * steps + t) * features).update(from: source + (t * batch + b) * features, count: features)
            }
        }
    }
}

/// Calls `body` with a buffer over `array`, or with `nil`.
func withOptionalBuffer<Scalar, Result>(
    _ array: [Scalar]?, _ body: (UnsafeBufferPointer<Scalar>?) throws -> Result
) rethrows -> Result {
    guard let array else { return try body(nil) }
    return try array.withUnsafeBufferPointer { try body($0) }
}

/// Calls `body` with a mutable buffer over `array`, or with `nil`.
func withOptionalMutableBuffer<Scalar, Result>(
    _ array: inout [Scalar]?, _ body: (UnsafeMutableBufferPointer<Scalar>?) throws -> Result
) rethrows -> Result {
    guard array != nil else { return try body(nil) }
    return try array!.withUnsafeMutableBufferPointer { try body($0) }
}
