// Encoder–decoder composition (Sutskever, Vinyals & Le 2014), optionally with a bidirectional encoder
// and Luong-style attention (Luong, Pham & Manning 2015).
// Dimension legend: S source steps   T target steps   B batch   V target vocabulary   H hidden   L layers
//   (for a projected LSTM every h, y and query below is P wide where it says H; only c is H wide)
//                   E embedding   D encoder directions   A additive attention size   K beam width
//
// Training (teacher forcing), for a batch of (source, target) pairs:
//   encoder:  outputs s (S, B, D·H) and final state (L·D, B, H) of the source ids (S, B), each row
//             stopping at its own length
//   bridge:   D = 2: the decoder's initial state (L, B, H) = a learned linear map of each layer's two
//             final states (StateBridge.swift); D = 1: the final state itself
//   decoder:  reads [begin, y_1, …, y_n] (T = n + 1, B) from that state, predicts [y_1, …, y_n, end]:
//     without attention:  logits (T, B, V) = the decoder's own per-step head on h_t
//     with attention:     h (T, B, H) = the decoder's top-layer outputs (no head of its own)
//                         c (T, B, D·H) = attention(h, s, source lengths)      (Attention.swift)
//                         logits (T·B, V) = [h_t ; c_t] · W_outᵀ + b_out        (attentionHead)
//     with input feeding: the decoder steps one at a time, x_t (B, E + D·H) = [e(y_{t−1}) ; c_{t−1}],
//                         c_{−1} = 0, each step attending before the next reads its context
//   loss = mean cross-entropy over the valid decoder steps
//   backward: the lines in reverse: head → ∂h and ∂c → attention → ∂h += ∂(queries), ∂s →
//             decoder → ∂(initial state) → bridge → the encoder's ∂(final state), with ∂s as its
//             output gradient (zero without attention) → encoder
//   with input feeding, backward runs the decoder's steps in reverse (inputFedBackward): step t's
//             ∂c_t is the head's plus the ∂c_t part of ∂x_{t+1}; ∂(state before t+1) enters step t as
//             its final-state gradient. Only the last step's activations are kept: every earlier
//             step is run forward again, from its saved input, state and dropout streams, just
//             before its backward, which trades one more decoder forward for T − 1 steps' activations.
// Inference: the decoder starts from begin and steps on its own tokens until end: greedily, or by a
// beam search of K hypotheses per source, all B·K stepped together as the rows of one state
// (decode(sources:maximumLength:beamWidth:lengthNormalization:)); with input feeding each row's
// last context travels with its state.

/// One decoded sequence of ``Seq2SeqModel/decode(sources:maximumLength:beamWidth:lengthNormalization:)``.
public struct Seq2SeqDecoding: Sendable, Equatable {
    /// The written target ids, without the begin and end tokens.
    public var tokens: [Int]
    /// The sum of the natural-log probabilities of every written token, and of the end token when it was written.
    public var logProbability: Double
    /// The score the finished hypotheses are ranked by: ``logProbability`` / `length^α`, `length` the
    /// predictions counted (the tokens, plus 1 for the end token when it was written), `α` the length normalisation.
    public var score: Double
    /// One row per written token: that step's attention weights over the source's `S_b` positions
    /// (each row sums to 1); empty without attention.
    public var attention: [[Float]]
}

/// An encoder–decoder of two token ``SequenceModel``s: the encoder's final states initialise the
/// decoder (through a ``StateBridge`` when the encoder is bidirectional), and with attention the
/// decoder's head reads each step's context over the encoder's outputs beside `h_t`.
public final class Seq2SeqModel {
    /// The architecture.
    public let configuration: Seq2SeqConfiguration
    /// The source reader (no head; `D` directions).
    public let encoder: SequenceModel
    /// The target writer: a per-step head over the target vocabulary without attention; no head with
    /// attention (``attentionHead`` is its head then).
    public let decoder: SequenceModel
    /// The maps from a bidirectional encoder's final states to the decoder's initial state; `nil`
    /// for a unidirectional encoder, whose final states pass through unchanged.
    public let bridge: StateBridge<Float>?
    /// The attention over the encoder's outputs; `nil` without attention.
    public let attention: Attention<Float>?
    /// With attention, the head on `[h_t ; c_t]`, `[V, H + D·H]` (saved as `decoder.head.*`); `nil` without.
    public let attentionHead: Linear<Float>?
    /// With input feeding, the target embedding `[V, E]` (saved as `decoder.embedding.weight`), as the
    /// decoder then reads features `[e(y_{t−1}) ; c_{t−1}]`; `nil` without (the decoder embeds its ids).
    public let feedingEmbedding: Embedding<Float>?
    /// The characters of a character-level model (source and target ids share it), saved with it; `nil` otherwise.
    public var vocabulary: CharacterVocabulary?

