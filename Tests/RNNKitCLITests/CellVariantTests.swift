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

    @Test("a character model with peepholes trains, resumes bitwise and generates")
    func characterModelWithPeepholes() throws {
        let scratch = ScratchDirectory()
        let whole = scratch.file("whole"), split = scratch.file("split")
        let options = ["--steps", "8", "--eval-every", "4", "--peepholes"] + EndToEndTests.tiny
        try #require(runCLI(["train", "--out", whole] + options).status == 0)
        try #require(runCLI(["train", "--out", split, "--stop-after", "4"] + options).status == 0)
        let resumed = runCLI(["train", "--resume", split])
        try #require(resumed.status == 0, "\(resumed.errors)")
        let wholeModel = try SafeTensorsFile(contentsOf: whole + "/checkpoint.safetensors")
        let splitModel = try SafeTensorsFile(contentsOf: split + "/checkpoint.safetensors")
        let peephole = try #require(wholeModel.tensor(named: "rnn.weight_peephole_l0"))
        #expect(try wholeModel.values(of: peephole.name) as [Float] == splitModel.values(of: peephole.name) as [Float])
        let generated = runCLI(["generate", "--model", whole, "--length", "40", "--seed", "2"])
        try #require(generated.status == 0, "\(generated.errors)")
        #expect(generated.output.count >= 40)
    }
}
