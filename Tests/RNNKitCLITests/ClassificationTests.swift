import Foundation
import RNNKit
import Testing
@testable import RNNKitCLI

/// A sensor-like classification CSV, one row per time step: `recording,subject,t,ax,ay,az,activity`.
/// `still` is noise around (0, 0, 1); `walk` and `run` turn (ax, ay) round a circle of the same
/// radius with periods of 10 and 5 steps, so only the timing tells them apart. Sequences are
/// 20–60 steps long; `subject` is text (never a default feature), `t` a number (one unless the
/// feature columns are named).
func sensorCSV(sequences: Int, seed: UInt64) -> String {
    var generator = SeededGenerator(seed: seed)
    var text = "recording,subject,t,ax,ay,az,activity\n"
    let activities = ["walk", "run", "still"]
    for n in 0..<sequences {
        let activity = activities[generator.nextIndex(below: 3)]
        let length = 20 + generator.nextIndex(below: 41)
        let phase = generator.nextUniform(0, 2 * Double.pi)
        let period = activity == "walk" ? 10.0 : 5.0
        for t in 0..<length {
            var (ax, ay) = (0.3 * generator.nextGaussian(), 0.3 * generator.nextGaussian())
            if activity != "still" {
                ax += 0.8 * sin(2 * Double.pi * Double(t) / period + phase)
                ay += 0.8 * cos(2 * Double.pi * Double(t) / period + phase)
            }
            let az = 1 + 0.3 * generator.nextGaussian()
            text += "rec\(n),s\(n % 7),\(t),\(format(ax, digits: 4)),\(format(ay, digits: 4)),\(format(az, digits: 4)),\(activity)\n"
        }
    }
    return text
}

@Suite("Sequence classification", .serialized)
struct ClassificationTests {
    static let columns = ["--sequence-column", "recording", "--label-column", "activity"]
    static let small = ["--hidden", "24", "--threads", "1"]

    @Test("train a classifier on a sensor CSV, evaluate it and predict with it")
    func trainEvaluatePredict() throws {
        let scratch = ScratchDirectory()
        let data = scratch.write("sensors.csv", text: sensorCSV(sequences: 240, seed: 3))
        let heldOut = scratch.write("new.csv", text: sensorCSV(sequences: 60, seed: 4))
        let run = scratch.file("run")
        let train = runCLI(["train", "--csv", data, "--feature-columns", "ax,ay,az", "--steps", "150", "--out", run]
                           + Self.columns + Self.small)
        try #require(train.status == 0, "\(train.errors)")
        #expect(train.output.contains("classifier of the 'recording' sequences of \(data) (240 sequences, 3 labels, 3 features)"))
        #expect(train.output.contains("(accuracy "))
        let configuration = try RunDirectory(path: run).readConfiguration(option: "--model")
        #expect(configuration.task == .classify && configuration.data.classes == ["run", "still", "walk"])
        #expect(configuration.data.featureColumns == ["ax", "ay", "az"] && configuration.data.featureMeans?.count == 3)

        // metrics.csv: the validation accuracy beside the loss, where validation ran.
        let metrics = try MetricsLog(csvText: String(contentsOfFile: run + "/metrics.csv", encoding: .utf8), source: "m")
        #expect(metrics.metricColumn == "val_accuracy" && metrics.throughputColumn == "sequences_per_second")
        #expect(metrics.records.allSatisfy { ($0.validationLoss == nil) == ($0.validationMetric == nil) })
        let finalAccuracy = try #require(metrics.records.last?.validationMetric)
        // Always the most frequent label scores about a third; the model must do far better.
        #expect(finalAccuracy >= 0.9, "validation accuracy \(finalAccuracy)")
        // loss.svg's second panel draws the accuracy.
        let svg = try String(contentsOfFile: run + "/loss.svg", encoding: .utf8)
        #expect(svg.contains("id=\"validation-metric\"") && svg.contains("validation accuracy"))

        // eval on sequences it never saw: the field's figures, then the line scripts read.
        let confusion = scratch.file("confusion.svg")
        let evaluated = runCLI(["eval", "--model", run, "--csv", heldOut, "--confusion", confusion])
        try #require(evaluated.status == 0, "\(evaluated.errors)")
        let lines = evaluated.output.split(separator: "\n").map(String.init)
        #expect(lines[0] == "\(heldOut): 60 sequences, 3 labels")
        #expect(lines.contains("label  precision  recall      f1  support"))
        #expect(lines.contains("confusion matrix (rows: label, columns: predicted)"))
        let summary = Dictionary(uniqueKeysWithValues: try #require(lines.last).split(separator: " ").map {
            let pair = $0.split(separator: "=")
            return (String(pair[0]), Double(pair[1])!)
        })
        #expect(Set(summary.keys) == ["accuracy", "macro_f1"])
        #expect(summary["accuracy"]! >= 0.9, "\(evaluated.output)")
        // The confusion plot: a cell per label and predicted label, holding its count.
        let plot = try String(contentsOfFile: confusion, encoding: .utf8)
        #expect(plot.components(separatedBy: "<rect x=").count - 1 == 9 && plot.contains(">predicted walk</text>"))

