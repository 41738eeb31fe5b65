// `rnnkit generate`, `rnnkit eval` and `rnnkit forecast`: using a trained run directory
// (`rnnkit eval --csv` and `rnnkit predict` of a classifier: ClassifierCommands.swift).

import ArgumentParser
import Foundation
import RNNKit

struct GenerateCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Sample text from a character model.",
        discussion: """
            Feeds --prime to the model, then draws --length characters, each from \
            softmax(logits / temperature) with a generator seeded by --seed (the same seed gives \
            the same text). Temperature 0 always takes the most likely character. Prints the prime \
            followed by the generated text.
            """)

    @Option(name: .long, help: ArgumentHelp("A run directory written by `rnnkit train` on text.", valueName: "dir"))
    var model: String
    @Option(name: .long, help: ArgumentHelp("Text to start from; every character must be in the model's vocabulary. (default: a line break)", valueName: "text"))
    var prime: String = "\n"
    @Option(name: .long, help: ArgumentHelp("Characters to generate, 1–1000000.", valueName: "n"))
    var length: Int = 500
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Sampling temperature, 0–10: 1 samples the model's distribution, lower is more conservative.", valueName: "t"))
    var temperature: Double = 0.8
    @Option(name: .long, help: ArgumentHelp("Seed of the sampler.", valueName: "n"))
    var seed: UInt64 = 1

    func validate() throws {
        try require("--length", length, in: 1...1_000_000)
        try require("--temperature", temperature, "between 0 and 10") { $0 >= 0 && $0 <= 10 }
        if prime.isEmpty { throw ValidationError("--prime must hold at least one character") }
    }

    func run(console: Console) throws {
        let trained = try TrainedModel.load(runDirectory: model, option: "--model")
        let model = try trained.characterModel(for: "generate")
        let vocabulary = model.vocabulary!
        if let unknown = prime.unicodeScalars.first(where: { vocabulary.id(of: $0) == nil }) {
            throw CLIError("--prime contains \(describe(unknown)), which the model never saw; its vocabulary has \(vocabulary.count) characters")
        }
        let generated = try model.sampleText(prime: prime, length: length, temperature: temperature, seed: seed)
        console.line(prime + generated)
    }
}

