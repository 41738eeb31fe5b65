// A complete sequence model: embedding (or features) → recurrent stack → dropout → linear head.
// Dimension legend:
//   T time steps   B batch   V vocabulary   E embedding   I features   H hidden   L layers
//   D directions   O head outputs   R state width: P for a projected LSTM, else H
//   (below, each direction's h, y and h_top are R wide where they say H; c stays H)
//
// Forward (time-major throughout):
//   h0, c0 (L·D, B, H)        = conditioning(class ids or features) when the model is conditioned
//                               (InitialStateConditioning), else the caller's state or zeros
//   x (T, B, E|I)             = embedding(ids) or the features; when V ≤ T·B/2 the ids go to the
//                               network instead, whose first layer looks its input projections up
//                               by token (TokenProjection in DirectionPass.swift)
//   y (T, B, D·H), h_n, c_n   = network(x, h0, c0)       L layers, dropout between them (RecurrentNetwork)
//   every step:  out (T·B, O) = dropout(y) · Wᵀ + b
//   last step:   out (B, O)   = dropout(h_top) · Wᵀ + b,  h_top (B, D·H) = the top layer's h_n, its
//                               directions side by side (forward's state after each sequence's last
//                               valid step, then the reverse direction's state after step 0)
//   mean / max pool: out (B, O) = dropout(pool(y)) · Wᵀ + b, pool over each sequence's valid steps
//                               (SequencePooling)
//   no head:     out (T, B, D·H) = dropout(y)
// Backward: the same lines in reverse; a last-step head's gradient enters the network as ∂h_n, a
// pooling head's as ∂y at the valid steps, and ∂h0, ∂c0 go on into the conditioning.

/// The inputs of one batch: token ids or feature vectors, time-major.
public enum SequenceInputs: Sendable {
    /// `[T, B]` token ids (padding past a sequence's length may be any valid id).
    case tokens([Int])
    /// `[T, B, I]` features.
    case features([Float])
}

/// The result of ``SequenceModel/forward(_:steps:batch:lengths:initialState:condition:)``.
public struct SequenceModelOutput: Sendable {
    /// `[T, B, O]` (every-step head), `[B, O]` (last-step and pooling heads) or `[T, B, D·H]` (no head).
    public var outputs: [Float]
    /// The state after each sequence's last valid step, `[L·D, B, H]`.
    public var finalState: RecurrentState<Float>
}

/// A token or feature sequence model with a recurrent stack and a linear head; Float throughout.
///
/// The stack is one ``RecurrentNetwork`` (stacked, optionally bidirectional, with lengths and
/// dropout between layers), so its tensors are those of one PyTorch module (see ModelFile.swift).
///
/// Training: set ``isTraining`` (default `true`), call ``forward(_:steps:batch:lengths:initialState:condition:)``,
/// a loss, ``backward(outputGradient:finalStateGradient:)``, then an ``Optimizer`` on ``parameterGroups``.
/// Inference: ``makeState(batch:)`` and ``step(tokens:state:)`` / ``step(features:state:)`` (unidirectional
/// models), or ``sample(prime:length:temperature:seed:condition:)``. Not thread-safe.
public final class SequenceModel {
    /// The architecture.
    public let configuration: SequenceModelConfiguration
    /// The embedding (token input), `[V, E]`; `nil` for feature input.
    public let embedding: Embedding<Float>?
    /// The recurrent stack: `L` layers of `D` directions, with ``SequenceModelConfiguration/dropout``
    /// between its layers.
    public let network: RecurrentNetwork<Float>
    /// The dropout on the stack's output before the head (on `h_top` for a last-step head).
    public let outputDropout: Dropout<Float>
    /// The head, `[O, D·H]`; `nil` when ``SequenceModelConfiguration/head`` is `.none`.
    public let head: Linear<Float>?
    /// The map from a condition to the initial state; `nil` unless ``SequenceModelConfiguration/conditioning`` is set.
    public let conditioning: InitialStateConditioning<Float>?
    /// The characters of a character-level model, saved with it; `nil` otherwise.
    public var vocabulary: CharacterVocabulary?

