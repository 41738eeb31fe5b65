// Encoder–decoder composition (Sutskever, Vinyals & Le 2014).
// Dimension legend: S source steps   T target steps   B batch   V target vocabulary   H hidden   L layers
//
// Training (teacher forcing), for a batch of (source, target) pairs:
//   encoder:  final state (L, B, H) of the source ids (S, B), each row stopping at its own length
//   decoder:  reads [begin, y_1, …, y_n] (T = n + 1, B) from that state, predicts [y_1, …, y_n, end]
//   loss = mean cross-entropy over the valid decoder steps
//   backward: decoder → ∂(initial state) → the encoder's ∂(final state) → encoder
// Inference (greedy): the decoder starts from begin and feeds back its own most likely token until end.

/// An encoder–decoder of two token ``SequenceModel``s: the encoder's final states initialise the decoder.
public final class Seq2SeqModel {
    /// The architecture.
    public let configuration: Seq2SeqConfiguration
    /// The source reader (no head).
    public let encoder: SequenceModel
    /// The target writer (per-step head over the target vocabulary).
    public let decoder: SequenceModel
    /// The characters of a character-level model (source and target ids share it), saved with it; `nil` otherwise.
    public var vocabulary: CharacterVocabulary?

    /// Whether dropout is active and forward keeps activations (default `true`).
    public var isTraining = true {
        didSet { encoder.isTraining = isTraining; decoder.isTraining = isTraining }
    }

    /// Creates both halves with their initial weights.
    /// - Throws: ``RNNKitError`` if the configuration is invalid.
    public init(_ configuration: Seq2SeqConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        encoder = try SequenceModel(configuration.encoder)
        decoder = try SequenceModel(configuration.decoder)
    }

    /// Encoder groups then decoder groups, for optimizers and clipping.
    public var parameterGroups: [any ParameterContainer<Float>] { encoder.parameterGroups + decoder.parameterGroups }

    /// Clears every gradient.
    public func zeroGradients() { encoder.zeroGradients(); decoder.zeroGradients() }

    /// Runs one teacher-forced forward and backward over `pairs`, adding into the gradients.
    /// - Parameters:
    ///   - sources: `B` non-empty source id lists.
    ///   - targets: `B` target id lists (without begin and end tokens; may be empty).
    ///   - computeGradient: `false` to evaluate the loss only (no backward).
    /// - Returns: the loss over every valid decoder step (including the end token), and counts for accuracy.
    /// - Throws: ``RNNKitError`` for empty batches, empty sources or ids out of range.
    public func teacherForcedLoss(sources: [[Int]], targets: [[Int]], computeGradient: Bool = true) throws -> CrossEntropyResult<Float> {
        let B = sources.count
        guard B >= 1, targets.count == B else {
            throw RNNKitError(.invalidArgument, "expected a non-empty batch with one target per source, got \(B) sources and \(targets.count) targets")
        }
        let (sourceIds, sourceSteps, sourceLengths) = try padTimeMajor(sources, what: "source")
        let c = configuration
        let decoderInputs = targets.map { [c.beginToken] + $0 }
        let decoderTargets = targets.map { $0 + [c.endToken] }
        let (inputIds, targetSteps, targetLengths) = try padTimeMajor(decoderInputs, what: "decoder input")
        var targetIds = [Int](repeating: -100, count: targetSteps * B)   // [T, B], −100 past each length
        for (b, row) in decoderTargets.enumerated() {
            for (t, id) in row.enumerated() { targetIds[t * B + b] = id }
        }
        let encoded = try encoder.forward(.tokens(sourceIds), steps: sourceSteps, batch: B, lengths: sourceLengths)
        let decoded = try decoder.forward(.tokens(inputIds), steps: targetSteps, batch: B, lengths: targetLengths,
                                          initialState: encoded.finalState)
        let loss = try sequenceSoftmaxCrossEntropy(
            logits: decoded.outputs, targets: targetIds, steps: targetSteps, batch: B,
            classCount: c.targetVocabularySize, lengths: targetLengths, computeGradient: computeGradient)
        guard computeGradient, isTraining else { return loss }
        let stateGradient = try decoder.backward(outputGradient: loss.logitsGradient).initialState
        try encoder.backward(outputGradient: [Float](repeating: 0, count: sourceSteps * B * c.hiddenSize),
                             finalStateGradient: stateGradient)
        return loss
    }

    /// Greedy decoding of a batch: each decoder step feeds back its most likely token.
    /// - Parameters:
    ///   - sources: `B` non-empty source id lists.
    ///   - maximumLength: the most tokens written per row (the end token is not included in the result).
    /// - Returns: `B` decoded id lists, each stopping before its first end token.
    public func greedyDecode(sources: [[Int]], maximumLength: Int) throws -> [[Int]] {
        let wasTraining = isTraining
        isTraining = false
        defer { isTraining = wasTraining }
        let B = sources.count
        guard B >= 1 else { return [] }
        let (sourceIds, sourceSteps, sourceLengths) = try padTimeMajor(sources, what: "source")
        var state = try encoder.forward(.tokens(sourceIds), steps: sourceSteps, batch: B, lengths: sourceLengths).finalState
        var tokens = [Int](repeating: configuration.beginToken, count: B)
        var results = [[Int]](repeating: [], count: B)
        var finished = [Bool](repeating: false, count: B)
        let V = configuration.targetVocabularySize
        for _ in 0..<maximumLength {
            let logits = try decoder.step(tokens: tokens, state: &state)   // [B, V]
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