    /// Whether dropout is active and forward keeps activations (default `true`).
    public var isTraining = true {
        didSet { encoder.isTraining = isTraining; decoder.isTraining = isTraining }
    }

    /// Creates all parts with their initial weights (the encoder and decoder as before attention
    /// existed; the bridge, attention and attention head from streams of their own).
    /// - Throws: ``RNNKitError`` if the configuration is invalid.
    public init(_ configuration: Seq2SeqConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        let c = configuration
        encoder = try SequenceModel(c.encoder)
        decoder = try SequenceModel(c.decoder)
        bridge = c.bidirectionalEncoder
            ? try StateBridge<Float>(layers: c.numLayers, hiddenSize: c.stateSize, cellSize: c.cell.hasCellState ? c.hiddenSize : 0,
                                     seed: derivedSeed(c.seed, 0xB41D_0000)) : nil
        attention = c.attention == .none ? nil
            : try Attention<Float>(score: c.attention, querySize: c.stateSize, keySize: c.encoderOutputSize,
                                   attentionSize: c.attentionSize, seed: derivedSeed(c.seed, 0xA77E_0000))
        attentionHead = c.attention == .none ? nil
            : try Linear<Float>(inputSize: c.stateSize + c.encoderOutputSize, outputSize: c.targetVocabularySize,
                                seed: derivedSeed(c.seed, 0xA77E_0001))
        // Drawn from the stream a token decoder draws its own embedding from.
        feedingEmbedding = c.inputFeeding
            ? try Embedding<Float>(count: c.targetVocabularySize, dimension: c.embeddingSize, seed: derivedSeed(c.decoderSeed, 1)) : nil
    }

    /// Encoder groups, bridge maps, the input-feeding embedding, decoder groups, attention (unless it
    /// has no parameters), attention head: the order optimizers key their state by.
    public var parameterGroups: [any ParameterContainer<Float>] {
        var groups = encoder.parameterGroups
        if let bridge { groups += bridge.parameterGroups }
        if let feedingEmbedding { groups.append(feedingEmbedding) }
        groups += decoder.parameterGroups
        if let attention, !attention.parameters.isEmpty { groups.append(attention) }
        if let attentionHead { groups.append(attentionHead) }
        return groups
    }

    /// Clears every gradient.
    public func zeroGradients() { for group in parameterGroups { group.zeroGradients() } }

    // MARK: Training

