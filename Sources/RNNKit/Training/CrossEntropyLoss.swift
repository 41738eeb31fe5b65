// Softmax cross-entropy fused with the softmax, over rows of logits.
// Dimension legend:  N rows (positions)   C classes   T time steps   B batch
//
// For a counted row r with target y (n = number of counted rows):
//   lse_r   = m_r + log Σ_c exp(x_rc − m_r),   m_r = max_c x_rc      (log-sum-exp, never overflows)
//   loss    = (1/n) Σ_r (lse_r − x_ry)
//   ∂loss/∂x_rc = (softmax(x_r)_c − [c = y]) / n;   rows not counted get 0.
// This is PyTorch's CrossEntropyLoss(ignore_index=…, reduction='mean') without class weights.

/// The result of ``softmaxCrossEntropy(logits:targets:classCount:ignoreIndex:computeGradient:)`` and
/// ``sequenceSoftmaxCrossEntropy(logits:targets:steps:batch:classCount:lengths:ignoreIndex:batchFirst:computeGradient:)``.
public struct CrossEntropyResult<Scalar: RNNScalar>: Sendable {
    /// The mean loss over counted positions, in nats (0 when no position counts; PyTorch gives NaN there).
    public var loss: Double
    /// The sum of the per-position losses (`loss · countedPositions`), for averaging over many batches.
    public var totalLoss: Double
    /// `∂loss/∂logits`, laid out like the logits; zero rows at positions not counted.
    /// Empty when the gradient was not requested.
    public var logitsGradient: [Scalar]
    /// Positions that count: inside their sequence's length and with a target other than the ignore index.
    public var countedPositions: Int
    /// Counted positions whose largest logit (first one on ties) is at the target class.
    public var correctPredictions: Int
}

/// Mean softmax cross-entropy of rows of logits against integer class targets, with its gradient
/// (PyTorch's `CrossEntropyLoss(ignore_index=ignoreIndex, reduction='mean')`).
///
/// Use it for per-sequence classification (one row per sequence) or any flattened batch of positions.
/// - Parameters:
///   - logits: `[N, C]` unnormalised scores.
///   - targets: `[N]` class indices in `0..<C`, or `ignoreIndex` for a row that does not count.
///   - classCount: `C ≥ 1`.
///   - ignoreIndex: the target value that marks a row to skip (default −100, as PyTorch); `nil` for none.
///   - computeGradient: whether to fill ``CrossEntropyResult/logitsGradient`` (default `true`).
/// - Throws: ``RNNKitError`` if the counts disagree or a counted target is out of range.
public func softmaxCrossEntropy<Scalar: RNNScalar>(
    logits: [Scalar], targets: [Int], classCount: Int, ignoreIndex: Int? = -100, computeGradient: Bool = true
) throws -> CrossEntropyResult<Scalar> {
    guard classCount >= 1 else {
        throw RNNKitError(.invalidArgument, "cross-entropy needs at least 1 class, got \(classCount)")
    }
    guard logits.count == targets.count * classCount else {
        throw RNNKitError(.shapeMismatch,
            "expected logits [N, C] = [\(targets.count), \(classCount)] with \(targets.count * classCount) elements (one row per target), got \(logits.count)")
    }
    return try crossEntropyRows(logits: logits, targets: targets, classCount: classCount,
                                ignoreIndex: ignoreIndex, computeGradient: computeGradient) { _ in true }
}

