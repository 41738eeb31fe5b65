// The four learning tasks, each with a threshold measured with margin (docs/training.md
// lists the measured values). Each must be able to fail: the adding problem also trains a vanilla
// RNN with the same budget and checks that it does *not* learn.

import Foundation
import Testing
import RNNKit

/// The repository root (tests run from the source tree).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Seconds since `start`.
func secondsSince(_ start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

// MARK: 1. Adding problem

/// One adding-problem sequence of `steps` steps: features (value, marker); the target is the sum of the two marked values
/// (one marker in the first half, one in the second; Hochreiter & Schmidhuber 1997).
func addingExample(steps: Int, generator: inout SeededGenerator) -> SequenceExample {
    var x = [Float](repeating: 0, count: steps * 2)
    for t in 0..<steps { x[2 * t] = Float(generator.nextUnit()) }
    let first = generator.nextIndex(below: steps / 2), second = steps / 2 + generator.nextIndex(below: steps / 2)
    x[2 * first + 1] = 1
    x[2 * second + 1] = 1
    return .features(x, steps: steps, targetValues: [x[2 * first] + x[2 * second]])
}

/// Trains `cell` on the adding problem with T = 100 and returns (test MSE, seconds).
func runAddingProblem(cell: CellKind, steps: Int, length: Int = 100, learningRate: Double = 1e-2, hidden: Int = 32, batch: Int = 50) throws -> (mse: Double, seconds: Double) {
    let start = ContinuousClock.now
    var generator = SeededGenerator(seed: 1)
    let trainingSet = (0..<6000).map { _ in addingExample(steps: length, generator: &generator) }
    let testSet = (0..<500).map { _ in addingExample(steps: length, generator: &generator) }
    let model = try SequenceModel(.features(
        featureSize: 2, cell: cell, hiddenSize: hidden, head: .lastStep, outputSize: 1,
        initialization: cell == .lstm ? .recommended : RecurrentInitialization(orthogonalRecurrentWeights: true), seed: 3))
    let trainer = try Trainer(model: model, training: .sequences(trainingSet), configuration: TrainerConfiguration(
        batchSize: batch, optimizer: OptimizerConfiguration(kind: .adam, learningRate: learningRate),
        schedule: ScheduleConfiguration(kind: .cosine, totalSteps: steps, minimumLearningRate: learningRate / 10), gradientClipNorm: 1, seed: 5))
    trainer.onStep = { r in if ProcessInfo.processInfo.environment["RNNKIT_VERBOSE"] != nil, r.step % 100 == 0 { print(r.step, r.loss) } }
    try trainer.train(steps: steps)
    let mse = try trainer.evaluate(.sequences(testSet)).loss
    return (mse, secondsSince(start))
}

// MARK: 2. Seq2seq addition

/// Characters of the addition task: digits 0–9 are ids 0–9, '+' is 10 (source only); the target adds begin 10 and end 11.
func additionIds(_ text: String) -> [Int] { text.map { $0 == "+" ? 10 : Int(String($0))! } }

/// Settings of the seq2seq addition task.
struct AdditionSettings {
    var steps = 2000
    var hiddenSize = 128
    var batchSize = 128
    var learningRate = 1e-2
    var cell = CellKind.lstm
    /// Feed the source characters in reverse order (Sutskever, Vinyals & Le 2014).
    var reverseSource = true
    /// Left-pad each operand with spaces (id 11) to three characters, so digits of equal weight sit at fixed steps.
    var padOperands = true
    /// Train the decoder to write the sum's digits least significant first; results are reversed back for reading.
    var reverseTarget = false
    /// The cosine schedule runs over this many times the steps taken (2: the rate stays high enough to learn until the end).
    var scheduleStretch = 2
}

/// The target ids of `sum` under `settings`.
func additionTarget(_ sum: Int, _ settings: AdditionSettings) -> [Int] {
    let ids = additionIds(String(sum))
    return settings.reverseTarget ? ids.reversed() : ids
}

/// The source ids of "a+b" under `settings`.
func additionSource(_ a: Int, _ b: Int, _ settings: AdditionSettings) -> [Int] {
    func operand(_ n: Int) -> [Int] {
        let digits = additionIds(String(n))
        return settings.padOperands ? [Int](repeating: 11, count: 3 - digits.count) + digits : digits
    }
    let ids = operand(a) + [10] + operand(b)
    return settings.reverseSource ? ids.reversed() : ids
}

/// Trains an encoder–decoder on "a+b" → the digits of a + b for a, b in 0…999; returns (held-out exact match, seconds).
func runSeq2SeqAddition(_ settings: AdditionSettings) throws -> (exactMatch: Double, seconds: Double, heldOut: Int) {
    let start = ContinuousClock.now
    var generator = SeededGenerator(seed: 11)
    var heldOutKeys = Set<Int>()
    var heldOut: [(Int, Int)] = []
    while heldOut.count < 1000 {
        let a = generator.nextIndex(below: 1000), b = generator.nextIndex(below: 1000)
        if heldOutKeys.insert(a * 1000 + b).inserted { heldOut.append((a, b)) }
    }
    var pairs: [Seq2SeqExample] = []
    while pairs.count < 60000 {
        let a = generator.nextIndex(below: 1000), b = generator.nextIndex(below: 1000)
        guard !heldOutKeys.contains(a * 1000 + b) else { continue }
        pairs.append(Seq2SeqExample(source: additionSource(a, b, settings), target: additionTarget(a + b, settings)))
    }
    let model = try Seq2SeqModel(Seq2SeqConfiguration(
        sourceVocabularySize: 12, targetVocabularySize: 12, embeddingSize: 16, cell: settings.cell, hiddenSize: settings.hiddenSize,
        beginToken: 10, endToken: 11, initialization: settings.cell == .lstm ? .recommended : RecurrentInitialization(orthogonalRecurrentWeights: true), seed: 13))
    let trainer = try Trainer(model: model, training: .pairs(pairs), configuration: TrainerConfiguration(
        batchSize: settings.batchSize, optimizer: OptimizerConfiguration(kind: .adam, learningRate: settings.learningRate),
        schedule: ScheduleConfiguration(kind: .cosine, warmupSteps: 100, totalSteps: settings.scheduleStretch * settings.steps, minimumLearningRate: settings.learningRate / 50),
        gradientClipNorm: 1, seed: 17))
    trainer.onStep = { r in if ProcessInfo.processInfo.environment["RNNKIT_VERBOSE"] != nil, r.step % 250 == 0 { print(r.step, r.loss, r.accuracy ?? 0) } }
    try trainer.train(steps: settings.steps)
    let decoded = try model.greedyDecode(sources: heldOut.map { additionSource($0.0, $0.1, settings) }, maximumLength: 6)
    let correct = zip(heldOut, decoded).filter { additionTarget($0.0.0 + $0.0.1, settings) == $0.1 }.count
    return (Double(correct) / Double(heldOut.count), secondsSince(start), heldOut.count)
}

// MARK: 4. Forecasting

/// A noisy sum of three sines, `count` values, seeded.
func multiSineSeries(count: Int, seed: UInt64) -> [Float] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { t in
        let t = Double(t)
        let clean = sin(2 * .pi * t / 23) + 0.6 * sin(2 * .pi * t / 9.7 + 1) + 0.3 * sin(2 * .pi * t / 4.1 + 2)
        return Float(clean + 0.05 * generator.nextGaussian())
    }
}

