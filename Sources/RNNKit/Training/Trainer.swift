// The training loop: minibatches, loss, backward, a finiteness check, clipping, the learning-rate
// schedule, one optimizer step; validation and checkpoints at intervals; reports to callbacks.
//
// One step, in order:
//   batch  = next minibatch of the epoch plan (or the next B windows of the stream: the strips'
//            next window, or B random window starts)
//   loss, ∂parameters = model forward, loss, backward        (gradients zeroed first)
//   if loss or ‖∂parameters‖ is NaN/∞: zero the gradients, skip the update, count it   (weights untouched)
//   clip ∂parameters (global norm, then value);  lr = schedule(optimizer step);  optimizer step
// Determinism: every random choice comes from seeded generators whose states are part of the
// checkpoint, and every sum runs in a fixed order, so the same seed and thread count give the same bits.

/// What one training step did, for logging callbacks.
public struct TrainingStepReport: Sendable {
    /// The step just taken, counting from 1 (skipped steps count).
    public var step: Int
    /// Mean loss of the minibatch (nats for cross-entropy, squared units for MSE); NaN or ∞ for a skipped step.
    public var loss: Double
    /// Fraction of correctly predicted positions (classification), or `nil` (regression).
    public var accuracy: Double?
    /// Positions (tokens or sequences) that counted in the loss.
    public var positions: Int
    /// Global gradient norm before clipping.
    public var gradientNorm: Double
    /// The learning rate of this step's update.
    public var learningRate: Double
    /// Whether the update was skipped because the loss or a gradient was not finite.
    public var skipped: Bool
    /// Counted positions per second of this step's wall time.
    public var positionsPerSecond: Double
    /// `loss / ln 2`: bits per character for a character model.
    public var bitsPerToken: Double { loss / 0.6931471805599453 }
}

/// Loss and accuracy of a model over a whole data set.
public struct EvaluationReport: Sendable {
    /// The step after which the evaluation ran (0 before training).
    public var step: Int
    /// Mean loss per counted position.
    public var loss: Double
    /// Fraction of correctly predicted positions (classification), or `nil` (regression).
    public var accuracy: Double?
    /// Positions that counted.
    public var positions: Int
    /// `exp(loss)` (meaningful for cross-entropy).
    public var perplexity: Double { exp(loss) }
    /// `loss / ln 2`: bits per character for a character model.
    public var bitsPerToken: Double { loss / 0.6931471805599453 }
}

/// A training run of a ``SequenceModel`` or ``Seq2SeqModel`` on ``TrainingData``.
///
/// ```swift
/// let trainer = try Trainer(model: model, training: .stream(ids), configuration: configuration)
/// trainer.onStep = { report in print(report.step, report.loss) }
/// try trainer.train(steps: 1000)
/// try trainer.saveCheckpoint(to: "run.safetensors")
/// ```
/// Resume with ``init(resumingFrom:training:validation:configuration:)``: the continued run is bitwise
/// identical to one that never stopped. Not thread-safe.
public final class Trainer {
    /// The model being trained.
    public let model: LoadedModel
    /// The settings.
    public let configuration: TrainerConfiguration
    /// The data of the training steps.
    public let training: TrainingData
    /// The data of validations, or `nil`.
    public let validation: TrainingData?
    /// The optimizer (its ``Optimizer/stepCount`` counts applied updates).
    public let optimizer: any Optimizer<Float>
    /// The learning rate as a function of ``Optimizer/stepCount``.
    public let schedule: any LearningRateSchedule
    /// Steps taken so far, skipped ones included.
    public internal(set) var step = 0
    /// Steps skipped because of a non-finite loss or gradient.
    public internal(set) var skippedSteps = 0
    /// Skipped steps in a row, up to the latest step.
    public internal(set) var consecutiveSkippedSteps = 0
    /// The most recent validation, if any.
    public internal(set) var lastValidation: EvaluationReport?

