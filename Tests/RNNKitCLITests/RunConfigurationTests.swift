import Foundation
import RNNKit
import Testing
@testable import RNNKitCLI

/// A typed config.json value against the string the file holds, so that a test can say
/// `configuration.task == "char-lm"`: true when the value is written as `string`.
func == <Choice: RunConfigurationChoice>(value: Choice, string: String) -> Bool { value.rawValue == string }

@Suite("Run configuration (config.json)")
struct RunConfigurationTests {
    /// A forecaster's config.json as rnnkit 0.1.0 wrote it while task, data kind, cell and optimizer
    /// were stored as plain strings (keys sorted, pretty-printed, a final line break).
    static let oldForecaster = #"""
        {
          "data" : {
            "column" : "value",
            "fingerprint" : "3c9f4f5531ff5e5a",
            "kind" : "csv",
            "length" : 300,
            "mean" : 0.050902035087719295,
            "path" : "\/data\/series.csv",
            "standard_deviation" : 0.734173889501686
          },
          "format" : "rnnkit-run",
          "format_version" : 1,
          "model" : {
            "bidirectional" : false,
            "cell" : "rnn-tanh",
            "dropout" : 0,
            "embedding" : 0,
            "hidden" : 8,
            "layers" : 1
          },
          "rnnkit_version" : "0.1.0",
          "task" : "forecast",
          "training" : {
            "batch" : 4,
            "clip" : 5,
            "eval_every" : 4,
            "lr" : 0.003,
            "optimizer" : "adamw",
            "seed" : 1,
            "seq_len" : 12,
            "steps" : 8,
            "threads" : 1,
            "val_fraction" : 0.05
          }
        }

        """#

    /// A character model's config.json on the built-in corpus (no path), as rnnkit 0.1.0 wrote it.
    static let oldCharacterModel = #"""
        {
          "data" : {
            "fingerprint" : "6c422d3d6f5661a0",
            "kind" : "builtin",
            "length" : 100052
          },
          "format" : "rnnkit-run",
          "format_version" : 1,
          "model" : {
            "bidirectional" : false,
            "cell" : "lstm",
            "dropout" : 0,
            "embedding" : 26,
            "hidden" : 8,
            "layers" : 1
          },
          "rnnkit_version" : "0.1.0",
          "task" : "char-lm",
          "training" : {
            "batch" : 4,
            "clip" : 5,
            "eval_every" : 100,
            "lr" : 0.003,
            "optimizer" : "adam",
            "seed" : 1,
            "seq_len" : 16,
            "steps" : 1485,
            "threads" : 1,
            "val_fraction" : 0.05
          }
        }

        """#

    /// Writes `text` as `run/config.json` in `scratch` and reads it back as rnnkit does.
    func read(_ text: String, in scratch: ScratchDirectory) throws -> RunConfiguration {
        try FileManager.default.createDirectory(atPath: scratch.file("run"), withIntermediateDirectories: true)
        scratch.write("run/config.json", text: text)
        return try RunDirectory(path: scratch.file("run")).readConfiguration(option: "--resume")
    }

    @Test("an old-style config.json decodes into typed values and is written back byte for byte")
    func oldFilesStillDecode() throws {
        let scratch = ScratchDirectory()
        let forecaster = try read(Self.oldForecaster, in: scratch)
        #expect(forecaster.task == .forecast)
        #expect(forecaster.data.kind == .csv)
        #expect(forecaster.data.path == "/data/series.csv" && forecaster.data.column == "value")
        #expect(forecaster.model.cell == .rnnTanh)
        #expect(forecaster.training.optimizer == .adamw)
        #expect(trainerConfiguration(forecaster).optimizer.kind == .adamw)

        let characterModel = try read(Self.oldCharacterModel, in: scratch)
        #expect(characterModel.task == .charLM)
        #expect(characterModel.data.kind == .builtin && characterModel.data.path == nil)
        #expect(characterModel.model.cell == .lstm)
        #expect(characterModel.training.optimizer == .adam)

        // Resuming rewrites config.json: the same keys and the same strings come out.
        for (configuration, text) in [(forecaster, Self.oldForecaster), (characterModel, Self.oldCharacterModel)] {
            try RunDirectory(path: scratch.path).writeConfiguration(configuration)
            #expect(try String(contentsOfFile: scratch.file("config.json"), encoding: .utf8) == text)
        }
    }

    @Test("every cell and optimizer is written with its command-line name and reads back")
    func everyChoiceRoundTrips() throws {
        let scratch = ScratchDirectory()
        let base = try read(Self.oldForecaster, in: scratch)
        for cell in CellChoice.allCases {
            for optimizer in OptimizerChoice.allCases {
                var configuration = base
                configuration.model.cell = cell.kind
                configuration.training.optimizer = optimizer
                try RunDirectory(path: scratch.file("run")).writeConfiguration(configuration)
                let text = try String(contentsOfFile: scratch.file("run/config.json"), encoding: .utf8)
                #expect(text.contains(#""cell" : "\#(cell.rawValue)""#))
                #expect(text.contains(#""optimizer" : "\#(optimizer.rawValue)""#))
                #expect(try RunDirectory(path: scratch.file("run")).readConfiguration(option: "--resume") == configuration)
            }
        }
    }

    @Test("an unknown cell, optimizer, task or data kind is refused naming the file, the key and the accepted values")
    func unknownValuesAreRefused() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("run/config.json")
        let cases: [(from: String, to: String, key: String, accepted: String)] = [
            (#""cell" : "rnn-tanh""#, #""cell" : "transformer""#, "model.cell", "'transformer' is not one of 'lstm', 'gru', 'rnn-tanh', 'rnn-relu'"),
            (#""optimizer" : "adamw""#, #""optimizer" : "lbfgs""#, "training.optimizer", "'lbfgs' is not one of 'sgd', 'adam', 'adamw', 'rmsprop'"),
            (#""task" : "forecast""#, #""task" : "classify""#, "task", "'classify' is not one of 'char-lm', 'forecast'"),
            (#""kind" : "csv""#, #""kind" : "parquet""#, "data.kind", "'parquet' is not one of 'builtin', 'text', 'csv'"),
        ]
        for item in cases {
            let text = Self.oldForecaster.replacingOccurrences(of: item.from, with: item.to)
            #expect(text != Self.oldForecaster)
            #expect(throws: CLIError("\(path) is incomplete or malformed: bad value at \(item.key): \(item.accepted)")) {
                try read(text, in: scratch)
            }
        }
    }
}