    /// Whether dropout is active and forward keeps activations for backward (default `true`).
    public var isTraining = true {
        didSet {
            network.isTraining = isTraining
            outputDropout.isTraining = isTraining
        }
    }

    /// How token input reaches the first layer; tests hold the two paths equal.
    enum TokenInputPath {
        /// The lookup when ``looksUpInputProjections(steps:batch:)`` says it is cheaper, else the vectors.
        case automatic
        /// Embed the ids, then project the vectors (the reference path).
        case vectors
        /// Look the first layer's input projections up by token (``TokenProjection``).
        case projectionLookup
    }
    /// The path forward takes for token input (default `.automatic`).
    var tokenInputPath = TokenInputPath.automatic
    /// Where forward and backward add their phases' time, or `nil` (default).
    package var profile: TrainingProfile?

    // Saved by forward for backward.
    private var savedIds: [Int] = []                 // [T·B]
    /// Whether the saved forward looked its input projections up by token.
    private var savedLookup = false
    private var savedHeadInput: [Float] = []         // (T·B, D·H) or (B, D·H)
    private var savedLengths: [Int]?                  // [B]
    private var savedArgmax: [Int] = []               // (B, D·H) max pooling's steps
    private var savedConditioned = false
    private var savedShape: (steps: Int, batch: Int)?

    /// Creates the model with its initial weights: each part is drawn from its own stream derived
    /// from ``SequenceModelConfiguration/seed`` (recurrent layer `k` from a stream of its own), then
    /// ``SequenceModelConfiguration/initialization`` is applied.
    /// - Throws: ``RNNKitError`` if the configuration is invalid.
    public init(_ configuration: SequenceModelConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        let c = configuration, L = c.numLayers
        embedding = c.input == .tokens
            ? try Embedding<Float>(count: c.vocabularySize, dimension: c.embeddingSize, seed: derivedSeed(c.seed, 1)) : nil
        network = try RecurrentNetwork<Float>(
            c.stackConfiguration, parameterSeeds: (0..<L).map { derivedSeed(c.seed, 100 + UInt64($0)) },
            dropoutSeeds: (0..<L - 1).map { derivedSeed(c.seed, 200 + UInt64($0)) })
        var initGenerator = SeededGenerator(seed: derivedSeed(c.seed, 2))
        try network.apply(c.initialization, generator: &initGenerator)
        outputDropout = try Dropout<Float>(probability: c.dropout, seed: derivedSeed(c.seed, 200 + UInt64(L - 1)))
        head = c.head == .none ? nil
            : try Linear<Float>(inputSize: c.stackConfiguration.outputSize, outputSize: c.outputSize, seed: derivedSeed(c.seed, 3))
        let stateRows = L * c.stackConfiguration.directionCount
        switch c.conditioning {
        case .none:
            conditioning = nil
        case .classes(let count):
            conditioning = try InitialStateConditioning(classCount: count, stateRows: stateRows,
                                                        hiddenSize: c.stackConfiguration.stateSize,
                                                        cellSize: c.cell.hasCellState ? c.hiddenSize : 0, seed: derivedSeed(c.seed, 4))
        case .features(let size):
            conditioning = try InitialStateConditioning(featureSize: size, stateRows: stateRows,
                                                        hiddenSize: c.stackConfiguration.stateSize,
                                                        cellSize: c.cell.hasCellState ? c.hiddenSize : 0, seed: derivedSeed(c.seed, 4))
        }
    }

    /// The trainable parts in a fixed order (embedding, recurrent stack, head, conditioning), for optimizers and clipping.
    public var parameterGroups: [any ParameterContainer<Float>] {
        var groups: [any ParameterContainer<Float>] = []
        if let embedding { groups.append(embedding) }
        groups.append(network)
        if let head { groups.append(head) }
        if let conditioning { groups.append(conditioning) }
        return groups
    }