/// Mean softmax cross-entropy over every time step of a batch of sequences, with a lengths mask,
/// and its gradient (PyTorch's `CrossEntropyLoss(ignore_index=…, reduction='mean')` applied to the
/// positions inside each sequence).
///
/// A position (t, b) counts when `t < lengths[b]` and `targets` there is not `ignoreIndex`; the mean
/// is over counted positions only. Targets past a sequence's length are not read (any padding value works).
/// - Parameters:
///   - logits: `[T, B, C]` (`[B, T, C]` when `batchFirst`).
///   - targets: `[T, B]` (`[B, T]` when `batchFirst`).
///   - steps: `T ≥ 1`.  - batch: `B ≥ 1`.  - classCount: `C ≥ 1`.
///   - lengths: `[B]` valid lengths in `0…T`, or `nil` for all `T` (default).
///   - ignoreIndex: the target value to skip (default −100); `nil` for none.
///   - batchFirst: whether logits and targets are batch-major (default `false`).
///   - computeGradient: whether to fill the gradient, laid out like `logits` (default `true`).
/// - Throws: ``RNNKitError`` if a count disagrees, a length is out of range, or a counted target is out of range.
public func sequenceSoftmaxCrossEntropy<Scalar: RNNScalar>(
    logits: [Scalar], targets: [Int], steps: Int, batch: Int, classCount: Int,
    lengths: [Int]? = nil, ignoreIndex: Int? = -100, batchFirst: Bool = false, computeGradient: Bool = true
) throws -> CrossEntropyResult<Scalar> {
    guard steps >= 1, batch >= 1, classCount >= 1 else {
        throw RNNKitError(.invalidArgument,
            "sequence cross-entropy needs T, B, C ≥ 1, got T = \(steps), B = \(batch), C = \(classCount)")
    }
    let layout = batchFirst ? "[B, T]" : "[T, B]"
    guard targets.count == steps * batch else {
        throw RNNKitError(.shapeMismatch,
            "expected targets \(layout) with \(steps * batch) elements (T = \(steps), B = \(batch)), got \(targets.count)")
    }
    guard logits.count == steps * batch * classCount else {
        throw RNNKitError(.shapeMismatch,
            "expected logits \(batchFirst ? "[B, T, C]" : "[T, B, C]") with \(steps * batch * classCount) elements, got \(logits.count)")
    }
    if let lengths {
        guard lengths.count == batch else {
            throw RNNKitError(.shapeMismatch, "expected \(batch) sequence lengths (one per batch row), got \(lengths.count)")
        }
        for (row, length) in lengths.enumerated() where length < 0 || length > steps {
            throw RNNKitError(.invalidArgument,
                "sequence length \(length) at batch row \(row) is out of range; expected 0…\(steps)")
        }
    }
    return try crossEntropyRows(logits: logits, targets: targets, classCount: classCount,
                                ignoreIndex: ignoreIndex, computeGradient: computeGradient) { row in
        guard let lengths else { return true }
        let (t, b) = batchFirst ? (row % steps, row / steps) : (row / batch, row % batch)
        return t < lengths[b]
    }
}

/// The shared kernel: rows where `isInsideSequence(row)` holds and the target is not ignored count.
private func crossEntropyRows<Scalar: RNNScalar>(
    logits: [Scalar], targets: [Int], classCount C: Int, ignoreIndex: Int?, computeGradient: Bool,
    isInsideSequence: (Int) -> Bool
) throws -> CrossEntropyResult<Scalar> {
    let rowCount = targets.count
    // First pass: which rows count, and are their targets valid?
    var counted = [Bool](repeating: false, count: rowCount)   // [N]
    var countedPositions = 0
    for row in 0..<rowCount where isInsideSequence(row) && targets[row] != ignoreIndex {
        guard targets[row] >= 0, targets[row] < C else {
            throw RNNKitError(.invalidArgument,
                "target \(targets[row]) at position \(row) is out of range; expected a class in 0..<\(C)\(ignoreIndex.map { " or the ignore index \($0)" } ?? "")")
        }
        counted[row] = true
        countedPositions += 1
    }

    var gradient = [Scalar](repeating: 0, count: computeGradient ? rowCount * C : 0)   // [N, C]
    var totalLoss = 0.0
    var correctPredictions = 0
    let inverseCount = countedPositions > 0 ? 1 / Scalar(countedPositions) : 0
    logits.withUnsafeBufferPointer { x in
        gradient.withUnsafeMutableBufferPointer { dx in
            for row in 0..<rowCount where counted[row] {
                let scores = x.baseAddress! + row * C          // (C)
                let target = targets[row]
                var largest = scores[0], argmax = 0
                for c in 1..<C where scores[c] > largest { largest = scores[c]; argmax = c }
                if argmax == target { correctPredictions += 1 }
                var sumOfExponentials: Scalar = 0
                guard computeGradient else {
                    for c in 0..<C { sumOfExponentials += Scalar.exponential(scores[c] - largest) }
                    totalLoss += Double(largest + Scalar.logarithm(sumOfExponentials) - scores[target])
                    continue
                }
                // The exponentials are kept in the gradient row, then scaled: softmax = e_c / Σ e.
                let rowGradient = dx.baseAddress! + row * C   // (C)
                for c in 0..<C {
                    let exponential = Scalar.exponential(scores[c] - largest)
                    rowGradient[c] = exponential
                    sumOfExponentials += exponential
                }
                totalLoss += Double(largest + Scalar.logarithm(sumOfExponentials) - scores[target])
                let scale = inverseCount / sumOfExponentials
                for c in 0..<C { rowGradient[c] *= scale }
                rowGradient[target] -= inverseCount
            }
        }
    }
    return CrossEntropyResult(
        loss: countedPositions > 0 ? totalLoss / Double(countedPositions) : 0,
        totalLoss: totalLoss, logitsGradient: gradient,
        countedPositions: countedPositions, correctPredictions: correctPredictions)
}
