// The unit optimizers and gradient clipping work on: an object holding one flat
// parameter buffer and one flat gradient buffer of the same length.

/// Anything that owns a flat parameter buffer and a gradient buffer with the same layout.
///
/// ``RecurrentNetwork``, ``Linear`` and ``Embedding`` conform. Optimizers and clipping treat each
/// container as one *parameter group* and run flat loops over its two buffers; a group's position
/// in the list passed to ``Optimizer/step(_:)`` is the key of its optimizer state, so pass the
/// same containers in the same order on every step.
///
/// Conforming types are classes: the optimizer updates ``parameters`` in place.
public protocol ParameterContainer<Scalar>: AnyObject {
    /// The element type of both buffers.
    associatedtype Scalar: RNNScalar
    /// All trainable parameters, flat (`P` scalars; keep that count).
    var parameters: [Scalar] { get set }
    /// `∂L/∂parameters`, same layout and count as ``parameters``; backward passes add into it.
    var gradients: [Scalar] { get set }
    /// Sets every gradient to zero.
    func zeroGradients()
}

extension ParameterContainer {
    /// Sets every gradient to zero.
    public func zeroGradients() {
        gradients.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }
}

extension RecurrentNetwork: ParameterContainer {}

/// A ``ParameterContainer`` over two plain arrays, for parameters that live outside a layer
/// (for example a learned initial state) and for the single-group optimizer entry point.
public final class ParameterBuffer<Scalar: RNNScalar>: ParameterContainer {
    /// `[P]` parameters.
    public var parameters: [Scalar]
    /// `[P]` gradients.
    public var gradients: [Scalar]

    /// Wraps `parameters` with zero gradients of the same count.
    public init(_ parameters: [Scalar]) {
        self.parameters = parameters
        self.gradients = [Scalar](repeating: 0, count: parameters.count)
    }

    /// Wraps `parameters` and `gradients` (counts may differ here; the optimizer checks them).
    public init(parameters: [Scalar], gradients: [Scalar]) {
        self.parameters = parameters
        self.gradients = gradients
    }
}

/// Throws unless every group has as many gradients as parameters.
func validateGroups<Scalar: RNNScalar>(_ groups: [any ParameterContainer<Scalar>]) throws {
    for (index, group) in groups.enumerated() where group.parameters.count != group.gradients.count {
        throw RNNKitError(.shapeMismatch,
            "parameter group \(index) has \(group.parameters.count) parameters but \(group.gradients.count) gradients; expected equal counts")
    }
}
