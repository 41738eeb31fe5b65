// The metrics each field reports after training: classification (accuracy, per-class precision,
// recall and F1, macro F1, the confusion matrix), entity-level tagging scores the way `conlleval`
// counts them, and sequence-to-sequence scores (exact match, token accuracy, character error rate).
//
// Conventions, where the sources leave a choice:
//   - A precision, recall or F1 whose denominator is 0 is 0 (as scikit-learn's zero_division=0).
//   - Macro F1 averages the F1 of every class that occurs among the references or the predictions
//     (scikit-learn's `f1_score(average='macro')` with its default labels).
//   - Entities: a chunk is a maximal run of tokens `B-X`/`I-X`/`E-X`/`S-X` of one type X. It ends
//     before a token when the previous one was `E` or `S`, or was `B`/`I` and this one is `B`, `S`
//     or `O`, or the type changes; it starts at `B` and `S`, at `I`/`E` after `O`, `E` or `S`, and
//     where the type changes. So IOB1 (`I-X` after `O` starts a chunk), IOB2 and IOBES are read
//     alike, as conlleval reads IOB1 and IOB2. A sentence boundary ends every chunk. An entity
//     counts as correct when a predicted chunk has the reference chunk's first token, last token
//     and type.

/// Precision, recall and F1 of one class or entity type, or overall.
public struct PrecisionRecall: Sendable, Equatable {
    /// Correct predictions (true positives).
    public var correct: Int
    /// Predictions made (true and false positives).
    public var predicted: Int
    /// References there were (true positives and false negatives).
    public var expected: Int

    /// Creates the counts.
    public init(correct: Int, predicted: Int, expected: Int) {
        (self.correct, self.predicted, self.expected) = (correct, predicted, expected)
    }

    /// `correct / predicted`, 0 when nothing was predicted.
    public var precision: Double { predicted == 0 ? 0 : Double(correct) / Double(predicted) }
    /// `correct / expected`, 0 when nothing was expected.
    public var recall: Double { expected == 0 ? 0 : Double(correct) / Double(expected) }
    /// The harmonic mean of precision and recall, 0 when both are 0.
    public var f1: Double {
        let (p, r) = (precision, recall)
        return p + r == 0 ? 0 : 2 * p * r / (p + r)
    }
}

/// The scores of a classifier over `N` examples of `C` classes.
public struct ClassificationMetrics: Sendable, Equatable {
    /// `[C][C]`: `confusion[reference][predicted]` counts.
    public let confusion: [[Int]]

    /// Counts `predictions` against `references`.
    /// - Parameters:
    ///   - predictions: `[N]` predicted class ids in `0..<C`.
    ///   - references: `[N]` true class ids in `0..<C`.
    ///   - classCount: `C ≥ 1`.
    /// - Throws: ``RNNKitError`` if the counts differ or an id is out of range.
    public init(predictions: [Int], references: [Int], classCount: Int) throws {
        guard classCount >= 1 else { throw RNNKitError(.invalidArgument, "classification needs at least 1 class, got \(classCount)") }
        guard predictions.count == references.count else {
            throw RNNKitError(.shapeMismatch, "expected one prediction per reference, got \(predictions.count) and \(references.count)")
        }
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classCount), count: classCount)
        for (index, (p, r)) in zip(predictions, references).enumerated() {
            guard (0..<classCount).contains(p), (0..<classCount).contains(r) else {
                throw RNNKitError(.invalidArgument,
                    "example \(index) has prediction \(p) and reference \(r); expected class ids in 0..<\(classCount)")
            }
            confusion[r][p] += 1
        }
        self.confusion = confusion
    }

    /// Classes `C`.
    public var classCount: Int { confusion.count }
    /// Examples `N`.
    public var total: Int { confusion.reduce(0) { $0 + $1.reduce(0, +) } }
    /// The fraction of examples predicted right (0 for no examples).
    public var accuracy: Double {
        total == 0 ? 0 : Double((0..<classCount).reduce(0) { $0 + confusion[$1][$1] }) / Double(total)
    }

    /// Precision, recall and F1 of class `c`.
    public func scores(of c: Int) -> PrecisionRecall {
        PrecisionRecall(correct: confusion[c][c], predicted: confusion.reduce(0) { $0 + $1[c] },
                        expected: confusion[c].reduce(0, +))
    }

    /// The mean F1 over the classes that occur among the references or the predictions.
    public var macroF1: Double {
        let present = (0..<classCount).filter { scores(of: $0).predicted + scores(of: $0).expected > 0 }
        return present.isEmpty ? 0 : present.reduce(0) { $0 + scores(of: $1).f1 } / Double(present.count)
    }
}

/// One entity: a chunk of tokens `start...end` (inclusive) of one type.
public struct EntityChunk: Sendable, Hashable {
    /// The first token's index in the sentence.
    public var start: Int
    /// The last token's index in the sentence.
    public var end: Int
    /// The entity type (`PER` of `B-PER`).
    public var type: String
}

/// Entity-level scores of a tagger, the way `conlleval` counts them (see the header).
public struct EntityMetrics: Sendable, Equatable {
    /// Overall counts.
    public private(set) var overall = PrecisionRecall(correct: 0, predicted: 0, expected: 0)
    /// Counts per entity type.
    public private(set) var byType: [String: PrecisionRecall] = [:]
    /// Tokens whose predicted tag equals the reference tag, and tokens in all (`O` tokens included).
    public private(set) var correctTokens = 0, totalTokens = 0

