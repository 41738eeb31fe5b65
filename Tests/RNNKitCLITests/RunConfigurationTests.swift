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

    /// `text` decoded as a config.json, without the file checks.
    static func decoded(_ text: String) throws -> RunConfiguration {
        try JSONDecoder().decode(RunConfiguration.self, from: Data(text.utf8))
    }

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

    @Test("a config.json without the options added later trains as the rnnkit that wrote it did")
    func oldFilesKeepTheirTraining() throws {
        let scratch = ScratchDirectory()
        // Cosine to lr/10 after min(50, steps/10) warm-up steps, no weight decay, strips of the stream.
        let characterModel = try read(Self.oldCharacterModel, in: scratch)
        #expect(trainerConfiguration(characterModel) == TrainerConfiguration(
            batchSize: 4, sequenceLength: 16, optimizer: OptimizerConfiguration(kind: .adam, learningRate: 0.003, momentum: 0),
            schedule: ScheduleConfiguration(kind: .cosine, warmupSteps: 50, totalSteps: 1485, minimumLearningRate: 0.003 / 10),
            gradientClipNorm: 5, seed: 1, streamSampling: .strips))
        // SGD had momentum 0.9; the warm-up follows the total steps, as it did when a resume raised them.
        var forecaster = try read(Self.oldForecaster, in: scratch)
        forecaster.training.optimizer = .sgd
        #expect(trainerConfiguration(forecaster).optimizer.momentum == 0.9)
        #expect(trainerConfiguration(forecaster).schedule.warmupSteps == 0)
        forecaster.training.steps = 200
        #expect(trainerConfiguration(forecaster).schedule.warmupSteps == 20)
    }

    @Test("each schedule has the shape the options promise")
    func scheduleShapes() throws {
        var configuration = try Self.decoded(Self.oldForecaster)
        (configuration.training.steps, configuration.training.warmup, configuration.training.learningRate) = (100, 10, 0.01)
        func rates(_ choice: ScheduleChoice) throws -> [Double] {
            configuration.training.schedule = choice
            let schedule = try trainerConfiguration(configuration).schedule.makeSchedule(learningRate: 0.01)
            return (0..<100).map { schedule.learningRate(atStep: $0) }
        }
        for choice in ScheduleChoice.allCases {
            let r = try rates(choice)
            #expect(r[0] == 0 && abs(r[5] - 0.005) < 1e-12 && abs(r[10] - 0.01) < 1e-12, "\(choice): linear warm-up from 0 over 10 steps")
        }
        #expect(try rates(.constant)[10...].allSatisfy { $0 == 0.01 })
        let cosine = try rates(.cosine)
        #expect(zip(cosine[10...], cosine[11...]).allSatisfy { $0 > $1 } && abs(cosine[99] - 0.001) < 1e-5)
        // Step: 90 steps after warm-up in three parts of ⌈90/3⌉ = 30 at lr, lr/10 and lr/100; never lr/1000.
        let step = try rates(.step)
        #expect(step[10..<40].allSatisfy { $0 == 0.01 })
        #expect(step[40..<70].allSatisfy { abs($0 - 0.001) < 1e-15 })
        #expect(step[70..<100].allSatisfy { abs($0 - 0.0001) < 1e-15 })
        // 91 steps after warm-up: parts of 31, 31 and 29, still three.
        configuration.training.steps = 101
        #expect(trainerConfiguration(configuration).schedule.stepSize == 31)
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

    @Test("an unknown cell, optimizer, schedule, sampling, task or data kind is refused naming the file, the key and the accepted values")
    func unknownValuesAreRefused() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("run/config.json")
        let cases: [(from: String, to: String, key: String, accepted: String)] = [
            (#""cell" : "rnn-tanh""#, #""cell" : "transformer""#, "model.cell", "'transformer' is not one of 'lstm', 'gru', 'gru-reset-before', 'rnn-tanh', 'rnn-relu'"),
            (#""optimizer" : "adamw""#, #""optimizer" : "lbfgs""#, "training.optimizer", "'lbfgs' is not one of 'sgd', 'adam', 'adamw', 'rmsprop'"),
            (#""task" : "forecast""#, #""task" : "summarize""#, "task", "'summarize' is not one of 'char-lm', 'forecast', 'classify', 'tag', 'translate'"),
            (#""kind" : "csv""#, #""kind" : "parquet""#, "data.kind", "'parquet' is not one of 'builtin', 'text', 'csv', 'tsv', 'conll', 'pairs'"),
            (#""lr" : 0.003,"#, #""lr" : 0.003, "schedule" : "linear","#, "training.schedule", "'linear' is not one of 'constant', 'cosine', 'step'"),
            (#""lr" : 0.003,"#, #""lr" : 0.003, "sampling" : "shuffled","#, "training.sampling", "'shuffled' is not one of 'stream', 'random'"),
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
