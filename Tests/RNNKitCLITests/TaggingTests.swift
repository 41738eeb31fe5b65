import Foundation
import RNNKit
import Testing
@testable import RNNKitCLI

/// A NER-like CoNLL file (`word X tag`, IOB2): one to three entities per sentence among filler
/// words, each of one or two names from one pool and followed by `said`/`says` (a `PER`) or
/// `city`/`town` (a `LOC`). A name's type shows only in the word after the entity, so a tagger
/// that reads forwards only cannot know it at the entity's first token.
func namesCoNLL(sentences: Int, seed: UInt64) -> String {
    var generator = SeededGenerator(seed: seed)
    let names = "alba bruno cara dino elsa fabio gina hugo ida jon kara leo mira nico olga pia".split(separator: " ").map(String.init)
    let filler = "the a and then we saw met near old new with at in".split(separator: " ").map(String.init)
    func pick(_ words: [String]) -> String { words[generator.nextIndex(below: words.count)] }
    var lines = ["-DOCSTART- -X- O O", ""]
    for _ in 0..<sentences {
        for _ in 0..<(1 + generator.nextIndex(below: 3)) {
            for _ in 0..<(1 + generator.nextIndex(below: 3)) { lines.append("\(pick(filler)) X O") }
            let type = generator.nextIndex(below: 2) == 0 ? "PER" : "LOC"
            for k in 0..<(1 + generator.nextIndex(below: 2)) { lines.append("\(pick(names)) X \(k == 0 ? "B" : "I")-\(type)") }
            lines.append("\(pick(type == "PER" ? ["said", "says"] : ["city", "town"])) X O")
        }
        lines.append("")
    }
    return lines.joined(separator: "\n") + "\n"
}

