import Testing
@testable import RNNKit

/// Deterministic test data in [-1, 1) from the project's own generator.
func randomValues<Scalar: RNNScalar>(_ count: Int, seed: UInt64, scale: Double = 1) -> [Scalar] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in Scalar(generator.nextUniform(-scale, scale)) }
}

/// Largest |a − b| over two tensors.
func maxAbsoluteDifference<Scalar: RNNScalar>(_ a: [Scalar], _ b: [Scalar]) -> Double {
    precondition(a.count == b.count, "tensor sizes differ: \(a.count) vs \(b.count)")
    return zip(a, b).reduce(0.0) { max($0, abs(Double($1.0) - Double($1.1))) }
}

/// Expects two tensors equal within `tolerance`, naming the tensor and the worst difference on failure.
func expectClose<Scalar: RNNScalar>(
    _ actual: [Scalar], _ expected: [Scalar], tolerance: Double, _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == expected.count, "\(label): \(actual.count) elements, expected \(expected.count)",
            sourceLocation: sourceLocation)
    guard actual.count == expected.count else { return }
    let difference = maxAbsoluteDifference(actual, expected)
    #expect(difference <= tolerance, "\(label): max |difference| \(difference) > \(tolerance)",
            sourceLocation: sourceLocation)
}

/// Every combination the core tests sweep: cell × layers × direction × lengths.
struct LayerCase: CustomTestStringConvertible, Sendable {
    let cell: CellKind
    let layers: Int
    let bidirectional: Bool
    let withLengths: Bool
    /// LSTM peephole connections (``RecurrentConfiguration/peepholes``).
    var peepholes = false
    /// A projected LSTM (``RecurrentConfiguration/projectionSize``), `P` = ``projectionSize(hidden:)``.
    var projected = false
    /// A layer-normalised LSTM (``RecurrentConfiguration/layerNorm``).
    var layerNorm = false

    var testDescription: String {
        "\(cell.rawValue)\(peepholes ? "+peepholes" : "")\(projected ? "+projection" : "")\(layerNorm ? "+layernorm" : "") L\(layers) \(bidirectional ? "bi" : "uni") \(withLengths ? "lengths" : "full")"
    }

    /// The projection size for hidden size `hidden` (`2H/3`, at least 1 and below `H`), or 0.
    func projectionSize(hidden: Int) -> Int { projected ? max(1, 2 * hidden / 3) : 0 }

    /// The case's network with these sizes.
    func configuration(inputSize: Int, hiddenSize: Int) -> RecurrentConfiguration {
        RecurrentConfiguration(
            cell: cell, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: layers, bidirectional: bidirectional,
            peepholes: peepholes, projectionSize: projectionSize(hidden: hiddenSize), layerNorm: layerNorm)
    }

    /// Every cell (and the peephole, projected, projected-with-peepholes and layer-normalised
    /// LSTMs) × 1 and 2 layers × uni- and bidirectional × full and varied lengths.
    static let all: [LayerCase] = (CellKind.allCases.map { ($0, false, false, false) }
        + [(.lstm, true, false, false), (.lstm, false, true, false), (.lstm, true, true, false), (.lstm, false, false, true)])
        .flatMap { cell, peepholes, projected, layerNorm in
            [1, 2].flatMap { layers in
                [false, true].flatMap { bidirectional in
                    [false, true].map {
                        LayerCase(cell: cell, layers: layers, bidirectional: bidirectional, withLengths: $0,
                                  peepholes: peepholes, projected: projected, layerNorm: layerNorm)
                    }
                }
            }
        }
}

/// `[T, B, F]` → `[B, T, F]`.
func swapTimeAndBatch<Scalar>(_ values: [Scalar], steps: Int, batch: Int, features: Int) -> [Scalar] {
    var result: [Scalar] = []
    result.reserveCapacity(values.count)
    for b in 0..<batch {
        for t in 0..<steps {
            let start = (t * batch + b) * features
            result += values[start..<start + features]
        }
    }
    return result
}

/// The fourth-order central difference `(−L(θ+2ε) + 8L(θ+ε) − 8L(θ−ε) + L(θ−2ε)) / 12ε`, ε = 1e-4,
/// of `loss` along one scalar that `set` moves; `set(saved)` restores it.
func centralDifference(at saved: Double, _ set: (Double) -> Void, _ loss: () throws -> Double) rethrows -> Double {
    let epsilon = 1e-4
    var samples: [Double] = []
    for offset in [2.0, 1.0, -1.0, -2.0] {
        set(saved + offset * epsilon)
        samples.append(try loss())
    }
    set(saved)
    return (-samples[0] + 8 * samples[1] - 8 * samples[2] + samples[3]) / (12 * epsilon)
}

/// The worst relative error `|analytic − numeric| / max(|analytic|, |numeric|, 1e-3)` over the
/// recorded pairs (absolute at 1e-9 below 1e-3, as in GradientCheckTests), with its label.
struct WorstError {
    var error = 0.0
    var label = ""
    mutating func record(_ analytic: Double, _ numeric: Double, _ label: @autoclosure () -> String) {
        let error = abs(analytic - numeric) / max(abs(analytic), abs(numeric), 1e-3)
        if error > self.error { (self.error, self.label) = (error, label()) }
    }
}