        // predict: one row per sequence, probabilities summing to 1, the label ignored; and eval's
        // accuracy and macro-F1 are those of its predictions against the labels, computed here by hand.
        let predicted = runCLI(["predict", "--model", run, "--csv", heldOut])
        try #require(predicted.status == 0, "\(predicted.errors)")
        let rows = predicted.output.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        #expect(rows[0] == ["recording", "predicted", "p_run", "p_still", "p_walk"])
        #expect(rows.count == 61)
        for row in rows.dropFirst() { #expect(abs(row[2...].map { Double($0)! }.reduce(0, +) - 1) < 1e-4) }
        let table = try SequenceTable.read(path: heldOut, sequenceColumn: "recording", labelColumn: "activity", featureColumns: ["ax"])
        let matches = zip(rows.dropFirst(), table.sequences).filter { $0.0[1] == $0.1.label }.count
        #expect(abs(Double(matches) / 60 - summary["accuracy"]!) < 1e-6)
        var f1s: [Double] = []
        for label in ["run", "still", "walk"] {
            let pairs = zip(rows.dropFirst().map { $0[1] }, table.sequences.map { $0.label! })
            let truePositives = Double(pairs.filter { $0.0 == label && $0.1 == label }.count)
            let predictedCount = Double(pairs.filter { $0.0 == label }.count), actualCount = Double(pairs.filter { $0.1 == label }.count)
            guard predictedCount + actualCount > 0 else { continue }
            let precision = predictedCount > 0 ? truePositives / predictedCount : 0, recall = actualCount > 0 ? truePositives / actualCount : 0
            f1s.append(precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0)
        }
        #expect(abs(f1s.reduce(0, +) / Double(f1s.count) - summary["macro_f1"]!) < 1e-6)
        let out = scratch.file("predictions.csv")
        #expect(runCLI(["predict", "--model", run, "--csv", heldOut, "--out", out]).status == 0)
        #expect(try String(contentsOfFile: out, encoding: .utf8) == predicted.output)

        // The other commands say what the run holds.
        #expect(runCLI(["generate", "--model", run]).errors.contains("holds a sequence classifier"))
        #expect(runCLI(["forecast", "--model", run, "--csv", heldOut]).errors.contains("holds a sequence classifier"))
        let inspected = runCLI(["inspect", run])
        #expect(inspected.output.contains("labels      run, still, walk"))
    }

    @Test("the same options train the same classifier; a resumed run ends where an uninterrupted one does")
    func determinismAndResumption() throws {
        let scratch = ScratchDirectory()
        let data = scratch.write("sensors.csv", text: sensorCSV(sequences: 60, seed: 5))
        let options = ["train", "--csv", data, "--steps", "12", "--dropout", "0.2", "--layers", "2", "--bidirectional"]
            + Self.columns + Self.small
        try expectDeterministicAndResumable(options, stoppingAfter: 5, in: scratch)
        // Every column but the sequence and label columns that is all numbers: t, ax, ay, az.
        let configuration = try RunDirectory(path: scratch.file("a")).readConfiguration(option: "--model")
        #expect(configuration.data.featureColumns == ["t", "ax", "ay", "az"])
    }

