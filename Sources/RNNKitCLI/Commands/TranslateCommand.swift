// `rnnkit translate` and `rnnkit eval --pairs`: a translator run's encoder–decoder, its
// vocabularies read back from config.json, decoding greedily or by beam search.

import ArgumentParser
import Foundation
import RNNKit

struct TranslateCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate",
        abstract: "Decode one source per line with a trained encoder–decoder (rnnkit train --pairs).",
        discussion: """
            Reads the sources from --input or standard input, one per line (a line with a tab is \
            read as source<TAB>target and its target ignored; blank lines are skipped), cuts them \
            into tokens as the training pairs were, and writes one output per line on standard \
            output: greedy decoding, or a beam search of --beam hypotheses. --attention-plot draws \
            the attention weights of the first source's decoding as an SVG heat map.
            """)

    @Option(name: .long, help: ArgumentHelp("A run directory written by `rnnkit train --pairs`.", valueName: "dir"))
    var model: String
    @Option(name: .long, help: ArgumentHelp("Beam width, 1–100 (1: greedy decoding).", valueName: "k"))
    var beam: Int = 1
    @Option(name: .long, help: ArgumentHelp("Read the sources from this file instead of standard input.", valueName: "file"))
    var input: String?
    @Option(name: .customLong("attention-plot"), help: ArgumentHelp("Draw the first source's attention weights into this SVG file.", valueName: "file.svg"))
    var attentionPlot: String?

    func validate() throws {
        try require("--beam", beam, in: 1...100)
        if let attentionPlot, attentionPlot.isEmpty { throw ValidationError("--attention-plot must name a file, got an empty string") }
    }

    func run(console: Console) throws {
        let trained = try TrainedModel.load(runDirectory: model, option: "--model")
        let translator = try trained.translator(for: "translate")
        let text: String, source: String
        if let input {
            (text, source) = (try InputFile.text(at: input, purpose: "input file"), input)
        } else {
            (text, source) = (String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self), "standard input")
        }
        let unit = trained.configuration.data.tokens ?? .chars
        let pairs = try TextPairs.read(text: text, source: source, unit: unit, targetsRequired: false).pairs
        let translations = try translate(translator, pairs.map(\.source), configuration: trained.configuration, beamWidth: beam)
        for translation in translations { console.line(joined(translation.tokens, unit)) }
        if let attentionPlot, let first = translations.first {
            guard translator.attention != nil else {
                throw CLIError("--attention-plot needs a model with attention; '\(trained.directory.path)' was trained with --attention none")
            }
            try writeAtomically(attentionHeatMap(source: [SourceMarkers.start] + pairs[0].source + [SourceMarkers.end],
                                                 output: first.tokens, weights: first.attention), to: attentionPlot)
        }
    }
}

extension TrainedModel {
    /// The encoder–decoder, if the run is a translator's; `command` names the caller in the error.
    func translator(for command: String) throws -> Seq2SeqModel {
        guard configuration.task == .translate, let model = loaded.seq2seq else {
            throw CLIError("'\(directory.path)' does not hold a translator; rnnkit \(command) needs one, trained with --pairs FILE")
        }
        return model
    }
}

/// `rnnkit eval --pairs`: exact match, token accuracy and character error rate of the decoded
/// sources against their targets, then the `exact_match=… token_accuracy=… cer=…` line.
func evaluateTranslator(_ trained: TrainedModel, path: String, beamWidth: Int, console: Console) throws {
    let translator = try trained.translator(for: "eval --pairs")
    let pairs = try TextPairs.read(path: path, unit: trained.configuration.data.tokens ?? .chars).pairs
    let scores = try translationScores(translator, pairs, configuration: trained.configuration, beamWidth: beamWidth)
    console.line("\(path): \(grouped(pairs.count)) pairs, \(beamWidth == 1 ? "greedy decoding" : "beam search of \(beamWidth)")")
    console.line(String(format: "exact match %.1f%%  token accuracy %.1f%%  character error rate %.2f%%",
                        100 * scores.exactMatch, 100 * scores.tokenAccuracy, 100 * scores.characterErrorRate))
    console.line("exact_match=\(format(scores.exactMatch, digits: 6)) token_accuracy=\(format(scores.tokenAccuracy, digits: 6)) cer=\(format(scores.characterErrorRate, digits: 6))")
}

/// An SVG heat map of one decoding's attention: a row per written token, a column per source
/// position, each cell as dark as its weight (0 white, 1 black), the tokens as labels.
func attentionHeatMap(source: [String], output: [String], weights: [[Float]]) -> String {
    heatMap(columns: source, rows: output, shades: weights.map { $0.prefix(source.count).map(Double.init) },
            titles: weights.map { $0.prefix(source.count).map { String(format: "%.3f", $0) } })
}

/// An SVG heat map: a cell per row and column, as dark as its shade (0 white, 1 black), with the
/// column labels on top, the row labels on the left, and a tooltip (`titles`) per cell; with
/// `showsTitles`, the titles are also written in the cells.
func heatMap(columns: [String], rows: [String], shades: [[Double]], titles: [[String]], showsTitles: Bool = false) -> String {
    let labelWidth = Double(max(4, (rows.map(\.count).max() ?? 0))) * 7.5 + 16
    let cell = showsTitles ? 44.0 : 22.0, left = labelWidth, top = 90.0
    let width = left + cell * Double(columns.count) + 40, height = top + cell * Double(rows.count) + 20
    func n(_ value: Double) -> String { String(format: "%.1f", value) }
    var svg = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(n(width))" height="\(n(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>

        """
    for (j, label) in columns.enumerated() {
        let x = left + cell * (Double(j) + 0.5)
        svg += "<text x=\"\(n(x))\" y=\"\(n(top - 6))\" transform=\"rotate(-60 \(n(x)) \(n(top - 6)))\">\(escapeXML(label))</text>\n"
    }
    for (i, label) in rows.enumerated() {
        let y = top + cell * Double(i)
        svg += "<text x=\"\(n(left - 6))\" y=\"\(n(y + cell * 0.6))\" text-anchor=\"end\">\(escapeXML(label))</text>\n"
        for (j, shade) in shades[i].prefix(columns.count).enumerated() {
            let level = Int((1 - min(max(shade, 0), 1)) * 255), x = left + cell * Double(j)
            svg += "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(cell))\" height=\"\(n(cell))\" fill=\"rgb(\(level),\(level),\(level))\" stroke=\"#ddd\"><title>\(escapeXML(titles[i][j]))</title></rect>\n"
            if showsTitles {
                svg += "<text x=\"\(n(x + cell / 2))\" y=\"\(n(y + cell * 0.6))\" text-anchor=\"middle\" fill=\"\(level < 128 ? "white" : "black")\">\(escapeXML(titles[i][j]))</text>\n"
            }
        }
    }
    return svg + "</svg>\n"
}