    /// Called after every step.
    public var onStep: ((TrainingStepReport) -> Void)?
    /// Called after every validation.
    public var onValidation: ((EvaluationReport) -> Void)?
    /// Called after every periodic checkpoint with its path.
    public var onCheckpoint: ((String) -> Void)?
    /// Where the steps add their phases' time (the model's forward and backward too), or `nil` (default).
    package var profile: TrainingProfile? {
        didSet { if case .sequence(let m) = model { m.profile = profile } }
    }

    // The data cursor (saved in checkpoints).
    var epoch = 0
    var batchInEpoch = 0
    /// The data-order generator's state: for sequences and pairs, its state when the current
    /// epoch's plan was drawn; for random stream windows, its state after the latest draw.
    var epochGeneratorState: UInt64
    var plan: [[Int]] = []
    /// The state carried from one stream window to the next (strips only).
    var carriedState: RecurrentState<Float>?

    /// Creates a run for a sequence model.
    /// - Throws: ``RNNKitError`` if the configuration is invalid or the data does not fit the model.
    public convenience init(model: SequenceModel, training: TrainingData, validation: TrainingData? = nil,
                            configuration: TrainerConfiguration = TrainerConfiguration()) throws {
        try self.init(loaded: .sequence(model), training: training, validation: validation, configuration: configuration)
    }

    /// Creates a run for an encoder–decoder model (data: ``TrainingData/pairs(_:)``).
    public convenience init(model: Seq2SeqModel, training: TrainingData, validation: TrainingData? = nil,
                            configuration: TrainerConfiguration = TrainerConfiguration()) throws {
        try self.init(loaded: .seq2seq(model), training: training, validation: validation, configuration: configuration)
    }

    init(loaded model: LoadedModel, training: TrainingData, validation: TrainingData?, configuration: TrainerConfiguration) throws {
        try configuration.validate()
        self.model = model
        self.configuration = configuration
        self.training = training
        self.validation = validation
        self.optimizer = try configuration.optimizer.makeOptimizer()
        self.schedule = try configuration.schedule.makeSchedule(learningRate: configuration.optimizer.learningRate)
        self.epochGeneratorState = derivedSeed(configuration.seed, 7)
        try Self.check(training, fits: model, configuration: configuration, what: "training data")
        if let validation { try Self.check(validation, fits: model, configuration: configuration, what: "validation data") }
        plan = makePlan()
    }

    /// The trainable groups in the fixed order the optimizer keys its state by.
    public var parameterGroups: [any ParameterContainer<Float>] {
        switch model {
        case .sequence(let m): m.parameterGroups
        case .seq2seq(let m): m.parameterGroups
        }
    }

    // MARK: The loop

    /// Takes `steps` steps, validating and checkpointing at the configured intervals.
    /// - Returns: the report of the last step.
    /// - Throws: ``RNNKitError`` `.numerical` after ``TrainerConfiguration/maximumConsecutiveNonFiniteSteps``
    ///   skipped steps in a row (the weights are those of the last good step; periodic checkpoints are
    ///   never written from a skipped step), or any error of a step.
    @discardableResult
    public func train(steps: Int) throws -> TrainingStepReport? {
        var last: TrainingStepReport?
        for _ in 0..<steps {
            let report = try trainStep()
            last = report
            if configuration.validationInterval > 0, step % configuration.validationInterval == 0, validation != nil {
                try validate()
            }
            if configuration.checkpointInterval > 0, step % configuration.checkpointInterval == 0,
               !report.skipped, let path = configuration.checkpointPath {
                try saveCheckpoint(to: path)
                onCheckpoint?(path)
            }
        }
        return last
    }

