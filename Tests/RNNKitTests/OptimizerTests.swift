// Optimizers, gradient clipping and learning-rate schedules against PyTorch.
// Reference values: scripts/make-training-fixtures.py (torch.optim and torch.nn.utils in float64),
// stored in Fixtures/training/*.txt. The optimizer hyperparameters below mirror that script.

import Foundation
import Testing
@testable import RNNKit

// MARK: Fixture reading and comparison (shared by the training test files)

/// The tensors of one `Fixtures/training/*.txt` file: lines `tensor <name> <count>`, each followed
/// by one line of `count` space-separated numbers.
struct TrainingFixtureFile {
    private var tensors: [String: [Double]] = [:]

    init(_ fileName: String) throws {
        let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        let url = directory.appendingPathComponent("training/\(fileName)")
        let text = try String(contentsOf: url, encoding: .utf8)
        var lines = text.split(separator: "\n").makeIterator()
        while let header = lines.next() {
            let fields = header.split(separator: " ")
            guard fields.count == 3, fields[0] == "tensor", let count = Int(fields[2]) else {
                throw RNNKitError(.invalidFile, "\(fileName): expected 'tensor <name> <count>', got '\(header)'")
            }
            let values = (lines.next() ?? "").split(separator: " ").compactMap { Double($0) }
            guard values.count == count else {
                throw RNNKitError(.invalidFile, "\(fileName): tensor \(fields[1]) should have \(count) values, has \(values.count)")
            }
            tensors[String(fields[1])] = values
        }
    }

    /// The values of tensor `name`.
    func values(_ name: String) throws -> [Double] {
        try #require(tensors[name], "the fixture has no tensor '\(name)'")
    }

    /// The values of tensor `name` as integers (ids, targets, lengths, counts).
    func integers(_ name: String) throws -> [Int] {
        try values(name).map { Int($0) }
    }

    /// The single value of tensor `name`.
    func scalar(_ name: String) throws -> Double {
        let v = try values(name)
        try #require(v.count == 1, "tensor '\(name)' should hold one value, holds \(v.count)")
        return v[0]
    }

    /// The names of all tensors starting with `prefix`.
    func names(withPrefix prefix: String) -> [String] {
        tensors.keys.filter { $0.hasPrefix(prefix) }.sorted()
    }
}

enum TrainingChecks {
    /// Expects `actual ≈ expected` elementwise within `relative · max(|expected|, floor)`;
    /// on failure the message names `label` and the largest difference.
    static func expectClose<S: BinaryFloatingPoint>(
        _ actual: [S], _ expected: [Double], relative: Double = 1e-7, floor: Double = 1e-3,
        _ label: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard actual.count == expected.count else {
            Issue.record("\(label): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
            return
        }
        var worst = 0.0, worstIndex = 0
        for i in actual.indices {
            let excess = abs(Double(actual[i]) - expected[i]) / max(abs(expected[i]), floor)
            if excess > worst || excess.isNaN { worst = excess; worstIndex = i }
        }
        #expect(worst <= relative,
                "\(label): largest relative difference \(worst) at index \(worstIndex): \(actual.isEmpty ? 0 : Double(actual[worstIndex])) vs \(expected.isEmpty ? 0 : expected[worstIndex])",
                sourceLocation: sourceLocation)
    }
}

// MARK: Optimizers

/// The configurations of scripts/make-training-fixtures.py, by name.
private func makeOptimizer<S: RNNScalar>(_ name: String, _: S.Type = S.self) throws -> any Optimizer<S> {
    switch name {
    case "sgd_plain": return try SGD<S>(learningRate: 0.1)
    case "sgd_momentum_dampening": return try SGD<S>(learningRate: 0.05, momentum: 0.8, dampening: 0.3)
    case "sgd_nesterov_weight_decay": return try SGD<S>(learningRate: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01)
    case "adam": return try Adam<S>(learningRate: 0.01)
    case "adam_weight_decay": return try Adam<S>(learningRate: 0.01, weightDecay: 0.1)
    case "adam_amsgrad": return try Adam<S>(learningRate: 0.02, betas: (0.8, 0.95), epsilon: 1e-6, amsgrad: true)
    case "adamw": return try AdamW<S>(learningRate: 0.01, weightDecay: 0.1)
    case "rmsprop": return try RMSprop<S>(learningRate: 0.01)
    case "rmsprop_centered_momentum":
        return try RMSprop<S>(learningRate: 0.01, alpha: 0.9, weightDecay: 0.05, momentum: 0.5, centered: true)
    default: throw RNNKitError(.invalidArgument, "no optimizer configuration '\(name)'")
    }
}