    /// Every way the content of a classification CSV can be wrong: one line, exit status 65, no
    /// run directory (`FILE` in a message stands for the file's path).
    @Test("bad classification data", arguments: [
        ("id,x,y\na,1,p\na,2,p\nb,3,q\na,4,p\n", [String](),
         "CSV file 'FILE' line 5: sequence 'a' continues after other sequences' rows (it began on line 2); expected the rows of each sequence to be consecutive"),
        ("id,x,y\na,1,p\na,2,q\nb,1,q\n", [],
         "CSV file 'FILE' line 3: sequence 'a' has the label 'q' here but 'p' on its first row (line 2); expected one label per sequence"),
        ("id,x,y\na,1,p\nb,zz,q\n", ["--feature-columns", "x"],
         "CSV file 'FILE' line 3, column 'x': 'zz' is not a number; expected a finite decimal number in every feature cell"),
        ("id,x,y\na,1,p\nb,,q\n", ["--feature-columns", "x"],
         "CSV file 'FILE' line 3, column 'x': an empty cell is not a number; expected a finite decimal number in every feature cell"),
        ("id,x,y\na,1,p\nb,zz,q\n", [],
         "CSV file 'FILE' has no numeric column besides the sequence and label columns; expected at least one feature column whose every cell is a number"),
        ("id,x,y\na,1,p\n,2,q\n", [],
         "CSV file 'FILE' line 3: the sequence column 'id' is empty; expected a sequence id on every row"),
        ("id,x,y\na,1,p\nb,2,\n", [],
         "CSV file 'FILE' line 3: the label column 'y' is empty; expected a label on every row"),
        ("id,x,y\na,1,p\nb,2,p\n", [],
         "CSV file 'FILE': every sequence has the label 'p'; expected at least two different labels in column 'y' to classify"),
        ("id,x,y\na,1,p\na,2,p\n", [],
         "CSV file 'FILE' has 1 sequence; expected at least 2, to train on and to validate on"),
        ("id,x,y\na,1,p\nb,2\n", [],
         "CSV file 'FILE' line 3: 2 fields, expected 3 as in the header"),
        ("id,x,y\n", [],
         "CSV file 'FILE' has a header but no data rows"),
        ("id,x,y\na,1,p\nb,2,q\n", ["--feature-columns", "x,w"],
         "CSV file 'FILE' has no feature column 'w'; its columns are 'id', 'x', 'y'"),
        ("ident,x,y\na,1,p\nb,2,q\n", [], "CSV file 'FILE' has no sequence column 'id'; its columns are 'ident', 'x', 'y'"),
        ("id,x,label\na,1,p\nb,2,q\n", [], "CSV file 'FILE' has no label column 'y'; its columns are 'id', 'x', 'label'"),
        ("id,x,y\na,1,p\nb,2,q\n", ["--feature-columns", "y"],
         "feature column 'y' of 'FILE' is also the sequence or label column; expected other columns as features"),
    ])
    func badData(csv: String, options: [String], message: String) {
        let scratch = ScratchDirectory()
        let path = scratch.write("data.csv", text: csv)
        let result = runCLI(["train", "--csv", path, "--sequence-column", "id", "--label-column", "y", "--out", scratch.file("run")]
                            + options + Self.small)
        #expect(result.status == CommandLineRunner.dataErrorStatus, "\(result.errors)")
        #expect(result.errors == "rnnkit: error: \(message.replacingOccurrences(of: "FILE", with: path))\n")
        #expect(!FileManager.default.fileExists(atPath: scratch.file("run")))
    }

