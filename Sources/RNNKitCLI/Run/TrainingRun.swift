// `rnnkit train`: resolve the options, read and check the data, build (or resume) the model and
// the Trainer, then the loop that reports progress and writes the run directory.
//
// Order matters for "no half-written files": every option and the data are checked before the run
// directory is created, and every file in it is replaced atomically.

import Foundation
import RNNKit

enum TrainingRun {
    /// Runs `rnnkit train` with the parsed `command`.
    static func start(command: TrainCommand, console: Console) throws {
        if let resume = command.resume {
            try resumeRun(directoryPath: resume, command: command, console: console)
        } else {
            try newRun(command: command, console: console)
        }
    }

    // MARK: New run

    static func newRun(command: TrainCommand, console: Console) throws {
        let task: RunConfiguration.Task, kind: RunConfiguration.DataSource.Kind, dataPath: String
        if let csv = command.csv {
            (task, kind, dataPath) = (command.labelColumn != nil ? .classify : .forecast, .csv, absolutePath(csv))
        } else if let tsv = command.tsv {
            (task, kind, dataPath) = (.classify, .tsv, absolutePath(tsv))
        } else if let conll = command.conll {
            (task, kind, dataPath) = (.tag, .conll, absolutePath(conll))
        } else if let pairs = command.pairs {
            (task, kind, dataPath) = (.translate, .pairs, absolutePath(pairs))
        } else if let text = command.text {
            (task, kind, dataPath) = (.charLM, .text, absolutePath(text))
        } else {
            (task, kind, dataPath) = (.charLM, .builtin, try BuiltinCorpus.locate())
        }
        let isText = task == .charLM
        let optimizer = command.optimizer ?? Defaults.optimizer
        var configuration = RunConfiguration(
            task: task,
            data: .init(kind: kind, path: kind == .builtin ? nil : dataPath, column: command.column,
                        inputColumns: try command.inputColumns.map { try TrainCommand.parseColumnList($0, option: "--input-columns") },
                        horizon: command.horizon,
                        sequenceColumn: command.sequenceColumn, labelColumn: command.labelColumn,
                        featureColumns: try command.featureColumns.map { try TrainCommand.parseColumnList($0) },
                        tokens: kind == .tsv || kind == .pairs ? command.tokens ?? .chars : nil, minCount: command.minCount,
                        validationPath: command.val.map(absolutePath), length: 0),
            model: .init(
                cell: (command.cell ?? .lstm).kind,
                hidden: command.hidden ?? (isText ? Defaults.textHidden : task == .forecast ? Defaults.seriesHidden : Defaults.classifierHidden),
                layers: command.layers ?? (isText ? Defaults.textLayers : 1),
                bidirectional: command.bidirectional || ((task == .tag || task == .translate) && !command.unidirectional),
                dropout: command.dropout ?? (isText ? Defaults.textDropout : 0),
                embedding: 0, peepholes: command.peepholes ? true : nil, recurrentDropout: command.recurrentDropout,
                zoneoutHidden: command.zoneout,
                zoneoutCell: (command.cell ?? .lstm) == .lstm ? command.zoneoutCell ?? command.zoneout : nil,
                projectionSize: command.projSize, layerNorm: command.layerNorm ? true : nil),
            training: .init(
                seqLen: readsWholeSequences(task) ? 0 : command.seqLen ?? (isText ? Defaults.textSeqLen : Defaults.seriesSeqLen),
                batch: command.batch ?? Defaults.batch,
                steps: command.stepsUnlessEpochs,
                learningRate: command.lr ?? (optimizer == .sgd ? 0.1 : Defaults.learningRate),
                optimizer: optimizer,
                clip: command.clip ?? 5,
                seed: command.seed ?? 1,
                threads: command.threads ?? defaultThreadCount(),
                valFraction: command.valFraction ?? 0.1,
                evalEvery: 0,
                schedule: command.schedule ?? (isText ? Defaults.textSchedule : Defaults.seriesSchedule),
                weightDecay: command.weightDecay ?? Defaults.weightDecay,
                momentum: optimizer.hasMomentum ? command.momentum ?? (optimizer == .sgd ? Defaults.sgdMomentum : Defaults.rmspropMomentum) : nil,
                sampling: isText ? command.sampling ?? Defaults.sampling : nil,
                evalBatches: command.evalBatches ?? Defaults.evalBatches))

        // The data, checked before anything is written.
        let (data, source) = try InputProgress.showing(URL(fileURLWithPath: dataPath).lastPathComponent, on: console) {
            try PreparedData.load(configuration, path: dataPath, expectedFingerprint: nil)
        }
        configuration.data = source
        if let epochs = command.epochs {
            configuration.training.steps = min(10_000_000, epochs * stepsPerEpoch(data, configuration))
            try TrainCommand.requireWarmup(command.warmup, below: configuration.training.steps)
        }
        configuration.training.warmup = command.warmup ?? Defaults.warmup(steps: configuration.training.steps, isText: isText)
        configuration.training.evalEvery = command.evalEvery ?? defaultEvaluationInterval(configuration.training.steps)

        // The model and the trainer.
        setThreadCount(configuration.training.threads)
        let model: LoadedModel, trainer: Trainer
        if case .textPairs(let pairs) = data {
            configuration.model.embedding = command.embedding ?? min(64, max(16, pairs.targetVocabulary.tokens.count / 2))
            configuration.model.attention = command.attention ?? .additive
            configuration.model.inputFeeding = command.inputFeeding
            let translator = try Seq2SeqModel(translatorConfiguration(configuration, pairs))
            (model, trainer) = (.seq2seq(translator), try Trainer(model: translator, training: data.trainingData, validation: data.validationData,
                                                                     configuration: trainerConfiguration(configuration)))
        } else {
            let sequenceModel = try makeSequenceModel(&configuration, data: data, embedding: command.embedding)
            (model, trainer) = (.sequence(sequenceModel), try Trainer(model: sequenceModel, training: data.trainingData,
                                                                         validation: data.validationData,
                                                                         configuration: trainerConfiguration(configuration)))
        }

        // The run directory.
        let directory = try RunDirectory.createNew(at: command.out ?? defaultRunDirectory(configuration, dataPath: dataPath))
        try directory.writeConfiguration(configuration)
        console.line("rnnkit train: \(describe(configuration, data: data, parameters: model.parameterCount))")
        console.line("run directory: \(directory.path)")
        var state = LoopState(metrics: newMetricsLog(task))
        try loop(trainer: trainer, model: model, data: data, configuration: configuration, directory: directory,
                 state: &state, stopAfter: command.stopAfter, profile: command.profile ? TrainingProfile() : nil, console: console)
    }