    /// Evaluates ``validation`` now, stores it in ``lastValidation`` and calls ``onValidation``.
    /// - Parameter maximumBatches: evaluate at most this many minibatches (see
    ///   ``evaluate(_:maximumBatches:)``); `nil` (default) for all of ``validation``.
    @discardableResult
    public func validate(maximumBatches: Int? = nil) throws -> EvaluationReport? {
        guard let validation else { return nil }
        let report = try evaluate(validation, maximumBatches: maximumBatches)
        lastValidation = report
        onValidation?(report)
        return report
    }

    /// Takes one step (see the top of this file).
    /// - Throws: ``RNNKitError`` `.numerical` when this step makes ``TrainerConfiguration/maximumConsecutiveNonFiniteSteps``
    ///   skipped steps in a row; model errors otherwise.
    @discardableResult
    public func trainStep() throws -> TrainingStepReport {
        let start = ContinuousClock.now
        let groups = parameterGroups
        for group in groups { group.zeroGradients() }
        setTraining(true)
        let batch = nextBatch()
        let result = try lossAndGradients(batch: batch, data: training, computeGradient: true)
        step += 1

        let clippingStarted = ContinuousClock.now
        let norm = globalGradientNorm(groups)
        let learningRate = schedule.learningRate(atStep: optimizer.stepCount)
        var report = TrainingStepReport(
            step: step, loss: result.loss, accuracy: result.accuracy, positions: result.positions, gradientNorm: norm,
            learningRate: learningRate, skipped: false, positionsPerSecond: 0)
        if configuration.skipNonFiniteSteps, !(result.loss.isFinite && norm.isFinite) {
            for group in groups { group.zeroGradients() }
            skippedSteps += 1
            consecutiveSkippedSteps += 1
            report.skipped = true
            onStep?(report)
            if consecutiveSkippedSteps >= configuration.maximumConsecutiveNonFiniteSteps {
                throw RNNKitError(.numerical,
                    "training stopped at step \(step): \(consecutiveSkippedSteps) consecutive steps had a non-finite loss or gradient (loss \(result.loss), gradient norm \(norm)); no update was applied from them, so the weights are those after step \(step - consecutiveSkippedSteps)\(configuration.checkpointPath.map { " and the last good checkpoint is \($0)" } ?? ""). Check the data for NaN or infinite values, or lower the learning rate")
            }
            return report
        }
        consecutiveSkippedSteps = 0
        if let maxNorm = configuration.gradientClipNorm {
            try requireHyperparameter("maximum gradient norm", maxNorm, "> 0") { $0 > 0 }
            scaleGradients(groups, maxNorm: maxNorm, totalNorm: norm)
        }
        if let clipValue = configuration.gradientClipValue { try clipGradientValues(groups, clipValue: clipValue) }
        profile?.add(.clipping, since: clippingStarted)
        optimizer.learningRate = learningRate
        try profiled(profile, .optimizer) { try optimizer.step(groups) }
        if configuration.streamSampling == .strips, let next = result.finalState { carriedState = next }
        let elapsed = seconds(ContinuousClock.now - start)
        report.positionsPerSecond = elapsed > 0 ? Double(result.positions) / elapsed : 0
        onStep?(report)
        return report
    }