struct EvalCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a trained model: a character model on --text, a classifier on --csv or --tsv, a tagger on --conll.",
        discussion: """
            --csv FILE of a forecaster: the MSE and MAE of its forecasts from every origin of the \
            file, beside the last-value forecast and, with --season m, the seasonal-naive one. \
            --text FILE: runs a character model over the whole file as the run's --batch strips \
            side by side, each in windows of the run's --seq-len with its state carried from window \
            to window (as training reads its text), and reports the mean cross-entropy of predicting \
            each next character: nats, bits per character (nats / ln 2), perplexity and accuracy. \
            Every character of the file must be in the model's vocabulary. --csv FILE: classifies \
            every sequence of the file (read by the run's columns) and reports accuracy, macro-F1, \
            each label's precision, recall and F1, and the confusion matrix; --tsv FILE does the same \
            for a text classifier. --conll FILE: tags every sentence and reports token accuracy and \
            entity-level precision, recall and F1 per entity type and overall (conlleval's \
            chunks of IOB1, IOB2 or IOBES tags). --pairs FILE: decodes every source (greedily, or \
            by a beam search of --beam) and reports exact match, token accuracy and character error \
            rate against the targets. The last line is always \
            `name=value` pairs, fractions rather than percentages, for scripts.
            """)

    @Option(name: .long, help: ArgumentHelp("A run directory written by `rnnkit train`.", valueName: "dir"))
    var model: String
    @Option(name: .long, help: ArgumentHelp("UTF-8 text file to evaluate a character model on (at least two characters).", valueName: "file"))
    var text: String?
    @Option(name: .long, help: ArgumentHelp("CSV file of labelled sequences to evaluate a sequence classifier on.", valueName: "file"))
    var csv: String?
    @Option(name: .long, help: ArgumentHelp("File of label<TAB>text lines to evaluate a text classifier on.", valueName: "file"))
    var tsv: String?
    @Option(name: .long, help: ArgumentHelp("CoNLL file of tagged sentences to evaluate a tagger on.", valueName: "file"))
    var conll: String?
    @Option(name: .long, help: ArgumentHelp("File of source<TAB>target lines to evaluate a translator on.", valueName: "file"))
    var pairs: String?
    @Option(name: .long, help: ArgumentHelp("With --pairs: the beam width, 1–100 (1: greedy decoding). (default: 1)", valueName: "k"))
    var beam: Int?
    @Option(name: .long, help: ArgumentHelp("With --csv of a forecaster: the period m of the seasonal-naive baseline, 1–100000.", valueName: "m"))
    var season: Int?
    @Option(name: .long, help: ArgumentHelp("With --csv of a forecaster: the column to forecast. (default: the run's)", valueName: "name"))
    var column: String?
    @Option(name: .long, help: ArgumentHelp("With --csv or --tsv of a classifier: draw the confusion matrix into this SVG file.", valueName: "file.svg"))
    var confusion: String?
    @Option(name: .customLong("sequence-column"), help: ArgumentHelp("With --csv: the sequence column. (default: the run's)", valueName: "name"))
    var sequenceColumn: String?
    @Option(name: .customLong("label-column"), help: ArgumentHelp("With --csv: the label column. (default: the run's)", valueName: "name"))
    var labelColumn: String?
    @Option(name: .customLong("feature-columns"), help: ArgumentHelp("With --csv: the feature columns, as many as the model reads. (default: the run's)", valueName: "a,b,c"))
    var featureColumns: String?

    func validate() throws {
        guard [text, csv, tsv, conll, pairs].compactMap({ $0 }).count == 1 else {
            throw ValidationError("pass one data file: --text FILE for a character model, --csv FILE for a sequence classifier, --tsv FILE for a text classifier, --conll FILE for a tagger or --pairs FILE for a translator")
        }
        if beam != nil, pairs == nil { throw ValidationError("--beam applies to --pairs only") }
        if csv == nil, season != nil || column != nil { throw ValidationError("--season and --column apply to --csv only (a forecaster)") }
        try require("--season", season, in: 1...100_000)
        if confusion != nil, csv == nil, tsv == nil { throw ValidationError("--confusion applies to classifiers (--csv or --tsv) only") }
        if let confusion, confusion.isEmpty { throw ValidationError("--confusion must name a file, got an empty string") }
        try require("--beam", beam, in: 1...100)
        if csv == nil, sequenceColumn != nil || labelColumn != nil || featureColumns != nil {
            throw ValidationError("--sequence-column, --label-column and --feature-columns apply to --csv only")
        }
        if let featureColumns { _ = try TrainCommand.parseColumnList(featureColumns) }
    }

    func run(console: Console) throws {
        let trained = try TrainedModel.load(runDirectory: model, option: "--model")
        if let csv, trained.configuration.task == .forecast {
            guard sequenceColumn == nil, labelColumn == nil, featureColumns == nil, confusion == nil else {
                throw CLIError("--sequence-column, --label-column, --feature-columns and --confusion apply to classifiers; '\(trained.directory.path)' holds a forecaster")
            }
            try evaluateForecaster(trained, csvPath: csv, column: column, season: season, console: console)
            return
        }
        if season != nil || column != nil {
            throw CLIError("--season and --column apply to forecasters; '\(trained.directory.path)' holds another model")
        }
        if let csv {
            let columns = try ClassifierColumns(trained, command: "eval", sequence: sequenceColumn, label: labelColumn,
                                                features: featureColumns)
            let table = try SequenceTable.read(path: csv, sequenceColumn: columns.sequence, labelColumn: columns.label,
                                               featureColumns: columns.features)
            try evaluateClassifier(trained, source: csv, kind: "CSV",
                                   items: table.sequences.map { ($0.label!, $0.firstLine, "sequence '\($0.id)'") },
                                   examples: try classifierExamples(table, for: trained), confusionPlot: confusion, console: console)
            return
        }
        if let conll {
            try evaluateTagger(trained, path: conll, console: console)
            return
        }
        if let pairs {
            try evaluateTranslator(trained, path: pairs, beamWidth: beam ?? 1, console: console)
            return
        }
        if let tsv {
            let lines = try readClassifierText(trained, path: tsv, command: "eval", labelsRequired: true)
            try evaluateClassifier(trained, source: tsv, kind: "TSV", items: lines.map { ($0.label!, $0.line, "the text") },
                                   examples: try classifierExamples(lines, for: trained), confusionPlot: confusion, console: console)
            return
        }
        let text = text!
        let model = try trained.characterModel(for: "eval --text")
        let content = try InputFile.text(at: text)
        let result = try evaluateCharacterModel(model, text: content, source: text, windowLength: trained.configuration.training.seqLen,
                                                strips: trained.configuration.training.batch)
        console.line("\(text): \(grouped(result.count)) predicted characters")
        console.line(String(format: "loss %.4f nats/char  %.4f bits/char  perplexity %.2f  accuracy %.1f%%",
                            result.loss, result.bitsPerCharacter, exp(result.loss), 100 * result.accuracy))
        console.line("loss=\(format(result.loss, digits: 6)) bits_per_char=\(format(result.bitsPerCharacter, digits: 6)) perplexity=\(format(exp(result.loss), digits: 6)) accuracy=\(format(result.accuracy, digits: 6))")
    }
}

struct ForecastCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "forecast",
        abstract: "Forecast the next values of a numeric CSV column with a trained forecaster.",
        discussion: """
            Reads the run's columns (or --column, for a model of one column) from --csv and \
            forecasts --horizon values past the end of the series: a model trained with \
            --horizon K gives K values from one window and is cut when --horizon is at most K; a \
            model of the target column alone forecasts further by feeding its forecasts back, K at \
            a time. Prints `step,forecast` CSV lines. When the series is long enough it first \
            backtests: it forecasts the last --horizon known values from the ones before them and \
            compares the mean squared error with the last-value baseline.
            """)

    @Option(name: .long, help: ArgumentHelp("A run directory written by `rnnkit train --csv`.", valueName: "dir"))
    var model: String
    @Option(name: .long, help: ArgumentHelp("CSV file with a header row holding the series.", valueName: "file"))
    var csv: String
    @Option(name: .long, help: ArgumentHelp("The column to read. (default: the column the model was trained on)", valueName: "name"))
    var column: String?
    @Option(name: .long, help: ArgumentHelp("Values to forecast past the end of the series, 1–100000.", valueName: "n"))
    var horizon: Int = 10

    func validate() throws {
        try require("--horizon", horizon, in: 1...100_000)
    }

    func run(console: Console) throws {
        let trained = try TrainedModel.load(runDirectory: model, option: "--model")
        try runForecast(trained, csvPath: csv, column: column, horizon: horizon, console: console)
    }
}

/// `'x'` for printable characters, `U+0009` style for the rest.
func describe(_ scalar: Unicode.Scalar) -> String {
    let code = "U+" + String(scalar.value, radix: 16, uppercase: true)
    return scalar.properties.isWhitespace || scalar.value < 0x20 ? code : "'\(Character(scalar))' (\(code))"
}
