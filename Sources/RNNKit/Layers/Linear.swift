// A fully connected layer, PyTorch's nn.Linear.
// Dimension legend:  N rows (for example T·B positions, or B last states)   I input features   O output features
//
// Forward:   Y(N, O) = X(N, I) · W^T + b                    one GEMM
// Backward:  dX(N, I) = dY(N, O) · W                        one GEMM
//            dW(O, I) += dY^T · X                           one GEMM
//            db(O)    += Σ_rows dY

/// A fully connected layer `y = x·Wᵀ + b` with PyTorch's layout, names and default initialisation.
///
/// ``parameters`` holds `weight` `[O, I]` then `bias` `[O]` (PyTorch's `state_dict` order);
/// ``gradients`` shares that layout. The layer keeps no activations: ``backward(outputGradient:input:rows:)``
/// takes the forward's input again, so one layer can be applied at many places (every decoder step,
/// for instance) and differentiated at each. Backward adds into ``gradients``.
public final class Linear<Scalar: RNNScalar>: ParameterContainer {
    /// Input features `I`.
    public let inputSize: Int
    /// Output features `O`.
    public let outputSize: Int
    /// Whether the layer has a bias (default `true`).
    public let hasBias: Bool
    /// `weight` `[O, I]` then `bias` `[O]` (if any), flat.
    public var parameters: [Scalar]
    /// Gradients, same layout as ``parameters``.
    public var gradients: [Scalar]

    /// Creates the layer with PyTorch's default initialisation: every weight and bias drawn from
    /// U(−1/√I, 1/√I), weight first, by ``SeededGenerator`` seeded with `seed` (default 0).
    /// - Throws: ``RNNKitError`` if a size is not positive or the weights would not fit in memory.
    public init(inputSize: Int, outputSize: Int, bias: Bool = true, seed: UInt64 = 0) throws {
        guard inputSize >= 1, outputSize >= 1 else {
            throw RNNKitError(.invalidArgument,
                "a linear layer needs input and output sizes ≥ 1, got \(inputSize) and \(outputSize)")
        }
        let weightCount = try checkedProduct(outputSize, inputSize, what: "linear weight [O, I]")
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.hasBias = bias
        let count = try checkedSum(weightCount, bias ? outputSize : 0, what: "linear parameters")
        try ensureAllocatable(try checkedProduct(2, count, what: "linear parameters and gradients"), of: Scalar.self,
                              what: "linear parameters and gradients")
        var generator = SeededGenerator(seed: seed)
        let bound = 1 / Double(inputSize).squareRoot()
        self.parameters = (0..<count).map { _ in Scalar(generator.nextUniform(-bound, bound)) }
        self.gradients = [Scalar](repeating: 0, count: count)
    }

    /// The parameter names in `state_dict` order: `["weight", "bias"]` (or `["weight"]`).
    public var parameterNames: [String] { hasBias ? ["weight", "bias"] : ["weight"] }

    private var weightCount: Int { outputSize * inputSize }

    /// A copy of `weight`, `[O, I]`.
    public var weight: [Scalar] { Array(parameters[0..<weightCount]) }
    /// A copy of `bias`, `[O]`, or `nil` without bias.
    public var bias: [Scalar]? { hasBias ? Array(parameters[weightCount...]) : nil }

    /// Replaces tensor `name` (`"weight"` `[O, I]` or `"bias"` `[O]`) with `values`.
    /// - Throws: if the name is unknown or the count differs; the weights are then untouched.
    public func setParameter(named name: String, to values: some Collection<Scalar>) throws {
        let range: Range<Int>
        switch name {
        case "weight": range = 0..<weightCount
        case "bias" where hasBias: range = weightCount..<parameters.count
        default:
            throw RNNKitError(.invalidArgument,
                "unknown linear parameter '\(name)'; expected one of \(parameterNames.joined(separator: ", "))")
        }
        guard values.count == range.count else {
            throw RNNKitError(.shapeMismatch, "expected \(name) with \(range.count) elements, got \(values.count)")
        }
        parameters.replaceSubrange(range, with: values)
    }

    // MARK: Forward

    /// Applies the layer to `rows` input rows.
    /// - Parameters:
    ///   - input: `[N, I]`.
    ///   - rows: `N ≥ 1`.
    /// - Returns: `[N, O]`.
    /// - Throws: ``RNNKitError`` if `input` does not hold `N·I` elements.
    public func forward(_ input: [Scalar], rows: Int) throws -> [Scalar] {
        var output = [Scalar](repeating: 0, count: try checkedProduct(max(rows, 0), outputSize, what: "Linear output [N, O]"))   // [N, O]
        try input.withUnsafeBufferPointer { x in
            try output.withUnsafeMutableBufferPointer { y in
                try forward(input: x, rows: rows, output: y)
            }
        }
        return output
    }

