import RNNKit

// The pattern examples of docs/training.md are the bodies of these functions, line for line,
// between the BEGIN and END markers; PatternExampleTests checks that the two agree and runs them.

func classifierExample() throws -> Double {
    // BEGIN PATTERN EXAMPLE classifier
    // Many-to-one: sequences of 2 sensor channels and any length → one of 3 activities.
    let model = try SequenceModel(.features(
        featureSize: 2, cell: .lstm, hiddenSize: 32, numLayers: 2, bidirectional: true, dropout: 0.1,
        head: .meanPool, outputSize: 3, seed: 1))   // or .lastStep, .maxPool
    let examples: [SequenceExample] = (0..<90).map { i in
        let steps = 10 + i % 20, activity = i % 3
        let x = (0..<steps * 2).map { Float(activity) * 0.5 + Float(($0 * 7 + i) % 5) * 0.1 }   // [T, 2]
        return .features(x, steps: steps, targetClasses: [activity])
    }
    let trainer = try Trainer(model: model, training: .sequences(examples), configuration: TrainerConfiguration(
        batchSize: 16, optimizer: OptimizerConfiguration(kind: .adam, learningRate: 1e-2),
        classification: CrossEntropyOptions(classWeights: [1, 1, 2], labelSmoothing: 0.05)))
    try trainer.train(steps: 60)
    let accuracy = try trainer.evaluate(.sequences(examples)).accuracy!
    // END PATTERN EXAMPLE classifier
    return accuracy
}

func taggerExample() throws -> [Int] {
    // BEGIN PATTERN EXAMPLE tagger
    // Many-to-many, aligned: one tag per token; the backward direction lets a tag see later tokens.
    let model = try SequenceModel(.tokens(
        vocabularySize: 6, embeddingSize: 8, hiddenSize: 32, bidirectional: true, head: .everyStep, outputSize: 7, seed: 2))
    let sentences: [SequenceExample] = (0..<64).map { i in
        let tokens = (0..<(8 + i % 5)).map { ($0 * 5 + i) % 6 }
        let tags = tokens.indices.map { $0 + 1 < tokens.count ? tokens[$0 + 1] : 6 }   // the next token, 6 at the end
        return .tokens(tokens, targetClasses: tags)
    }
    let trainer = try Trainer(model: model, training: .sequences(sentences), configuration: TrainerConfiguration(
        batchSize: 16, optimizer: OptimizerConfiguration(kind: .adam, learningRate: 1e-2)))
    try trainer.train(steps: 80)
    model.isTraining = false
    let sentence = [4, 3, 2, 1, 0, 5, 4, 3]
    let scores = try model.forward(.tokens(sentence), steps: 8, batch: 1).outputs   // [T, B, 7]
    let tags = (0..<8).map { t in (0..<7).max { scores[t * 7 + $0] < scores[t * 7 + $1] }! }
    // END PATTERN EXAMPLE tagger
    return tags
}

func generatorExample() throws -> [Int] {
    // BEGIN PATTERN EXAMPLE generator
    // One-to-many: a class id sets every layer's initial state; token 0 begins each sequence.
    let patterns = [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1], [2, 4, 2, 4, 2]]
    let model = try SequenceModel(.tokens(
        vocabularySize: 6, embeddingSize: 8, hiddenSize: 32, head: .everyStep, seed: 3,
        conditioning: .classes(count: 3)))   // or .features(size: F) with .features([...]) conditions
    let examples = (0..<48).map { i in
        SequenceExample.tokens([0] + patterns[i % 3].dropLast(), targetClasses: patterns[i % 3], condition: .classes([i % 3]))
    }
    let trainer = try Trainer(model: model, training: .sequences(examples), configuration: TrainerConfiguration(
        batchSize: 16, optimizer: OptimizerConfiguration(kind: .adam, learningRate: 1e-2)))
    try trainer.train(steps: 100)
    model.isTraining = false
    let generated = try model.sample(prime: [0], length: 5, temperature: 0, condition: .classes([1]))
    // END PATTERN EXAMPLE generator
    return generated
}

func translatorExample() throws -> (tokens: [Int], attention: [[Float]]) {
    // BEGIN PATTERN EXAMPLE translator
    // Sequence to sequence: reverse 3–6 symbols of 0–5; a bidirectional encoder, additive attention.
    // Source ids 0–6 (6 marks the start of a source); target ids 0–5, 6 begins and 7 ends a target.
    let model = try Seq2SeqModel(Seq2SeqConfiguration(
        sourceVocabularySize: 7, targetVocabularySize: 8, embeddingSize: 8, hiddenSize: 32,
        beginToken: 6, endToken: 7, seed: 4, bidirectionalEncoder: true, attention: .additive))
    var generator = SeededGenerator(seed: 5)
    let pairs = (0..<2000).map { _ -> Seq2SeqExample in
        let symbols = (0..<(3 + generator.nextIndex(below: 4))).map { _ in generator.nextIndex(below: 6) }
        return Seq2SeqExample(source: [6] + symbols, target: symbols.reversed())
    }
    let trainer = try Trainer(model: model, training: .pairs(pairs), configuration: TrainerConfiguration(
        batchSize: 32, optimizer: OptimizerConfiguration(kind: .adam, learningRate: 1e-2), gradientClipNorm: 1))
    try trainer.train(steps: 300)
    let best = try model.decode(sources: [[6, 1, 2, 3, 4]], maximumLength: 10, beamWidth: 4)[0]
    // best.tokens: the reversal; best.attention: one row of 5 source weights per written token
    // END PATTERN EXAMPLE translator
    return (best.tokens, best.attention)
}
