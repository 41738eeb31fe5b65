// The settings of a training run, as plain Codable values (a CLI builds them from flags;
// checkpoints record them as flat `training.config.*` metadata strings).

/// Which optimizer a ``Trainer`` builds, with its hyperparameters (PyTorch's names and defaults).
public struct OptimizerConfiguration: Codable, Sendable, Equatable {
    /// The update rule.
    public enum Kind: String, Codable, Sendable, Equatable, CaseIterable {
        /// ``SGD``.
        case sgd
        /// ``Adam``.
        case adam
        /// ``AdamW``.
        case adamw
        /// ``RMSprop``.
        case rmsprop
    }
    /// The update rule (default Adam).
    public var kind: Kind
    /// Base learning rate (default 0.001); a schedule scales it.
    public var learningRate: Double
    /// SGD and RMSprop momentum (default 0).
    public var momentum: Double
    /// Nesterov momentum for SGD (default `false`).
    public var nesterov: Bool
    /// Weight decay (L2 for SGD/Adam/RMSprop, decoupled for AdamW; default 0).
    public var weightDecay: Double
    /// Adam β1 (default 0.9).
    public var beta1: Double
    /// Adam β2 (default 0.999).
    public var beta2: Double
    /// ε (default 1e-8).
    public var epsilon: Double

    /// Creates the configuration; defaults are PyTorch's Adam.
    public init(kind: Kind = .adam, learningRate: Double = 1e-3, momentum: Double = 0, nesterov: Bool = false,
                weightDecay: Double = 0, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) {
        self.kind = kind
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    /// A fresh optimizer of this kind.
    /// - Throws: ``RNNKitError`` for an invalid hyperparameter.
    public func makeOptimizer() throws -> any Optimizer<Float> {
        switch kind {
        case .sgd: try SGD<Float>(learningRate: learningRate, momentum: momentum, nesterov: nesterov, weightDecay: weightDecay)
        case .adam: try Adam<Float>(learningRate: learningRate, betas: (beta1, beta2), epsilon: epsilon, weightDecay: weightDecay)
        case .adamw: try AdamW<Float>(learningRate: learningRate, betas: (beta1, beta2), epsilon: epsilon, weightDecay: weightDecay)
        case .rmsprop: try RMSprop<Float>(learningRate: learningRate, epsilon: epsilon, weightDecay: weightDecay, momentum: momentum)
        }
    }
}

/// A learning-rate schedule over optimizer steps, built on ``LearningRateSchedule``.
public struct ScheduleConfiguration: Codable, Sendable, Equatable {
    /// The shape after warm-up.
    public enum Kind: String, Codable, Sendable, Equatable, CaseIterable {
        /// The base rate throughout (``ConstantLearningRate``).
        case constant
        /// ``StepDecay`` by `gamma` every `stepSize` steps.
        case step
        /// ``CosineAnnealing`` to `minimumLearningRate` over `totalSteps − warmupSteps` steps.
        case cosine
    }
    /// The shape (default constant).
    public var kind: Kind
    /// Linear warm-up steps from 0 (default 0).
    public var warmupSteps: Int
    /// Total steps, for cosine (default 1000).
    public var totalSteps: Int
    /// Steps between decays, for step decay (default 1000).
    public var stepSize: Int
    /// Decay factor, for step decay (default 0.1).
    public var gamma: Double
    /// Final rate, for cosine (default 0).
    public var minimumLearningRate: Double

    /// Creates the configuration; the default is a constant rate.
    public init(kind: Kind = .constant, warmupSteps: Int = 0, totalSteps: Int = 1000, stepSize: Int = 1000,
                gamma: Double = 0.1, minimumLearningRate: Double = 0) {
        self.kind = kind
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.stepSize = stepSize
        self.gamma = gamma
        self.minimumLearningRate = minimumLearningRate
    }

