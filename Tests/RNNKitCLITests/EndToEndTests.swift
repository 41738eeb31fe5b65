import Foundation
import RNNKit
import Testing
@testable import RNNKitCLI

/// Short real runs of `rnnkit` on the shipped corpus and on a generated series (tiny models, a few
/// steps: seconds in release mode).
@Suite("End to end", .serialized)
struct EndToEndTests {
    /// Options that make a run take a fraction of a second.
    static let tiny = ["--hidden", "16", "--batch", "4", "--seq-len", "16", "--threads", "1", "--val-fraction", "0.02"]

    @Test("train on the built-in corpus, then generate and eval from the run directory")
    func trainGenerateEval() throws {
        let scratch = ScratchDirectory()
        let run = scratch.file("run")
        let train = runCLI(["train", "--steps", "6", "--eval-every", "3", "--out", run] + Self.tiny)
        try #require(train.status == 0, "\(train.errors)")
        #expect(train.errors == "")
        #expect(train.output.contains("character model on the built-in corpus"))
        #expect(train.output.contains("validation: "))
        #expect(train.output.contains("bits per character"))
        #expect(scratch.contents("run") == ["checkpoint.safetensors", "config.json", "loss.svg", "metrics.csv", "samples.txt"])

        // metrics.csv: a row per step (log interval max(1, 3/5) = 1), validation at steps 3 and 6.
        let metrics = try MetricsLog(csvText: String(contentsOfFile: run + "/metrics.csv", encoding: .utf8), source: "metrics.csv")
        #expect(metrics.throughputColumn == "tokens_per_second")
        #expect(metrics.records.map(\.step) == [1, 2, 3, 4, 5, 6])
        #expect(metrics.records.map { $0.validationLoss != nil } == [false, false, true, false, false, true])
        #expect(metrics.records.allSatisfy { $0.trainLoss > 0 && $0.trainLoss < 10 && $0.throughput > 0 })
        let svg = try String(contentsOfFile: run + "/loss.svg", encoding: .utf8)
        #expect(svg.contains("id=\"train-loss\"") && svg.contains("id=\"validation-loss\"") && !svg.contains("validation-metric"))

        // config.json records what was asked for.
        let configuration = try RunDirectory(path: run).readConfiguration(option: "--model")
        #expect(configuration.task == "char-lm")
        #expect(configuration.data.kind == "builtin")
        #expect(configuration.model.hidden == 16)
        #expect(configuration.training.steps == 6)

        // The checkpoint is a model file at step 6.
        let file = try SafeTensorsFile(contentsOf: run + "/checkpoint.safetensors")
        #expect(file.metadata?["training.step"] == "6")

        // generate: the prime, then exactly --length characters; the same seed gives the same text.
        let generated = runCLI(["generate", "--model", run, "--prime", "The ", "--length", "40", "--seed", "3"])
        #expect(generated.status == 0, "\(generated.errors)")
        #expect(generated.output.hasPrefix("The "))
        #expect(generated.output.unicodeScalars.count == 4 + 40 + 1)
        #expect(runCLI(["generate", "--model", run, "--prime", "The ", "--length", "40", "--seed", "3"]).output == generated.output)
        let unknownPrime = runCLI(["generate", "--model", run, "--prime", "Ω"])
        #expect(unknownPrime.status == 1)
        #expect(unknownPrime.errors.hasPrefix("rnnkit: error: --prime contains 'Ω' (U+3A9), which the model never saw; its vocabulary has "))

        // eval: the printed bits per character are the loss over ln 2, below uniform guessing.
        let corpus = try String(contentsOfFile: BuiltinCorpus.locate(), encoding: .utf8)
        let sample = scratch.write("sample.txt", text: String(corpus.prefix(1500)))
        let evaluated = runCLI(["eval", "--model", run, "--text", sample])
        #expect(evaluated.status == 0, "\(evaluated.errors)")
        #expect(evaluated.output.contains("1,499 predicted characters"))
        let numbers = evaluated.output.split(separator: "\n")[1].split(separator: " ")
        let loss = try #require(Double(numbers[1])), bits = try #require(Double(numbers[3]))
        #expect(abs(bits - loss / log(2)) < 1e-3)
        #expect(bits < log2(Double(Set(corpus.unicodeScalars).count)))
        let foreign = scratch.write("foreign.txt", text: "The Ωmega")
        let refused = runCLI(["eval", "--model", run, "--text", foreign])
        #expect(refused.status == CommandLineRunner.dataErrorStatus)
        #expect(refused.errors.contains("has 'Ω' (U+3A9) at character 4, which is not among the"))

        // inspect reads the run directory.
        let inspected = runCLI(["inspect", run])
        #expect(inspected.status == 0, "\(inspected.errors)")
        #expect(inspected.output.contains("rnn.weight_hh_l0") || inspected.output.contains("weight_hh_l0"))
        #expect(inspected.output.contains("training-state tensors"))

        // A second run into the same directory is refused, and leaves the run as it was.
        let again = runCLI(["train", "--steps", "1", "--out", run] + Self.tiny)
        #expect(again.status == 1)
        #expect(again.errors == "rnnkit: error: '\(run)' already holds a run; continue it with --resume \(run), or pass a new --out directory\n")
    }