    /// Runs one teacher-forced forward and backward over `pairs`, adding into the gradients.
    /// - Parameters:
    ///   - sources: `B` non-empty source id lists.
    ///   - targets: `B` target id lists (without begin and end tokens; may be empty).
    ///   - options: class weights over the target vocabulary and label smoothing (default none).
    ///   - computeGradient: `false` to evaluate the loss only (no backward).
    /// - Returns: the loss over every valid decoder step (including the end token), and counts for accuracy.
    /// - Throws: ``RNNKitError`` for empty batches, empty sources, ids out of range or options that do not fit.
    public func teacherForcedLoss(sources: [[Int]], targets: [[Int]], options: CrossEntropyOptions = CrossEntropyOptions(),
                                  computeGradient: Bool = true) throws -> CrossEntropyResult<Float> {
        let B = sources.count
        guard B >= 1, targets.count == B else {
            throw RNNKitError(.invalidArgument, "expected a non-empty batch with one target per source, got \(B) sources and \(targets.count) targets")
        }
        let (sourceIds, sourceSteps, sourceLengths) = try padTimeMajor(sources, what: "source")
        let c = configuration, H = c.stateSize, DH = c.encoderOutputSize
        let decoderInputs = targets.map { [c.beginToken] + $0 }
        let decoderTargets = targets.map { $0 + [c.endToken] }
        let (inputIds, targetSteps, targetLengths) = try padTimeMajor(decoderInputs, what: "decoder input")
        var targetIds = [Int](repeating: -100, count: targetSteps * B)   // [T, B], −100 past each length
        for (b, row) in decoderTargets.enumerated() {
            for (t, id) in row.enumerated() { targetIds[t * B + b] = id }
        }
        let encoded = try encoder.forward(.tokens(sourceIds), steps: sourceSteps, batch: B, lengths: sourceLengths)
        let initialState = try bridge?.forward(encoded.finalState) ?? encoded.finalState   // (L, B, H)
        if let attention, let attentionHead, feedingEmbedding != nil {
            let keys = try attention.keys(encoded.outputs, steps: sourceSteps, batch: B, lengths: sourceLengths)
            let pass = try inputFedForward(inputIds: inputIds, steps: targetSteps, batch: B, initialState: initialState, keys: keys)
            let logits = try attentionHead.forward(pass.headInput, rows: targetSteps * B)
            let loss = try sequenceSoftmaxCrossEntropy(
                logits: logits, targets: targetIds, steps: targetSteps, batch: B,
                classCount: c.targetVocabularySize, lengths: targetLengths, options: options, computeGradient: computeGradient)
            guard computeGradient, isTraining else { return loss }
            let dHeadInput = try attentionHead.backward(outputGradient: loss.logitsGradient, input: pass.headInput,
                                                        rows: targetSteps * B)        // (T·B, H + D·H)
            let g = try inputFedBackward(pass, headInputGradient: dHeadInput, inputIds: inputIds, keys: keys)
            try backwardThroughEncoder(initialStateGradient: g.initialState, encoderOutputGradient: g.encoderOutputs,
                                       finalState: encoded.finalState)
            return loss
        }
        let decoded = try decoder.forward(.tokens(inputIds), steps: targetSteps, batch: B, lengths: targetLengths,
                                          initialState: initialState)
        var logits = decoded.outputs                                              // (T, B, V), or h (T, B, H) with attention
        var attended: (keys: AttentionKeys<Float>, output: AttentionOutput<Float>, headInput: [Float])?
        if let attention, let attentionHead {
            let keys = try attention.keys(encoded.outputs, steps: sourceSteps, batch: B, lengths: sourceLengths)
            let output = try attention.forward(queries: decoded.outputs, steps: targetSteps, keys: keys)
            let headInput = sideBySide(decoded.outputs, H, output.context, DH, rows: targetSteps * B)   // (T·B, H + D·H)
            logits = try attentionHead.forward(headInput, rows: targetSteps * B)
            attended = (keys, output, headInput)
        }
        let loss = try sequenceSoftmaxCrossEntropy(
            logits: logits, targets: targetIds, steps: targetSteps, batch: B,
            classCount: c.targetVocabularySize, lengths: targetLengths, options: options, computeGradient: computeGradient)
        guard computeGradient, isTraining else { return loss }
        var decoderOutputGradient = loss.logitsGradient                           // (T, B, V), or ∂h (T, B, H)
        var encoderOutputGradient = [Float](repeating: 0, count: sourceSteps * B * DH)   // ∂s (S, B, D·H)
        if let attention, let attentionHead, let attended {
            let dHeadInput = try attentionHead.backward(outputGradient: loss.logitsGradient, input: attended.headInput,
                                                        rows: targetSteps * B)    // (T·B, H + D·H)
            let (dH, dContext) = split(dHeadInput, H, DH, rows: targetSteps * B)
            let dAttention = try attention.backward(contextGradient: dContext, queries: decoded.outputs,
                                                    keys: attended.keys, output: attended.output)
            // h_t is read twice, by the head and as the query: ∂h = ∂h|head + ∂h|query.
            decoderOutputGradient = zip(dH, dAttention.queries).map { $0 + $1 }
            encoderOutputGradient = dAttention.encoderOutputs
        }
        let initialStateGradient = try decoder.backward(outputGradient: decoderOutputGradient).initialState
        try backwardThroughEncoder(initialStateGradient: initialStateGradient, encoderOutputGradient: encoderOutputGradient,
                                   finalState: encoded.finalState)
        return loss
    }

