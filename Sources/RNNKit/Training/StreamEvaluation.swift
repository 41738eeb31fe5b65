// The loss of a token model over a held-out stream, read as char-rnn reads it: B consecutive
// strips side by side in one batch, each in windows of T with its state carried from window to
// window, so every step multiplies the weights once for all strips. Trainer.evaluate and the
// CLI's validation and `rnnkit eval` all read a stream this way.
// Dimension legend:  N tokens   B strips   T window   L·D layers × directions   H hidden

/// Loss and top-1 hits of a token model predicting every next token of a stream.
package struct StreamLoss: Sendable {
    /// Mean cross-entropy in nats per predicted token (NaN when none was predicted).
    package var loss: Double
    /// Predictions whose most likely token was the next one.
    package var correct: Int
    /// Tokens predicted.
    package var count: Int
}

/// The cross-entropy of `model` predicting each next token of `tokens` `[N]` (inference mode: no
/// dropout), read as `strips` strips of `(N − 1) / B` predictions side by side (`B` = `strips`, fewer
/// when the stream is short), in windows of `windowLength`. The last strip goes on over the few
/// tokens that do not divide evenly, from its own state. Every token after the first is predicted
/// once; the result does not depend on the thread count.
/// - Parameter maximumWindows: read only the first this many windows of each strip: the first
///   `maximumWindows · windowLength` predictions of every strip, spread over the stream at the strip
///   starts, and no tail. `nil` (default), or a bound that reaches the end of the strips, reads all.
/// - Returns: the loss, hits and count (`N − 1`, or `maximumWindows · B · windowLength` when the
///   bound cuts the strips).
package func streamLoss(_ model: SequenceModel, tokens ids: [Int], windowLength: Int, strips: Int,
                        maximumWindows: Int? = nil) throws -> StreamLoss {
    let wasTraining = model.isTraining
    model.isTraining = false
    defer { model.isTraining = wasTraining }
    let predictions = ids.count - 1
    let B = max(1, min(strips, predictions)), stripLength = predictions / B   // B·stripLength ≤ predictions
    var total = 0.0, correct = 0, count = 0
    /// Predicts positions `first[b] + 1 … first[b] + length` of every row `b` from the state, in windows.
    func run(from first: [Int], length: Int, state: RecurrentState<Float>?) throws -> RecurrentState<Float>? {
        var state = state
        let rows = first.count
        for start in stride(from: 0, to: length, by: windowLength) {
            let T = min(windowLength, length - start)
            var inputs = [Int](repeating: 0, count: T * rows), targets = inputs          // [T, B]
            for b in 0..<rows {
                for t in 0..<T {
                    inputs[t * rows + b] = ids[first[b] + start + t]
                    targets[t * rows + b] = ids[first[b] + start + t + 1]
                }
            }
            let output = try model.forward(.tokens(inputs), steps: T, batch: rows, initialState: state)
            let result = try sequenceSoftmaxCrossEntropy(
                logits: output.outputs, targets: targets, steps: T, batch: rows,
                classCount: model.configuration.outputSize, computeGradient: false)
            total += result.totalLoss
            correct += result.correctPredictions
            count += result.countedPositions
            state = output.finalState
        }
        return state
    }
    let length = maximumWindows.map { min(stripLength, $0 * windowLength) } ?? stripLength
    let final = try run(from: (0..<B).map { $0 * stripLength }, length: length, state: nil)
    let tail = length == stripLength ? predictions - B * stripLength : 0
    if tail > 0 {
        // The last strip's state, row B − 1 of every layer, carries on into the tail.
        let stack = model.configuration.stackConfiguration
        func lastRow(_ values: [Float], width W: Int) -> [Float] {                    // (L·D, 1, W) of (L·D, B, W)
            var row: [Float] = []
            for k in 0..<values.count / (B * W) {
                let first = (k * B + B - 1) * W
                row += values[first..<first + W]
            }
            return row
        }
        let carried = final.map {
            RecurrentState(batch: 1, hidden: lastRow($0.hidden, width: stack.stateSize),
                           cell: $0.cell.map { lastRow($0, width: stack.hiddenSize) })
        }
        _ = try run(from: [B * stripLength], length: tail, state: carried)
    }
    return StreamLoss(loss: count > 0 ? total / Double(count) : .nan, correct: correct, count: count)
}
