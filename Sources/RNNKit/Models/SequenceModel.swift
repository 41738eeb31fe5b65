// A complete sequence model: embedding (or features) → recurrent stack with dropout → linear head.
// Dimension legend:
//   T time steps   B batch   V vocabulary   E embedding   I features   H hidden   L layers   O head outputs
//
// Forward (time-major throughout):
//   x_0 (T, B, E|I) = embedding(ids) or the features
//   for k in 0..<L:  y_k (T, B, H) = recurrent_k(x_k, h0_k, c0_k);   x_{k+1} = dropout_k(y_k)
//   every step:  out (T·B, O) = x_L · Wᵀ + b
//   last step:   out (B, O)   = dropout_{L−1}(h_n of layer L−1) · Wᵀ + b     (y_{L−1} is not dropped then)
// Backward: the same lines in reverse; each layer's ∂x feeds the layer below through its dropout mask.
//
// The stack is L single-layer RecurrentNetworks so that dropout can sit between layers; their
// tensors are named as one PyTorch stack would name them (`rnn.weight_ih_l{k}`, …), see ModelFile.swift.

/// The inputs of one batch: token ids or feature vectors, time-major.
public enum SequenceInputs: Sendable {
    /// `[T, B]` token ids (padding past a sequence's length may be any valid id).
    case tokens([Int])
    /// `[T, B, I]` features.
    case features([Float])
}

/// The recurrent state of every layer of a ``SequenceModel``, in PyTorch's `(h, c)` layout.
public struct SequenceModelState: Sendable, Equatable {
    /// Rows `B`.
    public let batch: Int
    /// `[L, B, H]` hidden states.
    public var hidden: [Float]
    /// `[L, B, H]` LSTM cell states; `nil` for RNN and GRU.
    public var cell: [Float]?

    /// Creates a state from its parts (counts are checked where the state is used).
    public init(batch: Int, hidden: [Float], cell: [Float]?) {
        self.batch = batch
        self.hidden = hidden
        self.cell = cell
    }
}

/// The result of ``SequenceModel/forward(_:steps:batch:lengths:initialState:)``.
public struct SequenceModelOutput: Sendable {
    /// `[T, B, O]` (every-step head), `[B, O]` (last-step head) or `[T, B, H]` (no head).
    public var outputs: [Float]
    /// The state after each sequence's last valid step.
    public var finalState: SequenceModelState
}

/// A token or feature sequence model with a recurrent stack and a linear head; Float throughout.
///
/// Training: set ``isTraining`` (default `true`), call ``forward(_:steps:batch:lengths:initialState:)``,
/// a loss, ``backward(outputGradient:finalStateGradient:)``, then an ``Optimizer`` on ``parameterGroups``.
/// Inference: ``makeState(batch:)`` and ``step(tokens:state:)`` / ``step(features:state:)``, or ``sample(prime:length:temperature:seed:)``.
/// Not thread-safe.
public final class SequenceModel {
    /// The architecture.
    public let configuration: SequenceModelConfiguration
    /// The embedding (token input), `[V, E]`; `nil` for feature input.
    public let embedding: Embedding<Float>?
    /// The recurrent layers, one single-layer network each.
    public let layers: [RecurrentNetwork<Float>]
    /// Dropout after each recurrent layer (`dropouts[k]` after layer `k`).
    public let dropouts: [Dropout<Float>]
    /// The head; `nil` when ``SequenceModelConfiguration/head`` is `.none`.
    public let head: Linear<Float>?
    /// The characters of a character-level model, saved with it; `nil` otherwise.
    public var vocabulary: CharacterVocabulary?

    /// Whether dropout is active and forward keeps activations for backward (default `true`).
    public var isTraining = true {
        didSet {
            for layer in layers { layer.isTraining = isTraining }
            for dropout in dropouts { dropout.isTraining = isTraining }
        }
    }

    // Saved by forward for backward.
    private var savedIds: [Int] = []                 // [T·B]
    private var savedLayerInputs: [[Float]] = []     // L+1 of (T, B, ·): x_0 … x_L
    private var savedHeadInput: [Float] = []         // (T·B, H) or (B, H)
    private var savedShape: (steps: Int, batch: Int)?