    @Test("a run stopped and resumed ends with the same weights as one that never stopped")
    func resume() throws {
        let scratch = ScratchDirectory()
        let whole = scratch.file("whole"), split = scratch.file("split")
        let options = ["--steps", "8", "--eval-every", "4", "--dropout", "0.1", "--layers", "2"] + Self.tiny
        #expect(runCLI(["train", "--out", whole] + options).status == 0)
        let first = runCLI(["train", "--out", split, "--stop-after", "4"] + options)
        #expect(first.status == 0, "\(first.errors)")
        #expect(first.output.contains("stopped after step 4 of 8; continue with: rnnkit train --resume \(split)"))
        #expect(try SafeTensorsFile(contentsOf: split + "/checkpoint.safetensors").metadata?["training.step"] == "4")

        let resumed = runCLI(["train", "--resume", split])
        #expect(resumed.status == 0, "\(resumed.errors)")
        #expect(resumed.output.contains("resuming \(split) at step 4 of 8"))
        let a = try SafeTensorsFile(contentsOf: whole + "/checkpoint.safetensors")
        let b = try SafeTensorsFile(contentsOf: split + "/checkpoint.safetensors")
        #expect(a.tensorNames == b.tensorNames)
        for name in a.tensorNames {
            #expect(try a.rawBytes(of: name) == b.rawBytes(of: name), "tensor \(name) differs")
        }
        let metrics = try MetricsLog(csvText: String(contentsOfFile: split + "/metrics.csv", encoding: .utf8), source: "m")
        #expect(metrics.records.map(\.step) == Array(1...8))

        // Resuming a finished run asks for more steps; --steps raises the total.
        let finished = runCLI(["train", "--resume", split])
        #expect(finished.status == 1)
        #expect(finished.errors == "rnnkit: error: the run in '\(split)' has already taken 8 of its 8 steps; pass --steps N with N > 8 to train further\n")
        let more = runCLI(["train", "--resume", split, "--steps", "10"])
        #expect(more.status == 0, "\(more.errors)")
        #expect(try SafeTensorsFile(contentsOf: split + "/checkpoint.safetensors").metadata?["training.step"] == "10")
    }