    /// Total number of trainable scalars.
    public var parameterCount: Int { parameterGroups.reduce(0) { $0 + $1.parameters.count } }

    /// Clears every gradient.
    public func zeroGradients() { for group in parameterGroups { group.zeroGradients() } }

    /// The dropout streams' states: the network's (between layers, then with recurrent dropout one
    /// per layer and direction), then the output's (saved in checkpoints for bitwise resumption).
    public var dropoutGeneratorStates: [UInt64] {
        get { network.dropoutGeneratorStates + [outputDropout.generator.state] }
        set {
            precondition(newValue.count == network.dropoutGeneratorStates.count + 1,
                         "expected the network's dropout states and the output dropout's")
            network.dropoutGeneratorStates = Array(newValue.dropLast())
            outputDropout.generator.state = newValue.last!
        }
    }

    // MARK: State

    /// A zero state for streaming `batch` rows (default 1).
    /// - Throws: ``RNNKitError`` for a bidirectional model (it cannot stream) or `batch < 1`.
    public func makeState(batch: Int = 1) throws -> RecurrentState<Float> {
        guard conditioning == nil else {
            throw RNNKitError(.invalidArgument, "this model is conditioned; make its state with makeState(condition:)")
        }
        return try network.makeState(batch: batch)
    }

    /// The initial state a conditioned model streams from: one row per condition.
    /// - Parameter condition: `[B]` class ids or `[B, F]` features.
    /// - Throws: ``RNNKitError`` for an unconditioned or bidirectional model, or a condition that does not fit.
    public func makeState(condition: SequenceCondition) throws -> RecurrentState<Float> {
        guard let conditioning else {
            throw RNNKitError(.invalidArgument, "this model is not conditioned; make its state with makeState(batch:)")
        }
        _ = try network.makeState(batch: 1)   // refuses a bidirectional model
        // An empty condition or one of the other kind: the forward's message says what was expected.
        let rows = max(condition.rows(featureSize: conditioning.featureSize), 1)
        let state = try conditioning.forward(condition, batch: rows)
        conditioning.discardSavedInput()
        return state
    }

    private func validate(_ state: RecurrentState<Float>, batch: Int, _ what: String) throws {
        let c = configuration, stack = c.stackConfiguration, LD = c.numLayers * stack.directionCount
        let hiddenCount = stack.hiddenStateCount(batch: batch), cellCount = stack.cellStateCount(batch: batch)
        guard state.batch == batch, state.hidden.count == hiddenCount,
              (state.cell?.count ?? 0) == (c.cell.hasCellState ? cellCount : 0) else {
            let shapes = stack.isProjected
                ? "h [L·D, B, P] = [\(LD), \(batch), \(stack.stateSize)] and c [L·D, B, H] = [\(LD), \(batch), \(c.hiddenSize)]"
                : "[L·D, B, H] = [\(LD), \(batch), \(c.hiddenSize)]\(c.cell.hasCellState ? " hidden and cell" : " hidden, no cell")"
            throw RNNKitError(.shapeMismatch,
                "\(what) does not fit this model: expected \(shapes) state, got batch \(state.batch) with \(state.hidden.count) hidden and \(state.cell?.count ?? 0) cell values")
        }
    }

    // MARK: Forward