    /// The sequence model of a run on `data` (not a translator's), its embedding size recorded in `configuration`.
    static func makeSequenceModel(_ configuration: inout RunConfiguration, data: PreparedData, embedding: Int?) throws -> SequenceModel {
        let model: SequenceModel
        switch data {
        case .characters(let characters):
            configuration.model.embedding = embedding ?? min(64, max(16, characters.vocabulary.count / 2))
            model = try SequenceModel(configuration.model.withCellVariants(.tokens(
                vocabularySize: characters.vocabulary.count, embeddingSize: configuration.model.embedding,
                cell: configuration.model.cell, hiddenSize: configuration.model.hidden, numLayers: configuration.model.layers,
                dropout: configuration.model.dropout, initialization: .recommended(for: configuration.model.cell),
                seed: configuration.training.seed)))
            model.vocabulary = characters.vocabulary
        case .series(let series):
            model = try SequenceModel(configuration.model.withCellVariants(.features(
                featureSize: series.inputColumns.count, cell: configuration.model.cell, hiddenSize: configuration.model.hidden,
                numLayers: configuration.model.layers, bidirectional: configuration.model.bidirectional,
                dropout: configuration.model.dropout, head: .lastStep, outputSize: series.horizon,
                initialization: .recommended(for: configuration.model.cell), seed: configuration.training.seed)))
        case .taggedSentences(let sentences):
            model = try wordModel(&configuration, vocabularySize: sentences.vocabulary.tokens.count, embedding: embedding,
                                  head: .everyStep, outputSize: sentences.tags.count)
        case .labelledSequences(let sequences) where sequences.vocabulary != nil:
            model = try wordModel(&configuration, vocabularySize: sequences.vocabulary!.tokens.count, embedding: embedding,
                                  head: .lastStep, outputSize: sequences.classes.count)
        case .textPairs:
            throw CLIError("a translator's pairs make a Seq2SeqModel, not a sequence model")
        case .labelledSequences(let sequences):
            model = try SequenceModel(configuration.model.withCellVariants(.features(
                featureSize: sequences.featureColumns.count, cell: configuration.model.cell, hiddenSize: configuration.model.hidden,
                numLayers: configuration.model.layers, bidirectional: configuration.model.bidirectional,
                dropout: configuration.model.dropout, head: .lastStep, outputSize: sequences.classes.count,
                initialization: .recommended(for: configuration.model.cell), seed: configuration.training.seed)))
        }
        return model
    }

    /// The encoder–decoder of a translator run: the recorded model options, the pairs' vocabularies
    /// (the target's begin and end ids after its tokens).
    static func translatorConfiguration(_ configuration: RunConfiguration, _ pairs: PreparedData.PairData) -> Seq2SeqConfiguration {
        let model = configuration.model, V = pairs.targetVocabulary.tokens.count
        let translator = Seq2SeqConfiguration(
            sourceVocabularySize: pairs.sourceVocabulary.tokens.count, targetVocabularySize: V + 2, embeddingSize: model.embedding,
            cell: model.cell, hiddenSize: model.hidden, numLayers: model.layers, dropout: model.dropout, beginToken: V, endToken: V + 1,
            initialization: .recommended(for: model.cell), seed: configuration.training.seed, bidirectionalEncoder: model.bidirectional,
            attention: model.attention ?? .additive, inputFeeding: model.inputFeeding ?? false)
        return model.withCellVariants(translator)
    }