    /// Creates the model with its initial weights: each part is drawn from its own stream derived
    /// from ``SequenceModelConfiguration/seed``, then ``SequenceModelConfiguration/initialization`` is applied.
    /// - Throws: ``RNNKitError`` if the configuration is invalid.
    public init(_ configuration: SequenceModelConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        let c = configuration
        embedding = c.input == .tokens
            ? try Embedding<Float>(count: c.vocabularySize, dimension: c.embeddingSize, seed: derivedSeed(c.seed, 1)) : nil
        var layers: [RecurrentNetwork<Float>] = []
        var dropouts: [Dropout<Float>] = []
        var initGenerator = SeededGenerator(seed: derivedSeed(c.seed, 2))
        for k in 0..<c.numLayers {
            let layer = try RecurrentNetwork<Float>(c.recurrentConfiguration(layer: k), seed: derivedSeed(c.seed, 100 + UInt64(k)))
            try layer.apply(c.initialization, generator: &initGenerator)
            layers.append(layer)
            dropouts.append(try Dropout<Float>(probability: c.dropout, seed: derivedSeed(c.seed, 200 + UInt64(k))))
        }
        self.layers = layers
        self.dropouts = dropouts
        head = c.head == .none ? nil
            : try Linear<Float>(inputSize: c.hiddenSize, outputSize: c.outputSize, seed: derivedSeed(c.seed, 3))
    }

    /// The trainable parts in a fixed order (embedding, layers bottom-up, head), for optimizers and clipping.
    public var parameterGroups: [any ParameterContainer<Float>] {
        var groups: [any ParameterContainer<Float>] = []
        if let embedding { groups.append(embedding) }
        groups.append(contentsOf: layers as [any ParameterContainer<Float>])
        if let head { groups.append(head) }
        return groups
    }

    /// Total number of trainable scalars.
    public var parameterCount: Int { parameterGroups.reduce(0) { $0 + $1.parameters.count } }

    /// Clears every gradient.
    public func zeroGradients() { for group in parameterGroups { group.zeroGradients() } }

    /// The dropout streams' states, one per layer (saved in checkpoints for bitwise resumption).
    public var dropoutGeneratorStates: [UInt64] {
        get { dropouts.map(\.generator.state) }
        set { for (dropout, state) in zip(dropouts, newValue) { dropout.generator.state = state } }
    }

    // MARK: State

    /// A zero state for `batch` rows (default 1).
    public func makeState(batch: Int = 1) throws -> SequenceModelState {
        guard batch >= 1 else { throw RNNKitError(.invalidArgument, "batch size B must be at least 1, got \(batch)") }
        let count = try checkedProduct(configuration.numLayers, batch, configuration.hiddenSize, what: "state")
        return SequenceModelState(batch: batch, hidden: [Float](repeating: 0, count: count),
                                  cell: configuration.cell.hasCellState ? [Float](repeating: 0, count: count) : nil)
    }

    private func validate(_ state: SequenceModelState, batch: Int, _ what: String) throws {
        let count = configuration.numLayers * batch * configuration.hiddenSize
        guard state.batch == batch, state.hidden.count == count,
              (state.cell?.count ?? 0) == (configuration.cell.hasCellState ? count : 0) else {
            throw RNNKitError(.shapeMismatch,
                "\(what) does not fit this model: expected [L, B, H] = [\(configuration.numLayers), \(batch), \(configuration.hiddenSize)]\(configuration.cell.hasCellState ? " hidden and cell" : " hidden, no cell") state, got batch \(state.batch) with \(state.hidden.count) hidden and \(state.cell?.count ?? 0) cell values")
        }
    }

    // MARK: Forward

