// `rnnkit eval --csv` and `rnnkit predict` for a sequence classifier: the run's columns,
// standardisation and class names read back from its config.json, the file's sequences classified.

import ArgumentParser
import Foundation
import RNNKit

/// The CSV columns a command reads a classifier's sequences by: the run's, unless overridden.
struct ClassifierColumns {
    var sequence: String
    var label: String
    var features: [String]

    /// The run's columns, with the ones given on the command line in their place.
    /// - Throws: ``CLIError`` when the run is not a classifier, or overriding feature columns are
    ///   not as many as the model reads.
    init(_ trained: TrainedModel, command: String, sequence: String?, label: String?, features: String?) throws {
        let data = trained.configuration.data
        guard trained.configuration.task == .classify, let recordedSequence = data.sequenceColumn, let recordedLabel = data.labelColumn,
              let recordedFeatures = data.featureColumns else {
            throw CLIError("'\(trained.directory.path)' holds a \(trained.configuration.task == .charLM ? "character model" : "forecaster"); rnnkit \(command) --csv needs a sequence classifier, trained with --csv FILE --sequence-column ID --label-column L")
        }
        self.sequence = sequence ?? recordedSequence
        self.label = label ?? recordedLabel
        self.features = try features.map(TrainCommand.parseColumnList) ?? recordedFeatures
        guard self.features.count == recordedFeatures.count else {
            throw CLIError("--feature-columns names \(self.features.count) column\(self.features.count == 1 ? "" : "s"); the model reads \(recordedFeatures.count) (\(recordedFeatures.joined(separator: ",")))")
        }
    }
}

/// The class probabilities of every sequence of `table`, standardised as the run's training data was.
func classify(_ table: SequenceTable, with trained: TrainedModel) throws -> [ClassPrediction] {
    let data = trained.configuration.data
    guard let means = data.featureMeans, let deviations = data.featureDeviations, means.count == table.featureColumns.count,
          deviations.count == means.count else {
        throw CLIError("\(trained.directory.configPath) has no standardisation for \(table.featureColumns.count) feature columns; the run directory is damaged")
    }
    let inputs = table.sequences.map { (standardised($0.features, means: means, deviations: deviations), $0.length) }
    return try predictClasses(trained.model, inputs, featureSize: means.count)
}

/// `rnnkit eval --csv`: accuracy, macro-F1, per-class scores and the confusion matrix, then the
/// `accuracy=… macro_f1=…` line.
func evaluateClassifier(_ trained: TrainedModel, csvPath: String, columns: ClassifierColumns, console: Console) throws {
    let classes = trained.configuration.data.classes ?? []
    let table = try SequenceTable.read(path: csvPath, sequenceColumn: columns.sequence, labelColumn: columns.label,
                                       featureColumns: columns.features)
    let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
    var references: [Int] = []
    for sequence in table.sequences {
        guard let id = index[sequence.label!] else {
            throw CLIError.data("CSV file '\(csvPath)' line \(sequence.firstLine): sequence '\(sequence.id)' has the label '\(sequence.label!)', which the model was not trained on; expected one of \(classes.map { "'\($0)'" }.joined(separator: ", "))")
        }
        references.append(id)
    }
    let predictions = try classify(table, with: trained)
    let metrics = try ClassificationMetrics(predictions: predictions.map(\.predicted), references: references, classCount: classes.count)
    console.line("\(csvPath): \(grouped(table.sequences.count)) sequences, \(classes.count) labels")
    console.line(String(format: "accuracy %.1f%%  macro-F1 %.4f", 100 * metrics.accuracy, metrics.macroF1))
    let width = max(5, classes.map(\.count).max() ?? 0)
    func padded(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
    func right(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
    console.line(padded("label", width) + "  precision  recall      f1  support")
    for (c, name) in classes.enumerated() {
        let scores = metrics.scores(of: c)
        console.line(padded(name, width) + String(format: "  %9.4f  %6.4f  %6.4f  %7d", scores.precision, scores.recall, scores.f1, scores.expected))
    }
    console.line("confusion matrix (rows: label, columns: predicted)")
    let cell = max(5, classes.map(\.count).max() ?? 0, String(metrics.total).count)
    console.line(padded("", width) + classes.map { "  " + right($0, cell) }.joined())
    for (c, name) in classes.enumerated() {
        console.line(padded(name, width) + metrics.confusion[c].map { "  " + right(String($0), cell) }.joined())
    }
    console.line("accuracy=\(format(metrics.accuracy, digits: 6)) macro_f1=\(format(metrics.macroF1, digits: 6))")
}

/// One CSV field: as it is, or quoted (RFC 4180) when it holds a comma, a quote or a line break.
func csvField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

struct PredictCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify the sequences of a CSV file with a trained sequence classifier.",
        discussion: """
            Reads the sequences of --csv by the run's sequence and feature columns (labels, if the \
            file has them, are ignored) and writes one CSV line per sequence: the sequence id, the \
            predicted label and the probability of every label, `<sequence column>,predicted,p_<label>…`, \
            to standard output or, atomically, to --out.
            """)

    @Option(name: .long, help: ArgumentHelp("A run directory written by `rnnkit train --csv --sequence-column --label-column`.", valueName: "dir"))
    var model: String
    @Option(name: .long, help: ArgumentHelp("CSV file with one row per time step, as for training.", valueName: "file"))
    var csv: String
    @Option(name: .customLong("sequence-column"), help: ArgumentHelp("The sequence column. (default: the run's)", valueName: "name"))
    var sequenceColumn: String?
    @Option(name: .customLong("feature-columns"), help: ArgumentHelp("The feature columns, as many as the model reads. (default: the run's)", valueName: "a,b,c"))
    var featureColumns: String?
    @Option(name: .long, help: ArgumentHelp("Write the predictions to this file instead of standard output.", valueName: "file"))
    var out: String?

    func validate() throws {
        if let featureColumns { _ = try TrainCommand.parseColumnList(featureColumns) }
        if let out, out.isEmpty { throw ValidationError("--out must name a file, got an empty string") }
    }

    func run(console: Console) throws {
        let trained = try TrainedModel.load(runDirectory: model, option: "--model")
        let columns = try ClassifierColumns(trained, command: "predict", sequence: sequenceColumn, label: nil, features: featureColumns)
        let table = try SequenceTable.read(path: csv, sequenceColumn: columns.sequence, labelColumn: nil, featureColumns: columns.features)
        let classes = trained.configuration.data.classes ?? []
        var text = ([columns.sequence, "predicted"] + classes.map { "p_" + $0 }).map(csvField).joined(separator: ",") + "\n"
        for (sequence, prediction) in zip(table.sequences, try classify(table, with: trained)) {
            text += ([csvField(sequence.id), csvField(classes[prediction.predicted])]
                     + prediction.probabilities.map { format($0, digits: 6) }).joined(separator: ",") + "\n"
        }
        if let out {
            try writeAtomically(text, to: out)
        } else {
            console.write(text)
        }
    }
}
