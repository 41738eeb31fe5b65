// `rnnkit eval --csv|--tsv` and `rnnkit predict` for a classifier: the run's columns,
// standardisation (or tokens and vocabulary) and class names read back from its config.json, the
// file's sequences or texts classified.

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
            let held = switch trained.configuration.task {
            case .charLM: "a character model"
            case .forecast: "a forecaster"
            case .classify: "a text classifier (pass --tsv)"
            case .tag: "a tagger"
            case .translate: "a translator"
            }
            throw CLIError("'\(trained.directory.path)' holds \(held); rnnkit \(command) --csv needs a sequence classifier, trained with --csv FILE --sequence-column ID --label-column L")
        }
        self.sequence = sequence ?? recordedSequence
        self.label = label ?? recordedLabel
        self.features = try features.map { try TrainCommand.parseColumnList($0) } ?? recordedFeatures
        guard self.features.count == recordedFeatures.count else {
            throw CLIError("--feature-columns names \(self.features.count) column\(self.features.count == 1 ? "" : "s"); the model reads \(recordedFeatures.count) (\(recordedFeatures.joined(separator: ",")))")
        }
    }
}

/// The examples of `table` as the run's model reads them: standardised as its training data was.
func classifierExamples(_ table: SequenceTable, for trained: TrainedModel) throws -> [SequenceExample] {
    let data = trained.configuration.data
    guard let means = data.featureMeans, let deviations = data.featureDeviations, means.count == table.featureColumns.count,
          deviations.count == means.count else {
        throw CLIError("\(trained.directory.configPath) has no standardisation for \(table.featureColumns.count) feature columns; the run directory is damaged")
    }
    return table.sequences.map {
        .features(standardised($0.features, means: means, deviations: deviations), steps: $0.length, targetValues: [])
    }
}

/// The examples of `lines` as the run's text classifier reads them: tokens it never saw read as `<unk>`.
func classifierExamples(_ lines: [LabelledText.Line], for trained: TrainedModel) throws -> [SequenceExample] {
    guard let tokens = trained.configuration.data.vocabulary, tokens.count == trained.model.configuration.vocabularySize else {
        throw CLIError("\(trained.directory.configPath) has no vocabulary of the model's \(trained.model.configuration.vocabularySize) tokens; the run directory is damaged")
    }
    let vocabulary = TokenVocabulary(tokens: tokens)
    return lines.map { .tokens(vocabulary.ids(of: $0.tokens), targetClasses: []) }
}

/// The lines of a text classifier's `--tsv FILE`, cut into tokens as the run's were.
func readClassifierText(_ trained: TrainedModel, path: String, command: String, labelsRequired: Bool) throws -> [LabelledText.Line] {
    guard trained.configuration.task == .classify, trained.configuration.data.kind == .tsv else {
        throw CLIError("'\(trained.directory.path)' does not hold a text classifier; rnnkit \(command) --tsv needs one, trained with --tsv FILE")
    }
    return try LabelledText.read(path: path, unit: trained.configuration.data.tokens ?? .chars, labelsRequired: labelsRequired).lines
}

/// One labelled example for evaluation: its label, and how a message names it (`sequence 'r2'`, `the text`).
typealias LabelledItem = (label: String, line: Int, name: String)

