// Pooling a batch of padded sequences over time, for the sequence-level heads of a SequenceModel.
// Dimension legend:  T time steps   B batch   F features per step (D·H of the top layer)   n_b = lengths[b]
//
// Only the valid steps t < n_b of each sequence take part; padded steps get no gradient.
//   mean:  p[b, f] = (1/n_b) Σ_{t<n_b} y[t, b, f]
//          ∂y[t, b, f] = ∂p[b, f] / n_b                    for t < n_b, else 0
//   max:   p[b, f] = y[t*, b, f],  t* = the first t < n_b with the largest value
//          ∂y[t, b, f] = ∂p[b, f] if t = t*, else 0       (the subgradient PyTorch's max takes)

/// Mean and max pooling over the valid steps of time-major sequences, forward and backward.
public enum SequencePooling {
    /// `(B, F)`: the mean of each sequence's valid steps.
    /// - Parameters:
    ///   - outputs: `[T, B, F]` per-step values.
    ///   - lengths: `[B]` valid lengths in `1…T`, or `nil` for all `T`.
    public static func meanForward<Scalar: RNNScalar>(
        _ outputs: [Scalar], steps T: Int, batch B: Int, features F: Int, lengths: [Int]?
    ) -> [Scalar] {
        precondition(outputs.count == T * B * F, "pooling expects [T, B, F] values")
        var pooled = [Scalar](repeating: 0, count: B * F)                 // (B, F)
        for b in 0..<B {
            let n = lengths?[b] ?? T
            for t in 0..<n {
                for f in 0..<F { pooled[b * F + f] += outputs[(t * B + b) * F + f] }
            }
            let inverse = 1 / Scalar(n)
            for f in 0..<F { pooled[b * F + f] *= inverse }
        }
        return pooled
    }

    /// `(T, B, F)`: the gradient of ``meanForward(_:steps:batch:features:lengths:)``'s input.
    /// - Parameter pooledGradient: `[B, F]` `∂L/∂pooled`.
    public static func meanBackward<Scalar: RNNScalar>(
        _ pooledGradient: [Scalar], steps T: Int, batch B: Int, features F: Int, lengths: [Int]?
    ) -> [Scalar] {
        precondition(pooledGradient.count == B * F, "pooling expects a [B, F] gradient")
        var gradient = [Scalar](repeating: 0, count: T * B * F)           // (T, B, F)
        for b in 0..<B {
            let n = lengths?[b] ?? T, inverse = 1 / Scalar(n)
            for t in 0..<n {
                for f in 0..<F { gradient[(t * B + b) * F + f] = pooledGradient[b * F + f] * inverse }
            }
        }
        return gradient
    }

    /// `(B, F)`: the largest value of each feature over each sequence's valid steps, and `[B·F]`
    /// the step it came from (the first on ties), which backward needs.
    public static func maxForward<Scalar: RNNScalar>(
        _ outputs: [Scalar], steps T: Int, batch B: Int, features F: Int, lengths: [Int]?
    ) -> (pooled: [Scalar], argmax: [Int]) {
        precondition(outputs.count == T * B * F, "pooling expects [T, B, F] values")
        var pooled = [Scalar](repeating: 0, count: B * F)                 // (B, F)
        var argmax = [Int](repeating: 0, count: B * F)                    // (B, F) step of the maximum
        for b in 0..<B {
            for f in 0..<F { pooled[b * F + f] = outputs[b * F + f] }
            for t in 1..<(lengths?[b] ?? T) {
                for f in 0..<F where outputs[(t * B + b) * F + f] > pooled[b * F + f] {
                    pooled[b * F + f] = outputs[(t * B + b) * F + f]
                    argmax[b * F + f] = t
                }
            }
        }
        return (pooled, argmax)
    }

    /// `(T, B, F)`: the gradient of ``maxForward(_:steps:batch:features:lengths:)``'s input, routed to
    /// the steps in `argmax`.
    public static func maxBackward<Scalar: RNNScalar>(
        _ pooledGradient: [Scalar], argmax: [Int], steps T: Int, batch B: Int, features F: Int
    ) -> [Scalar] {
        precondition(pooledGradient.count == B * F && argmax.count == B * F, "pooling expects a [B, F] gradient")
        var gradient = [Scalar](repeating: 0, count: T * B * F)           // (T, B, F)
        for b in 0..<B {
            for f in 0..<F { gradient[(argmax[b * F + f] * B + b) * F + f] = pooledGradient[b * F + f] }
        }
        return gradient
    }
}
