// `rnnkit eval --conll` and `rnnkit predict --conll` for a tagger: the run's vocabulary and tags
// read back from its config.json, every sentence of the file tagged.

import Foundation
import RNNKit

/// The sentences of a CoNLL file as the run's tagger reads them: words it never saw read as `<unk>`;
/// with `tags`, each token's reference tag as the example's targets.
func taggerExamples(_ file: ConllFile, for trained: TrainedModel, path: String, withTags: Bool) throws -> [SequenceExample] {
    let data = trained.configuration.data
    guard trained.configuration.task == .tag, let words = data.vocabulary, let tags = data.classes,
          words.count == trained.model.configuration.vocabularySize else {
        throw CLIError("'\(trained.directory.path)' does not hold a tagger; rnnkit eval --conll and predict --conll need one, trained with --conll FILE")
    }
    let vocabulary = TokenVocabulary(tokens: words)
    let tagIndex = Dictionary(uniqueKeysWithValues: tags.enumerated().map { ($1, $0) })
    return try file.sentences.map { sentence in
        let targets: [Int] = withTags ? try sentence.map { token in
            guard let id = tagIndex[token.tag!] else {
                throw CLIError.data("CoNLL file '\(path)' line \(token.lineIndex + 1): the tag '\(token.tag!)' is not one the model was trained on; expected one of \(tags.map { "'\($0)'" }.joined(separator: ", "))")
            }
            return id
        } : []
        return .tokens(vocabulary.ids(of: sentence.map(\.word)), targetClasses: targets)
    }
}

/// `rnnkit eval --conll`: token accuracy, entity precision, recall and F1 per type and overall,
/// then the `token_accuracy=… entity_precision=… entity_recall=… entity_f1=…` line.
func evaluateTagger(_ trained: TrainedModel, path: String, console: Console) throws {
    let file = try ConllFile.read(path: path)
    let examples = try taggerExamples(file, for: trained, path: path, withTags: true)
    let scores = try entityScores(trained.model, examples, tags: trained.configuration.data.classes!)
    console.line("\(path): \(grouped(file.sentences.count)) sentences, \(grouped(scores.totalTokens)) tokens")
    console.line(String(format: "token accuracy %.1f%%  entity F1 %.4f", 100 * scores.tokenAccuracy, scores.overall.f1))
    let types = scores.byType.keys.sorted()
    let width = max(7, types.map(\.count).max() ?? 0)
    func padded(_ text: String) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
    console.line(padded("entity") + "  precision  recall      f1  support")
    for (name, counts) in types.map({ ($0, scores.byType[$0]!) }) + [("overall", scores.overall)] {
        console.line(padded(name) + String(format: "  %9.4f  %6.4f  %6.4f  %7d", counts.precision, counts.recall, counts.f1, counts.expected))
    }
    console.line("token_accuracy=\(format(scores.tokenAccuracy, digits: 6)) entity_precision=\(format(scores.overall.precision, digits: 6)) entity_recall=\(format(scores.overall.recall, digits: 6)) entity_f1=\(format(scores.overall.f1, digits: 6))")
}

/// `rnnkit predict --conll`: the file's lines as they were, each token line with its predicted tag
/// appended as a last column (after a tab when the line has one, else a space).
func taggedConll(_ trained: TrainedModel, path: String) throws -> String {
    let file = try ConllFile.read(path: path, tagsRequired: false)
    let predictions = try predictTags(trained.model, try taggerExamples(file, for: trained, path: path, withTags: false))
    let tags = trained.configuration.data.classes!
    var appended = [String?](repeating: nil, count: file.lines.count)
    for (sentence, predicted) in zip(file.sentences, predictions) {
        for (token, tag) in zip(sentence, predicted) { appended[token.lineIndex] = tags[tag] }
    }
    var text = ""
    for (line, tag) in zip(file.lines, appended) {
        if let tag { text += line + (line.contains("\t") ? "\t" : " ") + tag + "\n" } else { text += line + "\n" }
    }
    // The file's own last line end is kept, not doubled.
    if text.hasSuffix("\n\n"), file.lines.last == "" { text.removeLast() }
    return text
}
