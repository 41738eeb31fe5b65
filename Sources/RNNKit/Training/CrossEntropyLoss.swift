// Softmax cross-entropy fused with the softmax, over rows of logits.
// Dimension legend:  N rows (positions)   C classes   T time steps   B batch
//
// For a counted row r with target y (n = number of counted rows):
//   lse_r   = m_r + log Σ_c exp(x_rc − m_r),   m_r = max_c x_rc      (log-sum-exp, never overflows)
//   loss    = (1/n) Σ_r (lse_r − x_ry)
//   ∂loss/∂x_rc = (softmax(x_r)_c − [c = y]) / n;   rows not counted get 0.
// This is PyTorch's CrossEntropyLoss(ignore_index=…, reduction='mean') without class weights.
//
// With class weights w_c and label smoothing ε (PyTorch's `weight=` and `label_smoothing=`), the
// target distribution is q_c = (1 − ε)·[c = y] + ε/C and, with p = softmax(x_r), W = Σ_c w_c:
//   ℓ_r     = (1 − ε)·w_y·(−log p_y) + (ε/C)·Σ_c w_c·(−log p_c)
//   loss    = Σ_r ℓ_r / N,   N = Σ_r w_{y_r}   (the counted rows' target weights; n when unweighted)
//   ∂ℓ_r/∂x_rc = (1 − ε)·w_y·(p_c − [c = y]) + (ε/C)·(W·p_c − w_c)
//     since ∂(−log p_k)/∂x_c = p_c − [c = k], summed over k with weights w_k.

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
    /// The loss's denominator: ``countedPositions``, or with class weights the sum of the counted
    /// positions' target weights (`loss = totalLoss / normalizer`).
    public var normalizer: Double
}

/// Class weights and label smoothing of a softmax cross-entropy, as PyTorch's
/// `CrossEntropyLoss(weight=…, label_smoothing=…)`; the defaults give the plain loss.
public struct CrossEntropyOptions: Codable, Sendable, Equatable {
    /// `[C]` non-negative weight per class (default `nil`: all 1). A row's loss is scaled by its target's
    /// weight (and the smoothing term by every class's), and the mean divides by the sum of the counted
    /// rows' target weights.
    public var classWeights: [Double]?
    /// ε in `[0, 1)` (default 0): the target distribution is `(1 − ε)·onehot + ε/C`.
    public var labelSmoothing: Double

    /// Creates the options; the defaults give the plain cross-entropy.
    public init(classWeights: [Double]? = nil, labelSmoothing: Double = 0) {
        self.classWeights = classWeights
        self.labelSmoothing = labelSmoothing
    }

    /// Whether these options change nothing.
    public var isPlain: Bool { classWeights == nil && labelSmoothing == 0 }

