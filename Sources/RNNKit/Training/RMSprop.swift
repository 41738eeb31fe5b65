// RMSprop with PyTorch's update rule (torch.optim.RMSprop):
//   g = ∇ + λ·p                                    (weight decay λ)
//   s = α·s + (1 − α)·g²                           (square_avg)
//   centered: a = a + (1 − α)·(g − a) (grad_avg);  d = √(s − a²) + ε
//   otherwise:                                      d = √s + ε
//   momentum μ > 0: b = μ·b + g / d;  p = p − lr·b
//   otherwise:                         p = p − lr·g / d

/// RMSprop (Hinton's lecture 6e; centered variant of Graves 2013), exactly as `torch.optim.RMSprop`.
///
/// State: `square_avg` `[P]`; `momentum_buffer` `[P]` when `momentum > 0`;
/// `grad_avg` `[P]` when centered. All start at zero.
public final class RMSprop<Scalar: RNNScalar>: Optimizer {
    /// Learning rate `lr` (default 0.01, as PyTorch).
    public var learningRate: Double
    /// Smoothing constant `α` of the squared-gradient average (default 0.99).
    public let alpha: Double
    /// Term `ε` added to the denominator (default 1e-8).
    public let epsilon: Double
    /// L2 penalty `λ` added to the gradient (default 0).
    public let weightDecay: Double
    /// Momentum factor `μ` (default 0).
    public let momentum: Double
    /// Whether to normalise by the estimated variance instead of the raw second moment (default `false`).
    public let centered: Bool
    /// Completed steps.
    public var stepCount = 0
    private var state: OptimizerStateBuffers<Scalar>

    /// Creates the optimizer; defaults are PyTorch's.
    /// - Throws: ``RNNKitError`` for a negative learning rate, α, ε, weight decay or momentum.
    public init(learningRate: Double = 1e-2, alpha: Double = 0.99, epsilon: Double = 1e-8,
                weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false) throws {
        try requireHyperparameter("learning rate", learningRate, "≥ 0") { $0 >= 0 }
        try requireHyperparameter("alpha", alpha, "≥ 0") { $0 >= 0 }
        try requireHyperparameter("epsilon", epsilon, "≥ 0") { $0 >= 0 }
        try requireHyperparameter("weight decay", weightDecay, "≥ 0") { $0 >= 0 }
        try requireHyperparameter("momentum", momentum, "≥ 0") { $0 >= 0 }
        self.learningRate = learningRate
        self.alpha = alpha
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.momentum = momentum
        self.centered = centered
        var names = ["square_avg"]
        if momentum > 0 { names.append("momentum_buffer") }
        if centered { names.append("grad_avg") }
        self.state = OptimizerStateBuffers(names: names)
    }

    // Specialised: called through `any Optimizer<Float>`, the generic body would run unspecialised.
    @_specialize(where Scalar == Float)
    public func step(_ groups: [any ParameterContainer<Scalar>]) throws {
        let counts = try state.beginStep(groups)
        stepCount += 1
        let lr = Scalar(learningRate), a = Scalar(alpha), averageWeight = Scalar(1 - alpha)
        let eps = Scalar(epsilon), decay = Scalar(weightDecay), mu = Scalar(momentum)
        let useMomentum = momentum > 0
        let total = counts.reduce(0, +)
        var squareAverage = state.take("square_avg", count: total)                              // [P]
        var momentumBuffer = useMomentum ? state.take("momentum_buffer", count: total) : []     // [P] or empty
        var gradientAverage = centered ? state.take("grad_avg", count: total) : []              // [P] or empty
        squareAverage.withUnsafeMutableBufferPointer { sq in
            momentumBuffer.withUnsafeMutableBufferPointer { b in
                gradientAverage.withUnsafeMutableBufferPointer { ga in
                    forEachGroup(groups) { p, gradients, offset, elements in
                        for i in elements {
                            let s = offset + i
                            var g = gradients[i]
                            if weightDecay != 0 { g = g + decay * p[i] }
                            sq[s] = sq[s] * a + averageWeight * g * g
                            var denominator: Scalar
                            if centered {
                                ga[s] = lerp(ga[s], g, averageWeight)
                                denominator = (sq[s] - ga[s] * ga[s]).squareRoot()
                            } else {
                                denominator = sq[s].squareRoot()
                            }
                            denominator += eps
                            if useMomentum {
                                b[s] = b[s] * mu + g / denominator
                                p[i] = p[i] - lr * b[s]
                            } else {
                                p[i] = p[i] - lr * g / denominator
                            }
                        }
                    }
                }
            }
        }
        state.put("square_avg", squareAverage)
        if useMomentum { state.put("momentum_buffer", momentumBuffer) }
        if centered { state.put("grad_avg", gradientAverage) }
        state.adopt(groupCounts: counts)
    }

    public func stateTensors() -> [String: [Scalar]] { state.tensors() }
    public func loadState(_ tensors: [String: [Scalar]]) throws { try state.load(tensors) }
    public func resetState() { state.removeAll(); stepCount = 0 }
}
