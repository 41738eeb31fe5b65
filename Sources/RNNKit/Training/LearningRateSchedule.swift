// Learning-rate schedules as pure functions of the step number: the same step always
// gives the same rate, so resuming from a checkpoint needs only the step counter.
// `step` counts completed optimizer steps (0 before the first update), like PyTorch's
// `last_epoch` when the scheduler is stepped once per optimizer step.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A learning rate as a function of the optimizer step.
///
/// Use it before each step: `optimizer.learningRate = schedule.learningRate(atStep: optimizer.stepCount)`.
public protocol LearningRateSchedule: Sendable {
    /// The learning rate for the update that follows `step` completed steps (`step ≥ 0`).
    func learningRate(atStep step: Int) -> Double
}

/// The same learning rate at every step.
public struct ConstantLearningRate: LearningRateSchedule {
    /// The rate returned for every step.
    public var learningRate: Double
    /// Creates a constant schedule of `learningRate`.
    public init(_ learningRate: Double) { self.learningRate = learningRate }
    public func learningRate(atStep step: Int) -> Double { learningRate }
}

/// Step decay, like `torch.optim.lr_scheduler.StepLR`: `base · γ^⌊step / stepSize⌋`.
public struct StepDecay: LearningRateSchedule {
    /// The rate at step 0.
    public var baseLearningRate: Double
    /// Steps between decays (> 0).
    public var stepSize: Int
    /// Multiplicative factor per decay (default 0.1, as PyTorch).
    public var gamma: Double

    /// Creates the schedule.
    /// - Throws: ``RNNKitError`` if `stepSize` is not positive.
    public init(baseLearningRate: Double, stepSize: Int, gamma: Double = 0.1) throws {
        guard stepSize > 0 else {
            throw RNNKitError(.invalidArgument, "step decay needs a step size ≥ 1, got \(stepSize)")
        }
        self.baseLearningRate = baseLearningRate
        self.stepSize = stepSize
        self.gamma = gamma
    }

    public func learningRate(atStep step: Int) -> Double {
        baseLearningRate * pow(gamma, Double(max(step, 0) / stepSize))
    }
}

/// Cosine annealing without restarts, like `torch.optim.lr_scheduler.CosineAnnealingLR` (closed form):
/// `η_min + (base − η_min) · (1 + cos(π · step / T_max)) / 2`.
///
/// The rate falls from `base` at step 0 to `η_min` at step `T_max`. Past `T_max` the rate stays
/// at `η_min` (PyTorch's formula would rise again along the cosine; train for `T_max` steps or
/// compose schedules to avoid depending on that).
public struct CosineAnnealing: LearningRateSchedule {
    /// The rate at step 0.
    public var baseLearningRate: Double
    /// Steps from `base` to `η_min` (> 0).
    public var maximumSteps: Int
    /// The final rate `η_min` (default 0).
    public var minimumLearningRate: Double

    /// Creates the schedule.
    /// - Throws: ``RNNKitError`` if `maximumSteps` is not positive.
    public init(baseLearningRate: Double, maximumSteps: Int, minimumLearningRate: Double = 0) throws {
        guard maximumSteps > 0 else {
            throw RNNKitError(.invalidArgument, "cosine annealing needs T_max ≥ 1 steps, got \(maximumSteps)")
        }
        self.baseLearningRate = baseLearningRate
        self.maximumSteps = maximumSteps
        self.minimumLearningRate = minimumLearningRate
    }

    public func learningRate(atStep step: Int) -> Double {
        let progress = Double(min(max(step, 0), maximumSteps)) / Double(maximumSteps)
        return minimumLearningRate + (baseLearningRate - minimumLearningRate) * (1 + cos(Double.pi * progress)) / 2
    }
}

/// Linear warm-up followed by another schedule.
///
/// For `step < warmupSteps` the rate is `after(0) · (f₀ + (1 − f₀) · step / warmupSteps)`, rising
/// linearly from `f₀ · after(0)` towards `after(0)` (PyTorch's `LinearLR(start_factor=f₀, total_iters=warmupSteps)`).
/// From then on it is `after(step − warmupSteps)`, so the following schedule starts from its own
/// step 0 (PyTorch's `SequentialLR(…, milestones=[warmupSteps])`).
public struct LinearWarmup: LearningRateSchedule {
    /// Steps of warm-up (≥ 0; 0 means no warm-up).
    public var warmupSteps: Int
    /// The fraction `f₀` of the target rate at step 0 (default 0, as in the usual
    /// "linear warm-up from zero"; PyTorch's `LinearLR` default is 1/3).
    public var startFactor: Double
    /// The schedule that takes over after warm-up.
    public var after: any LearningRateSchedule

    /// Warm-up to a constant `learningRate`.
    /// - Throws: ``RNNKitError`` if `warmupSteps` is negative or `startFactor` is outside [0, 1].
    public init(warmupSteps: Int, learningRate: Double, startFactor: Double = 0) throws {
        try self.init(warmupSteps: warmupSteps, startFactor: startFactor, then: ConstantLearningRate(learningRate))
    }

    /// Warm-up, then `schedule` (counted from the end of warm-up).
    /// - Throws: ``RNNKitError`` if `warmupSteps` is negative or `startFactor` is outside [0, 1].
    public init(warmupSteps: Int, startFactor: Double = 0, then schedule: any LearningRateSchedule) throws {
        guard warmupSteps >= 0 else {
            throw RNNKitError(.invalidArgument, "warm-up needs 0 or more steps, got \(warmupSteps)")
        }
        guard startFactor >= 0, startFactor <= 1 else {
            throw RNNKitError(.invalidArgument, "warm-up start factor \(startFactor) is out of range; expected 0…1")
        }
        self.warmupSteps = warmupSteps
        self.startFactor = startFactor
        self.after = schedule
    }

    public func learningRate(atStep step: Int) -> Double {
        guard step < warmupSteps else { return after.learningRate(atStep: step - warmupSteps) }
        let fraction = Double(max(step, 0)) / Double(warmupSteps)
        return after.learningRate(atStep: 0) * (startFactor + (1 - startFactor) * fraction)
    }
}