    /// Throws unless the weights fit `classCount` classes (finite, ≥ 0, not all 0) and `0 ≤ ε < 1`.
    public func validate(classCount: Int) throws {
        guard labelSmoothing >= 0, labelSmoothing < 1 else {
            throw RNNKitError(.invalidArgument, "label smoothing \(labelSmoothing) is out of range; expected 0 ≤ ε < 1")
        }
        guard let classWeights else { return }
        guard classWeights.count == classCount else {
            throw RNNKitError(.shapeMismatch, "expected \(classCount) class weights (one per class), got \(classWeights.count)")
        }
        if let bad = classWeights.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
            throw RNNKitError(.invalidArgument, "class weight \(classWeights[bad]) of class \(bad) is invalid; expected a finite weight ≥ 0")
        }
        guard classWeights.contains(where: { $0 > 0 }) else {
            throw RNNKitError(.invalidArgument, "every class weight is 0; expected at least one positive weight")
        }
    }
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
///   - options: class weights and label smoothing (default none).
///   - computeGradient: whether to fill ``CrossEntropyResult/logitsGradient`` (default `true`).
/// - Throws: ``RNNKitError`` if the counts disagree, a counted target is out of range or the options do not fit.
public func softmaxCrossEntropy<Scalar: RNNScalar>(
    logits: [Scalar], targets: [Int], classCount: Int, ignoreIndex: Int? = -100,
    options: CrossEntropyOptions = CrossEntropyOptions(), computeGradient: Bool = true
) throws -> CrossEntropyResult<Scalar> {
    guard classCount >= 1 else {
        throw RNNKitError(.invalidArgument, "cross-entropy needs at least 1 class, got \(classCount)")
    }
    guard logits.count == targets.count * classCount else {
        throw RNNKitError(.shapeMismatch,
            "expected logits [N, C] = [\(targets.count), \(classCount)] with \(targets.count * classCount) elements (one row per target), got \(logits.count)")
    }
    return try crossEntropyRows(logits: logits, targets: targets, classCount: classCount, ignoreIndex: ignoreIndex,
                                options: options, computeGradient: computeGradient) { _ in true }
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
///   - options: class weights and label smoothing (default none).
///   - computeGradient: whether to fill the gradient, laid out like `logits` (default `true`).
/// - Throws: ``RNNKitError`` if a count disagrees, a length is out of range, a counted target is out
///   of range or the options do not fit.
public func sequenceSoftmaxCrossEntropy<Scalar: RNNScalar>(
    logits: [Scalar], targets: [Int], steps: Int, batch: Int, classCount: Int,
    lengths: [Int]? = nil, ignoreIndex: Int? = -100, batchFirst: Bool = false,
    options: CrossEntropyOptions = CrossEntropyOptions(), computeGradient: Bool = true
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
    return try crossEntropyRows(logits: logits, targets: targets, classCount: classCount, ignoreIndex: ignoreIndex,
                                options: options, computeGradient: computeGradient) { row in
        guard let lengths else { return true }
        let (t, b) = batchFirst ? (row % steps, row / steps) : (row / batch, row % batch)
        return t < lengths[b]
    }
}

/// The shared kernel: rows where `isInsideSequence(row)` holds and the target is not ignored count.
private func crossEntropyRows<Scalar: RNNScalar>(
    logits: [Scalar], targets: [Int], classCount C: Int, ignoreIndex: Int?, options: CrossEntropyOptions,
    computeGradient: Bool, isInsideSequence: (Int) -> Bool
) throws -> CrossEntropyResult<Scalar> {
    try options.validate(classCount: C)
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
    guard options.isPlain else {
        return weightedCrossEntropyRows(logits: logits, targets: targets, classCount: C, counted: counted,
                                        options: options, computeGradient: computeGradient)
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
        countedPositions: countedPositions, correctPredictions: correctPredictions, normalizer: Double(countedPositions))
}

/// The rows of `counted` with class weights and label smoothing (the second block of the header's
/// equations), accumulated in Double.
private func weightedCrossEntropyRows<Scalar: RNNScalar>(
    logits: [Scalar], targets: [Int], classCount C: Int, counted: [Bool], options: CrossEntropyOptions,
    computeGradient: Bool
) -> CrossEntropyResult<Scalar> {
    let weights = options.classWeights ?? [Double](repeating: 1, count: C)   // (C)
    let totalWeight = weights.reduce(0, +)                                    // W
    let epsilon = options.labelSmoothing, smoothing = epsilon / Double(C)
    var normalizer = 0.0, totalLoss = 0.0, countedPositions = 0, correctPredictions = 0
    var probabilities = [Double](repeating: 0, count: C)                      // (C) p of one row
    var gradient = [Scalar](repeating: 0, count: computeGradient ? counted.count * C : 0)   // [N, C], unscaled first
    for row in counted.indices where counted[row] {
        let y = targets[row], scores = row * C
        var largest = logits[scores], argmax = 0
        for c in 1..<C where logits[scores + c] > largest { largest = logits[scores + c]; argmax = c }
        if argmax == y { correctPredictions += 1 }
        var sum = 0.0
        for c in 0..<C {
            probabilities[c] = Double.exponential(Double(logits[scores + c] - largest))
            sum += probabilities[c]
        }
        let logSum = Double.logarithm(sum)
        var smooth = 0.0                                                      // Σ_c w_c·(−log p_c)
        for c in 0..<C {
            probabilities[c] /= sum
            smooth += weights[c] * (logSum - Double(logits[scores + c] - largest))
        }
        totalLoss += (1 - epsilon) * weights[y] * (logSum - Double(logits[scores + y] - largest)) + smoothing * smooth
        normalizer += weights[y]
        countedPositions += 1
        guard computeGradient else { continue }
        for c in 0..<C {
            let hard = (1 - epsilon) * weights[y] * (probabilities[c] - (c == y ? 1 : 0))
            gradient[scores + c] = Scalar(hard + smoothing * (totalWeight * probabilities[c] - weights[c]))
        }
    }
    if computeGradient, normalizer > 0 {
        let scale = Scalar(1 / normalizer)
        for i in gradient.indices { gradient[i] *= scale }
    }
    return CrossEntropyResult(
        loss: normalizer > 0 ? totalLoss / normalizer : 0, totalLoss: totalLoss, logitsGradient: gradient,
        countedPositions: countedPositions, correctPredictions: correctPredictions, normalizer: normalizer)
}
