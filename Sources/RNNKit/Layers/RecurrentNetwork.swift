// The stacked, optionally bidirectional recurrent network: validation, workspace, the order of
// the passes and the dropout between layers. The work of one layer and direction is in
// DirectionPass.swift; how a pass uses the workers is decided once, in PassSchedule.swift.
// Dimension legend:
//   T time steps   B batch   I input features (of layer 0; I_k of layer k)
//   H hidden       G gates (RNN 1, GRU 3, LSTM 4)   D directions   L layers
//
// Forward, per layer k (bottom first) and direction d:
//   without packed weights: gates(T·B, G·H) = X(T·B, I_k) · W_ih^T     one GEMM before the time loop
//   for each step:  with packed weights, every few steps: gates of the next chunk of steps =
//                       X(chunk·B, I_k) · W_ih^T                           one packed product
//                   gates_t += h_prev · W_hh^T                             one product (B, G·H)
//                   cell kernel: bias, activations, state update, output   one fused pass
//   between layers (training, dropout p > 0): y_k = dropout_k(y_k), the input of layer k + 1
//   recurrent dropout (training, p > 0): one mask m (B, H) per layer and direction, drawn before
//     the layers run; every recurrent product reads m ⊙ h_prev (DirectionPass.swift)
//   zoneout (training): masks (T, B, H) per layer and direction, drawn before the layers run;
//     after each step's kernel the kept units take their previous h (c) again
// Backward, per layer k (top first) and direction d:
//   ∂y_k = ∂y_k ⊙ mask_k (below the top layer, with dropout)
//   for each step, in reverse processing order:
//                   cell kernel: ∂gates_t, direct state gradients, bias sums — one fused pass
//                   ∂h_prev += ∂gates_t · W_hh                   one product per step
//   after the loop: ∂W_ih += ∂gates^T · X, ∂W_hh += ∂gates^T · H_prev, ∂X += ∂gates · W_ih
//                   one GEMM each, over all steps