    /// The bridge's and the encoder's backward, from `∂(decoder's initial state)` `(L, B, H)` and `∂s` `(S, B, D·H)`.
    private func backwardThroughEncoder(initialStateGradient: RecurrentState<Float>, encoderOutputGradient: [Float],
                                        finalState: RecurrentState<Float>) throws {
        let finalStateGradient = try bridge?.backward(outputGradient: initialStateGradient, input: finalState)
            ?? initialStateGradient
        try encoder.backward(outputGradient: encoderOutputGradient, finalStateGradient: finalStateGradient)
    }

    // MARK: Input feeding

    /// What an input-fed teacher-forced forward keeps for ``inputFedBackward(_:headInputGradient:inputIds:keys:)``.
    private struct InputFedPass {
        var steps: Int, batch: Int
        /// Per step `t`: the decoder's input `x_t` `(B, E + D·H)`.
        var inputs: [[Float]] = []
        /// Per step `t`: the state before it `(L, B, H)`.
        var states: [RecurrentState<Float>] = []
        /// Per step `t`: the decoder's dropout streams before it; then, last, after the final step.
        var dropoutStates: [[UInt64]] = []
        /// Per step `t`: the attention of `h_t`.
        var attended: [AttentionOutput<Float>] = []
        /// `h_t` `(T, B, H)`, the attention's queries.
        var queries: [Float] = []
        /// `[h_t ; c_t]` `(T·B, H + D·H)`, the head's input.
        var headInput: [Float] = []
    }

    /// The decoder over the target one step at a time, each step reading the previous step's context.
    private func inputFedForward(inputIds: [Int], steps T: Int, batch B: Int, initialState: RecurrentState<Float>,
                                 keys: AttentionKeys<Float>) throws -> InputFedPass {
        let c = configuration, E = c.embeddingSize, DH = c.encoderOutputSize
        let embedded = try feedingEmbedding!.forward(inputIds)                  // (T, B, E)
        var pass = InputFedPass(steps: T, batch: B)
        var state = initialState
        var context = [Float](repeating: 0, count: B * DH)                       // c_{t−1} (B, D·H)
        for t in 0..<T {
            let x = sideBySide(Array(embedded[t * B * E..<(t + 1) * B * E]), E, context, DH, rows: B)   // (B, E + D·H)
            pass.inputs.append(x)
            pass.states.append(state)
            pass.dropoutStates.append(decoder.dropoutGeneratorStates)
            let decoded = try decoder.forward(.features(x), steps: 1, batch: B, initialState: state)
            let output = try attention!.forward(queries: decoded.outputs, steps: 1, keys: keys)   // context (B, D·H)
            state = decoded.finalState
            context = output.context
            pass.attended.append(output)
            pass.queries += decoded.outputs
            pass.headInput += sideBySide(decoded.outputs, c.stateSize, context, DH, rows: B)
        }
        pass.dropoutStates.append(decoder.dropoutGeneratorStates)
        return pass
    }