    /// A text classifier's or tagger's model: an embedding of `--embedding` (default min(64, max(16, V/2)),
    /// recorded in `configuration`), the run's stack and `head`.
    static func wordModel(_ configuration: inout RunConfiguration, vocabularySize V: Int, embedding: Int?,
                          head: SequenceHeadKind, outputSize: Int) throws -> SequenceModel {
        configuration.model.embedding = embedding ?? min(64, max(16, V / 2))
        let model = configuration.model
        return try SequenceModel(model.withCellVariants(.tokens(
            vocabularySize: V, embeddingSize: model.embedding, cell: model.cell, hiddenSize: model.hidden, numLayers: model.layers,
            bidirectional: model.bidirectional, dropout: model.dropout, head: head, outputSize: outputSize,
            initialization: .recommended(for: model.cell), seed: configuration.training.seed)))
    }

    // MARK: Resume

    static func resumeRun(directoryPath: String, command: TrainCommand, console: Console) throws {
        let (directory, recorded) = try RunDirectory.openExisting(directoryPath, option: "--resume")
        var configuration = recorded
        let dataPath = configuration.data.kind == .builtin ? try BuiltinCorpus.locate() : (configuration.data.path ?? "")
        let (data, _) = try InputProgress.showing(URL(fileURLWithPath: dataPath).lastPathComponent, on: console) {
            try PreparedData.load(configuration, path: dataPath, expectedFingerprint: configuration.data.fingerprint)
        }
        if let steps = command.steps { configuration.training.steps = steps }
        if let epochs = command.epochs { configuration.training.steps = min(10_000_000, epochs * stepsPerEpoch(data, configuration)) }
        if let threads = command.threads { configuration.training.threads = threads }
        setThreadCount(configuration.training.threads)

        let trainer: Trainer
        do {
            trainer = try Trainer(
                resumingFrom: directory.checkpointPath, training: data.trainingData, validation: data.validationData,
                configuration: trainerConfiguration(configuration))
        } catch let error as RNNKitError {
            throw CLIError("cannot resume '\(directory.path)': \(error.message)")
        }
        let model = trainer.model
        guard (configuration.task == .translate) == (model.sequence == nil) else {
            throw CLIError("'\(directory.checkpointPath)' holds another kind of model than its config.json's task \(configuration.task.rawValue); the run directory is damaged")
        }
        guard trainer.step < configuration.training.steps else {
            throw CLIError("the run in '\(directory.path)' has already taken \(trainer.step) of its \(configuration.training.steps) steps; pass --steps N with N > \(trainer.step) to train further")
        }
        // Rows past the checkpoint (logged after it, before an interruption) are dropped: training redoes them.
        var state = LoopState(metrics: newMetricsLog(configuration.task))
        if let text = try? String(contentsOfFile: directory.metricsPath, encoding: .utf8) {
            state.metrics = try MetricsLog(csvText: text, source: directory.metricsPath)
            state.metrics.records.removeAll { $0.step > trainer.step }
        }
        state.elapsedBefore = state.metrics.records.last?.elapsedSeconds ?? 0
        state.samples = (try? String(contentsOfFile: directory.samplesPath, encoding: .utf8)) ?? ""
        try directory.writeConfiguration(configuration)
        console.line("rnnkit train: resuming \(directory.path) at step \(trainer.step) of \(configuration.training.steps)")
        try loop(trainer: trainer, model: model, data: data, configuration: configuration, directory: directory,
                 state: &state, stopAfter: command.stopAfter, profile: command.profile ? TrainingProfile() : nil, console: console)
    }

    // MARK: The loop

    /// What the loop carries between steps and across a resumption.
    struct LoopState {
        var metrics: MetricsLog
        var elapsedBefore = 0.0
        /// The text of samples.txt so far (character models).
        var samples = ""
    }