private let optimizerConfigurations = [
    "sgd_plain", "sgd_momentum_dampening", "sgd_nesterov_weight_decay",
    "adam", "adam_weight_decay", "adam_amsgrad", "adamw",
    "rmsprop", "rmsprop_centered_momentum",
]

@Suite("Optimizers against torch.optim")
struct OptimizerTests {
    let fixture: TrainingFixtureFile
    let initial: [Double]            // [7]
    let gradients: [[Double]]        // 5 × [7]

    init() throws {
        fixture = try TrainingFixtureFile("optimizers.txt")
        initial = try fixture.values("initial")
        let flat = try fixture.values("gradients")
        let size = initial.count
        gradients = stride(from: 0, to: flat.count, by: size).map { Array(flat[$0..<$0 + size]) }
    }

    @Test("five Double steps match PyTorch's float64 parameters and final state", arguments: optimizerConfigurations)
    func matchesPyTorchInDouble(name: String) throws {
        let optimizer = try makeOptimizer(name, Double.self)
        var parameters = initial
        for (index, gradient) in gradients.enumerated() {
            try optimizer.step(parameters: &parameters, gradients: gradient)
            TrainingChecks.expectClose(parameters, try fixture.values("\(name).step\(index + 1)"), "\(name) step \(index + 1)")
        }
        #expect(optimizer.stepCount == 5)
        let state = optimizer.stateTensors()
        let expectedKeys = fixture.names(withPrefix: "\(name).state.")
        #expect(state.count == expectedKeys.count, "\(name): state has \(state.keys.sorted()), expected \(expectedKeys)")
        for key in expectedKeys {
            let stateName = String(key.dropFirst("\(name).state.".count))
            let values = try #require(state["0.\(stateName)"], "\(name): no state '0.\(stateName)'")
            TrainingChecks.expectClose(values, try fixture.values(key), "\(name) state \(stateName)")
        }
    }

    @Test("five Float steps stay within single precision of the reference", arguments: optimizerConfigurations)
    func matchesPyTorchInFloat(name: String) throws {
        let optimizer = try makeOptimizer(name, Float.self)
        var parameters = initial.map(Float.init)
        for gradient in gradients {
            try optimizer.step(parameters: &parameters, gradients: gradient.map(Float.init))
        }
        TrainingChecks.expectClose(parameters, try fixture.values("\(name).step5"), relative: 2e-5, "\(name) Float step 5")
    }

    /// A group large enough to be split across workers (``elementwiseWorkers(count:threads:)``):
    /// the fixture's 7 parameters tiled, plus 3 so that the shares are uneven. Every tile must take
    /// the fixture's path, at one thread and at two, bit for bit the same.
    @Test("a group split across workers updates every element as one unsplit group does", arguments: optimizerConfigurations)
    func splitGroupsUpdateEveryElement(name: String) throws {
        let tiles = 2 * minimumElementsPerWorker / initial.count + 1
        let start: [Float] = Array(repeating: initial.map(Float.init), count: tiles).flatMap { $0 } + [0.5, -0.25, 1]
        #expect(elementwiseWorkers(count: start.count, threads: 2) == 2)
        var results: [[Float]] = []
        for threads in [1, 2] {
            try withThreads(threads) {
                let optimizer = try makeOptimizer(name, Float.self)
                var parameters = start
                for gradient in gradients {
                    let tiled: [Float] = Array(repeating: gradient.map(Float.init), count: tiles).flatMap { $0 } + [0.1, 0.2, -0.3]
                    try optimizer.step(parameters: &parameters, gradients: tiled)
                }
                results.append(parameters)
            }
        }
        // A count, not `results[0] == results[1]`: a failing array comparison would be diffed element by element.
        let differing = zip(results[0], results[1]).filter { $0 != $1 }.count
        #expect(differing == 0, "\(name): with two workers \(differing) of \(start.count) parameters differ from one worker's")
        let expected = try fixture.values("\(name).step5")
        for tile in [0, tiles / 2, tiles - 1] {
            let first = tile * initial.count
            TrainingChecks.expectClose(Array(results[1][first..<first + initial.count]), expected, relative: 2e-5,
                                       "\(name) tile \(tile) of \(tiles)")
        }
    }