    /// Mean loss and accuracy of the model over `data`, in inference mode (no dropout), in a fixed
    /// order. A stream is read as ``TrainerConfiguration/batchSize`` strips side by side in windows
    /// of ``TrainerConfiguration/sequenceLength`` with the state carried, whatever
    /// ``TrainerConfiguration/streamSampling`` is; every token after the first is predicted once
    /// (the last strip goes on over the tokens that do not divide evenly).
    /// - Parameter maximumBatches: evaluate at most this many minibatches, the first ones: for a
    ///   stream, the first windows of every strip; otherwise the first groups of
    ///   ``TrainerConfiguration/batchSize`` examples in order. `nil` (default) evaluates all of `data`.
    /// - Throws: ``RNNKitError`` `.invalidArgument` if `maximumBatches` is below 1 or `data` does not fit the model.
    public func evaluate(_ data: TrainingData, maximumBatches: Int? = nil) throws -> EvaluationReport {
        try Self.check(data, fits: model, configuration: configuration, what: "evaluation data")
        if let maximumBatches, maximumBatches < 1 {
            throw RNNKitError(.invalidArgument, "an evaluation needs at least 1 minibatch, got a maximum of \(maximumBatches)")
        }
        let limit = maximumBatches ?? .max
        setTraining(false)
        defer { setTraining(true) }
        var totalLoss = 0.0, positions = 0, correct = 0, isClassification = true
        switch data {
        case .stream(let tokens):
            guard case .sequence(let m) = model else { break }   // `check` refused other models
            let r = try streamLoss(m, tokens: tokens, windowLength: configuration.sequenceLength,
                                   strips: configuration.batchSize, maximumWindows: maximumBatches)
            (totalLoss, positions, correct) = (r.loss * Double(r.count), r.count, r.correct)
        case .sequences, .pairs:
            let B = configuration.batchSize
            for first in stride(from: 0, to: data.count, by: B).prefix(limit) {
                let r = try lossAndGradients(batch: Array(first..<min(first + B, data.count)), data: data, computeGradient: false)
                totalLoss += r.loss * Double(r.positions); positions += r.positions; correct += r.correct
                isClassification = r.accuracy != nil
            }
        }
        return EvaluationReport(step: step, loss: positions > 0 ? totalLoss / Double(positions) : 0,
                                accuracy: isClassification && positions > 0 ? Double(correct) / Double(positions) : nil,
                                positions: positions)
    }

    // MARK: Batches

    /// The next minibatch: example indices, or for a stream the `B` window starts (the strips' next
    /// window, or `B` random starts drawn from ``epochGeneratorState``). Advances the cursor.
    func nextBatch() -> [Int] {
        if case .stream(let tokens) = training {
            let windows = StreamWindows(tokenCount: tokens.count, configuration: configuration)
            if batchInEpoch >= windows.windowsPerEpoch {
                batchInEpoch = 0
                epoch += 1
            }
            defer { batchInEpoch += 1 }
            switch configuration.streamSampling {
            case .strips:
                if batchInEpoch == 0 { carriedState = nil }
                return windows.starts(window: batchInEpoch)
            case .randomWindows:
                var generator = SeededGenerator(seed: epochGeneratorState)
                defer { epochGeneratorState = generator.state }
                return windows.randomStarts(using: &generator)
            }
        }
        if batchInEpoch >= plan.count {
            epoch += 1
            batchInEpoch = 0
            var generator = SeededGenerator(seed: 0)
            generator.state = epochGeneratorState
            _ = generator.next()
            epochGeneratorState = generator.state
            plan = makePlan()
        }
        defer { batchInEpoch += 1 }
        return plan[batchInEpoch]
    }

    /// The epoch's minibatches, drawn from ``epochGeneratorState``: shuffle the examples, then (with
    /// bucketing) sort them stably by length, cut into minibatches, and shuffle the minibatch order.
    func makePlan() -> [[Int]] {
        guard training.count > 0 else { return [] }
        if case .stream = training { return [] }
        var generator = SeededGenerator(seed: 0)
        generator.state = epochGeneratorState
        var order = Array(0..<training.count)
        order.shuffle(using: &generator)
        if configuration.bucketByLength {
            order = order.enumerated().sorted { a, b in
                let (la, lb) = (training.length(of: a.element), training.length(of: b.element))
                return la != lb ? la < lb : a.offset < b.offset
            }.map(\.element)
        }
        var batches = stride(from: 0, to: order.count, by: configuration.batchSize).map {
            Array(order[$0..<min($0 + configuration.batchSize, order.count)])
        }
        if configuration.bucketByLength { batches.shuffle(using: &generator) }
        return batches
    }

    // MARK: Loss

    struct BatchResult {
        var loss: Double
        var positions: Int
        var correct: Int
        var accuracy: Double?
        var finalState: RecurrentState<Float>?
    }

