// Labelled lines of text for `rnnkit train --tsv FILE` (text classification), and the token
// vocabulary of a text model.
//
// The layout (docs/cli.md, "Text classification"):
// - UTF-8, one example per line, `label<TAB>text`: the label is everything before the first tab,
//   the text everything after it (further tabs belong to the text); LF or CRLF line ends; blank
//   lines are skipped;
// - a line without a tab, an empty label or a text without tokens is an error naming the line;
// - `--tokens chars`: every Unicode scalar of the text is a token; `--tokens words`: the text is
//   split on whitespace;
// - a text has at most `maximumTokens` tokens.

import ArgumentParser
import Foundation

/// How a text is cut into tokens (`--tokens`).
enum TokenUnit: String, CaseIterable, ExpressibleByArgument, RunConfigurationChoice {
    /// Every Unicode scalar.
    case chars
    /// The runs of non-whitespace.
    case words

    /// The tokens of `text`.
    func tokens(of text: Substring) -> [Substring] {
        switch self {
        case .chars: text.unicodeScalars.indices.map { text[$0...$0] }
        case .words: text.split(whereSeparator: \.isWhitespace)
        }
    }
}

/// The lines of a `label<TAB>text` file.
struct LabelledText {
    /// The most tokens one text may have.
    static let maximumTokens = 100_000

    /// One example.
    struct Line: Equatable {
        /// The text before the first tab; `nil` for a line without one when labels are optional.
        var label: String?
        /// The text's tokens.
        var tokens: [String]
        /// The 1-based line number, for messages.
        var line: Int
    }

    var lines: [Line]

    /// Reads the file at `path`.
    /// - Parameters:
    ///   - unit: how the texts are cut into tokens.
    ///   - labelsRequired: `false` (prediction) reads a line without a tab as a text without a label.
    /// - Throws: ``CLIError`` for an unusable file, and a data error (exit status 65) for a line that
    ///   breaks the layout above.
    static func read(path: String, unit: TokenUnit, labelsRequired: Bool = true) throws -> LabelledText {
        let text = try InputFile.text(at: path, purpose: "TSV file")
        var lines: [Line] = []
        // "\r\n" is one Character in Swift, so both line ends are separators.
        for (index, content) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let number = index + 1
            if content.allSatisfy(\.isWhitespace) { continue }
            let label: String?, body: Substring
            if let tab = content.firstIndex(of: "\t") {
                (label, body) = (String(content[..<tab]), content[content.index(after: tab)...])
                guard !label!.isEmpty else {
                    throw CLIError.data("TSV file '\(path)' line \(number): the label before the tab is empty; expected label<TAB>text")
                }
            } else if labelsRequired {
                throw CLIError.data("TSV file '\(path)' line \(number): no tab; expected label<TAB>text")
            } else {
                (label, body) = (nil, content)
            }
            let tokens = unit.tokens(of: body)
            guard !tokens.isEmpty else {
                throw CLIError.data("TSV file '\(path)' line \(number): the text after the tab has no \(unit == .words ? "words" : "characters"); expected at least one")
            }
            guard tokens.count <= maximumTokens else {
                throw CLIError.data("TSV file '\(path)' line \(number): the text has \(tokens.count) \(unit.rawValue), more than \(maximumTokens); split it")
            }
            lines.append(Line(label: label, tokens: tokens.map(String.init), line: number))
        }
        guard !lines.isEmpty else { throw CLIError.data("TSV file '\(path)' has no lines of text; expected label<TAB>text lines") }
        return LabelledText(lines: lines)
    }
}

/// The tokens a text model knows: id 0 is `<unk>` (a token not in the list), ids 1… the tokens
/// that occur at least `minimumCount` times in the training texts, most frequent first (ties in
/// code-point order).
struct TokenVocabulary: Equatable {
    /// The spelling of id 0.
    static let unknown = "<unk>"

    /// `[V]`: the token of each id, ``unknown`` first.
    let tokens: [String]
    private let ids: [String: Int]

    /// The vocabulary of `texts`' tokens seen at least `minimumCount` times.
    init(counting texts: [[String]], minimumCount: Int) {
        var counts: [String: Int] = [:]
        for text in texts { for token in text { counts[token, default: 0] += 1 } }
        let kept = counts.filter { $0.value >= minimumCount && $0.key != Self.unknown }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) }
        self.init(tokens: [Self.unknown] + kept.map(\.key))
    }

    /// The vocabulary recorded as `tokens` (``unknown`` first).
    init(tokens: [String]) {
        self.tokens = tokens
        ids = Dictionary(tokens.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The id of each token; 0 for a token the vocabulary does not hold.
    func ids(of text: [String]) -> [Int] { text.map { ids[$0] ?? 0 } }
}

/// The lines of a `source<TAB>target` file (`rnnkit train --pairs FILE`): the same layout as a
/// `label<TAB>text` file, both sides cut into tokens; neither side may be empty.
struct TextPairs {
    /// One pair.
    struct Pair: Equatable {
        /// The source's tokens.
        var source: [String]
        /// The target's tokens; `nil` for a line without a tab when targets are optional.
        var target: [String]?
        /// The 1-based line number, for messages.
        var line: Int
    }

    var pairs: [Pair]

    /// Reads the file at `path`.
    /// - Parameter targetsRequired: `false` (translation) reads a line without a tab as a source alone;
    ///   with a tab, the target is read past.
    /// - Throws: ``CLIError`` for an unusable file, and a data error (exit status 65) for a line that
    ///   breaks the layout.
    static func read(path: String, unit: TokenUnit, targetsRequired: Bool = true) throws -> TextPairs {
        try read(text: try InputFile.text(at: path, purpose: "pairs file"), source: path, unit: unit, targetsRequired: targetsRequired)
    }

    /// Reads `text` (lines of a file or of standard input) named `source` in messages.
    static func read(text: String, source path: String, unit: TokenUnit, targetsRequired: Bool) throws -> TextPairs {
        var pairs: [Pair] = []
        for (index, content) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let number = index + 1
            if content.allSatisfy(\.isWhitespace) { continue }
            let tab = content.firstIndex(of: "\t")
            if tab == nil, targetsRequired {
                throw CLIError.data("pairs file '\(path)' line \(number): no tab; expected source<TAB>target")
            }
            let sourceTokens = unit.tokens(of: tab.map { content[..<$0] } ?? content)
            let targetTokens = tab.map { unit.tokens(of: content[content.index(after: $0)...]) }
            for (side, tokens) in [("source", sourceTokens), ("target", targetsRequired ? targetTokens ?? [] : nil)] {
                guard let tokens else { continue }
                guard !tokens.isEmpty else {
                    throw CLIError.data("pairs file '\(path)' line \(number): the \(side) has no \(unit == .words ? "words" : "characters"); expected source<TAB>target, neither empty")
                }
                guard tokens.count <= LabelledText.maximumTokens else {
                    throw CLIError.data("pairs file '\(path)' line \(number): the \(side) has \(tokens.count) \(unit.rawValue), more than \(LabelledText.maximumTokens); split it")
                }
            }
            pairs.append(Pair(source: sourceTokens.map(String.init), target: targetTokens.map { $0.map(String.init) }, line: number))
        }
        guard !pairs.isEmpty else { throw CLIError.data("pairs file '\(path)' has no lines; expected source<TAB>target lines") }
        return TextPairs(pairs: pairs)
    }
}
