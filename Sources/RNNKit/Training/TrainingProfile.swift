// Where the wall time of a training run goes, phase by phase: `rnnkit train --profile` prints it.
// Each phase is timed around the code that does it (one clock read at each end, tens of
// nanoseconds against milliseconds of work), so the figures are those of a real run.

/// Wall seconds of a training run by phase, summed over every call.
package final class TrainingProfile {
    /// A part of a run; a step is the first eight, the rest happen between steps.
    package enum Phase: String, CaseIterable, Sendable {
        /// Cutting the minibatch out of the data: ids, targets, lengths.
        case data
        /// The embedding lookup and its gradient (or the first layer's lookup table's gradient).
        case embedding
        /// The recurrent stack's forward.
        case recurrentForward = "recurrent forward"
        /// The recurrent stack's backward, weight gradients included.
        case recurrentBackward = "recurrent backward"
        /// The head (and the dropout before it), forward and backward.
        case head
        /// The loss and its gradient.
        case loss
        /// The gradient norm, the finiteness check and clipping.
        case clipping
        /// The optimizer's update.
        case optimizer
        /// Validation passes.
        case validation
        /// Sampled text at validations.
        case sampling
        /// metrics.csv and loss.svg.
        case logging
        /// Checkpoint writes.
        case checkpoint
    }

    /// Seconds per phase so far.
    package private(set) var secondsByPhase: [Phase: Double] = [:]

    package init() {}

    /// Adds the time since `start` to `phase`.
    @inline(__always)
    package func add(_ phase: Phase, since start: ContinuousClock.Instant) {
        secondsByPhase[phase, default: 0] += seconds(start.duration(to: .now))
    }

    /// Runs `body`, adding its wall time to `phase`.
    @inline(__always)
    package func measure<Result>(_ phase: Phase, _ body: () throws -> Result) rethrows -> Result {
        let start = ContinuousClock.now
        defer { add(phase, since: start) }
        return try body()
    }
}

/// `body`, timed as `phase` when there is a profile.
@inline(__always)
package func profiled<Result>(_ profile: TrainingProfile?, _ phase: TrainingProfile.Phase, _ body: () throws -> Result) rethrows -> Result {
    guard let profile else { return try body() }
    return try profile.measure(phase, body)
}