/// Windows of `inputSteps` values whose targets are the next `horizon` values.
func forecastWindows(_ series: [Float], inputSteps: Int, horizon: Int, stride: Int) -> [SequenceExample] {
    Swift.stride(from: 0, to: series.count - inputSteps - horizon, by: stride).map { s in
        .features(Array(series[s..<s + inputSteps]), steps: inputSteps,
                  targetValues: Array(series[s + inputSteps..<s + inputSteps + horizon]))
    }
}

/// Trains an LSTM to forecast 10 steps ahead; returns (model MSE, last-value baseline MSE, seconds).
func runForecasting(steps: Int) throws -> (mse: Double, baseline: Double, seconds: Double) {
    let start = ContinuousClock.now
    let horizon = 10, inputSteps = 40
    let trainSeries = multiSineSeries(count: 8000, seed: 21), testSeries = multiSineSeries(count: 2000, seed: 22)
    let trainingSet = forecastWindows(trainSeries, inputSteps: inputSteps, horizon: horizon, stride: 2)
    let testSet = forecastWindows(testSeries, inputSteps: inputSteps, horizon: horizon, stride: 7)
    let model = try SequenceModel(.features(featureSize: 1, cell: .lstm, hiddenSize: 32, head: .lastStep, outputSize: horizon,
                                            initialization: .recommended, seed: 23))
    let trainer = try Trainer(model: model, training: .sequences(trainingSet), configuration: TrainerConfiguration(
        batchSize: 32, optimizer: OptimizerConfiguration(kind: .adam, learningRate: 1e-2),
        schedule: ScheduleConfiguration(kind: .cosine, totalSteps: steps, minimumLearningRate: 1e-4), gradientClipNorm: 1, seed: 25))
    try trainer.train(steps: steps)
    let mse = try trainer.evaluate(.sequences(testSet)).loss
    var baseline = 0.0
    for e in testSet {
        let last = Double(e.features[inputSteps - 1])
        for v in e.targetValues { baseline += (Double(v) - last) * (Double(v) - last) }
    }
    baseline /= Double(testSet.count * horizon)
    return (mse, baseline, secondsSince(start))
}

