// Mean squared error over all elements (PyTorch's MSELoss(reduction='mean')):
//   loss = (1/n) Σ_i (p_i − y_i)²,   ∂loss/∂p_i = 2 (p_i − y_i) / n

/// The result of ``meanSquaredError(predictions:targets:computeGradient:)``.
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