    @Test("train a forecaster on a CSV column, then forecast past its end")
    func forecast() throws {
        let scratch = ScratchDirectory()
        let path = scratch.write("series.csv", text: sineCSV(rows: 300, frequency: 0.2, amplitude: 3, offset: 10))
        let run = scratch.file("run")
        let train = runCLI(["train", "--csv", path, "--column", "signal", "--steps", "40", "--out", run,
                            "--hidden", "8", "--seq-len", "12", "--threads", "1"])
        try #require(train.status == 0, "\(train.errors)")
        #expect(train.output.contains("forecaster on column 'signal'"))
        #expect(train.output.contains("last-value baseline"))
        let metrics = try MetricsLog(csvText: String(contentsOfFile: run + "/metrics.csv", encoding: .utf8), source: "m")
        #expect(metrics.throughputColumn == "sequences_per_second")

        let result = runCLI(["forecast", "--model", run, "--csv", path, "--horizon", "5"])
        #expect(result.status == 0, "\(result.errors)")
        let lines = result.output.split(separator: "\n")
        #expect(lines[0].hasPrefix("# backtest on the last 5 known values: model MSE "))
        #expect(lines[1] == "step,forecast")
        #expect(lines.dropFirst(2).map { $0.split(separator: ",")[0] } == ["300", "301", "302", "303", "304"])
        #expect(lines.dropFirst(2).allSatisfy { Double($0.split(separator: ",")[1]) != nil })

        // The character commands refuse a forecaster, and forecast refuses a column it cannot read.
        #expect(runCLI(["generate", "--model", run]).errors
            == "rnnkit: error: '\(run)' holds a forecaster (trained with --csv); rnnkit generate needs a character model, trained with --text or on the built-in corpus\n")
        #expect(runCLI(["forecast", "--model", run, "--csv", path, "--column", "t2"]).status == CommandLineRunner.dataErrorStatus)
    }

    /// Every cell trains from the command line (the recommended initialisation sets a forget-gate
    /// bias for LSTMs only), and a bidirectional forecaster trains, reloads and forecasts.
    @Test("a bidirectional GRU forecaster and the other cells train and forecast", arguments: ["gru", "rnn-tanh", "lstm"])
    func bidirectionalForecaster(cell: String) throws {
        let scratch = ScratchDirectory()
        let path = scratch.write("series.csv", text: sineCSV(rows: 200, frequency: 0.3, amplitude: 2, offset: 5))
        let run = scratch.file("run")
        let train = runCLI(["train", "--csv", path, "--column", "signal", "--steps", "30", "--out", run, "--cell", cell,
                            "--bidirectional", "--layers", "2", "--hidden", "8", "--seq-len", "10", "--threads", "1"])
        try #require(train.status == 0, "\(train.errors)")
        let model = try SequenceModel(contentsOf: run + "/checkpoint.safetensors")
        #expect(model.configuration.bidirectional && model.configuration.numLayers == 2)
        #expect(try model.network.parameter(named: "weight_hh_l1_reverse").count == 3 * 8 * 8 || cell != "gru")
        let result = runCLI(["forecast", "--model", run, "--csv", path, "--horizon", "3"])
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output.split(separator: "\n").dropFirst(2).allSatisfy { Double($0.split(separator: ",")[1]) != nil })
    }

    @Test("--embedding sets a character model's embedding size, recorded in config.json")
    func embeddingSize() throws {
        let scratch = ScratchDirectory()
        let run = scratch.file("run")
        let train = runCLI(["train", "--steps", "2", "--embedding", "12", "--out", run] + Self.tiny)
        try #require(train.status == 0, "\(train.errors)")
        #expect(try RunDirectory(path: run).readConfiguration(option: "--model").model.embedding == 12)
        #expect(try SequenceModel(contentsOf: run + "/checkpoint.safetensors").embedding?.dimension == 12)
    }

    @Test("on a terminal, progress is one line redrawn in place")
    func progressBar() throws {
        let scratch = ScratchDirectory()
        let console = Console.capturing(isTerminal: true)
        let status = CommandLineRunner.run(["train", "--steps", "3", "--out", scratch.file("run")] + Self.tiny, console: console)
        #expect(status == 0, "\(console.capturedErrors)")
        let output = console.capturedOutput
        #expect(output.contains("\r\u{1B}[2K["))
        #expect(output.contains("3/3  loss "))
        #expect(output.contains(" tok/s "))
        #expect(output.contains(" elapsed ") && output.contains(" left"))
        // Without a terminal the same run prints plain lines, no escape codes.
        let plain = runCLI(["train", "--steps", "3", "--out", scratch.file("run2")] + Self.tiny)
        #expect(!plain.output.contains("\u{1B}"))
        #expect(plain.output.contains("step 3/3  loss "))
    }

    @Test("a text file of any content trains, and the run directory names it by default")
    func anyTextFile() throws {
        let scratch = ScratchDirectory()
        let text = scratch.write("poem.txt", text: String(repeating: "Tyger Tyger, burning bright,\nIn the forests of the night;\n", count: 20))
        let run = scratch.file("poem-run")
        let result = runCLI(["train", "--text", text, "--steps", "2", "--out", run] + Self.tiny)
        #expect(result.status == 0, "\(result.errors)")
        #expect(FileManager.default.fileExists(atPath: run + "/checkpoint.safetensors"))
        #expect(FileManager.default.fileExists(atPath: run + "/metrics.csv"))
        #expect(FileManager.default.fileExists(atPath: run + "/loss.svg"))
        #expect(defaultRunDirectory(try RunDirectory(path: run).readConfiguration(option: "--model"), dataPath: text).hasPrefix("runs/poem-"))
    }
}
