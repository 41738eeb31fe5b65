import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import RNNKit
import Testing
@testable import RNNKitCLI

/// `source<TAB>target` lines: strings of 3–10 letters from `a`–`h`, each target its source reversed.
func reversalPairs(lines: Int, seed: UInt64) -> String {
    var generator = SeededGenerator(seed: seed)
    let letters = Array("abcdefgh")
    var text = ""
    for _ in 0..<lines {
        let source = String((0..<(3 + generator.nextIndex(below: 8))).map { _ in letters[generator.nextIndex(below: letters.count)] })
        text += source + "\t" + String(source.reversed()) + "\n"
    }
    return text
}

@Suite("Translation", .serialized)
struct TranslationTests {
    @Test("train an attention encoder–decoder on pairs, evaluate it, translate with it and plot its attention")
    func reversal() throws {
        let scratch = ScratchDirectory()
        let data = scratch.write("pairs.tsv", text: reversalPairs(lines: 3000, seed: 3))
        let heldOut = scratch.write("new.tsv", text: reversalPairs(lines: 100, seed: 4))
        let run = scratch.file("run")
        let train = runCLI(["train", "--pairs", data, "--steps", "500", "--hidden", "48", "--threads", "2", "--out", run])
        try #require(train.status == 0, "\(train.errors)")
        #expect(train.output.contains("translator on \(data) (3,000 pairs; 8 source and 8 target characters; additive attention); bidirectional lstm 1×48"))
        #expect(train.output.contains("(exact match "))
        let metrics = try MetricsLog(csvText: String(contentsOfFile: run + "/metrics.csv", encoding: .utf8), source: "m")
        #expect(metrics.metricColumn == "val_exact_match" && metrics.throughputColumn == "tokens_per_second")
        let exactMatch = try #require(metrics.records.last?.validationMetric)
        #expect(exactMatch >= 0.95, "validation exact match \(exactMatch)")

        for beam in ["1", "4"] {
            let evaluated = runCLI(["eval", "--model", run, "--pairs", heldOut, "--beam", beam])
            try #require(evaluated.status == 0, "\(evaluated.errors)")
            let last = try #require(evaluated.output.split(separator: "\n").last)
            let values = Dictionary(uniqueKeysWithValues: last.split(separator: " ").map {
                let pair = $0.split(separator: "=")
                return (String(pair[0]), Double(pair[1])!)
            })
            #expect(Set(values.keys) == ["exact_match", "token_accuracy", "cer"])
            #expect(values["exact_match"]! >= 0.9 && values["cer"]! <= 0.05, "\(evaluated.output)")
        }

        let input = scratch.write("sources.txt", text: "abcdef\n\nhhgga\tignored\n")
        let plot = scratch.file("attention.svg")
        let translated = runCLI(["translate", "--model", run, "--input", input, "--beam", "3", "--attention-plot", plot])
        try #require(translated.status == 0, "\(translated.errors)")
        #expect(translated.output == "fedcba\nagghh\n")
        let svg = try String(contentsOfFile: plot, encoding: .utf8)
        // One cell per written token (6) and source position (<s>, 6 letters, </s>).
        #expect(svg.hasPrefix("<?xml") && svg.components(separatedBy: "<rect x=").count - 1 == 6 * 8)
        #expect(XMLParser(data: Data(svg.utf8)).parse())

        #expect(runCLI(["predict", "--model", run, "--csv", input]).errors.contains("holds a translator"))
        #expect(runCLI(["translate", "--model", scratch.file("nothing")]).status == 1)
    }