@Suite("Sequence tagging", .serialized)
struct TaggingTests {
    @Test("a bidirectional tagger learns tags that depend on a later word; the same model reading forwards only does not")
    func bidirectionalTagging() throws {
        let scratch = ScratchDirectory()
        let data = scratch.write("names.conll", text: namesCoNLL(sentences: 1500, seed: 11))
        let heldOut = scratch.write("new.conll", text: namesCoNLL(sentences: 100, seed: 12))
        let options = ["train", "--conll", data, "--steps", "400", "--hidden", "32", "--threads", "1"]
        let run = scratch.file("run")
        let train = runCLI(options + ["--out", run])
        try #require(train.status == 0, "\(train.errors)")
        #expect(train.output.contains("tagger on \(data) (1,500 sentences, "))
        #expect(train.output.contains("5 tags, 33 words and <unk>); bidirectional lstm 1×32"))
        #expect(train.output.contains("(entity F1 "))
        let metrics = try MetricsLog(csvText: String(contentsOfFile: run + "/metrics.csv", encoding: .utf8), source: "m")
        #expect(metrics.metricColumn == "val_entity_f1")
        let bidirectional = try #require(metrics.records.last?.validationMetric)
        #expect(bidirectional >= 0.95, "entity F1 \(bidirectional)")

        let forwards = runCLI(options + ["--unidirectional", "--out", scratch.file("forwards")])
        try #require(forwards.status == 0, "\(forwards.errors)")
        let unidirectional = try #require(try MetricsLog(csvText: String(contentsOfFile: scratch.file("forwards") + "/metrics.csv", encoding: .utf8),
                                                         source: "m").records.last?.validationMetric)
        #expect(unidirectional < 0.6, "a forwards-only tagger scored entity F1 \(unidirectional)")

        let evaluated = runCLI(["eval", "--model", run, "--conll", heldOut])
        try #require(evaluated.status == 0, "\(evaluated.errors)")
        let lines = evaluated.output.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("\(heldOut): 100 sentences, "))
        #expect(lines.contains { $0.hasPrefix("LOC ") } && lines.contains { $0.hasPrefix("PER ") } && lines.contains { $0.hasPrefix("overall ") })
        let summary = Dictionary(uniqueKeysWithValues: try #require(lines.last).split(separator: " ").map {
            let pair = $0.split(separator: "=")
            return (String(pair[0]), Double(pair[1])!)
        })
        #expect(Set(summary.keys) == ["token_accuracy", "entity_precision", "entity_recall", "entity_f1"])
        #expect(summary["entity_f1"]! >= 0.95 && summary["token_accuracy"]! >= 0.95, "\(evaluated.output)")

        // predict: every line back as it was, each token line with its tag appended.
        let input = "-DOCSTART- -X- O O\n\nwe\tX\tO\nmet\tX\tO\nzed\tX\tB-PER\nsaid\tX\tO\n\nnear\npia\ntown\n"
        let file = scratch.write("input.conll", text: input)
        let predicted = runCLI(["predict", "--model", run, "--conll", file])
        try #require(predicted.status == 0, "\(predicted.errors)")
        #expect(predicted.output == "-DOCSTART- -X- O O\n\nwe\tX\tO\tO\nmet\tX\tO\tO\nzed\tX\tB-PER\tB-PER\nsaid\tX\tO\tO\n\nnear O\npia B-LOC\ntown O\n")
    }

    @Test("the same options train the same tagger, and a resumed run ends where an uninterrupted one does")
    func determinismAndResumption() throws {
        let scratch = ScratchDirectory()
        let data = scratch.write("names.conll", text: namesCoNLL(sentences: 80, seed: 13))
        let options = ["train", "--conll", data, "--steps", "10", "--hidden", "12", "--threads", "1", "--layers", "2", "--dropout", "0.1"]
        try expectDeterministicAndResumable(options, stoppingAfter: 4, in: scratch)
    }

    @Test("bad CoNLL data", arguments: [
        ("we O\nsaw\n", "CoNLL file 'FILE' line 2: one column; expected the token first and its tag last, separated by spaces or tabs"),
        ("-DOCSTART- -X- O O\n\n\n", "CoNLL file 'FILE' has no tokens; expected one token and its tag per line"),
        ("we O\nsaw O\n\nthem O\n", "CoNLL file 'FILE': every token has the tag 'O'; expected at least two different tags in the last column"),
        ("we O\nleo B-PER\n", "CoNLL file 'FILE' has 1 sentence; expected at least 2, to train on and to validate on"),
    ])
    func badData(conll: String, message: String) {
        let scratch = ScratchDirectory()
        let path = scratch.write("data.conll", text: conll)
        let result = runCLI(["train", "--conll", path, "--out", scratch.file("run")])
        #expect(result.status == CommandLineRunner.dataErrorStatus, "\(result.errors)")
        #expect(result.errors == "rnnkit: error: \(message.replacingOccurrences(of: "FILE", with: path))\n")
        #expect(!FileManager.default.fileExists(atPath: scratch.file("run")))
    }

    @Test("a sentence longer than the limit, and a tag the model does not know, are refused")
    func limitsAndUnknownTags() throws {
        let scratch = ScratchDirectory()
        let long = scratch.write("long.conll", text: String(repeating: "w O\n", count: ConllFile.maximumSentenceLength + 1))
        let refused = runCLI(["train", "--conll", long, "--out", scratch.file("x")])
        #expect(refused.status == 65)
        #expect(refused.errors == "rnnkit: error: CoNLL file '\(long)' line \(ConllFile.maximumSentenceLength + 1): the sentence is longer than \(ConllFile.maximumSentenceLength) tokens; expected a blank line between sentences\n")

        let data = scratch.write("names.conll", text: namesCoNLL(sentences: 40, seed: 14))
        let run = scratch.file("run")
        try #require(runCLI(["train", "--conll", data, "--steps", "2", "--hidden", "8", "--threads", "1", "--out", run]).status == 0)
        let unknown = scratch.write("unknown.conll", text: "we O\nleo B-ORG\n")
        let result = runCLI(["eval", "--model", run, "--conll", unknown])
        #expect(result.status == 65)
        #expect(result.errors == "rnnkit: error: CoNLL file '\(unknown)' line 2: the tag 'B-ORG' is not one the model was trained on; expected one of 'B-LOC', 'B-PER', 'I-LOC', 'I-PER', 'O'\n")
        #expect(runCLI(["eval", "--model", run, "--tsv", unknown]).errors.contains("does not hold a text classifier"))
    }

    @Test("tagger options that do not fit are usage errors", arguments: [
        (["--text", "f.txt", "--unidirectional"], "--unidirectional applies to --conll and --pairs only (other models are unidirectional unless --bidirectional is given)"),
        (["--conll", "f.conll", "--unidirectional", "--bidirectional"], "--unidirectional and --bidirectional exclude each other"),
        (["--conll", "f.conll", "--tokens", "chars"], "--tokens applies to --tsv and --pairs only (a --conll tagger reads words)"),
        (["--conll", "f.conll", "--seq-len", "8"], "--seq-len applies to character models and forecasters only: a tagger or translator reads each sentence whole"),
        (["--text", "f.txt", "--min-count", "3"], "--min-count applies to --tsv or --pairs with --tokens words, and to --conll, only"),
    ])
    func usageErrors(options: [String], message: String) {
        let result = runCLI(["train"] + options)
        #expect(result.status == CommandLineRunner.usageErrorStatus)
        #expect(result.errors == "rnnkit: error: \(message)\n")
    }
}