    static func loop(trainer: Trainer, model: LoadedModel, data: PreparedData, configuration: RunConfiguration,
                     directory: RunDirectory, state: inout LoopState, stopAfter: Int?, profile: TrainingProfile?,
                     console: Console) throws {
        let total = configuration.training.steps
        let lastStep = min(total, stopAfter ?? total)
        let evaluationInterval = configuration.training.evalEvery
        let logInterval = max(1, evaluationInterval / 5)
        let isText = configuration.task == .charLM
        let reporter = ProgressReporter(console: console, totalSteps: total, firstStep: trainer.step,
                                        unit: countsTokens(configuration.task) ? "tok/s" : "seq/s", elapsedBefore: state.elapsedBefore,
                                        metricName: metricName(configuration.task))
        let yLabel = switch configuration.task {
        case .charLM: "loss (nats per character)"
        case .forecast: "mean squared error (standardised)"
        case .classify: "cross-entropy (nats per sequence)"
        case .tag: "cross-entropy (nats per token)"
        case .translate: "cross-entropy (nats per target token)"
        }
        let plot = LossPlot(
            title: "\(URL(fileURLWithPath: directory.path).lastPathComponent): \(configuration.model.cell.commandLineName) \(configuration.model.layers)×\(configuration.model.hidden) on \(dataName(configuration))",
            yLabel: yLabel, metricName: metricName(configuration.task))
        var lossSum = 0.0, lossCount = 0, positions = 0, stepSeconds = 0.0
        var shownLoss = Double.nan
        var lastValidation: Double?
        trainer.profile = profile
        let loopStarted = ContinuousClock.now
        var allStepSeconds = 0.0

        while trainer.step < lastStep {
            let started = ContinuousClock.now
            let report = try trainer.trainStep()
            let seconds = seconds(started.duration(to: .now))
            stepSeconds += seconds
            allStepSeconds += seconds
            if !report.skipped {
                lossSum += report.loss
                lossCount += 1
            }
            positions += report.positions
            let step = trainer.step
            let evaluates = step % evaluationInterval == 0 || step == total || step == lastStep
            let logs = evaluates || step % logInterval == 0

            var validationLoss: Double?, validationMetric: Double?
            if evaluates {
                // The validation's forwards count as validation, not as the steps' forwards.
                trainer.profile = nil
                (validationLoss, validationMetric) = try profiled(profile, .validation) {
                    try validationNow(trainer: trainer, model: model, data: data, configuration: configuration)
                }
                trainer.profile = profile
                lastValidation = validationLoss
            }
            if lossCount > 0 { shownLoss = lossSum / Double(lossCount) }
            let throughput = stepSeconds > 0 ? Double(positions) / stepSeconds : 0
            reporter.update(step: step, trainLoss: shownLoss, validationLoss: validationLoss, validationMetric: validationMetric,
                            throughput: throughput, logLine: logs)
            if logs {
                state.metrics.records.append(MetricsRecord(
                    step: step, trainLoss: lossCount > 0 ? shownLoss : .nan, validationLoss: validationLoss,
                    throughput: throughput, elapsedSeconds: reporter.elapsedSeconds, validationMetric: validationMetric))
                (lossSum, lossCount, positions, stepSeconds) = (0, 0, 0, 0)
                try profiled(profile, .logging) {
                    try writeAtomically(state.metrics.csvText(), to: directory.metricsPath)
                    try writeAtomically(plot.svg(for: state.metrics.records), to: directory.plotPath)
                }
            }
            if evaluates {
                try profiled(profile, .checkpoint) { try trainer.saveCheckpoint(to: directory.checkpointPath) }
                if isText, let validationLoss {
                    let sample = try profiled(profile, .sampling) {
                        try model.sequence!.sampleText(prime: samplePrime(model.sequence!), length: 120, temperature: 0.8, seed: configuration.training.seed)
                    }
                    state.samples += "step \(step), validation \(String(format: "%.3f", validationLoss / log(2))) bits/char:\n\(samplePrime(model.sequence!))\(sample)\n\n"
                    try writeAtomically(state.samples, to: directory.samplesPath)
                    reporter.message("step \(step): validation loss \(String(format: "%.4f", validationLoss)) = \(String(format: "%.3f", validationLoss / log(2))) bits/char | \(oneLine(String((samplePrime(model.sequence!) + sample).prefix(72))))…")
                }
            }
        }
        reporter.finish()
        if let profile {
            for line in profileLines(profile, stepSeconds: allStepSeconds, loopSeconds: seconds(loopStarted.duration(to: .now))) {
                console.line(line)
            }
        }
        if lastStep < total {
            console.line("stopped after step \(lastStep) of \(total); continue with: rnnkit train --resume \(directory.path)")
            return
        }
        try summarize(model: model, data: data, configuration: configuration, directory: directory,
                      validationLoss: lastValidation, console: console)
    }

    /// The validation loss now — nats per character over the validation text, the mean squared
    /// error (standardised units) over the validation windows, or the mean cross-entropy over the
    /// validation sequences — and the task's metric (a classifier's accuracy; `nil` for the others);
    /// over all of the validation data, or the first `--eval-batches` windows of each strip or minibatches.
    static func validationNow(trainer: Trainer, model: LoadedModel, data: PreparedData, configuration: RunConfiguration) throws
        -> (loss: Double, metric: Double?) {
        let bound = configuration.training.evalBatches
        switch data {
        case .characters(let characters):
            return (try streamLoss(model.sequence!, tokens: characters.validation, windowLength: configuration.training.seqLen,
                                   strips: configuration.training.batch, maximumWindows: bound).loss, nil)
        case .series:
            return (try trainer.validate(maximumBatches: bound)?.loss ?? .nan, nil)
        case .labelledSequences:
            let report = try trainer.validate(maximumBatches: bound)
            return (report?.loss ?? .nan, report?.accuracy)
        case .taggedSentences(let sentences):
            let report = try trainer.validate(maximumBatches: bound)
            let examples = bound.map { Array(sentences.validation.prefix($0 * configuration.training.batch)) } ?? sentences.validation
            return (report?.loss ?? .nan, try entityScores(model.sequence!, examples, tags: sentences.tags).overall.f1)
        case .textPairs(let pairs):
            let report = try trainer.validate(maximumBatches: bound)
            let validation = bound.map { Array(pairs.validationPairs.prefix($0 * configuration.training.batch)) } ?? pairs.validationPairs
            return (report?.loss ?? .nan, try translationScores(model.seq2seq!, validation, configuration: configuration, beamWidth: 1).exactMatch)
        }
    }