    /// Scores sentences of predicted tags against reference tags (strings such as `B-PER`, `I-LOC`, `O`).
    /// - Throws: ``RNNKitError`` if a sentence's two tag lists differ in length.
    public init(predicted: [[String]], reference: [[String]]) throws {
        guard predicted.count == reference.count else {
            throw RNNKitError(.shapeMismatch, "expected as many predicted sentences as reference ones, got \(predicted.count) and \(reference.count)")
        }
        for (index, (p, r)) in zip(predicted, reference).enumerated() {
            guard p.count == r.count else {
                throw RNNKitError(.shapeMismatch, "sentence \(index) has \(p.count) predicted tags for \(r.count) tokens")
            }
            totalTokens += r.count
            correctTokens += zip(p, r).filter { $0.0 == $0.1 }.count
            let guessed = Set(Self.chunks(p)), expected = Set(Self.chunks(r))
            for chunk in guessed { byType[chunk.type, default: PrecisionRecall(correct: 0, predicted: 0, expected: 0)].predicted += 1 }
            for chunk in expected { byType[chunk.type, default: PrecisionRecall(correct: 0, predicted: 0, expected: 0)].expected += 1 }
            for chunk in guessed.intersection(expected) { byType[chunk.type]!.correct += 1 }
            overall.predicted += guessed.count
            overall.expected += expected.count
            overall.correct += guessed.intersection(expected).count
        }
    }

    /// The fraction of tokens tagged right (0 for no tokens).
    public var tokenAccuracy: Double { totalTokens == 0 ? 0 : Double(correctTokens) / Double(totalTokens) }

    /// The chunks of one sentence's tags, in order.
    public static func chunks(_ tags: [String]) -> [EntityChunk] {
        var result: [EntityChunk] = []
        var open: (start: Int, type: String)?
        var previous = (prefix: "O", type: "")
        for (index, tag) in tags.enumerated() {
            let current = split(tag)
            if let chunk = open, endsChunk(previous, current) {
                result.append(EntityChunk(start: chunk.start, end: index - 1, type: chunk.type))
                open = nil
            }
            if startsChunk(previous, current) { open = (index, current.type) }
            previous = current
        }
        if let chunk = open { result.append(EntityChunk(start: chunk.start, end: tags.count - 1, type: chunk.type)) }
        return result
    }

    /// `B-PER` → (`B`, `PER`); `O` (or any tag without a known prefix) → (`O`, ``).
    private static func split(_ tag: String) -> (prefix: String, type: String) {
        let parts = tag.split(separator: "-", maxSplits: 1)
        guard parts.count == 2, ["B", "I", "E", "S"].contains(parts[0]) else { return ("O", "") }
        return (String(parts[0]), String(parts[1]))
    }

    private static func endsChunk(_ previous: (prefix: String, type: String), _ current: (prefix: String, type: String)) -> Bool {
        switch (previous.prefix, current.prefix) {
        case ("O", _): return false
        case ("E", _), ("S", _): return true
        case (_, "B"), (_, "S"), (_, "O"): return true
        default: return previous.type != current.type
        }
    }

    private static func startsChunk(_ previous: (prefix: String, type: String), _ current: (prefix: String, type: String)) -> Bool {
        switch (previous.prefix, current.prefix) {
        case (_, "O"): return false
        case (_, "B"), (_, "S"): return true
        case ("O", _), ("E", _), ("S", _): return true
        default: return previous.type != current.type
        }
    }
}

/// Sequence-to-sequence scores of decoded id sequences against references.
public struct SequenceMatchMetrics: Sendable, Equatable {
    /// Outputs identical to their reference.
    public private(set) var exactMatches = 0
    /// Sequences scored.
    public private(set) var count = 0
    /// Reference positions whose output id (at the same position) is the reference's, and reference positions in all.
    public private(set) var correctPositions = 0, referencePositions = 0
    /// The total edit distance (insertions, deletions, substitutions) from outputs to references.
    public private(set) var editDistance = 0

    /// Scores `outputs` against `references`, pair by pair.
    /// - Throws: ``RNNKitError`` if the counts differ.
    public init(outputs: [[Int]], references: [[Int]]) throws {
        guard outputs.count == references.count else {
            throw RNNKitError(.shapeMismatch, "expected one output per reference, got \(outputs.count) and \(references.count)")
        }
        for (output, reference) in zip(outputs, references) {
            count += 1
            if output == reference { exactMatches += 1 }
            referencePositions += reference.count
            correctPositions += zip(output, reference).filter { $0.0 == $0.1 }.count
            editDistance += levenshteinDistance(output, reference)
        }
    }

    /// The fraction of outputs identical to their reference.
    public var exactMatch: Double { count == 0 ? 0 : Double(exactMatches) / Double(count) }
    /// Position-by-position accuracy over the references' lengths.
    public var tokenAccuracy: Double { referencePositions == 0 ? 0 : Double(correctPositions) / Double(referencePositions) }
    /// Corpus-level error rate: total edit distance over total reference length (the character
    /// error rate when the ids are characters).
    public var errorRate: Double { referencePositions == 0 ? 0 : Double(editDistance) / Double(referencePositions) }
}

/// The Levenshtein distance between two sequences (unit costs), in `O(|a|·|b|)` time and `O(|b|)` memory.
public func levenshteinDistance<Element: Equatable>(_ a: [Element], _ b: [Element]) -> Int {
    var previous = Array(0...b.count)                        // distances from a[0..<i] to every prefix of b
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        current[0] = i
        for j in 1...max(b.count, 1) where !b.isEmpty {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
