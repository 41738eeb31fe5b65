// Reading a trained run back for `generate`, `eval` and `forecast`, and the computations they do.

import Foundation
import RNNKit

/// A run directory's configuration and its model, loaded from the checkpoint.
struct TrainedModel {
    var directory: RunDirectory
    var configuration: RunConfiguration
    /// The checkpoint's model: an encoder–decoder for a translator, a sequence model otherwise
    /// (``load(runDirectory:option:)`` checks that the two agree).
    var loaded: LoadedModel

    /// The sequence model of any run but a translator's.
    var model: SequenceModel { loaded.sequence! }

    /// Opens the run directory `path` and loads its checkpoint.
    /// - Throws: ``CLIError`` for a missing or incompatible run directory, or a checkpoint whose
    ///   kind of model is not its config.json's task's; the checkpoint's own errors (wrong format
    ///   or version, damaged file) are reported with the file's name.
    static func load(runDirectory path: String, option: String) throws -> TrainedModel {
        let (directory, configuration) = try RunDirectory.openExisting(path, option: option)
        let loaded: LoadedModel
        do {
            loaded = try loadModel(from: directory.checkpointPath)
        } catch let error as RNNKitError {
            throw CLIError("cannot load the model of '\(directory.path)': \(error.message)")
        }
        switch loaded {
        case .sequence(let model) where configuration.task == .classify || configuration.task == .tag:
            // Every output of the head must have a name to print.
            guard configuration.data.classes?.count == model.configuration.outputSize else {
                throw CLIError("\(directory.configPath) names \(configuration.data.classes?.count ?? 0) labels for a model of \(model.configuration.outputSize) outputs; the run directory is damaged")
            }
            model.isTraining = false
        case .sequence(let model) where configuration.task == .forecast:
            let inputs = configuration.data.inputColumns?.count ?? 1, horizon = configuration.data.horizon ?? 1
            guard model.configuration.input == .features, model.configuration.featureSize == inputs,
                  model.configuration.outputSize == horizon else {
                throw CLIError("\(directory.configPath) describes a forecaster of \(inputs) input column\(inputs == 1 ? "" : "s") and \(horizon) output\(horizon == 1 ? "" : "s"), which its checkpoint's model is not; the run directory is damaged")
            }
            model.isTraining = false
        case .sequence(let model) where configuration.task != .translate: model.isTraining = false
        case .seq2seq(let model) where configuration.task == .translate: model.isTraining = false
        default:
            throw CLIError("'\(directory.checkpointPath)' holds another kind of model than its config.json's task \(configuration.task.rawValue); the run directory is damaged")
        }
        return TrainedModel(directory: directory, configuration: configuration, loaded: loaded)
    }

    /// The model, if it is a character model; `command` names the caller in the error.
    func characterModel(for command: String) throws -> SequenceModel {
        guard configuration.task == .charLM, model.vocabulary != nil, model.configuration.input == .tokens else {
            let what = configuration.task == .classify ? "sequence classifier (trained with --csv --label-column)" : "forecaster (trained with --csv)"
            throw CLIError("'\(directory.path)' holds a \(what); rnnkit \(command) needs a character model, trained with --text or on the built-in corpus")
        }
        return model
    }
}

/// The figures `rnnkit eval` prints.
struct EvaluationResult {
    /// Characters predicted.
    var count: Int
    /// Mean cross-entropy, nats per character.
    var loss: Double
    var bitsPerCharacter: Double { loss / log(2) }
    /// Fraction of characters that were the model's most likely prediction.
    var accuracy: Double
}