    /// The buffer-level forward: writes `[N, O]` into `output` (overwriting it).
    public func forward(input: UnsafeBufferPointer<Scalar>, rows: Int, output: UnsafeMutableBufferPointer<Scalar>) throws {
        try validate(rows: rows, input.count, "input", outputCount: output.count, "output")
        let weightCount = self.weightCount
        parameters.withUnsafeBufferPointer { p in
            let w = p.baseAddress!                              // (O, I)
            let y = output.baseAddress!                         // (N, O)
            if hasBias {
                let b = w + weightCount                         // (O)
                for row in 0..<rows { (y + row * outputSize).update(from: b, count: outputSize) }
            }
            Scalar.gemm(transposeA: false, transposeB: true, m: rows, n: outputSize, k: inputSize,
                        alpha: 1, a: input.baseAddress!, lda: inputSize, b: w, ldb: inputSize,
                        beta: hasBias ? 1 : 0, c: y, ldc: outputSize)
        }
    }

    // MARK: Backward

    /// Backpropagates through one forward: adds `∂L/∂W` and `∂L/∂b` into ``gradients`` and returns `∂L/∂x`.
    /// - Parameters:
    ///   - outputGradient: `∂L/∂y`, `[N, O]`.
    ///   - input: the forward's input `x`, `[N, I]`.
    ///   - rows: `N ≥ 1`.
    /// - Returns: `∂L/∂x`, `[N, I]`.
    public func backward(outputGradient: [Scalar], input: [Scalar], rows: Int) throws -> [Scalar] {
        var inputGradient = [Scalar](repeating: 0, count: try checkedProduct(max(rows, 0), inputSize, what: "Linear input gradient [N, I]"))   // [N, I]
        try outputGradient.withUnsafeBufferPointer { dY in
            try input.withUnsafeBufferPointer { x in
                try inputGradient.withUnsafeMutableBufferPointer { dX in
                    try backward(outputGradient: dY, input: x, rows: rows, inputGradient: dX)
                }
            }
        }
        return inputGradient
    }

    /// The buffer-level backward. `inputGradient` (`[N, I]`) is overwritten, or skipped when `nil`.
    public func backward(
        outputGradient: UnsafeBufferPointer<Scalar>, input: UnsafeBufferPointer<Scalar>, rows: Int,
        inputGradient: UnsafeMutableBufferPointer<Scalar>?
    ) throws {
        try validate(rows: rows, input.count, "input", outputCount: outputGradient.count, "output gradient")
        if let inputGradient, inputGradient.count != rows * inputSize {
            throw RNNKitError(.shapeMismatch,
                "expected input gradient [N, I] = [\(rows), \(inputSize)] with \(rows * inputSize) elements, got \(inputGradient.count)")
        }
        let weightCount = self.weightCount
        let dY = outputGradient.baseAddress!                    // (N, O)
        parameters.withUnsafeBufferPointer { p in
            if let dX = inputGradient?.baseAddress {            // (N, I) = dY · W
                Scalar.gemm(transposeA: false, transposeB: false, m: rows, n: inputSize, k: outputSize,
                            alpha: 1, a: dY, lda: outputSize, b: p.baseAddress!, ldb: inputSize,
                            beta: 0, c: dX, ldc: inputSize)
            }
        }
        gradients.withUnsafeMutableBufferPointer { g in
            let dW = g.baseAddress!                              // (O, I) += dY^T · X
            Scalar.gemm(transposeA: true, transposeB: false, m: outputSize, n: inputSize, k: rows,
                        alpha: 1, a: dY, lda: outputSize, b: input.baseAddress!, ldb: inputSize,
                        beta: 1, c: dW, ldc: inputSize)
            if hasBias {
                let db = dW + weightCount                        // (O) += Σ_rows dY
                for row in 0..<rows {
                    let dYRow = dY + row * outputSize
                    for o in 0..<outputSize { db[o] += dYRow[o] }
                }
            }
        }
    }

    /// Checks `rows` and the element counts of an `[N, I]` and an `[N, O]` buffer.
    private func validate(rows: Int, _ inputCount: Int, _ inputName: String, outputCount: Int, _ outputName: String) throws {
        guard rows >= 1 else {
            throw RNNKitError(.invalidArgument, "a linear layer needs N ≥ 1 rows, got \(rows)")
        }
        guard inputCount == rows * inputSize else {
            throw RNNKitError(.shapeMismatch,
                "expected \(inputName) [N, I] = [\(rows), \(inputSize)] with \(rows * inputSize) elements, got \(inputCount)")
        }
        guard outputCount == rows * outputSize else {
            throw RNNKitError(.shapeMismatch,
                "expected \(outputName) [N, O] = [\(rows), \(outputSize)] with \(rows * outputSize) elements, got \(outputCount)")
        }
        guard parameters.count == weightCount + (hasBias ? outputSize : 0), gradients.count == parameters.count else {
            throw RNNKitError(.invalidState,
                "parameters and gradients must hold \(weightCount + (hasBias ? outputSize : 0)) scalars, hold \(parameters.count) and \(gradients.count)")
        }
    }
}
