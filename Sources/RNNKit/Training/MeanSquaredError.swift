// Mean squared error over all elements (PyTorch's MSELoss(reduction='mean')):
//   loss = (1/n) Σ_i (p_i − y_i)²,   ∂loss/∂p_i = 2 (p_i − y_i) / n
// and the same over the valid steps of padded sequences (maskedMeanSquaredError), n counting those only.

/// The result of ``meanSquaredError(predictions:targets:computeGradient:)`` and
/// ``maskedMeanSquaredError(predictions:targets:steps:batch:outputs:lengths:computeGradient:)``.
public struct MeanSquaredErrorResult<Scalar: RNNScalar>: Sendable {
    /// The mean of the squared differences.
    public var loss: Double
    /// `∂loss/∂predictions`, laid out like the predictions; empty when not requested.
    public var predictionsGradient: [Scalar]
}

/// Mean squared error over all elements and its gradient (PyTorch's `MSELoss()`).
/// - Parameters:
///   - predictions: `[n]` in any shape, flat.
///   - targets: `[n]`, same layout.
///   - computeGradient: whether to fill ``MeanSquaredErrorResult/predictionsGradient`` (default `true`).
/// - Throws: ``RNNKitError`` if the counts differ or are zero.
public func meanSquaredError<Scalar: RNNScalar>(
    predictions: [Scalar], targets: [Scalar], computeGradient: Bool = true
) throws -> MeanSquaredErrorResult<Scalar> {
    guard predictions.count == targets.count else {
        throw RNNKitError(.shapeMismatch,
            "expected as many targets as predictions (\(predictions.count)), got \(targets.count)")
    }
    guard !predictions.isEmpty else {
        throw RNNKitError(.invalidArgument, "mean squared error needs at least one element, got none")
    }
    let n = predictions.count
    var sumOfSquares = 0.0
    for i in 0..<n {
        let difference = Double(predictions[i]) - Double(targets[i])
        sumOfSquares += difference * difference
    }
    var gradient: [Scalar] = []   // [n]
    if computeGradient {
        let scale = 2 / Scalar(n)
        gradient = (0..<n).map { scale * (predictions[$0] - targets[$0]) }
    }
    return MeanSquaredErrorResult(loss: sumOfSquares / Double(n), predictionsGradient: gradient)
}

/// Mean squared error over the valid time steps of a batch of padded sequences, and its gradient
/// (PyTorch's `MSELoss(reduction='mean')` applied to the steps inside each sequence).
///
/// Step t of sequence b counts when `t < lengths[b]`; the mean is over the `n = O · Σ lengths`
/// counted elements, and the padded steps get a zero gradient:
///
///     loss = (1/n) Σ_b Σ_{t < lengths[b]} Σ_o (p[t, b, o] − y_b[t, o])²
///     ∂loss/∂p[t, b, o] = 2 (p[t, b, o] − y_b[t, o]) / n   (0 for t ≥ lengths[b])
///
/// Each difference is taken in `Scalar` and squared and summed in Double, in the order b, t, o.
/// - Parameters:
///   - predictions: `[T, B, O]`, time-major (the every-step outputs of a padded batch).
///   - targets: `[B]` arrays, example b's `[lengths[b], O]` targets of its valid steps only
///     (as in ``SequenceExample/targetValues``).
///   - steps: `T ≥ 1`.  - batch: `B ≥ 1`.  - outputs: `O ≥ 1`.
///   - lengths: `[B]` valid lengths in `0…T`, not all zero.
///   - computeGradient: whether to fill ``MeanSquaredErrorResult/predictionsGradient`` (`[T, B, O]`, default `true`).
/// - Throws: ``RNNKitError`` if a count disagrees, a length is out of range, or no step counts.
public func maskedMeanSquaredError<Scalar: RNNScalar>(
    predictions: [Scalar], targets: [[Scalar]], steps: Int, batch: Int, outputs: Int, lengths: [Int],
    computeGradient: Bool = true
) throws -> MeanSquaredErrorResult<Scalar> {
    let (T, B, O) = (steps, batch, outputs)
    guard T >= 1, B >= 1, O >= 1 else {
        throw RNNKitError(.invalidArgument, "expected steps, batch and outputs of at least 1, got \(T), \(B), \(O)")
    }
    guard predictions.count == T * B * O else {
        throw RNNKitError(.shapeMismatch,
            "expected predictions [T, B, O] = [\(T), \(B), \(O)] with \(T * B * O) elements, got \(predictions.count)")
    }
    guard lengths.count == B, targets.count == B else {
        throw RNNKitError(.shapeMismatch, "expected \(B) lengths and \(B) target arrays (one per sequence), got \(lengths.count) and \(targets.count)")
    }
    for b in 0..<B {
        guard (0...T).contains(lengths[b]) else {
            throw RNNKitError(.invalidArgument, "length \(lengths[b]) of sequence \(b) is out of range; expected 0…\(T)")
        }
        guard targets[b].count == lengths[b] * O else {
            throw RNNKitError(.shapeMismatch,
                "expected \(lengths[b])·\(O) = \(lengths[b] * O) targets for sequence \(b) (its valid steps), got \(targets[b].count)")
        }
    }
    let n = O * lengths.reduce(0, +)
    guard n > 0 else {
        throw RNNKitError(.invalidArgument, "masked mean squared error needs at least one valid step, got lengths \(lengths)")
    }
    var gradient = computeGradient ? [Scalar](repeating: 0, count: T * B * O) : []   // [T, B, O]
    var sum = 0.0
    for b in 0..<B {
        for t in 0..<lengths[b] {
            for o in 0..<O {
                let d = predictions[(t * B + b) * O + o] - targets[b][t * O + o]
                sum += Double(d) * Double(d)
                if computeGradient { gradient[(t * B + b) * O + o] = 2 * d / Scalar(n) }
            }
        }
    }
    return MeanSquaredErrorResult(loss: sum / Double(n), predictionsGradient: gradient)
}