    /// Runs the model over a batch.
    /// - Parameters:
    ///   - inputs: `[T, B]` ids or `[T, B, I]` features, matching ``SequenceModelConfiguration/input``.
    ///   - steps: `T ≥ 1`.  - batch: `B ≥ 1`.
    ///   - lengths: `[B]` lengths in `1…T`, or `nil` for all `T`.
    ///   - initialState: the state `[L·D, B, H]` before step 0 (for example carried from the previous
    ///     window), or `nil` for zeros. No gradient flows into it unless you pass
    ///     ``backward(outputGradient:finalStateGradient:)``'s result on.
    ///   - condition: `[B]` class ids or `[B, F]` features; required by a conditioned model (which
    ///     takes no `initialState`: the condition sets it), refused by any other.
    /// - Returns: outputs and the state after each sequence's last valid step.
    /// - Throws: ``RNNKitError`` for an input of the wrong kind or size, an id or length out of range.
    public func forward(_ inputs: SequenceInputs, steps: Int, batch: Int, lengths: [Int]? = nil,
                        initialState: RecurrentState<Float>? = nil, condition: SequenceCondition? = nil) throws -> SequenceModelOutput {
        let c = configuration
        guard steps >= 1, batch >= 1 else {
            throw RNNKitError(.invalidArgument, "T and B must be at least 1, got T = \(steps), B = \(batch)")
        }
        if let initialState { try validate(initialState, batch: batch, "the initial state") }
        savedShape = nil
        var initialState = initialState
        switch (conditioning, condition) {
        case (nil, nil): savedConditioned = false
        case (let conditioning?, let condition?):
            guard initialState == nil else {
                throw RNNKitError(.invalidArgument, "a conditioned model takes a condition or an initial state, not both")
            }
            initialState = try conditioning.forward(condition, batch: batch)
            savedConditioned = isTraining
        case (nil, _?):
            throw RNNKitError(.invalidArgument, "this model is not conditioned; pass no condition")
        case (_?, nil):
            throw RNNKitError(.invalidArgument, "this model is conditioned (\(c.conditioning)); pass a condition per sequence")
        }
        let x: [Float]   // (T, B, E|I)
        switch (inputs, c.input) {
        case (.tokens(let ids), .tokens):
            guard ids.count == steps * batch else {
                throw RNNKitError(.shapeMismatch, "expected [T, B] = [\(steps), \(batch)] token ids (\(steps * batch)), got \(ids.count)")
            }
            savedLookup = switch tokenInputPath {
            case .automatic: looksUpInputProjections(steps: steps, batch: batch)
            case .vectors: false
            case .projectionLookup: true
            }
            x = savedLookup ? [] : try profiled(profile, .embedding) { try embedding!.forward(ids) }
            savedIds = ids
        case (.features(let features), .features):
            guard features.count == steps * batch * c.featureSize else {
                throw RNNKitError(.shapeMismatch,
                    "expected [T, B, I] = [\(steps), \(batch), \(c.featureSize)] features (\(steps * batch * c.featureSize)), got \(features.count)")
            }
            x = features
            savedIds = []
            savedLookup = false
        default:
            throw RNNKitError(.invalidArgument, "this model reads \(c.input.rawValue), not the other kind of input")
        }
        let recurrent = try profiled(profile, .recurrentForward) {
            savedLookup
                ? try network.forward(tokens: savedIds, embedding: embedding!.parameters, steps: steps, batch: batch,
                                      lengths: lengths, initialHidden: initialState?.hidden, initialCell: initialState?.cell)
                : try network.forward(x, steps: steps, batch: batch, lengths: lengths,
                                      initialHidden: initialState?.hidden, initialCell: initialState?.cell)
        }
        let final = RecurrentState(batch: batch, hidden: recurrent.finalHidden, cell: recurrent.finalCell)
        var outputs: [Float]
        let headStarted = ContinuousClock.now
        defer { profile?.add(.head, since: headStarted) }
        switch c.head {
        case .everyStep:
            var y = recurrent.output                                                   // (T·B, D·H)
            outputDropout.forward(inPlace: &y)
            outputs = try head!.forward(y, rows: steps * batch)
            savedHeadInput = isTraining ? y : []
        case .lastStep:
            var top = topLayerState(recurrent.finalHidden, batch: batch)              // (B, D·H)
            outputDropout.forward(inPlace: &top)
            outputs = try head!.forward(top, rows: batch)
            savedHeadInput = isTraining ? top : []
        case .meanPool, .maxPool:
            let F = c.stackConfiguration.outputSize
            var pooled: [Float]                                                        // (B, D·H)
            if c.head == .meanPool {
                pooled = SequencePooling.meanForward(recurrent.output, steps: steps, batch: batch, features: F, lengths: lengths)
            } else {
                (pooled, savedArgmax) = SequencePooling.maxForward(recurrent.output, steps: steps, batch: batch, features: F,
                                                                   lengths: lengths)
            }
            outputDropout.forward(inPlace: &pooled)
            outputs = try head!.forward(pooled, rows: batch)
            savedHeadInput = isTraining ? pooled : []
            savedLengths = lengths
        case .none:
            outputs = recurrent.output
            outputDropout.forward(inPlace: &outputs)
            savedHeadInput = []
        }
        if isTraining { savedShape = (steps, batch) }
        return SequenceModelOutput(outputs: outputs, finalState: final)
    }

