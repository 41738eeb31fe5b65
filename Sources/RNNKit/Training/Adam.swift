// Adam and AdamW with PyTorch's update rules (torch.optim.Adam, torch.optim.AdamW), step t ≥ 1:
//   Adam:  g = ∇ + λ·p                 (L2 weight decay folded into the gradient)
//   AdamW: p = p·(1 − lr·λ)            (decoupled weight decay, before the Adam step)
//   m = m + (1 − β1)·(g − m)           (lerp, as PyTorch computes it)
//   v = β2·v + (1 − β2)·g²
//   v̂max = max(v̂max, v)                (AMSGrad only; then v̂max replaces v below)
//   p = p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)

/// Adam (Kingma & Ba 2015) with optional L2 weight decay and AMSGrad, exactly as `torch.optim.Adam`.
///
/// State per group: `exp_avg` `[P]`, `exp_avg_sq` `[P]`, and `max_exp_avg_sq` `[P]` with AMSGrad.
public final class Adam<Scalar: RNNScalar>: Optimizer {
    /// Learning rate `lr` (default 0.001).
    public var learningRate: Double
    /// Decay rates `(β1, β2)` of the moment estimates (default `(0.9, 0.999)`).
    public let betas: (Double, Double)
    /// Term `ε` added to the denominator (default 1e-8).
    public let epsilon: Double
    /// L2 penalty `λ` added to the gradient (default 0).
    public let weightDecay: Double
    /// Whether to use the AMSGrad variant (default `false`).
    public let amsgrad: Bool
    /// Completed steps `t`.
    public var stepCount = 0
    private var state: OptimizerStateBuffers<Scalar>

    /// Creates the optimizer; defaults are PyTorch's.
    /// - Throws: ``RNNKitError`` for a negative learning rate, ε or weight decay, or a β outside [0, 1).
    public init(learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), epsilon: Double = 1e-8,
                weightDecay: Double = 0, amsgrad: Bool = false) throws {
        try validateAdamHyperparameters(learningRate, betas, epsilon, weightDecay)
        self.learningRate = learningRate
        self.betas = betas
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.amsgrad = amsgrad
        self.state = OptimizerStateBuffers(names: adamStateNames(amsgrad: amsgrad))
    }

    // Specialised: called through `any Optimizer<Float>`, the generic body would run unspecialised.
    @_specialize(where Scalar == Float)
    public func step(_ groups: [any ParameterContainer<Scalar>]) throws {
        try validateGroups(groups)
        try state.validate(groupCounts: groups.map { $0.parameters.count })
        stepCount += 1
        for (index, group) in groups.enumerated() {
            adamUpdate(group: group, index: index, state: &state, step: stepCount, learningRate: learningRate,
                       betas: betas, epsilon: epsilon, weightDecay: weightDecay, decoupled: false, amsgrad: amsgrad)
        }
    }

    public func stateTensors() -> [String: [Scalar]] { state.tensors() }
    public func loadState(_ tensors: [String: [Scalar]]) throws { try state.load(tensors) }
    public func resetState() { state.removeAll(); stepCount = 0 }
}

/// AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay, exactly as `torch.optim.AdamW`.
///
/// Before each Adam step the parameters shrink by `p = p·(1 − lr·λ)`; the gradient is not changed.
/// State per group as for ``Adam``.
public final class AdamW<Scalar: RNNScalar>: Optimizer {
    /// Learning rate `lr` (default 0.001).
    public var learningRate: Double
    /// Decay rates `(β1, β2)` of the moment estimates (default `(0.9, 0.999)`).
    public let betas: (Double, Double)
    /// Term `ε` added to the denominator (default 1e-8).
    public let epsilon: Double
    /// Decoupled weight decay `λ` (default 0.01, as PyTorch).
    public let weightDecay: Double
    /// Whether to use the AMSGrad variant (default `false`).
    public let amsgrad: Bool
    /// Completed steps `t`.
    public var stepCount = 0
    private var state: OptimizerStateBuffers<Scalar>

