// The evaluation metrics against values computed by hand on tiny inputs.

import Testing
import RNNKit

@Suite struct MetricsTests {
    @Test func classificationScoresAndConfusion() throws {
        // references 0 0 0 1 1 2, predictions 0 0 1 1 2 2
        let m = try ClassificationMetrics(predictions: [0, 0, 1, 1, 2, 2], references: [0, 0, 0, 1, 1, 2], classCount: 4)
        #expect(m.confusion == [[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]])
        #expect(m.accuracy == 4.0 / 6.0)
        // class 0: P 2/2, R 2/3, F1 0.8; class 1: P 1/2, R 1/2, F1 0.5; class 2: P 1/2, R 1/1, F1 2/3; class 3 absent.
        #expect(m.scores(of: 0) == PrecisionRecall(correct: 2, predicted: 2, expected: 3))
        #expect(abs(m.scores(of: 0).f1 - 0.8) < 1e-12)
        #expect(abs(m.scores(of: 2).f1 - 2.0 / 3.0) < 1e-12)
        #expect(m.scores(of: 3).f1 == 0)
        #expect(abs(m.macroF1 - (0.8 + 0.5 + 2.0 / 3.0) / 3) < 1e-12)
        #expect(throws: RNNKitError.self) { _ = try ClassificationMetrics(predictions: [0, 4], references: [0, 1], classCount: 4) }
        #expect(throws: RNNKitError.self) { _ = try ClassificationMetrics(predictions: [0], references: [0, 1], classCount: 4) }
    }

    @Test("chunks as conlleval reads IOB1, IOB2 and IOBES")
    func entityChunks() {
        func chunks(_ tags: String) -> [String] {
            EntityMetrics.chunks(tags.split(separator: " ").map(String.init)).map { "\($0.type)\($0.start)-\($0.end)" }
        }
        // IOB2
        #expect(chunks("B-PER I-PER O B-LOC B-LOC I-LOC") == ["PER0-1", "LOC3-3", "LOC4-5"])
        // IOB1: I after O starts a chunk; B only separates two chunks of one type
        #expect(chunks("I-PER I-PER B-PER O I-LOC") == ["PER0-1", "PER2-2", "LOC4-4"])
        // a type change inside a run splits it; a stray I after a chunk of another type starts one
        #expect(chunks("B-PER I-LOC I-LOC") == ["PER0-0", "LOC1-2"])
        // IOBES
        #expect(chunks("S-PER B-LOC I-LOC E-LOC S-LOC O B-ORG E-ORG") == ["PER0-0", "LOC1-3", "LOC4-4", "ORG6-7"])
        // E ends a chunk even when the next tag continues the type; a chunk open at the end closes there
        #expect(chunks("B-PER E-PER I-PER") == ["PER0-1", "PER2-2"])
        #expect(chunks("O O") == [])
    }

    @Test func entityScoresOverSentences() throws {
        let reference = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
        let predicted = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "B-LOC"]]
        let m = try EntityMetrics(predicted: predicted, reference: reference)
        // reference: PER, LOC, ORG; predicted: PER, ORG (wrong type at 3), ORG, LOC; correct: PER, ORG(sentence 2)
        #expect(m.overall == PrecisionRecall(correct: 2, predicted: 4, expected: 3))
        #expect(abs(m.overall.f1 - 2 * 0.5 * (2.0 / 3.0) / (0.5 + 2.0 / 3.0)) < 1e-12)
        #expect(m.byType["PER"] == PrecisionRecall(correct: 1, predicted: 1, expected: 1))
        #expect(m.byType["LOC"] == PrecisionRecall(correct: 0, predicted: 1, expected: 1))
        #expect(m.byType["ORG"] == PrecisionRecall(correct: 1, predicted: 2, expected: 1))
        #expect(m.tokenAccuracy == 4.0 / 6.0)
        #expect(throws: RNNKitError.self) { _ = try EntityMetrics(predicted: [["O"]], reference: [["O", "O"]]) }
    }

    @Test func sequenceMatchScores() throws {
        #expect(levenshteinDistance([1, 2, 3], [1, 3]) == 1)
        #expect(levenshteinDistance(Array("kitten"), Array("sitting")) == 3)
        #expect(levenshteinDistance([Int](), [1, 2]) == 2 && levenshteinDistance([1, 2], [Int]()) == 2)
        let m = try SequenceMatchMetrics(outputs: [[1, 2, 3], [4, 5], []], references: [[1, 2, 3], [4, 6, 7], [8]])
        #expect(m.exactMatch == 1.0 / 3.0)
        // positions: 3 of 3, then 1 of 3 (4 right, 5 ≠ 6, nothing for 7), then 0 of 1
        #expect(m.tokenAccuracy == 4.0 / 7.0)
        // edits: 0, 2 (substitute 5 → 6, insert 7), 1 (insert 8) over 7 reference ids
        #expect(m.errorRate == 3.0 / 7.0)
    }
}