    /// The schedule for base rate `learningRate`.
    /// - Throws: ``RNNKitError`` for invalid step counts.
    public func makeSchedule(learningRate: Double) throws -> any LearningRateSchedule {
        let after: any LearningRateSchedule = switch kind {
        case .constant: ConstantLearningRate(learningRate)
        case .step: try StepDecay(baseLearningRate: learningRate, stepSize: stepSize, gamma: gamma)
        case .cosine: try CosineAnnealing(baseLearningRate: learningRate, maximumSteps: max(totalSteps - warmupSteps, 1),
                                          minimumLearningRate: minimumLearningRate)
        }
        return warmupSteps > 0 ? try LinearWarmup(warmupSteps: warmupSteps, then: after) : after
    }
}

/// How a ``Trainer`` cuts a ``TrainingData/stream(_:)`` into minibatches of `B` windows of `T`
/// tokens (the target of each token is the next one). Independent sequences and pairs ignore it.
public enum StreamSampling: String, Codable, Sendable, Equatable, CaseIterable {
    /// `B` contiguous strips read side by side `T` tokens at a time, each window starting from the
    /// final state of the one before it in its strip, the state reset at each epoch (char-rnn's
    /// truncated BPTT; the default). One epoch reads every strip once.
    case strips
    /// `B` windows whose starts are drawn uniformly from `0 … n − T − 1` for a stream of `n` tokens
    /// at every step, each run from a zero state (no state carried), as most PyTorch scripts sample
    /// a corpus. An epoch is as many steps as ``strips`` takes for one pass. The draws come from the
    /// trainer's seeded data-order generator, saved in checkpoints.
    case randomWindows = "random_windows"
}

/// Everything a ``Trainer`` needs besides the model and the data.
public struct TrainerConfiguration: Codable, Sendable, Equatable {
    /// Rows per minibatch `B` (default 32); for a token stream, the number of parallel strips.
    public var batchSize: Int
    /// Window length `T` of truncated BPTT over a token stream (default 64); unused for independent sequences.
    public var sequenceLength: Int
    /// How a token stream is cut into minibatches (default ``StreamSampling/strips``); unused for
    /// independent sequences and pairs. Evaluation reads a stream as strips whatever this is.
    public var streamSampling: StreamSampling
    /// The optimizer (default Adam, lr 0.001).
    public var optimizer: OptimizerConfiguration
    /// The learning-rate schedule (default constant).
    public var schedule: ScheduleConfiguration
    /// Clip the global gradient norm to this (default 5); `nil` for no norm clipping.
    public var gradientClipNorm: Double?
    /// Clamp each gradient to ±this (default `nil`, off); applied after norm clipping.
    public var gradientClipValue: Double?
    /// Seed of the data shuffling (default 0). Model initialisation and dropout use the model's own seed.
    public var seed: UInt64
    /// Group sequences of similar length into the same minibatch (default `true`): less padding.
    public var bucketByLength: Bool
    /// Validate every this many steps (default 0: never during ``Trainer/train(steps:)``).
    public var validationInterval: Int
    /// Write a checkpoint every this many steps to ``checkpointPath`` (default 0: never).
    public var checkpointInterval: Int
    /// Where periodic checkpoints go (default `nil`).
    public var checkpointPath: String?
    /// Skip a step whose loss or gradient is NaN or infinite instead of applying it (default `true`).
    public var skipNonFiniteSteps: Bool
    /// Stop with an error after this many consecutive skipped steps (default 5).
    public var maximumConsecutiveNonFiniteSteps: Int
    /// Class weights and label smoothing of every training cross-entropy: sequence heads, language
    /// models, seq2seq decoders (default none; the weights are per class, or per target id).
    /// Evaluation always reports the plain cross-entropy, so runs with different options compare.
    public var classification: CrossEntropyOptions

    /// Creates the configuration; see each property for its default.
    public init(batchSize: Int = 32, sequenceLength: Int = 64, optimizer: OptimizerConfiguration = OptimizerConfiguration(),
                schedule: ScheduleConfiguration = ScheduleConfiguration(), gradientClipNorm: Double? = 5,
                gradientClipValue: Double? = nil, seed: UInt64 = 0, bucketByLength: Bool = true,
                validationInterval: Int = 0, checkpointInterval: Int = 0, checkpointPath: String? = nil,
                skipNonFiniteSteps: Bool = true, maximumConsecutiveNonFiniteSteps: Int = 5,
                streamSampling: StreamSampling = .strips, classification: CrossEntropyOptions = CrossEntropyOptions()) {
        self.classification = classification
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.streamSampling = streamSampling
        self.optimizer = optimizer
        self.schedule = schedule
        self.gradientClipNorm = gradientClipNorm
        self.gradientClipValue = gradientClipValue
        self.seed = seed
        self.bucketByLength = bucketByLength
        self.validationInterval = validationInterval
        self.checkpointInterval = checkpointInterval
        self.checkpointPath = checkpointPath
        self.skipNonFiniteSteps = skipNonFiniteSteps
        self.maximumConsecutiveNonFiniteSteps = maximumConsecutiveNonFiniteSteps
    }

    /// Throws unless the sizes and intervals are usable.
    public func validate() throws {
        guard batchSize >= 1, sequenceLength >= 1 else {
            throw RNNKitError(.invalidArgument, "batch size and sequence length must be at least 1, got \(batchSize) and \(sequenceLength)")
        }
        guard validationInterval >= 0, checkpointInterval >= 0, maximumConsecutiveNonFiniteSteps >= 1 else {
            throw RNNKitError(.invalidArgument,
                "intervals must be ≥ 0 and the consecutive non-finite step limit ≥ 1, got \(validationInterval), \(checkpointInterval), \(maximumConsecutiveNonFiniteSteps)")
        }
        if checkpointInterval > 0, checkpointPath == nil {
            throw RNNKitError(.invalidArgument, "a checkpoint interval of \(checkpointInterval) needs a checkpoint path")
        }
        try classification.validate(classCount: classification.classWeights?.count ?? 1)
    }