    /// Backpropagates an input-fed forward from the head's input gradient `(T·B, H + D·H)`, adding
    /// into the decoder's, the attention's and the embedding's gradients.
    /// - Returns: `∂(initial state)` `(L, B, H)` and `∂s` `(S, B, D·H)`.
    private func inputFedBackward(_ pass: InputFedPass, headInputGradient: [Float], inputIds: [Int], keys: AttentionKeys<Float>)
        throws -> (initialState: RecurrentState<Float>, encoderOutputs: [Float]) {
        let c = configuration, T = pass.steps, B = pass.batch, H = c.stateSize, E = c.embeddingSize, DH = c.encoderOutputSize
        let (dH, dContext) = split(headInputGradient, H, DH, rows: T * B)        // (T·B, H), (T·B, D·H)
        var dEncoderOutputs = [Float](repeating: 0, count: keys.steps * B * DH)  // ∂s (S, B, D·H)
        var dEmbedded = [Float](repeating: 0, count: T * B * E)                  // (T, B, E)
        var dFedContext = [Float](repeating: 0, count: B * DH)                   // ∂c_t from x_{t+1}
        var dState: RecurrentState<Float>?                                         // ∂(state after t)
        var dKeyProjection: [Float]?                                               // ∂u (S·B, P), summed over t
        for t in stride(from: T - 1, through: 0, by: -1) {
            // ∂c_t = ∂c_t|head + ∂c_t|x_{t+1}
            let dC = zip(dContext[t * B * DH..<(t + 1) * B * DH], dFedContext).map { $0 + $1 }
            let query = Array(pass.queries[t * B * H..<(t + 1) * B * H])
            let dAttention = try attention!.backwardDeferringKeyProjection(contextGradient: dC, queries: query, keys: keys,
                                                                           output: pass.attended[t])
            for i in dEncoderOutputs.indices { dEncoderOutputs[i] += dAttention.encoderOutputs[i] }
            if let du = dAttention.keyProjection {
                if dKeyProjection == nil { dKeyProjection = du } else { for i in du.indices { dKeyProjection![i] += du[i] } }
            }
            // ∂h_t = ∂h_t|head + ∂h_t|query
            let dQuery = zip(dH[t * B * H..<(t + 1) * B * H], dAttention.queries).map { $0 + $1 }
            if t < T - 1 {   // the decoder kept the last step's activations only: run step t again
                decoder.dropoutGeneratorStates = pass.dropoutStates[t]
                _ = try decoder.forward(.features(pass.inputs[t]), steps: 1, batch: B, initialState: pass.states[t])
            }
            let g = try decoder.backward(outputGradient: dQuery, finalStateGradient: dState)
            dState = g.initialState
            let (dE, dFed) = split(g.inputs, E, DH, rows: B)                      // ∂x_t = [∂e_t ; ∂c_{t−1}]
            dEmbedded.replaceSubrange(t * B * E..<(t + 1) * B * E, with: dE)
            dFedContext = dFed
        }
        decoder.dropoutGeneratorStates = pass.dropoutStates[T]
        // The key projection's gradient, once for all steps: ∂W_k += ∂uᵀ · s, ∂s += ∂u · W_k.
        if let dKeyProjection { try attention!.addKeyProjectionGradient(dKeyProjection, keys: keys, into: &dEncoderOutputs) }
        try feedingEmbedding!.backward(outputGradient: dEmbedded, ids: inputIds)
        return (dState!, dEncoderOutputs)
    }

    // MARK: Decoding

    /// Greedy decoding of a batch: each decoder step feeds back its most likely token.
    /// - Parameters:
    ///   - sources: `B` non-empty source id lists.
    ///   - maximumLength: the most tokens written per row (the end token is not included in the result).
    /// - Returns: `B` decoded id lists, each stopping before its first end token.
    /// - Throws: ``RNNKitError`` for an empty source or a source id out of range.
    public func greedyDecode(sources: [[Int]], maximumLength: Int) throws -> [[Int]] {
        let wasTraining = isTraining
        isTraining = false
        defer { isTraining = wasTraining }
        let B = sources.count
        guard B >= 1 else { return [] }
        let encoded = try encodeForDecoding(sources)
        var state = encoded.state
        var fedContext = initialFedContext(rows: B)
        var tokens = [Int](repeating: configuration.beginToken, count: B)
        var results = [[Int]](repeating: [], count: B)
        var finished = [Bool](repeating: false, count: B)
        let V = configuration.targetVocabularySize
        for _ in 0..<maximumLength {
            let logits = try decoderStep(tokens: tokens, state: &state, fedContext: &fedContext, keys: encoded.keys).logits   // [B, V]
            for b in 0..<B {
                var best = 0
                for v in 1..<V where logits[b * V + v] > logits[b * V + best] { best = v }
                tokens[b] = best
                if best == configuration.endToken { finished[b] = true }
                if !finished[b] { results[b].append(best) }
            }
            if !finished.contains(false) { break }
        }
        return results
    }