/// Evaluates `model` on `text` (every character must be in its vocabulary).
func evaluateCharacterModel(_ model: SequenceModel, text: String, source: String, windowLength: Int, strips: Int) throws -> EvaluationResult {
    let vocabulary = model.vocabulary!
    var ids: [Int] = []
    ids.reserveCapacity(text.unicodeScalars.count)
    for (position, scalar) in text.unicodeScalars.enumerated() {
        guard let id = vocabulary.id(of: scalar) else {
            throw CLIError.data("text file '\(source)' has \(describe(scalar)) at character \(position), which is not among the \(vocabulary.count) characters the model was trained on; eval needs text in the model's alphabet")
        }
        ids.append(id)
    }
    guard ids.count >= 2 else {
        throw CLIError("text file '\(source)' has \(ids.count) character; expected at least 2 (one to read, one to predict)")
    }
    let result = try streamLoss(model, tokens: ids, windowLength: windowLength, strips: strips)
    return EvaluationResult(count: result.count, loss: result.loss, accuracy: Double(result.correct) / Double(result.count))
}

/// A forecaster run's series, read back from a CSV by the run's columns and standardisation.
struct ForecastSeries {
    /// The target column, in original units.
    var values: [Double]
    /// `[F][n]` the input columns, standardised as in training.
    var inputs: [[Float]]
    /// The target's mean and standard deviation.
    var mean: Double, deviation: Double
    /// The window `W` and the values predicted at once `K`.
    var window: Int, horizon: Int
    /// Whether the model reads the target alone, so that its forecasts can be fed back.
    var isUnivariate: Bool

    /// Reads `column` (default the run's) and the run's input columns from `csvPath`.
    init(_ trained: TrainedModel, csvPath: String, column: String?) throws {
        let configuration = trained.configuration, data = configuration.data
        guard configuration.task == .forecast, let mean = data.mean, let deviation = data.standardDeviation,
              trained.model.configuration.input == .features else {
            let held = configuration.task == .charLM ? "character model" : configuration.task == .classify ? "sequence classifier"
                : configuration.task == .tag ? "tagger" : "translator"
            throw CLIError("'\(trained.directory.path)' holds a \(held); rnnkit forecast needs a forecaster, trained with --csv FILE --column NAME")
        }
        let target = column ?? data.column ?? ""
        let names = data.inputColumns ?? [target]
        let means = data.featureMeans ?? [mean], deviations = data.featureDeviations ?? [deviation]
        guard means.count == names.count, deviations.count == names.count else {
            throw CLIError("\(trained.directory.configPath) has no standardisation for its \(names.count) input columns; the run directory is damaged")
        }
        let read = try CSVStream.numericColumns(path: csvPath, names: [target] + names.filter { $0 != target })
        let values = read[0]
        var others = read.dropFirst().makeIterator()
        self.values = values
        inputs = names.indices.map { f in
            (names[f] == target ? values : others.next()!).map { Float(($0 - means[f]) / deviations[f]) }
        }
        (self.mean, self.deviation) = (mean, deviation)
        (window, horizon) = (configuration.training.seqLen, data.horizon ?? 1)
        isUnivariate = data.inputColumns == nil || data.inputColumns! == [data.column ?? ""]
        guard values.count >= window else {
            throw CLIError("column '\(target)' of '\(csvPath)' has \(values.count) values; the model reads windows of \(window), so expected at least \(window)")
        }
    }

    /// The model's input window `[W, F]` ending before index `t` (standardised).
    func window(endingBefore t: Int) -> [Float] {
        var features: [Float] = []
        features.reserveCapacity(window * inputs.count)
        for step in (t - window)..<t { for series in inputs { features.append(series[step]) } }
        return features
    }
}