    /// Whether the first layer looks its input projections up by token (``TokenProjection``)
    /// rather than projecting the embedded vectors: when the vocabulary has at most half as many
    /// rows as the batch has positions, the table `E · W_ih^T` costs at most half the product over
    /// `T·B` rows it replaces, and backward's products shrink from `T·B` rows to `V` likewise.
    func looksUpInputProjections(steps: Int, batch: Int) -> Bool {
        configuration.input == .tokens && 2 * configuration.vocabularySize <= steps * batch
    }

    /// `h_top (B, D·R)`: the top layer's rows of `h_n (L·D, B, R)`, its directions side by side
    /// (`R` = `P` when projected, else `H`).
    private func topLayerState(_ finalHidden: [Float], batch B: Int) -> [Float] {
        let R = configuration.stackConfiguration.stateSize, D = configuration.stackConfiguration.directionCount
        let top = (configuration.numLayers - 1) * D * B * R
        var state = [Float](repeating: 0, count: B * D * R)
        for b in 0..<B {
            for d in 0..<D {
                let from = top + (d * B + b) * R, to = (b * D + d) * R
                state.replaceSubrange(to..<to + R, with: finalHidden[from..<from + R])
            }
        }
        return state
    }

    // MARK: Backward

    /// Backpropagates the last training forward, adding into every group's gradients.
    /// - Parameters:
    ///   - outputGradient: `∂L/∂outputs`, laid out like the forward's outputs.
    ///   - finalStateGradient: `∂L/∂(final state)` `[L·D, B, H]` (for a seq2seq encoder), or `nil`.
    /// - Returns: `∂L/∂(initial state)` `[L·D, B, H]` (the state gradient a seq2seq decoder hands to
    ///   its encoder) and, for feature input, `∂L/∂features` `[T, B, I]` (empty for token input).
    /// - Throws: ``RNNKitError`` `.invalidState` without a training forward, `.shapeMismatch` for wrong counts.
    @discardableResult
    public func backward(outputGradient: [Float], finalStateGradient: RecurrentState<Float>? = nil) throws
        -> (initialState: RecurrentState<Float>, inputs: [Float]) {
        guard let (steps, batch) = savedShape else {
            throw RNNKitError(.invalidState, "backward needs a forward in training mode first (one backward per forward)")
        }
        savedShape = nil
        let c = configuration, R = c.stackConfiguration.stateSize, D = c.stackConfiguration.directionCount
        if let finalStateGradient { try validate(finalStateGradient, batch: batch, "the final state gradient") }
        var finalHiddenGradient = finalStateGradient?.hidden                          // (L·D, B, R)
        var dY: [Float]                                                               // (T, B, D·H)
        let headStarted = ContinuousClock.now
        switch c.head {
        case .everyStep:
            dY = try head!.backward(outputGradient: outputGradient, input: savedHeadInput, rows: steps * batch)
            try outputDropout.backward(inPlace: &dY)
        case .lastStep:
            var dTop = try head!.backward(outputGradient: outputGradient, input: savedHeadInput, rows: batch)   // (B, D·H)
            try outputDropout.backward(inPlace: &dTop)
            // ∂h_n of the top layer += ∂h_top, each direction's half to its rows.
            let adding = finalHiddenGradient != nil
            var dhN = finalHiddenGradient ?? [Float](repeating: 0, count: c.numLayers * D * batch * R)
            let top = (c.numLayers - 1) * D * batch * R
            for b in 0..<batch {
                for d in 0..<D {
                    let to = top + (d * batch + b) * R, from = (b * D + d) * R
                    for j in 0..<R { dhN[to + j] = adding ? dhN[to + j] + dTop[from + j] : dTop[from + j] }
                }
            }
            finalHiddenGradient = dhN
            dY = [Float](repeating: 0, count: steps * batch * D * R)
        case .meanPool, .maxPool:
            var dPooled = try head!.backward(outputGradient: outputGradient, input: savedHeadInput, rows: batch)   // (B, D·H)
            try outputDropout.backward(inPlace: &dPooled)
            dY = c.head == .meanPool
                ? SequencePooling.meanBackward(dPooled, steps: steps, batch: batch, features: D * R, lengths: savedLengths)
                : SequencePooling.maxBackward(dPooled, argmax: savedArgmax, steps: steps, batch: batch, features: D * R)
        case .none:
            guard outputGradient.count == steps * batch * D * R else {
                throw RNNKitError(.shapeMismatch,
                    "expected an output gradient [T, B, D·H] with \(steps * batch * D * R) elements, got \(outputGradient.count)")
            }
            dY = outputGradient
            try outputDropout.backward(inPlace: &dY)
        }
        profile?.add(.head, since: headStarted)
        var dX: [Float]                                                               // (T, B, I), token input: none
        let g: RecurrentInputGradients<Float>
        if savedLookup, let embedding {
            g = try profiled(profile, .recurrentBackward) {
                try network.backward(tokenEmbedding: embedding.parameters, outputGradient: dY,
                                     finalHiddenGradient: finalHiddenGradient, finalCellGradient: finalStateGradient?.cell)
            }
            profiled(profile, .embedding) { embedding.accumulate(tableGradient: g.input) }   // (V, E)
            dX = []
        } else {
            g = try profiled(profile, .recurrentBackward) {
                try network.backward(outputGradient: dY, finalHiddenGradient: finalHiddenGradient,
                                     finalCellGradient: finalStateGradient?.cell)
            }
            dX = g.input                                                              // (T, B, E|I)
            if let embedding {
                try profiled(profile, .embedding) { try embedding.backward(outputGradient: dX, ids: savedIds) }
                dX = []
            }
        }
        let initialStateGradient = RecurrentState(batch: batch, hidden: g.initialHidden, cell: g.initialCell)
        if savedConditioned { try conditioning!.backward(stateGradient: initialStateGradient) }
        return (initialStateGradient, dX)
    }

