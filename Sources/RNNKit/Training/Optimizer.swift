// The optimizer abstraction and the per-group state every optimizer keeps.
// An optimizer is a flat loop over each group's parameter and gradient buffers;
// its state (momentum, moment estimates) is one flat buffer per group and name.

/// A first-order optimizer with PyTorch's update rule, stepping a list of parameter groups.
///
/// Typical use, once per minibatch:
/// ```swift
/// optimizer.learningRate = schedule.learningRate(atStep: optimizer.stepCount)
/// try optimizer.step([network, head])
/// network.zeroGradients(); head.zeroGradients()
/// ```
/// Group `i` of the list is keyed by `i` in the optimizer's state, so the same containers must be
/// passed in the same order each step. Every group is stepped on every call and shares one step
/// counter (PyTorch keeps one per tensor; they agree when every tensor gets a gradient each step).
public protocol Optimizer<Scalar>: AnyObject {
    /// The element type of the parameters.
    associatedtype Scalar: RNNScalar
    /// The learning rate used by the next ``step(_:)``; set it from a ``LearningRateSchedule``.
    var learningRate: Double { get set }
    /// The number of completed steps (PyTorch's `state["step"]`); saved and restored with checkpoints.
    var stepCount: Int { get set }
    /// Updates every group's parameters from its gradients and advances ``stepCount`` by one.
    /// Gradients are read, not cleared.
    /// - Throws: ``RNNKitError`` if a group's gradient count differs from its parameter count, or a
    ///   group's size differs from the state kept for it; no parameter is changed then.
    func step(_ groups: [any ParameterContainer<Scalar>]) throws
    /// The per-group state as named flat tensors, keyed `"<group>.<name>"` with PyTorch's state names
    /// (for example `"0.exp_avg"`, `"1.momentum_buffer"`); each has its group's parameter count.
    func stateTensors() -> [String: [Scalar]]
    /// Replaces the whole per-group state with `tensors` (as returned by ``stateTensors()``).
    /// Set ``stepCount`` separately. Sizes are checked against the groups at the next step.
    /// - Throws: ``RNNKitError`` for a key that is malformed or names state this optimizer does not keep;
    ///   the state is unchanged then.
    func loadState(_ tensors: [String: [Scalar]]) throws
    /// Forgets all per-group state and sets ``stepCount`` to 0.
    func resetState()
}

extension Optimizer {
    /// Steps one parameter group held in two arrays (group index 0).
    /// - Parameters:
    ///   - parameters: `[P]`, updated in place.
    ///   - gradients: `[P]`.
    public func step(parameters: inout [Scalar], gradients: [Scalar]) throws {
        let group = ParameterBuffer<Scalar>(parameters: [], gradients: gradients)
        swap(&group.parameters, &parameters)
        defer { swap(&group.parameters, &parameters) }
        try step([group])
    }
}

/// Named flat state buffers per parameter group (`"exp_avg"` of group 0, …), with the
/// bookkeeping every optimizer shares: size checks, checkpoint export and import.
struct OptimizerStateBuffers<Scalar: RNNScalar> {
    /// The state names this optimizer may keep, in PyTorch's spelling.
    let names: [String]
    /// `buffers[name][group]`, each `[P_group]`.
    private var buffers: [String: [Int: [Scalar]]] = [:]

    init(names: [String]) { self.names = names }

    /// Throws if a buffer kept for group `i` does not have `groupCounts[i]` elements.
    func validate(groupCounts: [Int]) throws {
        for (name, byGroup) in buffers {
            for (group, buffer) in byGroup where group < groupCounts.count && buffer.count != groupCounts[group] {
                throw RNNKitError(.shapeMismatch,
                    "optimizer state '\(group).\(name)' has \(buffer.count) elements but parameter group \(group) has \(groupCounts[group]); pass the same groups in the same order every step")
            }
        }
    }

    /// Removes and returns the buffer `name` of `group` (so the caller holds the only reference), or `nil`.
    mutating func take(_ name: String, group: Int) -> [Scalar]? {
        buffers[name]?.removeValue(forKey: group)
    }

    /// Stores `buffer` as `name` of `group`.
    mutating func put(_ name: String, group: Int, _ buffer: [Scalar]) {
        buffers[name, default: [:]][group] = buffer
    }

    /// Every buffer, keyed `"<group>.<name>"`.
    func tensors() -> [String: [Scalar]] {
        var result: [String: [Scalar]] = [:]
        for (name, byGroup) in buffers {
            for (group, buffer) in byGroup { result["\(group).\(name)"] = buffer }
        }
        return result
    }

    /// Replaces every buffer with `tensors`; validates all keys before changing anything.
    mutating func load(_ tensors: [String: [Scalar]]) throws {
        var loaded: [String: [Int: [Scalar]]] = [:]
        for (key, buffer) in tensors {
            let parts = key.split(separator: ".", maxSplits: 1)
            guard parts.count == 2, let group = Int(parts[0]), group >= 0 else {
                throw RNNKitError(.invalidArgument,
                    "optimizer state key '\(key)' is malformed; expected '<group index>.<name>', for example '0.\(names.first ?? "state")'")
            }
            let name = String(parts[1])
            guard names.contains(name) else {
                throw RNNKitError(.invalidArgument,
                    "optimizer state '\(key)' is not kept by this optimizer; expected names \(names.joined(separator: ", "))")
            }
            loaded[name, default: [:]][group] = buffer
        }
        buffers = loaded
    }

    mutating func removeAll() { buffers = [:] }
}

/// Throws unless `value` satisfies `isValid`, naming the hyperparameter and the accepted range.
func requireHyperparameter(_ name: String, _ value: Double, _ expected: String, _ isValid: (Double) -> Bool) throws {
    guard value.isFinite, isValid(value) else {
        throw RNNKitError(.invalidArgument, "invalid \(name) \(value); expected \(expected)")
    }
}

/// PyTorch's CPU `lerp`: `start + weight·(end − start)`, evaluated from the nearer end for accuracy.
@inline(__always)
func lerp<Scalar: RNNScalar>(_ start: Scalar, _ end: Scalar, _ weight: Scalar) -> Scalar {
    weight < 0.5 ? start + weight * (end - start) : end - (end - start) * (1 - weight)
}
