// Stochastic gradient descent with PyTorch's update rule (torch.optim.SGD):
//   g = ∇ + λ·p                                   (weight decay λ)
//   b = g on the first step, else μ·b + (1 − τ)·g (momentum μ, dampening τ)
//   g = g + μ·b if Nesterov, else b
//   p = p − lr·g

/// Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay,
/// exactly as `torch.optim.SGD`.
///
/// State: `momentum_buffer` `[P]` (only when `momentum > 0`, created on the first step).
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
        let counts = try state.beginStep(groups)
        stepCount += 1
        let lr = Scalar(learningRate), mu = Scalar(momentum), decay = Scalar(weightDecay)
        let keep = Scalar(1 - dampening)
        let useMomentum = momentum != 0
        let isFirst = useMomentum && !state.has("momentum_buffer")
        var buffer = useMomentum ? state.take("momentum_buffer", count: counts.reduce(0, +)) : []   // [P] or empty
        buffer.withUnsafeMutableBufferPointer { b in
            forEachGroup(groups) { p, gradients, offset, elements in
                for i in elements {
                    var g = gradients[i]
                    if weightDecay != 0 { g = g + decay * p[i] }
                    if useMomentum {
                        let s = offset + i
                        b[s] = isFirst ? g : b[s] * mu + keep * g
                        g = nesterov ? g + mu * b[s] : b[s]
                    }
                    p[i] = p[i] - lr * g
                }
            }
        }
        if useMomentum { state.put("momentum_buffer", buffer) }
        state.adopt(groupCounts: counts)
    }

    public func stateTensors() -> [String: [Scalar]] { state.tensors() }
    public func loadState(_ tensors: [String: [Scalar]]) throws { try state.load(tensors) }
    public func resetState() { state.removeAll(); stepCount = 0 }
}
