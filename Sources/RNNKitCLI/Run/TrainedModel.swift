// Reading a trained run back for `generate`, `eval` and `forecast`, and the computations they do.

import Foundation
import RNNKit

/// A run directory's configuration and its model, loaded from the checkpoint.
struct TrainedModel {
    var directory: RunDirectory
    var configuration: RunConfiguration
    var model: SequenceModel

    /// Opens the run directory `path` and loads its checkpoint.
    /// - Throws: ``CLIError`` for a missing or incompatible run directory; the checkpoint's own
    ///   errors (wrong format or version, damaged file) are reported with the file's name.
    static func load(runDirectory path: String, option: String) throws -> TrainedModel {
        let (directory, configuration) = try RunDirectory.openExisting(path, option: option)
        let model: SequenceModel
        do {
            guard case .sequence(let loaded) = try loadModel(from: directory.checkpointPath) else {
                throw CLIError("'\(directory.checkpointPath)' holds a sequence-to-sequence model; rnnkit reads character models and forecasters")
            }
            model = loaded
        } catch let error as RNNKitError {
            throw CLIError("cannot load the model of '\(directory.path)': \(error.message)")
        }
        model.isTraining = false
        return TrainedModel(directory: directory, configuration: configuration, model: model)
    }

    /// The model, if it is a character model; `command` names the caller in the error.
    func characterModel(for command: String) throws -> SequenceModel {
        guard configuration.task == .charLM, model.vocabulary != nil, model.configuration.input == .tokens else {
            throw CLIError("'\(directory.path)' holds a forecaster (trained with --csv); rnnkit \(command) needs a character model, trained with --text or on the built-in corpus")
        }
        return model
    }
}

/// Cross-entropy of predicting each next character of `ids` (inference mode: no dropout), read as
/// char-rnn reads a held-out stream: `strips` consecutive strips side by side in one batch (fewer
/// when the text is short), each in windows of `windowLength` with its state carried from window
/// to window, so every step multiplies the weights once for all strips. The last strip goes on
/// over the few characters that do not divide evenly. Every character after the first is predicted
/// once; the result does not depend on the thread count.
/// - Parameter maximumWindows: read only the first this many windows of each strip: the first
///   `maximumWindows · windowLength` predictions of every strip, spread over the text at the strip
///   starts, and no tail. `nil` (default), or a bound that reaches the end of the strips, reads all.
/// - Returns: mean loss in nats, correct top-1 predictions, and predictions counted (`ids.count − 1`,
///   or `maximumWindows · B · windowLength` when the bound cuts the strips).
func characterLoss(_ model: SequenceModel, ids: [Int], windowLength: Int, strips: Int, maximumWindows: Int? = nil)
    throws -> (loss: Double, correct: Int, count: Int) {
    let wasTraining = model.isTraining
    model.isTraining = false
    defer { model.isTraining = wasTraining }
    let predictions = ids.count - 1
    let B = max(1, min(strips, predictions)), stripLength = predictions / B   // B·stripLength ≤ predictions
    var total = 0.0, correct = 0, count = 0
    /// Predicts positions `first[b] + 1 … first[b] + length` of every row `b` from the state, in windows.
    func run(from first: [Int], length: Int, state: RecurrentState<Float>?) throws -> RecurrentState<Float>? {
        var state = state
        let rows = first.count
        for start in stride(from: 0, to: length, by: windowLength) {
            let T = min(windowLength, length - start)
            var inputs = [Int](repeating: 0, count: T * rows), targets = inputs          // [T, B]
            for b in 0..<rows {
                for t in 0..<T {
                    inputs[t * rows + b] = ids[first[b] + start + t]
                    targets[t * rows + b] = ids[first[b] + start + t + 1]
                }
            }
            let output = try model.forward(.tokens(inputs), steps: T, batch: rows, initialState: state)
            let result = try sequenceSoftmaxCrossEntropy(
                logits: output.outputs, targets: targets, steps: T, batch: rows,
                classCount: model.configuration.outputSize, computeGradient: false)
            total += result.totalLoss
            correct += result.correctPredictions
            count += result.countedPositions
            state = output.finalState
        }
        return state
    }
    let length = maximumWindows.map { min(stripLength, $0 * windowLength) } ?? stripLength
    let final = try run(from: (0..<B).map { $0 * stripLength }, length: length, state: nil)
    let tail = length == stripLength ? predictions - B * stripLength : 0
    if tail > 0 {
        // The last strip's state, row B − 1 of every layer, carries on into the tail.
        let H = model.configuration.hiddenSize, layers = final.map { $0.hidden.count / (B * H) } ?? 0
        func lastRow(_ values: [Float]) -> [Float] {                                  // (L, 1, H) of (L, B, H)
            var row: [Float] = []
            for k in 0..<layers {
                let first = (k * B + B - 1) * H
                row += values[first..<first + H]
            }
            return row
        }
        let carried = final.map { RecurrentState(batch: 1, hidden: lastRow($0.hidden), cell: $0.cell.map(lastRow)) }
        _ = try run(from: [B * stripLength], length: tail, state: carried)
    }
    return (count > 0 ? total / Double(count) : .nan, correct, count)
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
            throw CLIError("text file '\(source)' has \(describe(scalar)) at character \(position), which is not among the \(vocabulary.count) characters the model was trained on; eval needs text in the model's alphabet")
        }
        ids.append(id)
    }
    guard ids.count >= 2 else {
        throw CLIError("text file '\(source)' has \(ids.count) character; expected at least 2 (one to read, one to predict)")
    }
    let result = try characterLoss(model, ids: ids, windowLength: windowLength, strips: strips)
    return EvaluationResult(count: result.count, loss: result.loss, accuracy: Double(result.correct) / Double(result.count))
}

