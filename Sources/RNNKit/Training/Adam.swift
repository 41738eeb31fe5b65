// Adam and AdamW with PyTorch's update rules (torch.optim.Adam, torch.optim.AdamW), step t ≥ 1:
//   Adam:  g = ∇ + λ·p                 (L2 weight decay folded into the gradient)
//   AdamW: p = p·(1 − lr·λ)            (decoupled weight decay, before the Adam step)
//   m = m + (1 − β1)·(g − m)           (lerp, as PyTorch computes it)
//   v = β2·v + (1 − β2)·g²
//   v̂max = max(v̂max, v)                (AMSGrad only; then v̂max replaces v below)
//   p = p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)

/// Adam (Kingma & Ba 2015) with optional weight decay and AMSGrad, exactly as `torch.optim.Adam`
/// (L2 weight decay folded into the gradient) or, with `decoupledWeightDecay`, as
/// `torch.optim.AdamW` (see ``AdamW``).
///
/// State: `exp_avg` `[P]`, `exp_avg_sq` `[P]`, and `max_exp_avg_sq` `[P]` with AMSGrad.
public class Adam<Scalar: RNNScalar>: Optimizer {
    /// Learning rate `lr` (default 0.001).
    public var learningRate: Double
    /// Decay rates `(β1, β2)` of the moment estimates (default `(0.9, 0.999)`).
    public let betas: (Double, Double)
    /// Term `ε` added to the denominator (default 1e-8).
    public let epsilon: Double
    /// Weight decay `λ` (default 0 for Adam, 0.01 for ``AdamW``).
    public let weightDecay: Double
    /// Whether the weight decay is decoupled (AdamW: `p = p·(1 − lr·λ)` before the step) rather
    /// than an L2 penalty added to the gradient (default `false`; `true` for ``AdamW``).
    public let decoupledWeightDecay: Bool
    /// Whether to use the AMSGrad variant (default `false`).
    public let amsgrad: Bool
    /// Completed steps `t`.
    public var stepCount = 0
    private var state: OptimizerStateBuffers<Scalar>

    /// Creates the optimizer; defaults are PyTorch's `Adam`.
    /// - Throws: ``RNNKitError`` for a negative learning rate, ε or weight decay, or a β outside [0, 1).
    public init(learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), epsilon: Double = 1e-8,
                weightDecay: Double = 0, decoupledWeightDecay: Bool = false, amsgrad: Bool = false) throws {
        try requireHyperparameter("learning rate", learningRate, "≥ 0") { $0 >= 0 }
        try requireHyperparameter("beta1", betas.0, "in [0, 1)") { $0 >= 0 && $0 < 1 }
        try requireHyperparameter("beta2", betas.1, "in [0, 1)") { $0 >= 0 && $0 < 1 }
        try requireHyperparameter("epsilon", epsilon, "≥ 0") { $0 >= 0 }
        try requireHyperparameter("weight decay", weightDecay, "≥ 0") { $0 >= 0 }
        self.learningRate = learningRate
        self.betas = betas
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
        self.amsgrad = amsgrad
        self.state = OptimizerStateBuffers(names: amsgrad ? ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] : ["exp_avg", "exp_avg_sq"])
    }

    // Specialised: called through `any Optimizer<Float>`, the generic body would run unspecialised.
    @_specialize(where Scalar == Float)
    public final func step(_ groups: [any ParameterContainer<Scalar>]) throws {
        let counts = try state.beginStep(groups)
        stepCount += 1
        // The scalar factors are computed in Double, as PyTorch computes them in Python floats.
        let (beta1, beta2) = betas
        let biasCorrection1 = 1 - pow(beta1, Double(stepCount))
        let biasCorrection2 = 1 - pow(beta2, Double(stepCount))
        let stepSize = Scalar(learningRate / biasCorrection1)
        let biasCorrection2Root = Scalar(biasCorrection2.squareRoot())
        let shrink = Scalar(1 - learningRate * weightDecay)
        let decay = Scalar(weightDecay), eps = Scalar(epsilon)
        let firstWeight = Scalar(1 - beta1), b2 = Scalar(beta2), secondWeight = Scalar(1 - beta2)
        let (decays, decoupled, amsgrad) = (weightDecay != 0, decoupledWeightDecay, amsgrad)
        let total = counts.reduce(0, +)
        var firstMoment = state.take("exp_avg", count: total)                               // [P] m
        var secondMoment = state.take("exp_avg_sq", count: total)                           // [P] v
        var maxSecondMoment = amsgrad ? state.take("max_exp_avg_sq", count: total) : []     // [P] or empty
        firstMoment.withUnsafeMutableBufferPointer { m in
            secondMoment.withUnsafeMutableBufferPointer { v in
                maxSecondMoment.withUnsafeMutableBufferPointer { vMax in
                    forEachGroup(groups) { p, gradients, offset, elements in
                        for i in elements {
                            let s = offset + i
                            var g = gradients[i]
                            if decays {
                                if decoupled { p[i] = p[i] * shrink } else { g = g + decay * p[i] }
                            }
                            m[s] = lerp(m[s], g, firstWeight)
                            v[s] = v[s] * b2 + secondWeight * g * g
                            var denominatorSquare = v[s]
                            if amsgrad {
                                vMax[s] = max(vMax[s], v[s])
                                denominatorSquare = vMax[s]
                            }
                            let denominator = denominatorSquare.squareRoot() / biasCorrection2Root + eps
                            p[i] = p[i] - stepSize * m[s] / denominator
                        }
                    }
                }
            }
        }
        state.put("exp_avg", firstMoment)
        state.put("exp_avg_sq", secondMoment)
        if amsgrad { state.put("max_exp_avg_sq", maxSecondMoment) }
        state.adopt(groupCounts: counts)
    }

    public final func stateTensors() -> [String: [Scalar]] { state.tensors() }
    public final func loadState(_ tensors: [String: [Scalar]]) throws { try state.load(tensors) }
    public final func resetState() { state.removeAll(); stepCount = 0 }
}

/// AdamW (Loshchilov & Hutter 2019): ``Adam`` with decoupled weight decay, exactly as
/// `torch.optim.AdamW`: before each Adam step the parameters shrink by `p = p·(1 − lr·λ)`;
/// the gradient is not changed. Only the defaults differ from ``Adam``.
public final class AdamW<Scalar: RNNScalar>: Adam<Scalar> {
    /// Creates the optimizer; defaults are PyTorch's `AdamW` (weight decay 0.01).
    /// - Throws: ``RNNKitError`` for a negative learning rate, ε or weight decay, or a β outside [0, 1).
    public init(learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), epsilon: Double = 1e-8,
                weightDecay: Double = 1e-2, amsgrad: Bool = false) throws {
        try super.init(learningRate: learningRate, betas: betas, epsilon: epsilon, weightDecay: weightDecay,
                       decoupledWeightDecay: true, amsgrad: amsgrad)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
