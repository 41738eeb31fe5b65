// Inverted dropout (Srivastava et al. 2014), PyTorch's nn.Dropout.
// Training:  keep each element with probability 1 − p;  y = x · m,  m ∈ {0, 1/(1 − p)}
// Backward:  dx = dy · m   (the same mask)
// Inference: y = x, dx = dy

/// Inverted dropout with a seeded generator: in training each element is zeroed with probability `p`
/// and the survivors are scaled by `1/(1 − p)`, so inference needs no rescaling.
///
/// The mask of the last training ``forward(_:)`` is kept for ``backward(_:)``. The generator advances by
/// one draw per element per training forward, so the same seed and the same calls give the same masks;
/// save ``generator`` with a checkpoint to resume the stream. Not thread-safe.
public final class Dropout<Scalar: RNNScalar> {
    /// Drop probability `p` in `[0, 1]` (default 0.5, as PyTorch).
    public let probability: Double
    /// Whether forward drops elements (default `true`); with `false` forward and backward are the identity.
    public var isTraining = true
    /// The random stream the masks are drawn from.
    public var generator: SeededGenerator
    /// The mask of the last training forward: `[n]` of 0 or `1/(1 − p)`; empty after an identity forward.
    public private(set) var mask: [Scalar] = []

    /// Creates the layer.
    /// - Throws: ``RNNKitError`` if `probability` is outside `[0, 1]`.
    public init(probability: Double = 0.5, seed: UInt64 = 0) throws {
        guard probability >= 0, probability <= 1 else {
            throw RNNKitError(.invalidArgument, "dropout probability \(probability) is out of range; expected 0…1")
        }
        self.probability = probability
        self.generator = SeededGenerator(seed: seed)
    }

    /// Applies dropout to `input` (any shape, flat `[n]`) and keeps the mask; returns `[n]`.
    /// Identity (and no random draws) when not training or when `p` is 0; all zeros when `p` is 1.
    public func forward(_ input: [Scalar]) -> [Scalar] {
        var values = input
        forward(inPlace: &values)
        return values
    }

    /// Applies dropout to `values` in place; same semantics as ``forward(_:)``.
    public func forward(inPlace values: inout [Scalar]) {
        values.withUnsafeMutableBufferPointer { forward(inPlace: $0) }
    }

    /// Applies dropout to the buffer `values` in place, drawing its elements' masks in order;
    /// same semantics as ``forward(_:)``.
    public func forward(inPlace values: UnsafeMutableBufferPointer<Scalar>) {
        guard isTraining, probability > 0 else {
            mask = []
            return
        }
        let scale: Scalar = probability < 1 ? Scalar(1 / (1 - probability)) : 0
        var newMask = [Scalar](repeating: 0, count: values.count)   // [n]
        for i in values.indices {
            let keep = generator.nextUnit() >= probability
            newMask[i] = keep ? scale : 0
            values[i] *= newMask[i]
        }
        mask = newMask
    }

    /// Backpropagates through the last forward: `∂L/∂x = ∂L/∂y · mask` (or `∂L/∂y` after an identity forward).
    /// - Parameter outputGradient: `∂L/∂y`, `[n]` as in the last forward.
    /// - Returns: `∂L/∂x`, `[n]`.
    /// - Throws: ``RNNKitError`` if the count differs from the last training forward's.
    public func backward(_ outputGradient: [Scalar]) throws -> [Scalar] {
        var values = outputGradient
        try backward(inPlace: &values)
        return values
    }

    /// Backpropagates in place; same semantics as ``backward(_:)``.
    public func backward(inPlace gradient: inout [Scalar]) throws {
        try gradient.withUnsafeMutableBufferPointer { try backward(inPlace: $0) }
    }

    /// Backpropagates the buffer `gradient` in place; same semantics as ``backward(_:)``.
    public func backward(inPlace gradient: UnsafeMutableBufferPointer<Scalar>) throws {
        guard !mask.isEmpty || (isTraining && probability > 0 && !gradient.isEmpty) else { return }
        guard gradient.count == mask.count else {
            throw RNNKitError(.shapeMismatch,
                "expected an output gradient with \(mask.count) elements (as the last dropout forward), got \(gradient.count)")
        }
        for i in gradient.indices { gradient[i] *= mask[i] }
    }
}