/// `rnnkit forecast`: backtest on the last `horizon` known values when there is room, then the forecast.
func runForecast(_ trained: TrainedModel, csvPath: String, column: String?, horizon: Int, console: Console) throws {
    let configuration = trained.configuration
    guard configuration.task == .forecast, let mean = configuration.data.mean,
          let deviation = configuration.data.standardDeviation, trained.model.configuration.input == .features else {
        throw CLIError("'\(trained.directory.path)' holds a character model; rnnkit forecast needs a forecaster, trained with --csv FILE --column NAME")
    }
    let columnName = column ?? configuration.data.column ?? ""
    let values = try CSVTable.readNumericColumn(path: csvPath, column: columnName)
    let window = configuration.training.seqLen
    guard values.count >= window else {
        throw CLIError("column '\(columnName)' of '\(csvPath)' has \(values.count) values; the model reads windows of \(window), so expected at least \(window)")
    }
    let model = trained.model
    /// Forecasts `count` values after `history`, feeding each prediction back in.
    func forecast(_ history: [Double], count: Int) throws -> [Double] {
        var window = history.suffix(configuration.training.seqLen).map { Float(($0 - mean) / deviation) }   // [T]
        var predictions: [Double] = []
        for _ in 0..<count {
            let output = try model.forward(.features(window), steps: window.count, batch: 1)
            let next = output.outputs[0]
            predictions.append(Double(next) * deviation + mean)
            window.removeFirst()
            window.append(next)
        }
        return predictions
    }
    if values.count >= window + horizon {
        let known = Array(values.suffix(horizon))
        let predicted = try forecast(Array(values.dropLast(horizon)), count: horizon)
        let last = values[values.count - horizon - 1]
        let modelError = zip(known, predicted).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(horizon)
        let baselineError = known.reduce(0) { $0 + ($1 - last) * ($1 - last) } / Double(horizon)
        console.line(String(format: "# backtest on the last %d known values: model MSE %.6g, last-value baseline MSE %.6g (%.1f× lower)",
                            horizon, modelError, baselineError, baselineError / modelError))
    }
    console.line("step,forecast")
    for (index, value) in try forecast(values, count: horizon).enumerated() {
        console.line("\(values.count + index),\(format(value, digits: 6))")
    }
}