    /// Runs the model over a batch.
    /// - Parameters:
    ///   - inputs: `[T, B]` ids or `[T, B, I]` features, matching ``SequenceModelConfiguration/input``.
    ///   - steps: `T ≥ 1`.  - batch: `B ≥ 1`.
    ///   - lengths: `[B]` lengths in `1…T`, or `nil` for all `T`.
    ///   - initialState: the state before step 0 (for example carried from the previous window), or `nil` for zeros.
    ///     No gradient flows into it unless you pass ``backward(outputGradient:finalStateGradient:)``'s result on.
    /// - Returns: outputs and the state after each sequence's last valid step.
    /// - Throws: ``RNNKitError`` for an input of the wrong kind or size, an id or length out of range.
    public func forward(_ inputs: SequenceInputs, steps: Int, batch: Int, lengths: [Int]? = nil,
                        initialState: SequenceModelState? = nil) throws -> SequenceModelOutput {
        let c = configuration, H = c.hiddenSize, BH = batch * H
        guard steps >= 1, batch >= 1 else {
            throw RNNKitError(.invalidArgument, "T and B must be at least 1, got T = \(steps), B = \(batch)")
        }
        if let initialState { try validate(initialState, batch: batch, "the initial state") }
        savedShape = nil
        var x: [Float]
        switch (inputs, c.input) {
        case (.tokens(let ids), .tokens):
            guard ids.count == steps * batch else {
                throw RNNKitError(.shapeMismatch, "expected [T, B] = [\(steps), \(batch)] token ids (\(steps * batch)), got \(ids.count)")
            }
            x = try embedding!.forward(ids)
            savedIds = ids
        case (.features(let features), .features):
            guard features.count == steps * batch * c.featureSize else {
                throw RNNKitError(.shapeMismatch,
                    "expected [T, B, I] = [\(steps), \(batch), \(c.featureSize)] features (\(steps * batch * c.featureSize)), got \(features.count)")
            }
            x = features
            savedIds = []
        default:
            throw RNNKitError(.invalidArgument, "this model reads \(c.input.rawValue), not the other kind of input")
        }
        var layerInputs: [[Float]] = [x]
        var final = try makeState(batch: batch)
        for k in 0..<c.numLayers {
            let h0 = initialState.map { Array($0.hidden[k * BH..<(k + 1) * BH]) }
            let c0 = initialState?.cell.map { Array($0[k * BH..<(k + 1) * BH]) }
            let result = try layers[k].forward(x, steps: steps, batch: batch, lengths: lengths, initialHidden: h0, initialCell: c0)
            final.hidden.replaceSubrange(k * BH..<(k + 1) * BH, with: result.finalHidden)
            if let cN = result.finalCell { final.cell!.replaceSubrange(k * BH..<(k + 1) * BH, with: cN) }
            x = result.output
            if k < c.numLayers - 1 || c.head != .lastStep {
                dropouts[k].forward(inPlace: &x)
            }
            if isTraining { layerInputs.append(x) }
        }
        var outputs: [Float]
        switch c.head {
        case .everyStep:
            outputs = try head!.forward(x, rows: steps * batch)
            savedHeadInput = isTraining ? x : []
        case .lastStep:
            var last = Array(final.hidden[(c.numLayers - 1) * BH..<c.numLayers * BH])   // (B, H)
            dropouts[c.numLayers - 1].forward(inPlace: &last)
            outputs = try head!.forward(last, rows: batch)
            savedHeadInput = isTraining ? last : []
        case .none:
            outputs = x
            savedHeadInput = []
        }
        if isTraining {
            savedLayerInputs = layerInputs
            savedShape = (steps, batch)
        }
        return SequenceModelOutput(outputs: outputs, finalState: final)
    }

    // MARK: Backward

    /// Backpropagates the last training forward, adding into every group's gradients.
    /// - Parameters:
    ///   - outputGradient: `∂L/∂outputs`, laid out like the forward's outputs.
    ///   - finalStateGradient: `∂L/∂(final state)` (for a seq2seq encoder), or `nil`.
    /// - Returns: `∂L/∂(initial state)` (the state gradient a seq2seq decoder hands to its encoder) and,
    ///   for feature input, `∂L/∂features` `[T, B, I]` (empty for token input).
    /// - Throws: ``RNNKitError`` `.invalidState` without a training forward, `.shapeMismatch` for wrong counts.
    @discardableResult
    public func backward(outputGradient: [Float], finalStateGradient: SequenceModelState? = nil) throws
        -> (initialState: SequenceModelState, inputs: [Float]) {
        guard let (steps, batch) = savedShape else {
            throw RNNKitError(.invalidState, "backward needs a forward in training mode first (one backward per forward)")
        }
        savedShape = nil
        let c = configuration, H = c.hiddenSize, BH = batch * H, L = c.numLayers
        if let finalStateGradient { try validate(finalStateGradient, batch: batch, "the final state gradient") }
        var initialGradient = try makeState(batch: batch)
        var topFinalHiddenGradient: [Float]? = finalStateGradient.map { Array($0.hidden[(L - 1) * BH..<L * BH]) }
        var dX: [Float]   // ∂L/∂x_L (T, B, H)
        switch c.head {
        case .everyStep:
            dX = try head!.backward(outputGradient: outputGradient, input: savedHeadInput, rows: steps * batch)
        case .lastStep:
            var dLast = try head!.backward(outputGradient: outputGradient, input: savedHeadInput, rows: batch)   // (B, H)
            try dropouts[L - 1].backward(inPlace: &dLast)
            if var existing = topFinalHiddenGradient {
                for i in 0..<BH { existing[i] += dLast[i] }
                topFinalHiddenGradient = existing
            } else {
                topFinalHiddenGradient = dLast
            }
            dX = [Float](repeating: 0, count: steps * BH)
        case .none:
            guard outputGradient.count == steps * BH else {
                throw RNNKitError(.shapeMismatch, "expected an output gradient [T, B, H] with \(steps * BH) elements, got \(outputGradient.count)")
            }
            dX = outputGradient
        }
        for k in stride(from: L - 1, through: 0, by: -1) {
            if k < L - 1 || c.head != .lastStep { try dropouts[k].backward(inPlace: &dX) }
            let dhN = k == L - 1 ? topFinalHiddenGradient : finalStateGradient.map { Array($0.hidden[k * BH..<(k + 1) * BH]) }
            let dcN = finalStateGradient?.cell.map { Array($0[k * BH..<(k + 1) * BH]) }
            let g = try layers[k].backward(outputGradient: dX, finalHiddenGradient: dhN, finalCellGradient: dcN)
            initialGradient.hidden.replaceSubrange(k * BH..<(k + 1) * BH, with: g.initialHidden)
            if let dc0 = g.initialCell { initialGradient.cell!.replaceSubrange(k * BH..<(k + 1) * BH, with: dc0) }
            dX = g.input
        }
        if let embedding {
            try embedding.backward(outputGradient: dX, ids: savedIds)
            dX = []
        }
        savedLayerInputs = []
        return (initialGradient, dX)
    }