    /// Decodes a batch by beam search, keeping the `K` best hypotheses of each source.
    ///
    /// All `B·K` hypotheses step together as the rows of one decoder state. After each step a
    /// source's next beam is the `K` best, by summed log-probability, of the finished hypotheses in
    /// its beam and of every live hypothesis's continuations; a continuation that writes the end
    /// token is finished, the others live on, their state rows gathered from their parents'. A source
    /// stops when its beam holds only finished hypotheses (no live one can overtake them, as
    /// log-probabilities only fall); at `maximumLength` the living ones finish as they are. The
    /// result is the finished hypothesis with the best ``Seq2SeqDecoding/score``. `K = 1` writes
    /// exactly what ``greedyDecode(sources:maximumLength:)`` writes.
    /// - Parameters:
    ///   - sources: `B` non-empty source id lists.
    ///   - maximumLength: the most tokens written per source (≥ 1; the end token not counted).
    ///   - beamWidth: `K ≥ 1` (1: greedy).
    ///   - lengthNormalization: `α ≥ 0` of the final ranking's score `log p / length^α`; default 1
    ///     (mean log-probability per prediction), 0 ranks by the summed log-probability alone.
    /// - Returns: `B` decodings, in the order of `sources`.
    /// - Throws: ``RNNKitError`` `.invalidArgument` for `K < 1`, `maximumLength < 1`, `α` negative or
    ///   not finite, an empty source or a source id out of range.
    public func decode(sources: [[Int]], maximumLength: Int, beamWidth: Int,
                       lengthNormalization: Double = 1) throws -> [Seq2SeqDecoding] {
        guard beamWidth >= 1 else { throw RNNKitError(.invalidArgument, "the beam width must be at least 1, got \(beamWidth)") }
        guard maximumLength >= 1 else {
            throw RNNKitError(.invalidArgument, "the maximum length must be at least 1 token, got \(maximumLength)")
        }
        guard lengthNormalization >= 0, lengthNormalization.isFinite else {
            throw RNNKitError(.invalidArgument, "the length normalisation α must be finite and ≥ 0, got \(lengthNormalization)")
        }
        let wasTraining = isTraining
        isTraining = false
        defer { isTraining = wasTraining }
        let B = sources.count, K = beamWidth, R = B * K, c = configuration, V = c.targetVocabularySize
        guard B >= 1 else { return [] }
        let encoded = try encodeForDecoding(sources)
        var state = gatherRows(encoded.state, (0..<R).map { $0 / K }, hiddenWidth: c.stateSize, cellWidth: c.hiddenSize)   // (L, B·K, H), row b·K + k from b
        var fedContext = initialFedContext(rows: R)                                // (B·K, D·H), or empty
        let keys = encoded.keys?.repeatingRows(K)                                 // (S, B·K, D·H)
        let S = encoded.keys?.steps ?? 0

        struct Hypothesis {
            var tokens: [Int] = []
            var logProbability = 0.0
            var attention: [[Float]] = []
        }
        func scored(_ h: Hypothesis, endWritten: Bool) -> Seq2SeqDecoding {
            let length = Double(h.tokens.count + (endWritten ? 1 : 0))
            let score = lengthNormalization == 0 ? h.logProbability : h.logProbability / pow(length, lengthNormalization)
            return Seq2SeqDecoding(tokens: h.tokens, logProbability: h.logProbability, score: score, attention: h.attention)
        }
        var live = [[Hypothesis]](repeating: [Hypothesis()], count: B)             // row b·K + k steps live[b][k]
        var finishedInBeam = [[Double]](repeating: [], count: B)                   // log-probabilities of the beam's finished ones
        var finished = [[Seq2SeqDecoding]](repeating: [], count: B)                // every hypothesis that finished
        var done = [Bool](repeating: false, count: B)
        var inputs = [Int](repeating: c.beginToken, count: R)
        for step in 1...maximumLength {
            let (logits, weights) = try decoderStep(tokens: inputs, state: &state, fedContext: &fedContext, keys: keys)   // (B·K, V), (B·K, S)
            var parents = [Int](0..<R)
            for b in 0..<B where !done[b] {
                // The K best by log-probability (ties: the beam's finished ones, then by hypothesis, then by token);
                // k = −1 marks a finished hypothesis kept from the last beam.
                var best: [(logProbability: Double, k: Int, token: Int)] = []
                func consider(_ candidate: (Double, Int, Int)) {
                    guard best.count < K || candidate.0 > best[best.count - 1].logProbability else { return }
                    best.insert(candidate, at: best.firstIndex { candidate.0 > $0.logProbability } ?? best.count)
                    if best.count > K { best.removeLast() }
                }
                for logProbability in finishedInBeam[b] { consider((logProbability, -1, -1)) }
                for (k, hypothesis) in live[b].enumerated() {
                    let row = (b * K + k) * V
                    var largest = Double(logits[row])
                    for v in 1..<V { largest = max(largest, Double(logits[row + v])) }
                    var total = 0.0
                    for v in 0..<V { total += exp(Double(logits[row + v]) - largest) }
                    let normaliser = largest + log(total)                             // log Σ_v exp(logit_v)
                    for v in 0..<V { consider((hypothesis.logProbability + Double(logits[row + v]) - normaliser, k, v)) }
                }
                var next: [(hypothesis: Hypothesis, parent: Int)] = []
                finishedInBeam[b] = []
                for candidate in best {
                    guard candidate.k >= 0 else { finishedInBeam[b].append(candidate.logProbability); continue }
                    var hypothesis = live[b][candidate.k]
                    hypothesis.logProbability = candidate.logProbability
                    if candidate.token == c.endToken {
                        finished[b].append(scored(hypothesis, endWritten: true))
                        finishedInBeam[b].append(candidate.logProbability)
                        continue
                    }
                    hypothesis.tokens.append(candidate.token)
                    if S > 0 {
                        let row = (b * K + candidate.k) * S
                        hypothesis.attention.append(Array(weights[row..<row + encoded.lengths[b]]))
                    }
                    next.append((hypothesis, b * K + candidate.k))
                }
                if step == maximumLength { finished[b] += next.map { scored($0.hypothesis, endWritten: false) } }
                if next.isEmpty || step == maximumLength {
                    done[b] = true
                    continue
                }
                live[b] = next.map { $0.hypothesis }
                for (k, entry) in next.enumerated() {
                    parents[b * K + k] = entry.parent
                    inputs[b * K + k] = entry.hypothesis.tokens.last!
                }
            }
            if !done.contains(false) { break }
            state = gatherRows(state, parents, hiddenWidth: c.stateSize, cellWidth: c.hiddenSize)
            fedContext = gatherRowBlocks(fedContext, parents, width: c.encoderOutputSize)
        }
        return finished.map { candidates in
            var chosen = candidates[0]
            for candidate in candidates.dropFirst() where candidate.score > chosen.score { chosen = candidate }
            return chosen
        }
    }