/// `rnnkit eval --csv` or `--tsv`: accuracy, macro-F1, per-class scores and the confusion matrix,
/// then the `accuracy=… macro_f1=…` line.
func evaluateClassifier(_ trained: TrainedModel, source: String, kind: String, items: [LabelledItem], examples: [SequenceExample],
                        confusionPlot: String?, console: Console) throws {
    let classes = trained.configuration.data.classes ?? []
    let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
    var references: [Int] = []
    for item in items {
        guard let id = index[item.label] else {
            throw CLIError.data("\(kind) file '\(source)' line \(item.line): \(item.name) has the label '\(item.label)', which the model was not trained on; expected one of \(classes.map { "'\($0)'" }.joined(separator: ", "))")
        }
        references.append(id)
    }
    let predictions = try predictClasses(trained.model, examples)
    let metrics = try ClassificationMetrics(predictions: predictions.map(\.predicted), references: references, classCount: classes.count)
    console.line("\(source): \(grouped(items.count)) \(kind == "CSV" ? "sequences" : "lines"), \(classes.count) labels")
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
    if let confusionPlot {
        // Each row shaded by its share of the label's sequences, the counts written in the cells.
        let shades = metrics.confusion.map { row in row.map { Double($0) / Double(max(1, row.reduce(0, +))) } }
        try writeAtomically(heatMap(columns: classes.map { "predicted " + $0 }, rows: classes, shades: shades,
                                    titles: metrics.confusion.map { $0.map(String.init) }, showsTitles: true), to: confusionPlot)
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
        abstract: "Classify the sequences of a CSV file or the texts of a TSV file, or tag the sentences of a CoNLL file.",
        discussion: """
            --csv FILE: reads the sequences by the run's sequence and feature columns (labels, if \
            the file has them, are ignored) and writes one CSV line per sequence, \
            `<sequence column>,predicted,p_<label>…`: the sequence id, the predicted label and the \
            probability of every label. --tsv FILE: reads label<TAB>text lines, or lines of text \
            alone, and writes `line,predicted,p_<label>…`, `line` the line's number in the file. \
            --conll FILE: writes the file's lines back unchanged, each token line with its \
            predicted tag appended as a last column (a tag column already there is ignored). \
            To standard output or, atomically, to --out.
            """)

    @Option(name: .long, help: ArgumentHelp("A run directory written by `rnnkit train --csv … --label-column` or `--tsv`.", valueName: "dir"))
    var model: String
    @Option(name: .long, help: ArgumentHelp("CSV file with one row per time step, as for training.", valueName: "file"))
    var csv: String?
    @Option(name: .long, help: ArgumentHelp("UTF-8 file of label<TAB>text lines (or text lines without a label).", valueName: "file"))
    var tsv: String?
    @Option(name: .long, help: ArgumentHelp("CoNLL file of sentences to tag (a tag column, if present, is ignored).", valueName: "file"))
    var conll: String?
    @Option(name: .customLong("sequence-column"), help: ArgumentHelp("With --csv: the sequence column. (default: the run's)", valueName: "name"))
    var sequenceColumn: String?
    @Option(name: .customLong("feature-columns"), help: ArgumentHelp("With --csv: the feature columns, as many as the model reads. (default: the run's)", valueName: "a,b,c"))
    var featureColumns: String?
    @Option(name: .long, help: ArgumentHelp("Write the predictions to this file instead of standard output.", valueName: "file"))
    var out: String?

    func validate() throws {
        guard [csv, tsv, conll].compactMap({ $0 }).count == 1 else {
            throw ValidationError("pass one data file: --csv FILE for a sequence classifier, --tsv FILE for a text classifier or --conll FILE for a tagger")
        }
        if csv == nil, sequenceColumn != nil || featureColumns != nil {
            throw ValidationError("--sequence-column and --feature-columns apply to --csv only")
        }
        if let featureColumns { _ = try TrainCommand.parseColumnList(featureColumns) }
        if let out, out.isEmpty { throw ValidationError("--out must name a file, got an empty string") }
    }

    func run(console: Console) throws {
        let trained = try TrainedModel.load(runDirectory: model, option: "--model")
        if let conll {
            try write(try taggedConll(trained, path: conll), console: console)
            return
        }
        let classes = trained.configuration.data.classes ?? []
        let firstColumn: String, names: [String], examples: [SequenceExample]
        if let tsv {
            let lines = try readClassifierText(trained, path: tsv, command: "predict", labelsRequired: false)
            (firstColumn, names, examples) = ("line", lines.map { String($0.line) }, try classifierExamples(lines, for: trained))
        } else {
            let columns = try ClassifierColumns(trained, command: "predict", sequence: sequenceColumn, label: nil, features: featureColumns)
            let table = try SequenceTable.read(path: csv!, sequenceColumn: columns.sequence, labelColumn: nil, featureColumns: columns.features)
            (firstColumn, names, examples) = (columns.sequence, table.sequences.map(\.id), try classifierExamples(table, for: trained))
        }
        var text = ([firstColumn, "predicted"] + classes.map { "p_" + $0 }).map(csvField).joined(separator: ",") + "\n"
        for (name, prediction) in zip(names, try predictClasses(trained.model, examples)) {
            text += ([csvField(name), csvField(classes[prediction.predicted])]
                     + prediction.probabilities.map { format($0, digits: 6) }).joined(separator: ",") + "\n"
        }
        try write(text, console: console)
    }

    /// To --out (atomically), or to standard output.
    private func write(_ text: String, console: Console) throws {
        if let out {
            try writeAtomically(text, to: out)
        } else {
            console.write(text)
        }
    }
}