import CRNNKitKernels

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
    public var parameters: [Scalar] {
        didSet { parameterVersion &+= 1 }   // any change, in place or whole, invalidates packed copies
    }
    /// Gradients of all parameters, same layout as ``parameters``; backward adds into them.
    public var gradients: [Scalar]
    /// Whether forward keeps the activations backward needs (default `true`). With `false`,
    /// forward uses a small workspace whose size does not grow with the number of layers.
    public var isTraining: Bool = true {
        didSet { if !isTraining { trainingWorkspace = nil; backwardReady = false } }
    }

    /// Counts changes of ``parameters``; packed weights remember the version they were made from.
    private var parameterVersion: UInt64 = 0
    /// `W_ih` and `W_hh` packed for forward's products, when `PackedWeights<Scalar>.isUsed`.
    private var packedWeights: PackedWeights<Scalar>?
    private var trainingWorkspace: Workspace<Scalar>?
    private var inferenceWorkspace: Workspace<Scalar>?
    /// Whether the training workspace holds the activations of a forward not yet differentiated.
    private var backwardReady = false
    /// The dropout on the outputs of layers `0..<L−1` (``RecurrentConfiguration/dropout``).
    private let interLayerDropouts: [Dropout<Scalar>]
    /// With ``RecurrentConfiguration/recurrentDropout``: the mask streams of each layer and
    /// direction, `L·D` in `layer·D + direction` order; empty without it.
    private let recurrentDropouts: [Dropout<Scalar>]
    /// With zoneout: the mask streams of each layer and direction, `L·D`; empty without it.
    private var zoneoutGenerators: [SeededGenerator]
    /// The ids of the last training forward whose input was looked up (``TokenProjection``), or
    /// `nil` after a forward on vectors: backward then differentiates into the embedding.
    private var trainingTokens: (ids: [Int], vocabulary: Int)?
    /// `D` tables `(V, G·H)` of layer 0 for token input: `P` in forward, `∂P` in backward.
    private var tokenTables: AlignedBuffer<Scalar>?

    /// Creates a network with PyTorch's default initialisation: every parameter drawn from
    /// U(−1/√H, 1/√H) in `state_dict` order by ``SeededGenerator`` seeded with `seed` (default 0).
    /// The dropout between layers draws from streams derived from `seed` as well.
    /// - Throws: ``RNNKitError`` if a size is not positive, the dropout is out of range or the
    ///   parameters would not fit in memory.
    public convenience init(_ configuration: RecurrentConfiguration, seed: UInt64 = 0) throws {
        try configuration.validate()
        try self.init(configuration, parameterSeeds: [seed],
                      dropoutSeeds: (0..<max(0, configuration.numLayers - 1)).map { derivedSeed(seed, 200 + UInt64($0)) })
    }

    /// Creates a network whose parameters are drawn from U(−1/√H, 1/√H) in `state_dict` order:
    /// all from one stream seeded `parameterSeeds[0]` when it holds one seed, else layer `k` from
    /// its own stream seeded `parameterSeeds[k]` (one seed per layer). `dropoutSeeds` (`L − 1`)
    /// seed the dropout after each layer but the last.
    init(_ configuration: RecurrentConfiguration, parameterSeeds: [UInt64], dropoutSeeds: [UInt64]) throws {
        try configuration.validate()
        precondition(parameterSeeds.count == 1 || parameterSeeds.count == configuration.numLayers)
        precondition(dropoutSeeds.count == configuration.numLayers - 1)
        self.configuration = configuration
        // Parameters and gradients, two buffers of the parameter count; the layout and the names
        // about a hundred bytes a tensor, probed as 128 scalars each (generously) before the layout is built.
        let tensorCount = try configuration.parameterTensorCount()
        try ensureAllocatable(
            try checkedSum(try checkedProduct(2, try configuration.parameterCount(), what: "parameters and gradients"),
                           try checkedProduct(128, tensorCount, what: "parameter tensors"), what: "parameters and gradients"),
            of: Scalar.self, what: "parameters and gradients of \(tensorCount) tensors")
        self.layout = ParameterLayout(configuration)
        let bound = 1 / Double(configuration.hiddenSize).squareRoot()
        var parameters: [Scalar] = []
        parameters.reserveCapacity(layout.totalCount)
        var generator = SeededGenerator(seed: parameterSeeds[0])
        for entry in layout.entries {
            if parameterSeeds.count > 1, entry.direction == 0, entry.role == .inputWeight {
                generator = SeededGenerator(seed: parameterSeeds[entry.layer])
            }
            switch entry.role {
            case .layerNormGain: parameters += repeatElement(1, count: entry.count)   // the identity normalisation
            case .layerNormShift: parameters += repeatElement(0, count: entry.count)
            default:
                for _ in 0..<entry.count { parameters.append(Scalar(generator.nextUniform(-bound, bound))) }
            }
        }
        self.parameters = parameters
        self.gradients = Array(repeating: 0, count: layout.totalCount)
        self.interLayerDropouts = try dropoutSeeds.map { try Dropout<Scalar>(probability: configuration.dropout, seed: $0) }
        let maskStreams = configuration.recurrentDropout > 0 ? configuration.numLayers * configuration.directionCount : 0
        self.recurrentDropouts = try (0..<maskStreams).map {
            try Dropout<Scalar>(probability: configuration.recurrentDropout, seed: derivedSeed(parameterSeeds[0], 300 + UInt64($0)))
        }
        let zoneoutStreams = configuration.hasZoneout ? configuration.numLayers * configuration.directionCount : 0
        self.zoneoutGenerators = (0..<zoneoutStreams).map { SeededGenerator(seed: derivedSeed(parameterSeeds[0], 400 + UInt64($0))) }
    }

    /// The states of the dropout streams: one per layer but the last (between layers), then, with
    /// recurrent dropout, one per layer and direction, then, with zoneout, one per layer and
    /// direction (saved in training checkpoints so that a resumed run draws the same masks).
    public var dropoutGeneratorStates: [UInt64] {
        get { (interLayerDropouts + recurrentDropouts).map(\.generator.state) + zoneoutGenerators.map(\.state) }
        set {
            let streams = interLayerDropouts + recurrentDropouts
            precondition(newValue.count == streams.count + zoneoutGenerators.count,
                         "expected one dropout state per layer but the last, then one per layer and direction with recurrent dropout and with zoneout")
            for (dropout, state) in zip(streams, newValue) { dropout.generator.state = state }
            for index in zoneoutGenerators.indices { zoneoutGenerators[index].state = newValue[streams.count + index] }
        }
    }

    /// The zoneout masks `[L·D, T, B, H]` (1 = the unit kept its previous value) of the last
    /// training forward, hidden and cell state, or `nil` without zoneout or before a training forward.
    var zoneoutMasks: (hidden: [Scalar], cell: [Scalar])? {
        guard !zoneoutGenerators.isEmpty, let ws = trainingWorkspace else { return nil }
        var hidden: [Scalar] = [], cell: [Scalar] = []
        let count = ws.steps * ws.batch * configuration.hiddenSize
        for layer in 0..<configuration.numLayers {
            for direction in 0..<configuration.directionCount {
                guard let masks = ws.buffers(layer: layer, direction: direction).zoneoutMasks else { return nil }
                hidden += UnsafeBufferPointer(start: masks.hidden, count: count)
                cell += UnsafeBufferPointer(start: masks.cell, count: count)
            }
        }
        return (hidden, cell)
    }

    /// The recurrent dropout masks `[L·D, B, H]` of the last training forward (values 0 or
    /// `1/(1 − p)`), or `nil` without recurrent dropout or before a training forward.
    var recurrentDropoutMasks: [Scalar]? {
        guard !recurrentDropouts.isEmpty, let ws = trainingWorkspace, let masks = ws.recurrentMasks else { return nil }
        return Array(UnsafeBufferPointer(start: masks, count: recurrentDropouts.count * ws.batch * configuration.hiddenSize))
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
        gradients.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
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
        try expectCount(input.count, steps * batch * c.inputSize, "input", "[T, B, I] = [\(steps), \(batch), \(c.inputSize)]")
        return try forwardIntoArrays(steps: steps, batch: batch, initialHidden: initialHidden, initialCell: initialCell) {
            h0, c0, y, hN, cN in
            try input.withUnsafeBufferPointer { x in
                try forward(input: x, steps: steps, batch: batch, lengths: lengths, initialHidden: h0, initialCell: c0,
                            output: y, finalHidden: hN, finalCell: cN)
            }
        }
    }

    /// Forward whose layer-0 input is looked up: position `n` (time-major) reads row `ids[n]` of
    /// `embedding` `(V, I)`, through the lookup of ``TokenProjection`` (cheaper than the vectors
    /// when `V < T·B`). Otherwise as ``forward(_:steps:batch:lengths:initialHidden:initialCell:)``;
    /// not for batch-first networks. A training forward of this kind is differentiated by
    /// ``backward(tokenEmbedding:outputGradient:finalHiddenGradient:finalCellGradient:)``.
    func forward(
        tokens ids: [Int], embedding: [Scalar], steps: Int, batch: Int, lengths: [Int]? = nil,
        initialHidden: [Scalar]? = nil, initialCell: [Scalar]? = nil
    ) throws -> RecurrentOutput<Scalar> {
        precondition(!configuration.batchFirst, "token input is time-major")
        try validateShape(steps: steps, batch: batch)
        let c = configuration, V = embedding.count / c.inputSize
        try expectCount(ids.count, steps * batch, "token ids", "[T, B] = [\(steps), \(batch)]")
        try expectCount(embedding.count, V * c.inputSize, "embedding", "[V, I] with I = \(c.inputSize)")
        if let position = ids.firstIndex(where: { $0 < 0 || $0 >= V }) {
            throw RNNKitError(.invalidArgument, "token id \(ids[position]) at position \(position) is out of range; expected 0..<\(V)")
        }
        guard V <= steps * batch else {
            throw RNNKitError(.invalidArgument, "token input looks up a vocabulary of at most T·B = \(steps * batch) rows, got \(V); embed the ids and call forward(_:…)")
        }
        return try forwardIntoArrays(steps: steps, batch: batch, initialHidden: initialHidden, initialCell: initialCell) {
            h0, c0, y, hN, cN in
            try validateForwardArguments(steps: steps, batch: batch, lengths: lengths, initialHidden: h0, initialCell: c0,
                                         finalHidden: hN, finalCell: cN)
            try ids.withUnsafeBufferPointer { i in
                try embedding.withUnsafeBufferPointer { e in
                    try run(input: nil, tokens: (i.baseAddress!, V, e.baseAddress!), steps: steps, batch: batch,
                            lengths: lengths, initialHidden: h0?.baseAddress, initialCell: c0?.baseAddress,
                            output: y.baseAddress!, finalHidden: hN.baseAddress, finalCell: cN?.baseAddress,
                            training: isTraining)
                }
            }
            if isTraining { trainingTokens = (ids, V) }
        }
    }

    /// Allocates the output and final states of a forward and calls `body` with buffers over them
    /// and over the initial states.
    private func forwardIntoArrays(
        steps: Int, batch: Int, initialHidden: [Scalar]?, initialCell: [Scalar]?,
        _ body: (UnsafeBufferPointer<Scalar>?, UnsafeBufferPointer<Scalar>?, UnsafeMutableBufferPointer<Scalar>,
                 UnsafeMutableBufferPointer<Scalar>, UnsafeMutableBufferPointer<Scalar>?) throws -> Void
    ) throws -> RecurrentOutput<Scalar> {
        let c = configuration
        let hiddenCount = c.hiddenStateCount(batch: batch), cellCount = c.cellStateCount(batch: batch)
        // The result arrays are the caller's to have; refuse, rather than crash, when they cannot be.
        try ensureAllocatable(steps * batch * c.outputSize + hiddenCount + cellCount, of: Scalar.self,
                              what: "output [T, B, D·R] and final states for T = \(steps), B = \(batch)")
        var output = [Scalar](repeating: 0, count: steps * batch * c.outputSize)
        var finalHidden = [Scalar](repeating: 0, count: hiddenCount)
        var finalCell: [Scalar]? = c.cell.hasCellState ? [Scalar](repeating: 0, count: cellCount) : nil
        try withOptionalBuffer(initialHidden) { h0 in
            try withOptionalBuffer(initialCell) { c0 in
                try output.withUnsafeMutableBufferPointer { y in
                    try finalHidden.withUnsafeMutableBufferPointer { hN in
                        try withOptionalMutableBuffer(&finalCell) { cN in try body(h0, c0, y, hN, cN) }
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
        try expectCount(input.count, steps * batch * c.inputSize, "input", "[T, B, I] = [\(steps), \(batch), \(c.inputSize)]")
        try expectCount(output.count, steps * batch * c.outputSize, "output", "[T, B, D·R]")
        try validateForwardArguments(steps: steps, batch: batch, lengths: lengths, initialHidden: initialHidden,
                                     initialCell: initialCell, finalHidden: finalHidden, finalCell: finalCell)
        try run(input: input.baseAddress!, tokens: nil, steps: steps, batch: batch, lengths: lengths,
                initialHidden: initialHidden?.baseAddress, initialCell: initialCell?.baseAddress,
                output: output.baseAddress!, finalHidden: finalHidden?.baseAddress,
                finalCell: finalCell?.baseAddress, training: isTraining)
        if isTraining { trainingTokens = nil }
    }

    /// Throws unless the states, lengths and parameter buffers fit a forward of `steps × batch`.
    private func validateForwardArguments(
        steps: Int, batch: Int, lengths: [Int]?,
        initialHidden: UnsafeBufferPointer<Scalar>?, initialCell: UnsafeBufferPointer<Scalar>?,
        finalHidden: UnsafeMutableBufferPointer<Scalar>?, finalCell: UnsafeMutableBufferPointer<Scalar>?
    ) throws {
        let c = configuration
        let hiddenCount = c.hiddenStateCount(batch: batch), cellCount = c.cellStateCount(batch: batch)
        let hiddenShape = c.isProjected ? "[L·D, B, P]" : "[L·D, B, H]"
        if let h0 = initialHidden { try expectCount(h0.count, hiddenCount, "initial hidden state h0", hiddenShape) }
        if let hN = finalHidden { try expectCount(hN.count, hiddenCount, "final hidden state h_n", hiddenShape) }
        if !c.cell.hasCellState, initialCell != nil || finalCell != nil {
            throw RNNKitError(.invalidArgument, "a cell state (c0/c_n) is only for LSTM, not \(c.cell.rawValue)")
        }
        if let c0 = initialCell { try expectCount(c0.count, cellCount, "initial cell state c0", "[L·D, B, H]") }
        if let cN = finalCell { try expectCount(cN.count, cellCount, "final cell state c_n", "[L·D, B, H]") }
        if let lengths { try validateLengths(lengths, steps: steps, batch: batch) }
        guard parameters.count == layout.totalCount, gradients.count == layout.totalCount else {
            throw RNNKitError(.invalidState,
                "parameters and gradients must hold \(layout.totalCount) scalars, hold \(parameters.count) and \(gradients.count)")
        }
    }

    /// Runs every layer and direction; arguments are validated by the caller. Layer 0 reads
    /// `input` `(T, B, I)` in the caller's layout, or with `tokens` looks its rows up (``TokenProjection``).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func run(
        input: UnsafePointer<Scalar>?, tokens: (ids: UnsafePointer<Int>, vocabulary: Int, embedding: UnsafePointer<Scalar>)?,
        steps: Int, batch: Int, lengths: [Int]?,
        initialHidden: UnsafePointer<Scalar>?, initialCell: UnsafePointer<Scalar>?,
        output: UnsafeMutablePointer<Scalar>,
        finalHidden: UnsafeMutablePointer<Scalar>?, finalCell: UnsafeMutablePointer<Scalar>?,
        training: Bool
    ) throws {
        let c = configuration
        let workspace = try workspaceFor(steps: steps, batch: batch, training: training)
        if training { backwardReady = false }
        for b in 0..<batch { workspace.lengths[b] = lengths?[b] ?? steps }
        workspace.hasLengths = lengths != nil
        if let input {
            copyLayout(from: input, to: workspace.input, steps: steps, batch: batch, features: c.inputSize, toTimeMajor: true)
        }
        let tables = try tokens.map { try tokenTables(vocabulary: $0.vocabulary) }

        if PackedWeights<Scalar>.isUsed, packedWeights == nil {
            packedWeights = try PackedWeights(c)
        }
        if training, let packedWeights {
            try parameters.withUnsafeBufferPointer { p in
                try packedWeights.refreshTransposed(from: p.baseAddress!, layout: layout, configuration: c,
                                                    version: parameterVersion)
            }
        }
        let schedule = passSchedule(steps: steps, batch: batch)
        let layerOutputCount = steps * batch * c.outputSize
        if training, let masks = workspace.recurrentMasks {
            // One mask per layer, direction and sequence, drawn in that order whatever the threads.
            let maskCount = batch * c.hiddenSize
            for (index, dropout) in recurrentDropouts.enumerated() {
                let mask = UnsafeMutableBufferPointer(start: masks + index * maskCount, count: maskCount)
                mask.update(repeating: 1)
                dropout.forward(inPlace: mask)
            }
        }
        if training, c.hasZoneout {
            // Every step's masks of each layer and direction, in that order, in time order.
            let count = steps * batch * c.hiddenSize
            for layer in 0..<c.numLayers {
                for direction in 0..<c.directionCount {
                    let masks = workspace.buffers(layer: layer, direction: direction).zoneoutMasks!
                    let index = layer * c.directionCount + direction
                    for (mask, p) in [(masks.hidden, c.zoneoutHidden), (masks.cell, c.zoneoutCell)] {
                        for i in 0..<count { mask[i] = p > 0 && zoneoutGenerators[index].nextUnit() < p ? 1 : 0 }
                    }
                }
            }
        }
        parameters.withUnsafeBufferPointer { p in
            packedWeights?.refresh(from: p.baseAddress!, layout: layout, configuration: c, version: parameterVersion)
            for layer in 0..<c.numLayers {
                let passes = (0..<c.directionCount).map { direction in
                    makePass(layer: layer, direction: direction, workspace: workspace, parameters: p.baseAddress!,
                             tokens: layer == 0 ? tokens.map { (ids: $0.ids, embedding: $0.embedding, tables: tables!) } : nil,
                             startsFromZero: initialHidden == nil)
                }
                func prepare(_ direction: Int) {
                    let index = layer * c.directionCount + direction
                    passes[direction].prepareForward(h0: initialHidden.map { $0 + index * batch * c.stateSize },
                                                     c0: initialCell.map { $0 + index * batch * c.hiddenSize })
                }
                if schedule.directionsInParallel {
                    runConcurrently(2) { direction in
                        prepare(direction)
                        passes[direction].forwardSteps(rows: 0..<batch, columns: 0..<c.hiddenSize)
                    }
                } else {
                    for direction in passes.indices {
                        prepare(direction)
                        forwardTimeLoop(passes[direction], batch: batch, schedule: schedule)
                    }
                }
                if training, layer < c.numLayers - 1 {
                    interLayerDropouts[layer].forward(
                        inPlace: UnsafeMutableBufferPointer(start: workspace.output(ofLayer: layer), count: layerOutputCount))
                }
            }
        }
        copyLayout(from: workspace.output(ofLayer: c.numLayers - 1), to: output,
                   steps: steps, batch: batch, features: c.outputSize, toTimeMajor: false)
        finalHidden?.update(from: workspace.finalHidden, count: c.hiddenStateCount(batch: batch))
        finalCell?.update(from: workspace.finalCell, count: c.cellStateCount(batch: batch))
        if training { backwardReady = true }
    }

    /// The time loop of one direction on the workers of `schedule`: hidden units split with a
    /// barrier per step, or batch rows split (also when the column workers cannot be started).
    private func forwardTimeLoop(_ pass: DirectionPass<Scalar>, batch: Int, schedule: PassSchedule) {
        let H = configuration.hiddenSize
        let columnWorkers = schedule.forwardColumnWorkers
        if columnWorkers > 1 {
            var barrier = rk_barrier()
            rk_barrier_init(&barrier, Int64(columnWorkers))
            let ran = withUnsafeMutablePointer(to: &barrier) { barrier in
                runTogether(columnWorkers) { worker in
                    pass.forwardSteps(rows: 0..<batch, columns: workerColumns(worker, of: columnWorkers, hidden: H),
                                      stateColumns: workerColumns(worker, of: columnWorkers, hidden: configuration.stateSize),
                                      cellRows: workerRows(worker, of: columnWorkers, count: batch), barrier: barrier)
                }
            }
            if ran { return }
        }
        let workers = schedule.forwardRowWorkers
        runConcurrently(workers) { worker in
            pass.forwardSteps(rows: workerRows(worker, of: workers, count: batch), columns: 0..<H)
        }
    }

    /// `D` tables `(V, G·H)` for token input over a vocabulary of `V`, kept between calls.
    private func tokenTables(vocabulary: Int) throws -> AlignedBuffer<Scalar> {
        let c = configuration
        let count = try checkedProduct(c.directionCount, vocabulary, c.cell.gateCount * c.hiddenSize, what: "token projection tables")
        if let tokenTables, tokenTables.count == count { return tokenTables }
        tokenTables = nil
        try ensureAllocatable(count, of: Scalar.self, what: "token projection tables [D, V, G·H] for V = \(vocabulary)")
        let tables = AlignedBuffer<Scalar>(count: count)
        tokenTables = tables
        return tables
    }

    /// The pass of one layer and direction over the current workspace; `tokens` (layer 0 only)
    /// gives its input as ids into an embedding, with the tables of ``tokenTables(vocabulary:)``.
    private func makePass(
        layer: Int, direction: Int, workspace ws: Workspace<Scalar>, parameters p: UnsafePointer<Scalar>,
        tokens: (ids: UnsafePointer<Int>, embedding: UnsafePointer<Scalar>, tables: AlignedBuffer<Scalar>)? = nil,
        startsFromZero: Bool = false
    ) -> DirectionPass<Scalar> {
        let c = configuration
        let group = layout.group(layer: layer, direction: direction, directionCount: c.directionCount)
        let matrix = layer * c.directionCount + direction
        let index = matrix * ws.batch * c.hiddenSize                             // into (L·D, B, H)
        let hiddenIndex = matrix * ws.batch * c.stateSize                        // into (L·D, B, R)
        let tableCount = tokens.map { $0.tables.count / c.directionCount } ?? 0
        let projection = tokens.map {
            TokenProjection(ids: $0.ids, vocabulary: tableCount / (c.cell.gateCount * c.hiddenSize), embedding: $0.embedding,
                            table: $0.tables.pointer + direction * tableCount)
        }
        return DirectionPass(
            cell: c.cell, steps: ws.steps, batch: ws.batch, hidden: c.hiddenSize, state: c.stateSize,
            inputWidth: c.layerInputSize(layer), outputWidth: c.outputSize,
            reverse: direction == 1, training: ws.training,
            wIH: p + group[group.startIndex].offset, wHH: p + group[group.startIndex + 1].offset,
            wHR: group.entry(.projectionWeight).map { p + $0.offset },
            packedWHR: packedWeights?.projection(matrix),
            packedWIH: packedWeights?.input(matrix),
            packedWHH: packedWeights?.recurrent(matrix),
            packedWHN: packedWeights?.candidate(matrix),
            packedWHHTransposed: packedWeights?.recurrentTransposed(matrix),
            packedWHNTransposed: packedWeights?.candidateTransposed(matrix),
            bIH: p + group[group.startIndex + 2].offset, bHH: p + group[group.startIndex + 3].offset,
            peephole: group.entry(.peepholeWeight).map { p + $0.offset },
            // The six gains and shifts lie one after another (ParameterLayout): one 18H block.
            norms: group.entry(.layerNormGain(.input)).map { LayerNormParameters(base: p + $0.offset) },
            recurrentMask: ws.recurrentMasks.map { UnsafePointer($0 + index) },
            buffers: ws.buffers(layer: layer, direction: direction),
            input: layer == 0 ? UnsafePointer(ws.input) : UnsafePointer(ws.output(ofLayer: layer - 1)), tokens: projection,
            output: ws.output(ofLayer: layer) + direction * c.stateSize,
            hFinal: ws.finalHidden + hiddenIndex, cFinal: ws.finalCell + index,
            lengths: ws.activeLengths, startsFromZero: startsFromZero, projectionSteps: ws.projectionSteps)
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
        return try backwardIntoArrays(
            inputGradientCount: ws.steps * ws.batch * configuration.inputSize, outputGradient: outputGradient,
            finalHiddenGradient: finalHiddenGradient, finalCellGradient: finalCellGradient
        ) { dY, dhN, dcN, dx, dh0, dc0 in
            try backward(outputGradient: dY, finalHiddenGradient: dhN, finalCellGradient: dcN,
                         inputGradient: dx, initialHiddenGradient: dh0, initialCellGradient: dc0)
        }
    }

    /// Backpropagates through the last training forward on token input
    /// (``forward(tokens:embedding:steps:batch:lengths:initialHidden:initialCell:)``), with the same
    /// `embedding` `(V, I)`; like ``backward(outputGradient:finalHiddenGradient:finalCellGradient:)``,
    /// but its ``RecurrentInputGradients/input`` is `∂L/∂embedding` `(V, I)`.
    func backward(
        tokenEmbedding embedding: [Scalar], outputGradient: [Scalar], finalHiddenGradient: [Scalar]? = nil,
        finalCellGradient: [Scalar]? = nil
    ) throws -> RecurrentInputGradients<Scalar> {
        guard backwardReady, trainingWorkspace != nil, let tokens = trainingTokens else {
            throw RNNKitError(.invalidState, "backward on token input needs a training forward on token input first (one backward per forward)")
        }
        try expectCount(embedding.count, tokens.vocabulary * configuration.inputSize, "embedding", "[V, I], as in the forward")
        return try backwardIntoArrays(
            inputGradientCount: embedding.count, outputGradient: outputGradient,
            finalHiddenGradient: finalHiddenGradient, finalCellGradient: finalCellGradient
        ) { dY, dhN, dcN, dE, dh0, dc0 in
            try tokens.ids.withUnsafeBufferPointer { ids in
                try embedding.withUnsafeBufferPointer { e in
                    try validateBackwardArguments(outputGradient: dY, finalHiddenGradient: dhN, finalCellGradient: dcN,
                                                  initialHiddenGradient: dh0, initialCellGradient: dc0)
                    try differentiate(outputGradient: dY, finalHiddenGradient: dhN, finalCellGradient: dcN,
                                      inputGradient: dE, initialHiddenGradient: dh0, initialCellGradient: dc0,
                                      tokens: (ids.baseAddress!, tokens.vocabulary, e.baseAddress!))
                }
            }
        }
    }

    /// Allocates the input and initial-state gradients of a backward and calls `body` with buffers
    /// over them and over the given gradients.
    private func backwardIntoArrays(
        inputGradientCount: Int, outputGradient: [Scalar], finalHiddenGradient: [Scalar]?, finalCellGradient: [Scalar]?,
        _ body: (UnsafeBufferPointer<Scalar>, UnsafeBufferPointer<Scalar>?, UnsafeBufferPointer<Scalar>?,
                 UnsafeMutableBufferPointer<Scalar>, UnsafeMutableBufferPointer<Scalar>,
                 UnsafeMutableBufferPointer<Scalar>?) throws -> Void
    ) throws -> RecurrentInputGradients<Scalar> {
        let c = configuration, ws = trainingWorkspace!
        var dX = [Scalar](repeating: 0, count: inputGradientCount)
        var dH0 = [Scalar](repeating: 0, count: c.hiddenStateCount(batch: ws.batch))
        var dC0: [Scalar]? = c.cell.hasCellState ? [Scalar](repeating: 0, count: c.cellStateCount(batch: ws.batch)) : nil
        try outputGradient.withUnsafeBufferPointer { dY in
            try withOptionalBuffer(finalHiddenGradient) { dhN in
                try withOptionalBuffer(finalCellGradient) { dcN in
                    try dX.withUnsafeMutableBufferPointer { dx in
                        try dH0.withUnsafeMutableBufferPointer { dh0 in
                            try withOptionalMutableBuffer(&dC0) { dc0 in try body(dY, dhN, dcN, dx, dh0, dc0) }
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
        guard trainingTokens == nil else {
            throw RNNKitError(.invalidState, "the last training forward read token ids; its backward is backward(tokenEmbedding:…)")
        }
        try validateBackwardArguments(outputGradient: outputGradient, finalHiddenGradient: finalHiddenGradient,
                                      finalCellGradient: finalCellGradient, initialHiddenGradient: initialHiddenGradient,
                                      initialCellGradient: initialCellGradient)
        if let g = inputGradient { try expectCount(g.count, ws.steps * ws.batch * configuration.inputSize, "input gradient dx", "[T, B, I]") }
        try differentiate(outputGradient: outputGradient, finalHiddenGradient: finalHiddenGradient,
                          finalCellGradient: finalCellGradient, inputGradient: inputGradient,
                          initialHiddenGradient: initialHiddenGradient, initialCellGradient: initialCellGradient, tokens: nil)
    }

    /// Throws unless the gradients fit the last training forward (all but the input gradient).
    private func validateBackwardArguments(
        outputGradient: UnsafeBufferPointer<Scalar>,
        finalHiddenGradient: UnsafeBufferPointer<Scalar>?, finalCellGradient: UnsafeBufferPointer<Scalar>?,
        initialHiddenGradient: UnsafeMutableBufferPointer<Scalar>?, initialCellGradient: UnsafeMutableBufferPointer<Scalar>?
    ) throws {
        let c = configuration, ws = trainingWorkspace!
        let T = ws.steps, B = ws.batch
        let hiddenCount = c.hiddenStateCount(batch: B), cellCount = c.cellStateCount(batch: B)
        let hiddenShape = c.isProjected ? "[L·D, B, P]" : "[L·D, B, H]"
        try expectCount(outputGradient.count, T * B * c.outputSize, "output gradient dy", "[T, B, D·R] = [\(T), \(B), \(c.outputSize)]")
        if let g = finalHiddenGradient { try expectCount(g.count, hiddenCount, "final hidden gradient dh_n", hiddenShape) }
        if !c.cell.hasCellState, finalCellGradient != nil || initialCellGradient != nil {
            throw RNNKitError(.invalidArgument, "a cell-state gradient (dc_n/dc0) is only for LSTM, not \(c.cell.rawValue)")
        }
        if let g = finalCellGradient { try expectCount(g.count, cellCount, "final cell gradient dc_n", "[L·D, B, H]") }
        if let g = initialHiddenGradient { try expectCount(g.count, hiddenCount, "initial hidden gradient dh0", hiddenShape) }
        if let g = initialCellGradient { try expectCount(g.count, cellCount, "initial cell gradient dc0", "[L·D, B, H]") }
    }

    /// The backward passes, layer by layer from the top; arguments are validated by the caller.
    /// With `tokens`, layer 0's input gradient is `∂E (V, I)` (``TokenProjection``), else `∂X (T, B, I)`.
    private func differentiate(
        outputGradient: UnsafeBufferPointer<Scalar>,
        finalHiddenGradient: UnsafeBufferPointer<Scalar>?, finalCellGradient: UnsafeBufferPointer<Scalar>?,
        inputGradient: UnsafeMutableBufferPointer<Scalar>?,
        initialHiddenGradient: UnsafeMutableBufferPointer<Scalar>?, initialCellGradient: UnsafeMutableBufferPointer<Scalar>?,
        tokens: (ids: UnsafePointer<Int>, vocabulary: Int, embedding: UnsafePointer<Scalar>)?
    ) throws {
        let ws = trainingWorkspace!, c = configuration
        let T = ws.steps, B = ws.batch, H = c.hiddenSize, R = c.stateSize, D = c.directionCount
        let tables = try tokens.map { try tokenTables(vocabulary: $0.vocabulary) }
        backwardReady = false  // the gate buffers are overwritten by their gradients below

        let top = c.numLayers - 1
        copyLayout(from: outputGradient.baseAddress!, to: ws.outputGradients[top % 2],
                   steps: T, batch: B, features: c.outputSize, toTimeMajor: true)
        let schedule = passSchedule(steps: T, batch: B)
        try parameters.withUnsafeBufferPointer { p in
            try gradients.withUnsafeMutableBufferPointer { g in
                for layer in stride(from: top, through: 0, by: -1) {
                    let dOut = ws.outputGradients[layer % 2]                              // (T, B, D·R)
                    if layer < top {
                        // ∂y_k through the dropout between layers k and k + 1.
                        try interLayerDropouts[layer].backward(inPlace: UnsafeMutableBufferPointer(start: dOut, count: T * B * c.outputSize))
                    }
                    let passes = (0..<D).map { direction in
                        makePass(layer: layer, direction: direction, workspace: ws, parameters: p.baseAddress!,
                                 tokens: layer == 0 ? tokens.map { (ids: $0.ids, embedding: $0.embedding, tables: tables!) } : nil)
                    }
                    let inputRows = passes[0].inputGradientRows                          // T·B, or V
                    let dIn = layer == 0 ? ws.inputGradient! : ws.outputGradients[(layer - 1) % 2]
                    dIn.update(repeating: 0, count: inputRows * c.layerInputSize(layer))
                    /// The time loop of `direction` on `workers` workers, then its weight gradients on
                    /// `productWorkers` and its bias gradients.
                    func differentiate(_ direction: Int, workers: Int, productWorkers: Int) {
                        let index = (layer * D + direction) * B * H, hiddenIndex = (layer * D + direction) * B * R
                        let pass = passes[direction]
                        pass.prepareBackward(dhN: finalHiddenGradient.map { $0.baseAddress! + hiddenIndex },
                                             dcN: finalCellGradient.map { $0.baseAddress! + index }, workers: workers)
                        runConcurrently(workers) { worker in
                            pass.backwardSteps(rows: workerRows(worker, of: workers, count: B), worker: worker,
                                               outputGradient: dOut, directionColumn: direction * R)
                        }
                        let group = layout.group(layer: layer, direction: direction, directionCount: D)
                        let base = g.baseAddress!
                        let GH = c.cell.gateCount * H
                        runConcurrently(productWorkers) { worker in
                            pass.accumulateWeightGradients(
                                dWIH: base + group[group.startIndex].offset, dWHH: base + group[group.startIndex + 1].offset,
                                gateRows: workerRows(worker, of: productWorkers, count: GH))
                        }
                        pass.accumulateBiasGradients(dbIH: base + group[group.startIndex + 2].offset,
                                                     dbHH: base + group[group.startIndex + 3].offset, workers: workers)
                        if let peephole = group.entry(.peepholeWeight) {
                            pass.accumulatePeepholeGradients(base + peephole.offset, workers: workers)
                        }
                        if let projection = group.entry(.projectionWeight) {
                            pass.accumulateProjectionGradient(base + projection.offset)
                        }
                        if let norms = group.entry(.layerNormGain(.input)) {
                            pass.accumulateLayerNormGradients(base + norms.offset, workers: workers)
                        }
                        initialHiddenGradient?.baseAddress!.advanced(by: hiddenIndex).update(from: pass.buffers.dhCarry, count: B * R)
                        initialCellGradient?.baseAddress!.advanced(by: index).update(from: pass.buffers.dcCarry, count: B * H)
                    }
                    if schedule.directionsInParallel {
                        runConcurrently(2) { direction in differentiate(direction, workers: 1, productWorkers: 1) }
                    } else {
                        for direction in 0..<D {
                            differentiate(direction, workers: schedule.backwardRowWorkers,
                                          productWorkers: schedule.weightGradientWorkers)
                        }
                    }
                    // The directions' ∂X products add into one buffer, so they follow one another.
                    let inputWorkers = schedule.inputGradientWorkers
                    for pass in passes {
                        runConcurrently(inputWorkers) { worker in
                            pass.accumulateInputGradient(dIn, rows: workerRows(worker, of: inputWorkers, count: inputRows))
                        }
                    }
                }
            }
        }
        if let dx = inputGradient {
            if tokens != nil {
                dx.baseAddress!.update(from: ws.inputGradient!, count: dx.count)
            } else {
                copyLayout(from: ws.inputGradient!, to: dx.baseAddress!, steps: T, batch: B, features: c.inputSize, toTimeMajor: false)
            }
        }
    }

    // MARK: Helpers

    /// Bytes of gates one packed input projection aims to produce: a quarter of a 1 MiB L2, so
    /// the chunk stays there beside the recurrent weights' stream (docs/performance.md has the
    /// measurement behind the size).
    let projectionChunkBytes = 256 << 10

    /// The schedule of a pass over `steps × batch` (PassSchedule.swift), from this network's
    /// configuration, whether its weights are packed and the current thread count.
    func passSchedule(steps: Int, batch: Int) -> PassSchedule {
        PassSchedule(configuration: configuration, steps: steps, batch: batch, packed: PackedWeights<Scalar>.isUsed,
                     threads: threadCount(), scalarBytes: MemoryLayout<Scalar>.stride)
    }

    /// How many steps' input projections one product computes. Without packed weights, all `T`
    /// in one OpenBLAS call before the time loop. With packed weights, inside the time loop, as
    /// many steps as give about ``projectionChunkBytes`` of gates (at least one step): the chunk is
    /// still in cache when its steps read it, and inference holds only that chunk instead of
    /// `T·B·G·H` gates. Bitwise the same numbers either way (one FMA chain per element).
    func projectionSteps(steps: Int, batch: Int) -> Int {
        guard PackedWeights<Scalar>.isUsed else { return steps }
        let stepBytes = batch * configuration.cell.gateCount * configuration.hiddenSize * MemoryLayout<Scalar>.stride
        return max(1, min(steps, projectionChunkBytes / stepBytes))
    }

    /// Scalars of one direction's gate buffer in the workspace for this shape and mode (tests).
    func workspaceGateScalars(steps: Int, batch: Int, training: Bool) throws -> Int {
        try workspaceFor(steps: steps, batch: batch, training: training).gateScalars
    }

    private func workspaceFor(steps: Int, batch: Int, training: Bool) throws -> Workspace<Scalar> {
        if training {
            if let ws = trainingWorkspace, ws.steps == steps, ws.batch == batch { return ws }
            trainingWorkspace = nil  // release before allocating the new shape
            let ws = try Workspace<Scalar>(configuration: configuration, steps: steps, batch: batch, training: true,
                                           projectionSteps: projectionSteps(steps: steps, batch: batch))
            trainingWorkspace = ws
            return ws
        } else {
            if let ws = inferenceWorkspace, ws.steps == steps, ws.batch == batch { return ws }
            inferenceWorkspace = nil
            let ws = try Workspace<Scalar>(configuration: configuration, steps: steps, batch: batch, training: false,
                                           projectionSteps: projectionSteps(steps: steps, batch: batch))
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

    /// Copies between the caller's layout (`[T, B, F]`, or `[B, T, F]` when batch-first) and the
    /// workspace's time-major `[T, B, F]`, in the direction `toTimeMajor` says.
    private func copyLayout(from source: UnsafePointer<Scalar>, to destination: UnsafeMutablePointer<Scalar>,
                            steps: Int, batch: Int, features: Int, toTimeMajor: Bool) {
        guard configuration.batchFirst else {
            destination.update(from: source, count: steps * batch * features)
            return
        }
        for b in 0..<batch {
            for t in 0..<steps {
                let timeMajor = (t * batch + b) * features, batchMajor = (b * steps + t) * features
                (destination + (toTimeMajor ? timeMajor : batchMajor))
                    .update(from: source + (toTimeMajor ? batchMajor : timeMajor), count: features)
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