@Suite(.serialized) struct LearningTaskTests {
    @Test func addingProblemLSTMLearnsAndVanillaRNNDoesNot() throws {
        let lstm = try runAddingProblem(cell: .lstm, steps: 1500)
        let rnn = try runAddingProblem(cell: .rnnTanh, steps: 1500)
        print("adding problem T=100: LSTM test MSE \(lstm.mse) in \(lstm.seconds) s; tanh RNN \(rnn.mse) in \(rnn.seconds) s")
        #expect(lstm.mse < 0.01)
        #expect(rnn.mse > 0.1)
    }

    @Test func seq2seqAdditionIsExactOnHeldOutSums() throws {
        let result = try runSeq2SeqAddition(AdditionSettings())
        print("seq2seq addition: exact match \(result.exactMatch) on \(result.heldOut) held-out sums in \(result.seconds) s")
        #expect(result.exactMatch >= 0.99)
    }

    @Test func forecastingBeatsLastValueBaselineFivefold() throws {
        let result = try runForecasting(steps: 800)
        print("forecasting 10 steps: model MSE \(result.mse), last-value baseline \(result.baseline), ratio \(result.baseline / result.mse) in \(result.seconds) s")
        #expect(result.mse * 5 <= result.baseline)
    }

    @Test func characterLanguageModelLearnsTheCorpus() throws {
        let start = ContinuousClock.now
        let result = try trainCharacterModel(corpusPath: repositoryRoot.appendingPathComponent("Data/corpus.txt").path,
                                             steps: 400, checkpointPath: nil)
        print("char LM: validation \(result.validationBitsPerCharacter) bits/char (unigram \(result.unigramBits)) in \(secondsSince(start)) s; sample: \(result.sample.debugDescription)")
        #expect(result.validationBitsPerCharacter < 1.0)
        #expect(result.validationBitsPerCharacter < result.unigramBits - 2)
        #expect(result.sample.count == 200)
    }