    @Test("words, no attention; the same options give the same model, and a resumed run ends where an uninterrupted one does")
    func wordsDeterminismAndResumption() throws {
        let scratch = ScratchDirectory()
        let data = scratch.write("pairs.tsv", text: (0..<60).map { "w\($0 % 7) w\($0 % 5) x\t\($0 % 3 == 0 ? "yes" : "no") y\n" }.joined())
        let options = ["train", "--pairs", data, "--tokens", "words", "--attention", "none", "--unidirectional", "--steps", "8",
                       "--hidden", "12", "--threads", "1", "--dropout", "0.1", "--layers", "2"]
        for run in ["a", "b"] { #expect(runCLI(options + ["--out", scratch.file(run)]).status == 0) }
        #expect(runCLI(options + ["--out", scratch.file("c"), "--stop-after", "3"]).status == 0)
        #expect(runCLI(["train", "--resume", scratch.file("c")]).status == 0)
        func weights(_ run: String) throws -> [Float] {
            try Seq2SeqModel(contentsOf: scratch.file(run) + "/checkpoint.safetensors").parameterGroups.flatMap { $0.parameters }
        }
        #expect(try weights("a") == weights("b"))
        #expect(try weights("c") == weights("a"))
        let model = try Seq2SeqModel(contentsOf: scratch.file("a") + "/checkpoint.safetensors")
        #expect(model.attention == nil && !model.configuration.bidirectionalEncoder)
        let configuration = try RunDirectory(path: scratch.file("a")).readConfiguration(option: "--model")
        #expect(configuration.data.vocabulary?.prefix(3) == ["<unk>", "<s>", "</s>"])
        #expect(configuration.data.targetVocabulary?.first == "<unk>" && configuration.data.minCount == 2)
        let plotted = runCLI(["translate", "--model", scratch.file("a"), "--input", data, "--attention-plot", scratch.file("p.svg")])
        #expect(plotted.errors.contains("--attention-plot needs a model with attention"))
    }

    @Test("bad pairs", arguments: [
        ("ab\tba\ncd dc\n", "pairs file 'FILE' line 2: no tab; expected source<TAB>target"),
        ("ab\tba\n\tdc\n", "pairs file 'FILE' line 2: the source has no characters; expected source<TAB>target, neither empty"),
        ("ab\tba\ncd\t\n", "pairs file 'FILE' line 2: the target has no characters; expected source<TAB>target, neither empty"),
        ("\n \n", "pairs file 'FILE' has no lines; expected source<TAB>target lines"),
        ("ab\tba\n", "pairs file 'FILE' has 1 line; expected at least 2, to train on and to validate on"),
    ])
    func badData(pairs: String, message: String) {
        let scratch = ScratchDirectory()
        let path = scratch.write("pairs.tsv", text: pairs)
        let result = runCLI(["train", "--pairs", path, "--out", scratch.file("run")])
        #expect(result.status == CommandLineRunner.dataErrorStatus, "\(result.errors)")
        #expect(result.errors == "rnnkit: error: \(message.replacingOccurrences(of: "FILE", with: path))\n")
        #expect(!FileManager.default.fileExists(atPath: scratch.file("run")))
    }

    @Test("translator options that do not fit are usage errors", arguments: [
        (["train", "--text", "f.txt", "--attention", "dot"], "--attention and --input-feeding apply to --pairs only"),
        (["train", "--pairs", "f.tsv", "--attention", "none", "--input-feeding"],
         "--input-feeding feeds the attention context to the next step; it needs --attention dot, general or additive"),
        (["train", "--pairs", "f.tsv", "--bidirectional"],
         "--bidirectional does not apply to --pairs: the encoder is bidirectional by default (--unidirectional turns it off) and the decoder cannot be"),
        (["train", "--pairs", "f.tsv", "--attention", "luong"], "The value 'luong' is invalid for '--attention <attention>'"),
        (["eval", "--model", "m", "--text", "f.txt", "--beam", "2"], "--beam applies to --pairs only"),
        (["translate", "--model", "m", "--beam", "0"], "--beam must be between 1 and 100, got 0"),
    ])
    func usageErrors(arguments: [String], message: String) {
        let result = runCLI(arguments)
        #expect(result.status == CommandLineRunner.usageErrorStatus)
        #expect(result.errors.hasPrefix("rnnkit: error: \(message)"), "\(result.errors)")
    }
}