    /// Forward, loss and (optionally) backward of one minibatch: example indices, or for a stream
    /// the `B` window starts (each window's inputs `s ..< s + T`, its targets one token later).
    func lossAndGradients(batch: [Int], data: TrainingData, computeGradient: Bool) throws -> BatchResult {
        switch (model, data) {
        case (.seq2seq(let m), .pairs(let pairs)):
            let selected = batch.map { pairs[$0] }
            let r = try m.teacherForcedLoss(sources: selected.map(\.source), targets: selected.map(\.target),
                                            options: lossOptions(computeGradient), computeGradient: computeGradient)
            return BatchResult(loss: r.loss, positions: r.countedPositions, correct: r.correctPredictions,
                               accuracy: Double(r.correctPredictions) / Double(max(r.countedPositions, 1)))
        case (.sequence(let m), .stream(let tokens)):
            let B = batch.count, T = configuration.sequenceLength
            let (inputs, targets) = profiled(profile, .data) {
                var inputs = [Int](repeating: 0, count: T * B), targets = inputs   // [T, B]
                for (b, start) in batch.enumerated() {
                    for t in 0..<T {
                        inputs[t * B + b] = tokens[start + t]
                        targets[t * B + b] = tokens[start + t + 1]
                    }
                }
                return (inputs, targets)
            }
            let out = try m.forward(.tokens(inputs), steps: T, batch: B, initialState: carriedState)
            let r = try profiled(profile, .loss) {
                try sequenceSoftmaxCrossEntropy(logits: out.outputs, targets: targets, steps: T, batch: B,
                                                classCount: m.configuration.outputSize, options: lossOptions(computeGradient),
                                                computeGradient: computeGradient)
            }
            if computeGradient { try m.backward(outputGradient: r.logitsGradient) }
            return BatchResult(loss: r.loss, positions: r.countedPositions, correct: r.correctPredictions,
                               accuracy: Double(r.correctPredictions) / Double(max(r.countedPositions, 1)), finalState: out.finalState)
        case (.sequence(let m), .sequences(let examples)):
            return try sequenceBatch(m, batch.map { examples[$0] }, computeGradient: computeGradient)
        default:
            throw RNNKitError(.invalidArgument, "\(data.kindName) data does not fit this model")
        }
    }