    /// Encodes `sources` in inference mode: the decoder's initial state `(L, B, H)`, the attention
    /// keys (with attention) and the source lengths.
    private func encodeForDecoding(_ sources: [[Int]]) throws -> (state: RecurrentState<Float>, keys: AttentionKeys<Float>?, lengths: [Int]) {
        let V = configuration.sourceVocabularySize
        for (b, source) in sources.enumerated() {
            if let bad = source.first(where: { $0 < 0 || $0 >= V }) {
                throw RNNKitError(.invalidArgument, "source \(b) has the id \(bad); expected source ids in 0..<\(V)")
            }
        }
        let B = sources.count
        let (sourceIds, sourceSteps, sourceLengths) = try padTimeMajor(sources, what: "source")
        let encoded = try encoder.forward(.tokens(sourceIds), steps: sourceSteps, batch: B, lengths: sourceLengths)
        let state = try bridge?.forward(encoded.finalState) ?? encoded.finalState
        let keys = try attention?.keys(encoded.outputs, steps: sourceSteps, batch: B, lengths: sourceLengths)
        return (state, keys, sourceLengths)
    }

    /// `c_{−1} = 0` `(R, D·H)` of an input-fed decode; empty without input feeding.
    private func initialFedContext(rows R: Int) -> [Float] {
        [Float](repeating: 0, count: feedingEmbedding == nil ? 0 : R * configuration.encoderOutputSize)
    }