    @Test("a sequence longer than the limit is refused")
    func overlongSequence() {
        let scratch = ScratchDirectory()
        var csv = "id,x,y\nb,1,q\n"
        for t in 0...SequenceTable.maximumSequenceLength { csv += "a,\(t % 10),p\n" }
        let path = scratch.write("data.csv", text: csv)
        let result = runCLI(["train", "--csv", path, "--sequence-column", "id", "--label-column", "y", "--out", scratch.file("run")])
        #expect(result.status == 65)
        #expect(result.errors == "rnnkit: error: CSV file '\(path)' line \(SequenceTable.maximumSequenceLength + 3): sequence 'a' (from line 3) is longer than \(SequenceTable.maximumSequenceLength) rows; split it into shorter sequences\n")
    }

    @Test("eval and predict refuse what does not fit the model")
    func evaluationErrors() throws {
        let scratch = ScratchDirectory()
        let data = scratch.write("sensors.csv", text: sensorCSV(sequences: 30, seed: 6))
        let run = scratch.file("run")
        try #require(runCLI(["train", "--csv", data, "--feature-columns", "ax,ay,az", "--steps", "2", "--out", run]
                            + Self.columns + Self.small).status == 0)
        let unknown = scratch.write("unknown.csv", text: "recording,ax,ay,az,activity\nr1,0,0,1,still\nr2,0,0,1,jump\n")
        let result = runCLI(["eval", "--model", run, "--csv", unknown])
        #expect(result.status == 65)
        #expect(result.errors == "rnnkit: error: CSV file '\(unknown)' line 3: sequence 'r2' has the label 'jump', which the model was not trained on; expected one of 'run', 'still', 'walk'\n")
        #expect(runCLI(["eval", "--model", run, "--csv", unknown, "--feature-columns", "ax,ay"]).errors
                == "rnnkit: error: --feature-columns names 2 columns; the model reads 3 (ax,ay,az)\n")
        // predict ignores the labels, and reads files without them.
        let unlabelled = scratch.write("unlabelled.csv", text: "recording,ax,ay,az\nr1,0,0,1\nr1,0.1,0,1\nr2,0,0,1\n")
        let predicted = runCLI(["predict", "--model", run, "--csv", unlabelled])
        #expect(predicted.status == 0, "\(predicted.errors)")
        #expect(predicted.output.split(separator: "\n").map { $0.split(separator: ",")[0] } == ["recording", "r1", "r2"])
        #expect(runCLI(["eval", "--model", run, "--text", data]).errors.contains("holds a sequence classifier"))

        // A config.json whose labels do not fit the checkpoint's head is a damaged run, not a crash.
        let configPath = run + "/config.json"
        let text = try String(contentsOfFile: configPath, encoding: .utf8)
        try text.replacingOccurrences(of: "\"still\",", with: "").write(toFile: configPath, atomically: true, encoding: .utf8)
        let damaged = runCLI(["predict", "--model", run, "--csv", unlabelled])
        #expect(damaged.status == 1)
        #expect(damaged.errors == "rnnkit: error: \(configPath) names 2 labels for a model of 3 outputs; the run directory is damaged\n")
    }

    @Test("classifier options that do not fit are usage errors", arguments: [
        (["--csv", "f.csv", "--label-column", "y"], "a sequence classifier needs both --sequence-column ID and --label-column L (and --feature-columns applies only with them)"),
        (["--csv", "f.csv", "--sequence-column", "id", "--label-column", "y", "--column", "x"],
         "--column (a forecaster) and --label-column (a sequence classifier) exclude each other; pass one"),
        (["--csv", "f.csv", "--sequence-column", "id", "--label-column", "y", "--seq-len", "5"],
         "--seq-len applies to character models and forecasters only: a sequence classifier reads each sequence whole"),
        (["--label-column", "y", "--sequence-column", "id"], "--sequence-column applies to --csv only"),
        (["--csv", "f.csv", "--sequence-column", "id", "--label-column", "y", "--feature-columns", "a,,b"],
         "--feature-columns 'a,,b' has an empty column name; expected names separated by commas, as in a,b,c"),
        (["--csv", "f.csv", "--sequence-column", "id", "--label-column", "y", "--feature-columns", "a,b,a"],
         "--feature-columns names 'a' twice; expected each column once"),
        (["--csv", "f.csv"], "--csv needs --column NAME (the numeric column to forecast) or --sequence-column ID --label-column L (to classify sequences)"),
    ])
    func usageErrors(options: [String], message: String) {
        let result = runCLI(["train"] + options)
        #expect(result.status == CommandLineRunner.usageErrorStatus)
        #expect(result.errors == "rnnkit: error: \(message)\n")
    }
}