    /// What a person reads at the end: where everything is, and how good the model is.
    static func summarize(model: LoadedModel, data: PreparedData, configuration: RunConfiguration, directory: RunDirectory,
                          validationLoss: Double?, console: Console) throws {
        console.line()
        switch data {
        case .characters(let characters):
            let bits = (validationLoss ?? .nan) / log(2)
            let unigram = unigramBits(characters.training, vocabularySize: characters.vocabulary.count)
            console.line(String(format: "validation: %.3f bits per character (a model that knows only character frequencies: %.3f; uniform over %d characters: %.3f)",
                                bits, unigram, characters.vocabulary.count, log2(Double(characters.vocabulary.count))))
            let prime = samplePrime(model.sequence!)
            let sample = try model.sequence!.sampleText(prime: prime, length: 400, temperature: 0.8, seed: configuration.training.seed)
            console.line("sample (temperature 0.8):")
            console.line("----")
            console.line(prime + sample)
            console.line("----")
        case .series(let series):
            let mse = (validationLoss ?? .nan) * series.standardDeviation * series.standardDeviation
            let baseline = lastValueBaseline(series)
            let what = series.horizon == 1 ? "next-value" : "\(series.horizon)-step"
            console.line(String(format: "validation: %@ MSE %.6g (last-value baseline %.6g, %.1f× lower)", what, mse, baseline, baseline / mse))
        case .textPairs(let pairs):
            let scores = try translationScores(model.seq2seq!, pairs.validationPairs, configuration: configuration, beamWidth: 1)
            console.line(String(format: "validation: exact match %.1f%%, token accuracy %.1f%%, character error rate %.2f%% over %d pairs (greedy decoding)",
                                100 * scores.exactMatch, 100 * scores.tokenAccuracy, 100 * scores.characterErrorRate, pairs.validationPairs.count))
        case .taggedSentences(let sentences):
            let scores = try entityScores(model.sequence!, sentences.validation, tags: sentences.tags)
            console.line(String(format: "validation: entity F1 %.3f (precision %.3f, recall %.3f), token accuracy %.1f%% over %d sentences (always '%@', the most frequent training tag: %.1f%%)",
                                scores.overall.f1, scores.overall.precision, scores.overall.recall, 100 * scores.tokenAccuracy,
                                sentences.validation.count, sentences.tags[mostFrequentTag(sentences)], 100 * mostFrequentTagAccuracy(sentences)))
        case .labelledSequences(let sequences):
            let predicted = try predictClasses(model.sequence!, sequences.validation)
            let metrics = try ClassificationMetrics(predictions: predicted.map(\.predicted),
                                                    references: sequences.validation.map { $0.targetClasses[0] },
                                                    classCount: sequences.classes.count)
            let trainingCounts = sequences.training.reduce(into: [Int](repeating: 0, count: sequences.classes.count)) { $0[$1.targetClasses[0]] += 1 }
            let majority = trainingCounts.indices.max { trainingCounts[$0] < trainingCounts[$1] }!
            let baseline = Double(sequences.validation.filter { $0.targetClasses[0] == majority }.count) / Double(sequences.validation.count)
            console.line(String(format: "validation: accuracy %.1f%%, macro-F1 %.3f over %d %@ (always '%@', the most frequent training label: %.1f%%)",
                                100 * metrics.accuracy, metrics.macroF1, sequences.validation.count,
                                sequences.vocabulary == nil ? "sequences" : "texts", sequences.classes[majority], 100 * baseline))
        }
        console.line("run directory: \(directory.path)")
        console.line("  checkpoint   \(directory.checkpointPath)")
        console.line("  metrics      \(directory.metricsPath)")
        console.line("  loss plot    \(directory.plotPath)")
        switch data {
        case .characters:
            console.line("next: rnnkit generate --model \(directory.path) --prime \"The \" --length 300")
        case .series:
            console.line("next: rnnkit forecast --model \(directory.path) --csv \(configuration.data.path ?? "FILE") --horizon 20")
        case .taggedSentences:
            console.line("next: rnnkit eval --model \(directory.path) --conll FILE, or rnnkit predict --model \(directory.path) --conll FILE")
        case .textPairs:
            console.line("next: rnnkit eval --model \(directory.path) --pairs FILE, or echo 'a source' | rnnkit translate --model \(directory.path)")
        case .labelledSequences:
            let option = configuration.data.kind == .tsv ? "--tsv" : "--csv"
            console.line("next: rnnkit eval --model \(directory.path) \(option) FILE, or rnnkit predict --model \(directory.path) \(option) FILE")
        }
    }
}

// MARK: Defaults and helpers