    // MARK: Streaming

    /// Advances `state` by one step on token ids and returns the head's output `[B, O]`
    /// (`[B, H]` without a head). Dropout is not applied; activations are not kept.
    /// - Parameter tokens: `[B]` ids.
    public func step(tokens: [Int], state: inout SequenceModelState) throws -> [Float] {
        guard let embedding else { throw RNNKitError(.invalidArgument, "this model reads features, not token ids; use step(features:state:)") }
        guard tokens.count == state.batch else {
            throw RNNKitError(.shapeMismatch, "expected \(state.batch) token ids (one per state row), got \(tokens.count)")
        }
        return try stepRecurrent(try embedding.forward(tokens), state: &state)
    }

    /// Advances `state` by one step on feature vectors; see ``step(tokens:state:)``.
    /// - Parameter features: `[B, I]`.
    public func step(features: [Float], state: inout SequenceModelState) throws -> [Float] {
        guard configuration.input == .features else {
            throw RNNKitError(.invalidArgument, "this model reads token ids, not features; use step(tokens:state:)")
        }
        guard features.count == state.batch * configuration.featureSize else {
            throw RNNKitError(.shapeMismatch,
                "expected [B, I] = [\(state.batch), \(configuration.featureSize)] features, got \(features.count)")
        }
        return try stepRecurrent(features, state: &state)
    }

    private func stepRecurrent(_ input: [Float], state: inout SequenceModelState) throws -> [Float] {
        let B = state.batch
        try validate(state, batch: B, "the state")
        let BH = B * configuration.hiddenSize
        var x = input
        for k in 0..<configuration.numLayers {
            var layerState = RecurrentState<Float>(
                batch: B, hidden: Array(state.hidden[k * BH..<(k + 1) * BH]),
                cell: state.cell.map { Array($0[k * BH..<(k + 1) * BH]) })
            x = try layers[k].step(x, state: &layerState)
            state.hidden.replaceSubrange(k * BH..<(k + 1) * BH, with: layerState.hidden)
            if let cN = layerState.cell { state.cell!.replaceSubrange(k * BH..<(k + 1) * BH, with: cN) }
        }
        return try head?.forward(x, rows: B) ?? x
    }

    // MARK: Sampling

    /// Generates `length` tokens after feeding `prime`: each next token is drawn from
    /// softmax(logits / temperature) by a ``SeededGenerator`` seeded with `seed` (temperature 0: the most likely token).
    /// - Parameters:
    ///   - prime: ids fed first (may be empty: generation then starts from token 0).
    ///   - length: tokens to generate (≥ 0).
    ///   - temperature: ≥ 0 (1 samples the model's distribution; lower is more conservative).
    /// - Returns: the `length` generated ids (without the prime).
    /// - Throws: ``RNNKitError`` unless this is a token model with an every-step head over the vocabulary.
    public func sample(prime: [Int], length: Int, temperature: Double = 1, seed: UInt64 = 0) throws -> [Int] {
        let c = configuration
        guard c.input == .tokens, c.head == .everyStep, c.outputSize == c.vocabularySize else {
            throw RNNKitError(.invalidArgument,
                "sampling needs a token model whose every-step head predicts the next token (output size = vocabulary size)")
        }
        guard length >= 0, temperature >= 0, temperature.isFinite else {
            throw RNNKitError(.invalidArgument, "expected length ≥ 0 and a finite temperature ≥ 0, got \(length) and \(temperature)")
        }
        var state = try makeState()
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
    var weights = logits.map { exp((Double($0) - largest) / temperature) }
    let total = weights.reduce(0, +)
    var threshold = generator.nextUnit() * total
    for i in weights.indices {
        threshold -= weights[i]
        if threshold < 0 { return i }
    }
    weights.removeAll()
    return best
}

/// A seed for one part of a model, derived from the model's seed and a fixed tag.
func derivedSeed(_ seed: UInt64, _ tag: UInt64) -> UInt64 {
    var generator = SeededGenerator(seed: seed ^ (tag &* 0xD1B5_4A32_D192_ED03))
    return generator.next()
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