/// `rnnkit forecast`: backtest on the last `horizon` known values when there is room, then the forecast.
/// A model of `K` values at once gives them from one window; a univariate one forecasts further by
/// feeding its forecasts back, `K` at a time (the other input columns' future is unknown, so a
/// multivariate model forecasts at most `K`).
func runForecast(_ trained: TrainedModel, csvPath: String, column: String?, horizon: Int, console: Console) throws {
    let series = try ForecastSeries(trained, csvPath: csvPath, column: column)
    let model = trained.model, K = series.horizon
    guard horizon <= K || series.isUnivariate else {
        throw CLIError("the model reads several input columns, whose future values are unknown, and forecasts \(K) value\(K == 1 ? "" : "s") at once; expected --horizon at most \(K)")
    }
    /// Forecasts `count` values after the first `end` rows, in original units.
    func forecast(endingBefore end: Int, count: Int) throws -> [Double] {
        var window = series.window(endingBefore: end)                              // [W, F]
        var predictions: [Double] = []
        while predictions.count < count {
            let output = try model.forward(.features(window), steps: series.window, batch: 1).outputs   // [K]
            let taken = output.prefix(count - predictions.count)
            predictions += taken.map { Double($0) * series.deviation + series.mean }
            window.removeFirst(taken.count)                                         // univariate: F = 1
            window += taken
        }
        return predictions
    }
    let values = series.values
    if values.count >= series.window + horizon {
        let known = Array(values.suffix(horizon))
        let predicted = try forecast(endingBefore: values.count - horizon, count: horizon)
        let last = values[values.count - horizon - 1]
        let modelError = zip(known, predicted).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(horizon)
        let baselineError = known.reduce(0) { $0 + ($1 - last) * ($1 - last) } / Double(horizon)
        console.line(String(format: "# backtest on the last %d known values: model MSE %.6g, last-value baseline MSE %.6g (%.1f× lower)",
                            horizon, modelError, baselineError, baselineError / modelError))
    }
    console.line("step,forecast")
    for (index, value) in try forecast(endingBefore: values.count, count: horizon).enumerated() {
        console.line("\(values.count + index),\(format(value, digits: 6))")
    }
}

/// `rnnkit eval --csv` of a forecaster: the model's `K`-step forecasts from every origin with a full
/// window before it and `K` known values after it (and, with `season` `m`, at least `m` values before
/// it), their MSE and MAE over every origin and step beside the last-value forecast
/// `ŷ[t+h] = y[t]` and the seasonal-naive `ŷ[t+h] = y[t+h−m·⌈h/m⌉]` (`t` the origin's last known value).
func evaluateForecaster(_ trained: TrainedModel, csvPath: String, column: String?, season: Int?, console: Console) throws {
    let series = try ForecastSeries(trained, csvPath: csvPath, column: column)
    let K = series.horizon, n = series.values.count, first = max(series.window, season ?? 0)
    guard first <= n - K else {
        throw CLIError.data("CSV file '\(csvPath)' has \(n) values; a \(K)-step forecast from a window of \(series.window)\(season.map { " with --season \($0)" } ?? "") needs at least \(first + K)")
    }
    let origins = Array(first...(n - K))                                            // index of each first forecast value
    let examples = origins.map { SequenceExample.features(series.window(endingBefore: $0), steps: series.window, targetValues: []) }
    var errors = (model: (squared: 0.0, absolute: 0.0), last: (squared: 0.0, absolute: 0.0), seasonal: (squared: 0.0, absolute: 0.0))
    var index = 0
    try forEachBatch(trained.model, examples) { batch, _, outputs in               // (B, K)
        for b in 0..<batch.count {
            let t = origins[index] - 1                                              // the last known value
            index += 1
            for h in 1...K {
                let actual = series.values[t + h]
                let predicted = Double(outputs[b * K + h - 1]) * series.deviation + series.mean
                errors.model.squared += (actual - predicted) * (actual - predicted)
                errors.model.absolute += abs(actual - predicted)
                let last = series.values[t]
                errors.last.squared += (actual - last) * (actual - last)
                errors.last.absolute += abs(actual - last)
                if let m = season {
                    let seasonal = series.values[t + h - m * ((h + m - 1) / m)]
                    errors.seasonal.squared += (actual - seasonal) * (actual - seasonal)
                    errors.seasonal.absolute += abs(actual - seasonal)
                }
            }
        }
    }
    let count = Double(origins.count * K)
    console.line("\(csvPath): \(grouped(origins.count)) origins, \(K)-step forecasts")
    console.line("forecast".padding(toLength: 14, withPad: " ", startingAt: 0) + "           MSE           MAE")
    var names = [("model", errors.model), ("last value", errors.last)]
    if season != nil { names.append(("seasonal naive", errors.seasonal)) }
    for (name, error) in names {
        console.line(name.padding(toLength: 14, withPad: " ", startingAt: 0)
                     + String(format: "  %12.6g  %12.6g", error.squared / count, error.absolute / count))
    }
    var line = "mse=\(format(errors.model.squared / count, digits: 6)) mae=\(format(errors.model.absolute / count, digits: 6)) last_value_mse=\(format(errors.last.squared / count, digits: 6)) last_value_mae=\(format(errors.last.absolute / count, digits: 6))"
    if season != nil {
        line += " seasonal_naive_mse=\(format(errors.seasonal.squared / count, digits: 6)) seasonal_naive_mae=\(format(errors.seasonal.absolute / count, digits: 6))"
    }
    console.line(line)
}