    // MARK: Streaming

    /// Advances `state` by one step on token ids and returns the head's output `[B, O]`
    /// (`[B, H]` without a head). Dropout is not applied; activations are not kept.
    /// - Parameter tokens: `[B]` ids.
    /// - Throws: ``RNNKitError`` for a bidirectional model (a reverse direction reads the whole
    ///   sequence), a state of another shape or an id out of range.
    public func step(tokens: [Int], state: inout RecurrentState<Float>) throws -> [Float] {
        guard let embedding else { throw RNNKitError(.invalidArgument, "this model reads features, not token ids; use step(features:state:)") }
        guard tokens.count == state.batch else {
            throw RNNKitError(.shapeMismatch, "expected \(state.batch) token ids (one per state row), got \(tokens.count)")
        }
        return try stepRecurrent(try embedding.forward(tokens), state: &state)
    }

    /// Advances `state` by one step on feature vectors; see ``step(tokens:state:)``.
    /// - Parameter features: `[B, I]`.
    public func step(features: [Float], state: inout RecurrentState<Float>) throws -> [Float] {
        guard configuration.input == .features else {
            throw RNNKitError(.invalidArgument, "this model reads token ids, not features; use step(tokens:state:)")
        }
        guard features.count == state.batch * configuration.featureSize else {
            throw RNNKitError(.shapeMismatch,
                "expected [B, I] = [\(state.batch), \(configuration.featureSize)] features, got \(features.count)")
        }
        return try stepRecurrent(features, state: &state)
    }