    @Test("resuming from exported state continues exactly like an uninterrupted run", arguments: optimizerConfigurations)
    func resumesFromState(name: String) throws {
        let uninterrupted = try makeOptimizer(name, Double.self)
        var expected = initial
        for gradient in gradients { try uninterrupted.step(parameters: &expected, gradients: gradient) }

        let first = try makeOptimizer(name, Double.self)
        var parameters = initial
        for gradient in gradients[..<2] { try first.step(parameters: &parameters, gradients: gradient) }
        let resumed = try makeOptimizer(name, Double.self)
        try resumed.loadState(first.stateTensors())
        resumed.stepCount = first.stepCount
        for gradient in gradients[2...] { try resumed.step(parameters: &parameters, gradients: gradient) }
        #expect(parameters == expected, "\(name): resumed parameters differ from the uninterrupted run")
    }

    @Test("several groups step like one concatenated group, each with its own state")
    func multipleGroups() throws {
        let single = try Adam<Double>(learningRate: 0.05)
        let grouped = try Adam<Double>(learningRate: 0.05)
        var concatenated = initial
        let head = ParameterBuffer(Array(initial[..<3]))
        let tail = ParameterBuffer(Array(initial[3...]))
        for gradient in gradients {
            try single.step(parameters: &concatenated, gradients: gradient)
            head.gradients = Array(gradient[..<3])
            tail.gradients = Array(gradient[3...])
            try grouped.step([head, tail])
        }
        #expect(head.parameters + tail.parameters == concatenated)
        #expect(Set(grouped.stateTensors().keys) == ["0.exp_avg", "0.exp_avg_sq", "1.exp_avg", "1.exp_avg_sq"])
        #expect(grouped.stateTensors()["1.exp_avg"]?.count == 4)
    }

    @Test("the learning rate can change between steps")
    func settableLearningRate() throws {
        let optimizer = try SGD<Double>(learningRate: 0.1)
        var parameters: [Double] = [1, 2]
        try optimizer.step(parameters: &parameters, gradients: [1, 1])
        optimizer.learningRate = 0.5
        try optimizer.step(parameters: &parameters, gradients: [1, -1])
        #expect(parameters == [1 - 0.1 - 0.5, 2 - 0.1 + 0.5])
    }

    @Test("bad sizes, state keys and hyperparameters are rejected with a clear error")
    func rejectsBadInput() throws {
        let optimizer = try Adam<Double>()
        var parameters: [Double] = [1, 2, 3]
        let error = try #require(throws: RNNKitError.self) {
            try optimizer.step(parameters: &parameters, gradients: [1, 2])
        }
        #expect(error.kind == .shapeMismatch)
        #expect(error.message.contains("3 parameters but 2 gradients"))
        #expect(parameters == [1, 2, 3] && optimizer.stepCount == 0)

        try optimizer.step(parameters: &parameters, gradients: [1, 2, 3])
        var longer: [Double] = [1, 2, 3, 4]
        let sizeError = try #require(throws: RNNKitError.self) {
            try optimizer.step(parameters: &longer, gradients: [1, 1, 1, 1])
        }
        #expect(sizeError.message.contains("has 3 elements but parameter group 0 has 4"))
        #expect(longer == [1, 2, 3, 4] && optimizer.stepCount == 1)

        #expect(throws: RNNKitError.self) { try optimizer.loadState(["0.momentum_buffer": [0, 0, 0]]) }
        #expect(throws: RNNKitError.self) { try optimizer.loadState(["exp_avg": [0, 0, 0]]) }
        #expect(optimizer.stateTensors().count == 2, "a rejected load must leave the state alone")
        #expect(throws: RNNKitError.self) { try SGD<Float>(learningRate: 0.1, nesterov: true) }
        #expect(throws: RNNKitError.self) { try Adam<Float>(betas: (0.9, 1.0)) }
        #expect(throws: RNNKitError.self) { try RMSprop<Float>(learningRate: -1) }
    }
}

// MARK: Gradient clipping

@Suite("Gradient clipping against torch.nn.utils")
struct GradientClippingTests {
    @Test("clip by global norm returns the norm before clipping and scales like PyTorch", arguments: ["clip", "noclip"])
    func clipByNorm(label: String) throws {
        let fixture = try TrainingFixtureFile("clipping.txt")
        let first = ParameterBuffer<Double>(parameters: [0, 0, 0, 0], gradients: try fixture.values("first"))
        let second = ParameterBuffer<Double>(parameters: [0, 0, 0], gradients: try fixture.values("second"))
        let norm = try clipGradientNorm([first, second], maxNorm: try fixture.scalar("\(label).max_norm"))
        TrainingChecks.expectClose([norm], [try fixture.scalar("\(label).total_norm")], "\(label) total norm")
        TrainingChecks.expectClose(first.gradients, try fixture.values("\(label).first"), "\(label) first group")
        TrainingChecks.expectClose(second.gradients, try fixture.values("\(label).second"), "\(label) second group")
    }