    /// The configuration as `training.config.*` metadata strings (the checkpoint path is not recorded).
    var fileMetadata: [String: String] {
        let p = "training.config."
        let o = optimizer, s = schedule
        return [
            p + "batch_size": String(batchSize), p + "sequence_length": String(sequenceLength),
            p + "stream_sampling": streamSampling.rawValue,
            p + "optimizer": o.kind.rawValue, p + "learning_rate": "\(o.learningRate)", p + "momentum": "\(o.momentum)",
            p + "nesterov": String(o.nesterov), p + "weight_decay": "\(o.weightDecay)", p + "beta1": "\(o.beta1)",
            p + "beta2": "\(o.beta2)", p + "epsilon": "\(o.epsilon)",
            p + "schedule": s.kind.rawValue, p + "warmup_steps": String(s.warmupSteps), p + "total_steps": String(s.totalSteps),
            p + "step_size": String(s.stepSize), p + "gamma": "\(s.gamma)", p + "minimum_learning_rate": "\(s.minimumLearningRate)",
            p + "clip_norm": gradientClipNorm.map { "\($0)" } ?? "none", p + "clip_value": gradientClipValue.map { "\($0)" } ?? "none",
            p + "seed": String(seed), p + "bucket_by_length": String(bucketByLength),
            p + "validation_interval": String(validationInterval), p + "checkpoint_interval": String(checkpointInterval),
            p + "skip_non_finite_steps": String(skipNonFiniteSteps),
            p + "maximum_consecutive_non_finite_steps": String(maximumConsecutiveNonFiniteSteps),
            p + "label_smoothing": "\(classification.labelSmoothing)",
            p + "class_weights": classification.classWeights.map { $0.map { "\($0)" }.joined(separator: ",") } ?? "none",
        ]
    }

    /// Reads ``fileMetadata`` (the checkpoint path is left `nil`). A file without
    /// `training.config.stream_sampling`, written before the key existed, was trained on strips;
    /// one without `label_smoothing` and `class_weights` with the plain loss.
    init(fileMetadata metadata: [String: String], source: String) throws {
        let r = MetadataReader(metadata: metadata, source: source), p = "training.config."
        func optional(_ key: String) throws -> Double? { try r.string(key) == "none" ? nil : try r.double(key) }
        let sampling = metadata[p + "stream_sampling"] == nil ? .strips : try r.enumeration(p + "stream_sampling", StreamSampling.self)
        var classification = CrossEntropyOptions()
        if metadata[p + "label_smoothing"] != nil { classification.labelSmoothing = try r.double(p + "label_smoothing") }
        if let weights = metadata[p + "class_weights"], weights != "none" {
            classification.classWeights = try weights.split(separator: ",", omittingEmptySubsequences: false).map {
                guard let weight = Double($0) else {
                    throw RNNKitError(.invalidFile, "\(source): metadata '\(p)class_weights' is \"\(weights)\"; expected comma-separated numbers or none")
                }
                return weight
            }
        }
        self.init(
            batchSize: try r.int(p + "batch_size"), sequenceLength: try r.int(p + "sequence_length"),
            optimizer: OptimizerConfiguration(
                kind: try r.enumeration(p + "optimizer", OptimizerConfiguration.Kind.self), learningRate: try r.double(p + "learning_rate"),
                momentum: try r.double(p + "momentum"), nesterov: try r.bool(p + "nesterov"), weightDecay: try r.double(p + "weight_decay"),
                beta1: try r.double(p + "beta1"), beta2: try r.double(p + "beta2"), epsilon: try r.double(p + "epsilon")),
            schedule: ScheduleConfiguration(
                kind: try r.enumeration(p + "schedule", ScheduleConfiguration.Kind.self), warmupSteps: try r.int(p + "warmup_steps"),
                totalSteps: try r.int(p + "total_steps"), stepSize: try r.int(p + "step_size"), gamma: try r.double(p + "gamma"),
                minimumLearningRate: try r.double(p + "minimum_learning_rate")),
            gradientClipNorm: try optional(p + "clip_norm"), gradientClipValue: try optional(p + "clip_value"),
            seed: try r.uint64(p + "seed"), bucketByLength: try r.bool(p + "bucket_by_length"),
            validationInterval: try r.int(p + "validation_interval"), checkpointInterval: try r.int(p + "checkpoint_interval"),
            skipNonFiniteSteps: try r.bool(p + "skip_non_finite_steps"),
            maximumConsecutiveNonFiniteSteps: try r.int(p + "maximum_consecutive_non_finite_steps"),
            streamSampling: sampling, classification: classification)
    }
}
