/// The seeded random generator behind every initialisation and every sampled choice in RNNKit.
///
/// It is SplitMix64 (Steele, Lea & Flood 2014): the state advances by the odd
/// constant `0x9E3779B97F4A7C15` and each output is the state passed through
/// the finaliser `z ^= z >> 30; z &*= 0xBF58476D1CE4E5B9; z ^= z >> 27;
/// z &*= 0x94D049BB133111EB; z ^= z >> 31`. It uses only 64-bit integer
/// arithmetic, so the same seed yields the same numbers on every machine.
/// Uniform reals take the top 53 bits: `Double(next() >> 11) * 2^-53` in [0, 1).
public struct SeededGenerator: RandomNumberGenerator, Sendable, Codable, Equatable {
    /// The internal 64-bit state; saving it and restoring it resumes the stream exactly.
    public var state: UInt64

    /// Creates a generator whose stream is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform real in [0, 1) from the top 53 bits of `next()`.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A uniform real in [`lower`, `upper`).
    public mutating func nextUniform(_ lower: Double, _ upper: Double) -> Double {
        lower + (upper - lower) * nextUnit()
    }

    /// A standard normal sample (Box–Muller on two uniforms; the second value is discarded
    /// so that the stream position depends only on the number of calls).
    public mutating func nextGaussian() -> Double {
        let u1 = max(nextUnit(), 0x1p-60)
        let u2 = nextUnit()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }

    /// A uniform integer in `0..<bound` (Lemire's unbiased multiply-shift with rejection).
    public mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0)
        return Int(next(upperBound: UInt64(bound)))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@inline(__always) private func _log(_ x: Double) -> Double { log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { cos(x) }

/// A seed for one part of a model or network, derived from its seed and a fixed tag.
func derivedSeed(_ seed: UInt64, _ tag: UInt64) -> UInt64 {
    var generator = SeededGenerator(seed: seed ^ (tag &* 0xD1B5_4A32_D192_ED03))
    return generator.next()
}