    @Test("clip by value clamps every group like clip_grad_value_")
    func clipByValue() throws {
        let fixture = try TrainingFixtureFile("clipping.txt")
        let first = ParameterBuffer<Float>(parameters: [0, 0, 0, 0], gradients: try fixture.values("first").map(Float.init))
        let second = ParameterBuffer<Float>(parameters: [0, 0, 0], gradients: try fixture.values("second").map(Float.init))
        try clipGradientValues([first, second], clipValue: try fixture.scalar("value.clip_value"))
        TrainingChecks.expectClose(first.gradients, try fixture.values("value.first"), "first group")
        TrainingChecks.expectClose(second.gradients, try fixture.values("value.second"), "second group")
    }

    @Test("clipping spans different container types, and a non-finite norm can be an error")
    func mixedContainersAndNonfinite() throws {
        let network = try RecurrentNetwork<Double>(RecurrentConfiguration(cell: .lstm, inputSize: 2, hiddenSize: 3))
        let head = try Linear<Double>(inputSize: 3, outputSize: 2)
        for i in network.gradients.indices { network.gradients[i] = 1 }
        for i in head.gradients.indices { head.gradients[i] = 1 }
        let count = Double(network.gradients.count + head.gradients.count)
        let norm = try clipGradientNorm([network, head], maxNorm: 1)
        #expect(abs(norm - count.squareRoot()) < 1e-12)
        let scale = 1 / (count.squareRoot() + 1e-6)
        #expect(network.gradients.allSatisfy { abs($0 - scale) < 1e-15 })
        #expect(head.gradients.allSatisfy { abs($0 - scale) < 1e-15 })

        head.gradients[0] = .nan
        let error = try #require(throws: RNNKitError.self) {
            try clipGradientNorm([network, head], maxNorm: 1, errorIfNonfinite: true)
        }
        #expect(error.kind == .numerical)
    }
}

// MARK: Learning-rate schedules

@Suite("Learning-rate schedules against torch.optim.lr_scheduler")
struct LearningRateScheduleTests {
    let fixture: TrainingFixtureFile
    init() throws { fixture = try TrainingFixtureFile("schedules.txt") }

    private func rates(_ schedule: some LearningRateSchedule, count: Int) -> [Double] {
        (0..<count).map { schedule.learningRate(atStep: $0) }
    }

    @Test("step decay matches StepLR(step_size=3, gamma=0.5)")
    func stepDecay() throws {
        let expected = try fixture.values("step_decay")
        let schedule = try StepDecay(baseLearningRate: 0.1, stepSize: 3, gamma: 0.5)
        TrainingChecks.expectClose(rates(schedule, count: expected.count), expected, "step decay")
    }

    @Test("cosine annealing matches CosineAnnealingLR(T_max=8, eta_min=0.001) and then holds eta_min")
    func cosine() throws {
        let expected = try fixture.values("cosine")
        let schedule = try CosineAnnealing(baseLearningRate: 0.1, maximumSteps: 8, minimumLearningRate: 0.001)
        TrainingChecks.expectClose(rates(schedule, count: expected.count), expected, "cosine")
        #expect(schedule.learningRate(atStep: 20) == 0.001)
    }

    @Test("warm-up then cosine matches SequentialLR(LinearLR(0.25, 4), CosineAnnealingLR(6))")
    func warmupThenCosine() throws {
        let expected = try fixture.values("warmup_cosine")
        let cosine = try CosineAnnealing(baseLearningRate: 0.1, maximumSteps: 6)
        let schedule = try LinearWarmup(warmupSteps: 4, startFactor: 0.25, then: cosine)
        TrainingChecks.expectClose(rates(schedule, count: expected.count), expected, floor: 1e-6, "warm-up + cosine")
    }

    @Test("warm-up to a constant rises linearly from zero")
    func warmupToConstant() throws {
        let schedule = try LinearWarmup(warmupSteps: 4, learningRate: 0.2)
        #expect(rates(schedule, count: 6) == [0, 0.05, 0.1, 0.15000000000000002, 0.2, 0.2])
        #expect(throws: RNNKitError.self) { try LinearWarmup(warmupSteps: -1, learningRate: 0.1) }
        #expect(throws: RNNKitError.self) { try StepDecay(baseLearningRate: 0.1, stepSize: 0) }
    }
}
