import Foundation
import RNNKit
import Testing
@testable import RNNKitCLI

/// The schedule, warm-up, weight decay, momentum, sampling and validation-bound options of
/// `rnnkit train`: where they land (config.json, the Trainer, the checkpoint), what resuming keeps,
/// and what a config.json written before they existed means.
@Suite("Training options", .serialized)
struct TrainingOptionsTests {
    /// Trains a tiny run with `options` into `scratch/run` and returns the directory and the output.
    func train(_ options: [String], in scratch: ScratchDirectory) throws -> (run: String, output: String) {
        let run = scratch.file("run")
        let result = runCLI(["train", "--out", run] + options + EndToEndTests.tiny)
        try #require(result.status == 0, "\(result.errors)")
        return (run, result.output)
    }

    /// Expects the run's checkpoint at `step` with every `training.config.<key>` of `entries` as given.
    func expectCheckpoint(of run: String, atStep step: Int, holds entries: [String: String]) throws {
        let metadata = try #require(try SafeTensorsFile(contentsOf: run + "/checkpoint.safetensors").metadata)
        #expect(metadata["training.step"] == String(step))
        for (key, value) in entries {
            #expect(metadata["training.config." + key] == value, "training.config.\(key)")
        }
    }

    @Test("the options land in config.json, the trainer configuration and the checkpoint, and a resumed run keeps them")
    func optionsAreRecordedAndKept() throws {
        let scratch = ScratchDirectory()   // removed when the test ends
        let (run, output) = try train(["--steps", "6", "--eval-every", "3", "--stop-after", "3", "--schedule", "step", "--warmup", "1",
                                       "--optimizer", "rmsprop", "--momentum", "0.5", "--weight-decay", "0.01", "--sampling", "random",
                                       "--eval-batches", "2"], in: scratch)
        #expect(output.contains("steps of 4×16, rmsprop lr 0.003, random sampling, step schedule after 1 warm-up steps, weight decay 0.01, momentum 0.5, validation on the first 2 batches, 1 thread"))

        let text = try String(contentsOfFile: run + "/config.json", encoding: .utf8)
        for entry in [#""schedule" : "step""#, #""warmup" : 1"#, #""momentum" : 0.5"#, #""weight_decay" : 0.01"#,
                      #""sampling" : "random""#, #""eval_batches" : 2"#] {
            #expect(text.contains(entry), "config.json lacks \(entry)")
        }
        let configuration = try RunDirectory(path: run).readConfiguration(option: "--resume")
        #expect(configuration.training.schedule == .step && configuration.training.warmup == 1)
        #expect(configuration.training.momentum == 0.5 && configuration.training.weightDecay == 0.01)
        #expect(configuration.training.sampling == .random && configuration.training.evalBatches == 2)

        let trainer = trainerConfiguration(configuration)
        #expect(trainer.optimizer.kind == .rmsprop && trainer.optimizer.momentum == 0.5 && trainer.optimizer.weightDecay == 0.01)
        #expect(trainer.schedule.kind == .step && trainer.schedule.warmupSteps == 1)
        #expect(trainer.schedule.stepSize == 2 && trainer.schedule.gamma == 0.1)   // ⌈(6 − 1) / 3⌉
        #expect(trainer.streamSampling == .randomWindows)

        // The Trainer ran with them, and the resumed run goes on with what config.json recorded.
        let recorded = ["schedule": "step", "warmup_steps": "1", "step_size": "2", "optimizer": "rmsprop", "momentum": "0.5",
                        "weight_decay": "0.01", "stream_sampling": "random_windows"]
        try expectCheckpoint(of: run, atStep: 3, holds: recorded)
        let resumed = runCLI(["train", "--resume", run])
        try #require(resumed.status == 0, "\(resumed.errors)")
        try expectCheckpoint(of: run, atStep: 6, holds: recorded)
        #expect(runCLI(["inspect", run]).output.contains(
            "\n              random sampling, step schedule after 1 warm-up steps, weight decay 0.01, momentum 0.5, validation on the first 2 batches\n"))
        #expect(try String(contentsOfFile: run + "/config.json", encoding: .utf8) == text)
    }

    @Test("--profile prints every phase of the loop, and the steps' phases add up to the time in steps")
    func profilePrintsEveryPhase() throws {
        let scratch = ScratchDirectory()   // removed when the test ends
        let (_, output) = try train(["--steps", "4", "--eval-every", "2", "--profile"], in: scratch)
        let lines = output.split(separator: "\n").map(String.init)
        let header = try #require(lines.firstIndex { $0.hasPrefix("profile: ") }, "no profile in:\n\(output)")
        let names = ["data", "embedding", "recurrent forward", "recurrent backward", "head", "loss", "clipping", "optimizer",
                     "rest of the steps", "validation", "sampling", "logging", "checkpoint", "rest between steps"]
        var seconds: [String: Double] = [:]
        for (offset, name) in names.enumerated() {
            let line = lines[header + 1 + offset]
            #expect(line.hasPrefix("  " + name), "line \(offset + 1) of the profile: \(line)")
            seconds[name] = Double(line.dropFirst(24).split(separator: " ")[0])
        }
        let words = lines[header].split(separator: " ")
        let inSteps = try #require(Double(words[words.count - 6]))
        let stepPhases = names.prefix(9).reduce(0) { $0 + (seconds[$1] ?? .nan) }
        #expect(abs(stepPhases - inSteps) < 0.01, "the steps' phases sum to \(stepPhases) s, the steps took \(inSteps) s")
        #expect(inSteps > 0)
    }

    @Test("a character model without the options records the measured defaults: random windows, a constant rate, no warm-up")
    func defaultsOfACharacterModel() throws {
        let scratch = ScratchDirectory()   // removed when the test ends
        let (run, output) = try train(["--steps", "30", "--stop-after", "1"], in: scratch)
        #expect(output.contains("adam lr 0.003, random sampling, constant schedule after 0 warm-up steps, 1 thread"))
        let configuration = try RunDirectory(path: run).readConfiguration(option: "--resume")
        let training = configuration.training
        #expect(training.schedule == .constant && training.warmup == 0 && training.weightDecay == 0)
        #expect(training.momentum == nil && training.sampling == .random && training.evalBatches == nil)
        let text = try String(contentsOfFile: run + "/config.json", encoding: .utf8)
        #expect(!text.contains("eval_batches") && !text.contains("momentum"))
        #expect(trainerConfiguration(configuration) == TrainerConfiguration(
            batchSize: 4, sequenceLength: 16, optimizer: OptimizerConfiguration(kind: .adam, learningRate: 0.003, momentum: 0),
            schedule: ScheduleConfiguration(kind: .constant, warmupSteps: 0, totalSteps: 30),
            gradientClipNorm: 5, seed: 1, streamSampling: .randomWindows))
    }

    @Test("a run directory whose config.json predates the options resumes with the schedule it was started with")
    func oldConfigurationResumesWithTheOldSchedule() throws {
        let scratch = ScratchDirectory()   // removed when the test ends
        let (run, _) = try train(["--steps", "20", "--eval-every", "2", "--stop-after", "2", "--schedule", "constant", "--warmup", "0",
                                  "--optimizer", "sgd", "--momentum", "0.3", "--sampling", "stream"], in: scratch)
        // config.json as the rnnkit before these options wrote it: none of their keys.
        var configuration = try RunDirectory(path: run).readConfiguration(option: "--resume")
        (configuration.training.schedule, configuration.training.warmup, configuration.training.weightDecay) = (nil, nil, nil)
        (configuration.training.momentum, configuration.training.sampling, configuration.training.evalBatches) = (nil, nil, nil)
        try RunDirectory(path: run).writeConfiguration(configuration)
        let old = try String(contentsOfFile: run + "/config.json", encoding: .utf8)
        for key in ["schedule", "warmup", "weight_decay", "momentum", "sampling", "eval_batches"] {
            #expect(!old.contains("\"\(key)\""))
        }

        let resumed = runCLI(["train", "--resume", run, "--stop-after", "4"])
        try #require(resumed.status == 0, "\(resumed.errors)")
        // Cosine to lr/10 after min(50, 20/10) = 2 warm-up steps, SGD momentum 0.9, no weight decay, strips.
        try expectCheckpoint(of: run, atStep: 4, holds: [
            "schedule": "cosine", "warmup_steps": "2", "total_steps": "20", "minimum_learning_rate": "\(0.1 / 10)",
            "momentum": "0.9", "weight_decay": "0.0", "stream_sampling": "strips"])
        // The resumed run still records nothing it was not started with.
        #expect(try String(contentsOfFile: run + "/config.json", encoding: .utf8) == old)
    }

    @Test("--warmup is checked against the steps that --epochs gives, before anything is written")
    func warmupAgainstEpochs() throws {
        let scratch = ScratchDirectory()
        let run = scratch.file("run")
        let result = runCLI(["train", "--out", run, "--epochs", "1", "--warmup", "100000"] + EndToEndTests.tiny)
        #expect(result.status == 64)
        #expect(result.errors.hasPrefix("rnnkit: error: --warmup must be at least 0 and below the number of steps ("), "\(result.errors)")
        #expect(result.errors.hasSuffix("), got 100000\n"))
        #expect(!FileManager.default.fileExists(atPath: run))
    }

    @Test("--eval-batches bounds a forecaster's validation to its first minibatches")
    func forecasterValidationIsBounded() throws {
        var configuration = try RunConfigurationTests.decoded(RunConfigurationTests.oldForecaster)
        configuration.training.evalBatches = 2
        let windows = (0..<20).map { i in
            SequenceExample.features((0..<6).map { Float(sin(Double(i + $0) * 0.7)) }, steps: 6, targetValues: [Float(sin(Double(i + 6) * 0.7))])
        }
        let model = try SequenceModel(.features(featureSize: 1, cell: .gru, hiddenSize: 4, head: .lastStep, outputSize: 1, seed: 2))
        let trainer = try Trainer(model: model, training: .sequences(windows), validation: .sequences(windows),
                                  configuration: trainerConfiguration(configuration))
        let data = PreparedData.series(.init(values: [], mean: 0, standardDeviation: 1, horizon: 1, inputColumns: ["v"],
                                                 training: windows, validation: windows, validationOrigins: []))
        let bounded = try TrainingRun.validationNow(trainer: trainer, model: .sequence(model), data: data, configuration: configuration).loss
        let firstTwo = try trainer.evaluate(.sequences(Array(windows.prefix(2 * configuration.training.batch))))
        #expect(bounded == firstTwo.loss)
        configuration.training.evalBatches = nil
        let all = try TrainingRun.validationNow(trainer: trainer, model: .sequence(model), data: data, configuration: configuration).loss
        #expect(all == (try trainer.evaluate(.sequences(windows))).loss && all != bounded)
    }
}
