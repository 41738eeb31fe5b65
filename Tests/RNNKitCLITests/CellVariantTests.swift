import Foundation
import RNNKit
import Testing
@testable import RNNKitCLI

/// `--peepholes` and `--cell gru-reset-before` through training, the run directory, the model file,
/// evaluation, resumption and generation.
@Suite("Cell variants on the command line", .serialized)
struct CellVariantTests {
    @Test("a classifier with each variant learns the sensor task and is evaluated from its run directory",
          arguments: [["--peepholes"], ["--cell", "gru-reset-before"]])
    func classifierLearns(variant: [String]) throws {
        let scratch = ScratchDirectory()
        let data = scratch.write("sensors.csv", text: sensorCSV(sequences: 240, seed: 3))
        let heldOut = scratch.write("new.csv", text: sensorCSV(sequences: 60, seed: 4))
        let run = scratch.file("run")
        let train = runCLI(["train", "--csv", data, "--feature-columns", "ax,ay,az", "--steps", "150", "--out", run]
                           + ClassificationTests.columns + ClassificationTests.small + variant)
        try #require(train.status == 0, "\(train.errors)")
        let configuration = try RunDirectory(path: run).readConfiguration(option: "--model")
        let file = try SafeTensorsFile(contentsOf: run + "/checkpoint.safetensors")
        if variant == ["--peepholes"] {
            #expect(train.output.contains("lstm with peepholes 1×24"))
            #expect(configuration.model.peepholes == true && configuration.model.cell == .lstm)
            #expect(file.tensor(named: "rnn.weight_peephole_l0")?.shape == [72])
            #expect(file.metadata?["model.peepholes"] == "true")
        } else {
            #expect(train.output.contains("gru-reset-before 1×24"))
            #expect(configuration.model.cell == .gruResetBefore && configuration.model.peepholes == nil)
            #expect(file.metadata?["model.cell"] == "gru_reset_before")
        }
        let evaluated = runCLI(["eval", "--model", run, "--csv", heldOut])
        try #require(evaluated.status == 0, "\(evaluated.errors)")
        let accuracy = try #require(evaluated.output.split(separator: "\n").last.flatMap {
            $0.split(separator: " ").first { $0.hasPrefix("accuracy=") }.flatMap { Double($0.dropFirst(9)) }
        })
        // The plain LSTM scores ≥ 0.9 here (ClassificationTests); the most frequent label about a third.
        #expect(accuracy >= 0.9, "\(evaluated.output)")
    }

    @Test("a character model with peepholes, recurrent dropout and zoneout trains, resumes bitwise and generates")
    func characterModelWithPeepholes() throws {
        let scratch = ScratchDirectory()
        let whole = scratch.file("whole"), split = scratch.file("split")
        let options = ["--steps", "8", "--eval-every", "4", "--peepholes", "--recurrent-dropout", "0.2", "--zoneout", "0.1",
                       "--zoneout-cell", "0.3"] + EndToEndTests.tiny
        try #require(runCLI(["train", "--out", whole] + options).status == 0)
        try #require(runCLI(["train", "--out", split, "--stop-after", "4"] + options).status == 0)
        let resumed = runCLI(["train", "--resume", split])
        try #require(resumed.status == 0, "\(resumed.errors)")
        let configuration = try RunDirectory(path: whole).readConfiguration(option: "--model")
        #expect(configuration.model.recurrentDropout == 0.2 && configuration.model.peepholes == true)
        #expect(configuration.model.zoneoutHidden == 0.1 && configuration.model.zoneoutCell == 0.3)
        let wholeModel = try SafeTensorsFile(contentsOf: whole + "/checkpoint.safetensors")
        #expect(wholeModel.metadata?["model.recurrent_dropout"] == "0.2")
        #expect(wholeModel.metadata?["model.zoneout_hidden"] == "0.1" && wholeModel.metadata?["model.zoneout_cell"] == "0.3")
        // The recurrent masks' streams are in the checkpoint: the resumed run drew the same masks.
        for name in wholeModel.tensorNames where name.hasPrefix("rnn.") {
            #expect(try wholeModel.values(of: name) as [Float] == splitModel(split).values(of: name) as [Float], "\(name)")
        }
        #expect(wholeModel.tensor(named: "rnn.weight_peephole_l0") != nil)
        let generated = runCLI(["generate", "--model", whole, "--length", "40", "--seed", "2"])
        try #require(generated.status == 0, "\(generated.errors)")
        #expect(generated.output.count >= 40)
    }

    /// The learning task of docs/training.md's regularisation section, scaled down: an LSTM of 192
    /// units overfits the 35 kB of the GPL-3 text Debian ships in every system (base-files); at
    /// the paper's character-level rates (0.05 on h, 0.5 on c) zoneout ends 0.12–0.18 nats lower
    /// in validation over seeds 1–3 on the machine of that section.
    @Test("zoneout lowers the validation loss of a character model that overfits a small real text")
    func zoneoutHelpsAnOverfittingModel() throws {
        let text = "/usr/share/common-licenses/GPL-3"
        try #require(FileManager.default.fileExists(atPath: text), "\(text) (Debian's base-files) is missing")
        let scratch = ScratchDirectory()
        func validationLoss(_ extra: [String], _ name: String) throws -> Double {
            let run = scratch.file(name)
            let train = runCLI(["train", "--text", text, "--hidden", "192", "--seq-len", "64", "--batch", "32", "--steps", "700",
                                "--lr", "0.004", "--schedule", "constant", "--threads", "1", "--eval-every", "700", "--seed", "1",
                                "--out", run] + extra)
            try #require(train.status == 0, "\(train.errors)")
            let metrics = try MetricsLog(csvText: String(contentsOfFile: run + "/metrics.csv", encoding: .utf8), source: name)
            return try #require(metrics.records.last?.validationLoss)
        }
        let plain = try validationLoss([], "plain")
        let zoned = try validationLoss(["--zoneout", "0.05", "--zoneout-cell", "0.5"], "zoneout")
        #expect(zoned <= plain - 0.05, "validation loss \(zoned) with zoneout, \(plain) without")
    }

    private func splitModel(_ directory: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(contentsOf: directory + "/checkpoint.safetensors")
    }
}