/// A review-like `label<TAB>text` file: 4–12 filler words with one sentiment word inserted, that
/// word preceded by `not` in 30 % of the lines, which flips the label, so a model must read the
/// word before the sentiment word, not only count words.
func reviewsTSV(lines: Int, seed: UInt64) -> String {
    var generator = SeededGenerator(seed: seed)
    let filler = "the a movie film plot actors was is and it this really quite very story ending music scenes time with".split(separator: " ")
    let positive = ["good", "great", "wonderful", "fun", "lovely"], negative = ["bad", "awful", "boring", "dull", "terrible"]
    var text = ""
    for _ in 0..<lines {
        var words = (0..<(4 + generator.nextIndex(below: 9))).map { _ in String(filler[generator.nextIndex(below: filler.count)]) }
        let isPositive = generator.nextIndex(below: 2) == 0
        let word = (isPositive ? positive : negative)[generator.nextIndex(below: 5)]
        let negated = generator.nextUnit() < 0.3
        words.insert(negated ? "not " + word : word, at: generator.nextIndex(below: words.count + 1))
        text += (isPositive != negated ? "pos" : "neg") + "\t" + words.joined(separator: " ") + "\n"
    }
    return text
}

@Suite("Text classification", .serialized)
struct TextClassificationTests {
    @Test("train a word-level text classifier on a TSV file, evaluate it and predict with it")
    func words() throws {
        let scratch = ScratchDirectory()
        let data = scratch.write("reviews.tsv", text: reviewsTSV(lines: 2000, seed: 8))
        let heldOut = scratch.write("new.tsv", text: reviewsTSV(lines: 200, seed: 9) + "pos\tan unseenword good movie\r\n\n")
        let run = scratch.file("run")
        let train = runCLI(["train", "--tsv", data, "--tokens", "words", "--steps", "600", "--hidden", "32", "--threads", "1", "--out", run])
        try #require(train.status == 0, "\(train.errors)")
        #expect(train.output.contains("text classifier on \(data) (2,000 lines, 2 labels, 31 words and <unk>)"))
        let configuration = try RunDirectory(path: run).readConfiguration(option: "--model")
        #expect(configuration.data.kind == .tsv && configuration.data.tokens == .words && configuration.data.minCount == 2)
        #expect(configuration.data.vocabulary?.first == "<unk>" && configuration.data.classes == ["neg", "pos"])
        let metrics = try MetricsLog(csvText: String(contentsOfFile: run + "/metrics.csv", encoding: .utf8), source: "m")
        // Always one label scores half; a model that ignores "not" scores about 70 %.
        let accuracy = try #require(metrics.records.last?.validationMetric)
        #expect(accuracy >= 0.95, "validation accuracy \(accuracy)")

        let evaluated = runCLI(["eval", "--model", run, "--tsv", heldOut])
        try #require(evaluated.status == 0, "\(evaluated.errors)")
        #expect(evaluated.output.hasPrefix("\(heldOut): 201 lines, 2 labels\n"))
        let last = try #require(evaluated.output.split(separator: "\n").last)
        #expect(last.hasPrefix("accuracy=") && last.contains(" macro_f1="))
        #expect(try #require(Double(last.split(separator: " ")[0].dropFirst("accuracy=".count))) >= 0.95)

        // predict: `line` is the line number; a line without a tab is a text without a label.
        let unlabelled = scratch.write("texts.txt", text: "a not good film\nreally great\n")
        let predicted = runCLI(["predict", "--model", run, "--tsv", unlabelled])
        try #require(predicted.status == 0, "\(predicted.errors)")
        let rows = predicted.output.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        #expect(rows[0] == ["line", "predicted", "p_neg", "p_pos"])
        #expect(rows.dropFirst().map { $0[0] } == ["1", "2"] && rows.dropFirst().map { $0[1] } == ["neg", "pos"])
        #expect(runCLI(["predict", "--model", run, "--csv", unlabelled]).errors.contains("holds a text classifier (pass --tsv)"))
    }

