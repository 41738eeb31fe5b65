import RNNKit
import Testing
@testable import RNNKitCLI

/// Evaluation reads a held-out stream as strips side by side, each with its state carried.
@Suite struct CharacterLossTests {
    func model() throws -> SequenceModel {
        try SequenceModel(.tokens(vocabularySize: 7, embeddingSize: 4, cell: .lstm, hiddenSize: 12, numLayers: 2, seed: 3))
    }
    func ids(_ count: Int) -> [Int] { (0..<count).map { ($0 * 5 + $0 / 3) % 7 } }

    @Test("every character after the first is predicted once, whatever the strips and windows", arguments: [1, 3, 4, 40])
    func countsEveryPrediction(strips: Int) throws {
        let text = ids(23)
        let result = try streamLoss(try model(), tokens: text, windowLength: 5, strips: strips)
        #expect(result.count == 22)
    }

    @Test("B strips give the mean over the strips read one by one")
    func stripsAreIndependentStreams() throws {
        let m = try model(), text = ids(3 * 8 + 1), B = 3, L = 8    // 24 predictions: three strips of 8, no tail
        let together = try streamLoss(m, tokens: text, windowLength: 3, strips: B)
        var total = 0.0
        for b in 0..<B {
            let alone = try streamLoss(m, tokens: Array(text[b * L...(b + 1) * L]), windowLength: 3, strips: 1)
            total += alone.loss * Double(alone.count)
        }
        #expect(abs(together.loss - total / Double(B * L)) < 1e-6)
    }

    @Test("one strip in windows equals one window over the whole text, and the tail continues the last strip")
    func windowsCarryTheState() throws {
        let m = try model(), text = ids(30)
        let whole = try streamLoss(m, tokens: text, windowLength: 29, strips: 1)
        let windowed = try streamLoss(m, tokens: text, windowLength: 4, strips: 1)
        #expect(abs(whole.loss - windowed.loss) < 1e-6)
        // 29 predictions in 4 strips of 7 and a tail of 1: the tail's prediction sees strip 3's state.
        let strips = try streamLoss(m, tokens: text, windowLength: 4, strips: 4)
        var total = 0.0
        for b in 0..<3 {
            let alone = try streamLoss(m, tokens: Array(text[b * 7...(b + 1) * 7]), windowLength: 4, strips: 1)
            total += alone.loss * Double(alone.count)
        }
        let last = try streamLoss(m, tokens: Array(text[21...]), windowLength: 4, strips: 1)   // strip 3 and the tail
        total += last.loss * Double(last.count)
        #expect(abs(strips.loss - total / 29) < 1e-6)
    }

    @Test("a bound of N windows reads the first N·T predictions of each strip, and no tail")
    func boundedWindows() throws {
        let m = try model(), text = ids(200), B = 3, T = 5, S = 66   // 199 predictions: three strips of 66, a tail of 1
        let bounded = try streamLoss(m, tokens: text, windowLength: T, strips: B, maximumWindows: 2)
        #expect(bounded.count == 2 * B * T)
        var total = 0.0
        for b in 0..<B {
            let alone = try streamLoss(m, tokens: Array(text[b * S...b * S + 2 * T]), windowLength: T, strips: 1)
            total += alone.loss * Double(alone.count)
        }
        #expect(abs(bounded.loss - total / Double(2 * B * T)) < 1e-6)
        // A bound that reaches the end of the strips reads everything, the tail too.
        let all = try streamLoss(m, tokens: text, windowLength: T, strips: B)
        let generous = try streamLoss(m, tokens: text, windowLength: T, strips: B, maximumWindows: 14)   // 14·5 = 70 ≥ 66
        #expect(generous.count == 199 && generous.loss == all.loss)
    }
}