    private func stepRecurrent(_ input: [Float], state: inout RecurrentState<Float>) throws -> [Float] {
        try validate(state, batch: state.batch, "the state")
        let y = try network.step(input, state: &state)                               // (B, H)
        return try head?.forward(y, rows: state.batch) ?? y
    }

// MARK: Sampling

    /// Generates `length` tokens after feeding `prime`: each next token is drawn from
    /// softmax(logits / temperature) by a ``SeededGenerator`` seeded with `seed` (temperature 0: the most likely token).
    /// - Parameters:
    ///   - prime: ids fed first (may be empty: generation then starts from token 0).
    ///   - length: tokens to generate (≥ 0).
    ///   - temperature: ≥ 0 (1 samples the model's distribution; lower is more conservative).
    ///   - condition: for a conditioned model, the one class id (`.classes([k])`) or feature vector
    ///     (`.features(v)`, `[F]`) that sets the initial state; `nil` (default) for any other model.
    /// - Returns: the `length` generated ids (without the prime).
    /// - Throws: ``RNNKitError`` unless this is a token model with an every-step head over the vocabulary,
    ///   or for a condition that is missing, superfluous, not one row or out of range.
    public func sample(prime: [Int], length: Int, temperature: Double = 1, seed: UInt64 = 0,
                       condition: SequenceCondition? = nil) throws -> [Int] {
        let c = configuration
        guard c.input == .tokens, c.head == .everyStep, c.outputSize == c.vocabularySize else {
            throw RNNKitError(.invalidArgument,
                "sampling needs a token model whose every-step head predicts the next token (output size = vocabulary size)")
        }
        guard length >= 0, temperature >= 0, temperature.isFinite else {
            throw RNNKitError(.invalidArgument, "expected length ≥ 0 and a finite temperature ≥ 0, got \(length) and \(temperature)")
        }
        var state = try condition.map { try makeState(condition: $0) } ?? makeState()
        guard state.batch == 1 else {
            throw RNNKitError(.invalidArgument, "sampling generates one sequence; expected the condition of one sequence, got \(state.batch)")
        }
        var generator = SeededGenerator(seed: seed)
        var logits = try step(tokens: [prime.first ?? 0], state: &state)
        for id in prime.dropFirst() { logits = try step(tokens: [id], state: &state) }
        var generated: [Int] = []
        for _ in 0..<length {
            let next = drawToken(logits: logits, temperature: temperature, generator: &generator)
            generated.append(next)
            logits = try step(tokens: [next], state: &state)
        }
        return generated
    }

    /// ``sample(prime:length:temperature:seed:)`` on text, with ``vocabulary``.
    /// - Returns: the generated text (without the prime).
    /// - Throws: ``RNNKitError`` if the model has no vocabulary or the prime has a character outside it.
    public func sampleText(prime: String, length: Int, temperature: Double = 1, seed: UInt64 = 0) throws -> String {
        guard let vocabulary else {
            throw RNNKitError(.invalidState, "this model has no character vocabulary; set `vocabulary` or load a character-model checkpoint")
        }
        return try vocabulary.decode(sample(prime: try vocabulary.encode(prime), length: length, temperature: temperature, seed: seed))
    }
}

/// Draws an index from softmax(logits / temperature); the largest logit when `temperature` is 0.
func drawToken(logits: [Float], temperature: Double, generator: inout SeededGenerator) -> Int {
    var best = 0
    for i in logits.indices where logits[i] > logits[best] { best = i }
    guard temperature > 0 else { return best }
    let largest = Double(logits[best])
    let weights = logits.map { exp((Double($0) - largest) / temperature) }
    let total = weights.reduce(0, +)
    var threshold = generator.nextUnit() * total
    for i in weights.indices {
        threshold -= weights[i]
        if threshold < 0 { return i }
    }
    return best
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