/// The defaults of `rnnkit train`, chosen so that the built-in run takes about two minutes on two cores.
/// A new run records the values in its config.json, so changing one here changes new runs only; what a
/// config.json without a key means is fixed apart from these (RunConfiguration.TrainingOptions).
enum Defaults {
    static let builtinSteps = 1500
    static let textSteps = 1000
    static let seriesSteps = 600
    static let textHidden = 128
    static let textLayers = 1
    static let textDropout = 0.0
    static let textSeqLen = 64
    static let seriesHidden = 32
    static let seriesSeqLen = 24
    static let classifierSteps = 1000
    static let classifierHidden = 64
    /// Occurrences in the training texts a word needs for an id of its own (`--min-count`).
    static let minCount = 2
    static let batch = 32
    static let learningRate = 0.003
    static let optimizer = OptimizerChoice.adam
    /// The schedule of a character model: a constant rate learned 0.07–0.18 nats per character
    /// better than a cosine decay on every text of docs/cli.md's measurement.
    static let textSchedule = ScheduleChoice.constant
    /// The schedule of a forecaster (not measured again since it was chosen).
    static let seriesSchedule = ScheduleChoice.cosine
    /// Warm-up steps of a run of `steps` steps; the help of --warmup shows ``warmupDescription``.
    static func warmup(steps: Int, isText: Bool) -> Int { isText ? 0 : min(50, steps / 10) }
    static let warmupDescription = "0 for text, min(50, steps/10) for CSV"
    /// Random windows learned as well as the strips or better on every text of docs/cli.md's measurement.
    static let sampling = SamplingChoice.random
    static let weightDecay = 0.0
    static let sgdMomentum = 0.9
    static let rmspropMomentum = 0.0
    /// Batches per validation: `nil` for all of the validation data.
    static let evalBatches: Int? = nil
}

extension PreparedData {
    /// The Trainer's training data: a token stream, the forecasting windows, or the labelled sequences.
    var trainingData: TrainingData {
        switch self {
        case .characters(let characters): .stream(characters.training)
        case .series(let series): .sequences(series.training)
        case .labelledSequences(let sequences): .sequences(sequences.training)
        case .taggedSentences(let sentences): .sequences(sentences.training)
        case .textPairs(let pairs): .pairs(pairs.training)
        }
    }

    /// The Trainer's validation data: none for character models (the CLI evaluates the whole
    /// validation text itself, see streamLoss), the held-out windows or sequences for the others.
    var validationData: TrainingData? {
        switch self {
        case .characters: nil
        case .series(let series): .sequences(series.validation)
        case .labelledSequences(let sequences): .sequences(sequences.validation)
        case .taggedSentences(let sentences): .sequences(sentences.validation)
        case .textPairs(let pairs): .pairs(pairs.validation)
        }
    }
}

/// The Trainer settings of a run. After `w` steps of linear warm-up from 0, over the `n − w` steps
/// left of `n`: `constant` keeps --lr; `cosine` decays it to lr/10 at the last step; `step` multiplies
/// it by 0.1 every ⌈(n − w)/3⌉ steps (PyTorch's `StepLR(step_size, gamma=0.1)`), so the run ends in
/// three near-equal parts at lr, lr/10 and lr/100.
func trainerConfiguration(_ configuration: RunConfiguration) -> TrainerConfiguration {
    let training = configuration.training
    let steps = training.steps, warmup = training.effectiveWarmup
    let kind = training.optimizer.kind
    let schedule = switch training.effectiveSchedule {
    case .constant: ScheduleConfiguration(kind: .constant, warmupSteps: warmup, totalSteps: steps)
    case .cosine: ScheduleConfiguration(kind: .cosine, warmupSteps: warmup, totalSteps: steps, minimumLearningRate: training.learningRate / 10)
    case .step: ScheduleConfiguration(kind: .step, warmupSteps: warmup, totalSteps: steps, stepSize: max(1, (steps - warmup + 2) / 3), gamma: 0.1)
    }
    return TrainerConfiguration(
        batchSize: training.batch, sequenceLength: max(1, training.seqLen),   // a classifier records 0: it reads whole sequences
        optimizer: OptimizerConfiguration(kind: kind, learningRate: training.learningRate, momentum: training.effectiveMomentum,
                                          weightDecay: training.effectiveWeightDecay),
        schedule: schedule,
        gradientClipNorm: training.clip > 0 ? training.clip : nil,
        seed: training.seed,
        streamSampling: training.effectiveSampling.streamSampling)
}

/// The `--profile` table: each phase's wall seconds and share of the training loop, the step's
/// phases first, then what happens between steps.
func profileLines(_ profile: TrainingProfile, stepSeconds: Double, loopSeconds: Double) -> [String] {
    let stepPhases: [TrainingProfile.Phase] = [.data, .embedding, .recurrentForward, .recurrentBackward, .head, .loss, .clipping, .optimizer]
    let betweenSteps: [TrainingProfile.Phase] = [.validation, .sampling, .logging, .checkpoint]
    func line(_ name: String, _ value: Double) -> String {
        "  " + name.padding(toLength: 22, withPad: " ", startingAt: 0)
            + String(format: "%9.3f s %6.1f%%", value, loopSeconds > 0 ? 100 * value / loopSeconds : 0)
    }
    var lines = [String(format: "profile: %.3f s of training loop, %.3f s of it in steps", loopSeconds, stepSeconds)]
    let timedInSteps = stepPhases.reduce(0) { $0 + (profile.secondsByPhase[$1] ?? 0) }
    lines += stepPhases.map { line($0.rawValue, profile.secondsByPhase[$0] ?? 0) }
    lines.append(line("rest of the steps", max(0, stepSeconds - timedInSteps)))
    lines += betweenSteps.map { line($0.rawValue, profile.secondsByPhase[$0] ?? 0) }
    let timedBetween = betweenSteps.reduce(0) { $0 + (profile.secondsByPhase[$1] ?? 0) }
    lines.append(line("rest between steps", max(0, loopSeconds - stepSeconds - timedBetween)))
    return lines
}