    /// Creates the optimizer; defaults are PyTorch's.
    /// - Throws: ``RNNKitError`` for a negative learning rate, ε or weight decay, or a β outside [0, 1).
    public init(learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), epsilon: Double = 1e-8,
                weightDecay: Double = 1e-2, amsgrad: Bool = false) throws {
        try validateAdamHyperparameters(learningRate, betas, epsilon, weightDecay)
        self.learningRate = learningRate
        self.betas = betas
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.amsgrad = amsgrad
        self.state = OptimizerStateBuffers(names: adamStateNames(amsgrad: amsgrad))
    }

    // Specialised: called through `any Optimizer<Float>`, the generic body would run unspecialised.
    @_specialize(where Scalar == Float)
    public func step(_ groups: [any ParameterContainer<Scalar>]) throws {
        try validateGroups(groups)
        try state.validate(groupCounts: groups.map { $0.parameters.count })
        stepCount += 1
        for (index, group) in groups.enumerated() {
            adamUpdate(group: group, index: index, state: &state, step: stepCount, learningRate: learningRate,
                       betas: betas, epsilon: epsilon, weightDecay: weightDecay, decoupled: true, amsgrad: amsgrad)
        }
    }

    public func stateTensors() -> [String: [Scalar]] { state.tensors() }
    public func loadState(_ tensors: [String: [Scalar]]) throws { try state.load(tensors) }
    public func resetState() { state.removeAll(); stepCount = 0 }
}

private func adamStateNames(amsgrad: Bool) -> [String] {
    amsgrad ? ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] : ["exp_avg", "exp_avg_sq"]
}

private func validateAdamHyperparameters(
    _ learningRate: Double, _ betas: (Double, Double), _ epsilon: Double, _ weightDecay: Double
) throws {
    try requireHyperparameter("learning rate", learningRate, "≥ 0") { $0 >= 0 }
    try requireHyperparameter("beta1", betas.0, "in [0, 1)") { $0 >= 0 && $0 < 1 }
    try requireHyperparameter("beta2", betas.1, "in [0, 1)") { $0 >= 0 && $0 < 1 }
    try requireHyperparameter("epsilon", epsilon, "≥ 0") { $0 >= 0 }
    try requireHyperparameter("weight decay", weightDecay, "≥ 0") { $0 >= 0 }
}

/// One Adam/AdamW update of one group at step `step` (≥ 1), following `_single_tensor_adam`.
private func adamUpdate<Scalar: RNNScalar>(
    group: any ParameterContainer<Scalar>, index: Int, state: inout OptimizerStateBuffers<Scalar>,
    step: Int, learningRate: Double, betas: (Double, Double), epsilon: Double, weightDecay: Double,
    decoupled: Bool, amsgrad: Bool
) {
    let gradients = group.gradients                                                     // [P]
    let count = gradients.count
    var firstMoment = state.take("exp_avg", group: index) ?? [Scalar](repeating: 0, count: count)      // [P] m
    var secondMoment = state.take("exp_avg_sq", group: index) ?? [Scalar](repeating: 0, count: count)  // [P] v
    var maxSecondMoment = amsgrad                                                        // [P] or empty
        ? state.take("max_exp_avg_sq", group: index) ?? [Scalar](repeating: 0, count: count) : []

    // The scalar factors are computed in Double, as PyTorch computes them in Python floats.
    let (beta1, beta2) = betas
    let biasCorrection1 = 1 - pow(beta1, Double(step))
    let biasCorrection2 = 1 - pow(beta2, Double(step))
    let stepSize = Scalar(learningRate / biasCorrection1)
    let biasCorrection2Root = Scalar(biasCorrection2.squareRoot())
    let shrink = Scalar(1 - learningRate * weightDecay)
    let decay = Scalar(weightDecay), eps = Scalar(epsilon)
    let firstWeight = Scalar(1 - beta1), b2 = Scalar(beta2), secondWeight = Scalar(1 - beta2)

    group.parameters.withUnsafeMutableBufferPointer { p in
        firstMoment.withUnsafeMutableBufferPointer { m in
            secondMoment.withUnsafeMutableBufferPointer { v in
                maxSecondMoment.withUnsafeMutableBufferPointer { vMax in
                    for i in 0..<count {
                        var g = gradients[i]
                        if weightDecay != 0 {
                            if decoupled { p[i] = p[i] * shrink } else { g = g + decay * p[i] }
                        }
                        m[i] = lerp(m[i], g, firstWeight)
                        v[i] = v[i] * b2 + secondWeight * g * g
                        var denominatorSquare = v[i]
                        if amsgrad {
                            vMax[i] = max(vMax[i], v[i])
                            denominatorSquare = vMax[i]
                        }
                        let denominator = denominatorSquare.squareRoot() / biasCorrection2Root + eps
                        p[i] = p[i] - stepSize * m[i] / denominator
                    }
                }
            }
        }
    }
    state.put("exp_avg", group: index, firstMoment)
    state.put("exp_avg_sq", group: index, secondMoment)
    if amsgrad { state.put("max_exp_avg_sq", group: index, maxSecondMoment) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
