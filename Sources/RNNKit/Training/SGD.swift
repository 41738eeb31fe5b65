// Stochastic gradient descent with PyTorch's update rule (torch.optim.SGD):
//   g = ∇ + λ·p                                   (weight decay λ)
//   b = g on the first step, else μ·b + (1 − τ)·g (momentum μ, dampening τ)
//   g = g + μ·b if Nesterov, else b
//   p = p − lr·g

/// Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay,
/// exactly as `torch.optim.SGD`.
///
/// State per group: `momentum_buffer` `[P]` (only when `momentum > 0`, created on the first step).
public final class SGD<Scalar: RNNScalar>: Optimizer {
    /// Learning rate `lr`.
    public var learningRate: Double
    /// Momentum factor `μ` (default 0: plain SGD).
    public let momentum: Double
    /// Dampening `τ` of the momentum update (default 0).
    public let dampening: Double
    /// Whether to use Nesterov momentum (default `false`; needs `momentum > 0` and `dampening == 0`).
    public let nesterov: Bool
    /// L2 penalty `λ` added to the gradient (default 0).
    public let weightDecay: Double
    /// Completed steps.
    public var stepCount = 0
    private var state = OptimizerStateBuffers<Scalar>(names: ["momentum_buffer"])

    /// Creates the optimizer; defaults are PyTorch's.
    /// - Throws: ``RNNKitError`` for a negative learning rate, momentum, dampening or weight decay, or
    ///   Nesterov without momentum or with dampening (PyTorch's rules).
    public init(learningRate: Double, momentum: Double = 0, dampening: Double = 0,
                nesterov: Bool = false, weightDecay: Double = 0) throws {
        try requireHyperparameter("learning rate", learningRate, "≥ 0") { $0 >= 0 }
        try requireHyperparameter("momentum", momentum, "≥ 0") { $0 >= 0 }
        try requireHyperparameter("dampening", dampening, "≥ 0") { $0 >= 0 }
        try requireHyperparameter("weight decay", weightDecay, "≥ 0") { $0 >= 0 }
        if nesterov, momentum <= 0 || dampening != 0 {
            throw RNNKitError(.invalidArgument,
                "Nesterov momentum requires momentum > 0 and dampening 0, got momentum \(momentum) and dampening \(dampening)")
        }
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }

    // Specialised: called through `any Optimizer<Float>`, the generic body would run unspecialised.
    @_specialize(where Scalar == Float)
    public func step(_ groups: [any ParameterContainer<Scalar>]) throws {
        try validateGroups(groups)
        try state.validate(groupCounts: groups.map { $0.parameters.count })
        stepCount += 1
        let lr = Scalar(learningRate), mu = Scalar(momentum), decay = Scalar(weightDecay)
        let keep = Scalar(1 - dampening)
        for (index, group) in groups.enumerated() {
            let gradients = group.gradients                                   // [P]
            let stored = momentum != 0 ? state.take("momentum_buffer", group: index) : nil
            let isFirst = stored == nil
            var buffer = stored ?? (momentum != 0 ? [Scalar](repeating: 0, count: gradients.count) : [])  // [P] or empty
            group.parameters.withUnsafeMutableBufferPointer { p in
                buffer.withUnsafeMutableBufferPointer { b in
                    for i in 0..<p.count {
                        var g = gradients[i]
                        if weightDecay != 0 { g = g + decay * p[i] }
                        if momentum != 0 {
                            b[i] = isFirst ? g : b[i] * mu + keep * g
                            g = nesterov ? g + mu * b[i] : b[i]
                        }
                        p[i] = p[i] - lr * g
                    }
                }
            }
            if momentum != 0 { state.put("momentum_buffer", group: index, buffer) }
        }
    }

    public func stateTensors() -> [String: [Scalar]] { state.tensors() }
    public func loadState(_ tensors: [String: [Scalar]]) throws { try state.load(tensors) }
    public func resetState() { state.removeAll(); stepCount = 0 }
}