/// A classifier's prediction for one sequence.
struct ClassPrediction {
    /// The most likely class.
    var predicted: Int
    /// `[C]` class probabilities (softmax of the head's outputs), summing to 1.
    var probabilities: [Double]
}

/// Runs `model` in inference mode over `examples` (token ids, or standardised features, as the
/// model reads) in batches of 64 padded to their longest sequence, handing `body` each batch's
/// examples and outputs (`[B, O]` for a last-step head, `[T, B, O]` for a per-step one); each
/// example's outputs depend on its own sequence only.
func forEachBatch(_ model: SequenceModel, _ examples: [SequenceExample],
                  _ body: (_ batch: ArraySlice<SequenceExample>, _ steps: Int, _ outputs: [Float]) throws -> Void) throws {
    let wasTraining = model.isTraining
    model.isTraining = false
    defer { model.isTraining = wasTraining }
    let readsTokens = model.configuration.input == .tokens, F = model.configuration.featureSize
    for start in stride(from: 0, to: examples.count, by: 64) {
        let batch = examples[start..<min(start + 64, examples.count)]
        let B = batch.count, T = batch.map(\.length).max()!
        var ids = [Int](repeating: 0, count: readsTokens ? T * B : 0)               // (T, B)
        var features = [Float](repeating: 0, count: readsTokens ? 0 : T * B * F)   // (T, B, F)
        for (b, example) in batch.enumerated() {
            for t in 0..<example.length {
                if readsTokens {
                    ids[t * B + b] = example.tokens[t]
                } else {
                    features.replaceSubrange((t * B + b) * F..<(t * B + b + 1) * F, with: example.features[t * F..<(t + 1) * F])
                }
            }
        }
        let outputs = try model.forward(readsTokens ? .tokens(ids) : .features(features), steps: T, batch: B,
                                        lengths: batch.map(\.length)).outputs
        try body(batch, T, outputs)
    }
}

/// The softmax of one row of logits, in Double.
func softmax(_ logits: ArraySlice<Float>) -> [Double] {
    let row = logits.map(Double.init)
    let largest = row.max()!
    let weights = row.map { exp($0 - largest) }
    let total = weights.reduce(0, +)
    return weights.map { $0 / total }
}

/// The index of the largest value (the first of equals).
func argmax(_ values: some Collection<Float>) -> Int {
    var best = 0, bestValue = -Float.infinity
    for (index, value) in values.enumerated() where value > bestValue { (best, bestValue) = (index, value) }
    return best
}

/// The class probabilities of each example, by a model with a last-step head.
func predictClasses(_ model: SequenceModel, _ examples: [SequenceExample]) throws -> [ClassPrediction] {
    var predictions: [ClassPrediction] = []
    predictions.reserveCapacity(examples.count)
    try forEachBatch(model, examples) { batch, _, logits in                       // (B, C)
        let B = batch.count, C = logits.count / B
        for b in 0..<B {
            let probabilities = softmax(logits[b * C..<(b + 1) * C])
            predictions.append(ClassPrediction(predicted: probabilities.indices.max { probabilities[$0] < probabilities[$1] }!,
                                               probabilities: probabilities))
        }
    }
    return predictions
}

