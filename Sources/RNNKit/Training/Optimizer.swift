// The optimizer abstraction and the state every optimizer keeps.
// An optimizer is a flat loop over each group's parameter and gradient buffers; its state
// (momentum, moment estimates) is one flat buffer per name, laid out like all the parameters.

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

/// The optimizer state: one flat buffer per name (`"exp_avg"`, …) laid out like the parameters
/// of all groups one after another, so an update is one flat loop per group over its slice; with
/// the bookkeeping every optimizer shares: the layout check, checkpoint export and import.
///
/// Exported and imported as one tensor per group and name, `"<group>.<name>"`, each `[P_group]`.
/// A loaded state may be cut into groups differently from the parameters it then steps (a
/// checkpoint of a model whose parameters were grouped another way): only the total must match.
struct OptimizerStateBuffers<Scalar: RNNScalar> {
    /// The state names this optimizer may keep, in PyTorch's spelling.
    let names: [String]
    /// `buffers[name]`: `[Σ P_group]`, the groups' state one after another.
    private var buffers: [String: [Scalar]] = [:]
    /// The parameter count of each group the buffers are cut into: the groups of the last step,
    /// or of the loaded tensors; `nil` while there is no state.
    private var groupCounts: [Int]?
    /// Whether ``groupCounts`` comes from ``load(_:)`` (then only the total must match the groups).
    private var loaded = false

    init(names: [String]) { self.names = names }

    /// Checks a step's `groups` before anything changes — each has as many gradients as
    /// parameters, and the state fits them — and returns their parameter counts.
    func beginStep(_ groups: [any ParameterContainer<Scalar>]) throws -> [Int] {
        try validateGroups(groups)
        let counts = groups.map { $0.parameters.count }
        try validate(groupCounts: counts)
        return counts
    }

    /// Throws unless the state fits groups of `counts` parameters: the same groups as the last
    /// step, or the same total after a load.
    func validate(groupCounts counts: [Int]) throws {
        guard let layout = groupCounts, !buffers.isEmpty else { return }
        let name = buffers.keys.sorted().first!
        if loaded {
            let held = layout.reduce(0, +), needed = counts.reduce(0, +)
            guard held == needed else {
                throw RNNKitError(.shapeMismatch,
                    "optimizer state '\(name)' holds \(held) elements but the parameter groups hold \(needed); load the state of an optimizer of these parameters")
            }
            return
        }
        for group in 0..<max(layout.count, counts.count) where group >= layout.count || group >= counts.count || layout[group] != counts[group] {
            let held = group < layout.count ? "has \(layout[group]) elements" : "does not exist"
            let needed = group < counts.count ? "parameter group \(group) has \(counts[group])" : "there is no parameter group \(group)"
            throw RNNKitError(.shapeMismatch,
                "optimizer state '\(group).\(name)' \(held) but \(needed); pass the same groups in the same order every step")
        }
    }

    /// Whether buffer `name` exists (it is created by the first step that uses it).
    func has(_ name: String) -> Bool { buffers[name] != nil }

    /// Removes and returns buffer `name` (so the caller holds the only reference), or `count`
    /// zeros when there is none.
    mutating func take(_ name: String, count: Int) -> [Scalar] {
        buffers.removeValue(forKey: name) ?? [Scalar](repeating: 0, count: count)
    }

    /// Stores `buffer` as `name`.
    mutating func put(_ name: String, _ buffer: [Scalar]) { buffers[name] = buffer }

    /// Records that the buffers are now laid out for groups of `counts` parameters (after a step).
    mutating func adopt(groupCounts counts: [Int]) {
        groupCounts = counts
        loaded = false
    }

    /// Every buffer, one tensor per group, keyed `"<group>.<name>"`.
    func tensors() -> [String: [Scalar]] {
        guard let layout = groupCounts else { return [:] }
        var result: [String: [Scalar]] = [:]
        for (name, buffer) in buffers {
            var offset = 0
            for (group, count) in layout.enumerated() {
                result["\(group).\(name)"] = Array(buffer[offset..<offset + count])
                offset += count
            }
        }
        return result
    }

    /// Replaces every buffer with `tensors` (keyed `"<group>.<name>"`, groups `0..<n` for every
    /// name, cut alike); validates everything before changing anything.
    mutating func load(_ tensors: [String: [Scalar]]) throws {
        var byName: [String: [Int: [Scalar]]] = [:]
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
            byName[name, default: [:]][group] = buffer
        }
        var layout: [Int]?
        var loadedBuffers: [String: [Scalar]] = [:]
        for (name, groups) in byName.sorted(by: { $0.key < $1.key }) {
            guard Set(groups.keys) == Set(0..<groups.count) else {
                throw RNNKitError(.invalidArgument,
                    "optimizer state '\(name)' is given for groups \(groups.keys.sorted()); expected groups 0…\(groups.count - 1), each once")
            }
            let counts = (0..<groups.count).map { groups[$0]!.count }
            if let layout, layout != counts {
                throw RNNKitError(.invalidArgument,
                    "optimizer state '\(name)' is cut into groups of \(counts) elements, the other state into \(layout); expected the same groups for every name")
            }
            layout = counts
            loadedBuffers[name] = (0..<groups.count).flatMap { groups[$0]! }
        }
        buffers = loadedBuffers
        groupCounts = layout
        loaded = layout != nil
    }

    mutating func removeAll() {
        buffers = [:]
        groupCounts = nil
        loaded = false
    }
}

/// Calls `body(p, gradients, offset, elements)` for every group in order: its parameters `p`
/// `[P_group]` (updated in place), its gradients, the offset of its slice in the flat optimizer
/// state, and the elements of the group to update. A large group's elements are split into
/// contiguous shares updated at once by several workers (``elementwiseWorkers(count:threads:)``);
/// an element's update reads and writes only that element, so the result is the same.
@inline(__always)
func forEachGroup<Scalar: RNNScalar>(
    _ groups: [any ParameterContainer<Scalar>],
    _ body: (_ p: UnsafeMutableBufferPointer<Scalar>, _ gradients: UnsafeBufferPointer<Scalar>, _ offset: Int,
             _ elements: Range<Int>) -> Void
) {
    var offset = 0
    for group in groups {
        let gradients = group.gradients                                          // [P_group]
        let workers = elementwiseWorkers(count: gradients.count)
        gradients.withUnsafeBufferPointer { g in
            group.parameters.withUnsafeMutableBufferPointer { p in
                runConcurrently(workers) { worker in body(p, g, offset, workerRows(worker, of: workers, count: g.count)) }
            }
        }
        offset += gradients.count
    }
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