    @Test func docsShowTheTrainingScriptThisTestRuns() throws {
        let source = try String(contentsOf: repositoryRoot.appendingPathComponent("Tests/RNNKitTests/LearningTaskTests.swift"), encoding: .utf8)
        let lines = source.components(separatedBy: "\n")
        guard let begin = lines.firstIndex(where: { $0.hasSuffix("// BEGIN TRAINING EXAMPLE") }),
              let end = lines.firstIndex(where: { $0.hasSuffix("// END TRAINING EXAMPLE") }) else {
            Issue.record("the markers are missing")
            return
        }
        let expected = lines[(begin + 1)..<end].map { $0.hasPrefix("    ") ? String($0.dropFirst(4)) : $0 }
        #expect(expected.count > 20)
        let docs = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/training.md"), encoding: .utf8)
            .components(separatedBy: "\n")
        guard let start = docs.firstIndex(of: expected[0]) else {
            Issue.record("docs/training.md does not contain the script's first line: \(expected[0])")
            return
        }
        #expect(Array(docs[start..<min(start + expected.count, docs.count)]) == expected)
    }
}

// MARK: 3. Character language model — the complete training script shown in docs/training.md

struct CharacterModelResult {
    var validationBitsPerCharacter: Double
    var unigramBits: Double
    var sample: String
}

func trainCharacterModel(corpusPath: String, steps: Int, checkpointPath: String?) throws -> CharacterModelResult {
    // BEGIN TRAINING EXAMPLE
    // Read the corpus and split it: the first 90 % trains, the rest validates.
    let text = try String(contentsOfFile: corpusPath, encoding: .utf8)
    let vocabulary = try CharacterVocabulary(text: text)
    let ids = try vocabulary.encode(text)
    let split = ids.count * 9 / 10
    let trainingIds = Array(ids[..<split]), validationIds = Array(ids[split...])

    // An embedding, one LSTM layer and a per-step head over the vocabulary.
    let model = try SequenceModel(.tokens(
        vocabularySize: vocabulary.count, embeddingSize: 32, cell: .lstm, hiddenSize: 128,
        initialization: .recommended, seed: 42))
    model.vocabulary = vocabulary   // saved with the model, so sampling works after loading

    // Truncated BPTT over the stream: 32 strips, windows of 64 characters, state carried between windows.
    let configuration = TrainerConfiguration(
        batchSize: 32, sequenceLength: 64,
        optimizer: OptimizerConfiguration(kind: .adam, learningRate: 5e-3),
        schedule: ScheduleConfiguration(kind: .cosine, warmupSteps: 20, totalSteps: steps, minimumLearningRate: 5e-4),
        gradientClipNorm: 5, seed: 7, validationInterval: 100,
        checkpointInterval: checkpointPath == nil ? 0 : 100, checkpointPath: checkpointPath)
    let trainer = try Trainer(model: model, training: .stream(trainingIds),
                              validation: .stream(validationIds), configuration: configuration)
    trainer.onStep = { report in
        if report.step % 50 == 0 {
            print("step \(report.step)  loss \(report.loss)  \(Int(report.positionsPerSecond)) chars/s")
        }
    }
    trainer.onValidation = { report in
        print("validation after step \(report.step): \(report.bitsPerToken) bits per character")
    }
    try trainer.train(steps: steps)
    let validation = try trainer.evaluate(.stream(validationIds))
    let sample = try model.sampleText(prime: "The ", length: 200, temperature: 0.8, seed: 1)
    print("validation: \(validation.bitsPerToken) bits per character, perplexity \(validation.perplexity)")
    print("The " + sample)
    // END TRAINING EXAMPLE

    var counts = [Int](repeating: 0, count: vocabulary.count)
    for id in trainingIds { counts[id] += 1 }
    let unigram = -counts.filter { $0 > 0 }.map { Double($0) / Double(trainingIds.count) }.reduce(0) { $0 + $1 * log2($1) }
    return CharacterModelResult(validationBitsPerCharacter: validation.bitsPerToken, unigramBits: unigram, sample: sample)
}