    @Test("a character-level text classifier; the same options give the same model, and a resumed run ends where an uninterrupted one does")
    func charactersDeterminismAndResumption() throws {
        let scratch = ScratchDirectory()
        let data = scratch.write("reviews.tsv", text: reviewsTSV(lines: 300, seed: 10))
        let options = ["train", "--tsv", data, "--steps", "12", "--hidden", "16", "--threads", "1", "--bidirectional", "--embedding", "8"]
        try expectDeterministicAndResumable(options, stoppingAfter: 5, in: scratch)
        let model = try SequenceModel(contentsOf: scratch.file("a") + "/checkpoint.safetensors")
        #expect(model.configuration.bidirectional && model.configuration.embeddingSize == 8)
        // chars: every character of the training texts and <unk>.
        let configuration = try RunDirectory(path: scratch.file("a")).readConfiguration(option: "--model")
        #expect(configuration.data.tokens == .chars && configuration.data.minCount == nil)
        #expect(Set(configuration.data.vocabulary!.dropFirst()).isSubset(of: Set("abcdefghijklmnopqrstuvwxyz ".map(String.init))))
    }

    @Test("--val: a validation file in the training file's format replaces --val-fraction")
    func validationFile() throws {
        let scratch = ScratchDirectory()
        let data = scratch.write("reviews.tsv", text: reviewsTSV(lines: 100, seed: 15))
        // Words the training file never has: they must read as <unk>, not enter the vocabulary.
        let validation = scratch.write("val.tsv", text: "pos\tzzz good\nneg\tzzz bad\nneg\tnot fun qqq\n")
        let options = ["train", "--tsv", data, "--val", validation, "--tokens", "words", "--steps", "6", "--hidden", "8", "--threads", "1"]
        let result = runCLI(options + ["--out", scratch.file("run")])
        try #require(result.status == 0, "\(result.errors)")
        #expect(result.output.contains("(103 lines, 2 labels, "))
        #expect(result.output.contains("over 3 texts"))
        let configuration = try RunDirectory(path: scratch.file("run")).readConfiguration(option: "--model")
        #expect(configuration.data.validationPath == validation && configuration.data.length == 103)
        #expect(!(configuration.data.vocabulary ?? []).contains("zzz"))
        try expectDeterministicAndResumable(options, stoppingAfter: 3, in: scratch)
        #expect(runCLI(options + ["--val-fraction", "0.2"]).errors
                == "rnnkit: error: --val and --val-fraction exclude each other: the validation data is the --val file, or the end of the training data\n")
        #expect(runCLI(["train", "--csv", "s.csv", "--column", "y", "--val", validation]).errors
                == "rnnkit: error: --val does not apply to forecasters: a forecaster validates on the end of its series (--val-fraction)\n")
        let broken = scratch.write("broken.tsv", text: "pos good\n")
        let refused = runCLI(["train", "--tsv", data, "--val", broken, "--out", scratch.file("x")])
        #expect(refused.status == 65 && refused.errors == "rnnkit: error: TSV file '\(broken)' line 1: no tab; expected label<TAB>text\n")
    }

    @Test("the vocabulary: <unk> first, then by frequency; rare words share <unk>")
    func vocabulary() {
        let vocabulary = TokenVocabulary(counting: [["b", "a", "b", "c"], ["a", "b", "d", "d"]], minimumCount: 2)
        #expect(vocabulary.tokens == ["<unk>", "b", "a", "d"])
        #expect(vocabulary.ids(of: ["a", "c", "zz", "d"]) == [2, 0, 0, 3])
        #expect(TokenUnit.words.tokens(of: " two  words\there ") == ["two", "words", "here"])
        #expect(TokenUnit.chars.tokens(of: "é a") == ["é", " ", "a"])
    }

    @Test("bad text classification data", arguments: [
        ("pos\tgood\nneg bad\n", "TSV file 'FILE' line 2: no tab; expected label<TAB>text"),
        ("pos\tgood\n\tbad\n", "TSV file 'FILE' line 2: the label before the tab is empty; expected label<TAB>text"),
        ("pos\tgood\nneg\t   \n", "TSV file 'FILE' line 2: the text after the tab has no words; expected at least one"),
        ("\n\n", "TSV file 'FILE' has no lines of text; expected label<TAB>text lines"),
        ("pos\tgood\npos\tfine\n", "TSV file 'FILE': every line has the label 'pos'; expected at least two different labels before the tabs to classify"),
        ("pos\tgood\n", "TSV file 'FILE' has 1 line; expected at least 2, to train on and to validate on"),
    ])
    func badData(tsv: String, message: String) {
        let scratch = ScratchDirectory()
        let path = scratch.write("data.tsv", text: tsv)
        let result = runCLI(["train", "--tsv", path, "--tokens", "words", "--out", scratch.file("run")])
        #expect(result.status == CommandLineRunner.dataErrorStatus, "\(result.errors)")
        #expect(result.errors == "rnnkit: error: \(message.replacingOccurrences(of: "FILE", with: path))\n")
        #expect(!FileManager.default.fileExists(atPath: scratch.file("run")))
    }

    @Test("a text longer than the limit is refused, naming its line")
    func overlongText() {
        let scratch = ScratchDirectory()
        let path = scratch.write("long.tsv", text: "pos\tgood\nneg\t" + String(repeating: "x", count: LabelledText.maximumTokens + 1) + "\n")
        let result = runCLI(["train", "--tsv", path, "--out", scratch.file("run")])
        #expect(result.status == 65)
        #expect(result.errors == "rnnkit: error: TSV file '\(path)' line 2: the text has \(LabelledText.maximumTokens + 1) chars, more than \(LabelledText.maximumTokens); split it\n")
        let pairs = scratch.write("long-pairs.tsv", text: "ab\tba\n" + String(repeating: "y", count: LabelledText.maximumTokens + 1) + "\tz\n")
        let refused = runCLI(["train", "--pairs", pairs, "--out", scratch.file("run")])
        #expect(refused.errors == "rnnkit: error: pairs file '\(pairs)' line 2: the source has \(LabelledText.maximumTokens + 1) chars, more than \(LabelledText.maximumTokens); split it\n")
    }

    @Test("text classifier options that do not fit are usage errors", arguments: [
        (["--tsv", "f.tsv", "--min-count", "3"], "--min-count applies to --tokens words only: every character of the training texts gets an id of its own"),
        (["--tsv", "f.tsv", "--tokens", "words", "--min-count", "0"], "--min-count must be between 1 and 1000000, got 0"),
        (["--text", "f.txt", "--tokens", "words"], "--tokens applies to --tsv and --pairs only (a --conll tagger reads words)"),
        (["--tsv", "f.tsv", "--seq-len", "9"], "--seq-len applies to character models and forecasters only: a text classifier reads each text whole"),
        (["--tsv", "f.tsv", "--csv", "f.csv"], "--text, --csv, --tsv, --conll and --pairs exclude each other; pass one data file"),
        (["--tsv", "f.tsv", "--tokens", "bytes"], "The value 'bytes' is invalid for '--tokens <tokens>'"),
    ])
    func usageErrors(options: [String], message: String) {
        let result = runCLI(["train"] + options)
        #expect(result.status == CommandLineRunner.usageErrorStatus)
        #expect(result.errors.hasPrefix("rnnkit: error: \(message)"), "\(result.errors)")
    }
}