/// The most likely tag at each step of each example, by a model with a per-step head.
func predictTags(_ model: SequenceModel, _ examples: [SequenceExample]) throws -> [[Int]] {
    var predictions: [[Int]] = []
    predictions.reserveCapacity(examples.count)
    try forEachBatch(model, examples) { batch, _, logits in                       // (T, B, C)
        let B = batch.count, C = model.configuration.outputSize
        for (b, example) in batch.enumerated() {
            predictions.append((0..<example.length).map { t in argmax(logits[(t * B + b) * C..<(t * B + b + 1) * C]) })
        }
    }
    return predictions
}

/// A translator's scores on some pairs, and what it wrote.
struct TranslationScores {
    /// The share of outputs equal to their reference, token for token.
    var exactMatch: Double
    /// Position by position against the reference, over the reference's length, summed over the pairs.
    var tokenAccuracy: Double
    /// Total edit distance, in characters, over the references' total characters.
    var characterErrorRate: Double
    /// The outputs' tokens.
    var outputs: [[String]]
}

/// The decoder's output ids as tokens (`<unk>` for the unknown id).
func targetTokens(_ ids: [Int], _ vocabulary: [String]) -> [String] { ids.map { $0 < vocabulary.count ? vocabulary[$0] : TokenVocabulary.unknown } }

/// Tokens as text: characters side by side, words separated by a space.
func joined(_ tokens: [String], _ unit: TokenUnit) -> String { tokens.joined(separator: unit == .words ? " " : "") }

/// Decodes the sources of `pairs` (greedy for `beamWidth` 1) in batches of 64 and scores the
/// outputs against the targets.
func translationScores(_ model: Seq2SeqModel, _ pairs: [TextPairs.Pair], configuration: RunConfiguration, beamWidth: Int) throws
    -> TranslationScores {
    let outputs = try translate(model, pairs.map(\.source), configuration: configuration, beamWidth: beamWidth).map(\.tokens)
    let unit = configuration.data.tokens ?? .chars
    var ids: [String: Int] = [:]
    func tokenIds(_ tokens: [String]) -> [Int] { tokens.map { token in ids[token] ?? { ids[token] = ids.count; return ids.count - 1 }() } }
    let references = pairs.map { $0.target! }
    let tokens = try SequenceMatchMetrics(outputs: outputs.map(tokenIds), references: references.map(tokenIds))
    let characters = try SequenceMatchMetrics(outputs: outputs.map { joined($0, unit).unicodeScalars.map { Int($0.value) } },
                                              references: references.map { joined($0, unit).unicodeScalars.map { Int($0.value) } })
    return TranslationScores(exactMatch: tokens.exactMatch, tokenAccuracy: tokens.tokenAccuracy,
                             characterErrorRate: characters.errorRate, outputs: outputs)
}

/// One translation: the output's tokens and the attention weights of each written token over the
/// source's positions (`<s>` and `</s>` included).
struct Translation {
    var tokens: [String]
    var attention: [[Float]]
}

/// Decodes `sources` (token lists) with the run's vocabularies, in batches of 64.
func translate(_ model: Seq2SeqModel, _ sources: [[String]], configuration: RunConfiguration, beamWidth: Int) throws -> [Translation] {
    let data = configuration.data
    guard let sourceTokens = data.vocabulary, let targetVocabulary = data.targetVocabulary,
          sourceTokens.count == model.configuration.sourceVocabularySize,
          targetVocabulary.count + 2 == model.configuration.targetVocabularySize else {
        throw CLIError("config.json has no vocabularies that fit the translator's model; the run directory is damaged")
    }
    let vocabulary = TokenVocabulary(tokens: sourceTokens)
    let wasTraining = model.isTraining
    model.isTraining = false
    defer { model.isTraining = wasTraining }
    var translations: [Translation] = []
    for start in stride(from: 0, to: sources.count, by: 64) {
        let batch = sources[start..<min(start + 64, sources.count)].map { SourceMarkers.ids(of: $0, in: vocabulary) }
        for decoding in try model.decode(sources: batch, maximumLength: data.maximumTargetLength ?? 100, beamWidth: beamWidth) {
            translations.append(Translation(tokens: targetTokens(decoding.tokens, targetVocabulary), attention: decoding.attention))
        }
    }
    return translations
}