    /// One decoder step of `R` rows: the logits `(R, V)` and, with attention, the weights `(R, S)`
    /// (empty without). With input feeding the step reads `fedContext` `(R, D·H)` and replaces it by
    /// its own context (otherwise it stays empty). Dropout is off; nothing is kept for backward.
    func decoderStep(tokens: [Int], state: inout RecurrentState<Float>, fedContext: inout [Float],
                     keys: AttentionKeys<Float>?) throws -> (logits: [Float], weights: [Float]) {
        let R = tokens.count, c = configuration
        let y: [Float]                                                            // (R, V), or h (R, H) with attention
        if let feedingEmbedding {
            let x = sideBySide(try feedingEmbedding.forward(tokens), c.embeddingSize, fedContext, c.encoderOutputSize, rows: R)
            y = try decoder.step(features: x, state: &state)
        } else {
            y = try decoder.step(tokens: tokens, state: &state)
        }
        guard let attention, let attentionHead, let keys else { return (y, []) }
        let output = try attention.forward(queries: y, steps: 1, keys: keys)     // context (R, D·H), weights (R, S)
        if feedingEmbedding != nil { fedContext = output.context }
        let headInput = sideBySide(y, c.stateSize, output.context, c.encoderOutputSize, rows: R)
        return (try attentionHead.forward(headInput, rows: R), output.weights)
    }
}

/// `[x_r ; y_r]` for every row: `(N, P)` and `(N, Q)` side by side as `(N, P + Q)`.
func sideBySide<Scalar>(_ x: [Scalar], _ P: Int, _ y: [Scalar], _ Q: Int, rows N: Int) -> [Scalar] {
    var result: [Scalar] = []
    result.reserveCapacity(N * (P + Q))
    for r in 0..<N {
        result += x[r * P..<(r + 1) * P]
        result += y[r * Q..<(r + 1) * Q]
    }
    return result
}

/// The inverse of ``sideBySide(_:_:_:_:rows:)``: `(N, P + Q)` split into `(N, P)` and `(N, Q)`.
func split<Scalar>(_ xy: [Scalar], _ P: Int, _ Q: Int, rows N: Int) -> ([Scalar], [Scalar]) {
    var x: [Scalar] = [], y: [Scalar] = []
    x.reserveCapacity(N * P)
    y.reserveCapacity(N * Q)
    for r in 0..<N {
        let start = r * (P + Q)
        x += xy[start..<start + P]
        y += xy[start + P..<start + P + Q]
    }
    return (x, y)
}

/// A state whose row `r` of every layer is row `rows[r]` of `state`: `h (L, B, R)` → `(L, rows.count, R)`
/// and `c (L, B, H)` → `(L, rows.count, H)` (`R` = `H` unless projected).
func gatherRows<Scalar>(_ state: RecurrentState<Scalar>, _ rows: [Int], hiddenWidth: Int, cellWidth: Int) -> RecurrentState<Scalar> {
    RecurrentState(batch: rows.count,
                   hidden: gatherRowBlocks(state.hidden, rows, width: hiddenWidth, batch: state.batch),
                   cell: state.cell.map { gatherRowBlocks($0, rows, width: cellWidth, batch: state.batch) })
}

/// Row `r` of every block of `values` `(L, B, W)` is row `rows[r]` of that block: `(L, rows.count, W)`.
/// `batch` `B` defaults to `rows.count` (a gather among the same rows, as a beam's); `L` follows from the count.
func gatherRowBlocks<Scalar>(_ values: [Scalar], _ rows: [Int], width W: Int, batch: Int? = nil) -> [Scalar] {
    let B = batch ?? rows.count
    guard B * W > 0 else { return values }
    let L = values.count / (B * W)
    var result: [Scalar] = []
    result.reserveCapacity(L * rows.count * W)
    for l in 0..<L {
        for row in rows {
            let from = (l * B + row) * W
            result += values[from..<from + W]
        }
    }
    return result
}

/// Pads id lists into a time-major `[T, B]` block (padding id 0) with their lengths.
func padTimeMajor(_ rows: [[Int]], what: String) throws -> (ids: [Int], steps: Int, lengths: [Int]) {
    let lengths = rows.map(\.count)
    if let empty = lengths.firstIndex(of: 0) {
        throw RNNKitError(.invalidArgument, "\(what) \(empty) of the batch is empty; expected at least one token")
    }
    let T = lengths.max() ?? 0, B = rows.count
    var ids = [Int](repeating: 0, count: T * B)
    for (b, row) in rows.enumerated() {
        for (t, id) in row.enumerated() { ids[t * B + b] = id }
    }
    return (ids, T, lengths)
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