    /// Loss of a minibatch of independent sequences (padded, with lengths).
    func sequenceBatch(_ m: SequenceModel, _ examples: [SequenceExample], computeGradient: Bool) throws -> BatchResult {
        let c = m.configuration, B = examples.count
        let lengths = examples.map(\.length)
        let T = lengths.max()!
        let inputs: SequenceInputs
        if c.input == .tokens {
            var ids = [Int](repeating: 0, count: T * B)   // [T, B]
            for (b, e) in examples.enumerated() { for t in 0..<e.length { ids[t * B + b] = e.tokens[t] } }
            inputs = .tokens(ids)
        } else {
            let I = c.featureSize
            var x = [Float](repeating: 0, count: T * B * I)   // [T, B, I]
            for (b, e) in examples.enumerated() {
                for t in 0..<e.length { for i in 0..<I { x[(t * B + b) * I + i] = e.features[t * I + i] } }
            }
            inputs = .features(x)
        }
        let ragged = lengths.contains { $0 != T }
        let out = try m.forward(inputs, steps: T, batch: B, lengths: ragged ? lengths : nil,
                                condition: batchCondition(examples))
        let O = c.outputSize
        let classification = !examples[0].targetClasses.isEmpty
        var loss = 0.0, positions = 0, correct = 0
        var gradient: [Float] = []
        switch (c.head, classification) {
        case (.everyStep, true):
            var targets = [Int](repeating: -100, count: T * B)
            for (b, e) in examples.enumerated() { for t in 0..<e.length { targets[t * B + b] = e.targetClasses[t] } }
            let r = try sequenceSoftmaxCrossEntropy(logits: out.outputs, targets: targets, steps: T, batch: B, classCount: O,
                                                     lengths: ragged ? lengths : nil, options: lossOptions(computeGradient),
                                                     computeGradient: computeGradient)
            (loss, positions, correct, gradient) = (r.loss, r.countedPositions, r.correctPredictions, r.logitsGradient)
        case (.lastStep, true), (.meanPool, true), (.maxPool, true):
            let r = try softmaxCrossEntropy(logits: out.outputs, targets: examples.map { $0.targetClasses[0] }, classCount: O,
                                            options: lossOptions(computeGradient), computeGradient: computeGradient)
            (loss, positions, correct, gradient) = (r.loss, r.countedPositions, r.correctPredictions, r.logitsGradient)
        case (.lastStep, false), (.meanPool, false), (.maxPool, false):
            let r = try meanSquaredError(predictions: out.outputs, targets: examples.flatMap(\.targetValues), computeGradient: computeGradient)
            (loss, positions, gradient) = (r.loss, B, r.predictionsGradient)
        case (.everyStep, false):
            let r = try maskedMeanSquaredError(predictions: out.outputs, targets: examples.map(\.targetValues), steps: T, batch: B,
                                               outputs: O, lengths: lengths, computeGradient: computeGradient)
            (loss, positions, gradient) = (r.loss, lengths.reduce(0, +), r.predictionsGradient)
        case (.none, _):
            throw RNNKitError(.invalidArgument, "a model without a head has no loss to train; give it an every-step or last-step head")
        }
        if computeGradient { try m.backward(outputGradient: gradient) }
        return BatchResult(loss: loss, positions: positions, correct: correct,
                           accuracy: classification ? Double(correct) / Double(max(positions, 1)) : nil)
    }

    // MARK: Helpers

    /// The classification options of the loss: the configured ones when training, the plain loss
    /// when evaluating (so evaluations of runs with different options compare).
    func lossOptions(_ training: Bool) -> CrossEntropyOptions {
        training ? configuration.classification : CrossEntropyOptions()
    }

    /// The conditions of a minibatch's examples side by side (`[B]` ids or `[B, F]` features), or
    /// `nil` when the examples have none (`check` holds every example to the model's conditioning).
    func batchCondition(_ examples: [SequenceExample]) -> SequenceCondition? {
        guard examples[0].condition != nil else { return nil }
        var ids: [Int] = [], features: [Float] = []        // [B] or [B, F]
        for example in examples {
            switch example.condition {
            case .classes(let id)?: ids += id
            case .features(let values)?: features += values
            case nil: break
            }
        }
        return ids.isEmpty ? .features(features) : .classes(ids)
    }

    func setTraining(_ training: Bool) {
        switch model {
        case .sequence(let m): if m.isTraining != training { m.isTraining = training }
        case .seq2seq(let m): if m.isTraining != training { m.isTraining = training }
        }
    }