/// Optimizer steps in one pass over the training data.
func stepsPerEpoch(_ data: PreparedData, _ configuration: RunConfiguration) -> Int {
    let batch = configuration.training.batch
    switch data {
    case .characters(let characters):
        let windows = StreamWindows(tokenCount: characters.training.count, batchSize: batch,
                                    sequenceLength: configuration.training.seqLen)
        return max(1, windows.windowsPerEpoch)
    case .series(let series):
        return max(1, (series.training.count + batch - 1) / batch)
    case .labelledSequences(let sequences):
        return max(1, (sequences.training.count + batch - 1) / batch)
    case .taggedSentences(let sentences):
        return max(1, (sentences.training.count + batch - 1) / batch)
    case .textPairs(let pairs):
        return max(1, (pairs.training.count + batch - 1) / batch)
    }
}

/// An empty metrics.csv for `task`: tokens per second for character models and taggers, sequences
/// per second for the others, and a classifier's validation accuracy or a tagger's entity F1.
func newMetricsLog(_ task: RunConfiguration.Task) -> MetricsLog {
    let metric: String? = switch task {
    case .charLM, .forecast: nil
    case .classify: "val_accuracy"
    case .tag: "val_entity_f1"
    case .translate: "val_exact_match"
    }
    return MetricsLog(throughputColumn: countsTokens(task) ? "tokens_per_second" : "sequences_per_second", metricColumn: metric)
}

/// Whether a training step's positions are tokens (a character model's, a tagger's) rather than sequences.
func countsTokens(_ task: RunConfiguration.Task) -> Bool { task == .charLM || task == .tag || task == .translate }

/// Whether `task` reads each example whole (no `--seq-len` window).
func readsWholeSequences(_ task: RunConfiguration.Task) -> Bool { task == .classify || task == .tag || task == .translate }

extension LoadedModel {
    /// The sequence model, or `nil` for an encoder–decoder.
    var sequence: SequenceModel? { if case .sequence(let model) = self { model } else { nil } }
    /// The encoder–decoder, or `nil` for a sequence model.
    var seq2seq: Seq2SeqModel? { if case .seq2seq(let model) = self { model } else { nil } }
    /// Trainable scalars.
    var parameterCount: Int {
        switch self {
        case .sequence(let model): model.parameterCount
        case .seq2seq(let model): model.parameterGroups.reduce(0) { $0 + $1.parameters.count }
        }
    }
}

/// The validation metric the progress line shows for `task`: a classifier's accuracy, a tagger's entity F1.
func metricName(_ task: RunConfiguration.Task) -> String? {
    switch task {
    case .charLM, .forecast: nil
    case .classify: "accuracy"
    case .tag: "entity F1"
    case .translate: "exact match"
    }
}

/// A tagger's entity scores (and token accuracy) on `examples`, their targets the reference tags.
func entityScores(_ model: SequenceModel, _ examples: [SequenceExample], tags: [String]) throws -> EntityMetrics {
    let predicted = try predictTags(model, examples)
    return try EntityMetrics(predicted: predicted.map { $0.map { tags[$0] } },
                             reference: examples.map { $0.targetClasses.map { tags[$0] } })
}

/// The tag most frequent among the training tokens.
func mostFrequentTag(_ sentences: PreparedData.TaggerData) -> Int {
    var counts = [Int](repeating: 0, count: sentences.tags.count)
    for example in sentences.training { for tag in example.targetClasses { counts[tag] += 1 } }
    return counts.indices.max { counts[$0] < counts[$1] }!
}

/// The token accuracy on the validation sentences of always answering ``mostFrequentTag(_:)``.
func mostFrequentTagAccuracy(_ sentences: PreparedData.TaggerData) -> Double {
    let tag = mostFrequentTag(sentences)
    let tokens = sentences.validation.flatMap(\.targetClasses)
    return Double(tokens.filter { $0 == tag }.count) / Double(max(1, tokens.count))
}

/// Every core, at every size: RNNKit's own workers split even small models' time loops without
/// OpenBLAS's thread hand-offs (docs/performance.md has the measurement).
func defaultThreadCount() -> Int {
    ProcessInfo.processInfo.activeProcessorCount
}

/// About ten validations per run, at a round number of steps.
func defaultEvaluationInterval(_ steps: Int) -> Int {
    let rough = max(1, steps / 10)
    let magnitude = Int(pow(10, floor(log10(Double(rough)))))
    return max(1, rough / magnitude * magnitude)
}

/// `runs/<data>-<yyyyMMdd-HHmmss>`, with `-2`, `-3`… if that exists.
func defaultRunDirectory(_ configuration: RunConfiguration, dataPath: String) -> String {
    let formatter = DateFormatter()
    formatter.dateFormat = "yyyyMMdd-HHmmss"
    formatter.locale = Locale(identifier: "en_US_POSIX")
    let base = "runs/\(dataName(configuration))-\(formatter.string(from: Date()))"
    var candidate = base
    var suffix = 2
    while FileManager.default.fileExists(atPath: candidate) {
        candidate = "\(base)-\(suffix)"
        suffix += 1
    }
    return candidate
}

