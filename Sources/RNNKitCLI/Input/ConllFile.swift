// Tagged sentences in the CoNLL layout, for `rnnkit train --conll FILE` (sequence tagging).
//
// The layout (docs/cli.md, "Sequence tagging"):
// - UTF-8, one token per line, its columns separated by spaces or tabs: the token in the first
//   column, the tag in the last (columns between, such as part-of-speech or chunk tags, are kept
//   but not read);
// - a blank line ends a sentence; a line starting with `-DOCSTART-` is skipped, as are the empty
//   sentences around it;
// - a token line with one column (no tag) is an error naming the line where tags are required,
//   an untagged token where they are not (prediction);
// - a sentence has at most `maximumSentenceLength` tokens.

import Foundation

/// The sentences of a CoNLL file, and its lines as read (so that prediction can write them back).
struct ConllFile {
    /// The most tokens one sentence may have.
    static let maximumSentenceLength = 10_000

    /// One token line.
    struct Token: Equatable {
        /// The first column.
        var word: String
        /// The last column; `nil` for a line of one column where tags are optional.
        var tag: String?
        /// The index of its line in ``lines``.
        var lineIndex: Int
    }

    /// Every line of the file as read, without its line end.
    var lines: [Substring]
    /// The sentences in file order; none is empty.
    var sentences: [[Token]]

    /// Reads the file at `path`.
    /// - Parameter tagsRequired: `false` (prediction) reads one-column lines as untagged tokens.
    /// - Throws: ``CLIError`` for an unusable file, and a data error (exit status 65) for a line that
    ///   breaks the layout above or a file without tokens.
    static func read(path: String, tagsRequired: Bool = true) throws -> ConllFile {
        let text = try InputFile.text(at: path, purpose: "CoNLL file")
        // "\r\n" is one Character in Swift, so both line ends are separators.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        var sentences: [[Token]] = [], current: [Token] = []
        func endSentence() {
            if !current.isEmpty { sentences.append(current) }
            current = []
        }
        for (index, line) in lines.enumerated() {
            if line.hasPrefix("-DOCSTART-") { endSentence(); continue }
            let columns = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if columns.isEmpty { endSentence(); continue }
            guard columns.count >= 2 || !tagsRequired else {
                throw CLIError.data("CoNLL file '\(path)' line \(index + 1): one column; expected the token first and its tag last, separated by spaces or tabs")
            }
            guard current.count < maximumSentenceLength else {
                throw CLIError.data("CoNLL file '\(path)' line \(index + 1): the sentence is longer than \(maximumSentenceLength) tokens; expected a blank line between sentences")
            }
            current.append(Token(word: String(columns[0]), tag: columns.count >= 2 ? String(columns.last!) : nil, lineIndex: index))
        }
        endSentence()
        guard !sentences.isEmpty else { throw CLIError.data("CoNLL file '\(path)' has no tokens; expected one token and its tag per line") }
        return ConllFile(lines: lines, sentences: sentences)
    }
}