    /// Throws unless `data` can train or evaluate `model`: kinds match, sizes and ids are in range.
    static func check(_ data: TrainingData, fits model: LoadedModel, configuration: TrainerConfiguration, what: String) throws {
        guard data.count > 0 else { throw RNNKitError(.invalidArgument, "the \(what) is empty") }
        if let weights = configuration.classification.classWeights {
            let classes = switch model {
            case .sequence(let m): m.configuration.outputSize
            case .seq2seq(let m): m.configuration.targetVocabularySize
            }
            guard weights.count == classes else {
                throw RNNKitError(.invalidArgument,
                    "\(weights.count) class weights for a model of \(classes) classes (target ids); expected one weight per class")
            }
        }
        switch (model, data) {
        case (.seq2seq(let m), .pairs(let pairs)):
            let c = m.configuration
            for (index, pair) in pairs.enumerated() {
                guard !pair.source.isEmpty, pair.source.allSatisfy({ $0 >= 0 && $0 < c.sourceVocabularySize }),
                      pair.target.allSatisfy({ $0 >= 0 && $0 < c.targetVocabularySize }) else {
                    throw RNNKitError(.invalidArgument,
                        "\(what): pair \(index) has an empty source or an id out of range (source ids 0..<\(c.sourceVocabularySize), target ids 0..<\(c.targetVocabularySize))")
                }
            }
        case (.sequence(let m), .stream(let tokens)):
            let c = m.configuration
            guard c.input == .tokens, c.head == .everyStep, c.outputSize == c.vocabularySize, c.conditioning == .none else {
                throw RNNKitError(.invalidArgument,
                    "\(what): a token stream trains an unconditioned token model whose every-step head predicts the next token")
            }
            let needed = configuration.batchSize * configuration.sequenceLength + 1
            guard tokens.count >= needed else {
                throw RNNKitError(.invalidArgument,
                    "\(what): the stream has \(tokens.count) tokens; expected at least B·T + 1 = \(needed) for batch size \(configuration.batchSize) and sequence length \(configuration.sequenceLength)")
            }
            if let bad = tokens.firstIndex(where: { $0 < 0 || $0 >= c.vocabularySize }) {
                throw RNNKitError(.invalidArgument, "\(what): token \(tokens[bad]) at position \(bad) is out of range; expected 0..<\(c.vocabularySize)")
            }
        case (.sequence(let m), .sequences(let examples)):
            let c = m.configuration
            for (index, e) in examples.enumerated() {
                let inputOK = c.input == .tokens
                    ? e.tokens.count == e.length && e.tokens.allSatisfy { $0 >= 0 && $0 < c.vocabularySize }
                    : e.features.count == e.length * c.featureSize
                let perStep = c.head == .everyStep ? e.length : 1
                let conditionOK = switch (c.conditioning, e.condition) {
                case (.none, nil): true
                case (.classes(let count), .classes(let ids)?): ids.count == 1 && ids[0] >= 0 && ids[0] < count
                case (.features(let size), .features(let values)?): values.count == size && values.allSatisfy(\.isFinite)
                default: false
                }
                guard conditionOK else {
                    throw RNNKitError(.invalidArgument,
                        "\(what): example \(index) has \(e.condition.map { "the condition \($0)" } ?? "no condition"); expected \(c.conditioning.expectedExampleCondition)")
                }
                let targetOK = e.targetClasses.isEmpty
                    ? e.targetValues.count == perStep * c.outputSize && !examples[0].targetValues.isEmpty
                    : e.targetClasses.count == perStep && e.targetClasses.allSatisfy { $0 >= 0 && $0 < c.outputSize } && !examples[0].targetClasses.isEmpty
                guard e.length >= 1, inputOK, targetOK else {
                    throw RNNKitError(.invalidArgument,
                        "\(what): example \(index) does not fit the model: expected length ≥ 1, \(c.input == .tokens ? "\(e.length) token ids in 0..<\(c.vocabularySize)" : "\(e.length)·\(c.featureSize) features"), and \(perStep) class target(s) in 0..<\(c.outputSize) or \(perStep)·\(c.outputSize) target values (the same kind for every example)")
                }
            }
        default:
            throw RNNKitError(.invalidArgument,
                "\(what): \(data.kindName) data does not fit a \(model.kindName) model (sequence models take sequences or a stream, seq2seq models take pairs)")
        }
    }
}

/// `duration` in seconds, to the attosecond before the conversion to Double.
package func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

extension LoadedModel {
    var kindName: String {
        switch self {
        case .sequence: "sequence"
        case .seq2seq: "seq2seq"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SequenceConditioning {
    /// What an example of a model with this conditioning must carry, for messages.
    var expectedExampleCondition: String {
        switch self {
        case .none: "no condition (the model is not conditioned)"
        case .classes(let count): "one class id in 0..<\(count)"
        case .features(let size): "\(size) finite condition features"
        }
    }
}