/// A short name of the run's data: `corpus`, or the file's name without its extension.
func dataName(_ configuration: RunConfiguration) -> String {
    guard let path = configuration.data.path else { return "corpus" }
    let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
    return safe.isEmpty ? "data" : safe
}

func absolutePath(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

/// The one-line description printed when a run starts.
func describe(_ configuration: RunConfiguration, data: PreparedData, parameters: Int) -> String {
    let model = configuration.model, training = configuration.training
    let what: String
    switch data {
    case .characters(let characters):
        what = "character model on \(configuration.data.kind == .builtin ? "the built-in corpus" : configuration.data.path!) (\(grouped(configuration.data.length)) characters, \(characters.vocabulary.count) distinct)"
    case .series(let series):
        let inputs = configuration.data.inputColumns.map { "; inputs \($0.joined(separator: ","))" } ?? ""
        let horizon = series.horizon > 1 ? "; \(series.horizon) values at once" : ""
        what = "forecaster on column '\(configuration.data.column!)' of \(configuration.data.path!) (\(grouped(series.values.count)) values\(inputs)\(horizon))"
    case .labelledSequences(let sequences):
        let count = sequences.training.count + sequences.validation.count
        if let vocabulary = sequences.vocabulary {
            let unit = configuration.data.tokens ?? .chars
            what = "text classifier on \(configuration.data.path!) (\(grouped(count)) lines, \(sequences.classes.count) labels, \(grouped(vocabulary.tokens.count - 1)) \(unit == .words ? "words" : "characters") and <unk>)"
        } else {
            what = "classifier of the '\(configuration.data.sequenceColumn!)' sequences of \(configuration.data.path!) (\(grouped(count)) sequences, \(sequences.classes.count) labels, \(sequences.featureColumns.count) feature\(sequences.featureColumns.count == 1 ? "" : "s"))"
        }
    case .taggedSentences(let sentences):
        let count = sentences.training.count + sentences.validation.count
        let tokens = (sentences.training + sentences.validation).reduce(0) { $0 + $1.length }
        what = "tagger on \(configuration.data.path!) (\(grouped(count)) sentences, \(grouped(tokens)) tokens, \(sentences.tags.count) tags, \(grouped(sentences.vocabulary.tokens.count - 1)) words and <unk>)"
    case .textPairs(let pairs):
        let count = pairs.training.count + pairs.validation.count, unit = configuration.data.tokens ?? .chars
        let attention = configuration.model.attention ?? .additive
        what = "translator on \(configuration.data.path!) (\(grouped(count)) pairs; \(grouped(pairs.sourceVocabulary.tokens.count - 3)) source and \(grouped(pairs.targetVocabulary.tokens.count - 1)) target \(unit == .words ? "words" : "characters"); \(attention == .none ? "no" : attention.rawValue) attention\(configuration.model.inputFeeding == true ? " with input feeding" : ""))"
    }
    let batchShape = readsWholeSequences(configuration.task) ? "\(training.batch) sequences" : "\(training.batch)×\(training.seqLen)"
    return "\(what); \(model.bidirectional ? "bidirectional " : "")\(model.cellDescription) \(model.layers)×\(model.hidden)\(model.recurrentDropout.map { ", recurrent dropout \($0)" } ?? "")\(model.zoneoutHidden.map { ", zoneout \($0)" } ?? "")\(model.zoneoutCell.map { " (cell \($0))" } ?? ""), \(grouped(parameters)) parameters; \(training.steps) steps of \(batchShape), \(training.optimizer.rawValue) lr \(training.learningRate), \(training.summary(of: configuration.task)), \(training.threads) thread\(training.threads == 1 ? "" : "s")"
}

/// The prime for samples: "The " when the model knows those characters, else its first character.
func samplePrime(_ model: SequenceModel) -> String {
    guard let vocabulary = model.vocabulary else { return "" }
    if "The ".unicodeScalars.allSatisfy({ vocabulary.id(of: $0) != nil }) { return "The " }
    return String(Character(vocabulary.characters.first(where: { $0.properties.isAlphabetic }) ?? vocabulary.characters[0]))
}

/// `text` on one line: line breaks shown as ⏎.
func oneLine(_ text: String) -> String {
    text.replacingOccurrences(of: "\r\n", with: "⏎").replacingOccurrences(of: "\n", with: "⏎")
}

/// The entropy in bits of the character frequencies of `ids`: what a model without context achieves.
func unigramBits(_ ids: [Int], vocabularySize: Int) -> Double {
    var counts = [Int](repeating: 0, count: vocabularySize)
    for id in ids { counts[id] += 1 }
    let total = Double(ids.count)
    return -counts.filter { $0 > 0 }.map { Double($0) / total }.reduce(0) { $0 + $1 * log2($1) }
}

/// The validation MSE (original units) of predicting each of a window's `K` values by the last
/// value before the window.
func lastValueBaseline(_ series: PreparedData.SeriesData) -> Double {
    var sum = 0.0, count = 0
    for origin in series.validationOrigins {
        for h in 0..<series.horizon {
            let difference = series.values[origin + h] - series.values[origin - 1]
            sum += difference * difference
            count += 1
        }
    }
    return sum / Double(max(1, count))
}
